/*
 * ui.c: serves the dashboard (the files of server/ui/, built into the binary) under
 * /ui/.  The files are public (they hold nothing secret); everything they
 * show comes from the admin API, with the token the operator types in.
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles
 * and API calls only from this origin, no inline script or style, no
 * frames, no forms posting elsewhere, nothing from the internet.
 */
#include "ui.h"

#include <string.h>

#define UI_CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static void add_security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy", UI_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
}

enum MHD_Result srv_route_ui(srv_req *q, const char *rest)
{
    if (strcmp(q->method, "GET") != 0 && !q->head)
        return srv_reply_error(q, 405, "method", "use GET");
    if (*rest == 0) {                 /* /ui -> /ui/ */
        static const char body[] = "see /ui/\n";
        struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                                 MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, "Location", "/ui/");
        MHD_add_response_header(r, "Content-Type", "text/plain");
        add_security_headers(r);
        return srv_reply(q, 301, r, sizeof body - 1);
    }
    if (*rest != '/') return srv_reply_error(q, 404, "not_found", "no such endpoint");
    const char *name = rest + 1;
    if (*name == 0) name = "index.html";
    const srv_ui_asset *a = NULL;
    for (size_t i = 0; i < srv_ui_nassets; i++)
        if (strcmp(srv_ui_assets[i].name, name) == 0) a = &srv_ui_assets[i];
    if (!a) return srv_reply_error(q, 404, "not_found", "no such file in the dashboard");
    const char *inm = srv_header(q, "If-None-Match");
    unsigned status = inm && strcmp(inm, a->etag) == 0 ? 304 : 200;
    struct MHD_Response *r = status == 304
        ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
        : MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", a->ctype);
    MHD_add_response_header(r, "ETag", a->etag);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    add_security_headers(r);
    return srv_reply(q, status, r, status == 304 ? 0 : a->len);
}

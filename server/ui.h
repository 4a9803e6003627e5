/*
 * ui.h: the dashboard under /ui/ (server/ui.c): static HTML, CSS and
 * JavaScript from server/ui/, built into otad (scripts/embed-ui.sh makes
 * BUILD/gen/ui_assets.c at build time).  The page talks to the admin API
 * with the token the operator types in (kept in sessionStorage).
 */
#ifndef SRV_UI_H
#define SRV_UI_H

#include <stddef.h>
#include "otad.h"

typedef struct srv_ui_asset {
    const char *name;           /* "index.html" */
    const char *ctype;          /* Content-Type */
    const unsigned char *data;
    size_t len;
    const char *etag;           /* "\"<sha256 prefix>\"" */
} srv_ui_asset;

extern const srv_ui_asset srv_ui_assets[];
extern const size_t srv_ui_nassets;

/* GET/HEAD /ui, /ui/ and /ui/<file>; rest is what follows "/ui". */
enum MHD_Result srv_route_ui(srv_req *q, const char *rest);

#endif

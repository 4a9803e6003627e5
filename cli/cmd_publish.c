/*
 * cmd_publish.c: `otasign publish RELEASE_DIR`: upload what `otasign
 * release` made (statement.bin + bundle.js) to otad (POST /admin/releases).
 * otad verifies it with the same common/ verifier the devices run; the
 * statement is checked here first (framing, bundle hash and size) so a
 * damaged directory is refused before anything is sent.
 */
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "ota_crypto.h"
#include "ota_encode.h"

#define MAX_BUNDLE (64u * 1024 * 1024)

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign publish RELEASE_DIR [--server URL] [--token-file FILE] [--json]\n"
        "\n"
        "Upload a release made by `otasign release` (RELEASE_DIR/statement.bin and\n"
        "bundle.js) to otad.  otad checks the signature against its --release-pub keys\n"
        "and the bundle against the statement.  Publishing the same release again is\n"
        "fine (\"already published\").  Then: otasign rollout start APP SEQ.\n"
        "\n" CLIENT_HELP
        "\nExit status: 0 ok, 1 failure, 2 usage.\n");
}

int cmd_publish(int argc, char **argv)
{
    client_opts co = {0};
    util_opt opts[] = { CLIENT_OPTS(&co) };
    const char *pos[1];
    int npos = 0, help_flag = 0, rc = EXIT_FAIL;
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1) {
        util_err("which release? otasign publish RELEASE_DIR (e.g. releases/logger-3)");
        return EXIT_USAGE;
    }
    const char *dir = pos[0];
    char *sp = util_path(dir, "statement.bin"), *bp = util_path(dir, "bundle.js");
    uint8_t *st = NULL, *bu = NULL;
    size_t sl = 0, bl = 0;
    char *sb64 = NULL, *bb64 = NULL, *body = NULL;
    client c;
    client_resp r = {0};
    int have_client = 0;
    if (!sp || !bp) goto out;
    if (!util_is_dir(dir)) { util_err("%s: not a release directory (made by otasign release)", dir); goto out; }
    if (!util_exists(sp)) {
        char *tbs = util_path(dir, "statement.tbs");
        int unsigned_only = tbs && util_exists(tbs);
        free(tbs);
        if (unsigned_only) {
            util_err("%s: unsigned (statement.tbs only): sign it offline (otasign sign) and "
                     "run otasign attach first", dir);
            goto out;
        }
    }
    if (util_read_file(sp, 4096, &st, &sl) != 0 || util_read_file(bp, MAX_BUNDLE, &bu, &bl) != 0) goto out;
    ota_statement s;
    ota_err e = ota_statement_parse(&s, st, sl);
    if (e != OTA_OK) { util_err("%s: not a signed statement: %s", sp, ota_strerror(e)); goto out; }
    uint8_t h[32];
    ota_sha256(h, bu, bl);
    e = ota_release_check_bundle(&s, h, bl);
    if (e != OTA_OK) { util_err("%s does not match %s: %s", bp, sp, ota_strerror(e)); goto out; }
    char app[OTA_NAME_MAX + 1], label[OTA_LABEL_MAX + 1];
    memcpy(app, s.app, s.app_len); app[s.app_len] = 0;
    memcpy(label, s.label, s.label_len); label[s.label_len] = 0;

    size_t sbl = ota_base64_encoded_len(sl, OTA_B64_STD) + 1, bbl = ota_base64_encoded_len(bl, OTA_B64_STD) + 1;
    sb64 = malloc(sbl);
    bb64 = malloc(bbl);
    body = malloc(sbl + bbl + 64);
    if (!sb64 || !bb64 || !body) { util_err("out of memory"); goto out; }
    ota_base64_encode(sb64, sbl, NULL, st, sl, OTA_B64_STD);
    ota_base64_encode(bb64, bbl, NULL, bu, bl, OTA_B64_STD);
    int n = snprintf(body, sbl + bbl + 64, "{\"statement\":\"%s\",\"bundle\":\"%s\"}", sb64, bb64);

    if ((rc = client_init(&c, &co)) != 0) goto out;
    have_client = 1;
    rc = EXIT_FAIL;
    if (client_call(&c, "POST", "/admin/releases", body, (size_t)n, &r) != 0) goto out;
    char what[128];
    snprintf(what, sizeof what, "publish %s seq %llu", app, (unsigned long long)s.seq);
    if (r.status == 409) {
        util_err("%s: otad already holds a different release %s seq %llu: make a new release "
                 "(otasign release ... picks the next sequence, or --seq N higher)",
                 what, app, (unsigned long long)s.seq);
        goto out;
    }
    if (r.status == 422) {
        util_err("%s: otad refused it: %s. Is the key that signed it one of otad's "
                 "--release-pub keys? (otasign verify %s --pub KEY.pub checks locally)",
                 what, client_err_text(&r), dir);
        goto out;
    }
    if (r.status != 200 && r.status != 201) { client_fail(&c, &r, what); goto out; }
    if (c.json) {
        fputs(r.body, stdout);
        if (r.len && r.body[r.len - 1] != '\n') fputc('\n', stdout);
    } else {
        printf("%s %s seq %llu%s%s%s (%zu bytes, sha256 %.16s...) on %s\n",
               r.status == 201 ? "published" : "already published:", app,
               (unsigned long long)s.seq, *label ? " \"" : "", label, *label ? "\"" : "", bl,
               cj_str(r.json, "sha256", ""), c.server);
        printf("next: otasign rollout start %s %llu --percent 10 --waves 10,50,100\n", app,
               (unsigned long long)s.seq);
    }
    rc = EXIT_OK;
out:
    if (have_client) client_free(&c);
    client_resp_free(&r);
    free(sp); free(bp); free(st); free(bu); free(sb64); free(bb64); free(body);
    return rc;
}

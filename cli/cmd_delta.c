/*
 * cmd_delta.c: `otasign delta OLD NEW -o FILE` and
 *              `otasign delta --apply OLD DELTA -o FILE`
 *
 * OLD and NEW are programs as installed: a file, or a release directory
 * (its program.js).  The delta (FORMAT.md 2b) is what otad sends a device
 * that runs OLD when NEW is offered; it is not signed (the device checks
 * what it builds against the statement's installed hash), so this command
 * needs no key.  --apply builds NEW from OLD and a delta, checking the
 * delta's base hash against OLD and the result against the delta's target
 * hash (as a device would against the statement).  A file OUT is written
 * atomically.  Exit: 0 ok, 1 failure (a refused delta names its ota_err),
 * 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "delta_enc.h"
#include "ota_crypto.h"
#include "ota_delta.h"
#include "util.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign delta OLD NEW -o OUT\n"
        "       otasign delta --apply OLD DELTA -o OUT\n"
        "\n"
        "Make the delta (manifests/FORMAT.md 2b) that turns the program OLD into NEW,\n"
        "or apply one.  OLD and NEW are programs as installed: files, or release\n"
        "directories (their program.js).  A summary goes to stderr.\n"
        "\n"
        "  -o OUT      output file (written atomically), - for stdout\n"
        "  --apply     build NEW from OLD and DELTA; the delta's base must be OLD and\n"
        "              the result must hash to the delta's target hash\n"
        "\n"
        "exit status: 0 ok, 1 failure, 2 usage\n");
}

static int load(const char *p, uint8_t **out, size_t *n)
{
    if (util_is_dir(p)) {
        char *q = util_path(p, "program.js");
        if (!q) { util_err("out of memory"); return -1; }
        int r = util_read_file(q, DELTA_MAX_INPUT, out, n);
        free(q);
        return r;
    }
    return util_read_file(p, DELTA_MAX_INPUT, out, n);
}

int cmd_delta(int argc, char **argv)
{
    const char *outp = NULL, *pos[3];
    int apply = 0, help_flag = 0, npos = 0;
    const util_opt opts[] = {
        { "-o", OPT_STR, &outp, NULL },
        { "--output", OPT_STR, &outp, NULL },
        { "--apply", OPT_FLAG, &apply, NULL },
    };
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 3, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 2 || !outp) {
        util_err("expected OLD, NEW (or DELTA with --apply) and -o OUT");
        help(stderr);
        return EXIT_USAGE;
    }
    int rc = EXIT_FAIL;
    uint8_t *a = NULL, *b = NULL, *out = NULL;
    size_t an = 0, bn = 0, on = 0;
    if (load(pos[0], &a, &an) != 0 || load(pos[1], &b, &bn) != 0) goto done;
    if (!apply) {
        if (!bn) { util_err("%s: empty program", pos[1]); goto done; }
        if (delta_encode(a, an, b, bn, &out, &on) != 0) { util_err("out of memory"); goto done; }
        if (util_write_output(outp, out, on, 0644) != 0) goto done;
        fprintf(stderr, "delta: %zu bytes (old %zu, new %zu bytes)\n", on, an, bn);
        rc = EXIT_OK;
        goto done;
    }
    uint32_t ts = 0;
    const uint8_t *bsha = NULL, *tsha = NULL;
    ota_err e = ota_delta_header(b, bn, NULL, &ts, &bsha, &tsha);
    if (e != OTA_OK) {
        util_err("%s: not a delta: %s (%d)", pos[1], ota_strerror(e), (int)e);
        goto done;
    }
    uint8_t have[32], got[32];
    ota_sha256(have, a, an);
    if (!(out = malloc(ts))) { util_err("out of memory"); goto done; }
    e = ota_delta_apply(out, ts, b, bn, a, an, have, tsha);
    if (e != OTA_OK) {
        util_err("%s: refused: %s (%d)", pos[1], ota_strerror(e), (int)e);
        goto done;
    }
    ota_sha256(got, out, ts);
    if (memcmp(got, tsha, 32) != 0) {
        util_err("%s: refused: %s (%d)", pos[1], ota_strerror(OTA_ERR_INSTALLED_HASH), (int)OTA_ERR_INSTALLED_HASH);
        goto done;
    }
    if (util_write_output(outp, out, ts, 0644) != 0) goto done;
    fprintf(stderr, "applied: %u bytes from a %zu-byte delta\n", ts, bn);
    rc = EXIT_OK;
done:
    free(a);
    free(b);
    free(out);
    return rc;
}

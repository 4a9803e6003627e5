/*
 * cmd_attach.c: `otasign attach DIR|STATEMENT.tbs [--sig FILE.sig] --pub K.pub`
 * joins an unsigned statement and its detached signature into the signed
 * 336-byte statement, after verifying it with the common/ verifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign attach DIR|STATEMENT.tbs --pub NAME.pub [--sig FILE.sig] [--out FILE]\n"
        "\n"
        "Join the unsigned statement and the signature made by `otasign sign` into the\n"
        "signed statement, verifying it first with the public key.  With a release\n"
        "directory DIR: reads DIR/statement.tbs and DIR/statement.sig, writes\n"
        "DIR/statement.bin and marks DIR/release.json signed.  With a file: --sig defaults\n"
        "to FILE.tbs -> FILE.sig, --out to FILE.tbs -> FILE.bin.\n"
        "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

/* Replace the first occurrence of `from` in s[0..*len) by `to` (same or
 * other length); returns a new malloc'd buffer or NULL when absent. */
static char *replace(const char *s, size_t *len, const char *from, const char *to)
{
    const char *at = memmem(s, *len, from, strlen(from));
    if (!at) return NULL;
    size_t pre = (size_t)(at - s), fl = strlen(from), tl = strlen(to);
    size_t nl = *len - fl + tl;
    char *r = malloc(nl + 1);
    if (!r) return NULL;
    memcpy(r, s, pre);
    memcpy(r + pre, to, tl);
    memcpy(r + pre + tl, at + fl, *len - pre - fl);
    r[nl] = 0;
    *len = nl;
    return r;
}

int cmd_attach(int argc, char **argv)
{
    const char *pubfile = NULL, *sigopt = NULL, *outopt = NULL;
    int help_flag = 0, npos = 0;
    const char *pos[1];
    util_opt opts[] = {
        { "--pub", OPT_STR, &pubfile, NULL },
        { "--sig", OPT_STR, &sigopt, NULL },
        { "--out", OPT_STR, &outopt, NULL },
    };
    int rc = EXIT_FAIL;
    char *tbspath = NULL, *sigpath = NULL, *outpath = NULL, *jsonpath = NULL;
    uint8_t *tbs = NULL, *sig = NULL, *json = NULL;
    size_t tbs_len = 0, sig_len = 0, json_len = 0;
    char *j1 = NULL, *j2 = NULL;
    uint8_t full[OTA_STATEMENT_SIZE];
    ota_trusted_key pub;
    ota_statement st;
    ota_err e;

    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1 || !pubfile) { util_err("need DIR or STATEMENT.tbs and --pub NAME.pub"); help(stderr); return EXIT_USAGE; }
    int is_dir = util_is_dir(pos[0]);
    if (is_dir) {
        tbspath = util_path(pos[0], "statement.tbs");
        sigpath = sigopt ? strdup(sigopt) : util_path(pos[0], "statement.sig");
        outpath = outopt ? strdup(outopt) : util_path(pos[0], "statement.bin");
        jsonpath = util_path(pos[0], "release.json");
    } else {
        tbspath = strdup(pos[0]);
        sigpath = sigopt ? strdup(sigopt) : util_sig_path(pos[0]);
        if (outopt) outpath = strdup(outopt);
        else {
            size_t n = strlen(pos[0]);
            outpath = malloc(n + 5);
            if (outpath) {
                strcpy(outpath, pos[0]);
                if (n > 4 && strcmp(pos[0] + n - 4, ".tbs") == 0) strcpy(outpath + n - 4, ".bin");
                else strcat(outpath, ".bin");
            }
        }
    }
    if (!tbspath || !sigpath || !outpath || (is_dir && !jsonpath)) { util_err("out of memory"); goto out; }
    if (util_load_pub(&pub, pubfile) != 0) goto out;
    if (util_read_file(tbspath, 4096, &tbs, &tbs_len) != 0) goto out;
    if (util_read_file(sigpath, 4096, &sig, &sig_len) != 0) goto out;
    if (tbs_len != OTA_STATEMENT_BODY_SIZE) {
        util_err("%s: not an unsigned statement (%zu bytes, expected %d)", tbspath, tbs_len, OTA_STATEMENT_BODY_SIZE);
        goto out;
    }
    if (sig_len != OTA_SIG_SIZE) {
        util_err("%s: not a signature (%zu bytes, expected %d)", sigpath, sig_len, OTA_SIG_SIZE);
        goto out;
    }
    memcpy(full, tbs, OTA_STATEMENT_BODY_SIZE);
    memcpy(full + OTA_STATEMENT_BODY_SIZE, sig, OTA_SIG_SIZE);
    e = ota_statement_verify(&st, full, sizeof full, &pub, 1);
    if (e != OTA_OK) {
        util_err("%s + %s: %s (%s); nothing written", tbspath, sigpath, ota_strerror(e), util_err_name(e));
        goto out;
    }
    if (util_write_atomic(outpath, full, sizeof full, 0644, 1) != 0) goto out;
    if (is_dir && util_exists(jsonpath)) {
        if (util_read_file(jsonpath, 1 << 20, &json, &json_len) != 0) goto out;
        size_t l = json_len;
        j1 = replace((char *)json, &l, "\"statement_file\": \"statement.tbs\"", "\"statement_file\": \"statement.bin\"");
        j2 = replace(j1 ? j1 : (char *)json, &l, "\"signed\": false", "\"signed\": true");
        if (j2 && util_write_atomic(jsonpath, j2, l, 0644, 1) != 0) goto out;
    }
    printf("attached: %s (app %.*s seq %llu, signature valid)\n", outpath, (int)st.app_len, st.app,
           (unsigned long long)st.seq);
    rc = EXIT_OK;
out:
    free(tbspath); free(sigpath); free(outpath); free(jsonpath);
    free(tbs); free(sig); free(json); free(j1); free(j2);
    return rc;
}

/*
 * cmd_sign.c: `otasign sign FILE --key K` signs an unsigned statement (the
 * 272-byte statement.tbs of `otasign release --unsigned`) on the offline
 * machine and writes the 64-byte signature (FILE with .tbs -> .sig).
 * Only statement bodies are signed, never arbitrary bytes, and only with the
 * key the statement names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign sign STATEMENT.tbs --key NAME.key [--out FILE.sig] [--force]\n"
        "                    [--passphrase-file FILE]\n"
        "\n"
        "Sign the unsigned statement written by `otasign release --unsigned` (272 bytes)\n"
        "with the release key it names.  Prints what is being signed, writes the 64-byte\n"
        "Ed25519 signature to --out (default: the input with .tbs replaced by .sig).\n"
        "Then `otasign attach DIR --pub NAME.pub` joins statement and signature.\n"
        "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

int cmd_sign(int argc, char **argv)
{
    const char *keyfile = NULL, *out = NULL, *passfile = NULL;
    int force = 0, help_flag = 0, npos = 0;
    const char *pos[1];
    util_opt opts[] = {
        { "--key", OPT_STR, &keyfile, NULL },
        { "--out", OPT_STR, &out, NULL },
        { "--force", OPT_FLAG, &force, NULL },
        { "--passphrase-file", OPT_STR, &passfile, NULL },
    };
    int rc = EXIT_FAIL;
    uint8_t *buf = NULL;
    size_t len = 0;
    char *sigpath = NULL;
    util_secret_key k;
    uint8_t sig[OTA_SIG_SIZE];
    ota_statement st;
    ota_err e;

    memset(&k, 0, sizeof k);
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1 || !keyfile) { util_err("need STATEMENT.tbs and --key NAME.key"); help(stderr); return EXIT_USAGE; }
    const char *file = pos[0];
    if (util_read_file(file, 4096, &buf, &len) != 0) goto out;
    e = ota_statement_parse(&st, buf, len);
    if (e != OTA_OK) { util_err("%s: not an unsigned statement: %s", file, ota_strerror(e)); goto out; }
    if (st.sig) { util_err("%s: already signed (%d bytes); sign the %d-byte statement.tbs", file, OTA_STATEMENT_SIZE, OTA_STATEMENT_BODY_SIZE); goto out; }
    if (util_load_secret_key(&k, keyfile, passfile) != 0) goto out;
    char want[17], have[17], sha[65];
    util_hex(want, st.key_id, OTA_KEY_ID_SIZE);
    util_hex(have, k.id, OTA_KEY_ID_SIZE);
    if (memcmp(st.key_id, k.id, OTA_KEY_ID_SIZE) != 0) {
        util_err("%s: names key id %s but %s is key %s", file, want, keyfile, have);
        goto out;
    }
    crypto_sign_detached(sig, NULL, buf, len, k.sk);
    sodium_memzero(&k, sizeof k);
    sigpath = out ? strdup(out) : util_sig_path(file);
    if (!sigpath) { util_err("out of memory"); goto out; }
    if (util_write_atomic(sigpath, sig, sizeof sig, 0644, force) != 0) goto out;
    util_hex(sha, st.sha256, 32);
    printf("signed %s: app %.*s seq %llu board %.*s bundle %lu bytes sha256 %s key id %s\n",
           file, (int)st.app_len, st.app, (unsigned long long)st.seq,
           st.board_len ? (int)st.board_len : 5, st.board_len ? st.board : "(any)",
           (unsigned long)st.size, sha, have);
    printf("signature: %s\n", sigpath);
    rc = EXIT_OK;
out:
    sodium_memzero(&k, sizeof k);
    free(buf);
    free(sigpath);
    return rc;
}

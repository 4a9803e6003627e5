/*
 * cmd_keygen.c: `otasign keygen --out NAME` writes NAME.key (secret, 0600,
 * optionally passphrase-protected) and NAME.pub, and prints the public key
 * as hex, as a C array and as a JavaScript string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign keygen --out NAME [--root] [--force] [--passphrase | --passphrase-file FILE]\n"
        "\n"
        "Create an Ed25519 key pair: NAME.key (secret key, mode 0600) and NAME.pub\n"
        "(public key, one line of hex).  Prints the public key as hex, as a C array\n"
        "and as a JavaScript string, and its key id (first 8 bytes of its SHA-256).\n"
        "\n"
        "  --out NAME              path prefix of the two files (required)\n"
        "  --root                  a ROOT key: it signs key sets (otasign keyset), never\n"
        "                          releases; keep it offline and passphrase-protected.  Devices\n"
        "                          are provisioned with its public key (same file formats)\n"
        "  --force                 replace existing NAME.key / NAME.pub\n"
        "  --passphrase            protect NAME.key with a passphrase (asked on the terminal,\n"
        "                          or taken from OTASIGN_PASSPHRASE)\n"
        "  --passphrase-file FILE  protect NAME.key with the first line of FILE\n"
        "\n"
        "Setting OTASIGN_PASSPHRASE also protects the key.  Protection: argon2id + XSalsa20-\n"
        "Poly1305 (manifests/FORMAT.md section 7).\n"
        "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL, *passfile = NULL;
    int force = 0, want_pass = 0, help_flag = 0, npos = 0, root = 0;
    const char *pos[1];
    util_opt opts[] = {
        { "--out", OPT_STR, &out, NULL },
        { "--force", OPT_FLAG, &force, NULL },
        { "--root", OPT_FLAG, &root, NULL },
        { "--passphrase", OPT_FLAG, &want_pass, NULL },
        { "--passphrase-file", OPT_STR, &passfile, NULL },
    };
    int rc = EXIT_FAIL;
    char *keypath = NULL, *pubpath = NULL, *pass = NULL;
    util_secret_key k;
    uint8_t file[KEYFILE_SIZE];
    char hex[65], idhex[17];

    memset(&k, 0, sizeof k);
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 0, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (!out || !*out) {
        util_err("--out NAME is required");
        help(stderr);
        return EXIT_USAGE;
    }
    keypath = malloc(strlen(out) + 5);
    pubpath = malloc(strlen(out) + 5);
    if (!keypath || !pubpath) { util_err("out of memory"); goto out; }
    sprintf(keypath, "%s.key", out);
    sprintf(pubpath, "%s.pub", out);
    if (!force) {
        /* Checked up front so that neither file is written; the final link()
         * also refuses to replace a file that appears meanwhile. */
        if (util_exists(keypath)) { util_err("%s: already exists (use --force to replace it)", keypath); goto out; }
        if (util_exists(pubpath)) { util_err("%s: already exists (use --force to replace it)", pubpath); goto out; }
    }
    if (want_pass || passfile || getenv("OTASIGN_PASSPHRASE")) {
        int r = util_get_passphrase(&pass, passfile, 1, "Passphrase for the new key: ");
        if (r == 1) { util_err("--passphrase: no terminal to ask on (use --passphrase-file or OTASIGN_PASSPHRASE)"); goto out; }
        if (r != 0) goto out;
    }

    crypto_sign_keypair(k.pub, k.sk);
    ota_release_key_id(k.id, k.pub);
    if (util_encode_secret_key(file, &k, pass, pass ? strlen(pass) : 0) != 0) goto out;
    if (util_write_atomic(keypath, file, sizeof file, 0600, force) != 0) goto out;
    util_hex(hex, k.pub, 32);
    util_hex(idhex, k.id, OTA_KEY_ID_SIZE);
    char publine[66];
    snprintf(publine, sizeof publine, "%s\n", hex);
    if (util_write_atomic(pubpath, publine, strlen(publine), 0644, force) != 0) goto out;

    printf("secret key: %s (mode 0600%s)\n", keypath, pass ? ", passphrase-protected" : ", NOT passphrase-protected");
    printf("public key: %s\n", pubpath);
    printf("key id:     %s\n", idhex);
    printf("hex:        %s\n", hex);
    if (root) printf("kind:       root key (signs key sets: otasign keyset make/sign)\n");
    printf("C:          static const uint8_t %s[32] = {", root ? "ota_root_pub" : "ota_release_pub");
    for (int i = 0; i < 32; i++) printf("%s0x%02x", i ? (i % 8 ? ", " : ",\n                    ") : "\n                    ", k.pub[i]);
    printf("\n            };\n");
    printf("JavaScript: var %s = \"", root ? "OTA_ROOT_PUB" : "OTA_RELEASE_PUB");
    for (int i = 0; i < 32; i++) printf("\\x%02x", k.pub[i]);
    printf("\";\n");
    rc = EXIT_OK;
out:
    sodium_memzero(&k, sizeof k);
    sodium_memzero(file, sizeof file);
    util_free_passphrase(pass);
    free(keypath);
    free(pubpath);
    return rc;
}

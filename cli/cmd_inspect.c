/*
 * cmd_inspect.c: `otasign inspect FILE|DIR` prints every field of a release
 * statement (signed or unsigned), a device ticket, a key file or a public
 * key.  Inspecting checks structure only, never signatures (see verify).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util.h"
#include "cmd_keyset.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign inspect FILE|DIR [--type statement|ticket|key|pub|keyset]\n"
        "\n"
        "Print every field of a release statement (statement.bin, or statement.tbs of an\n"
        "unsigned release), a device ticket, a secret key file (never the secret), a\n"
        "public key file or a key set (.ks, or the .kstbs body).  DIR means\n"
        "DIR/statement.bin (or DIR/statement.tbs).  The structure is checked (exit 1\n"
        "when malformed); signatures are not: use verify.\n"
        "The kind of file is found from its first bytes unless --type says it.\n"
        "Exit status: 0 ok, 1 malformed or unreadable, 2 usage.\n");
}

static void hexline(const char *name, const uint8_t *b, size_t n)
{
    char h[2 * 64 + 1];
    util_hex(h, b, n);
    printf("  %-18s %s\n", name, h);
}

static void timeline(const char *name, uint64_t t)
{
    char buf[64] = "";
    time_t tt = (time_t)t;
    struct tm tm;
    if ((uint64_t)tt == t && gmtime_r(&tt, &tm)) strftime(buf, sizeof buf, " (%Y-%m-%dT%H:%M:%SZ)", &tm);
    printf("  %-18s %llu%s\n", name, (unsigned long long)t, buf);
}

static void textline(const char *name, const char *s, size_t n, const char *empty)
{
    printf("  %-18s ", name);
    if (n == 0 && empty) printf("%s\n", empty);
    else { util_json_str(stdout, s, n); putchar('\n'); }
}

static int show_statement(const char *path, const uint8_t *b, size_t len)
{
    ota_statement st;
    ota_err e = ota_statement_parse(&st, b, len);
    if (e != OTA_OK) {
        util_err("%s: release statement: %s (%s)", path, ota_strerror(e), util_err_name(e));
        return EXIT_FAIL;
    }
    printf("%s: release statement, %s (%zu bytes)\n", path, st.sig ? "signed" : "UNSIGNED body", len);
    printf("  %-18s OTAS\n", "magic");
    printf("  %-18s %u\n", "version", st.version);
    printf("  %-18s %u (%s)\n", "encoding", st.encoding,
           ota_encoding_name(st.encoding) ? ota_encoding_name(st.encoding) : "unknown");
    hexline("key_id", st.key_id, OTA_KEY_ID_SIZE);
    textline("app", st.app, st.app_len, NULL);
    textline("board", st.board, st.board_len, "(any)");
    printf("  %-18s %llu\n", "seq", (unsigned long long)st.seq);
    timeline("created", st.created);
    printf("  %-18s %lu\n", "size", (unsigned long)st.size);
    printf("  %-18s %lu\n", "installed_size", (unsigned long)st.installed_size);
    hexline("sha256", st.sha256, 32);
    hexline("installed_sha256", st.installed_sha256, 32);
    hexline("source_sha256", st.source_sha256, 32);
    textline("label", st.label, st.label_len, NULL);
    if (st.target) printf("  %-18s %u (%uv%02u)\n", "target", st.target, st.target / 100, st.target % 100);
    else printf("  %-18s 0 (not stated)\n", "target");
    if (st.flags & OTA_SF_PRETOKENISED)
        printf("  %-18s yes: Espruino %uv%02u token bytes, only that firmware installs it\n",
               "pretokenised", st.target / 100, st.target % 100);
    if (st.sig) hexline("signature", st.sig, OTA_SIG_SIZE);
    uint8_t h[32];
    crypto_hash_sha256(h, b, len);
    hexline(st.sig ? "statement_sha256" : "body_sha256", h, 32);
    return EXIT_OK;
}

static int show_ticket(const char *path, const uint8_t *b, size_t len)
{
    ota_ticket t;
    ota_err e = ota_ticket_parse(&t, b, len);
    if (e != OTA_OK) {
        util_err("%s: device ticket: %s (%s)", path, ota_strerror(e), util_err_name(e));
        return EXIT_FAIL;
    }
    printf("%s: device ticket, %s (%zu bytes)\n", path, t.sig ? "signed" : "UNSIGNED body", len);
    printf("  %-18s OTAT\n", "magic");
    printf("  %-18s %u\n", "version", t.version);
    hexline("key_id", t.key_id, OTA_KEY_ID_SIZE);
    textline("device_id", t.device_id, t.device_id_len, NULL);
    hexline("nonce", t.nonce, t.nonce_len);
    hexline("statement_sha256", t.statement_sha256, 32);
    hexline("bundle_sha256", t.bundle_sha256, 32);
    timeline("issued", t.issued);
    if (t.sig) hexline("signature", t.sig, OTA_SIG_SIZE);
    return EXIT_OK;
}

static int show_key(const char *path, const uint8_t *b, size_t len)
{
    if (len != KEYFILE_SIZE) {
        util_err("%s: secret key file has %zu bytes, expected %d", path, len, KEYFILE_SIZE);
        return EXIT_FAIL;
    }
    ota_trusted_key k;
    memcpy(k.pub, b + 16, 32);
    ota_release_key_id(k.id, k.pub);
    printf("%s: otasign secret key file (%zu bytes; the secret is not shown)\n", path, len);
    printf("  %-18s %u\n", "version", b[4]);
    printf("  %-18s %u (%s)\n", "protection", b[5],
           b[5] == 0 ? "none" : b[5] == 1 ? "passphrase: argon2id + xsalsa20poly1305" : "unknown");
    hexline("key_id", b + 8, OTA_KEY_ID_SIZE);
    hexline("public_key", b + 16, 32);
    if (memcmp(k.id, b + 8, OTA_KEY_ID_SIZE) != 0) {
        util_err("%s: key id does not match the public key (corrupt file)", path);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int cmd_inspect(int argc, char **argv)
{
    int help_flag = 0, npos = 0, rc = EXIT_FAIL;
    const char *pos[1];
    char *path = NULL;
    uint8_t *b = NULL;
    size_t len = 0;
    const char *type = NULL;
    util_opt opts[] = { { "--type", OPT_STR, &type, NULL } };
    if (util_parse_args(argc, argv, opts, 1, pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1) { util_err("one file is required"); help(stderr); return EXIT_USAGE; }
    if (type && strcmp(type, "statement") && strcmp(type, "ticket") && strcmp(type, "key") && strcmp(type, "pub") &&
        strcmp(type, "keyset")) {
        util_err("--type '%s': must be statement, ticket, key, pub or keyset", type);
        return EXIT_USAGE;
    }
    if (util_is_dir(pos[0])) {
        path = util_path(pos[0], "statement.bin");
        if (path && !util_exists(path)) { free(path); path = util_path(pos[0], "statement.tbs"); }
    } else {
        path = strdup(pos[0]);
    }
    if (!path) { util_err("out of memory"); goto out; }
    if (util_read_file(path, 1 << 20, &b, &len) != 0) goto out;
    if (!type) {
        if (len >= 4 && memcmp(b, OTA_STATEMENT_MAGIC, 4) == 0) type = "statement";
        else if (len >= 4 && memcmp(b, OTA_TICKET_MAGIC, 4) == 0) type = "ticket";
        else if (len >= 4 && memcmp(b, "OTAK", 4) == 0) type = "key";
        else if (len >= 4 && memcmp(b, "OTKS", 4) == 0) type = "keyset";
        else type = "pub";
    }
    if (strcmp(type, "statement") == 0) rc = show_statement(path, b, len);
    else if (strcmp(type, "keyset") == 0) rc = keyset_show(path, b, len);
    else if (strcmp(type, "ticket") == 0) rc = show_ticket(path, b, len);
    else if (strcmp(type, "key") == 0) {
        if (len >= 4 && memcmp(b, "OTAK", 4) == 0) rc = show_key(path, b, len);
        else util_err("%s: not an otasign secret key file", path);
    } else {
        ota_trusted_key k;
        /* A public key file?  util_load_pub prints its own error otherwise. */
        if (len <= 80 && util_load_pub(&k, path) == 0) {
            printf("%s: public key\n", path);
            hexline("public_key", k.pub, 32);
            hexline("key_id", k.id, OTA_KEY_ID_SIZE);
            rc = EXIT_OK;
        } else {
            util_err("%s: not a statement, ticket or key (%s)", path, util_err_name(OTA_ERR_BAD_MAGIC));
        }
    }
out:
    if (b) { sodium_memzero(b, len); free(b); }
    free(path);
    return rc;
}

/*
 * cmd_release.c: `otasign release app.js --key K --app APP ...` minifies the
 * script (cli/jsmin.h), hashes it, signs a release statement and writes the
 * release directory OUT/<app>-<seq>/ atomically (FORMAT.md section 8).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "hsz_enc.h"
#include "jsmin.h"
#include "ota_hsz.h"
#include "util.h"

#define SOURCE_MAX (16u << 20)   /* 16 MiB of JavaScript is far beyond any MCU */

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign release SCRIPT.js --key NAME.key --app APP [--seq N] [--label L]\n"
        "       otasign release --from DIR/APP-N --key NAME.key [--seq N] [--label L] ...\n"
        "                       [--board B] [--out DIR] [--no-minify] [--no-mangle]\n"
        "                       [--target V] [--unsigned] [--pub NAME.pub]\n"
        "                       [--passphrase-file FILE] [--encoding E] [--block-size N]\n"
        "                       [--pretokenise]\n"
        "\n"
        "Minify and gate SCRIPT.js for Espruino, hash it, sign a release statement and\n"
        "write DIR/APP-SEQ/ {bundle.js, program.js, statement.bin, release.json} atomically\n"
        "(bundle.js: the bytes as sent; program.js: the program as installed).\n"
        "\n"
        "  --key NAME.key     release (secret) key; passphrase from --passphrase-file,\n"
        "                     OTASIGN_PASSPHRASE or the terminal\n"
        "  --app APP          app name: 1..32 of [A-Za-z0-9._-], first a letter or digit\n"
        "  --seq N            sequence (>= 1); default: one more than the highest APP-N in DIR;\n"
        "                     must be above every release of APP already in DIR\n"
        "  --label L          human label, UTF-8, up to 64 bytes\n"
        "  --board B          board/compatibility class (default: any board)\n"
        "  --out DIR          output directory (default: the current directory; with\n"
        "                     --from DIR/APP-N: DIR, next to the release re-released)\n"
        "  --no-minify        ship the script bytes as they are (the gate still runs)\n"
        "  --no-mangle        minify but keep local names\n"
        "  --target V         Espruino firmware to gate for, e.g. 2v29 (default 2v29)\n"
        "  --unsigned         write statement.tbs (the exact bytes to sign) instead of\n"
        "                     statement.bin; needs only the public key (--pub, or --key);\n"
        "                     then `otasign sign` offline and `otasign attach`\n"
        "  --pub NAME.pub     public key for --unsigned\n"
        "  --encoding E       how the bundle travels: auto (default: the smaller of the two),\n"
        "                     identity (the program as is) or heatshrink (compressed blocks\n"
        "                     that stock Espruino firmware decompresses; FORMAT.md 2a)\n"
        "  --pretokenise      install Espruino's pretokenised form of the minified program\n"
        "                     (token bytes; FORMAT.md 2c): only for --target 2v29, and\n"
        "                     only devices running 2v29 install it (statement flag)\n"
        "  --block-size N     heatshrink block size, a power of two 256..32768 (default 2048):\n"
        "                     the RAM a device needs to decompress one block\n"
        "  --from DIR/APP-N   re-release an earlier release's bundle unchanged under a new,\n"
        "                     higher sequence (the way to go back: devices never install a\n"
        "                     lower one); app, board, target and source hash are taken from\n"
        "                     it, the bundle is checked against its statement first\n"
        "\n"
        "The creation time is SOURCE_DATE_EPOCH when set (reproducible releases), else now.\n"
        "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

/* Highest N of entries "<app>-<N>" in dir (0 when none).  -1 on error. */
static int highest_seq(const char *dir, const char *app, uint64_t *out)
{
    size_t alen = strlen(app);
    *out = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        util_err("%s: cannot read directory: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, app, alen) != 0 || e->d_name[alen] != '-') continue;
        uint64_t n;
        if (util_parse_u64(e->d_name + alen + 1, &n) != 0) continue;
        if (n > *out) *out = n;
    }
    closedir(d);
    return 0;
}

/* mkdir -p (mode 0755). */
static int mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) { free(p); return -1; }
        *s = '/';
    }
    int r = mkdir(p, 0755);
    free(p);
    return r != 0 && errno != EEXIST ? -1 : 0;
}

/* Remove a temp release directory and what we put in it. */
static void remove_tmpdir(const char *dir)
{
    static const char *names[] = { "bundle.js", "program.js", "statement.bin", "statement.tbs", "release.json" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *p = util_path(dir, names[i]);
        if (p) unlink(p);
        free(p);
    }
    rmdir(dir);
}

/* --from: the earlier release's statement (structure checked) and its bundle,
 * which must match that statement. */
static int load_from(const char *dir, ota_statement *st, uint8_t **stbuf, uint8_t **bundle,
                     size_t *bundle_len)
{
    int rc = -1;
    size_t len = 0;
    uint8_t sha[32];
    char *sp = util_path(dir, "statement.bin"), *bp = util_path(dir, "bundle.js");
    if (!sp || !bp) { util_err("out of memory"); goto out; }
    if (util_read_file(sp, 4096, stbuf, &len) != 0) goto out;
    ota_err e = ota_statement_parse(st, *stbuf, len);
    if (e == OTA_OK && !st->sig) e = OTA_ERR_TRUNCATED;
    if (e != OTA_OK) { util_err("%s: %s (%s)", sp, ota_strerror(e), util_err_name(e)); goto out; }
    if (util_read_file(bp, SOURCE_MAX, bundle, bundle_len) != 0) goto out;
    crypto_hash_sha256(sha, *bundle, *bundle_len);
    e = ota_release_check_bundle(st, sha, *bundle_len);
    if (e != OTA_OK) { util_err("%s: does not match %s: %s (%s)", bp, sp, ota_strerror(e), util_err_name(e)); goto out; }
    if (st->encoding == OTA_ENC_HEATSHRINK) {
        /* the program as installed: decoded, checked against its hash */
        uint8_t *prog = malloc(st->installed_size);
        if (!prog) { util_err("out of memory"); goto out; }
        e = ota_hsz_decode(prog, st->installed_size, *bundle, *bundle_len);
        if (e == OTA_OK) {
            crypto_hash_sha256(sha, prog, st->installed_size);
            if (memcmp(sha, st->installed_sha256, 32) != 0) e = OTA_ERR_INSTALLED_HASH;
        }
        if (e != OTA_OK) {
            util_err("%s: does not decode to the program of %s: %s (%s)", bp, sp, ota_strerror(e), util_err_name(e));
            free(prog);
            goto out;
        }
        free(*bundle);
        *bundle = prog;
        *bundle_len = st->installed_size;
    } else if (st->encoding != OTA_ENC_IDENTITY) {
        util_err("%s: encoding %u is not known to this otasign", sp, st->encoding);
        goto out;
    }
    rc = 0;
out:
    free(sp);
    free(bp);
    return rc;
}

static void json_hex(FILE *f, const char *key, const uint8_t *b, size_t n, int comma)
{
    char h[65];
    util_hex(h, b, n);
    fprintf(f, "  \"%s\": \"%s\"%s\n", key, h, comma ? "," : "");
}

/* release.json: readable copies of every statement field plus file names. */
static char *make_json(const ota_statement *st, const uint8_t pub[32], int is_signed,
                       const char *source_file, size_t before, size_t after, size_t plain,
                       size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) return NULL;
    char pubhex[65];
    util_hex(pubhex, pub, 32);
    fprintf(f, "{\n  \"format_version\": %u,\n", st->version ? st->version : OTA_FORMAT_VERSION);
    fprintf(f, "  \"app\": ");
    util_json_str(f, st->app, st->app_len);
    fprintf(f, ",\n  \"board\": ");
    util_json_str(f, st->board, st->board_len);
    fprintf(f, ",\n  \"seq\": %llu,\n", (unsigned long long)st->seq);
    fprintf(f, "  \"label\": ");
    util_json_str(f, st->label, st->label_len);
    fprintf(f, ",\n  \"created\": %llu,\n", (unsigned long long)st->created);
    json_hex(f, "key_id", st->key_id, OTA_KEY_ID_SIZE, 1);
    fprintf(f, "  \"public_key\": \"%s\",\n", pubhex);
    fprintf(f, "  \"encoding\": \"%s\",\n", ota_encoding_name(st->encoding) ? ota_encoding_name(st->encoding) : "unknown");
    fprintf(f, "  \"target\": %u,\n", st->target);
    fprintf(f, "  \"pretokenised\": %s,\n", (st->flags & OTA_SF_PRETOKENISED) ? "true" : "false");
    fprintf(f, "  \"size\": %lu,\n", (unsigned long)st->size);
    fprintf(f, "  \"installed_size\": %lu,\n", (unsigned long)st->installed_size);
    json_hex(f, "sha256", st->sha256, 32, 1);
    json_hex(f, "installed_sha256", st->installed_sha256, 32, 1);
    json_hex(f, "source_sha256", st->source_sha256, 32, 1);
    fprintf(f, "  \"source_file\": ");
    util_json_str(f, source_file, strlen(source_file));
    fprintf(f, ",\n  \"bytes_before\": %zu,\n  \"bytes_after\": %zu,\n", before, after);
    fprintf(f, "  \"bytes_identity\": %zu,\n", plain);
    fprintf(f, "  \"bundle_file\": \"bundle.js\",\n");
    fprintf(f, "  \"program_file\": \"program.js\",\n");
    fprintf(f, "  \"statement_file\": \"%s\",\n", is_signed ? "statement.bin" : "statement.tbs");
    fprintf(f, "  \"signed\": %s\n}\n", is_signed ? "true" : "false");
    if (fclose(f) != 0) { free(buf); return NULL; }
    return buf;
}

int cmd_release(int argc, char **argv)
{
    const char *keyfile = NULL, *pubfile = NULL, *app = NULL, *seq_s = NULL, *label = "",
               *board = NULL, *outdir = NULL, *target_s = NULL, *passfile = NULL, *from = NULL,
               *enc_s = "auto", *bsize_s = NULL;
    int no_minify = 0, no_mangle = 0, unsigned_ = 0, help_flag = 0, npos = 0, pretok = 0;
    const char *pos[2];
    util_opt opts[] = {
        { "--key", OPT_STR, &keyfile, NULL },
        { "--pub", OPT_STR, &pubfile, NULL },
        { "--app", OPT_STR, &app, NULL },
        { "--seq", OPT_STR, &seq_s, NULL },
        { "--label", OPT_STR, &label, NULL },
        { "--board", OPT_STR, &board, NULL },
        { "--out", OPT_STR, &outdir, NULL },
        { "--no-minify", OPT_FLAG, &no_minify, NULL },
        { "--no-mangle", OPT_FLAG, &no_mangle, NULL },
        { "--target", OPT_STR, &target_s, NULL },
        { "--unsigned", OPT_FLAG, &unsigned_, NULL },
        { "--passphrase-file", OPT_STR, &passfile, NULL },
        { "--from", OPT_STR, &from, NULL },
        { "--encoding", OPT_STR, &enc_s, NULL },
        { "--block-size", OPT_STR, &bsize_s, NULL },
        { "--pretokenise", OPT_FLAG, &pretok, NULL },
    };
    int rc = EXIT_FAIL;
    uint8_t *src = NULL, *bundle = NULL, *hsz = NULL;
    size_t src_len = 0, bundle_len = 0, hsz_len = 0;
    unsigned log2 = OTA_HSZ_LOG2_DEFAULT;
    int encoding = -1;    /* -1 auto */
    char *tmpdir = NULL, *finaldir = NULL, *json = NULL, *p = NULL;
    size_t json_len = 0;
    util_secret_key k;
    ota_trusted_key pubk;
    uint8_t body[OTA_STATEMENT_BODY_SIZE], full[OTA_STATEMENT_SIZE];
    uint8_t src_sha[32], bundle_sha[32], xfer_sha[32];
    uint64_t seq = 0, highest = 0;
    jsmin_opts jo;
    ota_statement st, from_st;
    uint8_t *from_buf = NULL;
    char from_parent[4096];
    char app_buf[OTA_NAME_MAX + 1] = "", board_buf[OTA_NAME_MAX + 1] = "", label_buf[OTA_LABEL_MAX + 1];
    int label_given, warnings = 0;
    ota_err e;

    memset(&k, 0, sizeof k);
    memset(&pubk, 0, sizeof pubk);
    memset(&from_st, 0, sizeof from_st);
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    label_given = label != NULL && *label != 0;
    if (npos != (from ? 0 : 1)) {
        util_err(from ? "--from takes no script" : "one script file is required");
        help(stderr);
        return EXIT_USAGE;
    }
    if (!app && !from) { util_err("--app APP is required"); return EXIT_USAGE; }
    if (!unsigned_ && !keyfile) { util_err("--key NAME.key is required (or --unsigned with --pub)"); return EXIT_USAGE; }
    if (unsigned_ && !keyfile && !pubfile) { util_err("--unsigned needs --pub NAME.pub (or --key)"); return EXIT_USAGE; }
    if (app && ota_name_valid(app, strlen(app), OTA_NAME_MAX, 0) != OTA_OK) {
        util_err("--app '%s': not a valid name (1..32 of A-Z a-z 0-9 . _ -, first a letter or digit)", app);
        return EXIT_USAGE;
    }
    if (board && *board && ota_name_valid(board, strlen(board), OTA_NAME_MAX, 0) != OTA_OK) {
        util_err("--board '%s': not a valid name (1..32 of A-Z a-z 0-9 . _ -, first a letter or digit)", board);
        return EXIT_USAGE;
    }
    if (ota_label_valid(label, strlen(label)) != OTA_OK) {
        util_err("--label: must be UTF-8 without control characters, at most %d bytes", OTA_LABEL_MAX);
        return EXIT_USAGE;
    }
    if (seq_s && (util_parse_u64(seq_s, &seq) != 0 || seq == 0)) {
        util_err("--seq '%s': must be an integer >= 1", seq_s);
        return EXIT_USAGE;
    }
    if (strcmp(enc_s, "identity") == 0) encoding = OTA_ENC_IDENTITY;
    else if (strcmp(enc_s, "heatshrink") == 0) encoding = OTA_ENC_HEATSHRINK;
    else if (strcmp(enc_s, "auto") != 0) {
        util_err("--encoding '%s': one of auto, identity, heatshrink", enc_s);
        return EXIT_USAGE;
    }
    if (bsize_s) {
        uint64_t b = 0;
        for (log2 = OTA_HSZ_LOG2_MIN; log2 <= OTA_HSZ_LOG2_MAX; log2++)
            if (util_parse_u64(bsize_s, &b) == 0 && b == (1ull << log2)) break;
        if (log2 > OTA_HSZ_LOG2_MAX) {
            util_err("--block-size '%s': a power of two from %u to %u", bsize_s,
                     1u << OTA_HSZ_LOG2_MIN, 1u << OTA_HSZ_LOG2_MAX);
            return EXIT_USAGE;
        }
    }
    jsmin_opts_default(&jo);
    if (no_minify) jo.minify = 0;
    if (no_mangle) jo.mangle = 0;
    if (target_s && jsmin_parse_target(target_s, &jo.target) != 0) {
        util_err("--target '%s': unknown firmware version (e.g. 2v29)", target_s);
        return EXIT_USAGE;
    }
    if (pretok && (no_minify || from)) {
        util_err("--pretokenise: %s", from ? "not with --from (the re-released bundle is kept as it is)"
                                           : "needs minifying (not with --no-minify)");
        return EXIT_USAGE;
    }
    if (pretok && !jsmin_pretok_target_ok(jo.target)) {
        util_err("--pretokenise: Espruino's token ids are vouched for only for firmware 2v29 "
                 "(--target %s); refusing", target_s);
        return EXIT_USAGE;
    }
    jo.pretok = pretok;
    const char *script = from ? from : pos[0];

    /* 1. The script and its bundle. */
    if (from) {
        if (load_from(from, &from_st, &from_buf, &bundle, &bundle_len) != 0) goto out;
        if (app && (strlen(app) != from_st.app_len || memcmp(app, from_st.app, from_st.app_len) != 0)) {
            util_err("--app %s: %s is a release of %.*s", app, from, (int)from_st.app_len, from_st.app);
            goto out;
        }
        memcpy(app_buf, from_st.app, from_st.app_len);
        app = app_buf;
        if (!board) {
            memcpy(board_buf, from_st.board, from_st.board_len);
            board = board_buf;
        }
        if (!label_given) {
            snprintf(label_buf, sizeof label_buf, "re-release of %s-%llu", app, (unsigned long long)from_st.seq);
            label = label_buf;
        }
        memcpy(src_sha, from_st.source_sha256, 32);
        /* The new release goes next to the old one unless --out says
         * otherwise: DIR/APP-N -> DIR. */
        if (!outdir) {
            size_t fl = strlen(from);
            while (fl > 1 && from[fl - 1] == '/') fl--;
            while (fl > 0 && from[fl - 1] != '/') fl--;
            while (fl > 1 && from[fl - 1] == '/') fl--;
            if (fl == 0) snprintf(from_parent, sizeof from_parent, ".");
            else snprintf(from_parent, sizeof from_parent, "%.*s", (int)fl, from);
            outdir = from_parent;
        }
        jo.target = from_st.target;
        jo.minify = 0;
        src_len = bundle_len;
        goto have_bundle;
    }
    if (!board) board = "";
    if (util_read_file(script, SOURCE_MAX, &src, &src_len) != 0) goto out;
    crypto_hash_sha256(src_sha, src, src_len);
    int mr = jsmin_run(script, src, src_len, &jo, &bundle, &bundle_len, &warnings, stderr);
    if (mr < 0) { util_err("%s: out of memory while minifying", script); goto out; }
    if (mr != 0) { util_err("%s: rejected by the minifier/gate (see the messages above)", script); goto out; }
    if (bundle_len == 0) { util_err("%s: the bundle is empty; a release must contain code", script); goto out; }
    if (bundle_len > UINT32_MAX) { util_err("%s: bundle too large", script); goto out; }
have_bundle:
    crypto_hash_sha256(bundle_sha, bundle, bundle_len);
    /* The encoding: heatshrink when asked, or (auto) when it is smaller. */
    if (encoding != OTA_ENC_IDENTITY) {
        if (hsz_encode(bundle, bundle_len, log2, &hsz, &hsz_len) != 0) { util_err("out of memory while compressing"); goto out; }
        if (hsz_len > UINT32_MAX) { util_err("%s: compressed bundle too large", script); goto out; }
        /* the device's decoder must give back exactly the program */
        uint8_t *chk = malloc(bundle_len);
        ota_err de = chk ? ota_hsz_decode(chk, bundle_len, hsz, hsz_len) : OTA_ERR_ARG;
        if (de != OTA_OK || memcmp(chk, bundle, bundle_len) != 0) {
            free(chk);
            util_err("internal: the compressed bundle does not decode to the program");
            goto out;
        }
        free(chk);
        if (encoding < 0) encoding = hsz_len < bundle_len ? OTA_ENC_HEATSHRINK : OTA_ENC_IDENTITY;
    }
    if (encoding == OTA_ENC_HEATSHRINK) crypto_hash_sha256(xfer_sha, hsz, hsz_len);
    else memcpy(xfer_sha, bundle_sha, 32);

    /* 2. The sequence: above every release of the app in the output
     * directory, and above the one re-released. */
    if (!outdir) outdir = ".";
    if (highest_seq(outdir, app, &highest) != 0) goto out;
    if (from && from_st.seq > highest) highest = from_st.seq;
    if (!seq_s) {
        if (highest == UINT64_MAX) { util_err("%s: no sequence left after %s-%llu", outdir, app, (unsigned long long)highest); goto out; }
        seq = highest + 1;
    } else if (seq <= highest) {
        util_err("--seq %llu: not above the highest release %s-%llu (in %s%s; sequences only grow, "
                 "devices never install a lower one); leave --seq out to get %llu",
                 (unsigned long long)seq, app, (unsigned long long)highest, outdir,
                 from ? " or re-released" : "", (unsigned long long)highest + 1);
        goto out;
    }

    /* 3. The key. */
    if (unsigned_) {
        if (util_load_pub(&pubk, pubfile ? pubfile : keyfile) != 0) goto out;
    } else {
        if (util_load_secret_key(&k, keyfile, passfile) != 0) goto out;
        memcpy(pubk.pub, k.pub, 32);
        memcpy(pubk.id, k.id, OTA_KEY_ID_SIZE);
    }

    /* 4. The statement. */
    memset(&st, 0, sizeof st);
    st.version = OTA_FORMAT_VERSION;
    st.encoding = (uint8_t)encoding;
    st.target = (uint16_t)jo.target;
    /* pretokenised: only a device running firmware `target` installs it */
    st.flags = from ? from_st.flags : pretok ? OTA_SF_PRETOKENISED : 0;
    st.key_id = pubk.id;
    st.app = app;
    st.app_len = strlen(app);
    st.board = board;
    st.board_len = strlen(board);
    st.seq = seq;
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        if (util_parse_u64(sde, &st.created) != 0) { util_err("SOURCE_DATE_EPOCH '%s': not a number", sde); goto out; }
    } else {
        st.created = (uint64_t)time(NULL);
    }
    st.size = (uint32_t)(encoding == OTA_ENC_HEATSHRINK ? hsz_len : bundle_len);
    st.installed_size = (uint32_t)bundle_len;
    st.sha256 = xfer_sha;
    st.installed_sha256 = bundle_sha;
    st.source_sha256 = src_sha;
    st.label = label;
    st.label_len = strlen(label);
    e = ota_statement_encode(body, &st);
    if (e != OTA_OK) { util_err("cannot encode the statement: %s", ota_strerror(e)); goto out; }
    if (!unsigned_) {
        memcpy(full, body, sizeof body);
        crypto_sign_detached(full + OTA_STATEMENT_BODY_SIZE, NULL, body, sizeof body, k.sk);
        sodium_memzero(&k, sizeof k);
        /* Check with the code devices run before anything is written. */
        ota_statement chk;
        e = ota_statement_verify(&chk, full, sizeof full, &pubk, 1);
        if (e != OTA_OK) { util_err("self-check of the new statement failed: %s", ota_strerror(e)); goto out; }
    }

    /* 5. The directory: OUT/.<app>-<seq>.tmp-PID, then rename. */
    if (mkdirs(outdir) != 0) { util_err("%s: cannot create directory: %s", outdir, strerror(errno)); goto out; }
    char name[128];
    snprintf(name, sizeof name, "%s-%llu", app, (unsigned long long)seq);
    finaldir = util_path(outdir, name);
    snprintf(name, sizeof name, ".%s-%llu.tmp-%ld", app, (unsigned long long)seq, (long)getpid());
    tmpdir = util_path(outdir, name);
    if (!finaldir || !tmpdir) { util_err("out of memory"); goto out; }
    if (util_exists(finaldir)) { util_err("%s: already exists", finaldir); goto out; }
    remove_tmpdir(tmpdir);
    if (mkdir(tmpdir, 0755) != 0) { util_err("%s: cannot create directory: %s", tmpdir, strerror(errno)); goto out; }
    /* bundle.js: the bytes as transferred; program.js: the program as
     * installed (the same bytes with encoding 0): what runs, always there */
    p = util_path(tmpdir, "bundle.js");
    if (encoding == OTA_ENC_HEATSHRINK) {
        if (!p || util_write_new(p, hsz, hsz_len, 0644) != 0) goto fail_tmp;
    } else {
        if (!p || util_write_new(p, bundle, bundle_len, 0644) != 0) goto fail_tmp;
    }
    free(p);
    p = util_path(tmpdir, "program.js");
    if (!p || util_write_new(p, bundle, bundle_len, 0644) != 0) goto fail_tmp;
    free(p);
    p = util_path(tmpdir, unsigned_ ? "statement.tbs" : "statement.bin");
    if (!p || util_write_new(p, unsigned_ ? body : full, unsigned_ ? sizeof body : sizeof full, 0644) != 0)
        goto fail_tmp;
    free(p);
    ota_statement view;
    e = ota_statement_parse(&view, unsigned_ ? body : full, unsigned_ ? sizeof body : sizeof full);
    if (e != OTA_OK) { util_err("internal: %s", ota_strerror(e)); goto fail_tmp; }
    json = make_json(&view, pubk.pub, !unsigned_, script, src_len,
                     encoding == OTA_ENC_HEATSHRINK ? hsz_len : bundle_len, bundle_len, &json_len);
    if (!json) { util_err("out of memory"); goto fail_tmp; }
    p = util_path(tmpdir, "release.json");
    if (!p || util_write_new(p, json, json_len, 0644) != 0) goto fail_tmp;
    free(p);
    p = NULL;
    if (util_fsync_dir(tmpdir) != 0) goto fail_tmp;
    const char *hook = getenv("OTASIGN_TEST_CRASH");
    if (hook && strcmp(hook, "before-rename") == 0) _exit(99);
    if (rename(tmpdir, finaldir) != 0) {
        if (errno == ENOTEMPTY || errno == EEXIST)
            util_err("%s: already exists (a concurrent release took sequence %llu; run again)",
                     finaldir, (unsigned long long)seq);
        else
            util_err("%s: cannot rename into place: %s", finaldir, strerror(errno));
        goto fail_tmp;
    }
    if (util_fsync_dir(outdir) != 0) goto out;

    /* 6. Summary. */
    char hex[65], idhex[17];
    printf("release %s-%llu written to %s%s\n", app, (unsigned long long)seq, finaldir,
           unsigned_ ? " (UNSIGNED: sign statement.tbs offline, then attach)" : "");
    util_hex(hex, src_sha, 32);
    printf("  source     %s: %zu bytes, sha256 %s\n", script, src_len, hex);
    util_hex(hex, bundle_sha, 32);
    printf("  %-10s %s: %zu bytes (%.1f%% of source%s), sha256 %s\n",
           encoding == OTA_ENC_HEATSHRINK ? "program" : "bundle",
           encoding == OTA_ENC_HEATSHRINK ? "program.js" : "bundle.js", bundle_len,
           src_len ? 100.0 * (double)bundle_len / (double)src_len : 100.0,
           jo.minify ? "" : ", not minified", hex);
    if (encoding == OTA_ENC_HEATSHRINK) {
        util_hex(hex, xfer_sha, 32);
        printf("  bundle     bundle.js: %zu bytes, heatshrink blocks of %u (%.1f%% of the program), sha256 %s\n",
               hsz_len, 1u << log2, 100.0 * (double)hsz_len / (double)bundle_len, hex);
    } else if (hsz) {
        printf("  encoding   identity (heatshrink would be %zu bytes)\n", hsz_len);
    }
    if (st.flags & OTA_SF_PRETOKENISED)
        printf("  program    pretokenised for Espruino %uv%02u: only devices running it install it\n",
               st.target / 100, st.target % 100);
    if (warnings) printf("  warnings   %d (see above)\n", warnings);
    printf("  sequence   %llu\n", (unsigned long long)seq);
    util_hex(idhex, pubk.id, OTA_KEY_ID_SIZE);
    printf("  key id     %s\n", idhex);
    printf("  board      %s\n", *board ? board : "(any)");
    if (*label) printf("  label      %s\n", label);
    rc = EXIT_OK;
    goto out;
fail_tmp:
    remove_tmpdir(tmpdir);
out:
    sodium_memzero(&k, sizeof k);
    free(p);
    free(src);
    free(bundle);
    free(hsz);
    free(tmpdir);
    free(finaldir);
    free(json);
    free(from_buf);
    return rc;
}

/*
 * cmd_keyset.c: `otasign keyset make|sign|attach|verify|inspect`, the
 * operator's side of key sets (manifests/FORMAT.md section 13): which
 * release keys devices trust, signed offline by k of the root keys.
 *
 *   make    lay out a key set (--version, --key ...) and sign it with the
 *           root keys given (--root), or write the bare body (--unsigned)
 *   sign    sign a bare body with one root key on the offline machine
 *           (writes one 72-byte signature entry)
 *   attach  join a body and its signature entries, verified with common/
 *   verify  the device decision (common/ota_keyset_verify) on a key set
 *   inspect every field (also `otasign inspect FILE.ks`)
 *
 * `otasign verify FILE.ks --root R.pub` and `otasign inspect FILE.ks` reach
 * the functions below through cmd_keyset_verify / keyset_show.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ota_keyset.h"
#include "cmd_keyset.h"
#include "util.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign keyset make --version N --key A.pub [--key B.pub ...] [--threshold K]\n"
        "                           [--expires UNIX] (--root R.key [--root ...] | --unsigned)\n"
        "                           --out FILE [--force] [--passphrase-file F]\n"
        "       otasign keyset sign BODY.kstbs --key R.key [--out FILE.kssig] [--force]\n"
        "       otasign keyset attach BODY.kstbs --sig A.kssig [--sig ...] --root R.pub [--root ...]\n"
        "                           [--threshold K] --out FILE.ks [--force]\n"
        "       otasign keyset verify FILE.ks --root R.pub [--root ...] [--threshold K] [--current N]\n"
        "       otasign keyset inspect FILE\n"
        "\n"
        "A key set (manifests/FORMAT.md section 13) lists the release keys devices trust from\n"
        "now on (1..8), with a version that only grows, signed by root keys (make them with\n"
        "`otasign keygen --root`).  Devices provisioned with the root public keys accept a\n"
        "set signed by at least K of them (--threshold, default 1) whose version is above\n"
        "the one they hold; then they trust exactly the keys it lists.  Rotation: a new set\n"
        "with the new key added.  Revocation: a new set without the old key.\n"
        "\n"
        "  make     --version N (>= 1), --key FILE per release key (.pub or .key), --threshold\n"
        "           K the set demands (1..8), --expires Unix seconds (0/absent = never; otad\n"
        "           and verify refuse an expired set).  With --root R.key (one per root) the\n"
        "           set is signed here; with --unsigned FILE is the 352-byte body to sign\n"
        "           offline (name it .kstbs).  Creation time: SOURCE_DATE_EPOCH, else now.\n"
        "  sign     on the offline machine: shows what it signs, writes one signature entry\n"
        "           (default BODY minus .kstbs + .<root key id>.kssig)\n"
        "  attach   verifies body + entries with the same code devices run, writes FILE.ks\n"
        "  verify   the device decision: --root keys, --threshold K (the device's), --current\n"
        "           N (the version the device holds, default 0); also refuses an expired set\n"
        "\n"
        "Exit status: 0 ok, 1 failure (or refused), 2 usage.\n");
}

static int load_pubs(ota_trusted_key *keys, const char **files, int n)
{
    for (int i = 0; i < n; i++)
        if (util_load_pub(&keys[i], files[i]) != 0) return -1;
    return 0;
}

static int parse_threshold(const char *s, uint8_t *out)
{
    uint64_t v = 1;
    if (s && (util_parse_u64(s, &v) != 0 || v < 1 || v > OTA_KEYSET_MAX_THRESHOLD)) {
        util_err("--threshold '%s': a number 1..%d", s, OTA_KEYSET_MAX_THRESHOLD);
        return -1;
    }
    *out = (uint8_t)v;
    return 0;
}

static void timeline(const char *name, uint64_t t, const char *zero)
{
    char buf[64] = "";
    time_t tt = (time_t)t;
    struct tm tm;
    if (t == 0 && zero) { printf("  %-18s 0 (%s)\n", name, zero); return; }
    if ((uint64_t)tt == t && gmtime_r(&tt, &tm)) strftime(buf, sizeof buf, " (%Y-%m-%dT%H:%M:%SZ)", &tm);
    printf("  %-18s %llu%s\n", name, (unsigned long long)t, buf);
}

static void show_fields(const ota_keyset *ks)
{
    char h[2 * OTA_SIG_SIZE + 1];
    printf("  %-18s OTKS\n", "magic");
    printf("  %-18s %u\n", "format", ks->format);
    printf("  %-18s %llu\n", "version", (unsigned long long)ks->version);
    printf("  %-18s %u\n", "threshold", ks->threshold);
    timeline("created", ks->created, NULL);
    timeline("expires", ks->expires, "never");
    printf("  %-18s %u\n", "keys", ks->n_keys);
    for (size_t i = 0; i < ks->n_keys; i++) {
        ota_trusted_key k;
        char id[17];
        ota_keyset_key(&k, ks, i);
        util_hex(id, k.id, OTA_KEY_ID_SIZE);
        util_hex(h, k.pub, 32);
        printf("  key %zu             %s %s\n", i, id, h);
    }
    for (size_t i = 0; i < ks->n_sigs; i++) {
        const uint8_t *e = ks->sigs + i * OTA_KEYSET_SIG_ENTRY_SIZE;
        char id[17];
        util_hex(id, e, OTA_KEY_ID_SIZE);
        util_hex(h, e + OTA_KEY_ID_SIZE, OTA_SIG_SIZE);
        printf("  signature %zu       root %s %s\n", i, id, h);
    }
}

/* `otasign inspect` of a key set (or its bare body). */
int keyset_show(const char *path, const uint8_t *b, size_t len)
{
    ota_keyset ks;
    ota_err e = ota_keyset_parse(&ks, b, len);
    if (e != OTA_OK) {
        util_err("%s: key set: %s (%s)", path, ota_strerror(e), util_err_name(e));
        return EXIT_FAIL;
    }
    printf("%s: key set, %s (%zu bytes)\n", path,
           ks.n_sigs ? "signed" : "UNSIGNED body", len);
    show_fields(&ks);
    uint8_t h[32];
    char hex[65];
    crypto_hash_sha256(h, b, len);
    util_hex(hex, h, 32);
    printf("  %-18s %s\n", ks.n_sigs ? "keyset_sha256" : "body_sha256", hex);
    return EXIT_OK;
}

/* ---- make ------------------------------------------------------------------- */

static int do_make(int argc, char **argv)
{
    const char *keys_f[OPT_MULTI_MAX], *roots_f[OPT_MULTI_MAX];
    int nkeys = 0, nroots = 0, unsigned_ = 0, force = 0, help_flag = 0, npos = 0;
    const char *ver_s = NULL, *thr_s = NULL, *exp_s = NULL, *out = NULL, *passfile = NULL;
    const char *pos[1];
    util_opt opts[] = {
        { "--version", OPT_STR, &ver_s, NULL },
        { "--key", OPT_MULTI, keys_f, &nkeys },
        { "--threshold", OPT_STR, &thr_s, NULL },
        { "--expires", OPT_STR, &exp_s, NULL },
        { "--root", OPT_MULTI, roots_f, &nroots },
        { "--unsigned", OPT_FLAG, &unsigned_, NULL },
        { "--out", OPT_STR, &out, NULL },
        { "--force", OPT_FLAG, &force, NULL },
        { "--passphrase-file", OPT_STR, &passfile, NULL },
    };
    int rc = EXIT_FAIL;
    uint64_t version = 0, expires = 0, created = 0;
    uint8_t thr = 1;
    ota_trusted_key keys[OTA_KEYSET_MAX_KEYS];
    uint8_t set[OTA_KEYSET_MAX_SIZE];
    size_t len = OTA_KEYSET_BODY_SIZE;
    util_secret_key sk;

    memset(&sk, 0, sizeof sk);
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 0, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (!ver_s || nkeys == 0 || !out || (!unsigned_ && nroots == 0) || (unsigned_ && nroots)) {
        util_err("need --version N, --key FILE (one or more), --out FILE and either --root R.key or --unsigned");
        return EXIT_USAGE;
    }
    if (util_parse_u64(ver_s, &version) != 0 || version == 0) {
        util_err("--version '%s': a number >= 1", ver_s);
        return EXIT_USAGE;
    }
    if (parse_threshold(thr_s, &thr) != 0) return EXIT_USAGE;
    if (exp_s && util_parse_u64(exp_s, &expires) != 0) { util_err("--expires '%s': Unix seconds", exp_s); return EXIT_USAGE; }
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        if (util_parse_u64(sde, &created) != 0) { util_err("SOURCE_DATE_EPOCH '%s': not a number", sde); return EXIT_FAIL; }
    } else {
        created = (uint64_t)time(NULL);
    }
    if (!unsigned_ && nroots < thr) {
        util_err("--threshold %u needs at least %u --root keys (or sign offline: --unsigned)", thr, thr);
        return EXIT_USAGE;
    }
    if (!force && util_exists(out)) { util_err("%s: already exists (use --force to replace it)", out); return EXIT_FAIL; }
    if (load_pubs(keys, keys_f, nkeys) != 0) goto out;
    ota_err e = ota_keyset_encode(set, version, thr, created, expires, keys, (size_t)nkeys);
    if (e != OTA_OK) {
        util_err("cannot make the key set: %s (same key twice? --expires not after the creation time %llu?)",
                 ota_strerror(e), (unsigned long long)created);
        goto out;
    }
    for (int i = 0; i < nroots; i++) {
        if (util_load_secret_key(&sk, roots_f[i], passfile) != 0) goto out;
        for (int j = 0; j < i; j++)
            if (memcmp(set + OTA_KEYSET_BODY_SIZE + (size_t)j * OTA_KEYSET_SIG_ENTRY_SIZE, sk.id, OTA_KEY_ID_SIZE) == 0) {
                util_err("%s: this root key was given twice", roots_f[i]);
                goto out;
            }
        memcpy(set + len, sk.id, OTA_KEY_ID_SIZE);
        crypto_sign_detached(set + len + OTA_KEY_ID_SIZE, NULL, set, OTA_KEYSET_BODY_SIZE, sk.sk);
        sodium_memzero(&sk, sizeof sk);
        len += OTA_KEYSET_SIG_ENTRY_SIZE;
    }
    if (!unsigned_) {
        /* What devices will run: the roots just used must accept it. */
        ota_trusted_key r[OPT_MULTI_MAX];
        ota_keyset ks;
        if (load_pubs(r, roots_f, nroots) != 0) goto out;
        e = ota_keyset_verify(&ks, set, len, r, (size_t)nroots, thr, 0);
        if (e != OTA_OK) { util_err("the signed key set does not verify: %s", ota_strerror(e)); goto out; }
    }
    if (util_write_atomic(out, set, len, 0644, force) != 0) goto out;
    printf("%s key set %s: version %llu, %d key%s, threshold %u%s\n",
           unsigned_ ? "wrote UNSIGNED" : "wrote signed", out, (unsigned long long)version, nkeys,
           nkeys == 1 ? "" : "s", thr, unsigned_ ? " (sign it: otasign keyset sign)" : "");
    rc = EXIT_OK;
out:
    sodium_memzero(&sk, sizeof sk);
    return rc;
}

/* ---- sign (offline) ------------------------------------------------------------- */

static int do_sign(int argc, char **argv)
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
    uint8_t *buf = NULL, entry[OTA_KEYSET_SIG_ENTRY_SIZE];
    size_t len = 0;
    char *path = NULL, id[17];
    util_secret_key sk;
    ota_keyset ks;

    memset(&sk, 0, sizeof sk);
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1 || !keyfile) { util_err("need BODY.kstbs and --key ROOT.key"); return EXIT_USAGE; }
    if (util_read_file(pos[0], 4096, &buf, &len) != 0) goto out;
    ota_err e = ota_keyset_parse(&ks, buf, len);
    if (e != OTA_OK) { util_err("%s: not a key-set body: %s", pos[0], ota_strerror(e)); goto out; }
    if (ks.n_sigs) {
        util_err("%s: already has signatures; sign the %d-byte body (.kstbs)", pos[0], OTA_KEYSET_BODY_SIZE);
        goto out;
    }
    if (util_load_secret_key(&sk, keyfile, passfile) != 0) goto out;
    util_hex(id, sk.id, OTA_KEY_ID_SIZE);
    memcpy(entry, sk.id, OTA_KEY_ID_SIZE);
    crypto_sign_detached(entry + OTA_KEY_ID_SIZE, NULL, buf, OTA_KEYSET_BODY_SIZE, sk.sk);
    sodium_memzero(&sk, sizeof sk);
    if (out) {
        path = strdup(out);
    } else {
        size_t n = strlen(pos[0]);
        if (n > 6 && strcmp(pos[0] + n - 6, ".kstbs") == 0) n -= 6;
        path = malloc(n + 32);
        if (path) snprintf(path, n + 32, "%.*s.%s.kssig", (int)n, pos[0], id);
    }
    if (!path) { util_err("out of memory"); goto out; }
    if (util_write_atomic(path, entry, sizeof entry, 0644, force) != 0) goto out;
    printf("signed key set %s with root %s:\n", pos[0], id);
    show_fields(&ks);
    printf("signature entry: %s\n", path);
    rc = EXIT_OK;
out:
    sodium_memzero(&sk, sizeof sk);
    free(buf);
    free(path);
    return rc;
}

/* ---- attach ------------------------------------------------------------------------ */

static int do_attach(int argc, char **argv)
{
    const char *sigs_f[OPT_MULTI_MAX], *roots_f[OPT_MULTI_MAX];
    int nsigs = 0, nroots = 0, force = 0, help_flag = 0, npos = 0;
    const char *thr_s = NULL, *out = NULL;
    const char *pos[1];
    util_opt opts[] = {
        { "--sig", OPT_MULTI, sigs_f, &nsigs },
        { "--root", OPT_MULTI, roots_f, &nroots },
        { "--threshold", OPT_STR, &thr_s, NULL },
        { "--out", OPT_STR, &out, NULL },
        { "--force", OPT_FLAG, &force, NULL },
    };
    int rc = EXIT_FAIL;
    uint8_t *body = NULL, *sig = NULL, set[OTA_KEYSET_MAX_SIZE];
    size_t blen = 0, slen = 0, len;
    uint8_t thr = 1;
    ota_trusted_key roots[OPT_MULTI_MAX];
    ota_keyset ks;

    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1 || nsigs == 0 || nroots == 0 || !out) {
        util_err("need BODY.kstbs, --sig FILE (one or more), --root R.pub (one or more) and --out FILE.ks");
        return EXIT_USAGE;
    }
    if (parse_threshold(thr_s, &thr) != 0) return EXIT_USAGE;
    if (!force && util_exists(out)) { util_err("%s: already exists (use --force to replace it)", out); return EXIT_FAIL; }
    if (util_read_file(pos[0], 4096, &body, &blen) != 0) goto out;
    ota_err e = ota_keyset_parse(&ks, body, blen);
    if (e != OTA_OK || ks.n_sigs) {
        util_err("%s: not a key-set body (%d bytes): %s", pos[0], OTA_KEYSET_BODY_SIZE,
                 e != OTA_OK ? ota_strerror(e) : "it already has signatures");
        goto out;
    }
    memcpy(set, body, OTA_KEYSET_BODY_SIZE);
    len = OTA_KEYSET_BODY_SIZE;
    for (int i = 0; i < nsigs; i++) {
        if (util_read_file(sigs_f[i], 4096, &sig, &slen) != 0) goto out;
        if (slen != OTA_KEYSET_SIG_ENTRY_SIZE) {
            util_err("%s: %zu bytes, a signature entry has %d", sigs_f[i], slen, OTA_KEYSET_SIG_ENTRY_SIZE);
            goto out;
        }
        memcpy(set + len, sig, slen);
        len += slen;
        free(sig);
        sig = NULL;
    }
    if (load_pubs(roots, roots_f, nroots) != 0) goto out;
    e = ota_keyset_verify(&ks, set, len, roots, (size_t)nroots, thr, 0);
    if (e != OTA_OK) {
        util_err("the key set does not verify with these roots: %s (%s)", ota_strerror(e), util_err_name(e));
        goto out;
    }
    if (util_write_atomic(out, set, len, 0644, force) != 0) goto out;
    printf("wrote signed key set %s: version %llu, %u key%s, %u of %d roots verified\n", out,
           (unsigned long long)ks.version, ks.n_keys, ks.n_keys == 1 ? "" : "s", ks.n_valid, nroots);
    rc = EXIT_OK;
out:
    free(body);
    free(sig);
    return rc;
}

/* ---- verify ---------------------------------------------------------------------------- */

int cmd_keyset_verify(int argc, char **argv)
{
    const char *roots_f[OPT_MULTI_MAX];
    int nroots = 0, help_flag = 0, npos = 0;
    const char *thr_s = NULL, *cur_s = NULL;
    const char *pos[1];
    util_opt opts[] = {
        { "--root", OPT_MULTI, roots_f, &nroots },
        { "--threshold", OPT_STR, &thr_s, NULL },
        { "--current", OPT_STR, &cur_s, NULL },
    };
    int rc = EXIT_FAIL;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint8_t thr = 1;
    uint64_t cur = 0;
    ota_trusted_key roots[OPT_MULTI_MAX];
    ota_keyset ks;

    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1 || nroots == 0) { util_err("need FILE.ks and --root R.pub (one or more)"); return EXIT_USAGE; }
    if (parse_threshold(thr_s, &thr) != 0) return EXIT_USAGE;
    if (cur_s && util_parse_u64(cur_s, &cur) != 0) { util_err("--current '%s': a number", cur_s); return EXIT_USAGE; }
    if (load_pubs(roots, roots_f, nroots) != 0) goto out;
    if (util_read_file(pos[0], 1 << 16, &buf, &len) != 0) goto out;
    ota_err e = ota_keyset_verify(&ks, buf, len, roots, (size_t)nroots, thr, cur);
    if (e != OTA_OK) {
        printf("%s: REJECTED: %s (%s)\n", pos[0], ota_strerror(e), util_err_name(e));
        goto out;
    }
    if (ks.expires && ks.expires <= (uint64_t)time(NULL)) {
        printf("%s: REJECTED: expired at %llu (the signatures are valid; sign a new set)\n", pos[0],
               (unsigned long long)ks.expires);
        goto out;
    }
    printf("%s: OK: key set version %llu, %u of %u provisioned roots signed (threshold %u)\n", pos[0],
           (unsigned long long)ks.version, ks.n_valid, (unsigned)nroots, thr > ks.threshold ? thr : ks.threshold);
    show_fields(&ks);
    rc = EXIT_OK;
out:
    free(buf);
    return rc;
}

/* ---- dispatch -------------------------------------------------------------------------- */

int cmd_keyset(int argc, char **argv)
{
    if (argc < 2) { help(stderr); return EXIT_USAGE; }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) { help(stdout); return EXIT_OK; }
    if (!strcmp(sub, "make")) return do_make(argc - 1, argv + 1);
    if (!strcmp(sub, "sign")) return do_sign(argc - 1, argv + 1);
    if (!strcmp(sub, "attach")) return do_attach(argc - 1, argv + 1);
    if (!strcmp(sub, "verify")) return cmd_keyset_verify(argc - 1, argv + 1);
    if (!strcmp(sub, "inspect")) {
        if (argc != 3) { util_err("need one FILE"); return EXIT_USAGE; }
        uint8_t *b = NULL;
        size_t len = 0;
        if (util_read_file(argv[2], 1 << 16, &b, &len) != 0) return EXIT_FAIL;
        int rc = keyset_show(argv[2], b, len);
        free(b);
        return rc;
    }
    util_err("unknown subcommand '%s' (make, sign, attach, verify, inspect)", sub);
    help(stderr);
    return EXIT_USAGE;
}

int keyset_arg_is_keyset(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        FILE *f = fopen(argv[i], "rb");
        if (!f) continue;
        char m[4];
        size_t n = fread(m, 1, 4, f);
        fclose(f);
        if (n == 4 && memcmp(m, OTA_KEYSET_MAGIC, 4) == 0) return 1;
    }
    return 0;
}

/*
 * test_release.c: common/ota_release against the golden vectors of
 * manifests/vectors/ (every line of vectors.txt), plus property and
 * differential tests: the encoders give the vector bytes, any one-byte change
 * of a statement or ticket is rejected, libsodium signatures verify, the
 * field rules, the bundle check and the MAC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../harness.h"
#include "seeded_sodium.h"
#include "ota_release.h"

static char vdir[4096];

/* ---- tiny helpers ---------------------------------------------------------- */

static uint8_t *load(const char *name, size_t *len)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", vdir, name);
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); *len = 0; return NULL; }
    uint8_t *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static size_t unhex(uint8_t *out, size_t cap, const char *s)
{
    size_t n = strlen(s) / 2;
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    return n;
}

static int load_pub(ota_trusted_key *k, const char *name)
{
    size_t len;
    uint8_t *b = load(name, &len);
    if (!b || len < 64) { free(b); return -1; }
    b[64] = 0;
    unhex(k->pub, 32, (char *)b);
    ota_release_key_id(k->id, k->pub);
    free(b);
    return 0;
}

static const struct { ota_err e; const char *n; } names[] = {
    { OTA_OK, "OTA_OK" }, { OTA_ERR_ARG, "OTA_ERR_ARG" }, { OTA_ERR_TRUNCATED, "OTA_ERR_TRUNCATED" },
    { OTA_ERR_TOO_LONG, "OTA_ERR_TOO_LONG" }, { OTA_ERR_BAD_SIGNATURE, "OTA_ERR_BAD_SIGNATURE" },
    { OTA_ERR_BAD_KEY, "OTA_ERR_BAD_KEY" }, { OTA_ERR_HASH_MISMATCH, "OTA_ERR_HASH_MISMATCH" },
    { OTA_ERR_MALFORMED, "OTA_ERR_MALFORMED" }, { OTA_ERR_BAD_MAGIC, "OTA_ERR_BAD_MAGIC" },
    { OTA_ERR_VERSION, "OTA_ERR_VERSION" }, { OTA_ERR_UNKNOWN_KEY, "OTA_ERR_UNKNOWN_KEY" },
    { OTA_ERR_WRONG_APP, "OTA_ERR_WRONG_APP" }, { OTA_ERR_WRONG_BOARD, "OTA_ERR_WRONG_BOARD" },
    { OTA_ERR_NOT_NEWER, "OTA_ERR_NOT_NEWER" }, { OTA_ERR_WRONG_DEVICE, "OTA_ERR_WRONG_DEVICE" },
    { OTA_ERR_STALE_NONCE, "OTA_ERR_STALE_NONCE" }, { OTA_ERR_WRONG_STATEMENT, "OTA_ERR_WRONG_STATEMENT" },
    { OTA_ERR_BAD_TICKET_SIG, "OTA_ERR_BAD_TICKET_SIG" }, { OTA_ERR_BAD_MAC, "OTA_ERR_BAD_MAC" },
    { OTA_ERR_BAD_ENCODING_KIND, "OTA_ERR_BAD_ENCODING_KIND" }, { OTA_ERR_TOO_BIG, "OTA_ERR_TOO_BIG" },
};

static const char *ename(ota_err e)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].e == e) return names[i].n;
    return "?";
}

/* key=value lookup in a case line, falling back to the defaults line. */
#define MAXTOK 32
typedef struct { char *k[MAXTOK], *v[MAXTOK]; int n; } kv;

static void kv_parse(kv *o, char *line)
{
    o->n = 0;
    for (char *tok = strtok(line, " \t\n"); tok && o->n < MAXTOK; tok = strtok(NULL, " \t\n")) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        o->k[o->n] = tok;
        o->v[o->n++] = eq + 1;
    }
}

static const char *get(const kv *c, const kv *d, const char *key)
{
    for (int i = 0; i < c->n; i++) if (strcmp(c->k[i], key) == 0) return c->v[i];
    for (int i = 0; i < d->n; i++) if (strcmp(d->k[i], key) == 0) return d->v[i];
    return NULL;
}

/* ---- the vectors -------------------------------------------------------- */

static int n_cases;

static void run_case(const kv *c, const kv *d)
{
    const char *name = get(c, d, "name"), *kind = get(c, d, "kind"), *expect = get(c, d, "expect");
    const char *bundle_f = get(c, d, "bundle");
    size_t st_len = 0, tk_len = 0, b_len = 0, sec_len = 0, mac_len = 0;
    uint8_t *st = load(get(c, d, "statement"), &st_len);
    uint8_t *tk = NULL, *bundle = NULL, *sec = NULL, *mac = NULL;
    ota_trusted_key rk, sk;
    uint8_t nonce[64];
    ota_device dev;
    ota_statement view;
    ota_err e;

    n_cases++;
    CHECKF(st != NULL, "%s: statement file", name);
    CHECKF(load_pub(&rk, get(c, d, "pub")) == 0, "%s: pub", name);
    memset(&dev, 0, sizeof dev);
    dev.app = get(c, d, "app");
    dev.app_len = strlen(dev.app);
    dev.board = get(c, d, "board");
    dev.board_len = strlen(dev.board);
    dev.running_seq = strtoull(get(c, d, "running"), NULL, 10);
    dev.device_id = get(c, d, "device");
    dev.device_id_len = strlen(dev.device_id);
    dev.nonce_len = unhex(nonce, sizeof nonce, get(c, d, "nonce"));
    dev.nonce = nonce;
    dev.max_size = (uint32_t)strtoul(get(c, d, "max"), NULL, 10);
    const char *fw = get(c, d, "firmware");   /* Espruino firmware the device runs; none: 0 */
    dev.firmware = fw ? (uint16_t)strtoul(fw, NULL, 10) : 0;
    dev.release_keys = &rk;
    dev.n_release_keys = 1;

    if (strcmp(kind, "statement") == 0) {
        const char *parse = get(c, d, "parse");
        e = ota_statement_parse(&view, st, st_len);
        CHECKF(strcmp(ename(e), parse) == 0, "%s: parse gave %s, expected %s", name, ename(e), parse);
        e = ota_statement_verify(&view, st, st_len, &rk, 1);
        if (e == OTA_OK) e = ota_release_applies(&view, &dev);
    } else {
        tk = load(get(c, d, "ticket"), &tk_len);
        CHECKF(load_pub(&sk, get(c, d, "server_pub")) == 0, "%s: server pub", name);
        dev.server_keys = &sk;
        dev.n_server_keys = 1;
        if (strcmp(get(c, d, "tier"), "mac") == 0) {
            dev.tier = OTA_TIER_MAC;
            sec = load(get(c, d, "secret"), &sec_len);
            mac = load(get(c, d, "mac"), &mac_len);
            CHECKF(mac_len == 32, "%s: mac file", name);
            dev.mac_key = sec;
            dev.mac_key_len = sec_len;
        }
        ota_offer offer;
        e = ota_release_decide(&offer, &dev, st, st_len, tk, tk_len, mac);
        view = offer.statement;
        if (e != OTA_OK) {
            static const uint8_t zero[sizeof offer] = { 0 };
            CHECKF(memcmp(&offer, zero, sizeof offer) == 0, "%s: offer not zeroed on reject", name);
        }
    }
    if (e == OTA_OK && bundle_f) {
        uint8_t h[32];
        bundle = load(bundle_f, &b_len);
        ota_sha256(h, bundle, b_len);
        e = ota_release_check_bundle(&view, h, b_len);
    }
    CHECKF(strcmp(ename(e), expect) == 0, "%s: got %s, expected %s", name, ename(e), expect);
    free(st); free(tk); free(bundle); free(sec); free(mac);
}

static void test_vectors(void)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/vectors.txt", vdir);
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "open %s", path);
    if (!f) return;
    static char dline[4096], line[4096];
    kv d = { .n = 0 }, c;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "defaults ", 9) == 0) { strcpy(dline, line); kv_parse(&d, dline); }
        else if (strncmp(line, "case ", 5) == 0) { kv_parse(&c, line); run_case(&c, &d); }
    }
    fclose(f);
    CHECKF(n_cases >= 80, "only %d vector cases", n_cases);
}

/* ---- encoders give exactly the vector bytes (spec == mkvectors == common) ---- */

static void test_encode_matches_vectors(void)
{
    size_t len, tlen;
    uint8_t *st = load("s-valid.stmt", &len), body[OTA_STATEMENT_BODY_SIZE];
    uint8_t *tk = load("d-valid.ticket", &tlen), tbody[OTA_TICKET_BODY_SIZE];
    ota_statement v;
    ota_ticket t;
    CHECK(st && len == OTA_STATEMENT_SIZE);
    CHECK(tk && tlen == OTA_TICKET_SIZE);
    if (!st || !tk) goto out;
    CHECK_EQ(ota_statement_parse(&v, st, len), OTA_OK);
    CHECK_EQ(ota_statement_encode(body, &v), OTA_OK);
    CHECK_MEM(body, st, sizeof body);
    CHECK_EQ(v.seq, 5);
    CHECK_EQ(v.size, 69);
    CHECK_EQ(v.target, 229);
    CHECK_EQ(v.created, 1700000000);
    CHECK(v.app_len == 4 && memcmp(v.app, "demo", 4) == 0);
    CHECK(v.board_len == 4 && memcmp(v.board, "pico", 4) == 0);
    CHECK(v.sig == st + OTA_STATEMENT_BODY_SIZE);
    CHECK_EQ(ota_ticket_parse(&t, tk, tlen), OTA_OK);
    CHECK_EQ(ota_ticket_encode(tbody, &t), OTA_OK);
    CHECK_MEM(tbody, tk, sizeof tbody);
    CHECK_EQ(t.nonce_len, 16);
    CHECK_EQ(t.issued, 1700000100);
    uint8_t h[32];
    ota_sha256(h, st, len);
    CHECK_MEM(h, t.statement_sha256, 32);
    CHECK_MEM(v.sha256, t.bundle_sha256, 32);
    /* Bare bodies parse too (sig NULL) but never verify. */
    CHECK_EQ(ota_statement_parse(&v, st, OTA_STATEMENT_BODY_SIZE), OTA_OK);
    CHECK(v.sig == NULL);
    CHECK_EQ(ota_ticket_parse(&t, tk, OTA_TICKET_BODY_SIZE), OTA_OK);
    CHECK(t.sig == NULL);
out:
    free(st);
    free(tk);
}

/* ---- one-byte changes are always caught -------------------------------- */

static void test_flip_every_byte(void)
{
    size_t len, tlen;
    uint8_t *st = load("s-valid.stmt", &len), *tk = load("d-valid.ticket", &tlen);
    ota_trusted_key rk, sk;
    uint8_t nonce[16];
    if (!st || !tk) { CHECK(0); free(st); free(tk); return; }
    load_pub(&rk, "release.pub");
    load_pub(&sk, "server.pub");
    for (int i = 0; i < 16; i++) nonce[i] = (uint8_t)(0xa0 + i);
    ota_device dev = { .app = "demo", .app_len = 4, .board = "pico", .board_len = 4, .running_seq = 4,
                       .device_id = "dev-0001", .device_id_len = 8, .nonce = nonce, .nonce_len = 16,
                       .release_keys = &rk, .n_release_keys = 1, .server_keys = &sk, .n_server_keys = 1 };
    ota_offer o;
    ota_statement v;
    CHECK_EQ(ota_release_decide(&o, &dev, st, len, tk, tlen, NULL), OTA_OK);
    unsigned bad = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            st[i] ^= (uint8_t)(1u << bit);
            if (ota_statement_verify(&v, st, len, &rk, 1) == OTA_OK) { bad++; fprintf(stderr, "statement byte %zu accepted\n", i); }
            if (ota_release_decide(&o, &dev, st, len, tk, tlen, NULL) == OTA_OK) bad++;
            st[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t i = 0; i < tlen; i++) {
        tk[i] ^= 0x01;
        if (ota_release_decide(&o, &dev, st, len, tk, tlen, NULL) == OTA_OK) { bad++; fprintf(stderr, "ticket byte %zu accepted\n", i); }
        tk[i] ^= 0x01;
    }
    CHECKF(bad == 0, "%u one-byte changes accepted", bad);
    CHECK_EQ(ota_release_decide(&o, &dev, st, len, tk, tlen, NULL), OTA_OK);
    /* Every truncation is rejected too. */
    for (size_t n = 0; n < len; n++)
        if (ota_statement_verify(&v, st, n, &rk, 1) == OTA_OK) bad++;
    CHECKF(bad == 0, "a truncated statement verified");
    free(st);
    free(tk);
}

/* ---- differential: libsodium signs, common/ verifies ---------------------- */

static void test_libsodium_agrees(void)
{
    uint8_t pk[32], skey[64], body[OTA_STATEMENT_SIZE];
    ota_trusted_key k;
    char app[33], label[65];
    unsigned ok = 0, n = 200;
    for (unsigned i = 0; i < n; i++) {
        uint8_t sha[32], src[32], id[8];
        crypto_sign_keypair(pk, skey);
        memcpy(k.pub, pk, 32);
        ota_release_key_id(k.id, pk);
        ota_release_key_id(id, pk);
        randombytes_buf(sha, 32);
        randombytes_buf(src, 32);
        size_t al = 1 + randombytes_uniform(32), ll = randombytes_uniform(65);
        static const char cs[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
        for (size_t j = 0; j < al; j++) app[j] = cs[j == 0 ? randombytes_uniform(62) : randombytes_uniform(65)];
        for (size_t j = 0; j < ll; j++) label[j] = (char)(0x20 + randombytes_uniform(0x5f));
        ota_statement in = { .encoding = 0, .target = 229, .key_id = id, .app = app, .app_len = al,
                             .board = "", .board_len = 0, .seq = 1 + randombytes_random(),
                             .created = randombytes_random(), .size = 1 + randombytes_uniform(100000),
                             .sha256 = sha, .installed_sha256 = sha, .source_sha256 = src,
                             .label = label, .label_len = ll };
        in.installed_size = in.size;
        if (ota_statement_encode(body, &in) != OTA_OK) continue;
        crypto_sign_detached(body + OTA_STATEMENT_BODY_SIZE, NULL, body, OTA_STATEMENT_BODY_SIZE, skey);
        ota_statement v;
        if (ota_statement_verify(&v, body, sizeof body, &k, 1) == OTA_OK && v.seq == in.seq &&
            v.app_len == al && memcmp(v.app, app, al) == 0 && v.label_len == ll)
            ok++;
    }
    CHECKF(ok == n, "libsodium-signed statements verified: %u of %u", ok, n);
}

/* ---- field rules, bundle check, MAC, argument checks ---------------------- */

static void test_rules(void)
{
    CHECK_EQ(ota_name_valid("demo", 4, 32, 0), OTA_OK);
    CHECK_EQ(ota_name_valid("a", 1, 32, 0), OTA_OK);
    CHECK_EQ(ota_name_valid("", 0, 32, 0), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_name_valid("-a", 2, 32, 0), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_name_valid("a:b", 3, 32, 0), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_name_valid("a:b", 3, 32, 1), OTA_OK);
    CHECK_EQ(ota_name_valid("a b", 3, 32, 1), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_name_valid("abcdefghijklmnopqrstuvwxyz0123456", 33, 32, 0), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_label_valid("", 0), OTA_OK);
    CHECK_EQ(ota_label_valid("\xe2\x82\xac", 3), OTA_OK);          /* euro sign */
    CHECK_EQ(ota_label_valid("\xe2\x82", 2), OTA_ERR_MALFORMED);     /* cut short */
    CHECK_EQ(ota_label_valid("\xf4\x90\x80\x80", 4), OTA_ERR_MALFORMED); /* > U+10FFFF */
    CHECK_EQ(ota_label_valid("\xe0\x80\xaf", 3), OTA_ERR_MALFORMED); /* overlong */
    CHECK_EQ(ota_label_valid("\xc2\x85", 2), OTA_ERR_MALFORMED);     /* C1 control */
    CHECK_EQ(ota_label_valid("a\x7f", 2), OTA_ERR_MALFORMED);
    char l65[65];
    memset(l65, 'x', sizeof l65);
    CHECK_EQ(ota_label_valid(l65, 64), OTA_OK);
    CHECK_EQ(ota_label_valid(l65, 65), OTA_ERR_MALFORMED);

    uint8_t sha[32] = { 1 }, other[32] = { 2 };
    ota_statement st = { .size = 10, .sha256 = sha };
    CHECK_EQ(ota_release_check_bundle(&st, sha, 10), OTA_OK);
    CHECK_EQ(ota_release_check_bundle(&st, sha, 9), OTA_ERR_TRUNCATED);
    CHECK_EQ(ota_release_check_bundle(&st, sha, 11), OTA_ERR_TOO_LONG);
    CHECK_EQ(ota_release_check_bundle(&st, other, 10), OTA_ERR_HASH_MISMATCH);
    CHECK_EQ(ota_release_check_bundle(NULL, sha, 10), OTA_ERR_ARG);

    uint8_t key[32], mac[32], msg[216], want[32];
    randombytes_buf(key, sizeof key);
    randombytes_buf(msg, sizeof msg);
    CHECK_EQ(ota_ticket_mac(mac, key, sizeof key, msg, sizeof msg), OTA_OK);
    crypto_auth_hmacsha256(want, msg, sizeof msg, key);
    CHECK_MEM(mac, want, 32);
    CHECK_EQ(ota_ticket_mac_verify(mac, key, sizeof key, msg, sizeof msg), OTA_OK);
    mac[31] ^= 1;
    CHECK_EQ(ota_ticket_mac_verify(mac, key, sizeof key, msg, sizeof msg), OTA_ERR_BAD_MAC);
    CHECK_EQ(ota_ticket_mac_verify(mac, NULL, 0, msg, sizeof msg), OTA_ERR_BAD_MAC);
    CHECK_EQ(ota_ticket_mac_verify(NULL, key, sizeof key, msg, sizeof msg), OTA_ERR_BAD_MAC);

    ota_statement v;
    ota_ticket t;
    ota_offer o;
    ota_device dev;
    memset(&dev, 0, sizeof dev);
    CHECK_EQ(ota_statement_parse(NULL, msg, 10), OTA_ERR_ARG);
    CHECK_EQ(ota_statement_parse(&v, NULL, 10), OTA_ERR_ARG);
    CHECK_EQ(ota_statement_verify(&v, NULL, 0, NULL, 0), OTA_ERR_ARG);
    CHECK_EQ(ota_ticket_parse(&t, NULL, 0), OTA_ERR_ARG);
    CHECK_EQ(ota_release_decide(&o, NULL, msg, 1, msg, 1, NULL), OTA_ERR_ARG);
    dev.tier = 7;
    CHECK_EQ(ota_release_decide(&o, &dev, msg, 1, msg, 1, NULL), OTA_ERR_ARG);
    /* Statements and tickets never pass for each other (domain separation). */
    size_t len;
    uint8_t *tk = load("d-valid.ticket", &len);
    if (tk) CHECK_EQ(ota_statement_parse(&v, tk, len), OTA_ERR_BAD_MAGIC);
    free(tk);
    /* encode refuses what parse would refuse. */
    uint8_t body[OTA_STATEMENT_BODY_SIZE], id[8] = { 0 };
    ota_statement in = { .key_id = id, .app = "demo", .app_len = 4, .seq = 1, .size = 1,
                         .installed_size = 1, .sha256 = sha, .installed_sha256 = sha,
                         .source_sha256 = sha };
    CHECK_EQ(ota_statement_encode(body, &in), OTA_OK);
    in.seq = 0;
    CHECK_EQ(ota_statement_encode(body, &in), OTA_ERR_MALFORMED);
    in.seq = 1;
    in.installed_sha256 = other;
    CHECK_EQ(ota_statement_encode(body, &in), OTA_ERR_MALFORMED);
    in.encoding = 1;
    CHECK_EQ(ota_statement_encode(body, &in), OTA_OK);
    in.app = "../x";
    CHECK_EQ(ota_statement_encode(body, &in), OTA_ERR_MALFORMED);
    uint8_t tb[OTA_TICKET_BODY_SIZE], n15[15] = { 0 };
    ota_ticket ti = { .key_id = id, .device_id = "d", .device_id_len = 1, .nonce = n15, .nonce_len = 15,
                      .statement_sha256 = sha, .bundle_sha256 = sha };
    CHECK_EQ(ota_ticket_encode(tb, &ti), OTA_ERR_MALFORMED);
}


/* ---- bounded reads: inputs end right at a guard page ---------------------- */

/* Copy n bytes so that they end exactly where an inaccessible page starts:
 * any read past the end faults (picohttpparser's trick). */
static uint8_t *guarded(void *map, size_t page, const uint8_t *src, size_t n)
{
    uint8_t *end = (uint8_t *)map + page;
    memcpy(end - n, src, n);
    return end - n;
}

static void test_guard_page(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len, tlen;
    uint8_t *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *tmap = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED && tmap != MAP_FAILED);
    if (map == MAP_FAILED || tmap == MAP_FAILED) return;
    CHECK(mprotect(map + page, page, PROT_NONE) == 0);
    CHECK(mprotect(tmap + page, page, PROT_NONE) == 0);
    uint8_t *st = load("s-valid.stmt", &len), *tk = load("d-valid.ticket", &tlen);
    ota_trusted_key rk, sk;
    load_pub(&rk, "release.pub");
    load_pub(&sk, "server.pub");
    uint8_t nonce[16];
    for (int i = 0; i < 16; i++) nonce[i] = (uint8_t)(0xa0 + i);
    ota_device dev = { .app = "demo", .app_len = 4, .board = "pico", .board_len = 4, .running_seq = 4,
                       .device_id = "dev-0001", .device_id_len = 8, .nonce = nonce, .nonce_len = 16,
                       .release_keys = &rk, .n_release_keys = 1, .server_keys = &sk, .n_server_keys = 1 };
    unsigned accepted = 0;
    /* Every prefix of the statement and of the ticket, at the edge. */
    for (size_t n = 0; n <= len; n++) {
        uint8_t *p = guarded(map, page, st, n);
        ota_statement v;
        ota_ticket t;
        ota_offer o;
        (void)ota_statement_parse(&v, p, n);
        if (ota_statement_verify(&v, p, n, &rk, 1) == OTA_OK) accepted++;
        (void)ota_ticket_parse(&t, p, n);
        uint8_t *q = guarded(tmap, page, tk, tlen);
        if (ota_release_decide(&o, &dev, p, n, q, tlen, NULL) == OTA_OK) accepted++;
    }
    for (size_t n = 0; n <= tlen; n++) {
        uint8_t *q = guarded(tmap, page, tk, n);
        uint8_t *p = guarded(map, page, st, len);
        ota_ticket t;
        ota_offer o;
        (void)ota_ticket_parse(&t, q, n);
        if (ota_release_decide(&o, &dev, p, len, q, n, NULL) == OTA_OK) accepted++;
        dev.tier = OTA_TIER_MAC;
        uint8_t mac[32] = { 0 };
        (void)ota_release_decide(&o, &dev, p, len, q, n, mac);
        dev.tier = OTA_TIER_SIGNED;
    }
    CHECKF(accepted == 3, "only the full statement + full ticket pass (%u of 3 expected)", accepted);
    /* Names and labels at the edge too. */
    uint8_t *p = guarded(map, page, (const uint8_t *)"demo\xe2\x82", 6);
    CHECK_EQ(ota_name_valid((const char *)p, 4, 32, 0), OTA_OK);
    CHECK_EQ(ota_label_valid((const char *)p, 6), OTA_ERR_MALFORMED);
    free(st);
    free(tk);
    munmap(map, 2 * page);
    munmap(tmap, 2 * page);
}

/* ---- random inputs: no crash, nothing random is accepted ------------------ */

static void test_random_inputs(void)
{
    ota_trusted_key rk;
    load_pub(&rk, "release.pub");
    size_t len;
    uint8_t *st = load("s-valid.stmt", &len);
    if (!st) { CHECK(0); return; }
    unsigned accepted = 0, parsed = 0;
    uint8_t buf[400];
    for (int i = 0; i < 20000; i++) {
        size_t n = randombytes_uniform(sizeof buf + 1);
        randombytes_buf(buf, n);
        /* Half of the inputs keep a valid header so parsing goes deeper. */
        if (i & 1) memcpy(buf, st, n < 16 ? n : 16);
        /* A quarter are the valid statement with a few random bytes changed. */
        if ((i & 3) == 3) {
            n = len;
            memcpy(buf, st, len);
            for (int k = 0; k < 3; k++) buf[randombytes_uniform((uint32_t)len)] = (uint8_t)randombytes_random();
            if (memcmp(buf, st, len) == 0) continue;
        }
        ota_statement v;
        ota_ticket t;
        if (ota_statement_parse(&v, buf, n) == OTA_OK) parsed++;
        if (ota_statement_verify(&v, buf, n, &rk, 1) == OTA_OK) accepted++;
        (void)ota_ticket_parse(&t, buf, n);
    }
    CHECKF(accepted == 0, "%u random statements verified", accepted);
    CHECK(parsed > 0); /* the mutations do reach the field rules */
    free(st);
}

/* Board names compare ASCII case-insensitively, nothing else folds. */
static void test_board_case(void)
{
    ota_statement st;
    memset(&st, 0, sizeof st);
    st.app = "demo"; st.app_len = 4;
    st.board = "PICO"; st.board_len = 4;
    st.seq = 5; st.size = 10; st.installed_size = 10;
    ota_device dev;
    memset(&dev, 0, sizeof dev);
    dev.app = "demo"; dev.app_len = 4;
    dev.board = "pico"; dev.board_len = 4;
    dev.running_seq = 4;
    CHECK_EQ(ota_release_applies(&st, &dev), OTA_OK);
    dev.board = "pic0";
    CHECK_EQ(ota_release_applies(&st, &dev), OTA_ERR_WRONG_BOARD);
    dev.board = "picoo"; dev.board_len = 5;
    CHECK_EQ(ota_release_applies(&st, &dev), OTA_ERR_WRONG_BOARD);
    dev.app = "DEMO"; dev.board = "pico"; dev.board_len = 4;
    CHECK_EQ(ota_release_applies(&st, &dev), OTA_ERR_WRONG_APP);   /* apps stay case-sensitive */
}

int main(void)
{
    t_suite_name = "test_release";
    t_seed_sodium();
    if (sodium_init() < 0) return 1;
    const char *root = getenv("OTA_ROOT");
    snprintf(vdir, sizeof vdir, "%s/manifests/vectors", root ? root : ".");
    T_RUN(test_vectors());
    T_RUN(test_encode_matches_vectors());
    T_RUN(test_flip_every_byte());
    T_RUN(test_libsodium_agrees());
    T_RUN(test_rules());
    T_RUN(test_board_case());
    T_RUN(test_guard_page());
    T_RUN(test_random_inputs());
    return t_done();
}

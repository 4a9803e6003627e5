/*
 * test_keyset.c: common/ota_keyset against the golden vectors of
 * manifests/vectors/keysets.txt (every line), the encoder against the
 * vector bytes, one-byte flips, libsodium-signed sets, refusals that must
 * not write flash, the release decision under a stored key set (rotation
 * and revocation), random inputs, and POWER CUTS at every flash operation
 * (write or erase) of key-set updates on several flash geometries, each cut
 * three ways (the operation does not happen / half happens / half happens
 * plus a garbage byte).  After each cut the device reloads from flash alone
 * and must find the old set or the new one, never neither and never
 * something else; carrying on must end on the new set.  Prints the number of
 * cut points.  Random parts print their seed; OTA_TEST_SEED replays one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "../harness.h"
#include "../unit/emuflash.h"
#include "ota_keyset.h"

static char vdir[4096];

/* ---- helpers ------------------------------------------------------------------ */

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

static int load_pub(ota_trusted_key *k, const char *name)
{
    size_t len, got = 0;
    uint8_t *b = load(name, &len);
    int rc = -1;
    if (b && len >= 64 && sodium_hex2bin(k->pub, 32, (char *)b, 64, NULL, &got, NULL) == 0 && got == 32) {
        ota_release_key_id(k->id, k->pub);
        rc = 0;
    }
    free(b);
    return rc;
}

static const struct { ota_err e; const char *n; } names[] = {
    { OTA_OK, "OTA_OK" }, { OTA_ERR_ARG, "OTA_ERR_ARG" }, { OTA_ERR_TRUNCATED, "OTA_ERR_TRUNCATED" },
    { OTA_ERR_BAD_SIGNATURE, "OTA_ERR_BAD_SIGNATURE" }, { OTA_ERR_BAD_KEY, "OTA_ERR_BAD_KEY" },
    { OTA_ERR_MALFORMED, "OTA_ERR_MALFORMED" }, { OTA_ERR_BAD_MAGIC, "OTA_ERR_BAD_MAGIC" },
    { OTA_ERR_VERSION, "OTA_ERR_VERSION" }, { OTA_ERR_UNKNOWN_KEY, "OTA_ERR_UNKNOWN_KEY" },
    { OTA_ERR_NOT_NEWER, "OTA_ERR_NOT_NEWER" }, { OTA_ERR_FLASH, "OTA_ERR_FLASH" },
    { OTA_ERR_STATE, "OTA_ERR_STATE" }, { OTA_ERR_ALIGN, "OTA_ERR_ALIGN" },
};

static const char *ename(ota_err e)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].e == e) return names[i].n;
    return "?";
}

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

/* The published test keys (FORMAT.md 10 and 13). */
static uint8_t root_pk[3][32], root_sk[3][64], rel_pk[2][32], rel_sk[2][64];
static ota_trusted_key roots[3], rels[2];

static void seed_key(uint8_t pk[32], uint8_t sk[64], ota_trusted_key *t, uint8_t first)
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(first + i);
    crypto_sign_seed_keypair(pk, sk, seed);
    memcpy(t->pub, pk, 32);
    ota_release_key_id(t->id, pk);
}

/* A signed set: version, threshold, release keys (mask over rels), signers (mask over roots). */
static size_t make_set(uint8_t out[OTA_KEYSET_MAX_SIZE], uint64_t version, uint8_t threshold,
                       unsigned keymask, unsigned signers)
{
    ota_trusted_key k[2];
    size_t n = 0, len = OTA_KEYSET_BODY_SIZE;
    for (int i = 0; i < 2; i++) if (keymask & (1u << i)) k[n++] = rels[i];
    if (ota_keyset_encode(out, version, threshold, 1700000000, 0, k, n) != OTA_OK) return 0;
    for (int r = 0; r < 3; r++) {
        if (!(signers & (1u << r))) continue;
        memcpy(out + len, roots[r].id, 8);
        crypto_sign_detached(out + len + 8, NULL, out, OTA_KEYSET_BODY_SIZE, root_sk[r]);
        len += OTA_KEYSET_SIG_ENTRY_SIZE;
    }
    return len;
}

/* ---- vectors -------------------------------------------------------------------- */

static int n_cases;

static void run_case(const kv *c, const kv *d)
{
    const char *name = get(c, d, "name"), *expect = get(c, d, "expect"), *parse = get(c, d, "parse");
    const char *keys = get(c, d, "keys");
    size_t len = 0;
    uint8_t *b = load(get(c, d, "keyset"), &len);
    ota_trusted_key r[8];
    size_t nr = 0;
    char list[512];
    ota_keyset ks;

    n_cases++;
    CHECKF(b != NULL, "%s: file", name);
    snprintf(list, sizeof list, "%s", get(c, d, "roots"));
    for (char *t = strtok(list, ","); t && nr < 8; t = strtok(NULL, ","))
        CHECKF(load_pub(&r[nr++], t) == 0, "%s: root %s", name, t);
    uint8_t thr = (uint8_t)strtoul(get(c, d, "threshold"), NULL, 10);
    uint64_t cur = strtoull(get(c, d, "current"), NULL, 10);

    ota_err e = ota_keyset_parse(&ks, b, len);
    CHECKF(strcmp(ename(e), parse) == 0, "%s: parse gave %s, expected %s", name, ename(e), parse);
    e = ota_keyset_verify(&ks, b, len, r, nr, thr, cur);
    CHECKF(strcmp(ename(e), expect) == 0, "%s: verify gave %s, expected %s", name, ename(e), expect);
    if (e != OTA_OK) {
        static const ota_keyset zero;
        CHECKF(memcmp(&ks, &zero, sizeof ks) == 0, "%s: view not zeroed on reject", name);
    }
    if (e == OTA_OK && keys) {
        ota_trusted_key t[OTA_KEYSET_MAX_KEYS];
        size_t n = ota_keyset_trusted(t, &ks), i = 0;
        char want[512], hex[17];
        snprintf(want, sizeof want, "%s", keys);
        for (char *tok = strtok(want, ","); tok; tok = strtok(NULL, ","), i++) {
            CHECKF(i < n, "%s: fewer keys than listed", name);
            if (i >= n) break;
            sodium_bin2hex(hex, sizeof hex, t[i].id, 8);
            CHECKF(strcmp(hex, tok) == 0, "%s: key %zu is %s, expected %s", name, i, hex, tok);
        }
        CHECKF(i == n, "%s: %zu keys, %zu listed", name, n, i);
    }
    free(b);
}

static void test_vectors(void)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/keysets.txt", vdir);
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
    CHECKF(n_cases >= 40, "only %d key-set vector cases", n_cases);
}

/* ---- encoder, flips, libsodium --------------------------------------------------- */

static void test_encode_and_flips(void)
{
    size_t len;
    uint8_t *v = load("k-valid.ks", &len), body[OTA_KEYSET_BODY_SIZE];
    uint8_t *rot = load("k-rotate.ks", &len);
    if (!v || !rot) { CHECK(0); free(v); free(rot); return; }
    CHECK_EQ(ota_keyset_encode(body, 1, 1, 1700000000, 0, &rels[0], 1), OTA_OK);
    CHECK_MEM(body, v, OTA_KEYSET_BODY_SIZE);
    ota_trusted_key two[2] = { rels[1], rels[0] };
    CHECK_EQ(ota_keyset_encode(body, 2, 1, 1700000000, 0, two, 2), OTA_OK);
    CHECK_MEM(body, rot, OTA_KEYSET_BODY_SIZE);
    /* The encoder refuses what a device would refuse. */
    ota_trusted_key dup[2] = { rels[0], rels[0] }, lie = rels[0];
    lie.id[0] ^= 1;
    CHECK_EQ(ota_keyset_encode(body, 2, 1, 0, 0, dup, 2), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(body, 2, 1, 0, 0, &lie, 1), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(body, 0, 1, 0, 0, rels, 1), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(body, 1, 0, 0, 0, rels, 1), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(body, 1, 9, 0, 0, rels, 1), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(body, 1, 1, 0, 0, rels, 0), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(body, 1, 1, 0, 0, rels, 9), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(body, 1, 1, 50, 50, rels, 1), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_encode(NULL, 1, 1, 0, 0, rels, 1), OTA_ERR_ARG);

    /* Any one-byte change of the valid set (424 bytes) is refused. */
    ota_keyset ks;
    unsigned accepted = 0;
    for (size_t i = 0; i < 424; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            v[i] ^= (uint8_t)(1u << bit);
            if (ota_keyset_verify(&ks, v, 424, roots, 2, 1, 0) == OTA_OK) accepted++;
            v[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECKF(accepted == 0, "%u flipped sets accepted", accepted);
    CHECK_EQ(ota_keyset_verify(&ks, v, 424, roots, 2, 1, 0), OTA_OK);
    CHECK_EQ(ks.n_valid, 1);
    CHECK_EQ(ota_keyset_verify(NULL, v, 424, roots, 2, 1, 0), OTA_ERR_ARG);
    CHECK_EQ(ota_keyset_verify(&ks, NULL, 424, roots, 2, 1, 0), OTA_ERR_ARG);
    CHECK_EQ(ota_keyset_verify(&ks, v, 424, NULL, 0, 1, 0), OTA_ERR_UNKNOWN_KEY);
    free(v);
    free(rot);

    /* libsodium-signed sets of every signer combination verify as the rules say. */
    uint8_t set[OTA_KEYSET_MAX_SIZE];
    for (unsigned signers = 1; signers < 8; signers++) {
        size_t n = make_set(set, 5, 1, 3, signers);
        unsigned cnt = (unsigned)__builtin_popcount(signers);
        for (uint8_t thr = 1; thr <= 3; thr++) {
            ota_err want = cnt >= thr ? OTA_OK : OTA_ERR_UNKNOWN_KEY;
            CHECKF(ota_keyset_verify(&ks, set, n, roots, 3, thr, 4) == want,
                   "signers %u threshold %u", signers, thr);
        }
    }
}

/* ---- the release decision trusts exactly the stored set's keys -------------------- */

static void test_release_under_keyset(void)
{
    size_t slen, l1, l3;
    uint8_t *st = load("s-valid.stmt", &slen);           /* signed by release key 1 */
    uint8_t *st2 = load("s-other-key-trusted.stmt", &l1); /* signed by release key 2 */
    uint8_t *v1 = load("k-valid.ks", &l1), *v3 = load("k-revoke.ks", &l3);
    if (!st || !st2 || !v1 || !v3) { CHECK(0); goto out; }
    ota_keyset ks;
    ota_trusted_key t[OTA_KEYSET_MAX_KEYS];
    ota_statement view;
    size_t n;
    /* Key set 1 lists release key 1: its statement verifies, key 2's does not. */
    CHECK_EQ(ota_keyset_verify(&ks, v1, l1, roots, 2, 1, 0), OTA_OK);
    n = ota_keyset_trusted(t, &ks);
    CHECK_EQ(n, 1);
    CHECK_EQ(ota_statement_verify(&view, st, slen, t, n), OTA_OK);
    CHECK_EQ(ota_statement_verify(&view, st2, 336, t, n), OTA_ERR_UNKNOWN_KEY);
    /* Key set 3 (revocation of key 1): key 2 only. */
    CHECK_EQ(ota_keyset_verify(&ks, v3, l3, roots, 2, 1, 1), OTA_OK);
    n = ota_keyset_trusted(t, &ks);
    CHECK_EQ(n, 1);
    CHECK_EQ(ota_statement_verify(&view, st, slen, t, n), OTA_ERR_UNKNOWN_KEY);
    CHECK_EQ(ota_statement_verify(&view, st2, 336, t, n), OTA_OK);
    ota_trusted_key k;
    CHECK_EQ(ota_keyset_key(&k, &ks, 1), OTA_ERR_ARG);
    CHECK_EQ(ota_keyset_key(&k, &ks, 0), OTA_OK);
    CHECK_MEM(k.id, rels[1].id, 8);
out:
    free(st); free(st2); free(v1); free(v3);
}

/* ---- random inputs: no crash, nothing random accepted ------------------------------ */

static void test_random(uint32_t seed)
{
    size_t len;
    uint8_t *v = load("k-valid.ks", &len);
    if (!v) { CHECK(0); return; }
    uint8_t buf[1100];
    unsigned accepted = 0, parsed = 0;
    srand(seed);
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)rand() % (sizeof buf + 1);
        for (size_t j = 0; j < n; j++) buf[j] = (uint8_t)rand();
        if (i & 1) memcpy(buf, v, n < 16 ? n : 16);
        if ((i & 3) == 3) {
            n = len;
            memcpy(buf, v, len);
            for (int k = 0; k < 3; k++) buf[(size_t)rand() % len] = (uint8_t)rand();
            if (memcmp(buf, v, len) == 0) continue;
        }
        ota_keyset ks;
        if (ota_keyset_parse(&ks, buf, n) == OTA_OK) parsed++;
        if (ota_keyset_verify(&ks, buf, n, roots, 3, 1, 0) == OTA_OK) accepted++;
    }
    CHECKF(accepted == 0, "%u random sets accepted", accepted);
    CHECK(parsed > 0);
    free(v);
}

/* ---- storage ------------------------------------------------------------------------ */

typedef struct geom {
    const char *name;
    uint32_t pages[8];           /* page sizes, 0-terminated */
    uint32_t align;
    uint8_t erased;
    uint32_t c0[2], c1[2];       /* copies: page index range [from, to) */
} geom;

static const geom geoms[] = {
    { "1k-pages", { 1024, 1024, 1024, 0 }, 4, 0xFF, { 0, 1 }, { 1, 2 } },
    { "512-pages-two-per-copy", { 512, 512, 512, 512, 512, 0 }, 8, 0xFF, { 0, 2 }, { 2, 4 } },
    { "align1-erased00", { 2048, 2048, 0 }, 1, 0x00, { 0, 1 }, { 1, 2 } },
    { "align64", { 4096, 4096, 0 }, 64, 0xFF, { 0, 1 }, { 1, 2 } },
    { "pico-16k", { 16384, 16384, 0 }, 4, 0xFF, { 0, 1 }, { 1, 2 } },
};

static void store_init(emu *e, ota_keyset_store *s, const geom *g)
{
    emu_init(e, g->pages, g->align, g->erased);
    s->flash = &e->port;
    s->copy[0].off = e->page_off[g->c0[0]];
    s->copy[0].len = e->page_off[g->c0[1]] - s->copy[0].off;
    s->copy[1].off = e->page_off[g->c1[0]];
    s->copy[1].len = e->page_off[g->c1[1]] - s->copy[1].off;
}

static long cut_points, cut_cases, bad_cases, double_cases;

/* Current version on flash (0 none), or -1 when loading failed. */
static long long stored_version(emu *e, const ota_keyset_store *s, ota_keyset_current *cur)
{
    emu_power_on(e);
    if (ota_keyset_load(cur, s, roots, 3, 1) != OTA_OK) return -1;
    return cur->found ? (long long)cur->ks.version : 0;
}

/* From each state of a chain (none -> v1 -> v2 -> v3 -> v4, copies
 * alternating), cut power at every flash operation of the next update, in
 * three tear modes; then recover. */
static void test_powercut_geom(const geom *g)
{
    static uint8_t sets[5][OTA_KEYSET_MAX_SIZE];
    static size_t lens[5];
    static const unsigned keymask[5] = { 0, 1, 3, 2, 2 };
    static const unsigned signers[5] = { 0, 1, 3, 7, 2 };
    static ota_keyset_current cur;
    emu e;
    ota_keyset_store s;
    store_init(&e, &s, g);
    CHECKF(ota_keyset_store_check(&s) == OTA_OK, "%s: geometry", g->name);
    for (int v = 1; v <= 4; v++) lens[v] = make_set(sets[v], (uint64_t)v, 1, keymask[v], signers[v]);
    uint8_t *snap = malloc(e.size);
    long local_points = 0;

    for (int v = 1; v <= 4; v++) {
        /* The state before the update: v-1 stored normally. */
        memcpy(snap, e.mem, e.size);
        /* A clean run counts the operations. */
        e.ops = 0;
        CHECKF(ota_keyset_update(&cur, &s, sets[v], lens[v], roots, 3, 1) == OTA_OK, "%s: update to v%d", g->name, v);
        long ops = e.ops;
        CHECKF(ops >= 2, "%s: update to v%d took %ld operations", g->name, v, ops);
        cut_points += ops;
        local_points += ops;
        for (long n = 0; n < ops; n++) {
            for (int tear = 0; tear < 3; tear++) {
                memcpy(e.mem, snap, e.size);
                emu_power_on(&e);
                e.ops = 0;
                e.violations = 0;
                e.cut_at = n;
                e.tear = tear;
                ota_err r = ota_keyset_update(&cur, &s, sets[v], lens[v], roots, 3, 1);
                int ok = r == OTA_ERR_FLASH && e.dead;
                long long got = stored_version(&e, &s, &cur);
                ok = ok && (got == v - 1 || got == v) && e.violations == 0;
                /* Never something else: the bytes are exactly one of the two sets. */
                if (got == v) ok = ok && cur.len == lens[v] && memcmp(cur.buf, sets[v], lens[v]) == 0;
                if (got == v - 1 && v > 1) ok = ok && cur.len == lens[v - 1] && memcmp(cur.buf, sets[v - 1], lens[v - 1]) == 0;
                /* Carry on: the same offer comes again. */
                ota_err r2 = ota_keyset_update(&cur, &s, sets[v], lens[v], roots, 3, 1);
                ok = ok && (r2 == OTA_OK || (got == v && r2 == OTA_ERR_NOT_NEWER));
                ok = ok && stored_version(&e, &s, &cur) == v && e.violations == 0;
                /* A second cut during the recovery, at every operation of it (tear 1). */
                if (ok && got == v - 1 && tear == 1) {
                    for (long m = 0;; m++) {
                        memcpy(e.mem, snap, e.size);
                        emu_power_on(&e);
                        e.cut_at = n; e.tear = 1; e.ops = 0;
                        (void)ota_keyset_update(&cur, &s, sets[v], lens[v], roots, 3, 1);
                        emu_power_on(&e);
                        e.ops = 0; e.cut_at = m; e.tear = 2;
                        ota_err r3 = ota_keyset_update(&cur, &s, sets[v], lens[v], roots, 3, 1);
                        if (!(e.dead)) { ok = ok && r3 == OTA_OK; break; }
                        long long g2 = stored_version(&e, &s, &cur);
                        ok = ok && (g2 == v - 1 || g2 == v) && e.violations == 0;
                        ota_err r4 = ota_keyset_update(&cur, &s, sets[v], lens[v], roots, 3, 1);
                        ok = ok && (r4 == OTA_OK || (g2 == v && r4 == OTA_ERR_NOT_NEWER));
                        ok = ok && stored_version(&e, &s, &cur) == v && e.violations == 0;
                        double_cases++;
                        if (m > 64) { ok = 0; break; }
                    }
                }
                cut_cases++;
                if (!ok) bad_cases++;
                CHECKF(ok, "%s: update to v%d, cut at op %ld tear %d: r=%s, then v%lld on flash",
                       g->name, v, n, tear, ename(r), got);
            }
        }
        /* Leave the chain at v for the next step. */
        memcpy(e.mem, snap, e.size);
        emu_power_on(&e);
        CHECK_EQ(ota_keyset_update(&cur, &s, sets[v], lens[v], roots, 3, 1), OTA_OK);
        CHECK_EQ(cur.copy, (v - 1) & 1);
    }
    printf("  %s: %ld cut points over 4 updates (x3 tear modes)\n", g->name, local_points);
    free(snap);
    emu_free(&e);
}

/* Refused sets write nothing; load falls back; roots matter. */
static void test_store_rules(void)
{
    static ota_keyset_current cur;
    static uint8_t a[OTA_KEYSET_MAX_SIZE], b[OTA_KEYSET_MAX_SIZE];
    emu e;
    ota_keyset_store s;
    store_init(&e, &s, &geoms[0]);
    CHECK_EQ(ota_keyset_load(&cur, &s, roots, 3, 1), OTA_OK);
    CHECK_EQ(cur.found, 0);
    size_t la = make_set(a, 2, 1, 1, 3);   /* signed by roots 1 and 2 */
    CHECK_EQ(ota_keyset_update(&cur, &s, a, la, roots, 3, 1), OTA_OK);
    CHECK(cur.found && cur.ks.version == 2);
    long ops = e.ops;
    size_t lb;
    /* lower / equal version, bad signature, unknown root, duplicate signer: nothing written. */
    lb = make_set(b, 1, 1, 3, 1);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 1), OTA_ERR_NOT_NEWER);
    lb = make_set(b, 2, 1, 3, 1);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 1), OTA_ERR_NOT_NEWER);
    lb = make_set(b, 3, 1, 3, 1);
    b[lb - 1] ^= 1;
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 1), OTA_ERR_BAD_SIGNATURE);
    lb = make_set(b, 3, 1, 3, 4);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 2, 1), OTA_ERR_UNKNOWN_KEY);
    lb = make_set(b, 3, 2, 3, 1);
    memcpy(b + lb, b + OTA_KEYSET_BODY_SIZE, OTA_KEYSET_SIG_ENTRY_SIZE);
    lb += OTA_KEYSET_SIG_ENTRY_SIZE;
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 2), OTA_ERR_MALFORMED);
    lb = make_set(b, 3, 1, 3, 1);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb + 1, roots, 3, 1), OTA_ERR_MALFORMED);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb - 1, roots, 3, 1), OTA_ERR_TRUNCATED);
    CHECK_EQ(e.ops, ops);
    CHECK_EQ(ota_keyset_load(&cur, &s, roots, 3, 1), OTA_OK);
    CHECK(cur.found && cur.ks.version == 2);
    /* A 2-of-3 device accepts a set signed by two roots, not one. */
    lb = make_set(b, 3, 1, 3, 1);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 2), OTA_ERR_UNKNOWN_KEY);
    lb = make_set(b, 3, 1, 3, 5);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 2), OTA_OK);
    CHECK(cur.found && cur.ks.version == 3 && cur.copy == 1);
    /* Corrupt the newest copy: load falls back to the older one (v2). */
    e.mem[s.copy[1].off + OTA_KEYSET_REC_HDR_SIZE + 40] ^= 0x10;
    CHECK_EQ(ota_keyset_load(&cur, &s, roots, 3, 1), OTA_OK);
    CHECK(cur.found && cur.ks.version == 2 && cur.copy == 0);
    /* The next update then goes to the corrupt copy, never over v2. */
    lb = make_set(b, 4, 1, 2, 1);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 1), OTA_OK);
    CHECK(cur.found && cur.ks.version == 4 && cur.copy == 1);
    /* Other roots (a reprovisioned device): nothing stored verifies. */
    CHECK_EQ(ota_keyset_load(&cur, &s, &roots[2], 1, 1), OTA_OK);
    CHECK_EQ(cur.found, 0);
    /* Worn flash: writes fail, the old set stays. */
    e.fail_writes = 1;
    lb = make_set(b, 5, 1, 1, 1);
    CHECK_EQ(ota_keyset_update(&cur, &s, b, lb, roots, 3, 1), OTA_ERR_FLASH);
    e.fail_writes = 0;
    CHECK_EQ(ota_keyset_load(&cur, &s, roots, 3, 1), OTA_OK);
    CHECK(cur.found && cur.ks.version == 4);
    /* Geometry. */
    ota_keyset_store bad = s;
    bad.copy[1] = bad.copy[0];
    CHECK_EQ(ota_keyset_store_check(&bad), OTA_ERR_ARG);
    bad = s;
    bad.copy[1].len = 512;
    CHECK(ota_keyset_store_check(&bad) != OTA_OK);
    CHECK_EQ(ota_keyset_load(&cur, &bad, roots, 3, 1), OTA_ERR_ARG);
    CHECK_EQ(ota_keyset_update(&cur, &bad, b, lb, roots, 3, 1), OTA_ERR_ARG);
    emu_free(&e);
}

int main(void)
{
    t_suite_name = "test_keyset";
    if (sodium_init() < 0) return 1;
    const char *root = getenv("OTA_ROOT");
    snprintf(vdir, sizeof vdir, "%s/manifests/vectors", root ? root : ".");
    for (int r = 0; r < 3; r++) seed_key(root_pk[r], root_sk[r], &roots[r], (uint8_t)(0x81 + 0x20 * r));
    seed_key(rel_pk[0], rel_sk[0], &rels[0], 0x01);
    seed_key(rel_pk[1], rel_sk[1], &rels[1], 0x61);
    const char *se = getenv("OTA_TEST_SEED");
    uint32_t seed = se ? (uint32_t)strtoul(se, NULL, 10) : randombytes_random();
    printf("test_keyset: seed %u (OTA_TEST_SEED=%u replays it)\n", seed, seed);

    test_vectors();
    test_encode_and_flips();
    test_release_under_keyset();
    test_random(seed);
    test_store_rules();
    for (size_t i = 0; i < sizeof geoms / sizeof geoms[0]; i++) test_powercut_geom(&geoms[i]);
    CHECKF(bad_cases == 0, "%ld of %ld power-cut cases broke the rule", bad_cases, cut_cases);
    printf("test_keyset: power cut at every flash operation of a key-set update: %ld cut points, "
           "%ld cases (3 tear modes), %ld second cuts during recovery, %ld broke the rule\n",
           cut_points, cut_cases, double_cases, bad_cases);
    printf("test_keyset: %d key-set vectors\n", n_cases);
    return t_done();
}

/*
 * mkvectors.c: writes the golden vectors of manifests/vectors/ from the
 * published test keys (manifests/FORMAT.md section 10; key sets: section 13,
 * keysets.txt).
 *
 *   mkvectors OUTDIR
 *
 * The layouts here are written out from FORMAT.md's tables on purpose, NOT
 * with ota_statement_encode/ota_ticket_encode: tests/unit/test_release.c
 * checks that common/'s encoders produce the same bytes, so the spec, this
 * generator and common/ are three independent witnesses.  Signatures come
 * from libsodium.  Everything is deterministic (Ed25519 signing is, and the
 * times are fixed), so regenerating gives the same bytes; a test checks it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>

static const char *outdir;
static FILE *list;

#define CREATED 1700000000ull
#define ISSUED  1700000100ull

static const char SOURCE[] =
    "// blink: the golden-vector test program (unminified source)\n"
    "var on = false;\n"
    "setInterval(function () {\n"
    "  on = !on;\n"
    "  digitalWrite(LED1, on);\n"
    "}, 500);\n";
static const char BUNDLE[] = "var on=!1;setInterval(function(){on=!on;digitalWrite(LED1,on)},500);\n";

static uint8_t rel_pk[32], rel_sk[64], rel2_pk[32], rel2_sk[64], srv_pk[32], srv_sk[64];
static uint8_t rel_id[8], rel2_id[8], srv_id[8];
static uint8_t secret[32], nonce[16];

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mkvectors: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void put_file(const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die("%s: %s", path, strerror(errno));
}

static void put_hex_line(const char *name, const uint8_t *b, size_t n)
{
    char h[129];
    sodium_bin2hex(h, sizeof h, b, n);
    char line[140];
    snprintf(line, sizeof line, "%s\n", h);
    put_file(name, line, strlen(line));
}

static void le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void key_from_seed(uint8_t pk[32], uint8_t sk[64], uint8_t id[8], uint8_t first)
{
    uint8_t seed[32], h[32];
    for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(first + i);
    crypto_sign_seed_keypair(pk, sk, seed);
    crypto_hash_sha256(h, pk, 32);
    memcpy(id, h, 8);
}

/* ---- statement, laid out from FORMAT.md section 2 ------------------------ */
typedef struct {
    uint8_t b[336];
} stmt;

typedef struct {
    const char *app, *board, *label;
    uint64_t seq;
    uint8_t encoding;
} sfields;

static void st_layout(stmt *s, const sfields *f, const uint8_t id[8])
{
    uint8_t sha[32], src[32];
    memset(s, 0, sizeof *s);
    crypto_hash_sha256(sha, (const uint8_t *)BUNDLE, strlen(BUNDLE));
    crypto_hash_sha256(src, (const uint8_t *)SOURCE, strlen(SOURCE));
    memcpy(s->b + 0, "OTAS", 4);
    s->b[4] = 1;
    s->b[5] = f->encoding;
    memcpy(s->b + 8, id, 8);
    memcpy(s->b + 16, f->app, strlen(f->app));     /* callers keep within 32 */
    memcpy(s->b + 48, f->board, strlen(f->board));
    le64(s->b + 80, f->seq);
    le64(s->b + 88, CREATED);
    le32(s->b + 96, (uint32_t)strlen(BUNDLE));
    le32(s->b + 100, (uint32_t)strlen(BUNDLE));
    memcpy(s->b + 104, sha, 32);
    memcpy(s->b + 136, sha, 32);
    memcpy(s->b + 168, src, 32);
    memcpy(s->b + 200, f->label, strlen(f->label));
    le16(s->b + 264, 229);
}

static void st_sign(stmt *s, const uint8_t sk[64])
{
    crypto_sign_detached(s->b + 272, NULL, s->b, 272, sk);
}

static void st_default(stmt *s)
{
    sfields f = { "demo", "pico", "vector release", 5, 0 };
    st_layout(s, &f, rel_id);
    st_sign(s, rel_sk);
}

/* ---- ticket, laid out from FORMAT.md section 3 ----------------------------- */
typedef struct {
    uint8_t b[216];
} tick;

static void tk_layout(tick *t, const char *device, const uint8_t *n, size_t nlen,
                      const uint8_t *stmt_bytes, size_t stmt_len, const uint8_t *bundle_sha,
                      const uint8_t id[8])
{
    memset(t, 0, sizeof *t);
    memcpy(t->b, "OTAT", 4);
    t->b[4] = 1;
    t->b[5] = (uint8_t)nlen;
    memcpy(t->b + 8, id, 8);
    memcpy(t->b + 16, device, strlen(device));
    memcpy(t->b + 48, n, nlen);
    crypto_hash_sha256(t->b + 80, stmt_bytes, stmt_len);
    memcpy(t->b + 112, bundle_sha, 32);
    le64(t->b + 144, ISSUED);
}

static void tk_sign(tick *t, const uint8_t sk[64])
{
    crypto_sign_detached(t->b + 152, NULL, t->b, 152, sk);
}

/* A valid ticket for statement s (dev-0001, the default nonce). */
static void tk_for(tick *t, const stmt *s)
{
    tk_layout(t, "dev-0001", nonce, sizeof nonce, s->b, sizeof s->b, s->b + 104, srv_id);
    tk_sign(t, srv_sk);
}

/* ---- output ---------------------------------------------------------------- */

/* Write a statement vector and its line. extra: more key=value tokens. */
static void emit_stmt(const char *name, const void *b, size_t len, const char *expect,
                      const char *parse, const char *extra)
{
    char file[256];
    snprintf(file, sizeof file, "%s.stmt", name);
    put_file(file, b, len);
    fprintf(list, "case name=%s kind=statement statement=%s expect=%s parse=%s%s%s\n", name, file,
            expect, parse, extra ? " " : "", extra ? extra : "");
}

static void emit_decide(const char *name, const stmt *s, size_t slen, const tick *t, size_t tlen,
                        const char *expect, const char *extra)
{
    char sf[256], tf[256];
    snprintf(sf, sizeof sf, "%s.stmt", name);
    snprintf(tf, sizeof tf, "%s.ticket", name);
    put_file(sf, s->b, slen);
    put_file(tf, t->b, tlen);
    fprintf(list, "case name=%s kind=decide statement=%s ticket=%s expect=%s%s%s\n", name, sf, tf,
            expect, extra ? " " : "", extra ? extra : "");
}

static void emit_mac(const char *name, const stmt *s, const tick *t, const uint8_t mac[32],
                     const char *expect, const char *extra)
{
    char mf[256], ex[512];
    snprintf(mf, sizeof mf, "%s.mac", name);
    put_file(mf, mac, 32);
    snprintf(ex, sizeof ex, "tier=mac mac=%s%s%s", mf, extra ? " " : "", extra ? extra : "");
    emit_decide(name, s, sizeof s->b, t, sizeof t->b, expect, ex);
}

/* S + L (the group order), little-endian: a non-canonical encoding of S. */
static void add_l(uint8_t s[32])
{
    static const uint8_t L[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
    unsigned c = 0;
    for (int i = 0; i < 32; i++) {
        c += (unsigned)s[i] + L[i];
        s[i] = (uint8_t)c;
        c >>= 8;
    }
}

/* ---- key sets, laid out from FORMAT.md section 13 ------------------------ */
static uint8_t root_pk[3][32], root_sk[3][64], root_id[3][8];
static FILE *kslist;

typedef struct {
    uint8_t b[352 + 9 * 72];
    size_t len;
} kset;

/* Body: version, threshold, the keys given (pub + id), fixed times. */
static void ks_layout(kset *k, uint64_t version, uint8_t threshold, int nkeys,
                      const uint8_t *const *pubs, const uint8_t *const *ids)
{
    memset(k, 0, sizeof *k);
    memcpy(k->b, "OTKS", 4);
    k->b[4] = 1;
    k->b[5] = threshold;
    k->b[6] = (uint8_t)nkeys;
    le64(k->b + 8, version);
    le64(k->b + 16, CREATED);
    le64(k->b + 24, 0);
    for (int i = 0; i < nkeys; i++) {
        memcpy(k->b + 32 + 40 * i, ids[i], 8);
        memcpy(k->b + 32 + 40 * i + 8, pubs[i], 32);
    }
    k->len = 352;
}

/* Append a signature entry by root r over the body as it is now. */
static void ks_sign(kset *k, int r)
{
    memcpy(k->b + k->len, root_id[r], 8);
    crypto_sign_detached(k->b + k->len + 8, NULL, k->b, 352, root_sk[r]);
    k->len += 72;
}

/* Re-sign every entry after a body change (entries keep their order). */
static void ks_resign(kset *k)
{
    for (size_t off = 352; off + 72 <= k->len; off += 72)
        for (int r = 0; r < 3; r++)
            if (memcmp(k->b + off, root_id[r], 8) == 0)
                crypto_sign_detached(k->b + off + 8, NULL, k->b, 352, root_sk[r]);
}

static void emit_ks(const char *name, const uint8_t *b, size_t len, const char *expect,
                    const char *parse, const char *extra)
{
    char file[256];
    snprintf(file, sizeof file, "%s.ks", name);
    put_file(file, b, len);
    fprintf(kslist, "case name=%s keyset=%s expect=%s parse=%s%s%s\n", name, file, expect, parse,
            extra ? " " : "", extra ? extra : "");
}

static void keyset_vectors(void)
{
    char path[4096], h[3][65], id[3][17];
    for (int r = 0; r < 3; r++) {
        key_from_seed(root_pk[r], root_sk[r], root_id[r], (uint8_t)(0x81 + 0x20 * r));
        char name[32];
        snprintf(name, sizeof name, "root%d.pub", r + 1);
        put_hex_line(name, root_pk[r], 32);
        sodium_bin2hex(h[r], sizeof h[r], root_pk[r], 32);
        sodium_bin2hex(id[r], sizeof id[r], root_id[r], 8);
    }
    snprintf(path, sizeof path, "%s/keysets.txt", outdir);
    kslist = fopen(path, "w");
    if (!kslist) die("%s: %s", path, strerror(errno));
    fprintf(kslist,
        "# otasign key-set golden vectors (manifests/FORMAT.md section 13), written by mkvectors.\n"
        "# TEST KEYS ONLY: the seeds are published; never trust these keys on a device.\n"
        "#   root1  seed 81..a0  pub %s  key id %s\n"
        "#   root2  seed a1..c0  pub %s  key id %s\n"
        "#   root3  seed c1..e0  pub %s  key id %s\n"
        "#   the sets list the release keys of vectors.txt (release.pub, release2.pub)\n"
        "#\n"
        "# One case per line.  ota_keyset_verify(keyset, roots (comma-separated .pub files),\n"
        "# threshold (the device's root threshold), current (the device's key-set version))\n"
        "# must give expect=; ota_keyset_parse (otasign inspect) must give parse=; with keys=,\n"
        "# the accepted set lists exactly those key ids (comma-separated).\n"
        "defaults roots=root1.pub,root2.pub threshold=1 current=0\n",
        h[0], id[0], h[1], id[1], h[2], id[2]);

    const uint8_t *p1[1] = { rel_pk }, *i1[1] = { rel_id };
    const uint8_t *p2[2] = { rel2_pk, rel_pk }, *i2[2] = { rel2_id, rel_id };
    const uint8_t *pr[1] = { rel2_pk }, *ir[1] = { rel2_id };
    char keys1[64], keys2[80], keysr[64], hx[17];
    sodium_bin2hex(hx, sizeof hx, rel_id, 8);
    snprintf(keys1, sizeof keys1, "keys=%s", hx);
    sodium_bin2hex(hx, sizeof hx, rel2_id, 8);
    snprintf(keysr, sizeof keysr, "keys=%s", hx);
    snprintf(keys2, sizeof keys2, "%s,", keysr);
    sodium_bin2hex(hx, sizeof hx, rel_id, 8);
    strncat(keys2, hx, sizeof keys2 - strlen(keys2) - 1);

    kset v, k;
    /* Version 1: the release test key.  Version 2: rotation (both keys).
     * Version 3: revocation (only release2). */
    ks_layout(&v, 1, 1, 1, p1, i1); ks_sign(&v, 0);
    emit_ks("k-valid", v.b, v.len, "OTA_OK", "OTA_OK", keys1);
    ks_layout(&k, 2, 1, 2, p2, i2); ks_sign(&k, 0);
    emit_ks("k-rotate", k.b, k.len, "OTA_OK", "OTA_OK", "current=1");
    ks_layout(&k, 3, 1, 1, pr, ir); ks_sign(&k, 0);
    emit_ks("k-revoke", k.b, k.len, "OTA_OK", "OTA_OK", "current=2");
    fprintf(kslist, "case name=k-revoke-keys keyset=k-revoke.ks expect=OTA_OK parse=OTA_OK current=2 %s\n", keysr);
    fprintf(kslist, "case name=k-rotate-keys keyset=k-rotate.ks expect=OTA_OK parse=OTA_OK %s\n", keys2);
    emit_ks("k-lower-version", v.b, v.len, "OTA_ERR_NOT_NEWER", "OTA_OK", "current=2");
    emit_ks("k-equal-version", v.b, v.len, "OTA_ERR_NOT_NEWER", "OTA_OK", "current=1");
    ks_layout(&k, 0xffffffffffffffffull, 1, 1, p1, i1); ks_sign(&k, 1);
    emit_ks("k-max-version", k.b, k.len, "OTA_OK", "OTA_OK", "current=18446744073709551614");

    /* Roots and thresholds. */
    ks_layout(&k, 2, 1, 1, p1, i1); ks_sign(&k, 2);
    emit_ks("k-unknown-root", k.b, k.len, "OTA_ERR_UNKNOWN_KEY", "OTA_OK", NULL);
    emit_ks("k-root3-trusted", k.b, k.len, "OTA_OK", "OTA_OK", "roots=root3.pub");
    ks_layout(&k, 2, 1, 1, p1, i1); ks_sign(&k, 2); ks_sign(&k, 1);
    emit_ks("k-unknown-and-known-root", k.b, k.len, "OTA_OK", "OTA_OK", NULL);
    ks_layout(&k, 2, 2, 1, p1, i1); ks_sign(&k, 0); ks_sign(&k, 1);
    emit_ks("k-2of3", k.b, k.len, "OTA_OK", "OTA_OK", "roots=root1.pub,root2.pub,root3.pub threshold=2");
    ks_layout(&k, 2, 2, 1, p1, i1); ks_sign(&k, 0);
    emit_ks("k-2of3-one-sig", k.b, k.len, "OTA_ERR_UNKNOWN_KEY", "OTA_OK", "roots=root1.pub,root2.pub,root3.pub");
    ks_layout(&k, 2, 1, 1, p1, i1); ks_sign(&k, 0);
    emit_ks("k-cannot-lower-threshold", k.b, k.len, "OTA_ERR_UNKNOWN_KEY", "OTA_OK",
            "roots=root1.pub,root2.pub,root3.pub threshold=2");
    {
        kset d;
        ks_layout(&d, 2, 2, 1, p1, i1); ks_sign(&d, 0);
        memcpy(d.b + d.len, d.b + 352, 72); d.len += 72;   /* root1 twice */
        emit_ks("k-duplicate-signer", d.b, d.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED",
                "roots=root1.pub,root2.pub,root3.pub threshold=2");
    }
    ks_layout(&k, 2, 1, 1, p1, i1);
    memcpy(k.b + 352, rel_id, 8);
    crypto_sign_detached(k.b + 360, NULL, k.b, 352, rel_sk);
    k.len = 424;
    emit_ks("k-signed-by-release-key", k.b, k.len, "OTA_ERR_UNKNOWN_KEY", "OTA_OK", NULL);

    /* Signatures. */
    k = v; k.b[360] ^= 1;
    emit_ks("k-sig-flip", k.b, k.len, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    k = v; k.b[8] = 9;   /* version 1 -> 9, not re-signed */
    emit_ks("k-version-flip", k.b, k.len, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    k = v; k.b[32 + 8] ^= 1;   /* key swapped, not re-signed */
    emit_ks("k-key-flip", k.b, k.len, "OTA_ERR_BAD_SIGNATURE", "OTA_ERR_MALFORMED", NULL);
    k = v; add_l(k.b + 360 + 32);
    emit_ks("k-sig-noncanonical-s", k.b, k.len, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    ks_layout(&k, 2, 1, 1, p1, i1); ks_sign(&k, 0); ks_sign(&k, 1); k.b[352 + 72 + 8] ^= 1;
    emit_ks("k-second-sig-bad", k.b, k.len, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);

    /* Framing. */
    k = v; memcpy(k.b, "OTKX", 4);
    emit_ks("k-bad-magic", k.b, k.len, "OTA_ERR_BAD_MAGIC", "OTA_ERR_BAD_MAGIC", NULL);
    k = v; memcpy(k.b, "OTAK", 4);
    emit_ks("k-keyfile-magic", k.b, k.len, "OTA_ERR_BAD_MAGIC", "OTA_ERR_BAD_MAGIC", NULL);
    k = v; k.b[4] = 2; ks_resign(&k);
    emit_ks("k-format-2", k.b, k.len, "OTA_ERR_VERSION", "OTA_ERR_VERSION", NULL);
    emit_ks("k-unsigned-body", v.b, 352, "OTA_ERR_TRUNCATED", "OTA_OK", NULL);
    emit_ks("k-truncated-423", v.b, 423, "OTA_ERR_TRUNCATED", "OTA_ERR_TRUNCATED", NULL);
    emit_ks("k-truncated-4", v.b, 4, "OTA_ERR_TRUNCATED", "OTA_ERR_TRUNCATED", NULL);
    emit_ks("k-empty", v.b, 0, "OTA_ERR_TRUNCATED", "OTA_ERR_TRUNCATED", NULL);
    k = v; k.b[k.len] = 0; k.len++;
    emit_ks("k-trailing-byte", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; for (int i = 0; i < 8; i++) { memcpy(k.b + k.len, v.b + 352, 72); k.b[k.len] ^= (uint8_t)(i + 1); k.len += 72; }
    emit_ks("k-nine-sigs", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);

    /* Field rules (validly signed). */
    k = v; k.b[7] = 1; ks_resign(&k);
    emit_ks("k-reserved", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; k.b[5] = 0; ks_resign(&k);
    emit_ks("k-threshold-0", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; k.b[5] = 9; ks_resign(&k);
    emit_ks("k-threshold-9", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; k.b[6] = 0; memset(k.b + 32, 0, 40); ks_resign(&k);
    emit_ks("k-no-keys", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; k.b[6] = 9; ks_resign(&k);
    emit_ks("k-nine-keys", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; le64(k.b + 8, 0); ks_resign(&k);
    emit_ks("k-version-zero", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; le64(k.b + 24, CREATED); ks_resign(&k);
    emit_ks("k-expires-not-after-created", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    k = v; le64(k.b + 24, 4102444800ull); ks_resign(&k);   /* 2100-01-01 */
    emit_ks("k-expires", k.b, k.len, "OTA_OK", "OTA_OK", NULL);
    k = v; memcpy(k.b + 32, rel2_id, 8); ks_resign(&k);
    emit_ks("k-keyid-lies", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    {
        const uint8_t *pd[2] = { rel_pk, rel_pk }, *id2[2] = { rel_id, rel_id };
        ks_layout(&k, 2, 1, 2, pd, id2); ks_sign(&k, 0);
        emit_ks("k-duplicate-key", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    }
    k = v; k.b[351] = 1; ks_resign(&k);
    emit_ks("k-unused-entry-set", k.b, k.len, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    {
        /* Eight keys (the maximum), three signatures. */
        uint8_t pk8[8][32], sk8[8][64], id8[8][8];
        const uint8_t *pp[8], *ii[8];
        for (int i = 0; i < 8; i++) {
            key_from_seed(pk8[i], sk8[i], id8[i], (uint8_t)(0x10 + 8 * i));
            pp[i] = pk8[i]; ii[i] = id8[i];
        }
        sodium_memzero(sk8, sizeof sk8);
        ks_layout(&k, 7, 3, 8, pp, ii); ks_sign(&k, 2); ks_sign(&k, 1); ks_sign(&k, 0);
        emit_ks("k-eight-keys-three-roots", k.b, k.len, "OTA_OK", "OTA_OK",
                "roots=root1.pub,root2.pub,root3.pub threshold=3 current=6");
    }
    if (fclose(kslist) != 0) die("keysets.txt: write failed");
    for (int r = 0; r < 3; r++) sodium_memzero(root_sk[r], sizeof root_sk[r]);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: mkvectors OUTDIR\n"); return 2; }
    outdir = argv[1];
    if (sodium_init() < 0) die("sodium_init failed");
    mkdir(outdir, 0755);

    key_from_seed(rel_pk, rel_sk, rel_id, 0x01);
    key_from_seed(srv_pk, srv_sk, srv_id, 0x21);
    key_from_seed(rel2_pk, rel2_sk, rel2_id, 0x61);
    for (int i = 0; i < 32; i++) secret[i] = (uint8_t)(0x41 + i);
    for (int i = 0; i < 16; i++) nonce[i] = (uint8_t)(0xa0 + i);

    put_hex_line("release.pub", rel_pk, 32);
    put_hex_line("release2.pub", rel2_pk, 32);
    put_hex_line("server.pub", srv_pk, 32);
    put_file("device.secret", secret, sizeof secret);
    put_file("source.js", SOURCE, strlen(SOURCE));
    put_file("bundle.js", BUNDLE, strlen(BUNDLE));
    char tampered[sizeof BUNDLE];
    memcpy(tampered, BUNDLE, sizeof BUNDLE);
    tampered[10] ^= 0x01;
    put_file("bundle-tampered.js", tampered, strlen(BUNDLE));
    put_file("bundle-short.js", BUNDLE, strlen(BUNDLE) - 1);
    char longer[sizeof BUNDLE + 1];
    memcpy(longer, BUNDLE, strlen(BUNDLE));
    longer[strlen(BUNDLE)] = '\n';
    put_file("bundle-long.js", longer, strlen(BUNDLE) + 1);

    char path[4096];
    snprintf(path, sizeof path, "%s/vectors.txt", outdir);
    list = fopen(path, "w");
    if (!list) die("%s: %s", path, strerror(errno));
    char h1[65], h2[65], h3[65], hn[33], i1[17], i2[17], i3[17];
    sodium_bin2hex(h1, sizeof h1, rel_pk, 32);
    sodium_bin2hex(h2, sizeof h2, rel2_pk, 32);
    sodium_bin2hex(h3, sizeof h3, srv_pk, 32);
    sodium_bin2hex(i1, sizeof i1, rel_id, 8);
    sodium_bin2hex(i2, sizeof i2, rel2_id, 8);
    sodium_bin2hex(i3, sizeof i3, srv_id, 8);
    sodium_bin2hex(hn, sizeof hn, nonce, sizeof nonce);
    fprintf(list,
        "# otasign golden vectors (manifests/FORMAT.md section 10), written by mkvectors.\n"
        "# TEST KEYS ONLY: the seeds are published; never trust these keys on a device.\n"
        "#   release key  seed 01..20  pub %s  key id %s\n"
        "#   release2     seed 61..80  pub %s  key id %s\n"
        "#   server key   seed 21..40  pub %s  key id %s\n"
        "#   device secret (MAC tier): bytes 41..60 (device.secret)\n"
        "#\n"
        "# One case per line: key=value tokens.  kind=statement: ota_statement_verify(statement,\n"
        "# [pub]) then ota_release_applies(device) then, with bundle=, ota_release_check_bundle;\n"
        "# parse= is what ota_statement_parse (otasign inspect) says.  kind=decide:\n"
        "# ota_release_decide(statement, ticket, mac) with the device below (tier=mac: HMAC tier),\n"
        "# then the bundle check.  expect= is the verdict (ota_err name).  Missing keys take\n"
        "# the defaults line.\n"
        "defaults app=demo board=pico running=4 device=dev-0001 nonce=%s pub=release.pub "
        "server_pub=server.pub secret=device.secret tier=signed max=0\n",
        h1, i1, h2, i2, h3, i3, hn);

    stmt s, v;
    tick t;
    sfields f;

    /* ---- statements ---- */
    st_default(&v);
    emit_stmt("s-valid", v.b, 336, "OTA_OK", "OTA_OK", "bundle=bundle.js");
    emit_stmt("s-valid-no-bundle", v.b, 336, "OTA_OK", "OTA_OK", NULL);
    emit_stmt("s-valid-running-0", v.b, 336, "OTA_OK", "OTA_OK", "running=0");
    emit_stmt("s-unsigned-body", v.b, 272, "OTA_ERR_TRUNCATED", "OTA_OK", NULL);

    f = (sfields){ "demo", "", "any board", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-any-board", s.b, 336, "OTA_OK", "OTA_OK", "bundle=bundle.js");

    s = v; s.b[272] ^= 0x01;
    emit_stmt("s-sig-flip-first", s.b, 336, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    s = v; s.b[335] ^= 0x80;
    emit_stmt("s-sig-flip-last", s.b, 336, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    s = v; s.b[80] ^= 0x02; /* seq 5 -> 7, not re-signed */
    emit_stmt("s-seq-flip", s.b, 336, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    s = v; s.b[104] ^= 0x01; /* transferred sha256, not re-signed */
    emit_stmt("s-sha-flip", s.b, 336, "OTA_ERR_BAD_SIGNATURE", "OTA_ERR_MALFORMED", NULL);
    s = v; s.b[16] = 'D'; /* app, not re-signed */
    emit_stmt("s-app-flip", s.b, 336, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    s = v; s.b[8] ^= 0x01; /* key id */
    emit_stmt("s-keyid-flip", s.b, 336, "OTA_ERR_UNKNOWN_KEY", "OTA_OK", NULL);

    s = v; memcpy(s.b, "OTAX", 4);
    emit_stmt("s-bad-magic", s.b, 336, "OTA_ERR_BAD_MAGIC", "OTA_ERR_BAD_MAGIC", NULL);
    s = v; memcpy(s.b, "OTAT", 4);
    emit_stmt("s-ticket-magic", s.b, 336, "OTA_ERR_BAD_MAGIC", "OTA_ERR_BAD_MAGIC", NULL);
    s = v; s.b[4] = 2; st_sign(&s, rel_sk);
    emit_stmt("s-version-2", s.b, 336, "OTA_ERR_VERSION", "OTA_ERR_VERSION", NULL);
    s = v; s.b[4] = 0; st_sign(&s, rel_sk);
    emit_stmt("s-version-0", s.b, 336, "OTA_ERR_VERSION", "OTA_ERR_VERSION", NULL);
    emit_stmt("s-truncated-335", v.b, 335, "OTA_ERR_TRUNCATED", "OTA_ERR_TRUNCATED", NULL);
    emit_stmt("s-truncated-4", v.b, 4, "OTA_ERR_TRUNCATED", "OTA_ERR_TRUNCATED", NULL);
    emit_stmt("s-empty", v.b, 0, "OTA_ERR_TRUNCATED", "OTA_ERR_TRUNCATED", NULL);
    {
        uint8_t big[337];
        memcpy(big, v.b, 336);
        big[336] = 0;
        emit_stmt("s-trailing-byte", big, 337, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    }
    /* byte 6 is the flags byte (OTA_SF_*), byte 7 stays reserved */
    s = v; s.b[7] = 1; st_sign(&s, rel_sk);
    emit_stmt("s-reserved0", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    s = v; s.b[6] = 2; st_sign(&s, rel_sk);
    emit_stmt("s-flag-unknown", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    s = v; s.b[6] = 1; s.b[264] = 0; s.b[265] = 0; st_sign(&s, rel_sk);
    emit_stmt("s-pretok-no-target", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    /* pretokenised for 2v29: well-formed, but the vector device states no
     * firmware, so it must refuse it */
    s = v; s.b[6] = 1; s.b[264] = 229; s.b[265] = 0; st_sign(&s, rel_sk);
    emit_stmt("s-pretok-unknown-firmware", s.b, 336, "OTA_ERR_BAD_ENCODING_KIND", "OTA_OK", NULL);
    emit_stmt("s-pretok-2v28-device", s.b, 336, "OTA_ERR_BAD_ENCODING_KIND", "OTA_OK", "firmware=228");
    emit_stmt("s-pretok-2v29-device", s.b, 336, "OTA_OK", "OTA_OK", "firmware=229");
    s = v; s.b[271] = 0x80; st_sign(&s, rel_sk);
    emit_stmt("s-reserved1", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);

    /* Keys. */
    f = (sfields){ "demo", "pico", "vector release", 5, 0 };
    st_layout(&s, &f, rel2_id); st_sign(&s, rel2_sk);
    emit_stmt("s-other-key", s.b, 336, "OTA_ERR_UNKNOWN_KEY", "OTA_OK", NULL);
    emit_stmt("s-other-key-trusted", s.b, 336, "OTA_OK", "OTA_OK", "pub=release2.pub");
    st_layout(&s, &f, rel_id); st_sign(&s, rel2_sk);
    emit_stmt("s-keyid-lies", s.b, 336, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);
    s = v; add_l(s.b + 272 + 32);
    emit_stmt("s-sig-noncanonical-s", s.b, 336, "OTA_ERR_BAD_SIGNATURE", "OTA_OK", NULL);

    /* Policy. */
    f = (sfields){ "other", "pico", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-wrong-app", s.b, 336, "OTA_ERR_WRONG_APP", "OTA_OK", NULL);
    f = (sfields){ "Demo", "pico", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-app-case", s.b, 336, "OTA_ERR_WRONG_APP", "OTA_OK", NULL);
    f = (sfields){ "demo", "esp32", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-wrong-board", s.b, 336, "OTA_ERR_WRONG_BOARD", "OTA_OK", NULL);
    f = (sfields){ "demo", "pico", "", 4, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-equal-seq", s.b, 336, "OTA_ERR_NOT_NEWER", "OTA_OK", NULL);
    f = (sfields){ "demo", "pico", "", 3, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-lower-seq", s.b, 336, "OTA_ERR_NOT_NEWER", "OTA_OK", NULL);
    f = (sfields){ "demo", "pico", "", 0xffffffffffffffffull, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-max-seq", s.b, 336, "OTA_OK", "OTA_OK", "running=18446744073709551614");
    emit_stmt("s-max-seq-running-max", s.b, 336, "OTA_ERR_NOT_NEWER", "OTA_OK", "running=18446744073709551615");
    emit_stmt("s-too-big", v.b, 336, "OTA_ERR_TOO_BIG", "OTA_OK", "max=10");
    emit_stmt("s-fits-exactly", v.b, 336, "OTA_OK", "OTA_OK", "max=69");
    f = (sfields){ "demo", "pico", "", 5, 1 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-encoding-compressed", s.b, 336, "OTA_ERR_BAD_ENCODING_KIND", "OTA_OK", NULL);

    /* Field rules (validly signed, so they reach step 11). */
    f = (sfields){ "demo", "pico", "", 0, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-seq-zero", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ "de/mo", "pico", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-app-slash", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ ".demo", "pico", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-app-leading-dot", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ "", "pico", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-app-empty", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    s = v; s.b[16 + 6] = 'x'; st_sign(&s, rel_sk); /* "demo\0\0x": bytes hidden after the NUL */
    emit_stmt("s-app-hidden-bytes", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ "abcdefghijklmnopqrstuvwxyz012345", "pico", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-app-32", s.b, 336, "OTA_OK", "OTA_OK", "app=abcdefghijklmnopqrstuvwxyz012345");
    f = (sfields){ "demo", "pi co", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-board-space", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ "demo", "pico", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 utf-8 label, exactly sixty-four bytes!!!123456789", 5, 0 };
    if (strlen(f.label) != 64) die("label length %zu", strlen(f.label));
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-label-64-utf8", s.b, 336, "OTA_OK", "OTA_OK", NULL);
    f = (sfields){ "demo", "pico", "bad \xff byte", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-label-bad-utf8", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ "demo", "pico", "overlong \xc0\xaf", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-label-overlong", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ "demo", "pico", "surrogate \xed\xa0\x80", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-label-surrogate", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    f = (sfields){ "demo", "pico", "line\nbreak", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    emit_stmt("s-label-control", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    s = v; le32(s.b + 100, 70); st_sign(&s, rel_sk);
    emit_stmt("s-identity-size-differs", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    s = v; s.b[136] ^= 1; st_sign(&s, rel_sk);
    emit_stmt("s-identity-sha-differs", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);
    s = v; le32(s.b + 96, 0); le32(s.b + 100, 0); st_sign(&s, rel_sk);
    emit_stmt("s-size-zero", s.b, 336, "OTA_ERR_MALFORMED", "OTA_ERR_MALFORMED", NULL);

    /* Bundles against the valid statement. */
    emit_stmt("s-bundle-tampered", v.b, 336, "OTA_ERR_HASH_MISMATCH", "OTA_OK", "bundle=bundle-tampered.js");
    emit_stmt("s-bundle-short", v.b, 336, "OTA_ERR_TRUNCATED", "OTA_OK", "bundle=bundle-short.js");
    emit_stmt("s-bundle-long", v.b, 336, "OTA_ERR_TOO_LONG", "OTA_OK", "bundle=bundle-long.js");

    /* ---- decisions (statement + ticket) ---- */
    tk_for(&t, &v);
    emit_decide("d-valid", &v, 336, &t, 216, "OTA_OK", "bundle=bundle.js");
    emit_decide("d-bundle-tampered", &v, 336, &t, 216, "OTA_ERR_HASH_MISMATCH", "bundle=bundle-tampered.js");
    emit_decide("d-running-5", &v, 336, &t, 216, "OTA_ERR_NOT_NEWER", "running=5");
    emit_decide("d-other-app-device", &v, 336, &t, 216, "OTA_ERR_WRONG_APP", "app=weather");
    emit_decide("d-other-board-device", &v, 336, &t, 216, "OTA_ERR_WRONG_BOARD", "board=esp8266");
    emit_decide("d-too-big", &v, 336, &t, 216, "OTA_ERR_TOO_BIG", "max=68");
    emit_decide("d-server-key-untrusted", &v, 336, &t, 216, "OTA_ERR_UNKNOWN_KEY", "server_pub=release2.pub");
    emit_decide("d-release-key-untrusted", &v, 336, &t, 216, "OTA_ERR_UNKNOWN_KEY", "pub=release2.pub");
    emit_decide("d-other-device", &v, 336, &t, 216, "OTA_ERR_WRONG_DEVICE", "device=dev-0002");
    emit_decide("d-other-nonce", &v, 336, &t, 216, "OTA_ERR_STALE_NONCE",
                "nonce=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00");

    tick u;
    u = t; u.b[152] ^= 1;
    emit_decide("d-ticket-sig-flip", &v, 336, &u, 216, "OTA_ERR_BAD_TICKET_SIG", NULL);
    u = t; u.b[16 + 7] = '2'; /* dev-0001 -> dev-0002, not re-signed */
    emit_decide("d-ticket-device-flip", &v, 336, &u, 216, "OTA_ERR_BAD_TICKET_SIG", NULL);
    u = t; memcpy(u.b, "OTAS", 4);
    emit_decide("d-ticket-bad-magic", &v, 336, &u, 216, "OTA_ERR_BAD_MAGIC", NULL);
    u = t; u.b[4] = 2; tk_sign(&u, srv_sk);
    emit_decide("d-ticket-version", &v, 336, &u, 216, "OTA_ERR_VERSION", NULL);
    emit_decide("d-ticket-truncated", &v, 336, &t, 215, "OTA_ERR_TRUNCATED", NULL);
    emit_decide("d-ticket-body-only", &v, 336, &t, 152, "OTA_ERR_TRUNCATED", NULL);
    u = t; memcpy(u.b + 8, rel_id, 8); tk_sign(&u, rel_sk);
    emit_decide("d-ticket-by-release-key", &v, 336, &u, 216, "OTA_ERR_UNKNOWN_KEY", NULL);
    u = t; u.b[7] = 1; tk_sign(&u, srv_sk);
    emit_decide("d-ticket-reserved", &v, 336, &u, 216, "OTA_ERR_MALFORMED", NULL);
    u = t; u.b[5] = 15; tk_sign(&u, srv_sk);
    emit_decide("d-ticket-nonce-len-15", &v, 336, &u, 216, "OTA_ERR_MALFORMED", NULL);
    u = t; u.b[5] = 33; tk_sign(&u, srv_sk);
    emit_decide("d-ticket-nonce-len-33", &v, 336, &u, 216, "OTA_ERR_MALFORMED", NULL);
    u = t; u.b[48 + 20] = 1; tk_sign(&u, srv_sk);
    emit_decide("d-ticket-nonce-padding", &v, 336, &u, 216, "OTA_ERR_MALFORMED", NULL);
    u = t; memset(u.b + 16, 0, 32); memcpy(u.b + 16, "dev/0001", 8); tk_sign(&u, srv_sk);
    emit_decide("d-ticket-device-slash", &v, 336, &u, 216, "OTA_ERR_MALFORMED", NULL);

    tk_layout(&u, "dev-0002", nonce, sizeof nonce, v.b, 336, v.b + 104, srv_id); tk_sign(&u, srv_sk);
    emit_decide("d-wrong-device", &v, 336, &u, 216, "OTA_ERR_WRONG_DEVICE", NULL);
    {
        uint8_t n2[16];
        memcpy(n2, nonce, 16);
        n2[15] ^= 1;
        tk_layout(&u, "dev-0001", n2, sizeof n2, v.b, 336, v.b + 104, srv_id); tk_sign(&u, srv_sk);
        emit_decide("d-stale-nonce", &v, 336, &u, 216, "OTA_ERR_STALE_NONCE", NULL);
        uint8_t n3[32];
        memset(n3, 0x5a, sizeof n3);
        tk_layout(&u, "dev-0001", n3, sizeof n3, v.b, 336, v.b + 104, srv_id); tk_sign(&u, srv_sk);
        emit_decide("d-nonce-32", &v, 336, &u, 216, "OTA_OK",
                    "nonce=5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
        tk_layout(&u, "aa:bb:cc:dd:ee:ff", nonce, sizeof nonce, v.b, 336, v.b + 104, srv_id); tk_sign(&u, srv_sk);
        emit_decide("d-device-mac-address", &v, 336, &u, 216, "OTA_OK", "device=aa:bb:cc:dd:ee:ff");
    }
    /* Ticket names another statement: the old, lower one (a replayed offer). */
    f = (sfields){ "demo", "pico", "", 3, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    tk_layout(&u, "dev-0001", nonce, sizeof nonce, s.b, 336, s.b + 104, srv_id); tk_sign(&u, srv_sk);
    emit_decide("d-wrong-statement", &v, 336, &u, 216, "OTA_ERR_WRONG_STATEMENT", NULL);
    emit_decide("d-old-release-fresh-ticket", &s, 336, &u, 216, "OTA_ERR_NOT_NEWER", NULL);
    {
        uint8_t other[32];
        memset(other, 0x11, sizeof other);
        tk_layout(&u, "dev-0001", nonce, sizeof nonce, v.b, 336, other, srv_id); tk_sign(&u, srv_sk);
        emit_decide("d-ticket-bundle-sha-differs", &v, 336, &u, 216, "OTA_ERR_WRONG_STATEMENT", NULL);
    }
    /* The statement is bad but the ticket names it exactly. */
    s = v; s.b[300] ^= 4;
    tk_for(&u, &s);
    emit_decide("d-statement-sig-flip", &s, 336, &u, 216, "OTA_ERR_BAD_SIGNATURE", NULL);
    f = (sfields){ "demo", "esp32", "", 5, 0 };
    st_layout(&s, &f, rel_id); st_sign(&s, rel_sk);
    tk_for(&u, &s);
    emit_decide("d-statement-wrong-board", &s, 336, &u, 216, "OTA_ERR_WRONG_BOARD", NULL);
    s = v; memcpy(s.b, "OTAX", 4);
    tk_for(&u, &s);
    emit_decide("d-statement-bad-magic", &s, 336, &u, 216, "OTA_ERR_BAD_MAGIC", NULL);

    /* ---- stock-firmware tier ---- */
    uint8_t mac[32];
    crypto_auth_hmacsha256(mac, t.b, 216, secret);
    emit_mac("m-valid", &v, &t, mac, "OTA_OK", "bundle=bundle.js");
    mac[0] ^= 1;
    emit_mac("m-mac-flip", &v, &t, mac, "OTA_ERR_BAD_MAC", NULL);
    mac[0] ^= 1;
    u = t; u.b[144] ^= 1; /* issued changed: the MAC no longer matches */
    emit_mac("m-ticket-changed", &v, &u, mac, "OTA_ERR_BAD_MAC", NULL);
    emit_mac("m-wrong-secret", &v, &t, mac, "OTA_ERR_BAD_MAC", "secret=release2.pub");
    /* Documented weakness of the tier: the release signature is not checked on
     * the device (the server checked it); a MAC'd ticket is all it takes. */
    s = v; s.b[272] ^= 1;
    tk_for(&u, &s);
    crypto_auth_hmacsha256(mac, u.b, 216, secret);
    emit_mac("m-statement-sig-not-checked", &s, &u, mac, "OTA_OK", NULL);
    tk_for(&u, &v);
    u.b[152] ^= 1; /* server signature broken, MAC over the broken bytes is valid */
    crypto_auth_hmacsha256(mac, u.b, 216, secret);
    emit_mac("m-ticket-sig-not-checked", &v, &u, mac, "OTA_OK", NULL);
    crypto_auth_hmacsha256(mac, t.b, 216, secret);
    emit_mac("m-other-device", &v, &t, mac, "OTA_ERR_WRONG_DEVICE", "device=dev-0002");
    emit_mac("m-running-5", &v, &t, mac, "OTA_ERR_NOT_NEWER", "running=5");

    if (fclose(list) != 0) die("vectors.txt: write failed");
    keyset_vectors();
    sodium_memzero(rel_sk, sizeof rel_sk);
    sodium_memzero(rel2_sk, sizeof rel2_sk);
    sodium_memzero(srv_sk, sizeof srv_sk);
    return 0;
}

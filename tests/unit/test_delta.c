/*
 * test_delta.c: deltas (FORMAT.md 2b): the encoder (cli/delta_enc.c)
 * against the freestanding applier (common/ota_delta.c): round trips on
 * real programs and seeded random edits, streaming in any pieces, resuming
 * at every output length (ota_delta_skip), hostile deltas (out-of-range
 * copies, overlong output, truncated, bytes after the end, wrong base or
 * target, bad header, bad varints, every byte corrupted) refused with their
 * code and never a crash (ASan/UBSan), and the golden vector manifests/delta/.
 */
#include "../harness.h"
#include "ota_crypto.h"
#include "ota_delta.h"
#include "../../cli/delta_enc.h"

typedef struct { uint8_t *p; size_t len, cap; int bad_piece; } buf;
typedef struct { const uint8_t *p; size_t n; unsigned reads; int bad; } base_t;

static ota_err sink(void *ctx, const uint8_t *d, size_t n)
{
    buf *b = ctx;
    if (!n || n > OTA_DELTA_BUF) b->bad_piece = 1;
    if (b->len + n > b->cap) return OTA_ERR_TOO_LONG;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return OTA_OK;
}

static ota_err rd(void *ctx, uint32_t off, uint8_t *out, size_t len)
{
    base_t *b = ctx;
    b->reads++;
    if (!len || len > OTA_DELTA_BUF || off > b->n || len > b->n - off) { b->bad = 1; return OTA_ERR_ARG; }
    memcpy(out, b->p + off, len);
    return OTA_OK;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *p = malloc(1 << 22);
    *n = fread(p, 1, 1 << 22, f);
    fclose(f);
    return p;
}

/* Apply delta to base with the streaming API in pieces of 1..maxpiece bytes
 * (0: one call), skipping the first `skip` output bytes; the output (after
 * the skip) goes to out. */
static ota_err apply(const uint8_t *delta, size_t dn, const uint8_t *base, size_t bn,
                     const uint8_t *bsha, const uint8_t *tsha, uint32_t tn, uint32_t skip,
                     size_t maxpiece, buf *out, unsigned *reads)
{
    ota_delta d;
    base_t b = { base, bn, 0, 0 };
    ota_err e = ota_delta_init(&d, bsha, (uint32_t)bn, tsha, tn);
    if (e == OTA_OK) e = ota_delta_skip(&d, skip);
    size_t off = 0;
    while (e == OTA_OK && off < dn) {
        size_t k = maxpiece ? 1 + (size_t)(t_rand64() % maxpiece) : dn;
        if (k > dn - off) k = dn - off;
        e = ota_delta_feed(&d, delta + off, k, rd, &b, sink, out);
        off += k;
    }
    if (e == OTA_OK) e = ota_delta_finish(&d);
    CHECK(!b.bad);
    CHECK(!out->bad_piece);
    CHECK(out->len + skip <= tn);
    if (reads) *reads = b.reads;
    return e;
}

/* Encode, apply in one call, compare; returns the delta size. */
static size_t roundtrip(const uint8_t *a, size_t an, const uint8_t *t, size_t tn)
{
    uint8_t *d = NULL, bs[32], ts[32];
    size_t dn = 0;
    if (!CHECK(delta_encode(a, an, t, tn, &d, &dn) == 0)) return 0;
    ota_sha256(bs, a, an);
    ota_sha256(ts, t, tn);
    buf o = { malloc(tn), 0, tn, 0 };
    CHECK_EQ(apply(d, dn, a, an, bs, ts, (uint32_t)tn, 0, 0, &o, NULL), OTA_OK);
    CHECK_EQ(o.len, tn);
    CHECK_MEM(o.p, t, tn);
    /* the in-memory form agrees */
    memset(o.p, 0, tn);
    CHECK_EQ(ota_delta_apply(o.p, tn, d, dn, a, an, bs, ts), OTA_OK);
    CHECK_MEM(o.p, t, tn);
    free(o.p);
    free(d);
    return dn;
}

/* A copy of p with k random edits (replace, insert or delete a run). */
static uint8_t *edit(const uint8_t *p, size_t n, int k, size_t *out_n)
{
    size_t cap = n + (size_t)k * 64 + 1, len = n;
    uint8_t *q = malloc(cap);
    memcpy(q, p, n);
    for (int i = 0; i < k; i++) {
        size_t at = len ? (size_t)(t_rand64() % len) : 0, run = 1 + (size_t)(t_rand64() % 40);
        int kind = (int)(t_rand64() % 3);
        if (kind == 0) { for (size_t j = at; j < len && j < at + run; j++) q[j] = (uint8_t)('a' + t_rand64() % 26); }
        else if (kind == 1) {
            memmove(q + at + run, q + at, len - at);
            for (size_t j = 0; j < run; j++) q[at + j] = (uint8_t)('A' + t_rand64() % 26);
            len += run;
        } else if (len > run + 1) {
            if (run > len - at) run = len - at;
            memmove(q + at, q + at + run, len - at - run);
            len -= run;
        }
    }
    if (!len) q[len++] = 'x';
    *out_n = len;
    return q;
}

static void test_roundtrip(void)
{
    static const char *files[] = { "examples/logger.js", "device/espruino/ota.js", "README.md" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t n = 0, m = 0;
        uint8_t *p = read_file(files[i], &n);
        T_CASE("round trip %s: identical, one edit, 10 edits, unrelated, from nothing", files[i]);
        if (!CHECKF(p && n > 100, "%s readable", files[i])) { free(p); continue; }
        size_t same = roundtrip(p, n, p, n);
        CHECKF(same < OTA_DELTA_HDR_SIZE + 12, "identical programs: %zu bytes", same);
        uint8_t *q = edit(p, n, 1, &m);
        size_t one = roundtrip(p, n, q, m);
        CHECKF(one < OTA_DELTA_HDR_SIZE + 120, "one edit of %s: %zu bytes", files[i], one);
        free(q);
        q = edit(p, n, 10, &m);
        size_t ten = roundtrip(p, n, q, m);
        CHECKF(ten < n / 2, "10 edits of %s: %zu bytes", files[i], ten);
        free(q);
        roundtrip(p, n / 3, p + n / 2, n - n / 2);
        roundtrip(NULL, 0, p, n);
        roundtrip(p, 7, p, n);              /* a base shorter than a match */
        roundtrip(p, n, p, 1);
        free(p);
    }
}

static void test_random(void)
{
    T_CASE("seeded random bases and edits (text and binary, 0..12000 bytes)");
    for (int r = 0; r < 300; r++) {
        size_t n = (size_t)(t_rand64() % 12000), m = 0;
        uint8_t *p = malloc(n + 1);
        if (r & 1) t_rand_bytes(p, n);
        else for (size_t i = 0; i < n; i++) p[i] = (uint8_t)"abc (){};\n=+x\xff"[t_rand64() % 14];
        uint8_t *q = edit(p, n, (int)(t_rand64() % 30), &m);
        roundtrip(p, n, q, m);
        free(p);
        free(q);
    }
}

/* Streaming in pieces equals one call; resuming at every output length makes
 * exactly the rest, reading the base only for the rest. */
static void test_stream_resume(void)
{
    size_t n = 0, m = 0, dn = 0;
    uint8_t *p = read_file("device/espruino/ota.js", &n), *d = NULL, bs[32], ts[32];
    T_CASE("streaming in pieces of 1..200 bytes");
    if (!CHECK(p)) return;
    uint8_t *q = edit(p, n, 20, &m);
    CHECK(delta_encode(p, n, q, m, &d, &dn) == 0);
    ota_sha256(bs, p, n);
    ota_sha256(ts, q, m);
    for (int r = 0; r < 20; r++) {
        buf o = { malloc(m), 0, m, 0 };
        CHECK_EQ(apply(d, dn, p, n, bs, ts, (uint32_t)m, 0, r == 0 ? 1 : 200, &o, NULL), OTA_OK);
        CHECK_EQ(o.len, m);
        CHECK_MEM(o.p, q, m);
        free(o.p);
    }
    T_CASE("resume at every output length (ota_delta_skip): exactly the rest, base read only for it");
    unsigned full_reads = 0;
    for (uint32_t s = 0; s <= m; s++) {
        buf o = { malloc(m + 1), 0, m, 0 };
        unsigned reads = 0;
        CHECK_EQ(apply(d, dn, p, n, bs, ts, (uint32_t)m, s, s % 7 ? 0 : 50, &o, &reads), OTA_OK);
        CHECKF(o.len == m - s, "skip %u: %zu bytes out", s, o.len);
        CHECK_MEM(o.p, q + s, m - s);
        if (!s) full_reads = reads;
        else CHECK(reads <= full_reads);
        if (s == m) CHECK_EQ(reads, 0);
        free(o.p);
    }
    ota_delta z;
    CHECK_EQ(ota_delta_init(&z, bs, (uint32_t)n, ts, (uint32_t)m), OTA_OK);
    CHECK_EQ(ota_delta_skip(&z, (uint32_t)m + 1), OTA_ERR_ARG);
    free(d);
    free(q);
    free(p);
}

/* A delta by hand: header for (base, target), then the ops in ops[]. */
static size_t mk(uint8_t *o, const uint8_t *base, size_t bn, const uint8_t *t, size_t tn,
                 const uint8_t *ops, size_t on)
{
    static const uint8_t h[4] = { 'O', 'D', 1, 0 };
    memcpy(o, h, 4);
    for (int i = 0; i < 4; i++) { o[4 + i] = (uint8_t)(bn >> 8 * i); o[8 + i] = (uint8_t)(tn >> 8 * i); }
    ota_sha256(o + 12, base, bn);
    ota_sha256(o + 44, t, tn);
    memcpy(o + OTA_DELTA_HDR_SIZE, ops, on);
    return OTA_DELTA_HDR_SIZE + on;
}

static ota_err try(const uint8_t *d, size_t dn, const uint8_t *base, size_t bn, const uint8_t *t, size_t tn)
{
    uint8_t bs[32], ts[32];
    ota_sha256(bs, base, bn);
    ota_sha256(ts, t, tn);
    buf o = { malloc(tn), 0, tn, 0 };
    ota_err e = apply(d, dn, base, bn, bs, ts, (uint32_t)tn, 0, 0, &o, NULL);
    if (e == OTA_OK) CHECK_MEM(o.p, t, tn);
    free(o.p);
    return e;
}

static void test_hostile(void)
{
    const uint8_t base[] = "hello, world";            /* 12 bytes */
    const uint8_t tgt[] = "world, hello!";            /* 13 bytes */
    uint8_t d[256];
    size_t n;
    /* COPY 5 @7 "world", ADD 2 ", ", COPY 5 @0 "hello", ADD 1 "!" */
    const uint8_t good[] = { 5 << 1 | 1, 7, 2 << 1, ',', ' ', 5 << 1 | 1, 0, 1 << 1, '!' };
    T_CASE("hand-made delta applies (copy, add, copy, add)");
    n = mk(d, base, 12, tgt, 13, good, sizeof good);
    CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_OK);
    T_CASE("out-of-range copies: offset past the base, copy running past its end");
    { const uint8_t o[] = { 5 << 1 | 1, 8, 8 << 1, 'x','x','x','x','x','x','x','x' };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    { const uint8_t o[] = { 5 << 1 | 1, 13 };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    { const uint8_t o[] = { 5 << 1 | 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    T_CASE("overlong output: an op past the target size (copy, add), zero-length ops");
    { const uint8_t o[] = { 12 << 1 | 1, 0, 2 << 1, 'a', 'b' };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    { const uint8_t o[] = { 14 << 1 };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    { const uint8_t o[] = { 0 };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    { const uint8_t o[] = { 1, 0 };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    T_CASE("varints: 6 bytes, 2^32 and above refused");
    { const uint8_t o[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    { const uint8_t o[] = { 0x81, 0x80, 0x80, 0x80, 0x10 };
      n = mk(d, base, 12, tgt, 13, o, sizeof o); CHECK_EQ(try(d, n, base, 12, tgt, 13), OTA_ERR_BAD_DELTA); }
    T_CASE("truncated at every length: TRUNCATED, never OK; a byte after the end: TOO_LONG");
    n = mk(d, base, 12, tgt, 13, good, sizeof good);
    for (size_t k = 0; k < n; k++) CHECKF(try(d, k, base, 12, tgt, 13) == OTA_ERR_TRUNCATED, "prefix %zu", k);
    d[n] = 0;
    CHECK_EQ(try(d, n + 1, base, 12, tgt, 13), OTA_ERR_TOO_LONG);
    T_CASE("wrong base (other bytes, other size), wrong target: DELTA_BASE");
    n = mk(d, base, 12, tgt, 13, good, sizeof good);
    CHECK_EQ(try(d, n, (const uint8_t *)"hello, World", 12, tgt, 13), OTA_ERR_DELTA_BASE);
    CHECK_EQ(try(d, n, base, 11, tgt, 13), OTA_ERR_DELTA_BASE);
    CHECK_EQ(try(d, n, base, 12, (const uint8_t *)"world, hello?", 13), OTA_ERR_DELTA_BASE);
    CHECK_EQ(try(d, n, base, 12, tgt, 12), OTA_ERR_DELTA_BASE);
    T_CASE("bad header: magic, version, flags, target size 0: BAD_DELTA");
    for (int f = 0; f < 4; f++) {
        n = mk(d, base, 12, tgt, 13, good, sizeof good);
        d[f] ^= 0x40;
        CHECKF(try(d, n, base, 12, tgt, 13) == OTA_ERR_BAD_DELTA, "byte %d", f);
    }
    n = mk(d, base, 12, tgt, 13, good, sizeof good);
    memset(d + 8, 0, 4);
    CHECK_EQ(ota_delta_header(d, n, NULL, NULL, NULL, NULL), OTA_ERR_BAD_DELTA);
    T_CASE("arguments");
    uint8_t z[32] = {0}, out[4];
    ota_delta s;
    CHECK_EQ(ota_delta_init(NULL, z, 0, z, 1), OTA_ERR_ARG);
    CHECK_EQ(ota_delta_init(&s, z, 0, z, 0), OTA_ERR_ARG);
    CHECK_EQ(ota_delta_feed(&s, d, 1, rd, NULL, sink, NULL), OTA_ERR_ARG);   /* sticky */
    CHECK_EQ(ota_delta_apply(NULL, 4, d, n, base, 12, z, z), OTA_ERR_ARG);
    CHECK_EQ(ota_delta_apply(out, 0, d, n, base, 12, z, z), OTA_ERR_ARG);
    CHECK_EQ(ota_delta_finish(NULL), OTA_ERR_ARG);
}

/* Every byte of a real delta flipped or set: refused, or other output (the
 * installed hash refuses it), or the same output; never a crash, a read
 * outside the base or more output than the target size (checked in apply). */
static void test_corrupt(void)
{
    size_t n = 0, m = 0, dn = 0;
    uint8_t *p = read_file("examples/logger.js", &n), *d = NULL, bs[32], ts[32];
    T_CASE("every bit of a delta flipped, every byte 0x00/0xff: refused or caught by the installed hash");
    if (!CHECK(p)) return;
    uint8_t *q = edit(p, n, 8, &m);
    CHECK(delta_encode(p, n, q, m, &d, &dn) == 0);
    ota_sha256(bs, p, n);
    ota_sha256(ts, q, m);
    unsigned refused = 0, differ = 0, same = 0, total = 0;
    for (size_t i = 0; i < dn; i++) {
        for (int v = 0; v < 10; v++) {
            uint8_t old = d[i];
            d[i] = v < 8 ? (uint8_t)(old ^ (1u << v)) : v == 8 ? 0x00 : 0xFF;
            if (d[i] != old) {
                buf o = { malloc(m), 0, m, 0 };
                total++;
                ota_err e = apply(d, dn, p, n, bs, ts, (uint32_t)m, 0, 0, &o, NULL);
                if (e != OTA_OK) refused++;
                else if (memcmp(o.p, q, m) != 0) differ++;
                else same++;
                free(o.p);
            }
            d[i] = old;
        }
    }
    CHECK_EQ(refused + differ + same, total);
    CHECK(refused > 0);
    printf("corruption of a %zu-byte delta: %u refused by the applier, %u made other bytes (the installed "
           "hash refuses them), %u the same bytes, of %u\n", dn, refused, differ, same, total);
    free(d);
    free(q);
    free(p);
}

static void test_golden(void)
{
    size_t an = 0, tn = 0, gn = 0, dn = 0;
    uint8_t *a = read_file("manifests/delta/base.js", &an), *t = read_file("manifests/delta/target.js", &tn);
    uint8_t *g = read_file("manifests/delta/delta.bin", &gn), *d = NULL;
    T_CASE("golden vector manifests/delta/: the encoder writes it byte for byte, the applier reads it");
    if (!CHECK(a && t && g)) { free(a); free(t); free(g); return; }
    CHECK(delta_encode(a, an, t, tn, &d, &dn) == 0);
    CHECK_EQ(dn, gn);
    if (d && dn == gn) CHECK_MEM(d, g, gn);
    CHECK_EQ(try(g, gn, a, an, t, tn), OTA_OK);
    free(a);
    free(t);
    free(g);
    free(d);
}

int main(void)
{
    t_suite_name = "test_delta";
    t_seed();
    test_roundtrip();
    test_random();
    test_stream_resume();
    test_hostile();
    test_corrupt();
    test_golden();
    return t_done();
}

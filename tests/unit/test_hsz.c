/*
 * test_hsz.c: bundle encoding 1 (heatshrink blocks): the encoder
 * (cli/hsz_enc.c) against the freestanding decoder (common/ota_hsz.c), every
 * framing rule of FORMAT.md 2a refused, corruption never crashes, streaming in
 * any pieces equals one call, resuming at a block boundary, and the golden
 * vector manifests/hsz/.  The real interpreter's decompress is
 * tested by tests/hsz/test_hsz_espruino.sh.
 */
#include "../harness.h"
#include "ota_hsz.h"
#include "../../cli/hsz_enc.h"

typedef struct { uint8_t *p; size_t len, cap; } buf;

static ota_err sink(void *ctx, const uint8_t *d, size_t n)
{
    buf *b = ctx;
    if (n > OTA_HSZ_OUTBUF) return OTA_ERR_ARG;
    if (b->len + n > b->cap) return OTA_ERR_TOO_LONG;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return OTA_OK;
}

/* Round trip of in[0..n) with blocks of 2^log2; returns the encoded size. */
static size_t roundtrip(const uint8_t *in, size_t n, unsigned log2)
{
    uint8_t *enc = NULL, *dec = malloc(n);
    size_t elen = 0;
    CHECK(hsz_encode(in, n, log2, &enc, &elen) == 0);
    if (!enc) { free(dec); return 0; }
    CHECK_EQ(ota_hsz_decode(dec, n, enc, elen), OTA_OK);
    CHECK_MEM(dec, in, n);
    free(dec);
    free(enc);
    return elen;
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

static void test_text(void)
{
    static const char *files[] = { "examples/logger.js", "device/espruino/ota.js",
                                   "tests/minify/programs/22-scopes-misc.js", "README.md" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t n = 0;
        uint8_t *p = read_file(files[i], &n);
        T_CASE("round trip %s, every block size", files[i]);
        if (!CHECKF(p && n, "%s readable", files[i])) { free(p); continue; }
        for (unsigned l = OTA_HSZ_LOG2_MIN; l <= OTA_HSZ_LOG2_MAX; l++) {
            size_t e = roundtrip(p, n, l);
            CHECKF(e < n, "%s compresses (%zu -> %zu, log2 %u)", files[i], n, e, l);
        }
        free(p);
    }
}

static void test_edges(void)
{
    uint8_t b[70000];
    T_CASE("sizes around block boundaries, runs, one byte");
    for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)('a' + i % 7);
    static const size_t sizes[] = { 1, 2, 63, 64, 65, 255, 256, 257, 2047, 2048, 2049, 4096, 65536, 70000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        roundtrip(b, sizes[i], 8);
        roundtrip(b, sizes[i], 11);
        roundtrip(b, sizes[i], 15);
    }
    memset(b, 'x', sizeof b);
    roundtrip(b, sizeof b, 11);
    memset(b, 0xFF, 600);
    roundtrip(b, 600, 8);
}

static void test_random(void)
{
    T_CASE("random data and random text, random sizes and block sizes (seeded)");
    for (int r = 0; r < 200; r++) {
        size_t n = 1 + (size_t)(t_rand64() % 9000);
        uint8_t *p = malloc(n);
        if (r & 1) t_rand_bytes(p, n);
        else for (size_t i = 0; i < n; i++) p[i] = (uint8_t)"abc (){};\n=+x"[t_rand64() % 13];
        unsigned l = OTA_HSZ_LOG2_MIN + (unsigned)(t_rand64() % 8);
        size_t e = roundtrip(p, n, l);
        size_t bs = (size_t)1 << l, nb = (n + bs - 1) / bs;
        CHECK(e <= OTA_HSZ_HDR_SIZE + nb * 2 + (n * 9 + 7) / 8 + nb);
        free(p);
    }
}

/* Streaming in random pieces gives what one call gives; the sink never gets
 * more than OTA_HSZ_OUTBUF at a time. */
static void test_stream(void)
{
    size_t n = 0;
    uint8_t *p = read_file("device/espruino/ota.js", &n), *enc = NULL;
    size_t elen = 0;
    T_CASE("streaming in pieces of 1..300 bytes");
    if (!CHECK(p) || !CHECK(hsz_encode(p, n, 10, &enc, &elen) == 0)) { free(p); return; }
    for (int r = 0; r < 20; r++) {
        buf out = { malloc(n), 0, n };
        ota_hsz z;
        CHECK_EQ(ota_hsz_init(&z, (uint32_t)n), OTA_OK);
        size_t off = 0;
        ota_err e = OTA_OK;
        while (off < elen && e == OTA_OK) {
            size_t k = 1 + (size_t)(t_rand64() % (r == 0 ? 1 : 300));
            if (k > elen - off) k = elen - off;
            e = ota_hsz_feed(&z, enc + off, k, sink, &out);
            off += k;
            if (off < elen) CHECK_EQ(ota_hsz_finish(&z), e == OTA_OK ? OTA_ERR_TRUNCATED : e);
        }
        CHECK_EQ(e, OTA_OK);
        CHECK_EQ(ota_hsz_finish(&z), OTA_OK);
        CHECK_EQ(out.len, n);
        CHECK_MEM(out.p, p, n);
        CHECK_EQ(ota_hsz_block_size(&z), 1024);
        free(out.p);
    }
    T_CASE("resume at every block boundary (ota_hsz_init_at)");
    size_t at = OTA_HSZ_HDR_SIZE;
    for (uint32_t blk = 0; at < elen; blk++) {
        buf out = { malloc(n), 0, n };
        ota_hsz z;
        CHECK_EQ(ota_hsz_init_at(&z, (uint32_t)n, 10, blk), OTA_OK);
        CHECK(ota_hsz_at_frame(&z));
        CHECK_EQ(ota_hsz_installed(&z), blk * 1024);
        /* one byte at a time: at a frame exactly where a frame starts */
        size_t next = at, frames_seen = 0;
        for (size_t i = at; i < elen; i++) {
            CHECKF(ota_hsz_at_frame(&z) == (i == next), "at_frame at %zu", i);
            if (i == next) { frames_seen++; next += 2 + (enc[i] | enc[i + 1] << 8); }
            CHECK_EQ(ota_hsz_feed(&z, enc + i, 1, sink, &out), OTA_OK);
        }
        CHECK(ota_hsz_at_frame(&z));
        CHECK_EQ(ota_hsz_finish(&z), OTA_OK);
        CHECK_EQ(frames_seen, (n + 1023) / 1024 - blk);
        CHECK_EQ(out.len, n - blk * 1024);
        CHECK_MEM(out.p, p + blk * 1024, out.len);
        free(out.p);
        at += 2 + (enc[at] | enc[at + 1] << 8);
    }
    ota_hsz z;
    CHECK_EQ(ota_hsz_init_at(&z, (uint32_t)n, 10, (uint32_t)((n + 1023) / 1024)), OTA_ERR_ARG);
    CHECK_EQ(ota_hsz_init_at(&z, (uint32_t)n, 7, 0), OTA_ERR_ARG);
    CHECK_EQ(ota_hsz_init_at(&z, (uint32_t)n, 16, 0), OTA_ERR_ARG);
    CHECK_EQ(ota_hsz_init(&z, 0), OTA_ERR_ARG);
    free(enc);
    free(p);
}

static ota_err dec(const uint8_t *in, size_t len, size_t n)
{
    uint8_t out[4096];
    return ota_hsz_decode(out, n, in, len);
}

/* Every framing rule of FORMAT.md 2a, each refused. */
static void test_framing(void)
{
    /* "ab" then a back-reference dist 2 len 4: "ababab" (6 bytes), B = 256 */
    uint8_t ok[] = { 'H', 'S', 0x86, 8, 0, 0 };
    uint8_t frame[8];
    size_t fl;
    {   /* build the frame by hand: 1 'a'(8) 1 'b'(8) 0 dist-1=1 (8) len-1=3 (6) = 33 bits */
        uint64_t bits = 0; unsigned nb = 0;
#define PUT(v, n) do { bits = (bits << (n)) | (uint64_t)(v); nb += (n); } while (0)
        PUT(1, 1); PUT('a', 8); PUT(1, 1); PUT('b', 8); PUT(0, 1); PUT(1, 8); PUT(3, 6);
        fl = (nb + 7) / 8;
        bits <<= fl * 8 - nb;
        for (size_t i = 0; i < fl; i++) frame[i] = (uint8_t)(bits >> (8 * (fl - 1 - i)));
    }
    uint8_t b[64];
    size_t len;
#define MK() do { memcpy(b, ok, 6); b[4] = (uint8_t)fl; memcpy(b + 6, frame, fl); len = 6 + fl; } while (0)
    uint8_t out[16];
    T_CASE("hand-made frame decodes (literal, literal, overlapping back-reference)");
    MK();
    CHECK_EQ(ota_hsz_decode(out, 6, b, len), OTA_OK);
    CHECK_MEM(out, "ababab", 6);
    T_CASE("refused: bad magic, parameters, block size");
    MK(); b[0] = 'h'; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);
    MK(); b[1] = 'Z'; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);
    MK(); b[2] = 0x85; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);
    MK(); b[3] = 7; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);
    MK(); b[3] = 16; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);
    T_CASE("refused: frame length 0, over the maximum, short, long");
    MK(); b[4] = 0; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);
    MK(); b[4] = 8; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);          /* FRAME_MAX(6) = 7 */
    MK(); b[4] = (uint8_t)(fl - 1); CHECK_EQ(dec(b, len - 1, 6), OTA_ERR_BAD_BLOCK);
    MK(); b[4] = (uint8_t)(fl + 1); b[len] = 0; CHECK_EQ(dec(b, len + 1, 6), OTA_ERR_BAD_BLOCK);
    T_CASE("refused: truncated bundle, bytes after the last frame, wrong installed size");
    MK(); CHECK_EQ(dec(b, len - 1, 6), OTA_ERR_TRUNCATED);
    MK(); CHECK_EQ(dec(b, 3, 6), OTA_ERR_TRUNCATED);
    MK(); b[len] = 0; CHECK_EQ(dec(b, len + 1, 6), OTA_ERR_TOO_LONG);
    MK(); CHECK_EQ(dec(b, len, 5), OTA_ERR_BAD_BLOCK);    /* block ends inside the back-reference */
    MK(); CHECK_EQ(dec(b, len, 7), OTA_ERR_BAD_BLOCK);    /* frame over, block short */
    T_CASE("refused: back-reference before the block's start, non-zero padding");
    MK(); b[6 + 2] ^= 0x08; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);  /* dist 1 -> dist 3 */
    MK(); b[len - 1] |= 1; CHECK_EQ(dec(b, len, 6), OTA_ERR_BAD_BLOCK);
    T_CASE("arguments");
    CHECK_EQ(ota_hsz_decode(NULL, 6, b, len), OTA_ERR_ARG);
    CHECK_EQ(ota_hsz_decode(out, 0, b, len), OTA_ERR_ARG);
    CHECK_EQ(ota_hsz_feed(NULL, b, 1, sink, NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_hsz_finish(NULL), OTA_ERR_ARG);
}

/* Any single corrupted byte or bit: an error, output that differs (the
 * installed hash refuses it) or, where a back-reference's distance now points
 * at equal bytes, the same output (the transferred hash refuses that bundle);
 * never a crash, a write past the buffer (ASan) or a wrong length. */
static void test_corrupt(void)
{
    size_t n = 0;
    uint8_t *p = read_file("examples/logger.js", &n), *enc = NULL;
    size_t elen = 0;
    T_CASE("every bit flipped, every byte set to 0x00/0xff: refused or different output");
    if (!CHECK(p) || !CHECK(hsz_encode(p, n, 9, &enc, &elen) == 0)) { free(p); return; }
    uint8_t *out = malloc(n);
    unsigned refused = 0, differ = 0, same = 0, total = 0;
    for (size_t i = 0; i < elen; i++) {
        for (int v = 0; v < 10; v++) {
            uint8_t old = enc[i];
            enc[i] = v < 8 ? (uint8_t)(old ^ (1u << v)) : v == 8 ? 0x00 : 0xFF;
            if (enc[i] != old) {
                total++;
                ota_err e = ota_hsz_decode(out, n, enc, elen);
                if (e != OTA_OK) refused++;
                else if (memcmp(out, p, n) != 0) differ++;
                else same++;
            }
            enc[i] = old;
        }
    }
    CHECK_EQ(refused + differ + same, total);
    CHECK(refused > 0 && differ > 0);
    printf("corruption of a %zu-byte bundle: %u refused by the framing, %u decoded to other bytes, "
           "%u to the same bytes (all %u refused by the transferred hash)\n", elen, refused, differ, same, total);
    free(out);
    free(enc);
    free(p);
}

/* The golden vectors: manifests/hsz/{hello,logger}.{js,hsz} (FORMAT.md 2a:
 * hello is the worked example there, blocks of 256; logger blocks of 2048). */
static void golden(const char *name, unsigned log2)
{
    size_t n = 0, m = 0;
    char pj[128], ph[128];
    snprintf(pj, sizeof pj, "manifests/hsz/%s.js", name);
    snprintf(ph, sizeof ph, "manifests/hsz/%s.hsz", name);
    uint8_t *p = read_file(pj, &n);
    uint8_t *g = read_file(ph, &m), *enc = NULL;
    size_t elen = 0;
    T_CASE("golden vector %s: the encoder writes it byte for byte, the decoder reads it", name);
    if (!CHECK(p && g)) { free(p); free(g); return; }
    CHECK(hsz_encode(p, n, log2, &enc, &elen) == 0);
    CHECK_EQ(elen, m);
    if (enc && elen == m) CHECK_MEM(enc, g, m);
    uint8_t *out = malloc(n);
    CHECK_EQ(ota_hsz_decode(out, n, g, m), OTA_OK);
    CHECK_MEM(out, p, n);
    free(out);
    free(enc);
    free(p);
    free(g);
}

int main(void)
{
    t_suite_name = "test_hsz";
    t_seed();
    test_text();
    test_edges();
    test_random();
    test_stream();
    test_framing();
    test_corrupt();
    golden("hello", 8);
    golden("logger", OTA_HSZ_LOG2_DEFAULT);
    return t_done();
}

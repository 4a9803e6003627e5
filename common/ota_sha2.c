/*
 * ota_sha2.c: SHA-256 and SHA-512 (FIPS 180-4), freestanding.
 *
 * Written for small code rather than peak speed: one rolled round loop per
 * hash with a 16-word circular message schedule (so the stack holds 16 words,
 * not 64/80), big-endian loads/stores done byte by byte (no alignment
 * assumptions, any endianness).
 */
#include <string.h>
#include "ota_crypto.h"

/* ---- shared helpers ----------------------------------------------------- */

static uint32_t load32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}

static uint64_t load64_be(const uint8_t *p)
{
    return (uint64_t)load32_be(p) << 32 | load32_be(p + 4);
}

static void store64_be(uint8_t *p, uint64_t v)
{
    store32_be(p, (uint32_t)(v >> 32));
    store32_be(p + 4, (uint32_t)v);
}

/* Volatile-pointer wipe so the compiler cannot drop it as a dead store. */
static void wipe(void *p, size_t len)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (len--) *v++ = 0;
}

/* ---- SHA-256 ------------------------------------------------------------ */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

static uint32_t ror32(uint32_t x, unsigned n) { return x >> n | x << (32 - n); }

/* One compression of a 64-byte block into state. */
static void sha256_block(uint32_t state[8], const uint8_t *p)
{
    uint32_t w[16], s[8];
    unsigned i;

    for (i = 0; i < 16; i++) w[i] = load32_be(p + 4 * i);
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (i = 0; i < 64; i++) {
        uint32_t wi;
        if (i < 16) {
            wi = w[i];
        } else {
            /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], kept mod 16 */
            uint32_t x = w[(i + 1) & 15], y = w[(i + 14) & 15];
            uint32_t s0 = ror32(x, 7) ^ ror32(x, 18) ^ (x >> 3);
            uint32_t s1 = ror32(y, 17) ^ ror32(y, 19) ^ (y >> 10);
            wi = w[i & 15] += s0 + s1 + w[(i + 9) & 15];
        }
        uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
                      ((e & f) ^ (~e & g)) + K256[i] + wi;
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    s[0] = a; s[1] = b; s[2] = c; s[3] = d; s[4] = e; s[5] = f; s[6] = g; s[7] = h;
    for (i = 0; i < 8; i++) state[i] += s[i];
    wipe(w, sizeof w);
    wipe(s, sizeof s);
}

void ota_sha256_init(ota_sha256_ctx *ctx)
{
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    };
    memcpy(ctx->state, iv, sizeof iv);
    ctx->total = 0;
    ctx->used = 0;
    memset(ctx->block, 0, sizeof ctx->block);
}

void ota_sha256_update(ota_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->total += len;
    while (len > 0) {
        if (ctx->used == 0 && len >= 64) {
            sha256_block(ctx->state, data);
            data += 64;
            len -= 64;
            continue;
        }
        size_t n = 64 - ctx->used;
        if (n > len) n = len;
        memcpy(ctx->block + ctx->used, data, n);
        ctx->used += (uint32_t)n;
        data += n;
        len -= n;
        if (ctx->used == 64) {
            sha256_block(ctx->state, ctx->block);
            ctx->used = 0;
        }
    }
}

void ota_sha256_final(ota_sha256_ctx *ctx, uint8_t out[OTA_SHA256_SIZE])
{
    uint64_t bits = ctx->total << 3;
    unsigned i;

    ctx->block[ctx->used++] = 0x80;
    if (ctx->used > 56) {
        memset(ctx->block + ctx->used, 0, 64 - ctx->used);
        sha256_block(ctx->state, ctx->block);
        ctx->used = 0;
    }
    memset(ctx->block + ctx->used, 0, 56 - ctx->used);
    store64_be(ctx->block + 56, bits);
    sha256_block(ctx->state, ctx->block);
    for (i = 0; i < 8; i++) store32_be(out + 4 * i, ctx->state[i]);
    wipe(ctx, sizeof *ctx);
}

void ota_sha256(uint8_t out[OTA_SHA256_SIZE], const uint8_t *data, size_t len)
{
    ota_sha256_ctx ctx;
    ota_sha256_init(&ctx);
    ota_sha256_update(&ctx, data, len);
    ota_sha256_final(&ctx, out);
}

/* ---- SHA-512 ------------------------------------------------------------ */

static const uint64_t K512[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL
};

static uint64_t ror64(uint64_t x, unsigned n) { return x >> n | x << (64 - n); }

static void sha512_block(uint64_t state[8], const uint8_t *p)
{
    uint64_t w[16], s[8];
    unsigned i;

    for (i = 0; i < 16; i++) w[i] = load64_be(p + 8 * i);
    uint64_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint64_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (i = 0; i < 80; i++) {
        uint64_t wi;
        if (i < 16) {
            wi = w[i];
        } else {
            uint64_t x = w[(i + 1) & 15], y = w[(i + 14) & 15];
            uint64_t s0 = ror64(x, 1) ^ ror64(x, 8) ^ (x >> 7);
            uint64_t s1 = ror64(y, 19) ^ ror64(y, 61) ^ (y >> 6);
            wi = w[i & 15] += s0 + s1 + w[(i + 9) & 15];
        }
        uint64_t t1 = h + (ror64(e, 14) ^ ror64(e, 18) ^ ror64(e, 41)) +
                      ((e & f) ^ (~e & g)) + K512[i] + wi;
        uint64_t t2 = (ror64(a, 28) ^ ror64(a, 34) ^ ror64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    s[0] = a; s[1] = b; s[2] = c; s[3] = d; s[4] = e; s[5] = f; s[6] = g; s[7] = h;
    for (i = 0; i < 8; i++) state[i] += s[i];
    wipe(w, sizeof w);
    wipe(s, sizeof s);
}

void ota_sha512_init(ota_sha512_ctx *ctx)
{
    static const uint64_t iv[8] = {
        0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
        0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL
    };
    memcpy(ctx->state, iv, sizeof iv);
    ctx->total = 0;
    ctx->used = 0;
    memset(ctx->block, 0, sizeof ctx->block);
}

void ota_sha512_update(ota_sha512_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->total += len;
    while (len > 0) {
        if (ctx->used == 0 && len >= 128) {
            sha512_block(ctx->state, data);
            data += 128;
            len -= 128;
            continue;
        }
        size_t n = 128 - ctx->used;
        if (n > len) n = len;
        memcpy(ctx->block + ctx->used, data, n);
        ctx->used += (uint32_t)n;
        data += n;
        len -= n;
        if (ctx->used == 128) {
            sha512_block(ctx->state, ctx->block);
            ctx->used = 0;
        }
    }
}

void ota_sha512_final(ota_sha512_ctx *ctx, uint8_t out[OTA_SHA512_SIZE])
{
    unsigned i;

    ctx->block[ctx->used++] = 0x80;
    if (ctx->used > 112) {
        memset(ctx->block + ctx->used, 0, 128 - ctx->used);
        sha512_block(ctx->state, ctx->block);
        ctx->used = 0;
    }
    memset(ctx->block + ctx->used, 0, 112 - ctx->used);
    /* 128-bit big-endian bit length: high part is total >> 61. */
    store64_be(ctx->block + 112, ctx->total >> 61);
    store64_be(ctx->block + 120, ctx->total << 3);
    sha512_block(ctx->state, ctx->block);
    for (i = 0; i < 8; i++) store64_be(out + 8 * i, ctx->state[i]);
    wipe(ctx, sizeof *ctx);
}

void ota_sha512(uint8_t out[OTA_SHA512_SIZE], const uint8_t *data, size_t len)
{
    ota_sha512_ctx ctx;
    ota_sha512_init(&ctx);
    ota_sha512_update(&ctx, data, len);
    ota_sha512_final(&ctx, out);
}

/*
 * fe_check.h: checks of the GF(2^255-19) arithmetic inside ota_ed25519.c
 * against an independent, obviously-correct reference (schoolbook product,
 * bit-serial reduction mod p), on edge values where carries and borrows
 * chain (0, 1, p-1, p, p+1, 2^255-1, 2p, 2^256-1, ...) and on random values
 * built from all-zero / all-one / random limbs.
 *
 * Included after "common/ota_ed25519.c" by tests/unit/test_fe25519.c (host,
 * sanitizers) and tests/bench/m4/test_m4.c (Cortex-M4 on qemu, UMAAL path),
 * so it is freestanding: results go through the caller's check callback.
 */
#ifndef FE_CHECK_H
#define FE_CHECK_H

typedef void (*fe_check_fn)(int ok, const char *what, unsigned idx);

static const uint32_t FE_EDGE[][8] = {
    {0, 0, 0, 0, 0, 0, 0, 0},
    {1, 0, 0, 0, 0, 0, 0, 0},
    {2, 0, 0, 0, 0, 0, 0, 0},
    {19, 0, 0, 0, 0, 0, 0, 0},
    {38, 0, 0, 0, 0, 0, 0, 0},
    {0xffffffec, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff}, /* p-1 */
    {0xffffffed, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff}, /* p */
    {0xffffffee, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff}, /* p+1 */
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff}, /* 2^255-1 */
    {0, 0, 0, 0, 0, 0, 0, 0x80000000},                                                                 /* 2^255 */
    {0x12, 0, 0, 0, 0, 0, 0, 0x80000000},                                                              /* 2^255+18 */
    {0xffffffd9, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, /* 2p-1 */
    {0xffffffda, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, /* 2p */
    {0xffffffdb, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, /* 2p+1 */
    {0xffffffed, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, /* 2^256-19 */
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, /* 2^256-1 */
    {0xffffffff, 0, 0, 0, 0, 0, 0, 0},
    {0, 0, 0, 0, 0, 0, 0, 0xffffffff},
    {0, 0xffffffff, 0, 0xffffffff, 0, 0xffffffff, 0, 0xffffffff},
    {0xffffffff, 0, 0xffffffff, 0, 0xffffffff, 0, 0xffffffff, 0},
};
#define FE_NEDGE (sizeof FE_EDGE / sizeof FE_EDGE[0])

static const uint32_t FE_P[8] = {0xffffffed, 0xffffffff, 0xffffffff, 0xffffffff,
                                 0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff};

/* r (9 words) = x (16 words) mod p, one bit at a time: r = 2r + bit,
 * minus p when r >= p. */
static void ref_mod(uint32_t r[8], const uint32_t x[16])
{
    uint32_t a[9] = {0}, t[9];
    int bit, i;
    for (bit = 511; bit >= 0; bit--) {
        for (i = 8; i > 0; i--) a[i] = a[i] << 1 | a[i - 1] >> 31;
        a[0] = a[0] << 1 | ((x[bit / 32] >> (bit % 32)) & 1);
        uint64_t borrow = 0;
        for (i = 0; i < 9; i++) {
            uint64_t d = (uint64_t)a[i] - (i < 8 ? FE_P[i] : 0) - borrow;
            t[i] = (uint32_t)d;
            borrow = (d >> 32) & 1;
        }
        if (!borrow)
            for (i = 0; i < 9; i++) a[i] = t[i];
    }
    for (i = 0; i < 8; i++) r[i] = a[i];
}

static void ref_widen(uint32_t w[16], const uint32_t a[8])
{
    int i;
    for (i = 0; i < 16; i++) w[i] = i < 8 ? a[i] : 0;
}

static void ref_mul(uint32_t r[8], const uint32_t a[8], const uint32_t b[8])
{
    uint32_t w[16] = {0};
    int i, j;
    for (i = 0; i < 8; i++)
        for (j = 0; j < 8; j++) {
            /* add the 64-bit product at word i+j, carrying upward */
            uint64_t p = (uint64_t)a[i] * b[j];
            int k = i + j;
            while (p && k < 16) {
                uint64_t s = (uint64_t)w[k] + (uint32_t)p;
                w[k] = (uint32_t)s;
                p = (p >> 32) + (s >> 32);
                k++;
            }
        }
    ref_mod(r, w);
}

static void ref_add(uint32_t r[8], const uint32_t a[8], const uint32_t b[8])
{
    uint32_t w[16] = {0};
    uint64_t c = 0;
    int i;
    for (i = 0; i < 8; i++) {
        c += (uint64_t)a[i] + b[i];
        w[i] = (uint32_t)c;
        c >>= 32;
    }
    w[8] = (uint32_t)c;
    ref_mod(r, w);
}

/* a - b mod p = (a mod p) + (p - (b mod p)) mod p */
static void ref_sub(uint32_t r[8], const uint32_t a[8], const uint32_t b[8])
{
    uint32_t w[16], am[8], bm[8], nb[8];
    uint64_t borrow = 0;
    int i;
    ref_widen(w, a);
    ref_mod(am, w);
    ref_widen(w, b);
    ref_mod(bm, w);
    for (i = 0; i < 8; i++) {
        uint64_t d = (uint64_t)FE_P[i] - bm[i] - borrow;
        nb[i] = (uint32_t)d;
        borrow = (d >> 32) & 1;
    }
    ref_add(r, am, nb);
}

static int fe_same(const fe x, const uint32_t ref[8])
{
    uint8_t s[32];
    int i;
    fe_tobytes(s, x);
    for (i = 0; i < 32; i++)
        if (s[i] != (uint8_t)(ref[i / 4] >> (8 * (i % 4)))) return 0;
    return 1;
}

static uint32_t fe_rng_state = 0x12345678;
static uint32_t fe_rng(void)
{
    fe_rng_state ^= fe_rng_state << 13;
    fe_rng_state ^= fe_rng_state >> 17;
    fe_rng_state ^= fe_rng_state << 5;
    return fe_rng_state;
}

/* A value whose limbs are each 0, all ones, near all ones, or random. */
static void fe_random(fe x)
{
    int i;
    for (i = 0; i < 8; i++) {
        uint32_t k = fe_rng() % 5;
        x[i] = k == 0 ? 0 : k == 1 ? 0xffffffff : k == 2 ? 0xffffffff - fe_rng() % 64 : fe_rng();
    }
}

static void fe_check_pair(fe_check_fn check, const fe a, const fe b, unsigned idx)
{
    fe r;
    uint32_t ref[8], w[16];
    fe_add(r, a, b);  ref_add(ref, a, b);  check(fe_same(r, ref), "fe_add", idx);
    fe_sub(r, a, b);  ref_sub(ref, a, b);  check(fe_same(r, ref), "fe_sub", idx);
    fe_mul(r, a, b);  ref_mul(ref, a, b);  check(fe_same(r, ref), "fe_mul", idx);
    fe_sq(r, a);      ref_mul(ref, a, a);  check(fe_same(r, ref), "fe_sq", idx);
    ref_widen(w, a);
    ref_mod(ref, w);
    check(fe_same(a, ref), "fe_tobytes", idx);
    /* in-place forms (r aliasing an input) as the group code uses them */
    fe_copy(r, a); fe_mul(r, r, b); ref_mul(ref, a, b); check(fe_same(r, ref), "fe_mul in place", idx);
    fe_copy(r, a); fe_sub(r, r, b); ref_sub(ref, a, b); check(fe_same(r, ref), "fe_sub in place", idx);
}

/* Runs every check; nrandom random pairs on top of all edge pairs. */
static void fe_check_all(fe_check_fn check, unsigned nrandom)
{
    unsigned i, j, idx = 0;
    fe a, b, r, inv;
    uint32_t one[8] = {1, 0, 0, 0, 0, 0, 0, 0};

    for (i = 0; i < FE_NEDGE; i++)
        for (j = 0; j < FE_NEDGE; j++) fe_check_pair(check, FE_EDGE[i], FE_EDGE[j], idx++);
    for (i = 0; i < nrandom; i++) {
        fe_random(a);
        if (i & 1) fe_copy(b, FE_EDGE[fe_rng() % FE_NEDGE]); else fe_random(b);
        fe_check_pair(check, a, b, idx++);
    }
    /* a * a^-1 = 1 for non-zero a; the top bit of an encoding is ignored */
    for (i = 0; i < 8; i++) {
        fe_random(a);
        if (fe_iszero(a)) continue;
        fe_invert(inv, a);
        fe_mul(r, a, inv);
        check(fe_same(r, one), "fe_invert", i);
        uint8_t s[32];
        fe_tobytes(s, a);
        s[31] |= 0x80;
        fe_frombytes(b, s);
        fe_sub(r, a, b);
        check(fe_iszero(r), "fe_frombytes ignores bit 255", i);
    }
}

#endif

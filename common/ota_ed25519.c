/*
 * ota_ed25519.c: Ed25519 signature verification (RFC 8032) with exactly the
 * acceptance rules of libsodium 1.0.18's crypto_sign_verify_detached:
 *
 *   1. S (sig[32..63]) must be canonical: S < L.
 *   2. R (sig[0..31]) must not be one of the 7 small-order encodings that
 *      libsodium blacklists (compared with the top bit of byte 31 ignored).
 *   3. A (pub) must be canonical: its y (top bit ignored) must be < p.
 *   4. A must not be on that small-order blacklist either.
 *   5. A must decompress to a curve point (the sign bit of x = 0 is ignored).
 *   6. With h = SHA-512(R || A || M) mod L, the canonical encoding of
 *      R' = [S]B - [h]A must equal the 32 bytes of R.  No cofactor.
 *
 * Everything here handles public data only (signatures, keys, messages), so
 * the arithmetic is variable time where that is faster or smaller.
 *
 * Field GF(2^255-19): eight 32-bit limbs, little-endian, values kept below
 * 2^256 but not necessarily below p ("loosely reduced"); products use 32x32
 * -> 64-bit multiply-accumulate (UMAAL/UMLAL on Cortex-M4) and fold the top
 * half with 2^256 = 38 (mod p).
 *
 * Group: twisted Edwards -x^2 + y^2 = 1 + d x^2 y^2 in extended coordinates
 * (X:Y:Z:T), x = X/Z, y = Y/Z, T = XY/Z (Hisil-Wong-Carter-Dawson 2008).
 * The double-scalar product uses signed sliding windows (width-w NAF) for
 * both scalars: odd multiples of B come from a const table in flash, odd
 * multiples of A are computed on the stack.
 */
#include <string.h>
#include "ota_crypto.h"

typedef uint32_t fe[8];

/* Affine point in the form additions want: (y-x, y+x, 2dxy). */
typedef struct { fe ymx, ypx, xy2d; } ge_niels;
/* Extended point. */
typedef struct { fe X, Y, Z, T; } ge_p3;
/* Result of a doubling or an addition before the final products:
 * x = X/Z, y = Y/T (so X*T, Y*Z, Z*T, X*Y are the extended coordinates). */
typedef struct { fe X, Y, Z, T; } ge_p1p1;
/* Projective point prepared for addition: (Y-X, Y+X, Z, 2dT). */
typedef struct { fe ymx, ypx, Z, T2d; } ge_cached;

#include "ota_ed25519_consts.h"

/* Keeps a function's locals out of its caller's frame (worst-case stack). */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Width of the signed windows for [h]A: the stack table holds 2^(W-2)
 * cached points of 128 bytes each. */
#define A_WINDOW 4
#define A_TABLE (1 << (A_WINDOW - 2))
#define B_TABLE (1 << (OTA_ED25519_BASE_WINDOW - 2))

/* ---- field arithmetic --------------------------------------------------- */

static void fe_copy(fe r, const fe a) { memcpy(r, a, sizeof(fe)); }

static void fe_set(fe r, uint32_t v)
{
    memset(r, 0, sizeof(fe));
    r[0] = v;
}

/* r += 38*c (mod p) for a carry c out of bit 256; at most one more carry
 * can come out, and only when the result is tiny, so the last fold is safe. */
static void fe_fold(fe r, uint64_t c)
{
    unsigned i;
    c *= 38;
    for (i = 0; i < 8 && c; i++) {
        c += r[i];
        r[i] = (uint32_t)c;
        c >>= 32;
    }
    r[0] += (uint32_t)c * 38;
}

#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif

static void fe_add(fe r, const fe a, const fe b)
{
    uint64_t c = 0;
    unsigned i;
    UNROLL
    for (i = 0; i < 8; i++) {
        c += (uint64_t)a[i] + b[i];
        r[i] = (uint32_t)c;
        c >>= 32;
    }
    fe_fold(r, c);
}

/* r = a - b: a borrow out of bit 256 means 2^256 too much was added, and
 * 2^256 = 38, so subtract 38 (once more in the rare case that borrows too). */
static void fe_sub(fe r, const fe a, const fe b)
{
    uint32_t borrow = 0, m;
    unsigned i;
    UNROLL
    for (i = 0; i < 8; i++) {
        uint64_t c = (uint64_t)a[i] - b[i] - borrow;
        r[i] = (uint32_t)c;
        borrow = (uint32_t)(c >> 63);
    }
    m = 38 * borrow;
    for (i = 0; i < 8 && m; i++) {
        uint64_t c = (uint64_t)r[i] - m;
        r[i] = (uint32_t)c;
        m = (uint32_t)(c >> 63);
    }
    r[0] -= 38 * m;
}

/* (*hi:*lo) = a*b + *lo + *hi, which cannot overflow 64 bits: one UMAAL on
 * Cortex-M4 (and other cores with the DSP extension). */
static inline void mac(uint32_t *lo, uint32_t *hi, uint32_t a, uint32_t b)
{
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
    __asm__("umaal %0, %1, %2, %3" : "+r"(*lo), "+r"(*hi) : "r"(a), "r"(b));
#else
    uint64_t r = (uint64_t)a * b + *lo + *hi;
    *lo = (uint32_t)r;
    *hi = (uint32_t)(r >> 32);
#endif
}

/* r = t mod p (loosely) for a 512-bit t: fold the high half times 38. */
static void fe_reduce_wide(fe r, uint32_t t[16])
{
    uint32_t c = 0;
    unsigned i;
    UNROLL
    for (i = 0; i < 8; i++) {
        mac(&t[i], &c, t[i + 8], 38);
        r[i] = t[i];
    }
    fe_fold(r, c);
}

static void fe_mul(fe r, const fe a, const fe b)
{
    uint32_t t[16], c;
    unsigned i, j;

    /* Row by row: t += a[i] * b << 32i, the carry riding in c.  Row 0
     * starts from nothing, so t needs no clearing. */
    c = 0;
    UNROLL
    for (j = 0; j < 8; j++) {
        t[j] = 0;
        mac(&t[j], &c, a[0], b[j]);
    }
    t[8] = c;
    UNROLL
    for (i = 1; i < 8; i++) {
        uint32_t ai = a[i];
        c = 0;
        UNROLL
        for (j = 0; j < 8; j++) mac(&t[i + j], &c, ai, b[j]);
        t[i + 8] = c;
    }
    fe_reduce_wide(r, t);
}

static void fe_sq(fe r, const fe a)
{
    uint32_t t[16], c, lo, hi;
    unsigned i, j;

    /* Off-diagonal products a[i]a[j], i < j, once each (row 0 starts from
     * nothing; each later row only reads words the row before wrote) ... */
    c = 0;
    UNROLL
    for (j = 1; j < 8; j++) {
        t[j] = 0;
        mac(&t[j], &c, a[0], a[j]);
    }
    t[8] = c;
    UNROLL
    for (i = 1; i < 7; i++) {
        uint32_t ai = a[i];
        c = 0;
        UNROLL
        for (j = i + 1; j < 8; j++) mac(&t[i + j], &c, ai, a[j]);
        t[i + 8] = c;
    }
    t[0] = 0;
    t[15] = 0;
    /* ... doubled, plus the squares on the diagonal, word pair by word
     * pair: prev is the undoubled word below (its top bit shifts in), c
     * the carry of the addition. */
    uint32_t prev = 0;
    c = 0;
    UNROLL
    for (i = 0; i < 8; i++) {
        uint32_t w0 = t[2 * i], w1 = t[2 * i + 1];
        lo = w0 << 1 | prev >> 31;
        hi = c;
        mac(&lo, &hi, a[i], a[i]);             /* a[i]^2 + 2*w0 + c */
        t[2 * i] = lo;
        uint64_t s = (uint64_t)(w1 << 1 | w0 >> 31) + hi;
        t[2 * i + 1] = (uint32_t)s;
        c = (uint32_t)(s >> 32);
        prev = w1;
    }
    fe_reduce_wide(r, t);
}

/* r = a^(2^n) */
static void fe_sqn(fe r, const fe a, unsigned n)
{
    fe_sq(r, a);
    while (--n) fe_sq(r, r);
}

/* Canonical little-endian bytes of a (fully reduced mod p). */
static void fe_tobytes(uint8_t s[32], const fe a)
{
    uint32_t t[8];
    uint64_t c;
    unsigned i, k;

    memcpy(t, a, sizeof t);
    /* Twice: clear bit 255 and add 19 for it (2^255 = 19).  Afterwards t < 2^255. */
    for (k = 0; k < 2; k++) {
        c = (uint64_t)(t[7] >> 31) * 19;
        t[7] &= 0x7fffffff;
        for (i = 0; i < 8; i++) {
            c += t[i];
            t[i] = (uint32_t)c;
            c >>= 32;
        }
    }
    /* t < 2^255 may still be >= p: t + 19 reaches bit 255 exactly then. */
    uint32_t u[8];
    c = 19;
    for (i = 0; i < 8; i++) {
        c += t[i];
        u[i] = (uint32_t)c;
        c >>= 32;
    }
    if (u[7] >> 31) {
        u[7] &= 0x7fffffff;
        memcpy(t, u, sizeof t);
    }
    for (i = 0; i < 32; i++) s[i] = (uint8_t)(t[i >> 2] >> (8 * (i & 3)));
}

/* Load 255 bits; the top bit of s[31] is ignored (as libsodium does). */
static void fe_frombytes(fe r, const uint8_t s[32])
{
    unsigned i;
    for (i = 0; i < 8; i++)
        r[i] = (uint32_t)s[4 * i] | (uint32_t)s[4 * i + 1] << 8 |
               (uint32_t)s[4 * i + 2] << 16 | (uint32_t)s[4 * i + 3] << 24;
    r[7] &= 0x7fffffff;
}

static int fe_iszero(const fe a)
{
    uint8_t s[32];
    uint8_t d = 0;
    unsigned i;
    fe_tobytes(s, a);
    for (i = 0; i < 32; i++) d |= s[i];
    return d == 0;
}

static int fe_isodd(const fe a)
{
    uint8_t s[32];
    fe_tobytes(s, a);
    return s[0] & 1;
}

/* Shared start of the two exponentiations: returns z^(2^250-1) in r and
 * z^11 in z11 (the usual 2^k-1 addition chain). */
static void fe_pow_2_250_1(fe r, fe z11, const fe z)
{
    fe t0, t1, t2;

    fe_sq(t0, z);                 /* z^2 */
    fe_sqn(t1, t0, 2);            /* z^8 */
    fe_mul(t1, t1, z);            /* z^9 */
    fe_mul(z11, t1, t0);          /* z^11 */
    fe_sq(t0, z11);               /* z^22 */
    fe_mul(t0, t0, t1);           /* z^31 = z^(2^5-1) */
    fe_sqn(t1, t0, 5);
    fe_mul(t0, t1, t0);           /* 2^10-1 */
    fe_sqn(t1, t0, 10);
    fe_mul(t1, t1, t0);           /* 2^20-1 */
    fe_sqn(t2, t1, 20);
    fe_mul(t1, t2, t1);           /* 2^40-1 */
    fe_sqn(t1, t1, 10);
    fe_mul(t0, t1, t0);           /* 2^50-1 */
    fe_sqn(t1, t0, 50);
    fe_mul(t1, t1, t0);           /* 2^100-1 */
    fe_sqn(t2, t1, 100);
    fe_mul(t1, t2, t1);           /* 2^200-1 */
    fe_sqn(t1, t1, 50);
    fe_mul(r, t1, t0);            /* 2^250-1 */
}

/* r = 1/z = z^(p-2) = z^(2^255-21) */
static void fe_invert(fe r, const fe z)
{
    fe t, z11;
    fe_pow_2_250_1(t, z11, z);
    fe_sqn(t, t, 5);
    fe_mul(r, t, z11);
}

/* r = z^((p-5)/8) = z^(2^252-3) */
static void fe_pow22523(fe r, const fe z)
{
    fe t, z11;
    fe_pow_2_250_1(t, z11, z);
    fe_sqn(t, t, 2);
    fe_mul(r, t, z);
}

/* ---- group arithmetic --------------------------------------------------- */

static void p1p1_to_p2(ge_p3 *r, const ge_p1p1 *p)
{
    fe_mul(r->X, p->X, p->T);
    fe_mul(r->Y, p->Y, p->Z);
    fe_mul(r->Z, p->Z, p->T);
}

static void p1p1_to_p3(ge_p3 *r, const ge_p1p1 *p)
{
    p1p1_to_p2(r, p);
    fe_mul(r->T, p->X, p->Y);
}

static void p3_to_cached(ge_cached *r, const ge_p3 *p)
{
    fe_sub(r->ymx, p->Y, p->X);
    fe_add(r->ypx, p->Y, p->X);
    fe_copy(r->Z, p->Z);
    fe_mul(r->T2d, p->T, FE_D2);
}

/* r = 2p, reading X, Y, Z only:
 * x' = 2xy / (y^2 - x^2), y' = (y^2 + x^2) / (2 - y^2 + x^2). */
static void ge_dbl(ge_p1p1 *r, const ge_p3 *p)
{
    fe t;
    fe_sq(r->X, p->X);            /* XX */
    fe_sq(r->Z, p->Y);            /* YY */
    fe_sq(r->T, p->Z);
    fe_add(r->T, r->T, r->T);     /* 2ZZ */
    fe_add(t, p->X, p->Y);
    fe_sq(t, t);                  /* (X+Y)^2 */
    fe_add(r->Y, r->Z, r->X);     /* YY + XX */
    fe_sub(r->Z, r->Z, r->X);     /* YY - XX */
    fe_sub(r->X, t, r->Y);        /* 2XY */
    fe_sub(r->T, r->T, r->Z);     /* 2ZZ - (YY - XX) */
}

/* r = p + q (neg = 0) or p - q (neg = 1), q given by (Y-X, Y+X, Z or 1, 2dT).
 * With a = (Y1-X1)(Y2-X2), b = (Y1+X1)(Y2+X2), c = T1*2dT2, e = 2Z1Z2:
 * x3 = (b-a)/(e+c), y3 = (b+a)/(e-c).  Subtracting swaps Y-X and Y+X of q
 * (that negates x) and the sign of c. */
static void ge_add_core(ge_p1p1 *r, const ge_p3 *p, const fe q_ymx, const fe q_ypx,
                        const fe q_z, const fe q_t2d, int neg)
{
    fe a, e;
    fe_sub(a, p->Y, p->X);
    fe_mul(a, a, neg ? q_ypx : q_ymx);
    fe_add(e, p->Y, p->X);
    fe_mul(r->Y, e, neg ? q_ymx : q_ypx);    /* b */
    fe_mul(r->T, p->T, q_t2d);               /* c */
    if (q_z) {
        fe_mul(e, p->Z, q_z);
        fe_add(e, e, e);
    } else {
        fe_add(e, p->Z, p->Z);               /* affine q: Z2 = 1 */
    }
    fe_sub(r->X, r->Y, a);                   /* b - a */
    fe_add(r->Y, r->Y, a);                   /* b + a */
    if (neg) {
        fe_sub(r->Z, e, r->T);
        fe_add(r->T, e, r->T);
    } else {
        fe_add(r->Z, e, r->T);
        fe_sub(r->T, e, r->T);
    }
}

/* Decode a point (libsodium 1.0.18 ge25519_frombytes semantics).
 * Returns 0, or -1 when y does not belong to a curve point. */
static NOINLINE int ge_frombytes(ge_p3 *h, const uint8_t s[32])
{
    fe u, v, v3, vxx, t;
    uint8_t b1[32], b2[32];

    fe_frombytes(h->Y, s);
    fe_set(h->Z, 1);
    fe_sq(u, h->Y);
    fe_mul(v, u, FE_D);
    fe_sub(u, u, h->Z);                    /* u = y^2 - 1 */
    fe_add(v, v, h->Z);                    /* v = d y^2 + 1 */
    fe_sq(v3, v);
    fe_mul(v3, v3, v);                     /* v^3 */
    fe_sq(h->X, v3);
    fe_mul(h->X, h->X, v);
    fe_mul(h->X, h->X, u);                 /* u v^7 */
    fe_pow22523(h->X, h->X);               /* (u v^7)^((p-5)/8) */
    fe_mul(h->X, h->X, v3);
    fe_mul(h->X, h->X, u);                 /* x = u v^3 (u v^7)^((p-5)/8) */
    fe_sq(vxx, h->X);
    fe_mul(vxx, vxx, v);                   /* v x^2 */
    fe_tobytes(b1, vxx);
    fe_tobytes(b2, u);
    if (memcmp(b1, b2, 32) != 0) {         /* v x^2 != u ... */
        fe_add(t, vxx, u);
        if (!fe_iszero(t)) return -1;      /* ... and != -u: no square root */
        fe_mul(h->X, h->X, FE_SQRTM1);
    }
    if (fe_isodd(h->X) != (s[31] >> 7)) {  /* x = 0 with sign 1 stays 0 */
        fe_set(t, 0);
        fe_sub(h->X, t, h->X);
    }
    fe_mul(h->T, h->X, h->Y);
    return 0;
}

/* Canonical encoding of a projective point (only X, Y, Z are read). */
static NOINLINE void ge_tobytes(uint8_t s[32], const ge_p3 *p)
{
    fe zi, x, y;
    fe_invert(zi, p->Z);
    fe_mul(x, p->X, zi);
    fe_mul(y, p->Y, zi);
    fe_tobytes(s, y);
    s[31] |= (uint8_t)(fe_isodd(x) << 7);
}

/* ---- scalars mod L = 2^252 + 27742317777372353535851937790883648493 ---- */

static const uint32_t SC_L[8] = {
    0x5cf5d3ed, 0x5812631a, 0xa2f79cd6, 0x14def9de, 0, 0, 0, 0x10000000
};

/* 1 when the 32-byte little-endian s is below L. */
static int sc_is_canonical(const uint8_t s[32])
{
    int i;
    for (i = 31; i >= 0; i--) {
        uint8_t l = (uint8_t)(SC_L[i >> 2] >> (8 * (i & 3)));
        if (s[i] != l) return s[i] < l;
    }
    return 0;   /* s == L */
}

/* out = in mod L for a 64-byte little-endian in, a byte at a time:
 * r = 256 r + next byte, then subtract q L with q = floor(r / 2^252).  As
 * L > 2^252, q is the true quotient or one more (r/2^252 - r/L < 1 for
 * r < 2^261), so at most one L is added back.  r stays below 2^261. */
static NOINLINE void sc_reduce(uint8_t out[32], const uint8_t in[64])   /* out may be in */
{
    uint32_t r[9];
    unsigned i;
    int k;

    memset(r, 0, sizeof r);
    for (i = 0; i < 31; i++) r[i >> 2] |= (uint32_t)in[33 + i] << (8 * (i & 3));  /* < 2^248 */
    for (k = 32; k >= 0; k--) {
        for (i = 8; i > 0; i--) r[i] = r[i] << 8 | r[i - 1] >> 24;
        r[0] = r[0] << 8 | in[k];
        uint32_t q = r[7] >> 28 | r[8] << 4, carry = 0, borrow = 0;
        for (i = 0; i < 9; i++) {
            uint64_t p = (uint64_t)q * (i < 8 ? SC_L[i] : 0) + carry;
            carry = (uint32_t)(p >> 32);
            uint64_t d = (uint64_t)r[i] - (uint32_t)p - borrow;
            r[i] = (uint32_t)d;
            borrow = (uint32_t)(d >> 63);
        }
        if (borrow) {                      /* went below zero: add L back */
            uint64_t c = 0;
            for (i = 0; i < 9; i++) {
                c += (uint64_t)r[i] + (i < 8 ? SC_L[i] : 0);
                r[i] = (uint32_t)c;
                c >>= 32;
            }
        }
    }
    for (i = 0; i < 32; i++) out[i] = (uint8_t)(r[i >> 2] >> (8 * (i & 3)));
}

/* One non-zero digit of a width-w NAF: digit d (odd, |d| < 2^(w-1)) at bit pos. */
typedef struct { uint8_t pos; int8_t d; } naf_digit;

/* Non-zero digits of a width-w NAF of a 32-byte scalar below 2^253, lowest
 * first: sum d 2^pos = s, and two digits are at least w positions apart.
 * The NAF is at most 254 digits long, so there are at most 253/w + 1 of
 * them: storing only those takes far less stack than 256 signed bytes. */
#define NAF_MAX(w) (253 / (w) + 1)
static unsigned sc_naf(naf_digit *out, unsigned cap, const uint8_t s[32], unsigned w)
{
    unsigned i = 0, carry = 0, n = 0;

    while (i < 256 && n < cap) {
        unsigned bit = (s[i >> 3] >> (i & 7)) & 1;
        if (bit == carry) {                /* even: digit 0, carry unchanged */
            i++;
            continue;
        }
        /* Window of w bits from i, plus the incoming carry. */
        uint32_t win = s[i >> 3];
        if ((i >> 3) + 1 < 32) win |= (uint32_t)s[(i >> 3) + 1] << 8;
        win = ((win >> (i & 7)) & ((1u << w) - 1)) + carry;
        out[n].pos = (uint8_t)i;
        if (win & (1u << (w - 1))) {       /* top half: negative digit, carry out */
            out[n].d = (int8_t)((int)win - (1 << w));
            carry = 1;
        } else {
            out[n].d = (int8_t)win;
            carry = 0;
        }
        n++;
        i += w;
    }
    return n;
}

/* ---- small-order and canonicity checks on encodings ---------------------- */

/* The y of the two order-8 points with x > 0 and x < 0... as libsodium 1.0.18
 * lists them (y8 and p - y8); with top bit ignored they cover both signs. */
static const uint8_t ORDER8_Y[2][32] = {
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
     0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
     0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}
};

/* 1 when bytes 1..30 all equal v and byte 31 without its top bit equals v & 0x7f. */
static int middle_is(const uint8_t s[32], uint8_t v)
{
    unsigned i;
    for (i = 1; i < 31; i++)
        if (s[i] != v) return 0;
    return (s[31] & 0x7f) == (v & 0x7f);
}

/* libsodium 1.0.18 ge25519_has_small_order: the encoding (top bit ignored)
 * is one of y = 0, 1, p-1, p, p+1, y8, p-y8. */
static int has_small_order(const uint8_t s[32])
{
    unsigned k, i;
    if (middle_is(s, 0x00) && s[0] <= 1) return 1;
    if (middle_is(s, 0xff) && s[0] >= 0xec && s[0] <= 0xee) return 1;
    for (k = 0; k < 2; k++) {
        for (i = 0; i < 31 && s[i] == ORDER8_Y[k][i]; i++) {}
        if (i == 31 && (s[31] & 0x7f) == ORDER8_Y[k][31]) return 1;
    }
    return 0;
}

/* libsodium 1.0.18 ge25519_is_canonical: y (top bit ignored) < p. */
static int is_canonical(const uint8_t s[32])
{
    return !(middle_is(s, 0xff) && s[0] >= 0xed);
}

/* ---- verification --------------------------------------------------------- */

/* P = [s]B - [h]P.  On entry P holds A; on return only X, Y, Z are valid.
 * The big locals live in this frame only: the digit lists, the table of odd
 * multiples of A and one intermediate point. */
static NOINLINE void double_scalarmult(ge_p3 *P, const uint8_t h[32], const uint8_t s[32])
{
    naf_digit nh[NAF_MAX(A_WINDOW)], ns[NAF_MAX(OTA_ED25519_BASE_WINDOW)];
    ge_cached Ai[A_TABLE];
    ge_p1p1 t;
    int ih, is, i;

    ih = (int)sc_naf(nh, NAF_MAX(A_WINDOW), h, A_WINDOW) - 1;
    is = (int)sc_naf(ns, NAF_MAX(OTA_ED25519_BASE_WINDOW), s, OTA_ED25519_BASE_WINDOW) - 1;

    /* Ai[k] = (2k+1)A.  The last slot holds 2A until it is overwritten by
     * the last odd multiple; P walks 2A, 3A, 5A, ... */
    p3_to_cached(&Ai[0], P);
    ge_dbl(&t, P);
    p1p1_to_p3(P, &t);
    p3_to_cached(&Ai[A_TABLE - 1], P);
    ge_add_core(&t, P, Ai[0].ymx, Ai[0].ypx, Ai[0].Z, Ai[0].T2d, 0);
    for (i = 1; i < A_TABLE; i++) {
        if (i > 1) {
            const ge_cached *a2 = &Ai[A_TABLE - 1];
            ge_add_core(&t, P, a2->ymx, a2->ypx, a2->Z, a2->T2d, 0);
        }
        p1p1_to_p3(P, &t);
        p3_to_cached(&Ai[i], P);
    }

    i = -1;
    if (ih >= 0) i = nh[ih].pos;
    if (is >= 0 && ns[is].pos > i) i = ns[is].pos;
    fe_set(P->X, 0);
    fe_set(P->Y, 1);
    fe_set(P->Z, 1);
    fe_set(P->T, 0);
    for (; i >= 0; i--) {
        ge_dbl(&t, P);
        if (ih >= 0 && nh[ih].pos == i) {
            /* -[h]A: a positive digit subtracts, a negative one adds. */
            int d = nh[ih--].d;
            const ge_cached *q = &Ai[(d > 0 ? d : -d) >> 1];
            p1p1_to_p3(P, &t);
            ge_add_core(&t, P, q->ymx, q->ypx, q->Z, q->T2d, d > 0);
        }
        if (is >= 0 && ns[is].pos == i) {
            int d = ns[is--].d;
            const ge_niels *q = &BASE_ODD[(d > 0 ? d : -d) >> 1];
            p1p1_to_p3(P, &t);
            ge_add_core(&t, P, q->ymx, q->ypx, 0, q->xy2d, d < 0);
        }
        p1p1_to_p2(P, &t);
    }
}

/* Steps 5 and 6 of the header comment, for a checked sig/pub and the
 * digest H(R || A || M).  The digest buffer is reused as scratch (h, then
 * the encoding of R'), which keeps 64 bytes off the deepest stack path. */
static ota_err verify_core(const uint8_t sig[64], const uint8_t pub[32], uint8_t digest[64])
{
    ge_p3 P;

    if (ge_frombytes(&P, pub) != 0) return OTA_ERR_BAD_KEY;
    sc_reduce(digest, digest);             /* reads all 64 bytes before writing */
    double_scalarmult(&P, digest, sig + 32);
    ge_tobytes(digest, &P);
    if (ota_ct_memcmp(digest, sig, 32) != 0) return OTA_ERR_BAD_SIGNATURE;
    return OTA_OK;
}

/* Steps 1 to 4: checks on the encodings alone. */
static ota_err verify_encodings(const uint8_t sig[64], const uint8_t pub[32])
{
    if (!sc_is_canonical(sig + 32) || has_small_order(sig)) return OTA_ERR_BAD_SIGNATURE;
    if (!is_canonical(pub) || has_small_order(pub)) return OTA_ERR_BAD_KEY;
    return OTA_OK;
}

void ota_ed25519_verify_init(ota_ed25519_verify_ctx *ctx,
                             const uint8_t sig[OTA_ED25519_SIG_SIZE],
                             const uint8_t pub[OTA_ED25519_PUB_SIZE])
{
    memcpy(ctx->sig, sig, OTA_ED25519_SIG_SIZE);
    memcpy(ctx->pub, pub, OTA_ED25519_PUB_SIZE);
    ctx->err = verify_encodings(sig, pub);
    ota_sha512_init(&ctx->hash);
    ota_sha512_update(&ctx->hash, sig, 32);
    ota_sha512_update(&ctx->hash, pub, 32);
}

void ota_ed25519_verify_update(ota_ed25519_verify_ctx *ctx, const uint8_t *msg, size_t len)
{
    if (ctx->err == OTA_OK) ota_sha512_update(&ctx->hash, msg, len);
}

ota_err ota_ed25519_verify_final(ota_ed25519_verify_ctx *ctx)
{
    uint8_t digest[64];
    ota_err err = ctx->err;

    ota_sha512_final(&ctx->hash, digest);
    if (err == OTA_OK) err = verify_core(ctx->sig, ctx->pub, digest);
    memset(digest, 0, sizeof digest);
    memset(ctx, 0, sizeof *ctx);
    ctx->err = OTA_ERR_STATE;            /* a finished context verifies nothing */
    return err;
}

/* H(R || A || M) in its own frame, so the hash context is off the stack
 * before the point arithmetic starts. */
static NOINLINE void hram(uint8_t digest[64], const uint8_t sig[64],
                                           const uint8_t pub[32], const uint8_t *msg, size_t len)
{
    ota_sha512_ctx hs;
    ota_sha512_init(&hs);
    ota_sha512_update(&hs, sig, 32);
    ota_sha512_update(&hs, pub, 32);
    ota_sha512_update(&hs, msg, len);
    ota_sha512_final(&hs, digest);
}

ota_err ota_ed25519_verify(const uint8_t sig[OTA_ED25519_SIG_SIZE],
                           const uint8_t pub[OTA_ED25519_PUB_SIZE],
                           const uint8_t *msg, size_t len)
{
    uint8_t digest[64];
    ota_err err = verify_encodings(sig, pub);

    if (err != OTA_OK) return err;
    hram(digest, sig, pub, msg, len);
    return verify_core(sig, pub, digest);
}

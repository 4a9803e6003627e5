/*
 * test_ed25519.c: ota_ed25519_verify against RFC 8032, Wycheproof and
 * libsodium 1.0.18 (crypto_sign_verify_detached), the reference whose
 * verdicts we promise to match exactly.
 *
 *   test_ed25519 [DATA_DIR]     (default: $OTA_ROOT/tests/data or tests/data)
 *
 * Inputs are copied to the end of exact-size heap buffers, so under ASan an
 * over-read of signature, key or message is caught.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <cJSON.h>
#include "ota_crypto.h"
#include "../harness.h"
#include "seeded_sodium.h"

static char data_dir[4096];

/* ---- helpers -------------------------------------------------------------- */

static int unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex), i;
    if (n % 2 || n / 2 > cap) return -1;
    for (i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

/* A heap copy of len bytes with nothing readable after it. */
static uint8_t *tight(const uint8_t *p, size_t len)
{
    uint8_t *q = malloc(len ? len : 1);
    if (!q) abort();
    if (len) memcpy(q, p, len);
    return q;
}

/* Our verdict on copies placed at the end of exact-size buffers. */
static ota_err ours(const uint8_t *sig, const uint8_t *pub, const uint8_t *msg, size_t len)
{
    uint8_t *s = tight(sig, 64), *p = tight(pub, 32), *m = tight(msg, len);
    ota_err e = ota_ed25519_verify(s, p, len ? m : NULL, len);
    free(s); free(p); free(m);
    return e;
}

static int sodium_ok(const uint8_t *sig, const uint8_t *pub, const uint8_t *msg, size_t len)
{
    return crypto_sign_verify_detached(sig, msg, len, pub) == 0;
}

/* Deterministic random bytes: the runs are reproducible. */
static uint8_t rng_seed[randombytes_SEEDBYTES];
static uint64_t rng_ctr;
static void rnd(void *out, size_t len)
{
    uint8_t seed[randombytes_SEEDBYTES];
    memcpy(seed, rng_seed, sizeof seed);
    memcpy(seed, &rng_ctr, sizeof rng_ctr);
    rng_ctr++;
    randombytes_buf_deterministic(out, len, seed);
}
static uint32_t rnd32(void) { uint32_t v; rnd(&v, sizeof v); return v; }

/* ---- RFC 8032 section 7.1 --------------------------------------------------- */

static void test_rfc8032(void)
{
    char path[4200], line[8192], name[64], sk[80], pk[80], msg[4096], sig[160];
    uint8_t seed[32], pub[32], s[64], m[2048], kp_pk[32], kp_sk[64], mysig[64];
    int count = 0;
    snprintf(path, sizeof path, "%s/rfc8032-ed25519.txt", data_dir);
    FILE *f = fopen(path, "r");
    if (!CHECKF(f != NULL, "open %s", path)) return;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        if (sscanf(line, "%63s %79s %79s %4095s %159s", name, sk, pk, msg, sig) != 5) continue;
        int ml = strcmp(msg, "-") == 0 ? 0 : unhex(m, sizeof m, msg);
        CHECK(unhex(seed, 32, sk) == 32 && unhex(pub, 32, pk) == 32 && unhex(s, 64, sig) == 64 && ml >= 0);
        /* The vector is self-consistent under libsodium ... */
        crypto_sign_seed_keypair(kp_pk, kp_sk, seed);
        CHECKF(memcmp(kp_pk, pub, 32) == 0, "%s: public key", name);
        crypto_sign_detached(mysig, NULL, m, (unsigned long long)ml, kp_sk);
        CHECKF(memcmp(mysig, s, 64) == 0, "%s: signature", name);
        /* ... and verifies here, also streamed byte by byte. */
        CHECKF(ours(s, pub, m, (size_t)ml) == OTA_OK, "%s: verify", name);
        ota_ed25519_verify_ctx ctx;
        ota_ed25519_verify_init(&ctx, s, pub);
        for (int i = 0; i < ml; i++) ota_ed25519_verify_update(&ctx, m + i, 1);
        CHECKF(ota_ed25519_verify_final(&ctx) == OTA_OK, "%s: streamed", name);
        /* A changed message or signature fails. */
        if (ml > 0) {
            m[0] ^= 1;
            CHECKF(ours(s, pub, m, (size_t)ml) == OTA_ERR_BAD_SIGNATURE, "%s: flipped msg", name);
            m[0] ^= 1;
        }
        s[5] ^= 0x10;
        CHECKF(ours(s, pub, m, (size_t)ml) != OTA_OK, "%s: flipped R", name);
        count++;
    }
    fclose(f);
    CHECK_EQ(count, 5);
}

/* ---- Wycheproof -------------------------------------------------------------- */

static void test_wycheproof(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/wycheproof/wycheproof-ed25519.json", data_dir);
    FILE *f = fopen(path, "rb");
    if (!CHECKF(f != NULL, "open %s", path)) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    CHECK(fread(text, 1, (size_t)n, f) == (size_t)n);
    text[n] = 0;
    fclose(f);
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!CHECK(root != NULL)) return;

    int cases = 0, valid = 0;
    cJSON *groups = cJSON_GetObjectItem(root, "testGroups"), *g;
    cJSON_ArrayForEach(g, groups) {
        uint8_t pub[32];
        const char *pkhex = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(g, "publicKey"), "pk"));
        if (!CHECK(pkhex && unhex(pub, 32, pkhex) == 32)) continue;
        cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(g, "tests")) {
            int id = cJSON_GetObjectItem(t, "tcId")->valueint;
            const char *mh = cJSON_GetStringValue(cJSON_GetObjectItem(t, "msg"));
            const char *sh = cJSON_GetStringValue(cJSON_GetObjectItem(t, "sig"));
            const char *res = cJSON_GetStringValue(cJSON_GetObjectItem(t, "result"));
            size_t mlen = strlen(mh) / 2;
            uint8_t *m = malloc(mlen + 1), sig[128];
            int ml = unhex(m, mlen, mh);
            int sl = unhex(sig, sizeof sig, sh);
            int want = strcmp(res, "valid") == 0;
            int got = 0, sod = 0;
            CHECK(ml >= 0);
            if (sl == 64) {          /* a signature of another length is invalid by size */
                got = ours(sig, pub, m, (size_t)ml) == OTA_OK;
                sod = sodium_ok(sig, pub, m, (size_t)ml);
            }
            CHECKF(got == want, "wycheproof tcId %d: ours %d, expected %d", id, got, want);
            CHECKF(sod == want, "wycheproof tcId %d: libsodium %d, expected %d", id, sod, want);
            cases++;
            valid += want;
            free(m);
        }
    }
    cJSON_Delete(root);
    CHECK_EQ(cases, 151);
    printf("wycheproof: %d cases (%d valid) match\n", cases, valid);
}

/* ---- libsodium's blacklist, canonicity and S range, one by one --------------- */

static const char *const small_order[7] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void test_edges(void)
{
    uint8_t pk[32], sk[64], sig[64], msg[32] = "edge cases for ed25519 verify";
    uint8_t bad[32], s2[64];
    int i, top;

    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    CHECK(ours(sig, pk, msg, sizeof msg) == OTA_OK);

    for (i = 0; i < 7; i++) {
        for (top = 0; top < 2; top++) {
            unhex(bad, 32, small_order[i]);
            bad[31] |= (uint8_t)(top << 7);
            /* as the key */
            CHECKF(ours(sig, bad, msg, sizeof msg) == OTA_ERR_BAD_KEY, "small-order key %d/%d", i, top);
            CHECK(!sodium_ok(sig, bad, msg, sizeof msg));
            /* as R */
            memcpy(s2, sig, 64);
            memcpy(s2, bad, 32);
            CHECKF(ours(s2, pk, msg, sizeof msg) == OTA_ERR_BAD_SIGNATURE, "small-order R %d/%d", i, top);
            CHECK(!sodium_ok(s2, pk, msg, sizeof msg));
        }
    }
    /* Non-canonical y >= p for every y in [p, 2^255), either sign. */
    for (i = 0xed; i <= 0xff; i++) {
        for (top = 0; top < 2; top++) {
            memset(bad, 0xff, 32);
            bad[0] = (uint8_t)i;
            bad[31] = (uint8_t)(top ? 0xff : 0x7f);
            int o = ours(sig, bad, msg, sizeof msg);
            CHECKF(o == OTA_ERR_BAD_KEY, "non-canonical key %02x/%d: %d", i, top, o);
            CHECK(!sodium_ok(sig, bad, msg, sizeof msg));
        }
    }
    /* S = L, L+1, L-1+2^252.., S with top bits set: all rejected like libsodium. */
    static const char *const S_bad[] = {
        "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", /* L */
        "eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", /* L+1 */
        "0000000000000000000000000000000000000000000000000000000000000020",
        "00000000000000000000000000000000000000000000000000000000000000e0",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    for (i = 0; i < 5; i++) {
        memcpy(s2, sig, 64);
        unhex(s2 + 32, 32, S_bad[i]);
        CHECKF(ours(s2, pk, msg, sizeof msg) == OTA_ERR_BAD_SIGNATURE, "S case %d", i);
        CHECK(!sodium_ok(s2, pk, msg, sizeof msg));
    }
    /* S + L (non-canonical S of the same value) is rejected even though the
     * equation would hold. */
    {
        uint8_t L[32], sum[32];
        unhex(L, 32, S_bad[0]);
        unsigned c = 0;
        for (i = 0; i < 32; i++) {
            c += (unsigned)sig[32 + i] + L[i];
            sum[i] = (uint8_t)c;
            c >>= 8;
        }
        memcpy(s2, sig, 64);
        memcpy(s2 + 32, sum, 32);
        CHECK(ours(s2, pk, msg, sizeof msg) == OTA_ERR_BAD_SIGNATURE);
        CHECK(!sodium_ok(s2, pk, msg, sizeof msg));
    }
    /* A key not on the curve: find one y whose x does not exist. */
    {
        int found = 0;
        for (i = 2; i < 200 && !found; i++) {
            memset(bad, 0, 32);
            bad[0] = (uint8_t)i;
            if (crypto_core_ed25519_is_valid_point(bad)) continue;
            /* is_valid_point also rejects points outside the prime-order
             * subgroup, so only count the ones we reject as undecodable. */
            int o = ours(sig, bad, msg, sizeof msg);
            if (o == OTA_ERR_BAD_KEY) found = 1;
            CHECK(!sodium_ok(sig, bad, msg, sizeof msg));
        }
        CHECK(found);
    }
    /* Streaming: errors are sticky, a finished context says STATE. */
    {
        ota_ed25519_verify_ctx ctx;
        ota_ed25519_verify_init(&ctx, sig, pk);
        ota_ed25519_verify_update(&ctx, msg, sizeof msg);
        CHECK(ota_ed25519_verify_final(&ctx) == OTA_OK);
        CHECK(ota_ed25519_verify_final(&ctx) == OTA_ERR_STATE);
        memcpy(s2, sig, 64);
        s2[63] |= 0x80;
        ota_ed25519_verify_init(&ctx, s2, pk);
        ota_ed25519_verify_update(&ctx, msg, sizeof msg);
        CHECK(ota_ed25519_verify_final(&ctx) == OTA_ERR_BAD_SIGNATURE);
    }
}

/* ---- differential against libsodium ----------------------------------------- */

#define DIFF_PAIRS 10000
#define ALL_FLIP_PAIRS 50

static void test_differential(void)
{
    uint8_t seed[32], pk[32], sk[64], sig[64], msg[300];
    unsigned long agree = 0, flips = 0;
    int i;

    for (i = 0; i < DIFF_PAIRS; i++) {
        size_t len = i < ALL_FLIP_PAIRS ? (size_t)(rnd32() % 40) : (size_t)(rnd32() % sizeof msg);
        rnd(seed, 32);
        rnd(msg, len);
        crypto_sign_seed_keypair(pk, sk, seed);
        crypto_sign_detached(sig, NULL, msg, len, sk);
        int o = ours(sig, pk, msg, len) == OTA_OK, s = sodium_ok(sig, pk, msg, len);
        if (!CHECKF(o && s, "pair %d: ours %d libsodium %d", i, o, s)) continue;
        agree++;

        /* Single-bit flips: all of them for the first pairs, one at random
         * (of signature, key or message) for the rest. */
        size_t nbits = 8 * (64 + 32 + len), b, from = 0, to = nbits;
        if (i >= ALL_FLIP_PAIRS) { from = rnd32() % nbits; to = from + 1; }
        for (b = from; b < to; b++) {
            uint8_t *p = b < 512 ? sig + b / 8 : b < 768 ? pk + (b - 512) / 8 : msg + (b - 768) / 8;
            *p ^= (uint8_t)(1u << (b % 8));
            int o2 = ours(sig, pk, msg, len) == OTA_OK, s2 = sodium_ok(sig, pk, msg, len);
            CHECKF(!o2 && !s2, "pair %d bit %zu: ours %d libsodium %d", i, b, o2, s2);
            *p ^= (uint8_t)(1u << (b % 8));
            flips++;
        }
    }
    printf("differential: %lu signed pairs verified by both, %lu bit flips rejected by both\n",
           agree, flips);
}

/* Random garbage, and signatures that are valid only up to torsion: the
 * verdicts must be libsodium's, whatever they are. */
static void test_garbage(void)
{
    uint8_t pk[32], sk[64], sig[64], msg[64], t8[32], tors[8][32];
    int i, accepted = 0, mixed_ok = 0, mixed_cases = 0;

    for (i = 0; i < 3000; i++) {
        size_t len = rnd32() % sizeof msg;
        rnd(msg, len);
        switch (i % 4) {
        case 0: rnd(sig, 64); rnd(pk, 32); break;
        case 1: crypto_sign_keypair(pk, sk); rnd(sig, 64); break;
        case 2:  /* canonical S, random valid-looking point for R */
            crypto_sign_keypair(pk, sk);
            crypto_core_ed25519_random(sig);
            crypto_core_ed25519_scalar_random(sig + 32);
            break;
        default: /* random point as key */
            crypto_core_ed25519_random(pk);
            rnd(sig, 64);
            sig[63] &= 0x0f;
            break;
        }
        int o = ours(sig, pk, msg, len) == OTA_OK, s = sodium_ok(sig, pk, msg, len);
        CHECKF(o == s, "garbage %d: ours %d libsodium %d", i, o, s);
        accepted += o;
    }

    /* Torsion points k*T8 from the order-8 point in libsodium's list. */
    unhex(t8, 32, small_order[2]);
    memset(tors[0], 0, 32);
    tors[0][0] = 1;                              /* identity */
    memcpy(tors[1], t8, 32);
    for (i = 2; i < 8; i++) CHECK(crypto_core_ed25519_add(tors[i], tors[i - 1], t8) == 0);

    /* A = aB + T, R = rB, S = r + h a: valid iff [h]T is the identity. */
    for (i = 0; i < 800; i++) {
        uint8_t a[32], r[32], aB[32], R[32], A[32], hs[64], h[32], ha[32];
        int k = 1 + i % 7;
        crypto_core_ed25519_scalar_random(a);
        crypto_core_ed25519_scalar_random(r);
        if (crypto_scalarmult_ed25519_base_noclamp(aB, a) != 0) continue;
        if (crypto_scalarmult_ed25519_base_noclamp(R, r) != 0) continue;
        if (crypto_core_ed25519_add(A, aB, tors[k]) != 0) continue;
        size_t len = rnd32() % sizeof msg;
        rnd(msg, len);
        crypto_hash_sha512_state st;
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, R, 32);
        crypto_hash_sha512_update(&st, A, 32);
        crypto_hash_sha512_update(&st, msg, len);
        crypto_hash_sha512_final(&st, hs);
        crypto_core_ed25519_scalar_reduce(h, hs);
        crypto_core_ed25519_scalar_mul(ha, h, a);
        memcpy(sig, R, 32);
        crypto_core_ed25519_scalar_add(sig + 32, r, ha);
        int o = ours(sig, A, msg, len) == OTA_OK, s = sodium_ok(sig, A, msg, len);
        CHECKF(o == s, "mixed-order %d (k=%d): ours %d libsodium %d", i, k, o, s);
        mixed_ok += s;
        mixed_cases++;
    }
    /* About 1/2, 1/4 or 1/8 of them verify, depending on the torsion order. */
    CHECKF(mixed_ok > mixed_cases / 10 && mixed_ok < mixed_cases / 2,
           "mixed-order accepted %d of %d", mixed_ok, mixed_cases);
    printf("garbage: 3000 random cases (%d accepted), %d mixed-order keys (%d accepted): verdicts match\n",
           accepted, mixed_cases, mixed_ok);
}

/* ---- streaming == one shot ---------------------------------------------------- */

static void test_streaming(void)
{
    uint8_t pk[32], sk[64], sig[64], msg[700];
    int i;

    for (i = 0; i < 60; i++) {
        size_t len = rnd32() % sizeof msg, off = 0;
        rnd(msg, len);
        crypto_sign_keypair(pk, sk);
        crypto_sign_detached(sig, NULL, msg, len, sk);
        if (i & 1) msg[len ? rnd32() % len : 0] ^= (uint8_t)(len ? 4 : 0);
        ota_err one = ota_ed25519_verify(sig, pk, msg, len);
        ota_ed25519_verify_ctx ctx;
        ota_ed25519_verify_init(&ctx, sig, pk);
        while (off < len) {
            size_t n = rnd32() % 200;
            if (n > len - off) n = len - off;
            uint8_t *chunk = tight(msg + off, n);
            ota_ed25519_verify_update(&ctx, n ? chunk : NULL, n);
            free(chunk);
            off += n;
        }
        ota_err st = ota_ed25519_verify_final(&ctx);
        CHECKF(one == st, "streaming case %d: one-shot %d, streamed %d", i, one, st);
        CHECK((one == OTA_OK) == sodium_ok(sig, pk, msg, len));
    }
}

int main(int argc, char **argv)
{
    t_suite_name = "test_ed25519";
    t_seed_sodium();
    if (sodium_init() < 0) return 2;
    const char *root = getenv("OTA_ROOT");
    if (argc > 1) snprintf(data_dir, sizeof data_dir, "%s", argv[1]);
    else snprintf(data_dir, sizeof data_dir, "%s/tests/data", root ? root : ".");
    t_rand_bytes(rng_seed, sizeof rng_seed);   /* from the run's seed ($OTA_SEED) */

    T_RUN(test_rfc8032());
    T_RUN(test_wycheproof());
    T_RUN(test_edges());
    T_RUN(test_streaming());
    T_RUN(test_garbage());
    T_RUN(test_differential());
    return t_done();
}

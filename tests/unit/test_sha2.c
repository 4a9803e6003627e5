/*
 * test_sha2.c: SHA-256, SHA-512 (FIPS 180-4 examples, one million 'a',
 * every split point and random chunkings, libsodium as a second opinion)
 * and HMAC-SHA256 (RFC 4231 test cases 1-7), plus ota_ct_memcmp.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "ota_crypto.h"
#include "../harness.h"

static void unhex(uint8_t *out, const char *hex)
{
    size_t i, n = strlen(hex) / 2;
    for (i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* A heap copy with nothing readable after it (ASan catches over-reads). */
static uint8_t *tight(const void *p, size_t len)
{
    uint8_t *q = malloc(len ? len : 1);
    if (!q) abort();
    if (len) memcpy(q, p, len);
    return q;
}

static const char M448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char M896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                           "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static const struct { const char *msg; const char *d256; const char *d512; } fips[] = {
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
    {M448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
     "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"},
    {M896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
     "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
};

static void test_fips(void)
{
    uint8_t want[64], got[64];
    size_t i;

    for (i = 0; i < sizeof fips / sizeof fips[0]; i++) {
        size_t len = strlen(fips[i].msg);
        uint8_t *m = tight(fips[i].msg, len);
        unhex(want, fips[i].d256);
        ota_sha256(got, len ? m : NULL, len);
        CHECKF(memcmp(got, want, 32) == 0, "sha256 fips %zu", i);
        unhex(want, fips[i].d512);
        ota_sha512(got, len ? m : NULL, len);
        CHECKF(memcmp(got, want, 64) == 0, "sha512 fips %zu", i);
        free(m);
    }

    /* One million 'a', fed in uneven pieces. */
    static uint8_t a[1000];
    memset(a, 'a', sizeof a);
    ota_sha256_ctx c256;
    ota_sha512_ctx c512;
    ota_sha256_init(&c256);
    ota_sha512_init(&c512);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t n = step % 997 + 1;
        if (n > 1000000 - done) n = 1000000 - done;
        ota_sha256_update(&c256, a, n);
        ota_sha512_update(&c512, a, n);
        done += n;
        step = step * 31 + 7;
    }
    ota_sha256_final(&c256, got);
    unhex(want, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CHECK_MEM(got, want, 32);
    ota_sha512_final(&c512, got);
    unhex(want, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
    CHECK_MEM(got, want, 64);
    /* final wiped the context */
    static const uint8_t zero[sizeof c512];
    CHECK(memcmp(&c512, zero, sizeof c512) == 0);
}

/* Every split point of messages of every length around the block sizes,
 * and random chunkings, give libsodium's digest. */
static void test_splits(void)
{
    uint8_t msg[300], want256[32], want512[64], got[64];
    size_t len, cut, fails = 0, runs = 0;
    unsigned i;

    for (i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 167 + 13);
    for (len = 0; len <= 260; len++) {
        crypto_hash_sha256(want256, msg, len);
        crypto_hash_sha512(want512, msg, len);
        for (cut = 0; cut <= len; cut++) {
            uint8_t *a = tight(msg, cut), *b = tight(msg + cut, len - cut);
            ota_sha256_ctx c;
            ota_sha256_init(&c);
            ota_sha256_update(&c, cut ? a : NULL, cut);
            ota_sha256_update(&c, len - cut ? b : NULL, len - cut);
            ota_sha256_final(&c, got);
            fails += memcmp(got, want256, 32) != 0;
            ota_sha512_ctx d;
            ota_sha512_init(&d);
            ota_sha512_update(&d, cut ? a : NULL, cut);
            ota_sha512_update(&d, len - cut ? b : NULL, len - cut);
            ota_sha512_final(&d, got);
            fails += memcmp(got, want512, 64) != 0;
            free(a); free(b);
            runs++;
        }
    }
    CHECKF(fails == 0, "%zu of %zu split points differ", fails, runs);

    /* Random chunkings of a longer random message. */
    static uint8_t big[5000];
    randombytes_buf(big, sizeof big);
    for (i = 0; i < 200; i++) {
        size_t n = (size_t)randombytes_uniform(sizeof big + 1), off = 0;
        crypto_hash_sha256(want256, big, n);
        crypto_hash_sha512(want512, big, n);
        ota_sha256_ctx c;
        ota_sha512_ctx d;
        ota_sha256_init(&c);
        ota_sha512_init(&d);
        while (off < n) {
            size_t k = randombytes_uniform(300);
            if (k > n - off) k = n - off;
            uint8_t *p = tight(big + off, k);
            ota_sha256_update(&c, k ? p : NULL, k);
            ota_sha512_update(&d, k ? p : NULL, k);
            free(p);
            off += k;
        }
        ota_sha256_final(&c, got);
        CHECKF(memcmp(got, want256, 32) == 0, "sha256 random chunking %u (len %zu)", i, n);
        ota_sha512_final(&d, got);
        CHECKF(memcmp(got, want512, 64) == 0, "sha512 random chunking %u (len %zu)", i, n);
    }
}

/* RFC 4231 test cases 1..7 (case 5 compares the first 128 bits). */
static void test_hmac(void)
{
    static const char tc7[] = "This is a test using a larger than block-size key and a larger than "
                              "block-size data. The key needs to be hashed before being used by the "
                              "HMAC algorithm.";
    uint8_t k1[20], k3[20], k4[25], k5[20], k6[131], d3[50], d4[50];
    memset(k1, 0x0b, 20);
    memset(k3, 0xaa, 20);
    for (int i = 0; i < 25; i++) k4[i] = (uint8_t)(i + 1);
    memset(k5, 0x0c, 20);
    memset(k6, 0xaa, 131);
    memset(d3, 0xdd, 50);
    memset(d4, 0xcd, 50);
    const struct { const uint8_t *k; size_t kl; const uint8_t *d; size_t dl; const char *mac; } tc[] = {
        {k1, 20, (const uint8_t *)"Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {(const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {k3, 20, d3, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {k4, 25, d4, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {k5, 20, (const uint8_t *)"Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b"},
        {k6, 131, (const uint8_t *)"Test Using Larger Than Block-Size Key - Hash Key First", 54,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {k6, 131, (const uint8_t *)tc7, sizeof tc7 - 1,
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        uint8_t want[32], got[32];
        size_t n = strlen(tc[i].mac) / 2;
        unhex(want, tc[i].mac);
        uint8_t *k = tight(tc[i].k, tc[i].kl), *d = tight(tc[i].d, tc[i].dl);
        ota_hmac_sha256(got, k, tc[i].kl, d, tc[i].dl);
        CHECKF(memcmp(got, want, n) == 0, "RFC 4231 case %zu", i + 1);
        /* streamed byte by byte */
        ota_hmac_sha256_ctx c;
        ota_hmac_sha256_init(&c, k, tc[i].kl);
        for (size_t j = 0; j < tc[i].dl; j++) ota_hmac_sha256_update(&c, d + j, 1);
        ota_hmac_sha256_final(&c, got);
        CHECKF(memcmp(got, want, n) == 0, "RFC 4231 case %zu streamed", i + 1);
        free(k); free(d);
    }
    /* Against libsodium for many key lengths (0..200) around the block size. */
    size_t bad = 0;
    for (size_t kl = 0; kl <= 200; kl++) {
        uint8_t key[200], data[77], want[32], got[32];
        randombytes_buf(key, sizeof key);
        randombytes_buf(data, sizeof data);
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, key, kl);
        crypto_auth_hmacsha256_update(&st, data, sizeof data);
        crypto_auth_hmacsha256_final(&st, want);
        ota_hmac_sha256(got, kl ? key : NULL, kl, data, sizeof data);
        bad += memcmp(got, want, 32) != 0;
    }
    CHECKF(bad == 0, "hmac vs libsodium: %zu key lengths differ", bad);
}

static void test_ct(void)
{
    uint8_t a[64], b[64];
    randombytes_buf(a, sizeof a);
    memcpy(b, a, sizeof b);
    CHECK(ota_ct_memcmp(a, b, 64) == 0);
    CHECK(ota_ct_memcmp(a, b, 0) == 0);
    for (int i = 0; i < 64 * 8; i++) {
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (!CHECKF(ota_ct_memcmp(a, b, 64) != 0, "ct_memcmp bit %d", i)) break;
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    b[63] ^= 0x80;
    CHECK(ota_ct_memcmp(a, b, 63) == 0);   /* only len bytes compared */
}

int main(void)
{
    t_suite_name = "test_sha2";
    if (sodium_init() < 0) return 2;
    T_RUN(test_fips());
    T_RUN(test_splits());
    T_RUN(test_hmac());
    T_RUN(test_ct());
    return t_done();
}

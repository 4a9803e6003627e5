/*
 * bench_verify.c: host throughput of common/'s crypto against libsodium in
 * the same run: Ed25519 verifies per second (600-byte message), SHA-256 and
 * SHA-512 MB/s.  Prints figures and ratios; never fails on speed.
 *
 *   bench_verify [SECONDS_PER_FIGURE]   (default 1.0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "ota_crypto.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double budget = 1.0;
static volatile int sink;

static unsigned char pk[32], sk[64], sig[64], msg[600], dg[64];
static unsigned char big[1 << 16];

static void v_ours(void) { sink += ota_ed25519_verify(sig, pk, msg, sizeof msg); }
static void v_sodium(void) { sink += crypto_sign_verify_detached(sig, msg, sizeof msg, pk); }
static void h256_ours(void) { ota_sha256(dg, big, sizeof big); sink += dg[0]; }
static void h256_sodium(void) { crypto_hash_sha256(dg, big, sizeof big); sink += dg[0]; }
static void h512_ours(void) { ota_sha512(dg, big, sizeof big); sink += dg[0]; }
static void h512_sodium(void) { crypto_hash_sha512(dg, big, sizeof big); sink += dg[0]; }

/* Calls fn until the time budget is spent; returns calls per second. */
static double rate(void (*fn)(void))
{
    unsigned long n = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 8; k++) fn();
        n += 8;
    } while ((t = now() - t0) < budget);
    return n / t;
}

int main(int argc, char **argv)
{
    if (argc > 1) budget = atof(argv[1]);
    if (sodium_init() < 0) return 1;
    randombytes_buf(msg, sizeof msg);
    randombytes_buf(big, sizeof big);
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    if (ota_ed25519_verify(sig, pk, msg, sizeof msg) != OTA_OK ||
        crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0) {
        fprintf(stderr, "bench_verify: the signature does not verify\n");
        return 1;
    }

    double ours = rate(v_ours);
    double sod = rate(v_sodium);
    printf("ed25519 verify (600-byte message): common/ %.0f/s, libsodium %s %.0f/s, ratio %.2f\n",
           ours, sodium_version_string(), sod, ours / sod);

    double s256 = rate(h256_ours) * sizeof big / 1e6;
    double l256 = rate(h256_sodium) * sizeof big / 1e6;
    printf("sha256 (64 KiB blocks): common/ %.0f MB/s, libsodium %.0f MB/s, ratio %.2f\n",
           s256, l256, s256 / l256);
    double s512 = rate(h512_ours) * sizeof big / 1e6;
    double l512 = rate(h512_sodium) * sizeof big / 1e6;
    printf("sha512 (64 KiB blocks): common/ %.0f MB/s, libsodium %.0f MB/s, ratio %.2f\n",
           s512, l512, s512 / l512);
    return 0;
}

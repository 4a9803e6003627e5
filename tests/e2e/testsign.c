/*
 * testsign.c: a tiny statement maker for otad's tests and benchmark
 * (libsodium signs, common/ lays out the bytes).  The real tool is otasign;
 * this one exists so the server tests can also make statements otasign
 * refuses to make (wrong key, bad fields) and run before the CLI is built.
 *
 *   otad-testsign keygen NAME                 NAME.seed (32 raw bytes), NAME.pub (hex line)
 *   otad-testsign release NAME.seed BUNDLE APP SEQ OUT [LABEL]
 *                                             OUT: the 336-byte signed statement
 *   otad-testsign hmac HEXKEY FILE [PREFIX]   hex HMAC-SHA256(key, PREFIX || file bytes)
 *   otad-testsign decide RELPUB SRVPUB DEVICE NONCEHEX APP RUNNING STATEMENT TICKET [SECRETHEX MACHEX]
 *                                             the device's decision (common/) on an offer;
 *                                             prints the verdict, exit 0 when accepted
 *   otad-testsign signrate SECONDS            libsodium's raw Ed25519 signing rate on this
 *                                             thread over a ticket-sized (216-byte) message:
 *                                             prints "<signatures/s> <CPU us per signature>"
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ota_encode.h"
#include "ota_release.h"

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n || fclose(f) != 0) { perror(path); exit(1); }
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) return 1;
    if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
        unsigned char seed[32], pk[32], sk[64];
        char path[4096], hex[65];
        randombytes_buf(seed, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        snprintf(path, sizeof path, "%s.seed", argv[2]);
        spit(path, seed, 32);
        ota_hex_encode(hex, sizeof hex, pk, 32);
        hex[64] = '\n';
        snprintf(path, sizeof path, "%s.pub", argv[2]);
        spit(path, hex, 65);
        return 0;
    }
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "release") == 0) {
        size_t sl, bl;
        unsigned char *seed = slurp(argv[2], &sl), *bundle = slurp(argv[3], &bl);
        unsigned char pk[32], sk[64], kid[8], h[32], zero[32] = {0};
        if (sl != 32) { fprintf(stderr, "seed must be 32 bytes\n"); return 1; }
        crypto_sign_seed_keypair(pk, sk, seed);
        ota_release_key_id(kid, pk);
        ota_sha256(h, bundle, bl);
        ota_statement st;
        memset(&st, 0, sizeof st);
        st.encoding = OTA_ENC_IDENTITY;
        st.key_id = kid;
        st.app = argv[4];
        st.app_len = strlen(argv[4]);
        st.board = "";
        st.board_len = 0;
        st.seq = strtoull(argv[5], NULL, 10);
        st.created = (uint64_t)time(NULL);
        st.size = (uint32_t)bl;
        st.installed_size = (uint32_t)bl;
        st.sha256 = h;
        st.installed_sha256 = h;
        st.source_sha256 = zero;
        st.label = argc == 8 ? argv[7] : "test";
        st.label_len = strlen(st.label);
        unsigned char out[OTA_STATEMENT_SIZE];
        ota_err e = ota_statement_encode(out, &st);
        if (e != OTA_OK) { fprintf(stderr, "encode: %s\n", ota_strerror(e)); return 1; }
        crypto_sign_detached(out + OTA_STATEMENT_BODY_SIZE, NULL, out, OTA_STATEMENT_BODY_SIZE, sk);
        spit(argv[6], out, sizeof out);
        free(seed);
        free(bundle);
        return 0;
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "hmac") == 0) {
        unsigned char key[64], mac[32];
        size_t kl = 0, fl;
        if (ota_hex_decode(key, sizeof key, &kl, argv[2], strlen(argv[2])) != OTA_OK) return 1;
        unsigned char *data = slurp(argv[3], &fl);
        ota_hmac_sha256_ctx h;
        ota_hmac_sha256_init(&h, key, kl);
        if (argc == 5) ota_hmac_sha256_update(&h, (const unsigned char *)argv[4], strlen(argv[4]));
        ota_hmac_sha256_update(&h, data, fl);
        ota_hmac_sha256_final(&h, mac);
        char hex[65];
        ota_hex_encode(hex, sizeof hex, mac, 32);
        printf("%s\n", hex);
        free(data);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "signrate") == 0) {
        /* The peer for otad's offers: what one core can sign with the same
         * library, measured in the same run (tests/bench/server-bench.sh). */
        unsigned char pk[32], sk[64], msg[216], sig[64];
        crypto_sign_keypair(pk, sk);
        randombytes_buf(msg, sizeof msg);
        double secs = atof(argv[2]);
        if (secs <= 0) secs = 1;
        struct timespec t0, t1, c0, c1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        unsigned long n = 0;
        double el = 0;
        do {
            for (int i = 0; i < 256; i++, n++) {
                msg[n % sizeof msg] ^= sig[0];   /* a different message each time */
                crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        } while (el < secs);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
        printf("%.0f %.2f\n", (double)n / el, cpu * 1e6 / (double)n);
        return 0;
    }
    if ((argc == 10 || argc == 12) && strcmp(argv[1], "decide") == 0) {
        size_t l1, l2, sl, tl, nl = 0, kl = 0, ml = 0, pl = 0;
        unsigned char *rp = slurp(argv[2], &l1), *sp = slurp(argv[3], &l2);
        unsigned char *stm = slurp(argv[8], &sl), *tk = slurp(argv[9], &tl);
        ota_trusted_key rk, sk;
        if (ota_hex_decode(rk.pub, 32, &pl, (char *)rp, 64) != OTA_OK) return 1;
        if (ota_hex_decode(sk.pub, 32, &pl, (char *)sp, 64) != OTA_OK) return 1;
        ota_release_key_id(rk.id, rk.pub);
        ota_release_key_id(sk.id, sk.pub);
        unsigned char nonce[32], secret[64], mac[32];
        if (ota_hex_decode(nonce, sizeof nonce, &nl, argv[5], strlen(argv[5])) != OTA_OK) return 1;
        ota_device d;
        memset(&d, 0, sizeof d);
        d.app = argv[6]; d.app_len = strlen(argv[6]);
        d.board = "pico"; d.board_len = 4;
        d.running_seq = strtoull(argv[7], NULL, 10);
        d.device_id = argv[4]; d.device_id_len = strlen(argv[4]);
        d.nonce = nonce; d.nonce_len = nl;
        d.release_keys = &rk; d.n_release_keys = 1;
        d.server_keys = &sk; d.n_server_keys = 1;
        d.tier = OTA_TIER_SIGNED;
        if (argc == 12) {
            if (ota_hex_decode(secret, sizeof secret, &kl, argv[10], strlen(argv[10])) != OTA_OK ||
                ota_hex_decode(mac, sizeof mac, &ml, argv[11], strlen(argv[11])) != OTA_OK) return 1;
            d.tier = OTA_TIER_MAC;
            d.mac_key = secret; d.mac_key_len = kl;
        }
        ota_offer o;
        ota_err e = ota_release_decide(&o, &d, stm, sl, tk, tl, argc == 12 ? mac : NULL);
        printf("%s\n", e == OTA_OK ? "accept" : ota_strerror(e));
        free(rp); free(sp); free(stm); free(tk);
        return e == OTA_OK ? 0 : 1;
    }
    fprintf(stderr, "usage: otad-testsign keygen NAME | release SEED BUNDLE APP SEQ OUT [LABEL]"
                    " | hmac HEXKEY FILE [PREFIX]\n");
    return 2;
}

/*
 * ota_crypto.h: the portable crypto core, freestanding C for devices and
 * hosts alike.  Table of contents:
 *
 *   SHA-256        ota_sha256_init / _update / _final, ota_sha256 (one shot)
 *   SHA-512        ota_sha512_init / _update / _final, ota_sha512 (one shot)
 *   HMAC-SHA256    ota_hmac_sha256_init / _update / _final, ota_hmac_sha256
 *   Ed25519        ota_ed25519_verify (one shot), _verify_init / _update / _final
 *   compare        ota_ct_memcmp (constant time)
 *
 * Context types are named ota_<hash>_ctx (struct tags ota_sha256, ota_sha512,
 * ota_hmac_sha256): a typedef cannot share its name with the one-shot
 * functions ota_sha256() etc. in C, so `struct ota_sha256 h;` or
 * `ota_sha256_ctx h;` declares one.
 *
 * Rules for all of it: no heap, no mutable statics, no stdio; contexts are
 * plain structs owned by the caller, hold no pointers, may be copied; their
 * fields are private.  Every input has a length and nothing reads past it.
 * `final` wipes its context.  Functions that decide return ota_err, 0 = OK
 * (a valid signature included); streaming errors are sticky.
 */
#ifndef OTA_CRYPTO_H
#define OTA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"

#define OTA_SHA256_SIZE 32
#define OTA_SHA512_SIZE 64
#define OTA_ED25519_PUB_SIZE 32
#define OTA_ED25519_SIG_SIZE 64

/* ---- SHA-256 (FIPS 180-4) ---------------------------------------------- */
typedef struct ota_sha256 {
    uint32_t state[8];   /* chaining value */
    uint64_t total;      /* bytes hashed so far */
    uint8_t  block[64];  /* partial block */
    uint32_t used;       /* bytes in block */
} ota_sha256_ctx;

void ota_sha256_init(ota_sha256_ctx *ctx);
/* Hash len bytes at data (data may be NULL when len is 0). */
void ota_sha256_update(ota_sha256_ctx *ctx, const uint8_t *data, size_t len);
/* Write the digest and wipe the context. */
void ota_sha256_final(ota_sha256_ctx *ctx, uint8_t out[OTA_SHA256_SIZE]);
void ota_sha256(uint8_t out[OTA_SHA256_SIZE], const uint8_t *data, size_t len);

/* ---- SHA-512 (FIPS 180-4) ---------------------------------------------- */
typedef struct ota_sha512 {
    uint64_t state[8];
    uint64_t total;      /* bytes hashed so far (2^64 bytes is plenty) */
    uint8_t  block[128];
    uint32_t used;
} ota_sha512_ctx;

void ota_sha512_init(ota_sha512_ctx *ctx);
void ota_sha512_update(ota_sha512_ctx *ctx, const uint8_t *data, size_t len);
void ota_sha512_final(ota_sha512_ctx *ctx, uint8_t out[OTA_SHA512_SIZE]);
void ota_sha512(uint8_t out[OTA_SHA512_SIZE], const uint8_t *data, size_t len);

/* ---- HMAC-SHA256 (RFC 2104), for the stock-firmware tier ---------------- */
typedef struct ota_hmac_sha256 {
    ota_sha256_ctx inner;
    ota_sha256_ctx outer;
} ota_hmac_sha256_ctx;

void ota_hmac_sha256_init(ota_hmac_sha256_ctx *ctx, const uint8_t *key, size_t key_len);
void ota_hmac_sha256_update(ota_hmac_sha256_ctx *ctx, const uint8_t *data, size_t len);
void ota_hmac_sha256_final(ota_hmac_sha256_ctx *ctx, uint8_t out[OTA_SHA256_SIZE]);
void ota_hmac_sha256(uint8_t out[OTA_SHA256_SIZE], const uint8_t *key, size_t key_len,
                     const uint8_t *data, size_t len);

/* ---- Ed25519 verification (RFC 8032), libsodium 1.0.18 semantics --------
 * Accepts exactly what libsodium 1.0.18's crypto_sign_verify_detached accepts:
 * S must be canonical (< L); R and A must not be small order; A must be a
 * canonical encoding of a curve point.  Returns OTA_OK for a valid signature,
 * OTA_ERR_BAD_KEY for a rejected public key, OTA_ERR_BAD_SIGNATURE otherwise
 * (when both are bad, the signature is reported).  sig, pub and msg are
 * only read; msg may be NULL when len is 0.  Variable time: everything it
 * handles is public.  On Cortex-M4 (-Os) the one-shot call takes about
 * 0.8 M instructions for a 600-byte message, 1.4 KB of stack and no static
 * RAM; `make size` and `make bench` print the current figures. */
ota_err ota_ed25519_verify(const uint8_t sig[OTA_ED25519_SIG_SIZE],
                           const uint8_t pub[OTA_ED25519_PUB_SIZE],
                           const uint8_t *msg, size_t len);

/* Streaming form: same verdict as the one-shot call for the concatenation of
 * every update.  Only _final returning OTA_OK means the signature is valid.
 * init copies sig and pub into the context and checks their encodings (a
 * rejection is kept and returned by final; update then skips hashing).
 * final wipes the context and leaves it answering OTA_ERR_STATE. */
typedef struct ota_ed25519_verify_ctx {
    ota_sha512_ctx hash; /* H(R || A || M) in progress */
    uint8_t sig[OTA_ED25519_SIG_SIZE];
    uint8_t pub[OTA_ED25519_PUB_SIZE];
    ota_err err;         /* sticky: set by init when sig/pub are rejected early */
} ota_ed25519_verify_ctx;

void ota_ed25519_verify_init(ota_ed25519_verify_ctx *ctx,
                             const uint8_t sig[OTA_ED25519_SIG_SIZE],
                             const uint8_t pub[OTA_ED25519_PUB_SIZE]);
void ota_ed25519_verify_update(ota_ed25519_verify_ctx *ctx, const uint8_t *msg, size_t len);
ota_err ota_ed25519_verify_final(ota_ed25519_verify_ctx *ctx);

/* ---- constant-time compare ---------------------------------------------
 * 0 when the len bytes at a and b are equal, non-zero otherwise; the time
 * taken depends on len only. */
int ota_ct_memcmp(const void *a, const void *b, size_t len);

#endif

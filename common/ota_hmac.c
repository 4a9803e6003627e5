/*
 * ota_hmac.c: HMAC-SHA256 (RFC 2104 / FIPS 198-1) for the stock-firmware tier.
 * The context keeps the inner and outer hashes already primed with the padded
 * key, so the key itself is not kept once init returns.
 */
#include <string.h>
#include "ota_crypto.h"

static void wipe(void *p, size_t len)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (len--) *v++ = 0;
}

void ota_hmac_sha256_init(ota_hmac_sha256_ctx *ctx, const uint8_t *key, size_t key_len)
{
    uint8_t k[64], pad[64];
    unsigned i;

    memset(k, 0, sizeof k);
    if (key_len > sizeof k) {
        ota_sha256(k, key, key_len);      /* long keys are hashed first */
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (i = 0; i < 64; i++) pad[i] = (uint8_t)(k[i] ^ 0x36);
    ota_sha256_init(&ctx->inner);
    ota_sha256_update(&ctx->inner, pad, 64);
    for (i = 0; i < 64; i++) pad[i] = (uint8_t)(k[i] ^ 0x5c);
    ota_sha256_init(&ctx->outer);
    ota_sha256_update(&ctx->outer, pad, 64);
    wipe(k, sizeof k);
    wipe(pad, sizeof pad);
}

void ota_hmac_sha256_update(ota_hmac_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    ota_sha256_update(&ctx->inner, data, len);
}

void ota_hmac_sha256_final(ota_hmac_sha256_ctx *ctx, uint8_t out[OTA_SHA256_SIZE])
{
    uint8_t ih[OTA_SHA256_SIZE];

    ota_sha256_final(&ctx->inner, ih);
    ota_sha256_update(&ctx->outer, ih, sizeof ih);
    ota_sha256_final(&ctx->outer, out);
    wipe(ih, sizeof ih);
}

void ota_hmac_sha256(uint8_t out[OTA_SHA256_SIZE], const uint8_t *key, size_t key_len,
                     const uint8_t *data, size_t len)
{
    ota_hmac_sha256_ctx ctx;
    ota_hmac_sha256_init(&ctx, key, key_len);
    ota_hmac_sha256_update(&ctx, data, len);
    ota_hmac_sha256_final(&ctx, out);
}

/*
 * hsz_enc.h: the encoder of bundle encoding 1 (heatshrink blocks,
 * manifests/FORMAT.md section 2a); the decoder is common/ota_hsz.c.
 */
#ifndef HSZ_ENC_H
#define HSZ_ENC_H

#include <stddef.h>
#include <stdint.h>

/* Encode in[0..n) (n >= 1) with blocks of 2^log2 bytes (OTA_HSZ_LOG2_MIN..
 * OTA_HSZ_LOG2_MAX) into a new malloc'd buffer *out of *out_len bytes.
 * Each block is parsed optimally for the format's bit costs (a literal 9
 * bits, a back-reference 15).  0 ok, -1 out of memory or bad arguments. */
int hsz_encode(const uint8_t *in, size_t n, unsigned log2, uint8_t **out, size_t *out_len);

#endif

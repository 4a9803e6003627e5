/*
 * ota_encode.h: hex and base64 (RFC 4648, standard and URL-safe) with strict
 * decoding.  Freestanding; caller-owned buffers; nothing reads past `len`.
 *
 * Encoders write no terminating NUL unless asked by the capacity contract
 * below; decoders reject anything that is not the one canonical encoding:
 * wrong characters, wrong length, wrong or missing padding (standard form),
 * padding in the URL-safe form, non-zero stray bits in the last character.
 */
#ifndef OTA_ENCODE_H
#define OTA_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"

/* Lower-case hex.  Writes 2*len characters and a NUL; needs cap >= 2*len+1.
 * Returns OTA_ERR_TOO_LONG (writing nothing) when cap is too small. */
ota_err ota_hex_encode(char *out, size_t cap, const uint8_t *in, size_t len);

/* Decode exactly len hex characters (either case) into len/2 bytes.
 * OTA_ERR_ENCODING for an odd length or a non-hex character,
 * OTA_ERR_TOO_LONG when cap < len/2.  *out_len gets the byte count. */
ota_err ota_hex_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t len);

#define OTA_B64_STD 0  /* alphabet +/, padded with '=' */
#define OTA_B64_URL 1  /* alphabet -_, no padding */

/* Encoded length for len bytes, not counting the NUL; (size_t)-1 when that
 * would overflow size_t. */
size_t ota_base64_encoded_len(size_t len, int variant);

/* Writes the encoding and a NUL; needs cap >= ota_base64_encoded_len()+1,
 * else OTA_ERR_TOO_LONG (writing nothing).  *out_len (may be NULL) gets the
 * character count.  OTA_ERR_ARG for a variant other than the two above. */
ota_err ota_base64_encode(char *out, size_t cap, size_t *out_len,
                          const uint8_t *in, size_t len, int variant);

/* Strict decode of exactly len characters.  *out_len gets the byte count
 * (0 on error).  OTA_ERR_ENCODING for anything but the canonical encoding,
 * OTA_ERR_TOO_LONG when cap is below the decoded size (checked before any
 * write), OTA_ERR_ARG for an unknown variant.  On OTA_ERR_ENCODING nothing
 * decoded is left in out. */
ota_err ota_base64_decode(uint8_t *out, size_t cap, size_t *out_len,
                          const char *in, size_t len, int variant);

#endif

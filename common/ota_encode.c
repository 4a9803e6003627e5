/*
 * ota_encode.c: lower-case hex and RFC 4648 base64 (standard, URL-safe) with
 * strict, canonical-only decoding.  See ota_encode.h for the contracts.
 *
 * Decoders validate the length and capacity before writing anything; on a
 * bad character they stop, zero what they wrote and return OTA_ERR_ENCODING,
 * so a caller never sees half-decoded output.  Timing depends on the input
 * (these encode public data: keys, signatures, digests).
 */
#include <string.h>
#include "ota_encode.h"

static const char hexdig[16] = "0123456789abcdef";

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ota_err ota_hex_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
    size_t i;

    if (len > (((size_t)-1) - 1) / 2 || cap < 2 * len + 1) return OTA_ERR_TOO_LONG;
    for (i = 0; i < len; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
    out[2 * len] = '\0';
    return OTA_OK;
}

ota_err ota_hex_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t len)
{
    size_t i;

    *out_len = 0;
    if (len & 1) return OTA_ERR_ENCODING;
    if (cap < len / 2) return OTA_ERR_TOO_LONG;
    for (i = 0; i < len / 2; i++) {
        int hi = hexval((unsigned char)in[2 * i]);
        int lo = hexval((unsigned char)in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            memset(out, 0, i);
            return OTA_ERR_ENCODING;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = len / 2;
    return OTA_OK;
}

/* ---- base64 ------------------------------------------------------------- */

static char b64char(unsigned v, int variant)
{
    if (v < 26) return (char)('A' + v);
    if (v < 52) return (char)('a' + v - 26);
    if (v < 62) return (char)('0' + v - 52);
    if (v == 62) return variant == OTA_B64_URL ? '-' : '+';
    return variant == OTA_B64_URL ? '_' : '/';
}

static int b64val(unsigned char c, int variant)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (variant == OTA_B64_URL) {
        if (c == '-') return 62;
        if (c == '_') return 63;
    } else {
        if (c == '+') return 62;
        if (c == '/') return 63;
    }
    return -1;
}

size_t ota_base64_encoded_len(size_t len, int variant)
{
    size_t full = len / 3, rest = len % 3;

    if (full > ((size_t)-1) / 4 - 1) return (size_t)-1;   /* would overflow */
    if (variant == OTA_B64_URL) return 4 * full + (rest ? rest + 1 : 0);
    return 4 * full + (rest ? 4 : 0);
}

ota_err ota_base64_encode(char *out, size_t cap, size_t *out_len,
                          const uint8_t *in, size_t len, int variant)
{
    size_t n, i, o = 0;

    if (out_len) *out_len = 0;
    if (variant != OTA_B64_STD && variant != OTA_B64_URL) return OTA_ERR_ARG;
    n = ota_base64_encoded_len(len, variant);
    if (n == (size_t)-1 || cap < n + 1) return OTA_ERR_TOO_LONG;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64char(v >> 18, variant);
        out[o++] = b64char((v >> 12) & 63, variant);
        out[o++] = b64char((v >> 6) & 63, variant);
        out[o++] = b64char(v & 63, variant);
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64char(v >> 18, variant);
        out[o++] = b64char((v >> 12) & 63, variant);
        if (variant == OTA_B64_STD) { out[o++] = '='; out[o++] = '='; }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64char(v >> 18, variant);
        out[o++] = b64char((v >> 12) & 63, variant);
        out[o++] = b64char((v >> 6) & 63, variant);
        if (variant == OTA_B64_STD) out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return OTA_OK;
}

ota_err ota_base64_decode(uint8_t *out, size_t cap, size_t *out_len,
                          const char *in, size_t len, int variant)
{
    size_t chars, need, i, o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;

    *out_len = 0;
    if (variant != OTA_B64_STD && variant != OTA_B64_URL) return OTA_ERR_ARG;
    chars = len;
    if (variant == OTA_B64_STD) {
        /* Padded: a whole number of quartets, with 0, 1 or 2 '=' at the end. */
        if (len % 4) return OTA_ERR_ENCODING;
        if (len >= 1 && in[len - 1] == '=') chars--;
        if (len >= 2 && in[len - 2] == '=') chars--;
    }
    if (chars % 4 == 1) return OTA_ERR_ENCODING;   /* 6 bits cannot end a byte */
    need = chars / 4 * 3 + (chars % 4 ? chars % 4 - 1 : 0);
    if (cap < need) return OTA_ERR_TOO_LONG;
    for (i = 0; i < chars; i++) {
        int v = b64val((unsigned char)in[i], variant);
        if (v < 0) goto bad;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* The unused low bits of the last character must be zero (canonical). */
    if (acc != 0) goto bad;
    *out_len = o;
    return OTA_OK;
bad:
    memset(out, 0, o);
    return OTA_ERR_ENCODING;
}

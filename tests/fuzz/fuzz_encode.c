/*
 * fuzz_encode.c: hex and base64 (common/ota_encode.c).
 * Properties: encoding any bytes and decoding the text gives the bytes back
 * (hex, base64 standard and URL-safe); decoding any text that decodes and
 * encoding the result gives the text back (base64: the decoder accepts only
 * the canonical form; hex: the same up to case); encoded lengths are what
 * ota_base64_encoded_len says; base64 agrees with libsodium's.
 */
#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "ota_encode.h"

#define MAXN 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { if (sodium_init() < 0) abort(); init = 1; }
    if (size > MAXN) size = MAXN;
    static char txt[2 * MAXN + 8], txt2[2 * MAXN + 8];
    static uint8_t back[MAXN + 8];
    size_t bl = 0, tl = 0;

    /* bytes -> text -> bytes */
    FUZZ_ASSERT(ota_hex_encode(txt, sizeof txt, data, size) == OTA_OK, "hex encode");
    FUZZ_ASSERT(strlen(txt) == 2 * size, "hex length");
    FUZZ_ASSERT(ota_hex_decode(back, sizeof back, &bl, txt, 2 * size) == OTA_OK && bl == size &&
                memcmp(back, data, size) == 0, "hex round trip");
    for (int v = 0; v <= 1; v++) {
        FUZZ_ASSERT(ota_base64_encode(txt, sizeof txt, &tl, data, size, v) == OTA_OK, "b64 encode");
        FUZZ_ASSERT(tl == ota_base64_encoded_len(size, v) && strlen(txt) == tl, "b64 length");
        char ref[2 * MAXN + 8];
        sodium_bin2base64(ref, sizeof ref, data, size,
                          v ? sodium_base64_VARIANT_URLSAFE_NO_PADDING : sodium_base64_VARIANT_ORIGINAL);
        FUZZ_ASSERT(strcmp(ref, txt) == 0, "b64 agrees with libsodium (variant %d)", v);
        FUZZ_ASSERT(ota_base64_decode(back, sizeof back, &bl, txt, tl, v) == OTA_OK && bl == size &&
                    memcmp(back, data, size) == 0, "b64 round trip (variant %d)", v);
        if (size > 0)
            FUZZ_ASSERT(ota_base64_decode(back, size - 1, &bl, txt, tl, v) == OTA_ERR_TOO_LONG,
                        "b64 decode into too small a buffer");
    }

    /* text -> bytes -> text */
    const char *s = (const char *)data;
    if (ota_hex_decode(back, sizeof back, &bl, s, size) == OTA_OK) {
        FUZZ_ASSERT(bl * 2 == size, "hex decoded length");
        FUZZ_ASSERT(ota_hex_encode(txt2, sizeof txt2, back, bl) == OTA_OK, "hex re-encode");
        for (size_t i = 0; i < size; i++)
            FUZZ_ASSERT(tolower((unsigned char)s[i]) == txt2[i], "hex canonical up to case at %zu", i);
    }
    for (int v = 0; v <= 1; v++) {
        if (ota_base64_decode(back, sizeof back, &bl, s, size, v) != OTA_OK) continue;
        FUZZ_ASSERT(ota_base64_encode(txt2, sizeof txt2, &tl, back, bl, v) == OTA_OK, "b64 re-encode");
        FUZZ_ASSERT(tl == size && memcmp(txt2, s, size) == 0, "b64 decoder accepts only the canonical form");
        size_t sl = 0;
        uint8_t ref[MAXN + 8];
        FUZZ_ASSERT(sodium_base642bin(ref, sizeof ref, s, size, NULL, &sl, NULL,
                                      v ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                                        : sodium_base64_VARIANT_ORIGINAL) == 0 &&
                    sl == bl && memcmp(ref, back, bl) == 0, "libsodium decodes it the same");
    }
    return 0;
}

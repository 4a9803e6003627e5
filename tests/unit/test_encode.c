/*
 * test_encode.c: strict hex and base64 (ota_encode.h): RFC 4648 vectors,
 * libsodium as a second encoder, every rejection rule, exact capacities.
 * Inputs sit at the end of exact-size heap buffers (ASan catches over-reads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "ota_encode.h"
#include "../harness.h"
#include "seeded_sodium.h"

static char *tight(const char *s, size_t len)
{
    char *q = malloc(len ? len : 1);
    if (!q) abort();
    if (len) memcpy(q, s, len);
    return q;
}

/* Decode string s (no NUL visible to the decoder) with capacity cap. */
static ota_err b64dec(uint8_t *out, size_t cap, size_t *n, const char *s, int variant)
{
    size_t len = strlen(s);
    char *in = tight(s, len);
    uint8_t *o = malloc(cap ? cap : 1);
    ota_err e = ota_base64_decode(o, cap, n, in, len, variant);
    if (e == OTA_OK) memcpy(out, o, *n);
    free(in);
    free(o);
    return e;
}

static ota_err hexdec(uint8_t *out, size_t cap, size_t *n, const char *s)
{
    size_t len = strlen(s);
    char *in = tight(s, len);
    uint8_t *o = malloc(cap ? cap : 1);
    ota_err e = ota_hex_decode(o, cap, n, in, len);
    if (e == OTA_OK) memcpy(out, o, *n);
    free(in);
    free(o);
    return e;
}

static void test_hex(void)
{
    uint8_t bin[4] = {0x00, 0x9f, 0xa0, 0xff}, out[8];
    char txt[16];
    size_t n;

    CHECK(ota_hex_encode(txt, 9, bin, 4) == OTA_OK);
    CHECK(strcmp(txt, "009fa0ff") == 0);
    CHECK(ota_hex_encode(txt, 8, bin, 4) == OTA_ERR_TOO_LONG);   /* no room for NUL */
    CHECK(ota_hex_encode(txt, 1, bin, 0) == OTA_OK && txt[0] == 0);
    CHECK(ota_hex_encode(txt, 0, bin, 0) == OTA_ERR_TOO_LONG);

    CHECK(hexdec(out, 4, &n, "009fa0ff") == OTA_OK && n == 4 && memcmp(out, bin, 4) == 0);
    CHECK(hexdec(out, 4, &n, "009FA0FF") == OTA_OK && n == 4 && memcmp(out, bin, 4) == 0);
    CHECK(hexdec(out, 3, &n, "009fa0ff") == OTA_ERR_TOO_LONG);   /* capacity - 1 */
    CHECK(hexdec(out, 0, &n, "") == OTA_OK && n == 0);
    CHECK(hexdec(out, 4, &n, "009fa0f") == OTA_ERR_ENCODING);    /* odd */
    CHECK(hexdec(out, 4, &n, "009fa0fg") == OTA_ERR_ENCODING);
    CHECK(hexdec(out, 4, &n, "0x9fa0ff") == OTA_ERR_ENCODING);
    CHECK(hexdec(out, 4, &n, " 09fa0ff") == OTA_ERR_ENCODING);
    CHECK(hexdec(out, 4, &n, "009fa0f:") == OTA_ERR_ENCODING);
    CHECK(hexdec(out, 4, &n, "009fa0f@") == OTA_ERR_ENCODING);
    {   /* an embedded NUL is a bad character, not an end */
        char in[4] = {'a', 'b', 0, 'c'};
        CHECK(ota_hex_decode(out, 8, &n, in, 4) == OTA_ERR_ENCODING && n == 0);
    }
    /* every byte value round-trips; every non-hex character is refused */
    for (int c = 0; c < 256; c++) {
        uint8_t b = (uint8_t)c, back;
        CHECK(ota_hex_encode(txt, 3, &b, 1) == OTA_OK);
        CHECK(ota_hex_decode(&back, 1, &n, txt, 2) == OTA_OK && back == b);
        char bad[2] = {'0', (char)c};
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        CHECKF((ota_hex_decode(&back, 1, &n, bad, 2) == OTA_OK) == ok, "hex char %d", c);
    }
}

static const char *const rfc[7][3] = {
    {"", "", ""}, {"f", "Zg==", "Zg"}, {"fo", "Zm8=", "Zm8"}, {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"}, {"fooba", "Zm9vYmE=", "Zm9vYmE"}, {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void test_b64_vectors(void)
{
    char txt[32];
    uint8_t out[16];
    size_t n, len;

    for (int i = 0; i < 7; i++) {
        len = strlen(rfc[i][0]);
        for (int v = 0; v < 2; v++) {
            const char *want = rfc[i][1 + v];
            size_t el = strlen(want);
            CHECK_EQ(ota_base64_encoded_len(len, v), el);
            CHECK(ota_base64_encode(txt, el + 1, &n, (const uint8_t *)rfc[i][0], len, v) == OTA_OK);
            CHECKF(n == el && strcmp(txt, want) == 0, "encode %s variant %d", want, v);
            CHECK(ota_base64_encode(txt, el, &n, (const uint8_t *)rfc[i][0], len, v) == OTA_ERR_TOO_LONG);
            CHECK(b64dec(out, len, &n, want, v) == OTA_OK && n == len &&
                  memcmp(out, rfc[i][0], len) == 0);
            if (len) CHECKF(b64dec(out, len - 1, &n, want, v) == OTA_ERR_TOO_LONG, "cap-1 %s", want);
        }
    }
    CHECK(ota_base64_encode(txt, sizeof txt, NULL, (const uint8_t *)"x", 1, 7) == OTA_ERR_ARG);
    CHECK(b64dec(out, 8, &n, "Zg==", 2) == OTA_ERR_ARG);
}

static void test_b64_rejects(void)
{
    static const char *const bad_std[] = {
        "Zg=", "Zg", "Z===", "Zh==", "Zm9=", "=Zg=", "Zg=a", "Zm9v====", "Zm-v", "Zm_v",
        "Zm9 ", " m9v", "Zm9v\n", "Z", "Zg==Zg==", "Zm8=Zm8=", "Zm9vY===",
    };
    static const char *const bad_url[] = {
        "Zg==", "Zg=", "Zm8=", "Z", "Zm9vY", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9 ", "Zm9v=",
    };
    uint8_t out[32];
    size_t n;
    for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++)
        CHECKF(b64dec(out, sizeof out, &n, bad_std[i], OTA_B64_STD) == OTA_ERR_ENCODING && n == 0,
               "std accepted \"%s\"", bad_std[i]);
    for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++)
        CHECKF(b64dec(out, sizeof out, &n, bad_url[i], OTA_B64_URL) == OTA_ERR_ENCODING && n == 0,
               "url accepted \"%s\"", bad_url[i]);
    /* Every character outside the alphabet, in every position of a quartet. */
    for (int c = 0; c < 256; c++) {
        int std_ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/';
        int url_ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_';
        for (int pos = 0; pos < 4; pos++) {
            char q[4] = {'A', 'A', 'A', 'A'};
            q[pos] = (char)c;
            CHECKF((ota_base64_decode(out, 3, &n, q, 4, OTA_B64_STD) == OTA_OK) ==
                   (std_ok || (c == '=' && pos == 3)), "std char %d at %d", c, pos);
            CHECKF((ota_base64_decode(out, 3, &n, q, 4, OTA_B64_URL) == OTA_OK) == url_ok,
                   "url char %d at %d", c, pos);
        }
    }
}

/* Random data: our encoding equals libsodium's, decodes back, and every
 * encoding with one stray low bit set in its last character is refused. */
static void test_b64_random(void)
{
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)randombytes_uniform(100), n;
        uint8_t bin[100], back[100];
        char ours[200], ref[200];
        randombytes_buf(bin, len);
        for (int v = 0; v < 2; v++) {
            int sv = v == OTA_B64_URL ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                                      : sodium_base64_VARIANT_ORIGINAL;
            sodium_bin2base64(ref, sizeof ref, bin, len, sv);
            size_t el = ota_base64_encoded_len(len, v);
            char *exact = malloc(el + 1);
            CHECK(ota_base64_encode(exact, el + 1, &n, bin, len, v) == OTA_OK && n == el);
            memcpy(ours, exact, el + 1);
            free(exact);
            CHECKF(strcmp(ours, ref) == 0, "len %zu variant %d: %s vs %s", len, v, ours, ref);
            CHECK(b64dec(back, len, &n, ours, v) == OTA_OK && n == len && memcmp(back, bin, len) == 0);
            /* stray bits: when the last data character carries padding bits */
            size_t chars = strlen(ours);
            while (chars && ours[chars - 1] == '=') chars--;
            if (len % 3) {
                char *t = ours + chars - 1;
                char orig = *t;
                *t = (char)(orig == 'A' ? 'B' : orig == 'Q' ? 'R' : orig == 'g' ? 'h' : orig == 'w' ? 'x' : orig + 1);
                CHECKF(b64dec(back, sizeof back, &n, ours, v) == OTA_ERR_ENCODING, "stray bits %s", ours);
                *t = orig;
            }
        }
    }
}

int main(void)
{
    t_suite_name = "test_encode";
    t_seed_sodium();
    if (sodium_init() < 0) return 2;
    T_RUN(test_hex());
    T_RUN(test_b64_vectors());
    T_RUN(test_b64_rejects());
    T_RUN(test_b64_random());
    return t_done();
}

/*
 * fuzz_hsz.c: bundle encoding 1, heatshrink blocks (common/ota_hsz.c,
 * cli/hsz_enc.c; FORMAT.md 2a).
 * Input: 2 bytes of installed size (LE, 0 taken as 1), then the bundle.
 * Properties: decoding any bytes never reads or writes out of bounds (ASan)
 * and hands the sink at most OTA_HSZ_OUTBUF bytes at a time; fed in two
 * pieces it decides exactly as in one; whatever decodes is reproduced by the
 * encoder's output decoding to the same bytes; and the input itself, taken as
 * a program, round-trips through the encoder and decoder at block size 256.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ota_hsz.h"
#include "../../cli/hsz_enc.h"

#define MAXN 8192

typedef struct { uint8_t *p; size_t len, cap; } buf;

static ota_err sink(void *ctx, const uint8_t *d, size_t n)
{
    buf *b = ctx;
    FUZZ_ASSERT(n >= 1 && n <= OTA_HSZ_OUTBUF, "sink piece of %zu bytes", n);
    if (b->len + n > b->cap) return OTA_ERR_TOO_LONG;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return OTA_OK;
}

static ota_err run(const uint8_t *in, size_t n, uint32_t isz, size_t cut, buf *out)
{
    ota_hsz z;
    out->len = 0;
    ota_err e = ota_hsz_init(&z, isz);
    if (e == OTA_OK) e = ota_hsz_feed(&z, in, cut, sink, out);
    if (e == OTA_OK) e = ota_hsz_feed(&z, in + cut, n - cut, sink, out);
    if (e == OTA_OK) e = ota_hsz_finish(&z);
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t o1[MAXN], o2[MAXN], o3[MAXN];
    if (size < 2) return 0;
    uint32_t isz = (uint32_t)(data[0] | data[1] << 8) % MAXN;
    if (!isz) isz = 1;
    const uint8_t *in = data + 2;
    size_t n = size - 2;
    if (n > MAXN) n = MAXN;

    buf a = { o1, 0, MAXN }, b = { o2, 0, MAXN };
    ota_err e1 = run(in, n, isz, 0, &a);
    ota_err e2 = run(in, n, isz, n / 2, &b);
    FUZZ_ASSERT(e1 == e2, "one piece %d, two pieces %d", (int)e1, (int)e2);
    if (e1 == OTA_OK) {
        FUZZ_ASSERT(a.len == isz && b.len == isz && memcmp(o1, o2, isz) == 0, "pieces decode alike");
        uint8_t *enc = NULL;
        size_t elen = 0;
        FUZZ_ASSERT(hsz_encode(o1, isz, in[3], &enc, &elen) == 0, "re-encode");
        FUZZ_ASSERT(ota_hsz_decode(o3, isz, enc, elen) == OTA_OK && memcmp(o3, o1, isz) == 0, "re-encoded decodes");
        free(enc);
    }

    if (n) {
        uint8_t *enc = NULL;
        size_t elen = 0;
        FUZZ_ASSERT(hsz_encode(in, n, 8, &enc, &elen) == 0, "encode");
        FUZZ_ASSERT(ota_hsz_decode(o3, n, enc, elen) == OTA_OK && memcmp(o3, in, n) == 0, "round trip");
        free(enc);
    }
    return 0;
}

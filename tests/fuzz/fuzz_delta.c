/*
 * fuzz_delta.c: deltas (common/ota_delta.c, cli/delta_enc.c; FORMAT.md 2b).
 * Input: 2 bytes of target size (LE, 0 taken as 1), 2 bytes of base length
 * L, L bytes of base, then the delta's ops (the 76-byte header is made for
 * that base and target size, so the fuzzer works on the ops).
 * Properties: applying any ops never reads outside the base or writes past
 * the output (ASan; the read callback checks its range), never makes more
 * than the target size, hands the sink at most OTA_DELTA_BUF bytes at a
 * time; fed in two pieces it decides exactly as in one; resumed at half the
 * output it makes exactly the second half; and (base, ops as a program)
 * round-trips through the encoder and the applier.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ota_crypto.h"
#include "ota_delta.h"
#include "../../cli/delta_enc.h"

#define MAXN 8192

typedef struct { uint8_t *p; size_t len, cap; } buf;
typedef struct { const uint8_t *p; size_t n; } base_t;

static ota_err sink(void *ctx, const uint8_t *d, size_t n)
{
    buf *b = ctx;
    FUZZ_ASSERT(n >= 1 && n <= OTA_DELTA_BUF, "sink piece of %zu bytes", n);
    FUZZ_ASSERT(b->len + n <= b->cap, "output past the target size");
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return OTA_OK;
}

static ota_err rd(void *ctx, uint32_t off, uint8_t *out, size_t len)
{
    const base_t *b = ctx;
    FUZZ_ASSERT(len >= 1 && len <= OTA_DELTA_BUF && off <= b->n && len <= b->n - off, "read %u+%zu of %zu", off, len, b->n);
    memcpy(out, b->p + off, len);
    return OTA_OK;
}

static ota_err run(const uint8_t *d, size_t dn, const base_t *b, const uint8_t *bs, const uint8_t *ts,
                   uint32_t tsz, uint32_t skip, size_t cut, buf *out)
{
    ota_delta z;
    out->len = 0;
    ota_err e = ota_delta_init(&z, bs, (uint32_t)b->n, ts, tsz);
    if (e == OTA_OK) e = ota_delta_skip(&z, skip);
    if (e == OTA_OK) e = ota_delta_feed(&z, d, cut, rd, (void *)b, sink, out);
    if (e == OTA_OK) e = ota_delta_feed(&z, d + cut, dn - cut, rd, (void *)b, sink, out);
    if (e == OTA_OK) e = ota_delta_finish(&z);
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t o1[MAXN], o2[MAXN], o3[MAXN], d[MAXN + OTA_DELTA_HDR_SIZE];
    if (size < 4) return 0;
    uint32_t tsz = (uint32_t)(data[0] | data[1] << 8) % MAXN;
    if (!tsz) tsz = 1;
    size_t bl = (size_t)(data[2] | data[3] << 8) % MAXN;
    if (bl > size - 4) bl = size - 4;
    base_t b = { data + 4, bl };
    const uint8_t *ops = data + 4 + bl;
    size_t on = size - 4 - bl;
    if (on > MAXN) on = MAXN;
    uint8_t bs[32], ts[32] = {0};
    ota_sha256(bs, b.p, b.n);
    d[0] = OTA_DELTA_MAGIC0; d[1] = OTA_DELTA_MAGIC1; d[2] = OTA_DELTA_VERSION; d[3] = 0;
    for (int i = 0; i < 4; i++) { d[4 + i] = (uint8_t)(bl >> 8 * i); d[8 + i] = (uint8_t)(tsz >> 8 * i); }
    memcpy(d + 12, bs, 32);
    memcpy(d + 44, ts, 32);
    memcpy(d + OTA_DELTA_HDR_SIZE, ops, on);
    size_t dn = OTA_DELTA_HDR_SIZE + on;

    buf a = { o1, 0, tsz }, c = { o2, 0, tsz };
    ota_err e1 = run(d, dn, &b, bs, ts, tsz, 0, 0, &a);
    ota_err e2 = run(d, dn, &b, bs, ts, tsz, 0, dn / 2, &c);
    FUZZ_ASSERT(e1 == e2, "one piece %d, two pieces %d", (int)e1, (int)e2);
    if (e1 == OTA_OK) {
        FUZZ_ASSERT(a.len == tsz && c.len == tsz && memcmp(o1, o2, tsz) == 0, "pieces apply alike");
        buf h = { o3, 0, tsz };
        FUZZ_ASSERT(run(d, dn, &b, bs, ts, tsz, tsz / 2, dn / 3, &h) == OTA_OK, "resumed");
        FUZZ_ASSERT(h.len == tsz - tsz / 2 && memcmp(o3, o1 + tsz / 2, h.len) == 0, "resumed: the second half");
    }
    if (on) {
        uint8_t *enc = NULL, bs2[32], ts2[32];
        size_t elen = 0;
        FUZZ_ASSERT(delta_encode(b.p, b.n, ops, on, &enc, &elen) == 0, "encode");
        ota_sha256(bs2, b.p, b.n);
        ota_sha256(ts2, ops, on);
        FUZZ_ASSERT(ota_delta_apply(o3, on, enc, elen, b.p, b.n, bs2, ts2) == OTA_OK && memcmp(o3, ops, on) == 0,
                    "round trip");
        free(enc);
    }
    return 0;
}

/*
 * delta_enc.c: deltas (FORMAT.md 2b), the encoder.  See delta_enc.h.
 */
#include "delta_enc.h"

#include <stdlib.h>
#include <string.h>

#include "ota_crypto.h"
#include "ota_delta.h"

typedef struct { uint8_t *p; size_t len, cap; int failed; } dbuf;

static void put(dbuf *b, const uint8_t *d, size_t n)
{
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) { b->failed = 1; return; }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void varint(dbuf *b, uint32_t v)
{
    uint8_t t[OTA_DELTA_VARINT_MAX];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v) t[n] |= 0x80;
        n++;
    } while (v);
    put(b, t, n);
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void add(dbuf *b, const uint8_t *t, size_t n)
{
    if (!n) return;
    varint(b, (uint32_t)n << 1);
    put(b, t, n);
}

static uint32_t hash(const uint8_t *p, unsigned bits)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (uint32_t)((v * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

int delta_encode(const uint8_t *base, size_t bn, const uint8_t *target, size_t tn,
                 uint8_t **out, size_t *out_len)
{
    if (!out || !out_len || !target || !tn || (!base && bn) || bn > DELTA_MAX_INPUT || tn > DELTA_MAX_INPUT)
        return -1;
    *out = NULL;
    *out_len = 0;
    dbuf b = {0};
    uint8_t h[OTA_DELTA_HDR_SIZE] = { OTA_DELTA_MAGIC0, OTA_DELTA_MAGIC1, OTA_DELTA_VERSION, 0 };
    le32(h + 4, (uint32_t)bn);
    le32(h + 8, (uint32_t)tn);
    ota_sha256(h + 12, base, bn);
    ota_sha256(h + 44, target, tn);
    put(&b, h, sizeof h);

    enum { K = DELTA_MIN_MATCH, CHAIN = 64 };
    unsigned bits = 10;
    while (bits < 26 && (1u << bits) < 2 * bn) bits++;
    int32_t *head = NULL, *prev = NULL;
    if (bn >= K) {
        head = malloc(sizeof *head << bits);
        prev = malloc(sizeof *prev * bn);
        if (!head || !prev) { free(head); free(prev); return -1; }
        memset(head, 0xFF, sizeof *head << bits);
        for (size_t i = 0; i + K <= bn; i++) {
            uint32_t k = hash(base + i, bits);
            prev[i] = head[k];
            head[k] = (int32_t)i;
        }
    }
    size_t t = 0, lit = 0;
    while (t < tn) {
        size_t best = 0, boff = 0, bback = 0;
        if (head && t + K <= tn) {
            int32_t c = head[hash(target + t, bits)];
            for (int n = 0; c >= 0 && n < CHAIN; n++, c = prev[c]) {
                size_t o = (size_t)c, l = 0, bk = 0;
                while (o + l < bn && t + l < tn && base[o + l] == target[t + l]) l++;
                if (l < K) continue;
                while (t - bk > lit && o - bk > 0 && base[o - bk - 1] == target[t - bk - 1]) bk++;
                if (l + bk > best) { best = l + bk; boff = o - bk; bback = bk; }
            }
        }
        if (best < K) { t++; continue; }
        add(&b, target + lit, t - bback - lit);
        varint(&b, (uint32_t)best << 1 | 1);
        varint(&b, (uint32_t)boff);
        t = t - bback + best;
        lit = t;
    }
    add(&b, target + lit, tn - lit);
    free(head);
    free(prev);
    if (b.failed) { free(b.p); return -1; }
    *out = b.p;
    *out_len = b.len;
    return 0;
}

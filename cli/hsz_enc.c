/*
 * hsz_enc.c: LZSS with heatshrink's bit layout (window 8 bits, lookahead 6
 * bits: Espruino's parameters), one independent stream per block, written
 * from the format in manifests/FORMAT.md section 2a.
 *
 * Parsing: a back-reference costs 15 bits whatever its distance and length,
 * a literal 9, so the cheapest encoding of a block is found exactly by
 * dynamic programming from its end: cost[i] = min(cost[i+1] + 9,
 * cost[i+l] + 15 for l = 2..longest match at i).  The longest match at i is
 * searched over every distance 1..256 within the block (no hash chains: a
 * block is at most 32 KB and the search stops at the first mismatch).
 */
#include <stdlib.h>
#include <string.h>
#include "hsz_enc.h"
#include "ota_hsz.h"

typedef struct { uint8_t *p; size_t len, cap; uint32_t acc; unsigned nbits; } bitw;

static int put_bits(bitw *w, uint32_t v, unsigned n)
{
    while (n--) {
        w->acc = (w->acc << 1) | ((v >> n) & 1);
        if (++w->nbits == 8) {
            if (w->len >= w->cap) return -1;
            w->p[w->len++] = (uint8_t)w->acc;
            w->acc = 0;
            w->nbits = 0;
        }
    }
    return 0;
}

static int flush_bits(bitw *w)
{
    if (!w->nbits) return 0;
    if (w->len >= w->cap) return -1;
    w->p[w->len++] = (uint8_t)(w->acc << (8 - w->nbits));
    w->acc = 0;
    w->nbits = 0;
    return 0;
}

/* One block b[0..n) into w (n <= 32768); ml, md, cost, next: scratch of n+1. */
static int block(bitw *w, const uint8_t *b, size_t n, uint16_t *ml, uint16_t *md,
                 uint32_t *cost, uint16_t *next)
{
    for (size_t i = 0; i < n; i++) {
        size_t best = 0, bd = 0, maxl = n - i < OTA_HSZ_LOOKAHEAD ? n - i : OTA_HSZ_LOOKAHEAD;
        for (size_t d = 1; d <= OTA_HSZ_WINDOW && d <= i; d++) {
            size_t l = 0;
            while (l < maxl && b[i + l] == b[i + l - d]) l++;
            if (l > best) { best = l; bd = d; if (l == maxl) break; }
        }
        ml[i] = (uint16_t)best;
        md[i] = (uint16_t)bd;
    }
    cost[n] = 0;
    for (size_t i = n; i-- > 0;) {
        cost[i] = cost[i + 1] + 9;
        next[i] = 1;
        for (size_t l = 2; l <= ml[i]; l++)
            if (cost[i + l] + 15 < cost[i]) { cost[i] = cost[i + l] + 15; next[i] = (uint16_t)l; }
    }
    for (size_t i = 0; i < n; i += next[i]) {
        if (next[i] == 1) {
            if (put_bits(w, 0x100u | b[i], 9)) return -1;
        } else {
            uint32_t v = ((uint32_t)(md[i] - 1) << 6) | (uint32_t)(next[i] - 1);
            if (put_bits(w, v, 15)) return -1;
        }
    }
    return flush_bits(w);
}

int hsz_encode(const uint8_t *in, size_t n, unsigned log2, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!in || !n || n > 0xFFFFFFFFu || log2 < OTA_HSZ_LOG2_MIN || log2 > OTA_HSZ_LOG2_MAX) return -1;
    size_t bs = (size_t)1 << log2, nblocks = (n + bs - 1) / bs;
    size_t cap = OTA_HSZ_HDR_SIZE + nblocks * (2 + OTA_HSZ_FRAME_MAX(bs));
    bitw w = { malloc(cap), 0, cap, 0, 0 };
    uint16_t *ml = malloc((bs + 1) * sizeof *ml), *md = malloc((bs + 1) * sizeof *md);
    uint16_t *next = malloc((bs + 1) * sizeof *next);
    uint32_t *cost = malloc((bs + 1) * sizeof *cost);
    int rc = -1;
    if (!w.p || !ml || !md || !next || !cost) goto out;
    w.p[0] = OTA_HSZ_MAGIC0;
    w.p[1] = OTA_HSZ_MAGIC1;
    w.p[2] = OTA_HSZ_PARAMS;
    w.p[3] = (uint8_t)log2;
    w.len = OTA_HSZ_HDR_SIZE;
    for (size_t off = 0; off < n; off += bs) {
        size_t len = n - off < bs ? n - off : bs, at = w.len;
        w.len += 2;                     /* the frame length, filled in below */
        if (block(&w, in + off, len, ml, md, cost, next) != 0) goto out;
        size_t fl = w.len - at - 2;
        if (fl < 1 || fl > OTA_HSZ_FRAME_MAX(len)) goto out;
        w.p[at] = (uint8_t)fl;
        w.p[at + 1] = (uint8_t)(fl >> 8);
    }
    *out = w.p;
    *out_len = w.len;
    w.p = NULL;
    rc = 0;
out:
    free(w.p);
    free(ml);
    free(md);
    free(next);
    free(cost);
    return rc;
}

/*
 * ota_delta.c: deltas (FORMAT.md section 2b), the streaming applier.
 * API: ota_delta.h.
 */
#include "ota_delta.h"

enum { PH_HDR = 0, PH_OP, PH_OFF, PH_ADD, PH_DONE };

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int same(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= (uint8_t)(a[i] ^ b[i]);
    return !d;
}

ota_err ota_delta_init(ota_delta *d, const uint8_t base_sha[32], uint32_t base_size,
                       const uint8_t target_sha[32], uint32_t target_size)
{
    if (!d) return OTA_ERR_ARG;
    for (size_t i = 0; i < sizeof *d; i++) ((uint8_t *)d)[i] = 0;
    if (!base_sha || !target_sha || !target_size) { d->err = OTA_ERR_ARG; return OTA_ERR_ARG; }
    for (size_t i = 0; i < 32; i++) { d->base_sha[i] = base_sha[i]; d->target_sha[i] = target_sha[i]; }
    d->base_size = base_size;
    d->target_size = target_size;
    d->phase = PH_HDR;
    return OTA_OK;
}

ota_err ota_delta_skip(ota_delta *d, uint32_t n)
{
    if (!d) return OTA_ERR_ARG;
    if (d->err) return d->err;
    if (d->consumed || n > d->target_size) return OTA_ERR_ARG;
    d->skip = n;
    return OTA_OK;
}

uint32_t ota_delta_out(const ota_delta *d) { return d ? d->done : 0; }

ota_err ota_delta_header(const uint8_t *h, size_t len, uint32_t *base_size, uint32_t *target_size,
                         const uint8_t **base_sha, const uint8_t **target_sha)
{
    if (!h && len) return OTA_ERR_ARG;
    /* what is there must be the magic, the version and zero flags */
    if (len >= 1 && h[0] != OTA_DELTA_MAGIC0) return OTA_ERR_BAD_DELTA;
    if (len >= 2 && h[1] != OTA_DELTA_MAGIC1) return OTA_ERR_BAD_DELTA;
    if (len >= 3 && h[2] != OTA_DELTA_VERSION) return OTA_ERR_BAD_DELTA;
    if (len >= 4 && h[3] != 0) return OTA_ERR_BAD_DELTA;
    if (len < OTA_DELTA_HDR_SIZE) return OTA_ERR_TRUNCATED;
    if (!le32(h + 8)) return OTA_ERR_BAD_DELTA;
    if (base_size) *base_size = le32(h + 4);
    if (target_size) *target_size = le32(h + 8);
    if (base_sha) *base_sha = h + 12;
    if (target_sha) *target_sha = h + 44;
    return OTA_OK;
}

static ota_err flush(ota_delta *d, ota_delta_sink sink, void *ctx)
{
    if (!d->buf_n) return OTA_OK;
    ota_err e = sink(ctx, d->buf, d->buf_n);
    d->buf_n = 0;
    return e;
}

/* One output byte from an ADD (skipped ones are dropped). */
static ota_err put(ota_delta *d, uint8_t c, ota_delta_sink sink, void *ctx)
{
    uint32_t at = d->done++;
    if (at < d->skip) return OTA_OK;
    d->buf[d->buf_n++] = c;
    return d->buf_n == OTA_DELTA_BUF ? flush(d, sink, ctx) : OTA_OK;
}

/* The whole COPY op_left bytes from copy_off: read in pieces straight into
 * buf (after handing over what is pending there). */
static ota_err copy(ota_delta *d, ota_delta_read read, void *rctx, ota_delta_sink sink, void *sctx)
{
    ota_err e;
    /* the part below the skip point: neither read nor handed over */
    if (d->done < d->skip) {
        uint32_t s = d->skip - d->done;
        if (s > d->op_left) s = d->op_left;
        d->done += s;
        d->copy_off += s;
        d->op_left -= s;
    }
    if (!d->op_left) return OTA_OK;
    if (!read) return OTA_ERR_ARG;
    if ((e = flush(d, sink, sctx)) != OTA_OK) return e;
    while (d->op_left) {
        uint32_t n = d->op_left < OTA_DELTA_BUF ? d->op_left : OTA_DELTA_BUF;
        if ((e = read(rctx, d->copy_off, d->buf, n)) != OTA_OK) return e;
        d->copy_off += n;
        d->op_left -= n;
        d->done += n;
        if ((e = sink(sctx, d->buf, n)) != OTA_OK) return e;
    }
    return OTA_OK;
}

/* One byte of a varint: 1 when complete (in d->var), 0 when more, or an error. */
static int varint(ota_delta *d, uint8_t c)
{
    if (d->var_n >= OTA_DELTA_VARINT_MAX) return -1;
    uint32_t bits = (uint32_t)(c & 0x7F);
    if (d->var_n == 4 && bits > 0x0F) return -1;   /* value >= 2^32 */
    d->var |= bits << (7 * d->var_n);
    d->var_n++;
    if (c & 0x80) return d->var_n >= OTA_DELTA_VARINT_MAX ? -1 : 0;
    return 1;
}

static void next_op(ota_delta *d)
{
    d->var = 0;
    d->var_n = 0;
    d->phase = d->done == d->target_size ? PH_DONE : PH_OP;
}

ota_err ota_delta_feed(ota_delta *d, const uint8_t *in, size_t len,
                       ota_delta_read read, void *rctx, ota_delta_sink sink, void *sctx)
{
    if (!d || (!in && len) || !sink) return OTA_ERR_ARG;
    if (d->err) return d->err;
    ota_err e = OTA_OK;
    size_t i = 0;
    while (i < len && e == OTA_OK) {
        if (d->phase == PH_ADD) {
            /* literal bytes: as many as this piece holds */
            while (i < len && d->op_left && e == OTA_OK) {
                d->consumed++;
                d->op_left--;
                e = put(d, in[i++], sink, sctx);
            }
            if (e == OTA_OK && !d->op_left) next_op(d);
            continue;
        }
        uint8_t c = in[i++];
        d->consumed++;
        int v;
        switch (d->phase) {
        case PH_HDR:
            d->hdr[d->hdr_n++] = c;
            e = ota_delta_header(d->hdr, d->hdr_n, NULL, NULL, NULL, NULL);
            if (e == OTA_ERR_TRUNCATED) { e = OTA_OK; break; }
            if (e != OTA_OK) break;
            if (le32(d->hdr + 4) != d->base_size || !same(d->hdr + 12, d->base_sha, 32) ||
                le32(d->hdr + 8) != d->target_size || !same(d->hdr + 44, d->target_sha, 32)) {
                e = OTA_ERR_DELTA_BASE;
                break;
            }
            next_op(d);
            break;
        case PH_OP:
            v = varint(d, c);
            if (v < 0) { e = OTA_ERR_BAD_DELTA; break; }
            if (!v) break;
            {
                uint32_t n = d->var >> 1, kind = d->var & 1;
                /* never more output than the target size */
                if (!n || n > d->target_size - d->done) { e = OTA_ERR_BAD_DELTA; break; }
                d->var = 0;
                d->var_n = 0;
                if (kind) { d->copy_len = n; d->phase = PH_OFF; }
                else { d->op_left = n; d->phase = PH_ADD; }
            }
            break;
        case PH_OFF:
            v = varint(d, c);
            if (v < 0) { e = OTA_ERR_BAD_DELTA; break; }
            if (!v) break;
            /* inside the base */
            if (d->var > d->base_size || d->copy_len > d->base_size - d->var) { e = OTA_ERR_BAD_DELTA; break; }
            d->copy_off = d->var;
            d->op_left = d->copy_len;
            e = copy(d, read, rctx, sink, sctx);
            if (e == OTA_OK) next_op(d);
            break;
        default:
            e = OTA_ERR_TOO_LONG;    /* a byte after the last op */
            break;
        }
    }
    if (e == OTA_OK) e = flush(d, sink, sctx);
    if (e != OTA_OK) d->err = e;
    return e;
}

ota_err ota_delta_finish(const ota_delta *d)
{
    if (!d) return OTA_ERR_ARG;
    if (d->err) return d->err;
    return d->phase == PH_DONE ? OTA_OK : OTA_ERR_TRUNCATED;
}

typedef struct { uint8_t *p; size_t left; } mem_sink;
typedef struct { const uint8_t *p; size_t n; } mem_base;

static ota_err to_mem(void *ctx, const uint8_t *data, size_t n)
{
    mem_sink *m = (mem_sink *)ctx;
    if (n > m->left) return OTA_ERR_TOO_LONG;
    for (size_t i = 0; i < n; i++) m->p[i] = data[i];
    m->p += n;
    m->left -= n;
    return OTA_OK;
}

static ota_err from_mem(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    const mem_base *b = (const mem_base *)ctx;
    if (off > b->n || len > b->n - off) return OTA_ERR_ARG;
    for (size_t i = 0; i < len; i++) buf[i] = b->p[off + i];
    return OTA_OK;
}

ota_err ota_delta_apply(uint8_t *out, size_t out_len, const uint8_t *delta, size_t delta_len,
                        const uint8_t *base, size_t base_len,
                        const uint8_t base_sha[32], const uint8_t target_sha[32])
{
    ota_delta d;
    mem_sink m;
    mem_base b;
    if (!out || !delta || (!base && base_len) || !out_len || out_len > 0xFFFFFFFFu ||
        base_len > 0xFFFFFFFFu)
        return OTA_ERR_ARG;
    m.p = out;
    m.left = out_len;
    b.p = base;
    b.n = base_len;
    ota_err e = ota_delta_init(&d, base_sha, (uint32_t)base_len, target_sha, (uint32_t)out_len);
    if (e == OTA_OK) e = ota_delta_feed(&d, delta, delta_len, from_mem, &b, to_mem, &m);
    if (e == OTA_OK) e = ota_delta_finish(&d);
    return e;
}

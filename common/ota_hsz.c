/*
 * ota_hsz.c: bundle encoding 1 (heatshrink blocks), the streaming decoder.
 * Format: manifests/FORMAT.md section 2a; API: ota_hsz.h.  Written from the
 * format (a tag bit, 1 = literal of 8 bits, 0 = back-reference of 8 bits of
 * distance - 1 and 6 bits of length - 1, most significant bit first), not
 * from heatshrink's code.
 */
#include "ota_hsz.h"

enum { PH_HDR = 0, PH_LEN, PH_DATA, PH_DONE };

static void reset_block(ota_hsz *z)
{
    z->block_done = 0;
    z->acc = 0;
    z->nbits = 0;
    z->hdr_n = 0;
    uint32_t left = z->installed_size - z->installed_done;
    z->block_len = left < z->block_size ? left : z->block_size;
    z->phase = left ? PH_LEN : PH_DONE;
}

ota_err ota_hsz_init(ota_hsz *z, uint32_t installed_size)
{
    if (!z) return OTA_ERR_ARG;
    for (size_t i = 0; i < sizeof *z; i++) ((uint8_t *)z)[i] = 0;
    if (!installed_size) { z->err = OTA_ERR_ARG; return OTA_ERR_ARG; }
    z->installed_size = installed_size;
    z->phase = PH_HDR;
    return OTA_OK;
}

ota_err ota_hsz_init_at(ota_hsz *z, uint32_t installed_size, unsigned log2, uint32_t block)
{
    ota_err e = ota_hsz_init(z, installed_size);
    if (e != OTA_OK) return e;
    if (log2 < OTA_HSZ_LOG2_MIN || log2 > OTA_HSZ_LOG2_MAX ||
        (uint64_t)block << log2 >= installed_size) {
        z->err = OTA_ERR_ARG;
        return OTA_ERR_ARG;
    }
    z->block_size = 1u << log2;
    z->installed_done = block << log2;
    reset_block(z);
    return OTA_OK;
}

uint32_t ota_hsz_block_size(const ota_hsz *z) { return z ? z->block_size : 0; }

int ota_hsz_at_frame(const ota_hsz *z)
{
    return z && !z->err && ((z->phase == PH_LEN && z->hdr_n == 0) || z->phase == PH_DONE);
}

uint32_t ota_hsz_installed(const ota_hsz *z) { return z ? z->installed_done : 0; }

static ota_err flush(ota_hsz *z, ota_hsz_sink sink, void *ctx)
{
    if (!z->out_n) return OTA_OK;
    ota_err e = sink(ctx, z->out, z->out_n);
    z->out_n = 0;
    return e;
}

static ota_err put(ota_hsz *z, uint8_t c, ota_hsz_sink sink, void *ctx)
{
    z->win[z->block_done & (OTA_HSZ_WINDOW - 1)] = c;
    z->block_done++;
    z->installed_done++;
    z->out[z->out_n++] = c;
    return z->out_n == OTA_HSZ_OUTBUF ? flush(z, sink, ctx) : OTA_OK;
}

/* Decode every whole item in the accumulator.  At the end of the frame the
 * block must be complete and the bits left (< 8) zero. */
static ota_err items(ota_hsz *z, ota_hsz_sink sink, void *ctx)
{
    ota_err e;
    while (z->block_done < z->block_len && z->nbits >= 1) {
        uint32_t tag = (z->acc >> (z->nbits - 1)) & 1;
        if (tag) {
            if (z->nbits < 9) break;
            z->nbits -= 9;
            if ((e = put(z, (uint8_t)(z->acc >> z->nbits), sink, ctx)) != OTA_OK) return e;
        } else {
            if (z->nbits < 15) break;
            z->nbits -= 15;
            uint32_t v = z->acc >> z->nbits;
            uint32_t dist = ((v >> 6) & 0xFF) + 1, n = (v & 0x3F) + 1;
            if (dist > z->block_done || n > z->block_len - z->block_done) return OTA_ERR_BAD_BLOCK;
            while (n--) {
                uint8_t c = z->win[(z->block_done - dist) & (OTA_HSZ_WINDOW - 1)];
                if ((e = put(z, c, sink, ctx)) != OTA_OK) return e;
            }
        }
        z->acc &= (1u << z->nbits) - 1;
    }
    if (z->block_done == z->block_len) {
        /* the block is whole: the frame must end here, with zero padding */
        if (z->frame_left || z->nbits >= 8 || z->acc) return OTA_ERR_BAD_BLOCK;
        if ((e = flush(z, sink, ctx)) != OTA_OK) return e;
        reset_block(z);
    } else if (!z->frame_left) {
        return OTA_ERR_BAD_BLOCK;    /* frame over, block short */
    }
    return OTA_OK;
}

ota_err ota_hsz_feed(ota_hsz *z, const uint8_t *in, size_t len, ota_hsz_sink sink, void *ctx)
{
    if (!z || (!in && len) || !sink) return OTA_ERR_ARG;
    if (z->err) return z->err;
    ota_err e = OTA_OK;
    size_t i = 0;
    while (i < len && e == OTA_OK) {
        uint8_t c = in[i++];
        z->consumed++;
        switch (z->phase) {
        case PH_HDR:
            z->hdr[z->hdr_n++] = c;
            if (z->hdr_n < OTA_HSZ_HDR_SIZE) break;
            if (z->hdr[0] != OTA_HSZ_MAGIC0 || z->hdr[1] != OTA_HSZ_MAGIC1 ||
                z->hdr[2] != OTA_HSZ_PARAMS || z->hdr[3] < OTA_HSZ_LOG2_MIN ||
                z->hdr[3] > OTA_HSZ_LOG2_MAX) { e = OTA_ERR_BAD_BLOCK; break; }
            z->block_size = 1u << z->hdr[3];
            reset_block(z);
            break;
        case PH_LEN:
            z->hdr[z->hdr_n++] = c;
            if (z->hdr_n < 2) break;
            z->frame_left = (uint32_t)z->hdr[0] | (uint32_t)z->hdr[1] << 8;
            if (!z->frame_left || z->frame_left > OTA_HSZ_FRAME_MAX(z->block_len)) { e = OTA_ERR_BAD_BLOCK; break; }
            z->phase = PH_DATA;
            break;
        case PH_DATA:
            z->acc = (z->acc << 8) | c;
            z->nbits += 8;
            z->frame_left--;
            e = items(z, sink, ctx);
            break;
        default:
            e = OTA_ERR_TOO_LONG;    /* a byte after the last frame */
            break;
        }
    }
    if (e == OTA_OK) e = flush(z, sink, ctx);
    if (e != OTA_OK) z->err = e;
    return e;
}

ota_err ota_hsz_finish(const ota_hsz *z)
{
    if (!z) return OTA_ERR_ARG;
    if (z->err) return z->err;
    return z->phase == PH_DONE ? OTA_OK : OTA_ERR_TRUNCATED;
}

typedef struct { uint8_t *p; size_t left; } mem_sink;

static ota_err to_mem(void *ctx, const uint8_t *d, size_t n)
{
    mem_sink *m = (mem_sink *)ctx;
    if (n > m->left) return OTA_ERR_TOO_LONG;
    for (size_t i = 0; i < n; i++) m->p[i] = d[i];
    m->p += n;
    m->left -= n;
    return OTA_OK;
}

ota_err ota_hsz_decode(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len)
{
    ota_hsz z;
    mem_sink m;
    if (!out || !in || !out_len || out_len > 0xFFFFFFFFu) return OTA_ERR_ARG;
    m.p = out;
    m.left = out_len;
    ota_err e = ota_hsz_init(&z, (uint32_t)out_len);
    if (e == OTA_OK) e = ota_hsz_feed(&z, in, in_len, to_mem, &m);
    if (e == OTA_OK) e = ota_hsz_finish(&z);
    return e;
}

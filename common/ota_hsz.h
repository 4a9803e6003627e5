/*
 * ota_hsz.h: bundle encoding 1 ("heatshrink blocks"), the decoder.  The
 * format is manifests/FORMAT.md section 2a (authoritative); in short:
 *
 *   header  "HS", 0x86 (window bits 8 << 4 | lookahead bits 6), log2 of the
 *           block size B (8..15)
 *   blocks  n = ceil(installed_size / B) frames, each a u16 LE length L
 *           (1..OTA_HSZ_FRAME_MAX(B)) then L bytes: one heatshrink stream
 *           (window 8, lookahead 6, the parameters every Espruino firmware
 *           has built in) that decodes to exactly B bytes (the last block:
 *           the rest), with no back-reference before the block's start, then
 *           fewer than 8 zero padding bits.  Nothing after the last frame.
 *
 * Every block is independent, so a device decodes one block with bounded RAM
 * (this decoder: one struct of 364 bytes, no buffer of the block; the
 * Espruino agent: require("heatshrink").decompress on one frame) and can
 * resume at any block boundary.
 *
 * Rules as the rest of common/: no heap, no mutable statics, no stdio; the
 * caller owns the struct; errors are sticky; OTA_ERR_BAD_BLOCK for any
 * violation of the format (never a crash, never a byte past a buffer).
 */
#ifndef OTA_HSZ_H
#define OTA_HSZ_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"

#define OTA_HSZ_HDR_SIZE     4
#define OTA_HSZ_MAGIC0       0x48     /* 'H' */
#define OTA_HSZ_MAGIC1       0x53     /* 'S' */
#define OTA_HSZ_PARAMS       0x86     /* window bits 8, lookahead bits 6 */
#define OTA_HSZ_WINDOW       256      /* back-reference distance 1..256 */
#define OTA_HSZ_LOOKAHEAD    64       /* back-reference length 1..64 */
#define OTA_HSZ_LOG2_MIN     8        /* block size 256 B .. */
#define OTA_HSZ_LOG2_MAX     15       /* .. 32 KB */
#define OTA_HSZ_LOG2_DEFAULT 11       /* 2 KB: what `otasign release` writes */
/* Largest frame for a block of b bytes: b literals of 9 bits, rounded up. */
#define OTA_HSZ_FRAME_MAX(b) (((b) * 9u + 7u) / 8u)
#define OTA_HSZ_OUTBUF       64       /* bytes handed to the sink at a time (at most) */

/* Receives decoded (installed) bytes in order; a non-OTA_OK return stops the
 * decoder with that error. */
typedef ota_err (*ota_hsz_sink)(void *ctx, const uint8_t *data, size_t len);

/* Streaming decoder state: caller-owned, no pointers, may be copied. */
typedef struct ota_hsz {
    uint8_t  win[OTA_HSZ_WINDOW];  /* the block's last 256 output bytes (ring) */
    uint8_t  out[OTA_HSZ_OUTBUF];  /* decoded bytes not yet given to the sink */
    uint32_t installed_size;       /* from the statement */
    uint32_t installed_done;       /* bytes decoded so far (handed over or in out[]) */
    uint32_t block_size;           /* B, from the header */
    uint32_t block_done;           /* bytes of the current block decoded */
    uint32_t block_len;            /* bytes the current block must decode to */
    uint32_t frame_left;           /* bytes of the current frame not yet read */
    uint32_t consumed;             /* transferred bytes read so far */
    uint32_t acc;                  /* bit accumulator (MSB first), nbits valid low bits */
    uint8_t  nbits;
    uint8_t  phase;                /* private */
    uint8_t  hdr[OTA_HSZ_HDR_SIZE];/* header / frame length bytes being collected */
    uint8_t  hdr_n;
    uint8_t  out_n;
    ota_err  err;                  /* sticky */
} ota_hsz;

/* Start decoding a bundle of encoding 1 whose statement says installed_size
 * (>= 1).  OTA_ERR_ARG for NULL or 0. */
ota_err ota_hsz_init(ota_hsz *z, uint32_t installed_size);

/* Start at the frame of block `block` (0-based) of a bundle whose header was
 * already checked, with block size 2^log2 (resuming at a block boundary: the
 * caller knows where in the transferred bytes that frame starts).
 * OTA_ERR_ARG when log2 or block is out of range for installed_size. */
ota_err ota_hsz_init_at(ota_hsz *z, uint32_t installed_size, unsigned log2, uint32_t block);

/* Decode the next len transferred bytes, handing installed bytes to sink in
 * order (in pieces of at most OTA_HSZ_OUTBUF bytes; every byte decoded by the
 * time this returns has been handed over).  OTA_ERR_BAD_BLOCK on a format
 * violation, the sink's error, OTA_ERR_TOO_LONG for bytes after the last
 * frame; sticky. */
ota_err ota_hsz_feed(ota_hsz *z, const uint8_t *in, size_t len, ota_hsz_sink sink, void *ctx);

/* OTA_OK when the bundle is complete: every block decoded, nothing more
 * expected.  OTA_ERR_TRUNCATED when more bytes were due; the sticky error if
 * one occurred. */
ota_err ota_hsz_finish(const ota_hsz *z);

/* 1 when the decoder stands at the start of a frame (every block before it
 * decoded and handed over) or at the end of the bundle: a point to resume
 * from (ota_hsz_init_at) after a power cut.  0 otherwise or after an error. */
int ota_hsz_at_frame(const ota_hsz *z);

/* Installed bytes decoded so far (all handed to the sink). */
uint32_t ota_hsz_installed(const ota_hsz *z);

/* The block size of the bundle (0 before its header was read). */
uint32_t ota_hsz_block_size(const ota_hsz *z);

/* One whole bundle in memory, decoded into out[0..out_len) (out_len must be
 * the statement's installed size).  For tools, tests and devices with the
 * RAM. */
ota_err ota_hsz_decode(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len);

#endif

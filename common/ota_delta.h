/*
 * ota_delta.h: deltas (manifests/FORMAT.md section 2b, authoritative), the
 * applier.  A delta turns the program a device has confirmed (the "base",
 * named by its installed SHA-256) into a new program (the "target", named by
 * the statement's installed SHA-256).  It is not signed: otad (or otasign)
 * makes it per (base, target) pair, and the device verifies what it built
 * against the signed installed hash, falling back to the full bundle.
 *
 *   header  76 bytes: "OD", version 1, flags 0, base size u32 LE, target
 *           size u32 LE, base installed sha256, target installed sha256
 *   ops     until exactly target-size bytes are out, each a varint h
 *           (LEB128, at most 5 bytes, < 2^32); n = h >> 1 >= 1;
 *             h & 1 == 0  ADD:  n bytes follow, copied to the output
 *             h & 1 == 1  COPY: a varint offset follows; base[offset ..
 *                          offset + n) (inside the base) to the output
 *           Nothing after the last op.
 *
 * Streaming, bounded: the applier reads the base through a callback (flash,
 * a file) in pieces of at most OTA_DELTA_BUF bytes, hands output in pieces
 * of at most OTA_DELTA_BUF bytes to a sink, never makes more than the target
 * size, and can skip the output already written (resume after a power cut:
 * the ops are walked again, bytes below the skip point are neither read from
 * the base nor handed over).
 *
 * Rules as the rest of common/: no heap, no mutable statics, no stdio; the
 * caller owns the struct; errors are sticky.  OTA_ERR_BAD_DELTA for any
 * violation of the format, OTA_ERR_DELTA_BASE for a delta made for another
 * base or target, OTA_ERR_TRUNCATED for a delta that ends early,
 * OTA_ERR_TOO_LONG for bytes after the last op.
 */
#ifndef OTA_DELTA_H
#define OTA_DELTA_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"

#define OTA_DELTA_HDR_SIZE 76
#define OTA_DELTA_MAGIC0   0x4F     /* 'O' */
#define OTA_DELTA_MAGIC1   0x44     /* 'D' */
#define OTA_DELTA_VERSION  1
#define OTA_DELTA_BUF      64       /* bytes read from the base / handed to the sink at a time (at most) */
#define OTA_DELTA_VARINT_MAX 5

/* Reads base[off .. off + len) into buf (len <= OTA_DELTA_BUF; the range is
 * inside the base size the delta was checked against). */
typedef ota_err (*ota_delta_read)(void *ctx, uint32_t off, uint8_t *buf, size_t len);
/* Receives output (target) bytes in order; a non-OTA_OK return stops the
 * applier with that error. */
typedef ota_err (*ota_delta_sink)(void *ctx, const uint8_t *data, size_t len);

/* Applier state: caller-owned, no pointers, may be copied. */
typedef struct ota_delta {
    uint8_t  hdr[OTA_DELTA_HDR_SIZE]; /* the header being collected */
    uint8_t  buf[OTA_DELTA_BUF];      /* output not yet handed over / base bytes */
    uint8_t  base_sha[32];            /* what the caller has */
    uint8_t  target_sha[32];          /* what the statement says */
    uint32_t base_size, target_size;
    uint32_t done;                    /* output bytes made (handed over or skipped or in buf) */
    uint32_t skip;                    /* output bytes [0, skip) are not handed over */
    uint32_t consumed;                /* delta bytes read */
    uint32_t op_left;                 /* ADD bytes still to read / COPY bytes to make */
    uint32_t copy_len;                /* the COPY's length while its offset is read */
    uint32_t copy_off;                /* next base offset of the COPY */
    uint32_t var;                     /* varint being read */
    uint8_t  var_n;
    uint8_t  hdr_n;
    uint8_t  buf_n;
    uint8_t  phase;                   /* private */
    ota_err  err;                     /* sticky */
} ota_delta;

/* Start applying a delta that must turn the base (base_size bytes hashing
 * to base_sha) into the target (target_size >= 1 bytes that the statement
 * says hash to target_sha).  OTA_ERR_ARG for NULL or target_size 0. */
ota_err ota_delta_init(ota_delta *d, const uint8_t base_sha[32], uint32_t base_size,
                       const uint8_t target_sha[32], uint32_t target_size);

/* Resume: output bytes [0, n) were written before (n <= target size); they
 * are made again from the ops but neither read from the base nor handed to
 * the sink.  Call after init, before the first feed. */
ota_err ota_delta_skip(ota_delta *d, uint32_t n);

/* Apply the next len delta bytes.  read may be NULL only when no COPY needs
 * it (tests).  Sticky errors as above, or the callbacks' own. */
ota_err ota_delta_feed(ota_delta *d, const uint8_t *in, size_t len,
                       ota_delta_read read, void *rctx, ota_delta_sink sink, void *sctx);

/* OTA_OK when the whole target was made and handed over; OTA_ERR_TRUNCATED
 * when the delta ended early; the sticky error if one occurred. */
ota_err ota_delta_finish(const ota_delta *d);

/* Output bytes made so far (including skipped ones). */
uint32_t ota_delta_out(const ota_delta *d);

/* The header fields of a delta (for tools): OTA_ERR_BAD_DELTA or
 * OTA_ERR_TRUNCATED when hdr is not a delta header.  Any out pointer may be
 * NULL. */
ota_err ota_delta_header(const uint8_t *hdr, size_t len, uint32_t *base_size, uint32_t *target_size,
                         const uint8_t **base_sha, const uint8_t **target_sha);

/* One delta in memory applied to a base in memory into out[0..out_len)
 * (out_len = the target size); the caller then checks the installed hash. */
ota_err ota_delta_apply(uint8_t *out, size_t out_len, const uint8_t *delta, size_t delta_len,
                        const uint8_t *base, size_t base_len,
                        const uint8_t base_sha[32], const uint8_t target_sha[32]);

#endif

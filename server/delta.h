/*
 * delta.h: deltas for the compact offer (FORMAT.md 2b, 6b tag `D`).
 *
 * When a compact poll's s= names a release otad has and the offer is another
 * release, otad makes the delta from the one program to the other (on
 * demand, cli/delta_enc.c), keeps it in DATA/deltas/<sha256 hex> (temp file,
 * fsync, rename: content-addressed, so a restart or another request finds
 * the same file) and remembers the pair in a small in-memory cache.  The
 * delta is offered only when it is at most SRV_DELTA_MAX_PCT % of the bundle
 * as transferred and at least SRV_DELTA_MIN_SAVING bytes smaller.  No store op: the files are a cache, remade when missing.
 */
#ifndef OTAD_DELTA_H
#define OTAD_DELTA_H

#include <stdbool.h>
#include <stdint.h>

struct srv_rel;

#define SRV_DELTA_MAX_PCT   75          /* offered only when this small against the bundle */
#define SRV_DELTA_MIN_SAVING 256       /* .. and saves at least this many bytes */
#define SRV_DELTA_MAX_PROG  (1u << 20)  /* programs above 1 MB: no delta */
#define SRV_DELTA_TAG_SIZE  68          /* base installed sha256, delta sha256, u32 BE size */

/* The `D` tag's value for an offer of `target` to a device running `base`
 * (both from the snapshot), or false when there is none worth sending (the
 * same program, too large, not small enough, an I/O error: the offer is then
 * made without it). */
bool srv_delta_tag(const struct srv_rel *base, const struct srv_rel *target,
                   uint8_t tag[SRV_DELTA_TAG_SIZE]);

/* Path of a delta file by its sha256 hex (64 lower-case hex characters). */
void srv_delta_path(char *out, size_t cap, const char *sha_hex);

#endif

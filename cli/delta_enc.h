/*
 * delta_enc.h: the encoder of deltas (manifests/FORMAT.md section 2b); the
 * applier is common/ota_delta.c.  Shared by otasign (`otasign delta`) and
 * otad (the `D` offer tag, FORMAT.md 6b).
 */
#ifndef DELTA_ENC_H
#define DELTA_ENC_H

#include <stddef.h>
#include <stdint.h>

/* The shortest match worth a COPY (bytes). */
#define DELTA_MIN_MATCH 8
/* Largest base or target the encoder takes (16 MB: far above any program). */
#define DELTA_MAX_INPUT (16u << 20)

/* Make the delta that turns base[0..bn) into target[0..tn) (tn >= 1; bn may
 * be 0) into a new malloc'd buffer *out of *out_len bytes.  Greedy: every
 * base position is indexed by a hash of its next DELTA_MIN_MATCH bytes;
 * each target position takes the longest match among up to 64 candidates,
 * extended backwards into the pending literal bytes.  0 ok, -1 out of
 * memory or bad arguments (sizes over DELTA_MAX_INPUT). */
int delta_encode(const uint8_t *base, size_t bn, const uint8_t *target, size_t tn,
                 uint8_t **out, size_t *out_len);

/* `otasign delta` (cli/cmd_delta.c). */
int cmd_delta(int argc, char **argv);

#endif

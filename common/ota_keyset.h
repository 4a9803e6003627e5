/*
 * ota_keyset.h: the key-set statement (which release keys are valid now,
 * signed by k of the device's root keys) and its power-cut-safe storage on
 * the device's flash.  Byte layouts and the numbered decision steps:
 * manifests/FORMAT.md section 13 (authoritative; the constants below are its
 * table).  Table of contents:
 *
 *   statement   ota_keyset_parse, ota_keyset_verify, ota_keyset_encode
 *   keys        ota_keyset_key, ota_keyset_trusted (the release keys a
 *               device trusts once the set is accepted)
 *   storage     ota_keyset_store_check, ota_keyset_load, ota_keyset_update
 *
 * Trust model (TUF-style, sized for an MCU): a device is provisioned with
 * one or more ROOT public keys and a root threshold k (how many distinct
 * roots must sign a key set).  Root keys stay offline.  A key set lists the
 * release keys valid from now on, with a version that only grows; the
 * device stores the newest one it accepted and from then on trusts exactly
 * the release keys it lists (the provisioned release keys only while no key
 * set is stored).  Revocation = a new key set without the key.
 *
 * A key set can only RAISE the number of root signatures a device demands
 * (its own threshold byte), never lower the provisioned one: otherwise one
 * stolen root key could sign a "k = 1" set.
 *
 * Rules as for ota_release.h: freestanding (no heap, no mutable statics, no
 * stdio); every input has a length; views point INTO THE CALLER'S BUFFER;
 * every function returns ota_err, OTA_OK meaning valid/accepted; on error
 * the output view is zeroed.
 */
#ifndef OTA_KEYSET_H
#define OTA_KEYSET_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"
#include "ota_flash.h"
#include "ota_release.h"

/* ---- constants (FORMAT.md section 13) --------------------------------------- */
#define OTA_KEYSET_MAGIC          "OTKS"
#define OTA_KEYSET_FORMAT_VERSION 1
#define OTA_KEYSET_MAX_KEYS       8     /* release keys listed, 1..8 */
#define OTA_KEYSET_MAX_SIGS       8     /* root signatures attached, 1..8 */
#define OTA_KEYSET_MAX_THRESHOLD  8
#define OTA_KEYSET_ENTRY_SIZE     (OTA_KEY_ID_SIZE + OTA_ED25519_PUB_SIZE)   /* 40: id, pub */
#define OTA_KEYSET_HDR_SIZE       32
#define OTA_KEYSET_BODY_SIZE      (OTA_KEYSET_HDR_SIZE + OTA_KEYSET_MAX_KEYS * OTA_KEYSET_ENTRY_SIZE) /* 352 */
#define OTA_KEYSET_SIG_ENTRY_SIZE (OTA_KEY_ID_SIZE + OTA_SIG_SIZE)            /* 72: root id, sig */
#define OTA_KEYSET_MIN_SIZE       (OTA_KEYSET_BODY_SIZE + OTA_KEYSET_SIG_ENTRY_SIZE)  /* 424 */
#define OTA_KEYSET_MAX_SIZE       (OTA_KEYSET_BODY_SIZE + OTA_KEYSET_MAX_SIGS * OTA_KEYSET_SIG_ENTRY_SIZE) /* 928 */

/* Storage record on flash: a 64-byte header, then the key-set bytes. */
#define OTA_KEYSET_REC_MAGIC      "OTKR"
#define OTA_KEYSET_REC_HDR_SIZE   64

/* ---- view -------------------------------------------------------------------- */

/* A parsed key set.  Pointers refer to the buffer given to parse/verify. */
typedef struct ota_keyset {
    uint8_t  format;             /* format version (1) */
    uint8_t  threshold;          /* root signatures this set itself demands (1..8) */
    uint8_t  n_keys;             /* release keys listed (1..8) */
    uint8_t  n_sigs;             /* signature entries attached (0 for a bare body) */
    uint8_t  n_valid;            /* verify only: distinct provisioned roots whose signature verified */
    uint64_t version;            /* key-set version, >= 1, only grows */
    uint64_t created;            /* Unix seconds UTC (informational) */
    uint64_t expires;            /* Unix seconds UTC, 0 = never (hosts check it; devices have no clock) */
    const uint8_t *keys;         /* n_keys entries of OTA_KEYSET_ENTRY_SIZE: key id, then public key */
    const uint8_t *body;         /* the OTA_KEYSET_BODY_SIZE signed bytes */
    const uint8_t *sigs;         /* n_sigs entries of OTA_KEYSET_SIG_ENTRY_SIZE: root key id, signature */
} ota_keyset;

/* ---- statement ------------------------------------------------------------------ */

/* Structural parse, NO signature check: framing (steps 1-2 of FORMAT.md
 * section 13.3) and the field rules (step 4).  len is OTA_KEYSET_BODY_SIZE
 * (a bare body as `otasign keyset make --unsigned` writes it; n_sigs 0) or
 * OTA_KEYSET_BODY_SIZE + m * OTA_KEYSET_SIG_ENTRY_SIZE with m 1..8.
 * Errors: OTA_ERR_ARG, OTA_ERR_BAD_MAGIC, OTA_ERR_TRUNCATED, OTA_ERR_VERSION,
 * OTA_ERR_MALFORMED.  Use it to display, never to trust. */
ota_err ota_keyset_parse(ota_keyset *out, const uint8_t *buf, size_t len);

/* The device's decision on a key set (FORMAT.md section 13.3, steps 1-7):
 *   1 framing (BAD_MAGIC, TRUNCATED, VERSION, MALFORMED for a length that
 *     is not body + 1..8 signature entries)
 *   2 signature entries: the same root key id twice -> MALFORMED
 *   3 every entry whose key id is one of `roots` must verify over the body
 *     (BAD_KEY for an unusable root, BAD_SIGNATURE); entries by other roots
 *     are not counted; fewer than max(1, threshold) verified -> UNKNOWN_KEY
 *   4 field rules -> MALFORMED
 *   5 fewer verified than the set's own threshold byte -> UNKNOWN_KEY
 *   6 version not strictly above current_version -> NOT_NEWER
 *     (current_version 0: no key set stored yet)
 * threshold is the device's provisioned root threshold (0 is taken as 1).
 * OTA_OK: *out is the accepted set (n_valid set). */
ota_err ota_keyset_verify(ota_keyset *out, const uint8_t *buf, size_t len,
                          const ota_trusted_key *roots, size_t n_roots, uint8_t threshold,
                          uint64_t current_version);

/* Lay out the OTA_KEYSET_BODY_SIZE bytes the roots sign: version (>= 1),
 * threshold (1..8), created, expires (0 or > created), keys[0..n_keys)
 * (1..8, ids must equal ota_release_key_id(pub), no duplicates).  Nothing
 * is written and OTA_ERR_MALFORMED returned when a rule is broken
 * (OTA_ERR_ARG for NULL).  Each root signs `out` with Ed25519; the set is
 * the body followed by (root key id, signature) entries. */
ota_err ota_keyset_encode(uint8_t out[OTA_KEYSET_BODY_SIZE], uint64_t version, uint8_t threshold,
                          uint64_t created, uint64_t expires,
                          const ota_trusted_key *keys, size_t n_keys);

/* ---- keys ------------------------------------------------------------------------- */

/* Copy release key i (0..n_keys-1) of a parsed/verified set.  OTA_ERR_ARG
 * when out of range. */
ota_err ota_keyset_key(ota_trusted_key *out, const ota_keyset *ks, size_t i);

/* Copy every release key of the set into out (the device's release-key
 * list for ota_device.release_keys); returns their number (0 for NULL). */
size_t ota_keyset_trusted(ota_trusted_key out[OTA_KEYSET_MAX_KEYS], const ota_keyset *ks);

/* ---- storage (power-cut safe) --------------------------------------------------------
 *
 * Two copies, each a page-aligned region of whole pages (FORMAT.md 13.5):
 * a record is a 64-byte header (magic OTKR, version 1, key-set length,
 * journal sequence, SHA-256 over header bytes 0..31 and the key set) at the
 * start of the region, then the key-set bytes at offset 64.  The valid copy
 * (hash intact AND the set verifies against the roots) with the highest
 * journal sequence is the current key set.  An update erases and writes
 * only the copy that does NOT hold the current set (payload first, header
 * last), so a power cut at any flash operation leaves the old set or the
 * new one, never neither - the boot record's journal discipline. */
typedef struct ota_keyset_store {
    const ota_flash *flash;      /* the port (ota_flash.h) */
    ota_region copy[2];          /* the two copies; each >= 64 + 928 bytes rounded to write_align */
} ota_keyset_store;

/* The current key set as loaded from flash.  ks points into buf: use the
 * struct where it is (do not copy it), re-load after an update. */
typedef struct ota_keyset_current {
    int      found;              /* 1: a valid key set is stored; 0: none (use provisioned keys) */
    uint8_t  copy;               /* region holding it (found only) */
    uint32_t rseq;               /* its journal sequence */
    size_t   len;                /* bytes in buf */
    ota_keyset ks;               /* the verified view (found only) */
    uint8_t  buf[OTA_KEYSET_MAX_SIZE];
} ota_keyset_current;

/* Check the store's geometry against the port: both regions present, page
 * aligned and made of whole pages, not overlapping, each large enough.
 * OTA_ERR_ARG / OTA_ERR_ALIGN otherwise. */
ota_err ota_keyset_store_check(const ota_keyset_store *s);

/* Read both copies and keep the newest one whose hash is intact and whose
 * set verifies (ota_keyset_verify with current_version 0) against roots /
 * threshold.  OTA_OK with cur->found 0 when none does (a fresh device).
 * OTA_ERR_FLASH when the port fails.  Read-only. */
ota_err ota_keyset_load(ota_keyset_current *cur, const ota_keyset_store *s,
                        const ota_trusted_key *roots, size_t n_roots, uint8_t threshold);

/* Accept and store a new key set: load the current one, verify the new one
 * with the current version (every error of ota_keyset_verify, NOT_NEWER
 * included; nothing is written then), erase the other copy, write the set,
 * then its header, and load again.  On OTA_OK *cur is the new set.  On
 * OTA_ERR_FLASH (power cut, worn flash) the old set is still the current
 * one on the next load, or the new one if the header made it. */
ota_err ota_keyset_update(ota_keyset_current *cur, const ota_keyset_store *s,
                          const uint8_t *ks, size_t len,
                          const ota_trusted_key *roots, size_t n_roots, uint8_t threshold);

#endif

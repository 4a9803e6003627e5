/*
 * ota_release.h: the release statement, the device ticket, and the update
 * decision a device makes from them.  Byte layouts: manifests/FORMAT.md
 * (authoritative; the constants below are its table).  Table of contents:
 *
 *   key id         ota_release_key_id
 *   statement      ota_statement_parse, ota_statement_verify, ota_statement_encode
 *   ticket         ota_ticket_parse, ota_ticket_verify, ota_ticket_encode
 *   stock tier     ota_ticket_mac, ota_ticket_mac_verify
 *   decision       ota_release_decide, ota_release_applies, ota_release_check_bundle
 *   names          ota_name_valid, ota_label_valid
 *
 * Rules for all of it: freestanding (no heap, no mutable statics, no stdio);
 * every input has a length and nothing reads past it; parsed views are
 * structs of values and pointers INTO THE CALLER'S BUFFER (keep the buffer
 * alive and unchanged while the view is used); text fields in views are NOT
 * NUL-terminated, use the _len members.  Every function returns ota_err,
 * OTA_OK (0) meaning valid/accepted; on error the output view is zeroed.
 */
#ifndef OTA_RELEASE_H
#define OTA_RELEASE_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"
#include "ota_crypto.h"

/* ---- constants (see FORMAT.md) ------------------------------------------ */
#define OTA_FORMAT_VERSION        1     /* the only version this code reads */
#define OTA_KEY_ID_SIZE           8     /* first 8 bytes of SHA-256(public key) */
#define OTA_NAME_MAX              32    /* app, board: [A-Za-z0-9._-], 1..32, first alnum */
#define OTA_DEVICE_ID_MAX         32    /* device id: [A-Za-z0-9._:-], 1..32, first alnum */
#define OTA_LABEL_MAX             64    /* label: UTF-8, no control chars, 0..64 bytes */
#define OTA_NONCE_MIN             16    /* device nonce length, bytes */
#define OTA_NONCE_MAX             32
#define OTA_SIG_SIZE              64    /* Ed25519 signature */
#define OTA_MAC_SIZE              32    /* HMAC-SHA256 */

/* Release statement: 272 signed bytes, then the signature. */
#define OTA_STATEMENT_MAGIC       "OTAS"
#define OTA_STATEMENT_BODY_SIZE   272
#define OTA_STATEMENT_SIZE        (OTA_STATEMENT_BODY_SIZE + OTA_SIG_SIZE)   /* 336 */

/* Device ticket: 152 signed bytes, then the signature. */
#define OTA_TICKET_MAGIC          "OTAT"
#define OTA_TICKET_BODY_SIZE      152
#define OTA_TICKET_SIZE           (OTA_TICKET_BODY_SIZE + OTA_SIG_SIZE)      /* 216 */

/* Bundle encodings (statement byte 5). */
#define OTA_ENC_IDENTITY          0     /* bytes as transferred are the bytes installed */
#define OTA_ENC_HEATSHRINK        1     /* heatshrink blocks (FORMAT.md 2a; decoder: ota_hsz.h) */
#define OTA_ENC_RESERVED_COMPRESSED OTA_ENC_HEATSHRINK  /* its name before it was defined */
/* ota_device.encodings is a bit mask of accepted encodings, bit (1u << enc).
 * 0 in the struct means "identity only", so a zeroed struct is safe. */
#define OTA_ENC_MASK(enc)         (1u << (enc))

/* Statement flags (byte 6, FORMAT.md section 2: formerly reserved, so every
 * reader before it rejects a statement that sets one as malformed). */
#define OTA_SF_PRETOKENISED       0x01u /* the program as installed is Espruino's pretokenised
                                           encoding for firmware `target` exactly: a device
                                           installs it only when it runs that firmware */
#define OTA_SF_KNOWN              OTA_SF_PRETOKENISED

/* ---- views --------------------------------------------------------------- */

/* A parsed release statement.  Pointers refer to the buffer given to
 * ota_statement_parse/verify.  For ota_statement_encode the same struct is the
 * input (text given by pointer + length; fixed-size fields by pointer). */
typedef struct ota_statement {
    uint8_t  version;            /* format version (1) */
    uint8_t  encoding;           /* OTA_ENC_* */
    uint8_t  flags;              /* OTA_SF_* (byte 6) */
    uint16_t target;             /* Espruino firmware gated for, 2v29 -> 229; 0 = not stated */
    const uint8_t *key_id;       /* OTA_KEY_ID_SIZE bytes: key that signs this statement */
    const char *app;             /* app name, app_len bytes (1..32) */
    size_t   app_len;
    const char *board;           /* board/compatibility class; board_len 0 = any board */
    size_t   board_len;
    uint64_t seq;                /* monotonic release sequence, >= 1 */
    uint64_t created;            /* creation time, Unix seconds UTC */
    uint32_t size;               /* bundle bytes as transferred, >= 1 */
    uint32_t installed_size;     /* bundle bytes as installed, >= 1 */
    const uint8_t *sha256;       /* 32: SHA-256 of the bundle as transferred */
    const uint8_t *installed_sha256; /* 32: SHA-256 of the bundle as installed */
    const uint8_t *source_sha256;/* 32: SHA-256 of the unminified source (provenance) */
    const char *label;           /* human label, UTF-8, label_len bytes (0..64) */
    size_t   label_len;
    const uint8_t *body;         /* the OTA_STATEMENT_BODY_SIZE signed bytes (parse only) */
    const uint8_t *sig;          /* the 64-byte signature, or NULL for a bare body (parse only) */
} ota_statement;

/* A parsed device ticket (same pointer rules as ota_statement). */
typedef struct ota_ticket {
    uint8_t  version;            /* format version (1) */
    const uint8_t *key_id;       /* OTA_KEY_ID_SIZE bytes: server key that signs this ticket */
    const char *device_id;       /* device id, device_id_len bytes (1..32) */
    size_t   device_id_len;
    const uint8_t *nonce;        /* the device's nonce, nonce_len bytes (16..32) */
    size_t   nonce_len;
    const uint8_t *statement_sha256; /* 32: SHA-256 of the whole 336-byte signed statement */
    const uint8_t *bundle_sha256;    /* 32: copy of the statement's transferred SHA-256 */
    uint64_t issued;             /* issue time, Unix seconds UTC (informational) */
    const uint8_t *body;         /* the OTA_TICKET_BODY_SIZE signed bytes (parse only) */
    const uint8_t *sig;          /* the 64-byte signature, or NULL for a bare body (parse only) */
} ota_ticket;

/* A key the device (or a verifier) trusts. */
typedef struct ota_trusted_key {
    uint8_t id[OTA_KEY_ID_SIZE];         /* ota_release_key_id(pub) */
    uint8_t pub[OTA_ED25519_PUB_SIZE];   /* Ed25519 public key */
} ota_trusted_key;

/* Verification tiers (ota_device.tier). */
#define OTA_TIER_SIGNED 0  /* both Ed25519 signatures are verified (C verifier on the device) */
#define OTA_TIER_MAC    1  /* stock firmware: the ticket's HMAC under the device secret replaces
                              both signature checks (the server verified the release signature) */

/* What the device knows about itself when it decides on an offer.  Text
 * fields are pointer + length (no NUL needed). */
typedef struct ota_device {
    const char *app;             /* the app this device runs */
    size_t   app_len;
    const char *board;           /* its board/compatibility class */
    size_t   board_len;
    uint64_t running_seq;        /* sequence it runs now; 0 = nothing installed */
    const char *device_id;       /* its id */
    size_t   device_id_len;
    const uint8_t *nonce;        /* the nonce it sent in the poll this answers */
    size_t   nonce_len;
    const ota_trusted_key *release_keys;  /* trusted release keys (OTA_TIER_SIGNED) */
    size_t   n_release_keys;
    const ota_trusted_key *server_keys;   /* trusted server keys (OTA_TIER_SIGNED) */
    size_t   n_server_keys;
    uint32_t max_size;           /* slot capacity in bytes; 0 = no limit */
    uint32_t encodings;          /* accepted encodings, OTA_ENC_MASK bits; 0 = identity only */
    uint16_t firmware;           /* Espruino firmware it runs, 2v29 -> 229; 0 = not known:
                                    OTA_SF_PRETOKENISED releases are refused */
    int      tier;               /* OTA_TIER_SIGNED or OTA_TIER_MAC */
    const uint8_t *mac_key;      /* per-device secret (OTA_TIER_MAC) */
    size_t   mac_key_len;
} ota_device;

/* An accepted offer: both views, valid while the caller's buffers are. */
typedef struct ota_offer {
    ota_statement statement;
    ota_ticket ticket;
} ota_offer;

/* ---- key id -------------------------------------------------------------- */

/* id = the first 8 bytes of SHA-256(pub).  Always OTA_OK. */
ota_err ota_release_key_id(uint8_t id[OTA_KEY_ID_SIZE], const uint8_t pub[OTA_ED25519_PUB_SIZE]);

/* ---- statement ----------------------------------------------------------- */

/* Structural parse, NO signature check: framing (magic, version, length),
 * reserved bytes zero, every field rule of FORMAT.md.  len must be exactly
 * OTA_STATEMENT_SIZE (out->sig set) or OTA_STATEMENT_BODY_SIZE (a bare body
 * as written by `otasign release --unsigned`; out->sig = NULL).
 * Errors: OTA_ERR_ARG (NULL), OTA_ERR_BAD_MAGIC (the bytes present differ
 * from the magic), OTA_ERR_TRUNCATED (under 5 bytes, or shorter than
 * OTA_STATEMENT_SIZE and not a bare body), OTA_ERR_VERSION, OTA_ERR_MALFORMED
 * (longer than OTA_STATEMENT_SIZE, reserved byte set, field rule broken).
 * Use it to display, never to trust. */
ota_err ota_statement_parse(ota_statement *out, const uint8_t *buf, size_t len);

/* Parse + verify a signed statement (len must be OTA_STATEMENT_SIZE) against
 * the trusted keys, in the order of FORMAT.md "Verification order": framing
 * (TRUNCATED, BAD_MAGIC, VERSION, MALFORMED for a wrong length), key id not
 * in keys -> OTA_ERR_UNKNOWN_KEY, trusted key unusable -> OTA_ERR_BAD_KEY,
 * signature -> OTA_ERR_BAD_SIGNATURE, then the field rules -> MALFORMED.
 * OTA_OK means the bytes were signed by one of the keys and are well formed.
 * Says nothing about app/board/sequence: that is ota_release_decide. */
ota_err ota_statement_verify(ota_statement *out, const uint8_t *buf, size_t len,
                             const ota_trusted_key *keys, size_t n_keys);

/* Lay out the OTA_STATEMENT_BODY_SIZE bytes to be signed from *in (fields
 * used: encoding, target, key_id, app, board, seq, created, size,
 * installed_size, sha256, installed_sha256, source_sha256, label; version is
 * always written as OTA_FORMAT_VERSION).  Validates every field rule first
 * and writes nothing but returns OTA_ERR_MALFORMED when one is broken (or
 * OTA_ERR_ARG for a NULL pointer).  The caller signs `out` and appends the
 * signature to make the OTA_STATEMENT_SIZE statement. */
ota_err ota_statement_encode(uint8_t out[OTA_STATEMENT_BODY_SIZE], const ota_statement *in);

/* ---- ticket -------------------------------------------------------------- */

/* Structural parse of a ticket, NO signature or MAC check.  len must be
 * OTA_TICKET_SIZE (out->sig set) or OTA_TICKET_BODY_SIZE (out->sig = NULL).
 * Errors as ota_statement_parse. */
ota_err ota_ticket_parse(ota_ticket *out, const uint8_t *buf, size_t len);

/* Parse + verify a signed ticket (len OTA_TICKET_SIZE) against trusted
 * server keys: framing, OTA_ERR_UNKNOWN_KEY, OTA_ERR_BAD_KEY,
 * OTA_ERR_BAD_TICKET_SIG, then field rules (MALFORMED). */
ota_err ota_ticket_verify(ota_ticket *out, const uint8_t *buf, size_t len,
                          const ota_trusted_key *keys, size_t n_keys);

/* Lay out the OTA_TICKET_BODY_SIZE bytes to be signed (fields used: key_id,
 * device_id, nonce, statement_sha256, bundle_sha256, issued).  Validates the
 * field rules first (OTA_ERR_MALFORMED, OTA_ERR_ARG; nothing written).  The
 * server signs `out` with its key and appends the signature. */
ota_err ota_ticket_encode(uint8_t out[OTA_TICKET_BODY_SIZE], const ota_ticket *in);

/* ---- stock-firmware tier --------------------------------------------------- */

/* mac = HMAC-SHA256(key, ticket) over the whole ticket as sent (normally the
 * OTA_TICKET_SIZE bytes, signature included).  OTA_ERR_ARG for NULLs. */
ota_err ota_ticket_mac(uint8_t mac[OTA_MAC_SIZE], const uint8_t *key, size_t key_len,
                       const uint8_t *ticket, size_t ticket_len);

/* OTA_OK when mac equals HMAC-SHA256(key, ticket) (constant-time compare),
 * OTA_ERR_BAD_MAC otherwise (and for a NULL/empty key). */
ota_err ota_ticket_mac_verify(const uint8_t mac[OTA_MAC_SIZE], const uint8_t *key, size_t key_len,
                              const uint8_t *ticket, size_t ticket_len);

/* ---- decision ------------------------------------------------------------ */

/* The device's accept/reject decision on one manifest (FORMAT.md
 * "Verification order" lists every step and its error).  statement and
 * ticket are the decoded bytes of the manifest's `statement` and `ticket`;
 * mac is the decoded `mac` (32 bytes; required for OTA_TIER_MAC, ignored for
 * OTA_TIER_SIGNED, may be NULL there).  OTA_OK: *out holds both views and the
 * device may download out->statement.size bytes from the manifest's url; it
 * must then still call ota_release_check_bundle on what it received.  Any
 * other value: reject with that reason (report it), *out zeroed. */
ota_err ota_release_decide(ota_offer *out, const ota_device *dev,
                           const uint8_t *statement, size_t statement_len,
                           const uint8_t *ticket, size_t ticket_len,
                           const uint8_t *mac);

/* Steps 13-17 alone, for a statement already verified (or parsed, for
 * display): app (OTA_ERR_WRONG_APP), board (OTA_ERR_WRONG_BOARD), encoding
 * (OTA_ERR_BAD_ENCODING_KIND), size (OTA_ERR_TOO_BIG), sequence
 * (OTA_ERR_NOT_NEWER).  Only dev->app/board/running_seq/max_size/encodings
 * are read.  ota_release_decide calls it; `otasign verify --app ...` too. */
ota_err ota_release_applies(const ota_statement *st, const ota_device *dev);

/* The downloaded bundle against an accepted statement: OTA_ERR_TRUNCATED when
 * len < st->size, OTA_ERR_TOO_LONG when len > st->size, OTA_ERR_HASH_MISMATCH when
 * sha256 (which the caller computed over the len bytes, e.g. while streaming
 * them to the candidate slot) differs from st->sha256, else OTA_OK. */
ota_err ota_release_check_bundle(const ota_statement *st, const uint8_t sha256[OTA_SHA256_SIZE],
                                 uint64_t len);

/* The encoding's name in JSON ("identity", "heatshrink"), NULL when the
 * value is not defined. */
const char *ota_encoding_name(unsigned enc);

/* ---- field rules (also used by the CLI and server to validate input) ------ */

/* OTA_OK when s[0..len) is a valid name: 1..max bytes of [A-Za-z0-9._-]
 * (plus ':' when allow_colon), first byte a letter or digit.  Else MALFORMED. */
ota_err ota_name_valid(const char *s, size_t len, size_t max, int allow_colon);

/* OTA_OK when s[0..len) is a valid label: 0..OTA_LABEL_MAX bytes of
 * well-formed UTF-8 (shortest form, no surrogates, <= U+10FFFF) with no
 * control characters (U+0000..U+001F, U+007F).  Else MALFORMED. */
ota_err ota_label_valid(const char *s, size_t len);

#endif

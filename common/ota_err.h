/*
 * ota_err.h: the one error enum of otasign, shared by common/, the CLI, the
 * server and the device code.  0 is success everywhere (a valid signature
 * included).  Values are fixed: they travel in device reports and logs, so a
 * value is never renumbered or reused; new codes go at the end of their range.
 *
 *   0        OK
 *   1..19    generic (arguments, lengths, encodings)
 *   20..39   cryptography
 *   40..69   release statement / device ticket formats and the update decision
 *   70..99   device side: flash, slots, boot record, install
 */
#ifndef OTA_ERR_H
#define OTA_ERR_H

typedef enum ota_err {
    OTA_OK = 0,

    OTA_ERR_ARG = 1,             /* invalid argument (NULL pointer, impossible size) */
    OTA_ERR_TRUNCATED = 2,       /* input ends before its format says it should */
    OTA_ERR_TOO_LONG = 3,        /* input longer than allowed, or output capacity too small */
    OTA_ERR_ENCODING = 4,        /* bad hex/base64: character, padding, length or stray bits */
    OTA_ERR_STATE = 5,           /* call out of order, or a sticky earlier error */

    OTA_ERR_BAD_SIGNATURE = 20,  /* signature does not verify (includes non-canonical S, small-order R) */
    OTA_ERR_BAD_KEY = 21,        /* public key non-canonical, small order, or not on the curve */
    OTA_ERR_HASH_MISMATCH = 22,  /* bytes do not hash to the stated value */

    OTA_ERR_MALFORMED = 40,      /* statement/ticket structure invalid */
    OTA_ERR_BAD_MAGIC = 41,      /* not a statement/ticket at all */
    OTA_ERR_VERSION = 42,        /* format version this code does not understand */
    OTA_ERR_UNKNOWN_KEY = 43,    /* signed with a key id the verifier does not trust */
    OTA_ERR_WRONG_APP = 44,      /* release is for another app */
    OTA_ERR_WRONG_BOARD = 45,    /* release is for another board / compatibility class */
    OTA_ERR_NOT_NEWER = 46,      /* sequence not above the one running (anti-rollback) */
    OTA_ERR_WRONG_DEVICE = 47,   /* ticket names another device */
    OTA_ERR_STALE_NONCE = 48,    /* ticket carries another nonce than the one just sent (replay) */
    OTA_ERR_WRONG_STATEMENT = 49,/* ticket points at another statement */
    OTA_ERR_BAD_TICKET_SIG = 50, /* ticket signature (server key) does not verify */
    OTA_ERR_BAD_MAC = 51,        /* HMAC (stock-firmware tier) does not verify */
    OTA_ERR_BAD_ENCODING_KIND = 52, /* bundle encoding this device cannot install */
    OTA_ERR_TOO_BIG = 53,        /* bundle larger than the slot */

    OTA_ERR_FLASH = 70,          /* flash port reported a failure */
    OTA_ERR_ALIGN = 71,          /* address/length not aligned to the port's geometry */
    OTA_ERR_BOOT_RECORD = 72,    /* no valid boot record copy */
    OTA_ERR_NO_PROGRAM = 73,     /* no stored program verifies */
    OTA_ERR_INSTALL = 74         /* install interrupted or inconsistent */
} ota_err;

/* Short, stable, lower-case text for an error ("bad signature").  Never NULL:
 * an unknown value gives "unknown error". */
const char *ota_strerror(ota_err e);

#endif

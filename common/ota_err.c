/* ota_err.c: text for each ota_err value (see ota_err.h). */
#include "ota_err.h"

const char *ota_strerror(ota_err e)
{
    switch (e) {
    case OTA_OK:                    return "ok";
    case OTA_ERR_ARG:               return "invalid argument";
    case OTA_ERR_TRUNCATED:         return "truncated input";
    case OTA_ERR_TOO_LONG:          return "input too long or output too small";
    case OTA_ERR_ENCODING:          return "bad encoding";
    case OTA_ERR_STATE:             return "call out of order";
    case OTA_ERR_BAD_SIGNATURE:     return "bad signature";
    case OTA_ERR_BAD_KEY:           return "bad public key";
    case OTA_ERR_HASH_MISMATCH:     return "hash mismatch";
    case OTA_ERR_MALFORMED:         return "malformed";
    case OTA_ERR_BAD_MAGIC:         return "bad magic";
    case OTA_ERR_VERSION:           return "unsupported format version";
    case OTA_ERR_UNKNOWN_KEY:       return "unknown key";
    case OTA_ERR_WRONG_APP:         return "wrong app";
    case OTA_ERR_WRONG_BOARD:       return "wrong board";
    case OTA_ERR_NOT_NEWER:         return "not newer";
    case OTA_ERR_WRONG_DEVICE:      return "wrong device";
    case OTA_ERR_STALE_NONCE:       return "stale nonce";
    case OTA_ERR_WRONG_STATEMENT:   return "ticket for another statement";
    case OTA_ERR_BAD_TICKET_SIG:    return "bad ticket signature";
    case OTA_ERR_BAD_MAC:           return "bad mac";
    case OTA_ERR_BAD_ENCODING_KIND: return "unsupported bundle encoding";
    case OTA_ERR_TOO_BIG:           return "bundle too big";
    case OTA_ERR_FLASH:             return "flash error";
    case OTA_ERR_ALIGN:             return "misaligned flash access";
    case OTA_ERR_BOOT_RECORD:       return "no valid boot record";
    case OTA_ERR_NO_PROGRAM:        return "no valid program";
    case OTA_ERR_INSTALL:           return "install failed";
    }
    return "unknown error";
}

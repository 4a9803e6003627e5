/*
 * request.h: otad's parsing of what untrusted clients send, kept apart from
 * libmicrohttpd and SQLite so that it can be unit-tested and fuzzed alone
 * (tests/unit/test_request.c, tests/fuzz/fuzz_request.c).
 *
 *   srv_report_parse   the body of POST /report/<id> (report wire format v2,
 *                      manifests/FORMAT.md section 6a), parsed strictly
 *   srv_report_parse_compact  the text of POST /r/<id> after its MAC (the
 *                      compact form, FORMAT.md section 6b)
 *   srv_unescape       %XX decoding of the URL path and query values; a %00
 *                      is never decoded (the caller answers 400)
 *   srv_report_mac     HMAC-SHA256(secret, "OTAR" || id || "\n" || body)
 *   srv_mac_hex_ok     64 lower-case hex digits
 */
#ifndef SRV_REQUEST_H
#define SRV_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_REPORT_BODY_MAX 768      /* bytes: a report body is well under 1 KB */
#define SRV_REPORT_DETAIL_MAX 200    /* bytes of UTF-8 after JSON unescaping */
#define SRV_REPORT_CTR_MAX 9007199254740991ULL   /* 2^53 - 1 */
#define SRV_REPORT_CODE_MAX 65535

/* A parsed report (strings NUL-terminated, validated). */
typedef struct srv_report_in {
    char     app[33];
    uint64_t seq;
    char     state[16];
    uint32_t code;
    uint64_t ctr;
    char     detail[SRV_REPORT_DETAIL_MAX + 1];
    bool     has_detail;
} srv_report_in;

/* Parse a report body: exactly one JSON object, optional white space around
 * it and nothing else; valid UTF-8 throughout; members app (string, an app
 * name), seq (integer 0..2^53-1), state (one of the seven states), code
 * (integer 0..65535), ctr (integer 1..2^53-1), detail (optional string or
 * null, at most 200 bytes once unescaped, no NUL); no other member, none
 * twice.  Returns 0, or -1 with *why set to a static English reason. */
int srv_report_parse(const char *body, size_t len, srv_report_in *out, const char **why);

/* Parse the text of a compact report (FORMAT.md 6b: what follows the
 * 32-byte MAC in the body of POST /r/<id>): "CTR APP SEQ S CODE[ DETAIL]",
 * printable ASCII, single spaces, S one of d D t c b r f.  Fills out as
 * srv_report_parse does.  Returns 0, or -1 with *why set. */
int srv_report_parse_compact(const char *text, size_t len, srv_report_in *out, const char **why);

/* Decode %XX escapes of s in place (as libmicrohttpd's default does) and
 * return the new length; "%00" is left as it is and *had_nul set, so no
 * decoded value ever holds a NUL and the caller can refuse the request. */
size_t srv_unescape(char *s, bool *had_nul);

/* True when len bytes of s are valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
bool srv_utf8_ok(const char *s, size_t len);

/* The report MAC: HMAC-SHA256(secret, "OTAR" || device || "\n" || body). */
void srv_report_mac(uint8_t mac[32], const uint8_t *secret, size_t secret_len, const char *device,
                    const char *body, size_t body_len);

/* True when h is exactly 64 lower-case hex digits; decodes into out. */
bool srv_mac_hex_ok(const char *h, uint8_t out[32]);

#endif

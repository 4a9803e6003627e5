/*
 * request.c: strict parsing of untrusted input (see request.h).
 *
 * The report parser is a small JSON reader written for exactly one shape of
 * object, not a general parser: it never allocates, reads every byte once,
 * and refuses whatever a general parser would "helpfully" accept (trailing
 * bytes, duplicate members, unknown members, numbers with fractions or
 * exponents, invalid UTF-8, lone surrogates, NUL characters).
 */
#include "request.h"

#include <string.h>

#include "ota_crypto.h"
#include "ota_encode.h"
#include "ota_release.h"

static const char *const report_states[] = {
    "downloading", "downloaded", "trial", "confirmed", "rolled_back", "rejected", "failed",
};

bool srv_utf8_ok(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (len - i <= n) return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}

typedef struct rd {
    const char *p, *end;
} rd;

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex4(rd *r, unsigned *out)
{
    if (r->end - r->p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(r->p[i]);
        if (h < 0) return -1;
        v = (v << 4) | (unsigned)h;
    }
    r->p += 4;
    *out = v;
    return 0;
}

/* A JSON string at r->p (the opening quote) into out (cap bytes incl. the
 * NUL).  -1 on bad syntax, -2 when it does not fit. */
static int str(rd *r, char *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    if (r->p >= r->end || *r->p != '"') return -1;
    r->p++;
    for (;;) {
        if (r->p >= r->end) return -1;
        unsigned char c = (unsigned char)*r->p++;
        unsigned cp;
        if (c == '"') break;
        if (c < 0x20) return -1;                     /* raw control character */
        if (c != '\\') {
            if (n + 1 >= cap) return -2;
            out[n++] = (char)c;                      /* UTF-8 checked on the whole body */
            continue;
        }
        if (r->p >= r->end) return -1;
        char e = *r->p++;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = 8; break;
        case 'f': cp = 12; break;
        case 'n': cp = 10; break;
        case 'r': cp = 13; break;
        case 't': cp = 9; break;
        case 'u':
            if (hex4(r, &cp) != 0) return -1;
            if (cp >= 0xdc00 && cp <= 0xdfff) return -1;           /* lone low surrogate */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') return -1;
                r->p += 2;
                if (hex4(r, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) return -1;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            break;
        default:
            return -1;
        }
        if (cp == 0) return -1;                                    /* no NUL in any value */
        char u[4];
        size_t k;
        if (cp < 0x80) { u[0] = (char)cp; k = 1; }
        else if (cp < 0x800) { u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f)); k = 2; }
        else if (cp < 0x10000) {
            u[0] = (char)(0xe0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[2] = (char)(0x80 | (cp & 0x3f)); k = 3;
        } else {
            u[0] = (char)(0xf0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); k = 4;
        }
        if (n + k >= cap) return -2;
        memcpy(out + n, u, k);
        n += k;
    }
    out[n] = 0;
    if (outlen) *outlen = n;
    return 0;
}

/* A non-negative JSON integer: no sign, no leading zero, no fraction or
 * exponent, at most max.  -1 on bad syntax or range. */
static int uint_(rd *r, uint64_t max, uint64_t *out)
{
    const char *s = r->p;
    if (s >= r->end || *s < '0' || *s > '9') return -1;
    uint64_t v = 0;
    if (*s == '0') {
        s++;
    } else {
        while (s < r->end && *s >= '0' && *s <= '9') {
            unsigned d = (unsigned)(*s - '0');
            if (v > (max - d) / 10) return -1;
            v = v * 10 + d;
            s++;
        }
    }
    if (s < r->end && (*s == '.' || *s == 'e' || *s == 'E' || (*s >= '0' && *s <= '9'))) return -1;
    r->p = s;
    *out = v;
    return 0;
}

enum { F_APP = 1, F_SEQ = 2, F_STATE = 4, F_CODE = 8, F_CTR = 16, F_DETAIL = 32 };

int srv_report_parse(const char *body, size_t len, srv_report_in *out, const char **why)
{
    static const char *const shape =
        "body: one JSON object {\"app\",\"seq\",\"state\",\"code\",\"ctr\"[,\"detail\"]} and nothing else";
    memset(out, 0, sizeof *out);
    *why = shape;
    if (!body || len == 0 || len > SRV_REPORT_BODY_MAX) {
        if (len > SRV_REPORT_BODY_MAX) *why = "body: at most 768 bytes";
        return -1;
    }
    if (memchr(body, 0, len)) { *why = "body: a NUL byte"; return -1; }
    if (!srv_utf8_ok(body, len)) { *why = "body: not valid UTF-8"; return -1; }
    rd r = { body, body + len };
    unsigned seen = 0;
    ws(&r);
    if (r.p >= r.end || *r.p != '{') return -1;
    r.p++;
    ws(&r);
    if (r.p < r.end && *r.p == '}') return -1;   /* empty object: members missing */
    for (;;) {
        char key[16];
        ws(&r);
        if (str(&r, key, sizeof key, NULL) != 0) { *why = "body: unknown member"; return -1; }
        ws(&r);
        if (r.p >= r.end || *r.p != ':') return -1;
        r.p++;
        ws(&r);
        unsigned f;
        if (strcmp(key, "app") == 0) {
            f = F_APP;
            size_t n = 0;
            if (str(&r, out->app, sizeof out->app, &n) != 0 ||
                ota_name_valid(out->app, n, OTA_NAME_MAX, 0) != OTA_OK) {
                *why = "app: 1..32 characters of [A-Za-z0-9._-], first a letter or digit";
                return -1;
            }
        } else if (strcmp(key, "seq") == 0) {
            f = F_SEQ;
            if (uint_(&r, SRV_REPORT_CTR_MAX, &out->seq) != 0) {
                *why = "seq: a whole number from 0 to 2^53-1";
                return -1;
            }
        } else if (strcmp(key, "state") == 0) {
            f = F_STATE;
            bool ok = str(&r, out->state, sizeof out->state, NULL) == 0;
            size_t i = 0;
            if (ok) {
                for (; i < sizeof report_states / sizeof report_states[0]; i++)
                    if (strcmp(out->state, report_states[i]) == 0) break;
            }
            if (!ok || i == sizeof report_states / sizeof report_states[0]) {
                *why = "state: one of downloading, downloaded, trial, confirmed, rolled_back, "
                       "rejected, failed";
                return -1;
            }
        } else if (strcmp(key, "code") == 0) {
            f = F_CODE;
            uint64_t c;
            if (uint_(&r, SRV_REPORT_CODE_MAX, &c) != 0) {
                *why = "code: an ota_err number (0 = none)";
                return -1;
            }
            out->code = (uint32_t)c;
        } else if (strcmp(key, "ctr") == 0) {
            f = F_CTR;
            if (uint_(&r, SRV_REPORT_CTR_MAX, &out->ctr) != 0 || out->ctr == 0) {
                *why = "ctr: a whole number from 1 to 2^53-1";
                return -1;
            }
        } else if (strcmp(key, "detail") == 0) {
            f = F_DETAIL;
            if (r.end - r.p >= 4 && memcmp(r.p, "null", 4) == 0) {
                r.p += 4;
            } else if (str(&r, out->detail, sizeof out->detail, NULL) != 0) {
                *why = "detail: a string of at most 200 bytes of UTF-8";
                return -1;
            } else {
                out->has_detail = true;
            }
        } else {
            *why = "body: unknown member (app, seq, state, code, ctr, detail only)";
            return -1;
        }
        if (seen & f) { *why = "body: a member appears twice"; return -1; }
        seen |= f;
        ws(&r);
        if (r.p >= r.end) return -1;
        if (*r.p == ',') { r.p++; continue; }
        if (*r.p == '}') { r.p++; break; }
        return -1;
    }
    ws(&r);
    if (r.p != r.end) { *why = "body: bytes after the JSON object"; return -1; }
    if ((seen & (F_APP | F_SEQ | F_STATE | F_CODE | F_CTR)) != (F_APP | F_SEQ | F_STATE | F_CODE | F_CTR)) {
        *why = "body: app, seq, state, code and ctr are required";
        return -1;
    }
    *why = NULL;
    return 0;
}

/* The compact report (FORMAT.md 6b): after the 32-byte MAC, one line of
 * printable ASCII "CTR APP SEQ S CODE[ DETAIL]", single spaces, decimal
 * numbers without leading zeros, S one letter of report_letters. */
static const char report_letters[] = "dDtcbrf";   /* same order as report_states */

static int cuint(rd *r, uint64_t max, uint64_t *out)
{
    if (uint_(r, max, out) != 0) return -1;
    if (r->p < r->end && *r->p != ' ') return -1;
    return 0;
}

static int csp(rd *r)
{
    if (r->p >= r->end || *r->p != ' ') return -1;
    r->p++;
    return 0;
}

int srv_report_parse_compact(const char *text, size_t len, srv_report_in *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = "body: MAC (32 bytes) then \"CTR APP SEQ STATE CODE[ DETAIL]\" in printable ASCII";
    if (!text || len == 0 || len > SRV_REPORT_BODY_MAX) {
        if (len > SRV_REPORT_BODY_MAX) *why = "body: at most 768 bytes";
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e) {
            *why = "body: the text after the MAC is printable ASCII only";
            return -1;
        }
    rd r = { text, text + len };
    if (cuint(&r, SRV_REPORT_CTR_MAX, &out->ctr) != 0 || out->ctr == 0) {
        *why = "ctr: a whole number from 1 to 2^53-1";
        return -1;
    }
    if (csp(&r) != 0) return -1;
    const char *a = r.p;
    while (r.p < r.end && *r.p != ' ') r.p++;
    size_t al = (size_t)(r.p - a);
    if (al == 0 || al >= sizeof out->app || ota_name_valid(a, al, OTA_NAME_MAX, 0) != OTA_OK) {
        *why = "app: 1..32 characters of [A-Za-z0-9._-], first a letter or digit";
        return -1;
    }
    memcpy(out->app, a, al);
    out->app[al] = 0;
    if (csp(&r) != 0) return -1;
    if (cuint(&r, SRV_REPORT_CTR_MAX, &out->seq) != 0) {
        *why = "seq: a whole number from 0 to 2^53-1";
        return -1;
    }
    if (csp(&r) != 0) return -1;
    const char *l = r.p < r.end ? memchr(report_letters, *r.p, sizeof report_letters - 1) : NULL;
    if (!l || r.p + 1 > r.end || (r.p + 1 < r.end && r.p[1] != ' ')) {
        *why = "state: one letter of d (downloading), D (downloaded), t (trial), c (confirmed), "
               "b (rolled_back), r (rejected), f (failed)";
        return -1;
    }
    strcpy(out->state, report_states[l - report_letters]);
    r.p++;
    if (csp(&r) != 0) return -1;
    uint64_t c;
    if (cuint(&r, SRV_REPORT_CODE_MAX, &c) != 0) {
        *why = "code: an ota_err number (0 = none)";
        return -1;
    }
    out->code = (uint32_t)c;
    if (r.p < r.end) {
        r.p++;                                   /* the space (cuint checked it) */
        size_t dl = (size_t)(r.end - r.p);
        if (dl == 0 || dl > SRV_REPORT_DETAIL_MAX) {
            *why = "detail: 1..200 bytes of printable ASCII";
            return -1;
        }
        memcpy(out->detail, r.p, dl);
        out->detail[dl] = 0;
        out->has_detail = true;
    }
    *why = NULL;
    return 0;
}

size_t srv_unescape(char *s, bool *had_nul)
{
    char *w = s;
    const char *r = s;
    while (*r) {
        if (r[0] == '%' && r[1] && r[2]) {
            int a = hexval(r[1]), b = hexval(r[2]);
            if (a >= 0 && b >= 0) {
                if (a == 0 && b == 0) {
                    if (had_nul) *had_nul = true;
                    *w++ = *r++;          /* keep "%00" as it is */
                    continue;
                }
                *w++ = (char)((a << 4) | b);
                r += 3;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = 0;
    return (size_t)(w - s);
}

void srv_report_mac(uint8_t mac[32], const uint8_t *secret, size_t secret_len, const char *device,
                    const char *body, size_t body_len)
{
    ota_hmac_sha256_ctx h;
    ota_hmac_sha256_init(&h, secret, secret_len);
    ota_hmac_sha256_update(&h, (const uint8_t *)"OTAR", 4);
    ota_hmac_sha256_update(&h, (const uint8_t *)device, strlen(device));
    ota_hmac_sha256_update(&h, (const uint8_t *)"\n", 1);
    ota_hmac_sha256_update(&h, (const uint8_t *)body, body_len);
    ota_hmac_sha256_final(&h, mac);
    memset(&h, 0, sizeof h);
}

bool srv_mac_hex_ok(const char *h, uint8_t out[32])
{
    if (!h || strlen(h) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return false;
    size_t got = 0;
    return ota_hex_decode(out, 32, &got, h, 64) == OTA_OK && got == 32;
}

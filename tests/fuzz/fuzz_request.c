/*
 * fuzz_request.c: otad's parsing of what untrusted clients send
 * (server/request.c): the report body (wire format v2), the compact
 * report text (FORMAT.md 6b) and %XX decoding
 * of paths and query values.
 * Properties: srv_report_parse never accepts a body that breaks a rule
 * (checked again here: valid UTF-8, a known state, an app name, counters in
 * range, detail at most 200 bytes without NUL), and an accepted body
 * re-serialised is accepted again with the same values; srv_unescape never
 * produces a NUL, never grows the text, flags every %00; srv_utf8_ok agrees
 * with a reference decoder.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "../../server/request.h"

/* Reference UTF-8 check (RFC 3629 table 2), written differently. */
static int utf8_ref(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c <= 0x7F) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) k = 1;
        else if (c == 0xE0) { k = 2; lo = 0xA0; }
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) k = 2;
        else if (c == 0xED) { k = 2; hi = 0x9F; }
        else if (c == 0xF0) { k = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) k = 3;
        else if (c == 0xF4) { k = 3; hi = 0x8F; }
        else return 0;
        if (n - i <= k) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++) if (s[i + j] < 0x80 || s[i + j] > 0xBF) return 0;
        i += k + 1;
    }
    return 1;
}

static const char *const states[] = { "downloading", "downloaded", "trial", "confirmed",
                                      "rolled_back", "rejected", "failed" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FUZZ_ASSERT(srv_utf8_ok((const char *)data, size) == utf8_ref(data, size), "UTF-8 check agrees");

    srv_report_in r;
    const char *why = NULL;
    if (srv_report_parse((const char *)data, size, &r, &why) == 0) {
        FUZZ_ASSERT(size <= SRV_REPORT_BODY_MAX && utf8_ref(data, size) && !memchr(data, 0, size), "body rules");
        size_t al = strlen(r.app);
        FUZZ_ASSERT(al >= 1 && al <= 32, "app length");
        for (size_t i = 0; i < al; i++) {
            char c = r.app[i];
            FUZZ_ASSERT((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        (i > 0 && (c == '.' || c == '_' || c == '-')), "app character");
        }
        int known = 0;
        for (int i = 0; i < 7; i++) known |= strcmp(r.state, states[i]) == 0;
        FUZZ_ASSERT(known, "state %s", r.state);
        FUZZ_ASSERT(r.ctr >= 1 && r.ctr <= SRV_REPORT_CTR_MAX && r.seq <= SRV_REPORT_CTR_MAX &&
                    r.code <= SRV_REPORT_CODE_MAX, "numbers in range");
        size_t dl = strlen(r.detail);
        FUZZ_ASSERT(dl <= SRV_REPORT_DETAIL_MAX && utf8_ref((const uint8_t *)r.detail, dl), "detail");
        /* re-serialise (detail escaped minimally) and parse again */
        char buf[2048];
        int n = snprintf(buf, sizeof buf, "{\"app\":\"%s\",\"seq\":%llu,\"state\":\"%s\",\"code\":%u,\"ctr\":%llu",
                         r.app, (unsigned long long)r.seq, r.state, r.code, (unsigned long long)r.ctr);
        if (r.has_detail) {
            n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"detail\":\"");
            for (size_t i = 0; i < dl; i++) {
                unsigned char c = (unsigned char)r.detail[i];
                if (c == '"' || c == '\\') { buf[n++] = '\\'; buf[n++] = (char)c; }
                else if (c < 0x20) n += snprintf(buf + n, sizeof buf - (size_t)n, "\\u%04x", c);
                else buf[n++] = (char)c;
            }
            buf[n++] = '"';
        }
        buf[n++] = '}';
        srv_report_in r2;
        if ((size_t)n <= SRV_REPORT_BODY_MAX) {
            FUZZ_ASSERT(srv_report_parse(buf, (size_t)n, &r2, &why) == 0, "re-serialised report parses: %s", why);
            FUZZ_ASSERT(strcmp(r.app, r2.app) == 0 && r.seq == r2.seq && strcmp(r.state, r2.state) == 0 &&
                        r.code == r2.code && r.ctr == r2.ctr && strcmp(r.detail, r2.detail) == 0 &&
                        r.has_detail == r2.has_detail, "same values");
        }
    }

    /* The compact report text (FORMAT.md 6b): printable ASCII only, the
     * same ranges, and the text made again from the values parses to them. */
    if (srv_report_parse_compact((const char *)data, size, &r, &why) == 0) {
        FUZZ_ASSERT(size >= 1 && size <= SRV_REPORT_BODY_MAX, "compact size");
        for (size_t i = 0; i < size; i++) FUZZ_ASSERT(data[i] >= 0x20 && data[i] <= 0x7e, "printable");
        int known = 0;
        for (int i = 0; i < 7; i++) known |= strcmp(r.state, states[i]) == 0;
        FUZZ_ASSERT(known, "compact state %s", r.state);
        FUZZ_ASSERT(r.ctr >= 1 && r.ctr <= SRV_REPORT_CTR_MAX && r.seq <= SRV_REPORT_CTR_MAX &&
                    r.code <= SRV_REPORT_CODE_MAX, "compact numbers in range");
        FUZZ_ASSERT(strlen(r.detail) <= SRV_REPORT_DETAIL_MAX && (r.has_detail || !r.detail[0]), "compact detail");
        static const char letters[] = "dDtcbrf";
        int si = 0;
        while (si < 7 && strcmp(r.state, states[si]) != 0) si++;
        char buf[1024];
        int n = snprintf(buf, sizeof buf, "%llu %s %llu %c %u%s%s", (unsigned long long)r.ctr, r.app,
                         (unsigned long long)r.seq, letters[si], r.code, r.has_detail ? " " : "", r.detail);
        FUZZ_ASSERT(n == (int)size && memcmp(buf, data, size) == 0, "compact text is canonical");
    }

    /* %XX decoding of a path or a query value */
    if (size <= 4096) {
        char s[4097];
        memcpy(s, data, size);
        s[size] = 0;
        size_t before = strlen(s);
        int has00 = 0;
        for (size_t i = 0; i + 2 < before; i++)
            if (s[i] == '%' && s[i + 1] == '0' && s[i + 2] == '0') has00 = 1;
        bool nul = false;
        size_t after = srv_unescape(s, &nul);
        FUZZ_ASSERT(after <= before && strlen(s) == after, "never grows, NUL-terminated at its length");
        if (has00) FUZZ_ASSERT(nul, "a %%00 is flagged");
    }
    return 0;
}

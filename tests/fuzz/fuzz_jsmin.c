/*
 * fuzz_jsmin.c: the minifier (cli/jsmin/, used read-only: linked, not
 * changed).  Property: when a script minifies, its output minifies again to
 * exactly itself (minification is idempotent), with and without mangling;
 * a script that fails to parse fails the same way every time.  Pretokenised
 * (--pretokenise, target 2v29): a script that minifies also pretokenises,
 * the same way every time, never longer than the minified text, with no 0xFF
 * byte the text lacks (the agent resumes downloads at the first 0xFF) (the
 * detokeniser round trip on the real corpus is tests/minify/espruino-pretok.mjs).
 */
#include <string.h>

#include "fuzz.h"
#include "../../cli/jsmin.h"

static int minify_pt(const uint8_t *src, size_t len, int mangle, int pretok, uint8_t **out,
                     size_t *out_len)
{
    jsmin_opts o;
    jsmin_opts_default(&o);
    o.mangle = mangle;
    o.gate = 0;
    o.pretok = pretok;
    *out = NULL;
    *out_len = 0;
    return jsmin_run("fuzz.js", src, len, &o, out, out_len, NULL, NULL);
}

static int minify(const uint8_t *src, size_t len, int mangle, uint8_t **out, size_t *out_len)
{
    return minify_pt(src, len, mangle, 0, out, out_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    for (int mangle = 0; mangle <= 1; mangle++) {
        uint8_t *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        int r1 = minify(data, size, mangle, &a, &al);
        int r2 = minify(data, size, mangle, &b, &bl);
        FUZZ_ASSERT(r1 == r2 && al == bl && (al == 0 || memcmp(a, b, al) == 0), "deterministic");
        free(b);
        b = NULL;
        if (r1 == 0) {
            int r3 = minify(a, al, mangle, &b, &bl);
            FUZZ_ASSERT(r3 == 0, "the output of the minifier parses again (mangle %d)", mangle);
            FUZZ_ASSERT(bl == al && memcmp(a, b, al) == 0,
                        "minified again, the output is identical (mangle %d): %zu vs %zu bytes", mangle, al, bl);
            uint8_t *p1 = NULL, *p2 = NULL;
            size_t pl1 = 0, pl2 = 0;
            int q1 = minify_pt(data, size, mangle, 1, &p1, &pl1);
            int q2 = minify_pt(data, size, mangle, 1, &p2, &pl2);
            FUZZ_ASSERT(q1 == 0 && q2 == 0, "what minifies also pretokenises (mangle %d)", mangle);
            FUZZ_ASSERT(pl1 == pl2 && (pl1 == 0 || memcmp(p1, p2, pl1) == 0), "pretokenising is deterministic");
            FUZZ_ASSERT(pl1 <= al, "pretokenised %zu bytes > minified %zu", pl1, al);
            if (!memchr(a, 0xFF, al)) FUZZ_ASSERT(!memchr(p1, 0xFF, pl1), "pretokenising added a 0xFF byte");
            free(p1);
            free(p2);
        }
        free(a);
        free(b);
    }
    return 0;
}

/*
 * fuzz_jsmin.c: the minifier (cli/jsmin/, used read-only: linked, not
 * changed).  Property: when a script minifies, its output minifies again to
 * exactly itself (minification is idempotent), with and without mangling;
 * a script that fails to parse fails the same way every time.
 */
#include <string.h>

#include "fuzz.h"
#include "../../cli/jsmin.h"

static int minify(const uint8_t *src, size_t len, int mangle, uint8_t **out, size_t *out_len)
{
    jsmin_opts o;
    jsmin_opts_default(&o);
    o.mangle = mangle;
    o.gate = 0;
    *out = NULL;
    *out_len = 0;
    return jsmin_run("fuzz.js", src, len, &o, out, out_len, NULL, NULL);
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
        }
        free(a);
        free(b);
    }
    return 0;
}

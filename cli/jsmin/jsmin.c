/* TEMPORARY pass-through so the CLI links while the real minifier
 * (issue 4) is written; replaced by the real implementation. */
#include <stdlib.h>
#include <string.h>
#include "../jsmin.h"

void jsmin_opts_default(jsmin_opts *o)
{
    o->minify = 1; o->mangle = 1; o->target = JSMIN_TARGET_DEFAULT; o->gate = 1;
}

int jsmin_parse_target(const char *s, int *target)
{
    (void)s; *target = JSMIN_TARGET_DEFAULT; return 0;
}

int jsmin_run(const char *filename, const uint8_t *src, size_t len, const jsmin_opts *o,
              uint8_t **out, size_t *out_len, int *warnings, FILE *diag)
{
    (void)filename; (void)o; (void)diag;
    *out = malloc(len ? len : 1);
    if (!*out) return -1;
    memcpy(*out, src, len);
    *out_len = len;
    if (warnings) *warnings = 0;
    return 0;
}

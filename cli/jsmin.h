/*
 * jsmin.h: the JavaScript minifier and Espruino release gate, as the rest of
 * the CLI sees it.  Implementation in cli/jsmin/.
 */
#ifndef OTA_JSMIN_H
#define OTA_JSMIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Espruino firmware version, written 2v29 -> 229. */
#define JSMIN_TARGET_DEFAULT 229

typedef struct jsmin_opts {
    int minify;   /* 1: remove whitespace/comments; 0: output = input bytes (gate still runs) */
    int mangle;   /* 1: rename local names (only with minify) */
    int target;   /* firmware version, e.g. 229 for 2v29 */
    int gate;     /* 0: no gate; 1: syntax the target cannot run is an error (jsmin_run
                     returns 1, after reporting every such use); 2: the same reported
                     as warnings only.  With 1 or 2, missing built-ins, '/' inside a
                     regex class and \u in identifiers are warnings. */
} jsmin_opts;

/* Fill *o with the defaults: minify, mangle, gate on, target 2v29. */
void jsmin_opts_default(jsmin_opts *o);

/* Parse "2v29" (or "229") into *target.  Returns 0 on success, -1 when the
 * text is not a firmware version the gate table knows. */
int jsmin_parse_target(const char *s, int *target);

/* Minify and gate one script.  The script is always parsed in full (ES2020
 * script goal, sloppy mode) when minify or gate is on; with minify off the
 * output is the input bytes unchanged.  Whitespace mode keeps every literal's
 * bytes and keeps a newline at each automatic-semicolon-insertion point.  `filename` is used in diagnostics only; every
 * diagnostic goes to `diag` as "file:line:col: error|warning: text".
 * On success returns 0 and sets *out (malloc'd, caller frees) and *out_len;
 * returns 1 on a syntax error or a gate error (nothing in *out),
 * -1 when out of memory.  *warnings (may be NULL) gets the warning count. */
int jsmin_run(const char *filename, const uint8_t *src, size_t len, const jsmin_opts *o,
              uint8_t **out, size_t *out_len, int *warnings, FILE *diag);

/* `otasign minify IN [-o OUT] [--no-mangle] [--target V]` (cli/cmd_minify.c). */
int cmd_minify(int argc, char **argv);

#endif

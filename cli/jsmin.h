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
    int pretok;   /* 1: write Espruino's pretokenised encoding (cli/jsmin/pretok.c):
                     reserved words and operators as token bytes, strings and
                     integers as raw values where shorter.  Needs minify and a
                     target whose token ids are vouched for (2v29 only), else
                     jsmin_run returns 1 with a message. */
} jsmin_opts;

/* Fill *o with the defaults: minify, mangle, gate on, target 2v29, no pretokenising. */
void jsmin_opts_default(jsmin_opts *o);

/* Parse "2v29" (or "229") into *target.  Returns 0 on success, -1 when the
 * text is not a firmware version the gate table knows. */
int jsmin_parse_target(const char *s, int *target);

/* 1 when --pretokenise may be used for this target (Espruino's token ids read
 * from its source for that firmware: 2v29 only), else 0. */
int jsmin_pretok_target_ok(int target);

/* Minify and gate one script.
 *  - With minify or gate on, the script is parsed in full (ES2020 script goal,
 *    sloppy mode, Annex B HTML-like comments, private class members accepted);
 *    a syntax error is reported as file:line:col and nothing is output.
 *  - minify: comments and white space go; every token keeps its exact bytes
 *    (strings, numbers, regexes, templates, parentheses); a newline is kept at
 *    every automatic-semicolon-insertion point that had a line break (Espruino
 *    inserts no semicolons); a ';' ending a statement goes before '}' and at
 *    the end.  mangle: names declared inside functions, and let/const in blocks of
 *    the program for targets 2v14+, get short names (never
 *    in a function that uses eval or with, nor its enclosing functions; never
 *    globals, properties or labels; a \u-escaped identifier anywhere turns
 *    mangling off for the file).  The output is deterministic.
 *  - gate (see jsmin_opts.gate): every finding is reported, then 1 is returned
 *    when gate == 1 and any construct is unsupported by o->target.
 * `filename` is used in diagnostics only; every diagnostic goes to `diag`
 * (may be NULL) as "file:line:col: error|warning: text".
 * On success returns 0 and sets *out (malloc'd, caller frees) and *out_len;
 * returns 1 on a syntax error or a gate error (nothing in *out),
 * -1 when out of memory.  *warnings (may be NULL) gets the warning count.
 * Inputs above 1 GiB are refused (1). */
int jsmin_run(const char *filename, const uint8_t *src, size_t len, const jsmin_opts *o,
              uint8_t **out, size_t *out_len, int *warnings, FILE *diag);

/* Advise 2 MB pages for a large malloc'd buffer (inputs, the token array,
 * the output): far fewer page faults on big scripts; no effect elsewhere. */
void jsmin_huge(void *q, size_t size);

/* `otasign minify IN [-o OUT] [--no-mangle] [--no-minify] [--target V]
 *  [--gate | --gate-warn]` (cli/cmd_minify.c); the gate is off unless asked. */
int cmd_minify(int argc, char **argv);

#endif

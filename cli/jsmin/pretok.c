/*
 * pretok.c: Espruino's pretokenised encoding (`otasign minify/release
 * --pretokenise`), read from Espruino 2v29's src/jslex.h and src/jslex.c.
 *
 * Espruino's lexer (jslGetNextToken) reads any byte >= 0x80 outside a string,
 * template, regex or comment as the token with that id (JSLJT_SINGLE_CHAR), and
 * five ids carry a value (LEX_RAW_*):
 *   0xD1 L bytes        a string of L (1..255) raw bytes (no escapes)
 *   0xD2 Llo Lhi bytes  the same, L up to 65535
 *   0xD3                the integer 0
 *   0xD4 v              an integer, v signed 8-bit
 *   0xD5 lo hi          an integer, signed 16-bit little-endian (the lexer reads
 *                       lo then hi; jslex.h's comment says hi,lo: the code wins)
 * Identifiers are read while [A-Za-z0-9_$] (isAlphaInline: ASCII only), so a
 * token byte ends a word and needs no space around it.  The lexer turns the
 * text of every reserved word (including `let`, `undefined`, `static`, `of`)
 * into its token wherever it appears, so writing the token byte instead of the
 * word, or of a multi-character operator, gives Espruino the same token
 * stream.  The ids (LEX_EQUAL = 138 .. LEX_R_OF = 198, LEX_NULLISH = 208)
 * are those of 2v29; jslex.h asks that they never be reordered, but this file
 * vouches only for the firmware it was read from (js_pretok_target_ok).
 *
 * What stays text: template literals and everything inside `${...}` (Espruino
 * lexes a template as one token and re-lexes its substitutions from the
 * token's value, through its UTF-8 handling), regexes, private names,
 * identifiers written with \u escapes, `**`, `?.`, `...`, `&&=`/`||=`/`??=`,
 * numbers with a fraction, exponent, leading zero or above 32767, and strings
 * that Espruino would read as UTF-8 (any non-ASCII byte or \u escape), that
 * use an escape other than \n \b \f \r \t \v \xHH, octal \0..\777 (as Espruino
 * reads it: up to three digits, the low byte), \\ \' \" or a line
 * continuation, or whose raw form is not shorter.
 *
 * Raw values may hold NUL bytes: Espruino reads them by length.  (Its Linux
 * build reads a script file named on the command line as a C string, so such
 * a program runs there only from Storage: load(), eval, which is how the
 * agent runs programs.)  They never hold 0xFF: a string whose bytes or
 * length bytes (255, 511, ...) would include 0xFF, or an integer whose raw form
 * would (511, 32767), stays text; atob() bytes with 0xFF become raw runs and
 * "\xff" literals joined in parentheses where shorter (jsmin.c put_atob).
 * The agent finds where an interrupted download resumes by the first 0xFF
 * (erased flash) in the file, and Storage refuses a write over written bytes,
 * so a program must never contain 0xFF (UTF-8 text never does).
 *
 * `atob("...")` with the global atob and a canonical base64 literal becomes
 * the raw string of the decoded bytes, as Espruino's own pretokeniser
 * (jslex.c, atobChecker) and EspruinoTools' do: atob's result is exactly
 * that string.
 */
#include <string.h>
#include "jsmin_int.h"

/* The text of each token id from 138 (jslReservedWordAsString of 2v29). */
static const char *const pt_names[] = {
    "==", "===", "!=", "!==", "<=", "<<", "<<=", ">=", ">>", ">>>", ">>=", ">>>=",
    "+=", "-=", "++", "--", "*=", "/=", "%=", "&=", "&&", "|=", "||", "^=", "=>",
    "if", "else", "do", "while", "for", "break", "continue", "function", "return",
    "var", "let", "const", "this", "throw", "try", "catch", "finally", "true", "false",
    "null", "undefined", "new", "in", "instanceof", "switch", "case", "default",
    "delete", "typeof", "void", "debugger", "class", "extends", "super", "static", "of",
};
#define PT_FIRST 138
#define PT_NULLISH 208

int js_pretok_target_ok(int target) { return target == 229; }

int js_pretok_word(const uint8_t *s, size_t n)
{
    if (n == 2 && s[0] == '?' && s[1] == '?') return PT_NULLISH;
    for (size_t i = 0; i < sizeof pt_names / sizeof pt_names[0]; i++)
        if (strlen(pt_names[i]) == n && memcmp(pt_names[i], s, n) == 0) return PT_FIRST + (int)i;
    return 0;
}

const char *js_pretok_name(int id)
{
    if (id == PT_NULLISH) return "??";
    if (id >= PT_FIRST && id < PT_FIRST + (int)(sizeof pt_names / sizeof pt_names[0]))
        return pt_names[id - PT_FIRST];
    return NULL;
}

/* An integer literal as Espruino's raw form, when shorter: bytes into out,
 * returns their count, 0 to keep the text. */
size_t js_pretok_int(const uint8_t *s, size_t n, uint8_t out[3])
{
    unsigned long v = 0;
    size_t i = 0;
    unsigned base = 10;
    if (n == 0) return 0;
    if (n > 2 && s[0] == '0' && (s[1] | 0x20) == 'x') base = 16, i = 2;
    else if (n > 2 && s[0] == '0' && (s[1] | 0x20) == 'b') base = 2, i = 2;
    else if (n > 2 && s[0] == '0' && (s[1] | 0x20) == 'o') base = 8, i = 2;
    else if (n > 1 && s[0] == '0') return 0;   /* legacy octal or 0.5: keep */
    for (; i < n; i++) {
        unsigned c = s[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (c | 0x20) - 'a' + 10;
        else return 0;                          /* '.', 'e', '_', 'n' ... */
        if (d >= base) return 0;
        v = v * base + d;
        if (v > 32767) return 0;
    }
    if (v == 0 && n > 1) { out[0] = 0xD3; return 1; }
    if (v < 128 && n > 2) { out[0] = 0xD4; out[1] = (uint8_t)v; return 2; }
    if (v >= 128 && n > 3 && (v & 255) != 0xFF) {   /* no 0xFF byte: see the top */
        out[0] = 0xD5; out[1] = (uint8_t)(v & 255); out[2] = (uint8_t)(v >> 8); return 3;
    }
    return 0;
}

static int hexv(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decode a quoted string literal (with its quotes) as Espruino 2v29's
 * jslLexString would, into dst (at least n bytes), for the escapes listed at
 * the top; returns the decoded length, or -1 when the literal must stay
 * text (a line continuation stays text too). */
long js_pretok_str(const uint8_t *s, size_t n, uint8_t *dst)
{
    size_t o = 0;
    if (n < 2 || (s[0] != '"' && s[0] != '\'') || s[n - 1] != s[0]) return -1;
    for (size_t i = 1; i + 1 < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x80) return -1;
        if (c != '\\') { dst[o++] = c; continue; }
        if (i + 2 >= n) return -1;
        c = s[++i];
        switch (c) {
        case 'n': dst[o++] = 0x0A; break;
        case 'b': dst[o++] = 0x08; break;
        case 'f': dst[o++] = 0x0C; break;
        case 'r': dst[o++] = 0x0D; break;
        case 't': dst[o++] = 0x09; break;
        case 'v': dst[o++] = 0x0B; break;
        case '\\': case '\'': case '"': dst[o++] = c; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            /* Espruino: up to three octal digits, the value's low byte (\777 is 0xFF) */
            unsigned v = (unsigned)(c - '0');
            for (int k = 0; k < 2 && i + 2 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                v = v * 8 + (unsigned)(s[++i] - '0');
            if ((v & 255) == 0xFF) return -1;   /* no 0xFF byte: see the top */
            dst[o++] = (uint8_t)(v & 255);
            break;
        }
        case 'x': {
            if (i + 3 >= n) return -1;
            int h = hexv(s[i + 1]), l = hexv(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            if (h * 16 + l == 0xFF) return -1;   /* no 0xFF byte: see the top */
            dst[o++] = (uint8_t)(h * 16 + l);
            i += 2;
            break;
        }
        default: return -1;   /* \u, \8, \9, a line continuation, others: keep the text */
        }
    }
    return (long)o;
}

int jsmin_pretok_target_ok(int target) { return js_pretok_target_ok(target); }

/* Strict, canonical base64 (RFC 4648 alphabet, '=' padding to a multiple of
 * 4, zero unused bits) into dst (at least n*3/4 bytes): the decoded length,
 * or -1. */
long js_pretok_b64(const uint8_t *s, size_t n, uint8_t *dst)
{
    size_t o = 0, pad = 0;
    if (n == 0 || n % 4) return -1;
    if (s[n - 1] == '=') pad++;
    if (s[n - 2] == '=') pad++;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            uint8_t c = s[i + k];
            int d;
            if (c >= 'A' && c <= 'Z') d = c - 'A';
            else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
            else if (c >= '0' && c <= '9') d = c - '0' + 52;
            else if (c == '+') d = 62;
            else if (c == '/') d = 63;
            else if (c == '=' && i + k >= n - pad) d = 0;
            else return -1;
            v = v << 6 | (uint32_t)d;
        }
        size_t take = i + 4 == n ? 3 - pad : 3;
        if (i + 4 == n && ((pad == 1 && (v & 0xFF)) || (pad == 2 && (v & 0xFFFF)))) return -1;
        for (size_t k = 0; k < take; k++) dst[o++] = (uint8_t)(v >> (16 - 8 * k));
    }
    return (long)o;
}

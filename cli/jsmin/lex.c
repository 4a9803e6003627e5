/*
 * lex.c: the JavaScript lexer (ES2020 script goal, sloppy mode, Annex B
 * HTML-like comments).  The parser calls js_lex() with the goal it expects:
 * re=0 InputElementDiv, re=1 InputElementRegExp but fall back to '/' when no
 * regex can be lexed (a guess the parser may correct), re=2 a regex is
 * required (errors are reported).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "jsmin_int.h"


/* character classes */
#define C_DIG 4
#define C_HEX 8
uint8_t js_cls[256];
#define cls js_cls
static int cls_ready;

static void cls_init(void)
{
    for (int c = 0; c < 256; c++) {
        uint8_t v = 0;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$')
            v |= C_IDS | C_IDP;
        if (c >= '0' && c <= '9') v |= C_IDP | C_DIG | C_HEX;
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= C_HEX;
        cls[c] = v;
    }
    cls_ready = 1;
}


void js_lex_init(void) { if (!cls_ready) cls_init(); }

/* Length of a valid UTF-8 sequence at s[i], 0 when invalid. */
static int utf8_len(const uint8_t *s, size_t i, size_t n)
{
    uint8_t c = s[i];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return (i + 1 < n && (s[i + 1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[i + 1] < 0xA0) return 0;       /* overlong */
        if (c == 0xED && s[i + 1] >= 0xA0) return 0;      /* surrogate */
        return 3;
    }
    if (c < 0xF5) {
        if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
            (s[i + 3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[i + 1] < 0x90) return 0;
        if (c == 0xF4 && s[i + 1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

/* Unicode white space (>0: its length) or line terminator LS/PS (-3). */
static int uni_space(const uint8_t *s, size_t i, size_t n)
{
    uint8_t c = s[i];
    if (c == 0xC2 && i + 1 < n && s[i + 1] == 0xA0) return 2;
    if (i + 2 >= n) return 0;
    uint8_t a = s[i + 1], b = s[i + 2];
    if (c == 0xEF && a == 0xBB && b == 0xBF) return 3;
    if (c == 0xE1 && a == 0x9A && b == 0x80) return 3;
    if (c == 0xE2 && a == 0x80) {
        if (b >= 0x80 && b <= 0x8A) return 3;
        if (b == 0xA8 || b == 0xA9) return -3;
        if (b == 0xAF) return 3;
    }
    if (c == 0xE2 && a == 0x81 && b == 0x9F) return 3;
    if (c == 0xE3 && a == 0x80 && b == 0x80) return 3;
    return 0;
}

static inline int is_lt(const uint8_t *s, size_t i, size_t n)
{
    return s[i] == '\n' || s[i] == '\r' ||
           (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9));
}

/* Bytes that may start a line terminator: \n, \r, 0xE2 (LS, PS). */
static int maybe_lt(uint8_t c) { return c == '\n' || c == '\r' || c == 0xE2; }

static size_t skip_line(const uint8_t *s, size_t i, size_t n)
{
    for (;;) {
        while (i < n && !maybe_lt(s[i])) i++;
        if (i >= n || is_lt(s, i, n)) return i;
        i++;
    }
}

/* End of the block comment whose text starts at j (the index of its '*' in
 * the closing "*" "/"), or n when it is not closed; *nl set when the comment
 * holds a line terminator.  memchr finds each '*'; the text between is
 * searched for terminators only while none has been seen. */
static size_t block_end(const uint8_t *s, size_t j, size_t n, int *nl)
{
    for (;;) {
        const uint8_t *st = j < n ? memchr(s + j, '*', n - j) : NULL;
        size_t k = st ? (size_t)(st - s) : n;
        if (!*nl)
            for (size_t q = j; q < k; q++)
                if (maybe_lt(s[q]) && is_lt(s, q, n)) { *nl = 1; break; }
        if (k + 1 >= n) return n;
        if (s[k + 1] == '/') return k;
        j = k + 1;
    }
}

/* Skip white space and comments from i; *nl set when a line terminator was seen. */
static size_t skip_ws(jp *p, size_t i, int *nl)
{
    const uint8_t *s = p->src;
    size_t n = p->len;
    for (;;) {
        if (i >= n) return i;
        uint8_t c = s[i];
        if (c == ' ' || c == '\t' || c == '\v' || c == '\f') { i++; continue; }
        if (c == '\n' || c == '\r') { *nl = 1; i++; continue; }
        if (c == '/') {
            if (i + 1 < n && s[i + 1] == '/') { i = skip_line(s, i + 2, n); continue; }
            if (i + 1 < n && s[i + 1] == '*') {
                size_t j = block_end(s, i + 2, n, nl);
                if (j >= n) js_fail(p, i, "unterminated comment");
                i = j + 2;
                continue;
            }
            return i;
        }
        if (c == '<' && i + 3 < n && s[i + 1] == '!' && s[i + 2] == '-' && s[i + 3] == '-') {
            if (!p->html_comment) p->html_comment = i + 1;
            i = skip_line(s, i + 4, n);
            continue;
        }
        if (c == '-' && *nl && i + 2 < n && s[i + 1] == '-' && s[i + 2] == '>') {
            if (!p->html_comment) p->html_comment = i + 1;
            i = skip_line(s, i + 3, n);
            continue;
        }
        if (c >= 0x80) {
            int k = uni_space(s, i, n);
            if (k && !p->uni_space) p->uni_space = i + 1;
            if (k > 0) { i += (size_t)k; continue; }
            if (k < 0) { *nl = 1; i += 3; continue; }
        }
        return i;
    }
}

/* \uXXXX or \u{X...} at s[i] == '\\'; returns the index after it. */
static size_t ident_escape(jp *p, size_t i, uint16_t *fl)
{
    const uint8_t *s = p->src;
    size_t n = p->len, j = i + 1;
    if (j >= n || s[j] != 'u') js_fail(p, i, "invalid escape in identifier");
    j++;
    *fl |= TF_UESC;
    if (j < n && s[j] == '{') {
        size_t k = j + 1;
        uint32_t v = 0;
        while (k < n && (cls[s[k]] & C_HEX)) {
            v = v * 16 + (uint32_t)(s[k] <= '9' ? s[k] - '0' : (s[k] | 32) - 'a' + 10);
            if (v > 0x10FFFF) js_fail(p, i, "invalid escape in identifier");
            k++;
        }
        if (k == j + 1 || k >= n || s[k] != '}') js_fail(p, i, "invalid escape in identifier");
        *fl |= TF_UBRACE;
        return k + 1;
    }
    for (int q = 0; q < 4; q++, j++)
        if (j >= n || !(cls[s[j]] & C_HEX)) js_fail(p, i, "invalid escape in identifier");
    return j;
}

static size_t scan_ident(jp *p, size_t i, uint16_t *fl)
{
    const uint8_t *s = p->src;
    size_t n = p->len;
    while (i < n) {
        uint8_t c = s[i];
        if (cls[c] & C_IDP) { i++; continue; }
        if (c == '\\') { i = ident_escape(p, i, fl); continue; }
        if (c >= 0x80) {
            if (uni_space(s, i, n)) break;
            int k = utf8_len(s, i, n);
            if (!k) js_fail(p, i, "invalid UTF-8 byte 0x%02X", c);
            i += (size_t)k;
            continue;
        }
        break;
    }
    return i;
}

static uint8_t kw_lookup(const uint8_t *s, uint32_t n)
{
#define KW(str, k) if (n == sizeof(str) - 1 && memcmp(s, str, n) == 0) return k
    switch (s[0]) {
    case 'b': KW("break", K_BREAK); break;
    case 'c': KW("case", K_CASE); KW("catch", K_CATCH); KW("class", K_CLASS);
              KW("const", K_CONST); KW("continue", K_CONTINUE); break;
    case 'd': KW("debugger", K_DEBUGGER); KW("default", K_DEFAULT); KW("delete", K_DELETE);
              KW("do", K_DO); break;
    case 'e': KW("else", K_ELSE); KW("enum", K_ENUM); KW("export", K_EXPORT);
              KW("extends", K_EXTENDS); break;
    case 'f': KW("false", K_FALSE); KW("finally", K_FINALLY); KW("for", K_FOR);
              KW("function", K_FUNCTION); break;
    case 'i': KW("if", K_IF); KW("import", K_IMPORT); KW("in", K_IN);
              KW("instanceof", K_INSTANCEOF); break;
    case 'n': KW("new", K_NEW); KW("null", K_NULL); break;
    case 'r': KW("return", K_RETURN); break;
    case 's': KW("super", K_SUPER); KW("switch", K_SWITCH); break;
    case 't': KW("this", K_THIS); KW("throw", K_THROW); KW("true", K_TRUE); KW("try", K_TRY);
              KW("typeof", K_TYPEOF); break;
    case 'v': KW("var", K_VAR); KW("void", K_VOID); break;
    case 'w': KW("while", K_WHILE); KW("with", K_WITH); break;
    default: break;
    }
#undef KW
    return K_NONE;
}

uint8_t js_kw(const uint8_t *s, uint32_t n) { return n >= 2 && n <= 10 ? kw_lookup(s, n) : K_NONE; }

static size_t scan_digits(const uint8_t *s, size_t i, size_t n, uint8_t mask)
{
    while (i < n && ((cls[s[i]] & mask) || s[i] == '_')) i++;
    return i;
}

static size_t scan_number(jp *p, size_t i, uint16_t *fl)
{
    const uint8_t *s = p->src;
    size_t n = p->len, j = i;
    if (s[i] == '0' && i + 1 < n && ((s[i + 1] | 32) == 'x' || (s[i + 1] | 32) == 'o' ||
                                     (s[i + 1] | 32) == 'b')) {
        j = scan_digits(s, i + 2, n, C_HEX);
        if (j == i + 2) js_fail(p, i, "invalid number");
        if (j < n && s[j] == 'n') j++;
    } else if (s[i] == '0' && i + 1 < n && ((cls[s[i + 1]] & C_DIG) || s[i + 1] == '_')) {
        /* 0 then digits: LegacyOctalIntegerLiteral (all digits 0-7) takes no
         * fraction, exponent or 'n', so in 00.x the '.' is member access (and
         * needs no space); NonOctalDecimalIntegerLiteral (an 8 or 9: 08, 09)
         * is decimal and takes a fraction and an exponent, not 'n'. */
        int octal = 1;
        j = i + 1;
        while (j < n && (cls[s[j]] & C_DIG)) { if (s[j] >= '8') octal = 0; j++; }
        if (j < n && s[j] == '_') js_fail(p, j, "numeric separator in a legacy octal-like number");
        if (!octal) {
            int digits = 1;
            if (j < n && s[j] == '.') { digits = 0; j = scan_digits(s, j + 1, n, C_DIG); }
            if (j < n && (s[j] | 32) == 'e') {
                size_t k = j + 1;
                if (k < n && (s[k] == '+' || s[k] == '-')) k++;
                if (k >= n || !(cls[s[k]] & C_DIG)) js_fail(p, i, "invalid number");
                j = scan_digits(s, k, n, C_DIG);
                digits = 0;
            }
            if (digits) *fl |= TF_DIGITS;
        }
    } else {
        int digits = 1;
        if (s[i] != '.') j = scan_digits(s, i, n, C_DIG);
        if (j < n && s[j] == '.') { digits = 0; j = scan_digits(s, j + 1, n, C_DIG); }
        if (j < n && (s[j] | 32) == 'e') {
            size_t k = j + 1;
            if (k < n && (s[k] == '+' || s[k] == '-')) k++;
            if (k >= n || !(cls[s[k]] & C_DIG)) js_fail(p, i, "invalid number");
            j = scan_digits(s, k, n, C_DIG);
            digits = 0;
        } else if (digits && j < n && s[j] == 'n') {
            j++;
            digits = 0;
        }
        if (digits) *fl |= TF_DIGITS;
    }
    if (j < n && (js_is_idc(s[j]) || (cls[s[j]] & C_DIG)) && !(s[j] >= 0x80 && uni_space(s, j, n)))
        js_fail(p, j, "identifier starts immediately after number");
    return j;
}

/* Template characters from j (after '`' or '}'); sets t->sub; returns the end. */
static size_t scan_template(jp *p, size_t start, size_t j, int first, jtok *t)
{
    const uint8_t *s = p->src;
    size_t n = p->len;
    for (;;) {
        if (j >= n) js_fail(p, start, "unterminated template literal");
        uint8_t c = s[j];
        if (c == '`') { t->sub = first ? TPL_FULL : TPL_TAIL; return j + 1; }
        if (c == '\\') {
            if (j + 2 < n && s[j + 1] == 'u' && s[j + 2] == '{') t->flags |= TF_UBRACE;
            j += 2;
            continue;
        }
        if (c == '$' && j + 1 < n && s[j + 1] == '{') { t->sub = first ? TPL_HEAD : TPL_MID; return j + 2; }
        j++;
    }
}

/* Regex literal at s[i] == '/'.  Returns its end, or 0 when none can be lexed. */
static size_t scan_regex(jp *p, size_t i, int strict, uint16_t *fl)
{
    const uint8_t *s = p->src;
    size_t n = p->len, j = i + 1;
    int in_class = 0;
    for (;;) {
        if (j >= n || is_lt(s, j, n)) {
            if (strict) js_fail(p, i, "unterminated regular expression");
            return 0;
        }
        uint8_t c = s[j];
        if (c == '\\') {
            j++;
            if (j >= n || is_lt(s, j, n)) {
                if (strict) js_fail(p, i, "unterminated regular expression");
                return 0;
            }
            j++;
            continue;
        }
        if (c == '[') in_class = 1;
        else if (c == ']') in_class = 0;
        else if (c == '/') {
            if (!in_class) { j++; break; }
            *fl |= TF_RECLASS;
        }
        j++;
    }
    while (j < n && (cls[s[j]] & C_IDP)) j++;
    /* flags are IdentifierPart characters; white space and the line
     * terminators LS/PS (U+2028/9) end them */
    if (j < n && (s[j] == '\\' || (s[j] >= 0x80 && !uni_space(s, j, n)))) {
        if (strict) js_fail(p, j, "invalid regular expression flags");
        return 0;
    }
    return j;
}

/* Punctuator at s[i]: sets t->sub, returns its length (0 when none). */
static uint32_t scan_punct(const uint8_t *s, size_t i, size_t n, jtok *t)
{
    uint8_t c = s[i];
    uint8_t c1 = i + 1 < n ? s[i + 1] : 0, c2 = i + 2 < n ? s[i + 2] : 0;
    uint8_t c3 = i + 3 < n ? s[i + 3] : 0;
    t->sub = c;
    switch (c) {
    case '{': case '}': case '(': case ')': case '[': case ']': case ';': case ',':
    case '~': case ':':
        return 1;
    case '.':
        if (c1 == '.' && c2 == '.') { t->sub = P_ELLIPSIS; return 3; }
        return 1;
    case '?':
        if (c1 == '?') {
            if (c2 == '=') { t->sub = P_OPASSIGN; return 3; }
            t->sub = P_NULLISH; return 2;
        }
        if (c1 == '.' && !(c2 >= '0' && c2 <= '9')) { t->sub = P_OPTCHAIN; return 2; }
        return 1;
    case '<':
        if (c1 == '<') { if (c2 == '=') { t->sub = P_OPASSIGN; return 3; } t->sub = P_SHL; return 2; }
        if (c1 == '=') { t->sub = P_LE; return 2; }
        return 1;
    case '>':
        if (c1 == '>') {
            if (c2 == '>') {
                if (c3 == '=') { t->sub = P_OPASSIGN; return 4; }
                t->sub = P_SHR; return 3;
            }
            if (c2 == '=') { t->sub = P_OPASSIGN; return 3; }
            t->sub = P_SAR; return 2;
        }
        if (c1 == '=') { t->sub = P_GE; return 2; }
        return 1;
    case '=':
        if (c1 == '=') { if (c2 == '=') { t->sub = P_SEQ; return 3; } t->sub = P_EQ; return 2; }
        if (c1 == '>') { t->sub = P_ARROW; return 2; }
        return 1;
    case '!':
        if (c1 == '=') { if (c2 == '=') { t->sub = P_SNE; return 3; } t->sub = P_NE; return 2; }
        return 1;
    case '+': case '-':
        if (c1 == c) { t->sub = c == '+' ? P_INC : P_DEC; return 2; }
        if (c1 == '=') { t->sub = P_OPASSIGN; return 2; }
        return 1;
    case '*':
        if (c1 == '*') { if (c2 == '=') { t->sub = P_OPASSIGN; return 3; } t->sub = P_EXP; return 2; }
        if (c1 == '=') { t->sub = P_OPASSIGN; return 2; }
        return 1;
    case '%': case '^': case '/':
        if (c1 == '=') { t->sub = P_OPASSIGN; return 2; }
        return 1;
    case '&': case '|':
        if (c1 == c) {
            if (c2 == '=') { t->sub = P_OPASSIGN; return 3; }
            t->sub = c == '&' ? P_LAND : P_LOR; return 2;
        }
        if (c1 == '=') { t->sub = P_OPASSIGN; return 2; }
        return 1;
    default:
        return 0;
    }
}

void js_lex(jp *p, size_t i, int re, int at_start, jtok *t)
{
    const uint8_t *s = p->src;
    size_t n = p->len;
    int nl = at_start;
    i = skip_ws(p, i, &nl);
    t->flags = nl ? TF_NLB : 0;
    t->aux = JS_NONE;
    t->start = (uint32_t)i;
    t->sub = 0;
    if (i >= n) { t->type = T_EOF; t->len = 0; return; }
    uint8_t c = s[i];
    size_t j;
    if (cls[c] & C_IDS) {
        j = i + 1;
        while (j < n && (cls[s[j]] & C_IDP)) j++;
        if (j < n && (s[j] == '\\' || s[j] >= 0x80)) j = scan_ident(p, j, &t->flags);
        t->len = (uint32_t)(j - i);
        t->sub = (t->flags & TF_UESC) ? K_NONE : js_kw(s + i, t->len);
        t->type = t->sub ? T_KW : T_IDENT;
        return;
    }
    if (cls[c] & C_DIG || (c == '.' && i + 1 < n && (cls[s[i + 1]] & C_DIG))) {
        j = scan_number(p, i, &t->flags);
        t->type = T_NUM;
        t->len = (uint32_t)(j - i);
        return;
    }
    if (c == '"' || c == '\'') {
        j = i + 1;
        for (;;) {
            if (j >= n) js_fail(p, i, "unterminated string literal");
            uint8_t d = s[j];
            if (d == c) { j++; break; }
            if (d == '\\') {
                j++;
                if (j >= n) js_fail(p, i, "unterminated string literal");
                if (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n') j += 2;
                else {
                    if (s[j] == 'u' && j + 1 < n && s[j + 1] == '{') t->flags |= TF_UBRACE;
                    j++;
                }
                continue;
            }
            if (d == '\n' || d == '\r') js_fail(p, i, "unterminated string literal");
            j++;
        }
        t->type = T_STR;
        t->len = (uint32_t)(j - i);
        return;
    }
    if (c == '`') {
        j = scan_template(p, i, i + 1, 1, t);
        t->type = T_TPL;
        t->len = (uint32_t)(j - i);
        return;
    }
    if (c == '/' && re) {
        j = scan_regex(p, i, re == 2, &t->flags);
        if (j) {
            t->type = T_REGEX;
            t->len = (uint32_t)(j - i);
            return;
        }
        t->flags &= (uint16_t)~TF_RECLASS;
    }
    if (c == '\\' || c >= 0x80) {
        if (c >= 0x80 && !utf8_len(s, i, n)) js_fail(p, i, "invalid UTF-8 byte 0x%02X", c);
        j = scan_ident(p, i, &t->flags);
        t->type = T_IDENT;
        t->len = (uint32_t)(j - i);
        return;
    }
    if (c == '#' && i + 1 < n && ((cls[s[i + 1]] & C_IDS) || s[i + 1] == '\\' || s[i + 1] >= 0x80)) {
        /* private name #x (ES2022 class members) */
        j = scan_ident(p, i + 1, &t->flags);
        t->type = T_PRIV;
        t->len = (uint32_t)(j - i);
        return;
    }
    uint32_t k = scan_punct(s, i, n, t);
    if (!k) {
        if (c == '#' && i == 0 && n > 1 && s[1] == '!')
            js_fail(p, i, "hashbang not at the start");   /* handled by the caller */
        if (c >= 0x20 && c < 0x7F) js_fail(p, i, "unexpected character '%c'", c);
        js_fail(p, i, "unexpected byte 0x%02X", c);
    }
    t->type = T_PUNCT;
    t->len = k;
}

/* Re-lex a template continuation starting at the '}' at position i. */
void js_lex_template_cont(jp *p, size_t i, jtok *t)
{
    uint16_t keep = t->flags & TF_NLB;
    t->flags = keep;
    t->aux = JS_NONE;
    t->start = (uint32_t)i;
    size_t j = scan_template(p, i, i + 1, 0, t);
    t->type = T_TPL;
    t->len = (uint32_t)(j - i);
}

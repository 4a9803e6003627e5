/*
 * jsmin.c: the public API (jsmin.h) and the printer.
 *
 * The printer walks the annotated token array once and writes each token's
 * source bytes (or its mangled name), separated by:
 *   - a newline where the parser marked an ASI point that had a line break
 *     (TF_NL): Espruino inserts no semicolons, so `return⏎x` must stay;
 *   - a space only where gluing would change the tokens (in the ECMAScript
 *     lexer and in Espruino's): word+word, `a- -b`, `a+ +b`, `y/ /re/`,
 *     `1 .x`, `a-- >b` (`-->` comment after a newline), `a< !--b` (`<!--`).
 * A ';' that ends a statement is dropped before '}' and at the end, except
 * after a `return` that ends a function body (TF_KEEP: Espruino re-parses the
 * body without its '}' and `return` then end of input is a syntax error).
 */
#include <stdlib.h>
#include <string.h>
#include "jsmin_int.h"

void jsmin_opts_default(jsmin_opts *o)
{
    o->minify = 1;
    o->mangle = 1;
    o->target = JSMIN_TARGET_DEFAULT;
    o->gate = 1;
    o->pretok = 0;
}

int jsmin_parse_target(const char *s, int *target)
{
    int v = -1;
    size_t n = strlen(s);
    if (n == 4 && s[0] >= '1' && s[0] <= '9' && (s[1] == 'v' || s[1] == 'V') &&
        s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9')
        v = (s[0] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    else if (n == 3 && s[0] >= '1' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
             s[2] >= '0' && s[2] <= '9')
        v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    if (v < 0 || !js_gate_known_target(v)) return -1;
    *target = v;
    return 0;
}

typedef struct obuf { uint8_t *b; size_t n, cap; int oom; } obuf;

static void ob_put(obuf *o, const void *s, size_t n)
{
    if (o->oom) return;
    if (o->n + n > o->cap) {
        size_t nc = o->cap ? o->cap : 4096;
        while (nc < o->n + n) nc *= 2;
        uint8_t *q = realloc(o->b, nc);
        if (!q) { o->oom = 1; return; }
        o->b = q;
        o->cap = nc;
    }
    memcpy(o->b + o->n, s, n);
    o->n += n;
}

static void ob_ch(obuf *o, uint8_t c)
{
    if (o->n < o->cap) o->b[o->n++] = c;
    else ob_put(o, &c, 1);
}

static int is_punct(const jtok *t, int c) { return t->type == T_PUNCT && t->sub == c; }

/* A raw string's length bytes hold no 0xFF (pretok.c: never 0xFF). */
static int raw_len_ok(size_t l) { return l <= 65535 && (l & 255) != 0xFF && (l >> 8) != 0xFF; }

/* Does `prev` followed directly by `cur` need a space? lb/fb: the last byte
 * printed for prev and the first byte of cur. */
static int need_space(const jtok *prev, uint8_t lb, const jtok *cur, uint8_t fb)
{
    if (js_is_idc(lb) && js_is_idc(fb)) return 1;
    if (prev->type == T_NUM) {
        if (js_is_idc(fb) || (fb >= '0' && fb <= '9')) return 1;
        if (fb == '.' && (prev->flags & TF_DIGITS)) return 1;
    }
    if (lb == '+' && fb == '+') return !(is_punct(prev, P_INC) && is_punct(cur, '+'));
    if (lb == '-' && fb == '-') return !(is_punct(prev, P_DEC) && is_punct(cur, '-'));
    if (lb == '/' && (fb == '/' || fb == '*')) return 1;
    if (is_punct(prev, P_DEC) && fb == '>') return 1;
    return 0;
}

/* The pretokenised form of token t whose text is text/len (pretok.c), into
 * o; returns 1 when written so, 0 when the token stays text. */
static int put_pretok(obuf *o, const jtok *t, const uint8_t *text, size_t len)
{
    uint8_t b[3];
    size_t n;
    int id;
    switch (t->type) {
    case T_KW: case T_PUNCT:
        if ((id = js_pretok_word(text, len)) == 0) return 0;
        ob_ch(o, (uint8_t)id);
        return 1;
    case T_IDENT:
        if ((t->flags & TF_UESC) || (id = js_pretok_word(text, len)) == 0) return 0;
        ob_ch(o, (uint8_t)id);
        return 1;
    case T_NUM:
        if ((n = js_pretok_int(text, len, b)) == 0) return 0;
        ob_put(o, b, n);
        return 1;
    case T_STR: {
        if (len > 65535 + 2 + 4 * 65535u) return 0;
        uint8_t *d = malloc(len);
        if (!d) { o->oom = 1; return 1; }
        long dl = js_pretok_str(text, len, d);
        if (dl <= 0 || !raw_len_ok((size_t)dl) || (size_t)dl + (dl < 256 ? 2 : 3) >= len) {
            free(d);
            return 0;
        }
        b[0] = dl < 256 ? 0xD1 : 0xD2;
        b[1] = (uint8_t)(dl & 255);
        b[2] = (uint8_t)(dl >> 8);
        ob_put(o, b, dl < 256 ? 2 : 3);
        ob_put(o, d, (size_t)dl);
        free(d);
        return 1;
    }
    default:
        return 0;
    }
}

/* toks[i..i+3] are `atob ( "string" )` with atob the global (not declared
 * anywhere, so never renamed), not after `new`. */
static int is_atob(jp *p, uint32_t i, const jtok *prev)
{
    const jtok *t = &p->toks[i];
    if (t->type != T_IDENT || t->len != 4 || memcmp(p->src + t->start, "atob", 4) != 0) return 0;
    if (!(t->flags & TF_REF) || (t->flags & TF_UESC) || t->aux == JS_NONE ||
        !(p->syms[t->aux].flags & SYF_GLOBAL))
        return 0;
    if (prev && prev->type == T_KW && prev->sub == K_NEW) return 0;
    if (i + 3 >= p->ntok) return 0;
    return is_punct(&p->toks[i + 1], '(') && p->toks[i + 2].type == T_STR &&
           is_punct(&p->toks[i + 3], ')');
}

/* Raw strings of d[0..n) (no 0xFF inside), each of a length raw_len_ok,
 * joined by '+'; returns the bytes written or, with o NULL, that would be. */
static size_t put_raw_runs(obuf *o, const uint8_t *d, size_t n)
{
    size_t w = 0;
    for (size_t at = 0; at < n;) {
        size_t l = n - at < 65279 ? n - at : 65279;   /* 0xFEFF */
        if (!raw_len_ok(l)) l--;                       /* ..FF -> ..FE */
        uint8_t b[3] = { l < 256 ? 0xD1 : 0xD2, (uint8_t)(l & 255), (uint8_t)(l >> 8) };
        if (at) { if (o) ob_ch(o, '+'); w++; }
        if (o) { ob_put(o, b, l < 256 ? 2 : 3); ob_put(o, d + at, l); }
        w += (l < 256 ? 2 : 3) + l;
        at += l;
    }
    return w;
}

/* atob(str) pretokenised: 1 when written, 0 (nothing written) to keep it.
 * Its canonical base64 of 1..65535 bytes becomes the raw string of the
 * bytes; bytes holding 0xFF (never in a program: pretok.c), or a length
 * whose bytes would (255, 511, ...), become, where
 * `paren` allows and it is shorter, the concatenation in parentheses of raw
 * strings and "\xff" literals, the same string. */
static int put_atob(obuf *o, const jtok *str, const uint8_t *src, int paren)
{
    uint8_t *a = malloc(str->len + 1), *d = malloc(str->len + 1);
    long al, dl = -1;
    int ok = 0;
    if (!a || !d) { free(a); free(d); o->oom = 1; return 1; }
    al = js_pretok_str(src + str->start, str->len, a);
    if (al > 0) dl = js_pretok_b64(a, (size_t)al, d);
    if (dl > 0 && raw_len_ok((size_t)dl) && !memchr(d, 0xFF, (size_t)dl)) {
        put_raw_runs(o, d, (size_t)dl);   /* one raw string */
        ok = 1;
    } else if (dl > 0 && dl <= 65535 && paren) {
        /* the cost first: "(" runs "+" ... ")" against atob("...") */
        size_t cost = 2, n = (size_t)dl, segs = 0;
        for (size_t at = 0; at < n; segs++) {
            size_t e = at;
            if (d[at] == 0xFF) { while (e < n && d[e] == 0xFF) e++; cost += 2 + 4 * (e - at); }
            else { while (e < n && d[e] != 0xFF) e++; cost += put_raw_runs(NULL, d + at, e - at); }
            at = e;
        }
        cost += segs - 1;
        if (cost < str->len + 6) {
            ob_ch(o, '(');
            for (size_t at = 0; at < n;) {
                size_t e = at;
                if (at) ob_ch(o, '+');
                if (d[at] == 0xFF) {
                    while (e < n && d[e] == 0xFF) e++;
                    ob_ch(o, '"');
                    for (size_t k = at; k < e; k++) ob_put(o, "\\xff", 4);
                    ob_ch(o, '"');
                } else {
                    while (e < n && d[e] != 0xFF) e++;
                    put_raw_runs(o, d + at, e - at);
                }
                at = e;
            }
            ob_ch(o, ')');
            ok = 1;
        }
    }
    free(a);
    free(d);
    return ok;
}

static void print_tokens(jp *p, obuf *o, int pretok)
{
    const jtok *prev = NULL;
    uint8_t lb = 0;
    char nbuf[8];
    int prev_pt = 0;      /* the previous token was written as token bytes */
    uint32_t tpl = 0;     /* depth of template substitutions: stay text inside */
    for (uint32_t i = 0; i < p->ntok; i++) {
        const jtok *t = &p->toks[i];
        if (t->type == T_EOF) break;
        if ((t->flags & TF_TERM) && !(t->flags & TF_KEEP) && is_punct(t, ';')) {
            /* Droppable when only droppable ';' stand between it and the
             * '}' or the end: `a;;}` prints `a}` at once, so the output
             * minified again is the same text. */
            uint32_t j = i + 1;
            while (j < p->ntok && is_punct(&p->toks[j], ';') && (p->toks[j].flags & TF_TERM) &&
                   !(p->toks[j].flags & TF_KEEP))
                j++;
            const jtok *nx = &p->toks[j < p->ntok ? j : p->ntok - 1];
            if (nx->type == T_EOF || is_punct(nx, '}')) continue;
        }
        const uint8_t *text = p->src + t->start;
        size_t len = t->len;
        const uint8_t *key = NULL;
        if (t->type == T_IDENT && (t->flags & (TF_DECL | TF_REF)) && t->aux != JS_NONE &&
            p->syms[t->aux].name != JS_NONE) {
            if (t->flags & TF_SHORT) key = text;
            len = js_name_text(p->syms[t->aux].name, nbuf);
            text = (const uint8_t *)nbuf;
        }
        if (t->type == T_TPL && (t->sub == TPL_TAIL) && tpl) tpl--;
        /* Pretokenised: atob("base64") with the global atob -> the raw string */
        if (pretok && !tpl && !key && is_atob(p, i, prev)) {
            if (prev && (t->flags & TF_NL)) ob_ch(o, '\n');
            /* "(" may start the expression only where nothing before it could
             * take it as a call: no newline (ASI point), no value before */
            int paren = !(t->flags & TF_NL) &&
                        (!prev || (prev->type != T_IDENT && prev->type != T_NUM &&
                                   prev->type != T_STR && prev->type != T_TPL &&
                                   prev->type != T_REGEX && prev->type != T_PRIV &&
                                   !is_punct(prev, ')') && !is_punct(prev, ']') &&
                                   !is_punct(prev, '}') &&
                                   !(prev->type == T_KW && (prev->sub == K_THIS ||
                                     prev->sub == K_TRUE || prev->sub == K_FALSE ||
                                     prev->sub == K_NULL || prev->sub == K_SUPER))));
            if (put_atob(o, &p->toks[i + 2], p->src, paren)) {
                i += 3;
                prev = &p->toks[i];
                prev_pt = 1;
                continue;
            }
            if (prev && (t->flags & TF_NL)) o->n--;
        }
        /* Pretokenised: would this token be written as token bytes? */
        int cur_pt = 0;
        if (pretok && !tpl && !key) {
            size_t mark = o->n;
            int nl = prev && (t->flags & TF_NL);
            if (nl) ob_ch(o, '\n');
            size_t at = o->n;
            cur_pt = put_pretok(o, t, text, len);
            if (cur_pt) {
                prev = t;
                prev_pt = 1;
                lb = o->n > at ? o->b[o->n - 1] : lb;
                continue;
            }
            o->n = mark;
        }
        uint8_t fb = key ? key[0] : text[0];
        if (prev) {
            if (t->flags & TF_NL) ob_ch(o, '\n');
            else if (prev_pt) { /* a token byte or raw value ends itself */ }
            else if (need_space(prev, lb, t, fb)) ob_ch(o, ' ');
            else if (is_punct(t, P_DEC) && o->n >= 2 && o->b[o->n - 1] == '!' &&
                     o->b[o->n - 2] == '<') {
                /* `<` `!` `--` would print "<!--": an HTML comment opener */
                o->b[o->n - 1] = ' ';
                ob_ch(o, '!');
            }
        }
        if (key) {
            ob_put(o, key, t->len);
            ob_ch(o, ':');
        }
        ob_put(o, text, len);
        lb = text[len - 1];
        prev = t;
        prev_pt = 0;
        if (pretok && t->type == T_TPL && t->sub == TPL_HEAD) tpl++;
    }
}

/* Parse, resolve and gate: 0 ok, 1 syntax or gate error, -1 out of memory. */
static int analyse(jp *p)
{
    if (setjmp(p->jb)) return p->oom ? -1 : 1;
    js_parse(p);
    js_resolve(p);
    js_gate_builtins(p);
    return p->errors ? 1 : 0;
}

int jsmin_run(const char *filename, const uint8_t *src, size_t len, const jsmin_opts *o,
              uint8_t **out, size_t *out_len, int *warnings, FILE *diag)
{
    int rc = 1;
    *out = NULL;
    *out_len = 0;
    if (warnings) *warnings = 0;
    jp *p = calloc(1, sizeof *p);
    if (!p) return -1;
    p->src = src;
    p->len = len;
    p->file = filename ? filename : "<input>";
    p->diag = diag;
    p->o = o;
    p->track = o->minify || o->gate;   /* scopes also give the duplicate-declaration errors */
    obuf ob = { 0 };
    if (len > JS_MAX_INPUT) {
        if (diag) fprintf(diag, "%s: error: input too large (%zu bytes, limit %u)\n", p->file,
                          len, (unsigned)JS_MAX_INPUT);
        goto out;
    }
    if (o->pretok && (!o->minify || !js_pretok_target_ok(o->target))) {
        if (diag) fprintf(diag, "%s: error: %s\n", p->file, !o->minify ?
                          "pretokenising needs minifying (not with --no-minify)" :
                          "pretokenised code is only made for target 2v29 (the token ids "
                          "this otasign was checked against)");
        goto out;
    }
    if (o->minify || o->gate) {
        rc = analyse(p);
        if (rc) goto out;
        rc = 1;
    }
    if (!o->minify) {
        ob_put(&ob, src, len);
    } else {
        if (o->mangle) js_mangle(p);
        ob.cap = len + len / 64 + 64;
        ob.b = malloc(ob.cap);
        if (!ob.b) { rc = -1; goto out; }
        jsmin_huge(ob.b, ob.cap);
        print_tokens(p, &ob, o->pretok);
    }
    if (!ob.oom && !ob.b) ob.b = malloc(1);
    if (ob.oom || !ob.b) { rc = -1; goto out; }
    *out = ob.b;
    *out_len = ob.n;
    ob.b = NULL;
    rc = 0;
out:
    if (warnings) *warnings = p->warnings;
    free(ob.b);
    free(p->toks); free(p->scopes); free(p->syms); free(p->refs); free(p->cand); free(p->htab);
    free(p);
    return rc;
}

/*
 * parse.c: recursive-descent parser for ES2020 scripts (sloppy mode).
 *
 * The parser builds no tree.  It drives the lexer one token at a time (so it
 * decides regex versus division), and annotates the token array:
 *   - TF_NL on the token after an automatic-semicolon-insertion point that had
 *     a line break (the printer keeps that newline);
 *   - TF_TERM on ';' that ends a statement (the printer may drop it before
 *     '}' or at the end);
 *   - declarations and references of names, with their scopes, for mangling.
 * Arrow parameters are parsed as a parenthesised expression first (the cover
 * grammar); identifiers that sit in binding positions are kept in a candidate
 * list and turned into parameters when '=>' follows.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/mman.h>
#include <string.h>
#include "jsmin_int.h"

#define TK(p) (&(p)->toks[(p)->cur])

/* expression kinds returned by the expression parsers */
enum { X_OTHER, X_ID, X_PAT, X_ASSIGN, X_ARROW };
#define F_NOIN 1

enum { B_VAR, B_LET, B_PARAM, B_CATCH };

void *js_grow(jp *p, void *arr, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need <= *cap) return arr;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) nc *= 2;
    if (nc > 0x7FFFFFFFu) { p->oom = 1; longjmp(p->jb, 1); }
    void *q = realloc(arr, nc * elem);
    if (!q) { p->oom = 1; longjmp(p->jb, 1); }
    *cap = (uint32_t)nc;
    jsmin_huge(q, nc * elem);
    return q;
}

/* Large arrays (the token array of a 6 MB script is 27 MB) in 2 MB pages
 * where the kernel offers them (transparent huge pages in "madvise" mode):
 * one page fault per 2 MB instead of one per 4 KB, which was a third of the
 * minifier's time on such inputs.  Advice only: nothing changes without it. */
void jsmin_huge(void *q, size_t size)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (size < 2 * huge) return;
    uintptr_t a = ((uintptr_t)q + huge - 1) & ~(huge - 1), e = ((uintptr_t)q + size) & ~(huge - 1);
    if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)q; (void)size;
#endif
}

static void linecol(jp *p, size_t pos, unsigned *line, unsigned *col)
{
    size_t i = 0;
    unsigned l = 1, c = 1;
    if (p->lc_line && pos >= p->lc_pos) { i = p->lc_pos; l = p->lc_line; c = p->lc_col; }
    for (; i < pos && i < p->len; i++) {
        uint8_t b = p->src[i];
        if (b == '\n' || (b == '\r' && !(i + 1 < p->len && p->src[i + 1] == '\n'))) { l++; c = 1; }
        else if ((b & 0xC0) != 0x80) c++;
    }
    p->lc_pos = i; p->lc_line = l; p->lc_col = c;
    *line = l; *col = c;
}

static void vdiag(jp *p, size_t pos, int is_error, const char *fmt, va_list ap)
{
    unsigned line, col;
    linecol(p, pos, &line, &col);
    if (is_error) p->errors++; else p->warnings++;
    if (!p->diag) return;
    fprintf(p->diag, "%s:%u:%u: %s: ", p->file, line, col, is_error ? "error" : "warning");
    vfprintf(p->diag, fmt, ap);
    fputc('\n', p->diag);
}

void js_diag(jp *p, size_t pos, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdiag(p, pos, is_error, fmt, ap);
    va_end(ap);
}

void js_fail(jp *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdiag(p, pos, 1, fmt, ap);
    va_end(ap);
    p->oom = 0;
    longjmp(p->jb, 1);
}

/* ---- scopes and symbols ---------------------------------------------- */

uint32_t js_name_hash(const uint8_t *s, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

/* The table holds pairs {symbol + 1, key}: the key (name hash mixed with the
 * scope) is checked before the symbol is touched, so a probe costs one cache
 * line. */
static uint32_t key_of(uint32_t scope, uint32_t h) { return h ^ (scope * 0x9E3779B1u); }

/* Slot of a key: the high bits of a multiplicative hash (the low bits of a
 * product mix poorly). */
static uint32_t slot0(jp *p, uint32_t key)
{
    uint32_t x = key * 0x85EBCA6Bu;
    x ^= x >> 15;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x & (p->hcap - 1);
}

uint32_t js_lookup_h(jp *p, uint32_t scope, const uint8_t *name, uint32_t len, uint32_t hn)
{
    if (!p->hcap) return JS_NONE;
    jscope *sc = &p->scopes[scope];
    if (!(sc->bloom[(hn >> 6) & 1] & (1ull << (hn & 63)))) return JS_NONE;
    uint32_t key = key_of(scope, hn), h = slot0(p, key);
    for (;;) {
        uint32_t v = p->htab[2 * h];
        if (!v) return JS_NONE;
        if (p->htab[2 * h + 1] == key) {
            jsym *y = &p->syms[v - 1];
            jtok *t = &p->toks[y->tok];
            if (y->scope == scope && t->len == len && memcmp(p->src + t->start, name, len) == 0)
                return v - 1;
        }
        h = (h + 1) & (p->hcap - 1);
    }
}

uint32_t js_lookup(jp *p, uint32_t scope, const uint8_t *name, uint32_t len)
{
    return js_lookup_h(p, scope, name, len, js_name_hash(name, len));
}

static void hash_insert(jp *p, uint32_t si)
{
    jsym *y = &p->syms[si];
    uint32_t key = key_of(y->scope, y->hash), h = slot0(p, key);
    while (p->htab[2 * h]) h = (h + 1) & (p->hcap - 1);
    p->htab[2 * h] = si + 1;
    p->htab[2 * h + 1] = key;
    p->scopes[y->scope].bloom[(y->hash >> 6) & 1] |= 1ull << (y->hash & 63);
}

static uint32_t new_sym(jp *p, uint32_t scope, uint32_t tok)
{
    if ((p->nsym + 1) * 2 > p->hcap) {
        uint32_t nc = p->hcap ? p->hcap * 2 : 1024;
        uint32_t *nt = calloc((size_t)nc * 2, sizeof *nt);
        if (!nt) { p->oom = 1; longjmp(p->jb, 1); }
        free(p->htab);
        p->htab = nt;
        p->hcap = nc;
        for (uint32_t i = 0; i < p->nsym; i++) hash_insert(p, i);
    }
    if (p->nsym + 1 > p->capsym) p->syms = js_grow(p, p->syms, &p->capsym, sizeof(jsym), p->nsym + 1);
    jsym *y = &p->syms[p->nsym];
    y->tok = tok; y->scope = scope; y->uses = 0; y->name = JS_NONE; y->mark = 0; y->flags = 0;
    y->hash = js_name_hash(p->src + p->toks[tok].start, p->toks[tok].len);
    hash_insert(p, p->nsym);
    p->scopes[scope].nsym++;
    return p->nsym++;
}

uint32_t js_declare(jp *p, uint32_t scope, uint32_t tok)
{
    if (!p->track) return JS_NONE;
    jtok *t = &p->toks[tok];
    uint32_t s = js_lookup(p, scope, p->src + t->start, t->len);
    if (s == JS_NONE) s = new_sym(p, scope, tok);
    t = &p->toks[tok];
    t->flags |= TF_DECL;
    t->flags &= (uint16_t)~TF_REF;
    t->aux = s;
    p->syms[s].uses++;
    if (t->flags & TF_UESC) p->uesc_seen = 1;
    return s;
}

/* Global (implicit) symbol for resolve. */
uint32_t js_global_sym(jp *p, uint32_t tok);
uint32_t js_global_sym(jp *p, uint32_t tok)
{
    uint32_t s = new_sym(p, 0, tok);
    p->syms[s].flags |= SYF_GLOBAL;
    return s;
}

static uint32_t new_scope(jp *p, int kind)
{
    if (p->nscope + 1 > p->capscope) p->scopes = js_grow(p, p->scopes, &p->capscope, sizeof(jscope), p->nscope + 1);
    jscope *s = &p->scopes[p->nscope];
    s->parent = p->scope;
    s->kind = (uint8_t)kind;
    s->flags = 0;
    s->nsym = 0;
    s->bloom[0] = s->bloom[1] = 0;
    s->fn = (kind == S_FUNC || kind == S_PROGRAM) ? p->nscope : p->scopes[p->scope].fn;
    p->scope = p->nscope;
    return p->nscope++;
}

static void add_ref(jp *p, uint32_t tok)
{
    if (!p->track) return;
    if (p->nref + 1 > p->capref) p->refs = js_grow(p, p->refs, &p->capref, sizeof(jref), p->nref + 1);
    p->refs[p->nref].tok = tok;
    p->refs[p->nref].scope = p->scope;
    jtok *t = &p->toks[tok];
    t->flags |= TF_REF;
    t->aux = p->nref++;
    if (t->flags & TF_UESC) p->uesc_seen = 1;
}

static void kill_ref(jp *p, uint32_t tok)
{
    jtok *t = &p->toks[tok];
    if (t->flags & TF_REF) {
        p->refs[t->aux].scope = JS_NONE;
        t->flags &= (uint16_t)~TF_REF;
        t->aux = JS_NONE;
    }
}

static void push_cand(jp *p, uint32_t tok)
{
    if (p->ncand + 1 > p->capcand) p->cand = js_grow(p, p->cand, &p->capcand, sizeof(uint32_t), p->ncand + 1);
    p->cand[p->ncand++] = tok;
}

static void dup_error(jp *p, uint32_t tok)
{
    jtok *t = &p->toks[tok];
    js_fail(p, t->start, "'%.*s' has already been declared", (int)(t->len > 40 ? 40 : t->len),
            (const char *)p->src + t->start);
}

/* var (and function, Annex B function-in-block) declarations go to the
 * function's var scope: the function itself, or its S_BODY when it has one
 * (then a name that is also a parameter is the parameter's symbol). */
static void declare_var_x(jp *p, uint32_t tok, int check);
static void declare_var(jp *p, uint32_t tok) { declare_var_x(p, tok, 1); }

/* check: a var/function conflicting with a let/const/class is an error (not
 * for an Annex B function in a block: its var binding is then skipped) */
static void declare_var_x(jp *p, uint32_t tok, int check)
{
    uint32_t fn = p->scopes[p->scope].fn, s = p->scope;
    jtok *t = &p->toks[tok];
    for (; s != fn && p->scopes[s].kind != S_BODY; s = p->scopes[s].parent)
        if (p->scopes[s].kind == S_CATCH &&
            js_lookup(p, s, p->src + t->start, t->len) != JS_NONE)
            p->scopes[fn].flags |= SF_NOMANGLE;   /* var e inside catch(e): keep names */
    if (s != fn && p->track && js_lookup(p, fn, p->src + t->start, t->len) != JS_NONE) s = fn;
    if (p->track && check) {
        uint32_t e = js_lookup(p, s, p->src + t->start, t->len);
        if (e != JS_NONE && (p->syms[e].flags & SYF_LEXICAL)) dup_error(p, tok);  /* let x; var x */
    }
    js_declare(p, s, tok);
}

/* After a parameter list whose references start at rs: give the body its own
 * var scope (S_BODY, current on return) when the list referenced any name. */
static void body_scope(jp *p, uint32_t rs)
{
    for (uint32_t r = rs; r < p->nref; r++)
        if (p->refs[r].scope != JS_NONE) { new_scope(p, S_BODY); return; }
}

/* let/const (B_LET), parameters and catch bindings: in the current scope. */
static uint32_t declare_lex(jp *p, uint32_t tok, int kind)
{
    /* ECMA-262 early error: a let/const/class name declared twice in one
     * scope, or also declared there by var/function/parameter */
    if (kind == B_LET && p->track) {
        jtok *t = &p->toks[tok];
        if (js_lookup(p, p->scope, p->src + t->start, t->len) != JS_NONE) dup_error(p, tok);
    }
    uint32_t s = js_declare(p, p->scope, tok);
    if (kind == B_LET && s != JS_NONE) p->syms[s].flags |= SYF_LEXICAL | SYF_LETCONST;
    return s;
}

/* ---- token helpers -------------------------------------------------- */

static void advance(jp *p, int re)
{
    if (p->ntok + 1 > p->captok) p->toks = js_grow(p, p->toks, &p->captok, sizeof(jtok), p->ntok + 1);
    jtok *t = &p->toks[p->ntok];
    js_lex(p, p->pos, re, p->ntok == 0, t);
    p->pos = (size_t)t->start + t->len;
    p->cur = p->ntok++;
}

static void relex(jp *p, int re)
{
    jtok *t = TK(p);
    /* Keep what was learnt of the token's position: the line break before
     * it and an ASI point set by semicolon() (`let A⏎/re/.x` relexes the '/'
     * as a regex after the semicolon was inserted: the newline must stay). */
    uint16_t keep = t->flags & (TF_NLB | TF_NL);
    js_lex(p, t->start, re, 0, t);
    t->flags |= keep;
    p->pos = (size_t)t->start + t->len;
}

/* Look at the token after the current one (div goal) without consuming it. */
static void peek(jp *p, jtok *out)
{
    js_lex(p, p->pos, 0, 0, out);
}

static int is_p(jp *p, int c)
{
    jtok *t = TK(p);
    return t->type == T_PUNCT && t->sub == c;
}

static int is_kw(jp *p, int k)
{
    jtok *t = TK(p);
    return t->type == T_KW && t->sub == k;
}

static int tok_is(jp *p, const jtok *t, const char *word)
{
    size_t n = strlen(word);
    return t->type == T_IDENT && t->len == n && memcmp(p->src + t->start, word, n) == 0;
}

static int is_id(jp *p, const char *word) { return tok_is(p, TK(p), word); }

static const char *pname(int c)
{
    static const char *const multi[] = { "...", "=>", "==", "===", "!=", "!==", "<=", ">=",
        "&&", "||", "??", "?.", "++", "--", "<<", ">>", ">>>", "**", "op=" };
    static const char single[] = "{}()[];,<>+-*/%&|^!~?:=.";
    if (c >= 128 && c <= P_OPASSIGN) return multi[c - 128];
    const char *q = strchr(single, c);
    static const char *const one[] = { "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+",
        "-", "*", "/", "%", "&", "|", "^", "!", "~", "?", ":", "=", "." };
    return q ? one[q - single] : "?";
}

static void unexpected(jp *p)
{
    jtok *t = TK(p);
    if (t->type == T_EOF) js_fail(p, t->start, "unexpected end of input");
    js_fail(p, t->start, "unexpected token '%.*s'", (int)(t->len > 40 ? 40 : t->len),
            (const char *)p->src + t->start);
}

static void expect(jp *p, int c, int re)
{
    if (!is_p(p, c)) {
        jtok *t = TK(p);
        if (t->type == T_EOF) js_fail(p, t->start, "expected '%s' before end of input", pname(c));
        js_fail(p, t->start, "expected '%s'", pname(c));
    }
    advance(p, re);
}

static void enter(jp *p)
{
    if (++p->depth > JS_MAX_DEPTH)
        js_fail(p, TK(p)->start, "nesting too deep (limit %d)", JS_MAX_DEPTH);
}

static void semicolon(jp *p)
{
    jtok *t = TK(p);
    if (t->type == T_PUNCT && t->sub == ';') {
        t->flags |= TF_TERM;
        advance(p, 1);
        return;
    }
    if (t->type == T_EOF || (t->type == T_PUNCT && t->sub == '}')) return;
    if (t->flags & TF_NLB) { t->flags |= TF_NL; return; }
    if (t->type == T_EOF) unexpected(p);
    js_fail(p, t->start, "expected ';' before '%.*s'", (int)(t->len > 40 ? 40 : t->len),
            (const char *)p->src + t->start);
}

/* The current token is the '}' closing a function body opened at `open`.
 * Espruino stores a body as its text without that '}' and parses it at each
 * call (jsparse.c jspeFunctionDefinitionInternal, then jspeBlockNoBrackets
 * until end of input); jspeStatementReturn parses an expression unless the
 * next token is ';' or '}', so a `return` that is the last token of the
 * stored text reads the end of input as an expression and throws
 * "SyntaxError: Unexpected end of Input" at every call, even when that
 * `return` never runs.  So the ';' in `return;}` must stay.  Exception: a body
 * that is exactly `return;` (Espruino skips a leading `return` and stores
 * nothing after it: jspeFunctionDefinitionInternal's JSV_FUNCTION_RETURN). */
static void body_end(jp *p, uint32_t open)
{
    uint32_t c = p->cur;
    if (c >= open + 3 && p->toks[c - 1].type == T_KW && p->toks[c - 1].sub == K_RETURN)
        js_gate(p, c - 1, G_WARN_RETURN_END);   /* the source has `return}` itself */
    if (c < open + 3) return;
    jtok *semi = &p->toks[c - 1], *ret = &p->toks[c - 2];
    if (semi->type == T_PUNCT && semi->sub == ';' && (semi->flags & TF_TERM) &&
        ret->type == T_KW && ret->sub == K_RETURN && c - 2 != open + 1)
        semi->flags |= TF_KEEP;
}

/* ---- expressions ---------------------------------------------------- */

static int parse_assign(jp *p, int fl);
static int parse_expr(jp *p, int fl);
static void parse_statement(jp *p);
static int parse_lhs(jp *p);
static void parse_function(jp *p, int decl, int is_async);
static void parse_class(jp *p, int decl);
static void parse_binding(jp *p, int kind);
static void parse_fn_rest(jp *p, int is_async, int is_gen);
static void block_body(jp *p, uint32_t open);

static void parse_template(jp *p)
{
    while (TK(p)->sub == TPL_HEAD || TK(p)->sub == TPL_MID) {
        advance(p, 1);
        parse_expr(p, 0);
        if (!is_p(p, '}')) {
            if (TK(p)->type == T_EOF) js_fail(p, TK(p)->start, "unterminated template literal");
            js_fail(p, TK(p)->start, "expected '}' in template literal");
        }
        js_lex_template_cont(p, TK(p)->start, TK(p));
        p->pos = (size_t)TK(p)->start + TK(p)->len;
    }
    advance(p, 0);
}

/* Turn the candidates since cs into the parameters of a new arrow function
 * and parse its body.  rs/ss: first reference and scope of the parameter list. */
static void make_arrow(jp *p, uint32_t cs, uint32_t rs, uint32_t ss, int is_async, int fl)
{
    uint32_t outer = p->scope;
    uint32_t a = new_scope(p, S_FUNC);
    for (uint32_t r = rs; r < p->nref; r++)
        if (p->refs[r].scope == outer) p->refs[r].scope = a;
    for (uint32_t s = ss; s < a; s++)
        if (p->scopes[s].parent == outer) {
            p->scopes[s].parent = a;
            if (p->scopes[s].kind != S_FUNC) p->scopes[s].fn = a;
        }
    for (uint32_t c = cs; c < p->ncand; c++) {
        kill_ref(p, p->cand[c]);
        js_declare(p, a, p->cand[c]);
    }
    p->ncand = cs;
    int sa = p->in_async, sg = p->in_gen, sf = p->in_func, sfi = p->for_init;
    p->in_async = is_async; p->in_gen = 0; p->in_func = 1; p->for_init = 0;
    advance(p, 1);    /* past '=>' */
    if (is_p(p, '{')) {
        body_scope(p, rs);
        uint32_t open = p->cur;
        advance(p, 1);
        while (!is_p(p, '}')) {
            if (TK(p)->type == T_EOF) unexpected(p);
            parse_statement(p);
        }
        body_end(p, open);
        advance(p, 1);
    } else {
        uint32_t c0 = p->ncand;
        parse_assign(p, fl);
        p->ncand = c0;
    }
    p->in_async = sa; p->in_gen = sg; p->in_func = sf; p->for_init = sfi;
    p->scope = outer;
}

/* '(' list ')' as a parenthesised expression, call arguments or arrow
 * parameters.  is_call: arguments of a call; async_tok: the callee is `async`. */
static int parse_paren(jp *p, int is_call, int can_arrow, int is_async, int fl)
{
    uint32_t cs = p->ncand, rs = p->nref, ss = p->nscope;
    uint32_t open = p->cur;
    uint32_t spread_tok = JS_NONE, default_tok = JS_NONE, destr_tok = JS_NONE;
    int ok = can_arrow, n = 0;
    advance(p, 1);
    while (!is_p(p, ')')) {
        int k;
        if (is_p(p, P_ELLIPSIS)) {
            if (spread_tok == JS_NONE) spread_tok = p->cur;
            advance(p, 1);
        }
        uint32_t et = p->cur;
        k = parse_assign(p, 0);
        if (k == X_OTHER || k == X_ARROW) ok = 0;
        if (k == X_ASSIGN && default_tok == JS_NONE) default_tok = et;
        if (k == X_PAT && destr_tok == JS_NONE) destr_tok = et;
        n++;
        if (is_p(p, ',')) { advance(p, 1); continue; }
        if (!is_p(p, ')')) {
            if (TK(p)->type == T_EOF)
                js_fail(p, p->toks[open].start, "unclosed '('");
            js_fail(p, TK(p)->start, "expected ',' or ')'");
        }
    }
    advance(p, 0);
    if (ok && is_p(p, P_ARROW) && !(TK(p)->flags & TF_NLB)) {
        if (spread_tok != JS_NONE) js_gate(p, spread_tok, G_REST);
        if (default_tok != JS_NONE) js_gate(p, default_tok, G_DEFAULT_PARAM);
        if (destr_tok != JS_NONE) js_gate(p, destr_tok, G_DESTRUCT);
        make_arrow(p, cs, rs, ss, is_async, fl);
        return X_ARROW;
    }
    if (spread_tok != JS_NONE) js_gate(p, spread_tok, G_SPREAD);
    p->ncand = cs;
    if (!is_call && n == 0) unexpected(p);
    return X_OTHER;
}

static int parse_array(jp *p)
{
    uint32_t cs = p->ncand, open = p->cur;
    int pat = 1;
    advance(p, 1);
    while (!is_p(p, ']')) {
        if (is_p(p, ',')) { advance(p, 1); continue; }
        if (is_p(p, P_ELLIPSIS)) { js_gate(p, p->cur, G_SPREAD); advance(p, 1); }
        int k = parse_assign(p, 0);
        if (k == X_OTHER || k == X_ARROW) pat = 0;
        if (is_p(p, ',')) advance(p, 1);
        else if (!is_p(p, ']')) {
            if (TK(p)->type == T_EOF) js_fail(p, p->toks[open].start, "unclosed '['");
            js_fail(p, TK(p)->start, "expected ',' or ']'");
        }
    }
    advance(p, 0);
    if (!pat) p->ncand = cs;
    return pat ? X_PAT : X_OTHER;
}

/* A property name (object literal or class member); after it the current
 * token is what follows the name. */
static void parse_prop_name(jp *p)
{
    jtok *t = TK(p);
    if (t->type == T_IDENT || t->type == T_KW || t->type == T_STR || t->type == T_NUM) {
        advance(p, 0);
        return;
    }
    if (t->type == T_PRIV) {
        js_gate(p, p->cur, G_PRIVATE);
        advance(p, 0);
        return;
    }
    if (is_p(p, '[')) {
        js_gate(p, p->cur, G_COMPUTED);
        advance(p, 1);
        uint32_t c0 = p->ncand;
        parse_assign(p, 0);
        p->ncand = c0;
        expect(p, ']', 0);
        return;
    }
    unexpected(p);
}

/* get/set/async/static before a name (not when the word itself is the name). */
static int is_modifier(jp *p)
{
    jtok nt;
    peek(p, &nt);
    if (nt.type == T_EOF) return 0;
    if (nt.type == T_PUNCT &&
        (nt.sub == ',' || nt.sub == ':' || nt.sub == '(' || nt.sub == '}' || nt.sub == '=' ||
         nt.sub == ';'))
        return 0;
    return 1;
}

static int parse_object(jp *p)
{
    uint32_t cs = p->ncand, open = p->cur;
    int pat = 1;
    advance(p, 0);
    while (!is_p(p, '}')) {
        if (TK(p)->type == T_EOF) js_fail(p, p->toks[open].start, "unclosed '{'");
        if (is_p(p, P_ELLIPSIS)) {
            js_gate(p, p->cur, G_SPREAD);
            advance(p, 1);
            int k = parse_assign(p, 0);
            if (k != X_ID && k != X_PAT) pat = 0;
        } else {
            int is_async = 0, is_gen = 0, accessor = 0;
            if ((is_id(p, "get") || is_id(p, "set") || is_id(p, "async")) && is_modifier(p)) {
                if (is_id(p, "async")) { is_async = 1; js_gate(p, p->cur, G_ASYNC); }
                else accessor = 1;
                advance(p, 0);
            }
            if (is_p(p, '*')) { js_gate(p, p->cur, G_GENERATOR); is_gen = 1; advance(p, 0); }
            uint32_t nt = p->cur;
            int ident = TK(p)->type == T_IDENT;
            if (accessor && (!ident || js_espruino_reserved(p, TK(p))))
                js_gate(p, nt, G_ACCESSOR_NAME);
            parse_prop_name(p);
            if (accessor || is_async || is_gen || is_p(p, '(')) {
                uint32_t outer = p->scope;
                new_scope(p, S_FUNC);
                parse_fn_rest(p, is_async, is_gen);
                p->scope = outer;
                advance(p, 0);
                pat = 0;
            } else if (is_p(p, ':')) {
                advance(p, 1);
                int k = parse_assign(p, 0);
                if (k == X_OTHER || k == X_ARROW) pat = 0;
            } else if (ident && (is_p(p, ',') || is_p(p, '}') || is_p(p, '='))) {
                js_gate(p, nt, G_SHORTHAND);
                p->toks[nt].flags |= TF_SHORT;
                add_ref(p, nt);
                push_cand(p, nt);
                if (is_p(p, '=')) {
                    advance(p, 1);
                    uint32_t c0 = p->ncand;
                    parse_assign(p, 0);
                    p->ncand = c0;
                }
            } else {
                unexpected(p);
            }
        }
        if (is_p(p, ',')) advance(p, 0);
        else if (!is_p(p, '}')) {
            if (TK(p)->type == T_EOF) js_fail(p, p->toks[open].start, "unclosed '{'");
            js_fail(p, TK(p)->start, "expected ',' or '}'");
        }
    }
    advance(p, 0);
    if (!pat) p->ncand = cs;
    return pat ? X_PAT : X_OTHER;
}

static void check_literal_gate(jp *p)
{
    jtok *t = TK(p);
    const uint8_t *s = p->src + t->start;
    if (t->flags & TF_UBRACE) js_gate(p, p->cur, G_UBRACE);
    if (t->type == T_NUM) {
        if (s[t->len - 1] == 'n') js_gate(p, p->cur, G_BIGINT);
        if (memchr(s, '_', t->len)) js_gate(p, p->cur, G_NUMSEP);
    } else if (t->type == T_REGEX) {
        uint32_t e = t->len;
        while (e > 0 && s[e - 1] != '/') e--;
        for (uint32_t i = e; i < t->len; i++) {
            if (s[i] == 'u') js_gate(p, p->cur, G_REGEX_FLAG_U);
            if (s[i] == 's') js_gate(p, p->cur, G_REGEX_FLAG_S);
            if (s[i] == 'y') js_gate(p, p->cur, G_REGEX_FLAG_Y);
        }
    }
}

static int parse_primary(jp *p, uint32_t *id_tok)
{
    jtok *t = TK(p);
    *id_tok = JS_NONE;
    switch (t->type) {
    case T_IDENT: {
        uint32_t ti = p->cur, cs = p->ncand, rs = p->nref;
        if (tok_is(p, t, "async")) {
            advance(p, 0);
            jtok *n = TK(p);
            if (!(n->flags & TF_NLB) && n->type == T_KW && n->sub == K_FUNCTION) {
                js_gate(p, ti, G_ASYNC);
                parse_function(p, 0, 1);
                return X_OTHER;
            }
            if (!(n->flags & TF_NLB) && n->type == T_IDENT) {
                js_gate(p, ti, G_ASYNC);
                uint32_t pt = p->cur;
                rs = p->nref;
                add_ref(p, pt);
                push_cand(p, pt);
                advance(p, 0);
                if (!is_p(p, P_ARROW) || (TK(p)->flags & TF_NLB)) unexpected(p);
                make_arrow(p, cs, rs, p->nscope, 1, 0);
                return X_ARROW;
            }
            add_ref(p, ti);
            push_cand(p, ti);
        } else {
            add_ref(p, ti);
            push_cand(p, ti);
            advance(p, 0);
        }
        if (is_p(p, P_ARROW) && !(TK(p)->flags & TF_NLB)) {
            make_arrow(p, cs, rs, p->nscope, 0, 0);
            return X_ARROW;
        }
        *id_tok = ti;
        return X_ID;
    }
    case T_NUM: case T_STR:
        check_literal_gate(p);
        advance(p, 0);
        return X_OTHER;
    case T_REGEX:
        if (t->flags & TF_RECLASS)
            js_gate(p, p->cur, G_WARN_REGEX_SLASH);
        check_literal_gate(p);
        advance(p, 0);
        return X_OTHER;
    case T_PRIV:
        js_gate(p, p->cur, G_PRIVATE);
        advance(p, 0);
        if (!is_kw(p, K_IN)) unexpected(p);
        return X_OTHER;
    case T_TPL:
        if (t->flags & TF_UBRACE) js_gate(p, p->cur, G_UBRACE);
        parse_template(p);
        return X_OTHER;
    case T_PUNCT:
        switch (t->sub) {
        case '(': return parse_paren(p, 0, 1, 0, 0);
        case '[': return parse_array(p);
        case '{': return parse_object(p);
        case '/': case P_OPASSIGN:
            if (p->src[t->start] == '/') {
                relex(p, 2);
                return parse_primary(p, id_tok);
            }
            break;
        default: break;
        }
        unexpected(p);
        return X_OTHER;
    case T_KW:
        switch (t->sub) {
        case K_THIS: case K_SUPER: case K_NULL: case K_TRUE: case K_FALSE:
            advance(p, 0);
            return X_OTHER;
        case K_FUNCTION:
            parse_function(p, 0, 0);
            return X_OTHER;
        case K_CLASS:
            parse_class(p, 0);
            return X_OTHER;
        case K_NEW:
            return parse_lhs(p);
        case K_IMPORT:
            js_gate(p, p->cur, G_IMPORT);
            advance(p, 0);
            if (is_p(p, '(')) { parse_paren(p, 1, 0, 0, 0); return X_OTHER; }
            unexpected(p);
            return X_OTHER;
        default:
            unexpected(p);
            return X_OTHER;
        }
    default:
        unexpected(p);
        return X_OTHER;
    }
}

/* Member accesses, calls, optional chains and tagged templates after k. */
static int parse_suffixes(jp *p, int k, int calls, uint32_t id_tok)
{
    for (;;) {
        jtok *t = TK(p);
        if (t->type == T_PUNCT) {
            if (t->sub == '.') {
                advance(p, 0);
                t = TK(p);
                if (t->type != T_IDENT && t->type != T_KW && t->type != T_PRIV) unexpected(p);
                advance(p, 0);
                k = X_OTHER;
                continue;
            }
            if (t->sub == P_OPTCHAIN) {
                if (!calls) break;
                js_gate(p, p->cur, G_OPTCHAIN);
                advance(p, 0);
                if (is_p(p, '(')) parse_paren(p, 1, 0, 0, 0);
                else if (is_p(p, '[')) {
                    advance(p, 1);
                    uint32_t c0 = p->ncand;
                    parse_expr(p, 0);
                    p->ncand = c0;
                    expect(p, ']', 0);
                } else {
                    t = TK(p);
                    if (t->type != T_IDENT && t->type != T_KW && t->type != T_PRIV) unexpected(p);
                    advance(p, 0);
                }
                k = X_OTHER;
                continue;
            }
            if (t->sub == '[') {
                advance(p, 1);
                uint32_t c0 = p->ncand;
                parse_expr(p, 0);
                p->ncand = c0;
                expect(p, ']', 0);
                k = X_OTHER;
                continue;
            }
            if (t->sub == '(' && calls) {
                int is_async = k == X_ID && id_tok != JS_NONE &&
                               tok_is(p, &p->toks[id_tok], "async") && !(t->flags & TF_NLB);
                uint32_t cs = p->ncand;
                if (is_async) {
                    /* async(...) => : `async` is not a reference then */
                    kill_ref(p, id_tok);
                    p->ncand = cs - 1;
                    cs = p->ncand;
                    int r = parse_paren(p, 1, 1, 1, 0);
                    if (r == X_ARROW) { js_gate(p, id_tok, G_ASYNC); return X_ARROW; }
                    /* it was a call of a function named async after all */
                    add_ref(p, id_tok);
                } else {
                    parse_paren(p, 1, 0, 0, 0);
                }
                p->ncand = cs;
                k = X_OTHER;
                continue;
            }
        }
        if (t->type == T_TPL) {
            js_gate(p, p->cur, G_TAGGED);
            parse_template(p);
            k = X_OTHER;
            continue;
        }
        break;
    }
    return k;
}

static int parse_new(jp *p)
{
    enter(p);
    uint32_t nt = p->cur;
    advance(p, 1);
    if (is_p(p, '.')) {
        advance(p, 0);
        if (!is_id(p, "target")) unexpected(p);
        js_gate(p, nt, G_NEWTARGET);
        advance(p, 0);
        p->depth--;
        return X_OTHER;
    }
    uint32_t id = JS_NONE;
    int k;
    uint32_t c0 = p->ncand;
    if (is_kw(p, K_NEW)) k = parse_new(p);
    else k = parse_primary(p, &id);
    if (k == X_ARROW) unexpected(p);
    parse_suffixes(p, k, 0, JS_NONE);
    if (is_p(p, '(')) parse_paren(p, 1, 0, 0, 0);
    p->ncand = c0;
    p->depth--;
    return X_OTHER;
}

static int parse_lhs(jp *p)
{
    uint32_t id = JS_NONE;
    int k;
    if (is_kw(p, K_NEW)) k = parse_new(p);
    else k = parse_primary(p, &id);
    if (k == X_ARROW) return k;
    return parse_suffixes(p, k, 1, id);
}

static int parse_unary(jp *p)
{
    enter(p);
    jtok *t = TK(p);
    int op = 0;
    if (t->type == T_PUNCT) {
        switch (t->sub) {
        case '!': case '~': case '+': case '-': op = 1; break;
        case P_INC: case P_DEC: op = 1; t->flags |= TF_PREFIX; break;
        default: break;
        }
    } else if (t->type == T_KW) {
        op = t->sub == K_TYPEOF || t->sub == K_VOID || t->sub == K_DELETE;
    } else if (p->in_async && tok_is(p, t, "await")) {
        js_gate(p, p->cur, G_ASYNC);
        op = 1;
    }
    int k;
    if (op) {
        advance(p, 1);
        parse_unary(p);
        k = X_OTHER;
    } else {
        k = parse_lhs(p);
        t = TK(p);
        if (k != X_ARROW && t->type == T_PUNCT && (t->sub == P_INC || t->sub == P_DEC) &&
            !(t->flags & TF_NLB)) {
            advance(p, 0);
            k = X_OTHER;
        } else if (k != X_ARROW && t->type == T_PUNCT && (t->sub == P_INC || t->sub == P_DEC)) {
            js_gate(p, p->cur, G_WARN_NL_INCDEC);
        }
    }
    p->depth--;
    return k;
}

static int binprec(jp *p, int fl)
{
    jtok *t = TK(p);
    if (t->type == T_KW) {
        if (t->sub == K_INSTANCEOF) return 8;
        if (t->sub == K_IN) return (fl & F_NOIN) ? 0 : 8;
        return 0;
    }
    if (t->type != T_PUNCT) return 0;
    switch (t->sub) {
    case P_NULLISH: return 1;
    case P_LOR: return 2;
    case P_LAND: return 3;
    case '|': return 4;
    case '^': return 5;
    case '&': return 6;
    case P_EQ: case P_NE: case P_SEQ: case P_SNE: return 7;
    case '<': case '>': case P_LE: case P_GE: return 8;
    case P_SHL: case P_SAR: case P_SHR: return 9;
    case '+': case '-': return 10;
    case '*': case '/': case '%': return 11;
    case P_EXP: return 12;
    default: return 0;
    }
}

static int parse_binary(jp *p, int minprec, int fl)
{
    int k = parse_unary(p);
    for (;;) {
        int prec = binprec(p, fl);
        if (!prec || prec < minprec || k == X_ARROW) break;
        jtok *t = TK(p);
        if (t->type == T_PUNCT && t->sub == P_EXP) js_gate(p, p->cur, G_EXP);
        if (t->type == T_PUNCT && t->sub == P_NULLISH) js_gate(p, p->cur, G_NULLISH);
        if (t->type == T_KW && t->sub == K_IN && p->for_init) js_gate(p, p->cur, G_FOR_INIT_IN);
        int right = t->type == T_PUNCT && t->sub == P_EXP;
        enter(p);
        advance(p, 1);
        parse_binary(p, right ? prec : prec + 1, fl);
        p->depth--;
        k = X_OTHER;
    }
    return k;
}

static int parse_cond(jp *p, int fl)
{
    int k = parse_binary(p, 1, fl);
    if (k != X_ARROW && is_p(p, '?')) {
        enter(p);
        advance(p, 1);
        parse_assign(p, 0);
        expect(p, ':', 1);
        parse_assign(p, fl);
        p->depth--;
        k = X_OTHER;
    }
    return k;
}

static int starts_expr(jp *p)
{
    jtok *t = TK(p);
    if (t->type == T_EOF) return 0;
    if (t->type == T_PUNCT)
        return !(t->sub == ')' || t->sub == ']' || t->sub == '}' || t->sub == ',' ||
                 t->sub == ';' || t->sub == ':' || t->sub == P_ARROW);
    if (t->type == T_KW) return !(t->sub == K_IN || t->sub == K_INSTANCEOF);
    return 1;
}

static int parse_assign(jp *p, int fl)
{
    enter(p);
    jtok *t = TK(p);
    if (p->in_gen && tok_is(p, t, "yield")) {
        js_gate(p, p->cur, G_GENERATOR);
        advance(p, 1);
        if (!(TK(p)->flags & TF_NLB)) {
            if (is_p(p, '*')) { advance(p, 1); parse_assign(p, fl); }
            else if (starts_expr(p)) {
                if (p->src[TK(p)->start] == '/' && TK(p)->type == T_PUNCT) relex(p, 2);
                parse_assign(p, fl);
            }
        }
        p->depth--;
        return X_OTHER;
    }
    uint32_t cs = p->ncand;
    int k = parse_cond(p, fl);
    if (k == X_ARROW) { p->depth--; return k; }
    t = TK(p);
    if (t->type == T_PUNCT && (t->sub == '=' || t->sub == P_OPASSIGN)) {
        if (t->sub == P_OPASSIGN) {
            const uint8_t *s = p->src + t->start;
            if (s[0] == '*' && s[1] == '*') js_gate(p, p->cur, G_EXP);
            if ((s[0] == '&' && s[1] == '&') || (s[0] == '|' && s[1] == '|') ||
                (s[0] == '?' && s[1] == '?'))
                js_gate(p, p->cur, G_LOGICAL_ASSIGN);
        } else if (k == X_PAT) {
            js_gate(p, p->cur, G_DESTRUCT);
        }
        int pat = t->sub == '=' && (k == X_ID || k == X_PAT);
        advance(p, 1);
        uint32_t mid = p->ncand;
        parse_assign(p, fl);
        p->ncand = pat ? mid : cs;
        p->depth--;
        return pat ? X_ASSIGN : X_OTHER;
    }
    if (k == X_OTHER) p->ncand = cs;
    p->depth--;
    return k;
}

static int parse_expr(jp *p, int fl)
{
    int k = parse_assign(p, fl);
    while (is_p(p, ',')) {
        advance(p, 1);
        parse_assign(p, fl);
        k = X_OTHER;
    }
    return k;
}

/* ---- functions, classes, bindings ----------------------------------- */

static void parse_binding(jp *p, int kind)
{
    enter(p);
    jtok *t = TK(p);
    if (t->type == T_IDENT) {
        uint32_t ti = p->cur;
        if (kind == B_VAR) declare_var(p, ti);
        else declare_lex(p, ti, kind);
        advance(p, 0);
    } else if (is_p(p, '[')) {
        js_gate(p, p->cur, G_DESTRUCT);
        advance(p, 1);
        while (!is_p(p, ']')) {
            if (is_p(p, ',')) { advance(p, 1); continue; }
            if (is_p(p, P_ELLIPSIS)) { js_gate(p, p->cur, G_REST); advance(p, 0); }
            parse_binding(p, kind);
            if (is_p(p, '=')) {
                advance(p, 1);
                uint32_t c0 = p->ncand;
                parse_assign(p, 0);
                p->ncand = c0;
            }
            if (is_p(p, ',')) advance(p, 1);
            else if (!is_p(p, ']')) unexpected(p);
        }
        advance(p, 0);
    } else if (is_p(p, '{')) {
        js_gate(p, p->cur, G_DESTRUCT);
        advance(p, 0);
        while (!is_p(p, '}')) {
            if (is_p(p, P_ELLIPSIS)) {
                js_gate(p, p->cur, G_REST);
                advance(p, 0);
                parse_binding(p, kind);
            } else {
                uint32_t nt = p->cur;
                int ident = TK(p)->type == T_IDENT;
                parse_prop_name(p);
                if (ident && (is_p(p, ',') || is_p(p, '}') || is_p(p, '='))) {
                    p->toks[nt].flags |= TF_SHORT;
                    if (kind == B_VAR) declare_var(p, nt);
                    else declare_lex(p, nt, kind);
                } else {
                    expect(p, ':', 0);
                    parse_binding(p, kind);
                }
                if (is_p(p, '=')) {
                    advance(p, 1);
                    uint32_t c0 = p->ncand;
                    parse_assign(p, 0);
                    p->ncand = c0;
                }
            }
            if (is_p(p, ',')) advance(p, 0);
            else if (!is_p(p, '}')) unexpected(p);
        }
        advance(p, 0);
    } else {
        unexpected(p);
    }
    p->depth--;
}

/* Does the current token start a "use strict" directive? */
static int use_strict(jp *p)
{
    jtok *t = TK(p);
    return t->type == T_STR && t->len == 12 && memcmp(p->src + t->start + 1, "use strict", 10) == 0;
}

/* Parameters and body of a function whose scope is current; ends on '}'. */
static void parse_fn_rest(jp *p, int is_async, int is_gen)
{
    int sa = p->in_async, sg = p->in_gen, sf = p->in_func, sfi = p->for_init;
    p->in_async = is_async; p->in_gen = is_gen; p->in_func = 1; p->for_init = 0;
    uint32_t rs = p->nref, fs = p->scope;
    expect(p, '(', 0);
    while (!is_p(p, ')')) {
        if (is_p(p, P_ELLIPSIS)) { js_gate(p, p->cur, G_REST); advance(p, 0); }
        parse_binding(p, B_PARAM);
        if (is_p(p, '=')) {
            js_gate(p, p->cur, G_DEFAULT_PARAM);
            advance(p, 1);
            uint32_t c0 = p->ncand;
            parse_assign(p, 0);
            p->ncand = c0;
        }
        if (is_p(p, ',')) advance(p, 0);
        else if (!is_p(p, ')')) unexpected(p);
    }
    advance(p, 0);
    if (!is_p(p, '{')) unexpected(p);
    body_scope(p, rs);
    uint32_t open = p->cur;
    advance(p, 1);
    int ss = p->strict;
    if (use_strict(p)) p->strict = 1;
    while (!is_p(p, '}')) {
        if (TK(p)->type == T_EOF) unexpected(p);
        parse_statement(p);
    }
    body_end(p, open);
    p->strict = ss;
    p->in_async = sa; p->in_gen = sg; p->in_func = sf; p->for_init = sfi;
    p->scope = fs;
}

static void parse_function(jp *p, int decl, int is_async)
{
    enter(p);
    advance(p, 0);   /* past 'function' */
    int gen = 0;
    if (is_p(p, '*')) { js_gate(p, p->cur, G_GENERATOR); gen = 1; advance(p, 0); }
    uint32_t name = JS_NONE;
    if (TK(p)->type == T_IDENT) { name = p->cur; advance(p, 0); }
    else if (decl) unexpected(p);
    uint32_t outer = p->scope;
    if (decl) {
        int in_block = p->scopes[outer].kind == S_BLOCK || p->scopes[outer].kind == S_CATCH;
        if (in_block && !p->strict) declare_var_x(p, name, 0);   /* Annex B: also a var */
        else if (in_block) {                                 /* strict: block scoped */
            uint32_t s = declare_lex(p, name, B_LET);
            if (s != JS_NONE) p->syms[s].flags &= (uint8_t)~SYF_LETCONST;
        }
        else if (p->scopes[outer].kind == S_BODY) declare_var(p, name);
        else js_declare(p, outer, name);
    }
    uint32_t f = new_scope(p, S_FUNC);
    if (!decl && name != JS_NONE) js_declare(p, f, name);
    parse_fn_rest(p, is_async, gen);
    p->scope = outer;
    advance(p, decl ? 1 : 0);
    p->depth--;
}

static void parse_class(jp *p, int decl)
{
    enter(p);
    advance(p, 0);   /* past 'class' */
    uint32_t name = JS_NONE, outer = p->scope;
    if (TK(p)->type == T_IDENT && !is_kw(p, K_EXTENDS)) { name = p->cur; advance(p, 0); }
    else if (decl) unexpected(p);
    if (decl) {
        if (p->track && js_lookup(p, outer, p->src + p->toks[name].start, p->toks[name].len) != JS_NONE)
            dup_error(p, name);
        uint32_t s = js_declare(p, outer, name);
        if (s != JS_NONE) p->syms[s].flags |= SYF_LEXICAL;
    } else if (name != JS_NONE) {
        new_scope(p, S_BLOCK);
        js_declare(p, p->scope, name);
    }
    if (is_kw(p, K_EXTENDS)) {
        advance(p, 1);
        uint32_t c0 = p->ncand;
        parse_lhs(p);
        p->ncand = c0;
    }
    if (!is_p(p, '{')) unexpected(p);
    advance(p, 0);
    int ss = p->strict;
    p->strict = 1;
    while (!is_p(p, '}')) {
        if (TK(p)->type == T_EOF) unexpected(p);
        if (is_p(p, ';')) { TK(p)->flags |= TF_TERM; advance(p, 0); continue; }
        int is_async = 0, is_gen = 0, accessor = 0;
        if (is_id(p, "static") && is_modifier(p)) {
            advance(p, 0);
            if (is_p(p, '{')) {
                js_gate(p, p->cur, G_STATIC_BLOCK);
                uint32_t so = p->scope, open = p->cur;
                new_scope(p, S_FUNC);
                int sf = p->in_func;
                p->in_func = 1;
                advance(p, 1);
                block_body(p, open);
                p->in_func = sf;
                p->scope = so;
                continue;
            }
        }
        if ((is_id(p, "get") || is_id(p, "set") || is_id(p, "async")) && is_modifier(p)) {
            if (is_id(p, "async")) { is_async = 1; js_gate(p, p->cur, G_ASYNC); }
            else accessor = 1;
            advance(p, 0);
        }
        if (is_p(p, '*')) { js_gate(p, p->cur, G_GENERATOR); is_gen = 1; advance(p, 0); }
        uint32_t nt = p->cur;
        if (TK(p)->type != T_IDENT || js_espruino_reserved(p, TK(p)))
            js_gate(p, nt, G_CLASS_MEMBER_NAME);
        parse_prop_name(p);
        uint32_t so = p->scope;
        new_scope(p, S_FUNC);
        if (accessor || is_async || is_gen || is_p(p, '(')) {
            parse_fn_rest(p, is_async, is_gen);
            p->scope = so;
            advance(p, 0);
        } else {
            js_gate(p, nt, G_CLASS_FIELD);
            if (!is_p(p, '=')) js_gate(p, nt, G_CLASS_FIELD_NOINIT);
            else if (!(nt > 0 && tok_is(p, &p->toks[nt - 1], "static")))
                js_gate(p, nt, G_WARN_FIELD_PROTO);
            if (is_p(p, '=')) {
                int sf = p->in_func;
                p->in_func = 1;
                advance(p, 1);
                uint32_t c0 = p->ncand;
                parse_assign(p, 0);
                p->ncand = c0;
                p->in_func = sf;
            }
            p->scope = so;
            semicolon(p);
        }
    }
    p->strict = ss;
    p->scope = outer;
    advance(p, decl ? 1 : 0);
    p->depth--;
}

/* ---- statements ----------------------------------------------------- */

/* A declaration list; is_const: `const`.  ECMA-262 early errors: a
 * destructuring pattern, and every const binding, needs an initializer,
 * except as the single binding of a for-in/of head (F_NOIN, then in/of). */
static void parse_var_list(jp *p, int kind, int fl, int is_const)
{
    for (;;) {
        uint32_t bt = p->cur;
        int pattern = is_p(p, '[') || is_p(p, '{');
        parse_binding(p, kind);
        if (!is_p(p, '=') && (pattern || is_const) &&
            !((fl & F_NOIN) && (is_kw(p, K_IN) || is_id(p, "of"))))
            js_fail(p, p->toks[bt].start, pattern ? "a destructuring declaration needs an initializer"
                                                   : "missing initializer in const declaration");
        if (is_p(p, '=')) {
            advance(p, 1);
            uint32_t c0 = p->ncand;
            parse_assign(p, fl);
            p->ncand = c0;
        }
        if (!is_p(p, ',')) break;
        advance(p, 0);
    }
}

static int let_decl(jp *p)
{
    jtok nt;
    peek(p, &nt);
    return nt.type == T_IDENT || (nt.type == T_PUNCT && (nt.sub == '[' || nt.sub == '{'));
}

static void block_body(jp *p, uint32_t open)
{
    while (!is_p(p, '}')) {
        if (TK(p)->type == T_EOF) js_fail(p, p->toks[open].start, "unclosed '{'");
        parse_statement(p);
    }
    advance(p, 1);
}

static void paren_expr(jp *p)
{
    expect(p, '(', 1);
    uint32_t c0 = p->ncand;
    parse_expr(p, 0);
    p->ncand = c0;
    expect(p, ')', 1);
}

static void parse_for(jp *p)
{
    advance(p, 0);
    if (is_id(p, "await")) { js_gate(p, p->cur, G_ASYNC); advance(p, 0); }
    uint32_t outer = p->scope;
    new_scope(p, S_BLOCK);
    expect(p, '(', 1);
    uint32_t c0 = p->ncand;
    int sfi = p->for_init;
    p->for_init = 1;
    if (!is_p(p, ';')) {
        if (is_kw(p, K_VAR)) { advance(p, 0); parse_var_list(p, B_VAR, F_NOIN, 0); }
        else if (is_kw(p, K_CONST) || (is_id(p, "let") && let_decl(p))) {
            int c = is_kw(p, K_CONST);
            advance(p, 0);
            parse_var_list(p, B_LET, F_NOIN, c);
        } else {
            parse_expr(p, F_NOIN);
        }
    }
    p->for_init = sfi;
    p->ncand = c0;
    if (is_kw(p, K_IN) || is_id(p, "of")) {
        int of = is_id(p, "of");
        advance(p, 1);
        if (of) parse_assign(p, 0); else parse_expr(p, 0);
        p->ncand = c0;
        expect(p, ')', 1);
    } else {
        expect(p, ';', 1);
        if (!is_p(p, ';')) parse_expr(p, 0);
        p->ncand = c0;
        expect(p, ';', 1);
        if (!is_p(p, ')')) parse_expr(p, 0);
        p->ncand = c0;
        expect(p, ')', 1);
    }
    parse_statement(p);
    p->scope = outer;
}

/* Espruino's do-while (jsparse.c jspeStatementDoOrWhile: needSemiColon)
 * wants a ';' token right after a body that is not a block; its `if`
 * consumes the ';' after its then-branch itself, and an empty body `;` is
 * the body.  The body's tokens are [b0, w), w the `while`. */
static void do_body_gate(jp *p, uint32_t b0, uint32_t w)
{
    jtok *b = &p->toks[b0], *last = &p->toks[w - 1];
    if (b->type == T_PUNCT && b->sub == '{') return;
    int bad = !(last->type == T_PUNCT && last->sub == ';') || w - 1 == b0;
    if (!bad && b->type == T_KW && b->sub == K_IF) {
        int depth = 0, has_else = 0;
        for (uint32_t i = b0; i < w; i++) {
            jtok *t = &p->toks[i];
            if (t->type == T_PUNCT && (t->sub == '(' || t->sub == '[' || t->sub == '{')) depth++;
            else if (t->type == T_PUNCT && (t->sub == ')' || t->sub == ']' || t->sub == '}')) depth--;
            else if (depth == 0 && t->type == T_KW && t->sub == K_ELSE) has_else = 1;
        }
        bad = !has_else;
    }
    if (bad) js_gate(p, b0, G_DO_BODY);
}

static void parse_statement(jp *p)
{
    enter(p);
    jtok *t = TK(p);
    uint32_t c0 = p->ncand;
    if (t->type == T_PUNCT && t->sub == '{') {
        uint32_t outer = p->scope, open = p->cur;
        new_scope(p, S_BLOCK);
        advance(p, 1);
        block_body(p, open);
        p->scope = outer;
        p->depth--;
        return;
    }
    if (t->type == T_PUNCT && t->sub == ';') { advance(p, 1); p->depth--; return; }
    if (t->type == T_KW) {
        switch (t->sub) {
        case K_VAR: case K_CONST: {
            int kind = t->sub == K_VAR ? B_VAR : B_LET, c = t->sub == K_CONST;
            advance(p, 0);   /* may move the token array: t is stale after this */
            parse_var_list(p, kind, 0, c);
            semicolon(p);
            goto done;
        }
        case K_FUNCTION:
            parse_function(p, 1, 0);
            goto done;
        case K_CLASS:
            parse_class(p, 1);
            goto done;
        case K_IF:
            /* else-if chains loop here instead of nesting the recursion */
            for (;;) {
                advance(p, 0);
                paren_expr(p);
                parse_statement(p);
                if (!is_kw(p, K_ELSE)) break;
                advance(p, 1);
                if (!is_kw(p, K_IF)) { parse_statement(p); break; }
            }
            goto done;
        case K_FOR:
            parse_for(p);
            goto done;
        case K_WHILE:
            advance(p, 0);
            paren_expr(p);
            parse_statement(p);
            goto done;
        case K_DO: {
            advance(p, 1);
            uint32_t b0 = p->cur;
            parse_statement(p);
            if (!is_kw(p, K_WHILE)) unexpected(p);
            do_body_gate(p, b0, p->cur);
            advance(p, 0);
            paren_expr(p);
            t = TK(p);
            if (t->type == T_PUNCT && t->sub == ';') { t->flags |= TF_TERM; advance(p, 1); }
            else if (t->type != T_EOF && !(t->type == T_PUNCT && t->sub == '}') &&
                     (t->flags & TF_NLB))
                t->flags |= TF_NL;
            goto done;
        }
        case K_CONTINUE: case K_BREAK:
            advance(p, 1);
            if (TK(p)->type == T_IDENT && !(TK(p)->flags & TF_NLB)) advance(p, 1);
            semicolon(p);
            goto done;
        case K_RETURN:
            if (!p->in_func) js_gate(p, p->cur, G_RETURN_TOP);
            advance(p, 1);
            t = TK(p);
            if ((t->flags & TF_NLB) && starts_expr(p) && !is_p(p, '{'))
                js_gate(p, p->cur - 1, G_WARN_RETURN_NL);
            if (!(t->flags & TF_NLB) && starts_expr(p)) parse_expr(p, 0);
            p->ncand = c0;
            semicolon(p);
            goto done;
        case K_THROW:
            advance(p, 1);
            if (TK(p)->flags & TF_NLB) js_fail(p, TK(p)->start, "line break after 'throw'");
            parse_expr(p, 0);
            p->ncand = c0;
            semicolon(p);
            goto done;
        case K_TRY: {
            advance(p, 0);
            uint32_t open = p->cur;
            expect(p, '{', 1);
            uint32_t outer = p->scope;
            new_scope(p, S_BLOCK);
            block_body(p, open);
            p->scope = outer;
            int any = 0;
            if (is_kw(p, K_CATCH)) {
                any = 1;
                uint32_t ct = p->cur;
                advance(p, 0);
                new_scope(p, S_CATCH);
                if (is_p(p, '(')) {
                    advance(p, 0);
                    parse_binding(p, B_CATCH);
                    expect(p, ')', 0);
                } else {
                    js_gate(p, ct, G_OPTCATCH);
                }
                open = p->cur;
                expect(p, '{', 1);
                block_body(p, open);
                p->scope = outer;
            }
            if (is_kw(p, K_FINALLY)) {
                any = 1;
                advance(p, 0);
                open = p->cur;
                expect(p, '{', 1);
                new_scope(p, S_BLOCK);
                block_body(p, open);
                p->scope = outer;
            }
            if (!any) unexpected(p);
            goto done;
        }
        case K_SWITCH: {
            advance(p, 0);
            paren_expr(p);
            uint32_t outer = p->scope, open = p->cur;
            expect(p, '{', 1);
            p->scopes[new_scope(p, S_BLOCK)].flags |= SF_SWITCH;
            while (!is_p(p, '}')) {
                if (TK(p)->type == T_EOF) js_fail(p, p->toks[open].start, "unclosed '{'");
                if (is_kw(p, K_CASE)) {
                    advance(p, 1);
                    parse_expr(p, 0);
                    p->ncand = c0;
                    expect(p, ':', 1);
                } else if (is_kw(p, K_DEFAULT)) {
                    advance(p, 0);
                    expect(p, ':', 1);
                } else {
                    parse_statement(p);
                }
            }
            p->scope = outer;
            advance(p, 1);
            goto done;
        }
        case K_WITH:
            p->scopes[p->scopes[p->scope].fn].flags |= SF_NOMANGLE;
            advance(p, 0);
            paren_expr(p);
            parse_statement(p);
            goto done;
        case K_DEBUGGER:
            advance(p, 1);
            semicolon(p);
            goto done;
        case K_IMPORT: {
            jtok nt;
            peek(p, &nt);
            if (!(nt.type == T_PUNCT && (nt.sub == '(' || nt.sub == '.')))
                js_fail(p, t->start, "import declarations are not allowed in scripts");
            break;
        }
        case K_EXPORT:
            js_fail(p, t->start, "export declarations are not allowed in scripts");
            break;
        default:
            break;
        }
    } else if (t->type == T_IDENT) {
        if (tok_is(p, t, "let") && let_decl(p)) {
            advance(p, 0);
            parse_var_list(p, B_LET, 0, 0);
            semicolon(p);
            goto done;
        }
        if (tok_is(p, t, "async")) {
            jtok nt;
            peek(p, &nt);
            if (nt.type == T_KW && nt.sub == K_FUNCTION && !(nt.flags & TF_NLB)) {
                js_gate(p, p->cur, G_ASYNC);
                advance(p, 0);
                parse_function(p, 1, 1);
                goto done;
            }
        }
    }
    {
        uint32_t st = p->cur;
        int k = parse_expr(p, 0);
        if (k == X_ID && is_p(p, ':') && p->toks[st].type == T_IDENT) {
            js_gate(p, st, G_LABEL);
            kill_ref(p, st);
            p->ncand = c0;
            advance(p, 1);
            parse_statement(p);
            goto done;
        }
        p->ncand = c0;
        semicolon(p);
    }
done:
    p->ncand = c0;
    p->depth--;
}

void js_parse(jp *p)
{
    js_lex_init();
    p->pos = 0;
    if (p->len >= 2 && p->src[0] == '#' && p->src[1] == '!') {
        size_t i = 2;
        while (i < p->len && p->src[i] != '\n' && p->src[i] != '\r') i++;
        p->pos = i;
    }
    /* size the arrays for the input up front: fewer reallocations and rehashes
     * (typical code has a token per 4-5 bytes and a symbol per 100) */
    uint32_t want = (uint32_t)(p->len / 5) + 256;
    p->toks = js_grow(p, p->toks, &p->captok, sizeof(jtok), want);
    uint32_t hc = 1024;
    while (hc < p->len / 32) hc *= 2;
    p->htab = calloc((size_t)hc * 2, sizeof *p->htab);
    if (!p->htab) { p->oom = 1; longjmp(p->jb, 1); }
    p->hcap = hc;
    p->scope = JS_NONE;
    new_scope(p, S_PROGRAM);
    advance(p, 1);
    if (use_strict(p)) p->strict = 1;
    while (TK(p)->type != T_EOF) parse_statement(p);
    /* the end of the input ends the text Espruino parses, as the end of a
     * stored function body does: `if(0)return` then end of input throws */
    uint32_t c = p->cur;
    if (c >= 2 && p->toks[c - 1].type == T_PUNCT &&
        p->toks[c - 1].sub == ';' && p->toks[c - 2].type == T_KW && p->toks[c - 2].sub == K_RETURN)
        p->toks[c - 1].flags |= TF_KEEP;
}

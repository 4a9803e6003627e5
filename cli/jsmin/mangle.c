/*
 * mangle.c: resolve references to symbols, then give the names declared
 * inside functions short new names.
 *
 * Rules (issue 4):
 *  - only names whose declaring scope lies inside a function are renamed,
 *    and let/const in blocks of the program itself for targets 2v14+
 *    (mangle_program_blocks); program-level names and implicit globals keep
 *    theirs;
 *  - a function that uses `eval` or `with` (directly or in a nested function)
 *    keeps all its names, and so do its enclosing functions;
 *  - every symbol of one function (its own scope and all its blocks) gets a
 *    distinct name: on firmware before 2v14 `let` acts like `var`, so sibling
 *    blocks must not share a name;
 *  - a new name never equals the final name of anything referenced from inside
 *    the function that is declared outside it (free names), and is never a
 *    reserved word;
 *  - references in parameter defaults resolve in the parameter scope (the
 *    S_FUNC), never to the body's own var scope (S_BODY, see jsmin_int.h); the
 *    outer names they reference are free names of the function, so the body's
 *    new names avoid them too;
 *  - a declared `arguments` keeps its name.
 * Functions are named top-down, so outer final names are known.  Within a
 * function, symbols are sorted by use count: the most used get 1-char names.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "jsmin_int.h"

uint32_t js_global_sym(jp *p, uint32_t tok);

static const char A1[] = "etnrioasludcfhpmgbvywkxjqzETNRIOASLUDCFHPMGBVYWKXJQZ_$";
static const char A2[] = "etnrioasludcfhpmgbvywkxjqzETNRIOASLUDCFHPMGBVYWKXJQZ_$0123456789";
#define N1 54u
#define N2 64u

size_t js_name_text(uint32_t idx, char buf[8])
{
    uint32_t n = 1, span = N1;
    while (idx >= span && n < 5) { idx -= span; span *= N2; n++; }
    /* idx < N1 * N2^(n-1): first char, then base-64 digits */
    uint32_t div = span / N1;
    buf[0] = A1[idx / div];
    idx %= div;
    for (uint32_t i = 1; i < n; i++) {
        div /= N2;
        buf[i] = A2[idx / div];
        idx %= div;
    }
    buf[n] = 0;
    return n;
}

/* Index of a spelling in the generated sequence, JS_NONE if never generated. */
static uint32_t name_index(const uint8_t *s, uint32_t n)
{
    if (n < 1 || n > 4) return JS_NONE;
    const char *q = memchr(A1, s[0], N1);
    if (!q || !s[0]) return JS_NONE;
    uint32_t off = 0, span = N1, v = (uint32_t)(q - A1);
    for (uint32_t i = 1; i < n; i++) {
        off += span;
        span *= N2;
        q = memchr(A2, s[i], N2);
        if (!q || !s[i]) return JS_NONE;
        v = v * N2 + (uint32_t)(q - A2);
    }
    return off + v;
}

/* Spellings never generated: reserved words, contextual keywords, and a few
 * names old engines reserve. */
static const char *const reserved_words[] = {
    "do", "if", "in", "of", "as", "for", "let", "new", "try", "var", "get", "set", "int",
    "NaN", "case", "else", "enum", "eval", "null", "this", "true", "void", "with", "byte",
    "char", "goto", "long", "from", NULL };

static int is_eval(jp *p, const jtok *t)
{
    return t->len == 4 && memcmp(p->src + t->start, "eval", 4) == 0;
}

/* A declared `arguments` keeps its name: in a function, `var arguments` (and
 * a body var of that name beside parameter expressions) starts out as the
 * arguments object, which a new name would not. */
static int is_arguments(jp *p, const jsym *y)
{
    const jtok *t = &p->toks[y->tok];
    return t->len == 9 && memcmp(p->src + t->start, "arguments", 9) == 0;
}

static void nomangle_up(jp *p, uint32_t s)
{
    for (; s != JS_NONE; s = p->scopes[s].parent)
        p->scopes[p->scopes[s].fn].flags |= SF_NOMANGLE;
}

void js_resolve(jp *p)
{
    for (uint32_t r = 0; r < p->nref; r++) {
        jref *rf = &p->refs[r];
        if (rf->scope == JS_NONE) continue;
        jtok *t = &p->toks[rf->tok];
        const uint8_t *name = p->src + t->start;
        uint32_t sym = JS_NONE, h = js_name_hash(name, t->len);
        for (uint32_t s = rf->scope; s != JS_NONE; s = p->scopes[s].parent) {
            if (!p->scopes[s].nsym) continue;
            sym = js_lookup_h(p, s, name, t->len, h);
            if (sym != JS_NONE) break;
        }
        if (sym == JS_NONE) sym = js_global_sym(p, rf->tok);
        t = &p->toks[rf->tok];
        t->aux = sym;
        p->syms[sym].uses++;
        if (is_eval(p, t)) nomangle_up(p, rf->scope);
    }
    /* a function that keeps its names makes its enclosing functions keep theirs */
    for (uint32_t s = 0; s < p->nscope; s++)
        if (p->scopes[s].kind == S_FUNC && (p->scopes[s].flags & SF_NOMANGLE))
            nomangle_up(p, p->scopes[s].parent);
}

typedef struct pair { uint32_t fn, sym; } pair;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_syms(const void *a, const void *b, void *ctx)
{
    const jp *p = ctx;
    const jsym *x = &p->syms[*(const uint32_t *)a], *y = &p->syms[*(const uint32_t *)b];
    if (x->uses != y->uses) return x->uses > y->uses ? -1 : 1;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    return i < j ? -1 : i > j;
}

/* Final spelling index of symbol s (JS_NONE when it cannot collide). */
static uint32_t final_index(jp *p, uint32_t s)
{
    jsym *y = &p->syms[s];
    if (y->name != JS_NONE) return y->name;
    jtok *t = &p->toks[y->tok];
    return name_index(p->src + t->start, t->len);
}

/* The first name index >= *k that is neither in the sorted `taken` (cursor
 * *bi, advanced) nor a reserved word; *k moves past it. */
static uint32_t next_name(uint32_t *k, uint32_t *bi, const uint32_t *taken, uint32_t nt,
                          const uint32_t *resv, uint32_t nresv)
{
    for (;;) {
        while (*bi < nt && taken[*bi] < *k) (*bi)++;
        if (*bi < nt && taken[*bi] == *k) { (*k)++; continue; }
        int r = 0;
        for (uint32_t q = 0; q < nresv && !r; q++) r = resv[q] == *k;
        if (r) { (*k)++; continue; }
        return (*k)++;
    }
}

/* let/const declared in a block of the program itself (outside functions),
 * e.g. the `{ let draw = function(){...}; ... }` that Bangle.js apps wrap
 * themselves in.  Firmware 2v14 and later keeps them in the block's own scope
 * (jsparse.c jspeStatementVar: blockScope while blockCount > 0; jspeBlock and
 * `for` start a block), so they can be renamed like a function's locals:
 *  - only let/const: class and function declarations go to the function or
 *    global scope even inside a block (jspeStatementFunctionDecl: baseScope);
 *  - not in a switch body (no block for Espruino: its let/const belong to the
 *    enclosing block, or are globals), nor any name also declared there;
 *  - the new names avoid every name the program keeps (its own declarations
 *    and every implicit global referenced anywhere in the file) and each other
 *    (nested blocks may then see each other's names unchanged);
 *  - not before 2v14 (let acts like var there: they are globals), not when
 *    the program keeps its names (eval/with anywhere), and boards built with
 *    SAVE_ON_FLASH (ESPR_NO_LET_SCOPING) need --target 2v13 for the same
 *    reason.
 * Functions nested in such blocks are named afterwards and avoid these new
 * names like any other outer name they reference. */
#define MANGLE_BLOCK_TARGET 214

static int mangle_program_blocks(jp *p, uint32_t *syms, uint32_t n, const uint32_t *resv, uint32_t nresv)
{
    if (p->o->target < MANGLE_BLOCK_TARGET || (p->scopes[0].flags & SF_NOMANGLE) || n == 0) return 0;
    uint32_t *cand = malloc(n * sizeof *cand), *taken = malloc(n * sizeof *taken);
    uint32_t *sw = malloc(n * sizeof *sw);
    if (!cand || !taken || !sw) { free(cand); free(taken); free(sw); return -1; }
    uint32_t nc = 0, nt = 0, nsw = 0;
    for (uint32_t i = 0; i < n; i++)   /* declared in a switch body of the program */
        if (p->scopes[p->syms[syms[i]].scope].flags & SF_SWITCH) sw[nsw++] = syms[i];
    for (uint32_t i = 0; i < n; i++) {
        jsym *y = &p->syms[syms[i]];
        const jscope *sc = &p->scopes[y->scope];
        int ok = (y->flags & SYF_LETCONST) && sc->kind == S_BLOCK && !(sc->flags & SF_SWITCH) &&
                 !is_arguments(p, y);
        if (ok) {
            /* the same name declared in a switch body of the program: keep */
            const jtok *t = &p->toks[y->tok];
            for (uint32_t j = 0; j < nsw && ok; j++) {
                const jsym *z = &p->syms[sw[j]];
                const jtok *u = &p->toks[z->tok];
                ok = !(z->hash == y->hash && u->len == t->len &&
                       memcmp(p->src + u->start, p->src + t->start, t->len) == 0);
            }
        }
        if (ok) { cand[nc++] = syms[i]; continue; }
        uint32_t ix = final_index(p, syms[i]);
        if (ix != JS_NONE) taken[nt++] = ix;
    }
    qsort(taken, nt, sizeof *taken, cmp_u32);
    qsort_r(cand, nc, sizeof *cand, cmp_syms, p);
    uint32_t k = 0, bi = 0;
    for (uint32_t i = 0; i < nc; i++) p->syms[cand[i]].name = next_name(&k, &bi, taken, nt, resv, nresv);
    free(cand);
    free(taken);
    free(sw);
    return 0;
}

void js_mangle(jp *p)
{
    if (!p->o->mangle || p->uesc_seen) return;
    uint32_t ns = p->nscope;
    uint32_t *fparent = NULL, *fchild = NULL, *fnext = NULL, *symstart = NULL, *symlist = NULL;
    uint32_t *pstart = NULL, *blocked = NULL, *stack = NULL, *fbody = NULL;
    pair *pairs = NULL;
    uint32_t npairs = 0, cappairs = 0;

    fparent = malloc(ns * sizeof *fparent);
    fchild = malloc(ns * sizeof *fchild);
    fnext = malloc(ns * sizeof *fnext);
    symstart = calloc(ns + 1, sizeof *symstart);
    symlist = malloc((p->nsym + 1) * sizeof *symlist);
    pstart = calloc(ns + 1, sizeof *pstart);
    stack = malloc(ns * sizeof *stack);
    fbody = malloc(ns * sizeof *fbody);
    if (!fparent || !fchild || !fnext || !symstart || !symlist || !pstart || !stack || !fbody)
        goto oom;

    for (uint32_t s = 0; s < ns; s++) { fchild[s] = JS_NONE; fnext[s] = JS_NONE; fbody[s] = JS_NONE; }
    for (uint32_t s = 0; s < ns; s++)
        if (p->scopes[s].kind == S_BODY) fbody[p->scopes[s].fn] = s;
    for (uint32_t s = ns; s-- > 1;) {
        if (p->scopes[s].kind != S_FUNC) continue;
        uint32_t par = p->scopes[p->scopes[s].parent].fn;
        fparent[s] = par;
        fnext[s] = fchild[par];
        fchild[par] = s;
    }
    fparent[0] = JS_NONE;

    /* symbols grouped by their function */
    for (uint32_t i = 0; i < p->nsym; i++) symstart[p->scopes[p->syms[i].scope].fn + 1]++;
    for (uint32_t s = 0; s < ns; s++) symstart[s + 1] += symstart[s];
    {
        uint32_t *fill = malloc((ns + 1) * sizeof *fill);
        if (!fill) goto oom;
        memcpy(fill, symstart, (ns + 1) * sizeof *fill);
        for (uint32_t i = 0; i < p->nsym; i++) symlist[fill[p->scopes[p->syms[i].scope].fn]++] = i;
        free(fill);
    }

    /* free names: (function, outer symbol) for every function a reference
     * crosses on its way to the declaration */
    for (uint32_t i = 0; i < p->nsym; i++) p->syms[i].mark = JS_NONE;
    uint64_t pair_limit = 16ull * p->nref + (1u << 22);
    for (uint32_t r = 0; r < p->nref; r++) {
        jref *rf = &p->refs[r];
        if (rf->scope == JS_NONE) continue;
        uint32_t sym = p->toks[rf->tok].aux;
        if (sym == JS_NONE) continue;
        uint32_t d = p->scopes[p->syms[sym].scope].fn;
        uint32_t f = p->scopes[rf->scope].fn;
        if (f == d || p->syms[sym].mark == f) continue;
        p->syms[sym].mark = f;
        for (; f != d && f != 0 && f != JS_NONE; f = fparent[f]) {
            /* pathological nesting (thousands of distinct names used hundreds
             * of functions deep): give up, keeping every name */
            if (npairs > pair_limit) goto oom;
            if (npairs == cappairs) {
                uint32_t nc = cappairs ? cappairs * 2 : 1024;
                pair *np = realloc(pairs, nc * sizeof *np);
                if (!np) goto oom;
                pairs = np;
                cappairs = nc;
            }
            pairs[npairs].fn = f;
            pairs[npairs].sym = sym;
            npairs++;
        }
    }
    for (uint32_t i = 0; i < npairs; i++) pstart[pairs[i].fn + 1]++;
    for (uint32_t s = 0; s < ns; s++) pstart[s + 1] += pstart[s];
    {
        uint32_t *fill = malloc((ns + 1) * sizeof *fill);
        uint32_t *ps = malloc((npairs + 1) * sizeof *ps);
        if (!fill || !ps) { free(fill); free(ps); goto oom; }
        memcpy(fill, pstart, (ns + 1) * sizeof *fill);
        for (uint32_t i = 0; i < npairs; i++) ps[fill[pairs[i].fn]++] = pairs[i].sym;
        free(fill);
        free(pairs);
        pairs = NULL;
        blocked = ps;   /* symbol ids grouped by function; replaced by indices below */
    }

    uint32_t resv[sizeof reserved_words / sizeof reserved_words[0]];
    uint32_t nresv = 0;
    for (int i = 0; reserved_words[i]; i++)
        resv[nresv++] = name_index((const uint8_t *)reserved_words[i],
                                   (uint32_t)strlen(reserved_words[i]));

    if (mangle_program_blocks(p, symlist + symstart[0], symstart[1] - symstart[0], resv, nresv) != 0)
        goto oom;

    /* top-down over the function tree */
    uint32_t sp = 0;
    for (uint32_t c = fchild[0]; c != JS_NONE; c = fnext[c]) stack[sp++] = c;
    while (sp) {
        uint32_t f = stack[--sp];
        for (uint32_t c = fchild[f]; c != JS_NONE; c = fnext[c]) stack[sp++] = c;
        if (p->scopes[f].flags & SF_NOMANGLE) continue;
        uint32_t b0 = pstart[f], b1 = pstart[f + 1], nb = 0;
        uint32_t s0 = symstart[f], s1 = symstart[f + 1];
        /* Firmware before 2v14 hoists let/const/class to the function, so a
         * block-level declaration of x in f is, there, the same variable as f's
         * own x, as every other block-level x of f, and (when f has none) as
         * the outer x that f's code refers to.  Such symbols share one name
         * (the input gave them one name too): both scopings stay intact.
         * mark: the symbol whose final name this one takes. */
        uint32_t nlex = 0;
        for (uint32_t i = s0; i < s1; i++) {
            jsym *y = &p->syms[symlist[i]];
            y->mark = JS_NONE;
            if ((y->flags & SYF_LEXICAL) && y->scope != f && y->scope != fbody[f]) nlex++;
        }
        if (nlex) {
            uint32_t lcap = 16;
            while (lcap < 2 * nlex) lcap *= 2;
            uint32_t *lt = calloc(lcap, sizeof *lt);
            if (!lt) goto oom;
            for (uint32_t i = s0; i < s1; i++) {
                jsym *y = &p->syms[symlist[i]];
                if (!(y->flags & SYF_LEXICAL) || y->scope == f || y->scope == fbody[f]) continue;
                jtok *t = &p->toks[y->tok];
                const uint8_t *nm = p->src + t->start;
                uint32_t m = js_lookup(p, f, nm, t->len);
                if (m == JS_NONE && fbody[f] != JS_NONE) m = js_lookup(p, fbody[f], nm, t->len);
                if (m != JS_NONE) { y->mark = m; continue; }
                uint32_t o = JS_NONE;
                for (uint32_t sc = p->scopes[f].parent; sc != JS_NONE && o == JS_NONE;
                     sc = p->scopes[sc].parent)
                    if (p->scopes[sc].nsym) o = js_lookup(p, sc, nm, t->len);
                if (o != JS_NONE)
                    for (uint32_t q = b0; q < b1; q++)
                        if (blocked[q] == o) { y->mark = o; break; }
                if (y->mark != JS_NONE) continue;
                /* group with the first block-level symbol of the same name */
                uint32_t h = y->hash & (lcap - 1);
                for (;; h = (h + 1) & (lcap - 1)) {
                    if (!lt[h]) { lt[h] = symlist[i] + 1; break; }
                    jsym *l = &p->syms[lt[h] - 1];
                    jtok *lt2 = &p->toks[l->tok];
                    if (l->hash == y->hash && lt2->len == t->len &&
                        memcmp(p->src + lt2->start, nm, t->len) == 0) {
                        y->mark = lt[h] - 1;
                        break;
                    }
                }
            }
            free(lt);
        }
        for (uint32_t i = b0; i < b1; i++) {
            uint32_t ix = final_index(p, blocked[i]);
            if (ix != JS_NONE) blocked[b0 + nb++] = ix;
        }
        qsort(blocked + b0, nb, sizeof *blocked, cmp_u32);
        qsort_r(symlist + s0, s1 - s0, sizeof *symlist, cmp_syms, p);
        uint32_t k = 0, bi = 0;
        for (uint32_t i = s0; i < s1; i++) {
            jsym *y = &p->syms[symlist[i]];
            if (y->mark != JS_NONE) continue;   /* shares a name (above) */
            if (is_arguments(p, y)) continue;   /* keeps its name */
            y->name = next_name(&k, &bi, blocked + b0, nb, resv, nresv);
        }
        for (uint32_t i = s0; i < s1; i++) {
            jsym *y = &p->syms[symlist[i]];
            if (y->mark != JS_NONE) y->name = p->syms[y->mark].name;
        }
    }
    goto out;
oom:
    /* without memory (or past the limit above), keep every name: the output
     * stays correct */
    for (uint32_t i = 0; i < p->nsym; i++) p->syms[i].name = JS_NONE;
out:
    free(fparent); free(fchild); free(fnext); free(symstart); free(symlist);
    free(pstart); free(blocked); free(stack); free(pairs); free(fbody);
}

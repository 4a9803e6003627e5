/*
 * gate.c: THE table of what each Espruino firmware version can run, and the
 * release gate that applies it.
 *
 * Versions are written 2v29 -> 229.  `since` is the first firmware version
 * that supports a feature; 0 means no version does.  Sources: EspruinoDocs
 * info/Features.md ("labels, destructuring, default params, spread, `**`,
 * `?.`: unsupported; `??` 2v14+, optional catch binding 2v20+, shorthand
 * properties 2v14+"), Espruino's ChangeLog (the version each row names), and
 * the Espruino 2v29 source (jslex.c, jsparse.c: identifiers are ASCII only, a
 * '/' inside a regex class ends the regex, of/static/let are reserved words,
 * ...).  Every row is probed on the real 2v29 interpreter by
 * tests/minify/gate-probes.mjs, which fails for a row without a probe.
 *
 * Syntax the target lacks is an error (gate mode 1) or a warning (mode 2);
 * missing built-ins and lexer hazards are always warnings.
 */
#include <string.h>
#include "jsmin_int.h"

#define GATE_MIN_TARGET 200   /* oldest firmware the table describes: 2v00 */
#define GATE_MAX_TARGET 229   /* newest: 2v29 (the default) */

static const struct feature {
    int since;
    const char *what;
} features[G_COUNT] = {
    [G_DEFAULT_PARAM]    = { 0,   "default parameter values" },
    [G_REST]             = { 0,   "rest parameters/elements" },
    [G_SPREAD]           = { 0,   "spread syntax" },
    [G_DESTRUCT]         = { 0,   "destructuring" },
    [G_COMPUTED]         = { 0,   "computed property keys" },
    [G_EXP]              = { 0,   "the ** operator" },
    [G_OPTCHAIN]         = { 0,   "optional chaining ?." },
    [G_ASYNC]            = { 0,   "async/await" },
    [G_GENERATOR]        = { 0,   "generators" },
    [G_TAGGED]           = { 0,   "tagged templates" },
    [G_LABEL]            = { 0,   "labels" },
    [G_UBRACE]           = { 0,   "\\u{...} escapes" },
    [G_NEWTARGET]        = { 0,   "new.target" },
    [G_NULLISH]          = { 214, "the ?? operator" },          /* ChangeLog 2v14: "Add Nullish coalescing operator" */
    [G_OPTCATCH]         = { 220, "optional catch binding" },   /* ChangeLog 2v20: "Add ES9 optional catch binding" */
    [G_SHORTHAND]        = { 214, "shorthand properties {a}" }, /* ChangeLog 2v14: "Added Object shorthand, eg. x={a}" */
    [G_LOGICAL_ASSIGN]   = { 0,   "logical assignment &&= ||= ?\?=" },
    [G_CLASS_FIELD]      = { 222, "class fields" },      /* ChangeLog 2v22: "Add support for static+nonstatic fields in Classes" */
    [G_BIGINT]           = { 0,   "BigInt literals" },
    [G_REGEX_FLAG_U]     = { 0,   "the regex flag u" },
    [G_REGEX_FLAG_S]     = { 0,   "the regex flag s" },
    [G_REGEX_FLAG_Y]     = { 0,   "the regex flag y (sticky)" },
    [G_IMPORT]           = { 0,   "import()" },
    [G_NUMSEP]           = { 214, "numeric separators" }, /* ChangeLog 2v14: "Added numeric separator support eg. 12_34" */
    [G_PRIVATE]          = { 0,   "private class members #x" },
    [G_STATIC_BLOCK]     = { 0,   "class static blocks" },
    [G_RETURN_TOP]       = { 0,   "'return' outside a function" },
    /* jslex.c: of, static, let and undefined are reserved words (LEX_R_OF...) */
    [G_RESERVED_NAME]    = { 0,   "a name Espruino's lexer reserves (of, static, let) used as an identifier" },
    /* jsparse.c jspeFactorObject: get/set must be followed by an identifier (LEX_ID) */
    [G_ACCESSOR_NAME]    = { 0,   "a getter/setter whose name is not a plain identifier (string, number, keyword, computed)" },
    /* jsparse.c jspeClassDefinition: a member name must be an identifier (LEX_ID) */
    [G_CLASS_MEMBER_NAME] = { 0,  "a class member whose name is not a plain identifier (string, number, keyword, computed)" },
    /* jsparse.c jspeStatementFor sets EXEC_FOR_INIT for the whole first clause: `in` is no operator there, even in brackets */
    [G_FOR_INIT_IN]      = { 0,   "the 'in' operator inside the first clause of a for(;;) head" },
    /* jsparse.c jspeClassDefinition: a field needs '=' */
    [G_CLASS_FIELD_NOINIT] = { 0, "a class field without an initializer" },
    /* jsparse.c jspeStatementDoOrWhile: a body that is not a block must be followed by ';' */
    [G_DO_BODY]          = { 0,   "a do-while body that is not a block and is not followed by its own ';' (write do{...}while)" },
    [G_WARN_REGEX_SLASH] = { 0,   "an unescaped '/' inside a regex class (Espruino ends the regex there; write \\/)" },
    [G_WARN_FIELD_PROTO] = { 0,   "a class field: Espruino evaluates its initializer once and puts the value on the prototype (an object or array is shared by every instance; `this` is not the instance)" },
    [G_WARN_RETURN_NL]   = { 0,   "a line break after 'return': ECMAScript returns undefined here, Espruino (no semicolon insertion) returns the next line's value" },
    [G_WARN_NL_INCDEC]   = { 0,   "'++'/'--' at the start of a line: ECMAScript applies it to the next operand, Espruino (no semicolon insertion) to the previous line's" },
    [G_WARN_RETURN_END]  = { 0,   "a bare 'return' ends this function body: Espruino throws \"Unexpected end of Input\" at every call (write 'return;')" },
};

/* Built-ins (global, or global.member) missing from the firmware. */
static const struct builtin {
    const char *obj, *member;   /* member NULL: the global itself */
    int since;
} builtins[] = {
    { "Map", NULL, 0 }, { "Set", NULL, 0 }, { "WeakMap", NULL, 0 }, { "WeakSet", NULL, 0 },
    { "WeakRef", NULL, 0 }, { "FinalizationRegistry", NULL, 0 }, { "Symbol", NULL, 0 },
    { "Proxy", NULL, 0 }, { "Reflect", NULL, 0 }, { "Intl", NULL, 0 }, { "BigInt", NULL, 0 },
    { "BigInt64Array", NULL, 0 }, { "BigUint64Array", NULL, 0 }, { "Atomics", NULL, 0 },
    { "SharedArrayBuffer", NULL, 0 }, { "queueMicrotask", NULL, 0 },
    { "structuredClone", NULL, 0 },
    { "Array", "from", 0 }, { "Array", "of", 0 },
    { "Math", "imul", 0 }, { "Math", "trunc", 0 },
    { "Math", "fround", 0 }, { "Math", "clz32", 0 }, { "Math", "cbrt", 0 },
    { "Math", "log2", 0 }, { "Math", "log10", 0 }, { "Math", "log1p", 0 },
    { "Math", "expm1", 0 }, { "Math", "hypot", 0 }, { "Math", "sinh", 0 },
    { "Math", "cosh", 0 }, { "Math", "tanh", 0 }, { "Math", "asinh", 0 },
    { "Math", "acosh", 0 }, { "Math", "atanh", 0 },
    { "Number", "isNaN", 0 }, { "Number", "isFinite", 0 }, { "Number", "isInteger", 0 },
    { "Number", "isSafeInteger", 0 }, { "Number", "EPSILON", 0 },
    { "Number", "MAX_SAFE_INTEGER", 0 }, { "Number", "MIN_SAFE_INTEGER", 0 },
    { "Object", "freeze", 0 }, { "Object", "seal", 0 }, { "Object", "preventExtensions", 0 },
    { "Object", "isFrozen", 0 }, { "Object", "isSealed", 0 }, { "Object", "isExtensible", 0 },
    { "Object", "is", 0 }, { "Object", "getOwnPropertySymbols", 0 },
    { "Object", "fromEntries", 217 },   /* ChangeLog 2v17: "Added Object.fromEntries (fix #2327)" */
    { "Promise", "allSettled", 0 }, { "Promise", "any", 0 },
    { "String", "raw", 0 }, { "String", "fromCodePoint", 0 },
};

int js_gate_known_target(int target)
{
    return target >= GATE_MIN_TARGET && target <= GATE_MAX_TARGET;
}

static void target_text(int target, char buf[16])
{
    buf[0] = (char)('0' + target / 100);
    buf[1] = 'v';
    buf[2] = (char)('0' + target / 10 % 10);
    buf[3] = (char)('0' + target % 10);
    buf[4] = 0;
}

void js_gate(jp *p, uint32_t t, int f)
{
    if (!p->o->gate || f < 0 || f >= G_COUNT) return;
    const struct feature *e = &features[f];
    char tv[16];
    target_text(p->o->target, tv);
    if (f >= G_WARN_REGEX_SLASH) {
        js_diag(p, p->toks[t].start, 0, "%s", e->what);
        return;
    }
    if (e->since && p->o->target >= e->since) return;
    int err = p->o->gate == 1;
    if (e->since) {
        char sv[16];
        target_text(e->since, sv);
        js_diag(p, p->toks[t].start, err, "%s: needs Espruino %s or later (target %s)",
                e->what, sv, tv);
    } else {
        js_diag(p, p->toks[t].start, err, "%s: not supported by Espruino (target %s)", e->what, tv);
    }
}

static int tok_eq(jp *p, const jtok *t, const char *s)
{
    size_t n = strlen(s);
    return t->len == n && memcmp(p->src + t->start, s, n) == 0;
}

int js_espruino_reserved(jp *p, const jtok *t)
{
    return t->type == T_IDENT && (tok_eq(p, t, "of") || tok_eq(p, t, "static") ||
                                  tok_eq(p, t, "let") || tok_eq(p, t, "undefined"));
}

/* Espruino's lexer decides regex versus division from the previous token
 * alone: a regex may start after nothing, a keyword other than true/false/
 * null, or a punctuator other than ) ] | ^ ~. */
static int espruino_regex_ok(const jtok *prev)
{
    if (!prev) return 1;
    if (prev->type == T_KW)
        return !(prev->sub == K_TRUE || prev->sub == K_FALSE || prev->sub == K_NULL);
    if (prev->type == T_PUNCT)
        return !(prev->sub == ')' || prev->sub == ']' || prev->sub == '|' || prev->sub == '^' ||
                 prev->sub == '~');
    if (prev->type == T_TPL) return prev->sub == TPL_HEAD || prev->sub == TPL_MID;
    return 0;
}

/* Token-level hazards of Espruino's lexer (warnings). */
static void lexer_hazards(jp *p)
{
    const jtok *prev = NULL;
    int tpl_depth = 0;
    for (uint32_t i = 0; i < p->ntok; i++) {
        const jtok *t = &p->toks[i];
        if (t->type == T_EOF) break;
        const uint8_t *s = p->src + t->start;
        if (t->type == T_REGEX && !espruino_regex_ok(prev))
            js_diag(p, t->start, 0, "Espruino reads this regex's '/' as division (it decides "
                    "from the previous token); put the regex in parentheses");
        if (t->type == T_PUNCT && s[0] == '/' && espruino_regex_ok(prev))
            js_diag(p, t->start, 0, "Espruino reads this division '/' as the start of a regex "
                    "(it decides from the previous token); add parentheses");
        if (tpl_depth > 0 && (t->type == T_STR || t->type == T_REGEX ||
                              (t->type == T_TPL && (t->sub == TPL_FULL))) &&
            (memchr(s, '{', t->len) || memchr(s, '}', t->len)))
            js_diag(p, t->start, 0, "a brace inside a literal within ${...}: Espruino counts "
                    "braces to find the end of the substitution");
        if (t->type == T_TPL) {
            if (t->sub == TPL_HEAD) tpl_depth++;
            else if (t->sub == TPL_TAIL) tpl_depth--;
            if (t->len >= 3 && memmem(s, t->len, "\\${", 3))
                js_diag(p, t->start, 0, "an escaped \\${ in a template: Espruino starts a "
                        "substitution there");
        }
        prev = t;
    }
}

void js_gate_builtins(jp *p)
{
    if (!p->o->gate) return;
    char tv[16];
    target_text(p->o->target, tv);
    lexer_hazards(p);
    if (p->uni_space)
        js_diag(p, p->uni_space - 1, 0, "non-ASCII white space or line terminator (a byte order "
                "mark, no-break space, U+2028...): Espruino's lexer knows only tab, VT, FF, space, "
                "CR and LF and reads it as code; the minifier removes it");
    if (p->html_comment)
        js_diag(p, p->html_comment - 1, 0, "an HTML-like comment (<!-- or --> at a line start): "
                "Espruino's lexer has none and reads it as code; the minifier removes it");
    for (uint32_t i = 0; i < p->ntok; i++) {
        jtok *t = &p->toks[i];
        if (t->type != T_IDENT) continue;
        if (t->flags & TF_UESC)
            js_diag(p, t->start, 0, "\\u escape in an identifier: Espruino identifiers are "
                    "ASCII [A-Za-z0-9_$] only");
        else {
            const uint8_t *q = p->src + t->start;
            for (uint32_t k = 0; k < t->len; k++)
                if (q[k] >= 0x80) {
                    js_diag(p, t->start, 0, "a non-ASCII identifier: Espruino identifiers are "
                            "ASCII [A-Za-z0-9_$] only");
                    break;
                }
        }
        if ((t->flags & (TF_DECL | TF_REF)) && js_espruino_reserved(p, t) &&
            !tok_eq(p, t, "undefined"))
            js_gate(p, i, G_RESERVED_NAME);
        if (!(t->flags & TF_REF) || t->aux == JS_NONE ||
            !(p->syms[t->aux].flags & SYF_GLOBAL))
            continue;
        jtok *dot = i + 2 < p->ntok ? &p->toks[i + 1] : NULL;
        jtok *mem = dot && dot->type == T_PUNCT && dot->sub == '.' ? &p->toks[i + 2] : NULL;
        for (size_t b = 0; b < sizeof builtins / sizeof builtins[0]; b++) {
            const struct builtin *e = &builtins[b];
            if (e->since && p->o->target >= e->since) continue;
            if (!tok_eq(p, t, e->obj)) continue;
            if (e->member && !(mem && tok_eq(p, mem, e->member))) continue;
            if (e->member)
                js_diag(p, t->start, 0, "%s.%s is not built into Espruino %s", e->obj,
                        e->member, tv);
            else
                js_diag(p, t->start, 0, "%s is not built into Espruino %s", e->obj, tv);
            break;
        }
    }
}

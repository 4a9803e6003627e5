/*
 * jsmin_int.h: internals of the minifier (cli/jsmin/), shared by the lexer
 * and parser (parse.c), the scope resolver and mangler (mangle.c), the
 * printer and API (jsmin.c) and the firmware table (gate.c).
 *
 * Design: the parser drives a lazy lexer (one token of lookahead, lexed on
 * demand, so regex-versus-division is decided by the grammar: a token lexed in
 * the wrong mode is re-lexed in place).  Every token is appended to one
 * growable array; the parser annotates tokens (ASI newline, droppable ';',
 * shorthand property, declaration/reference) and records scopes, symbols and
 * references in flat arrays.  No AST, no per-token allocation.  The printer
 * then walks the token array once.
 */
#ifndef OTA_JSMIN_INT_H
#define OTA_JSMIN_INT_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../jsmin.h"

#define JS_NONE UINT32_MAX
#define JS_MAX_DEPTH 2000   /* recursion limit: ~1000 nested brackets, 2000 blocks; the
                                   stack holds about 20x that (measured, 8 MB, ASan) */
#define JS_MAX_INPUT (1u << 30)    /* 1 GiB: token offsets are 32-bit */

enum { T_EOF, T_IDENT, T_KW, T_NUM, T_STR, T_TPL, T_REGEX, T_PUNCT, T_PRIV };
/* tok.sub for T_TPL */
enum { TPL_FULL, TPL_HEAD, TPL_MID, TPL_TAIL };

/* Multi-character punctuators (single characters use their ASCII code). */
enum {
    P_ELLIPSIS = 128, P_ARROW, P_EQ, P_SEQ, P_NE, P_SNE, P_LE, P_GE, P_LAND, P_LOR,
    P_NULLISH, P_OPTCHAIN, P_INC, P_DEC, P_SHL, P_SAR, P_SHR, P_EXP,
    P_OPASSIGN,  /* += -= *= /= %= <<= >>= >>>= &= |= ^= **= &&= ||= ??= */
};

/* Reserved words (tok.sub for T_KW). */
enum {
    K_NONE, K_BREAK, K_CASE, K_CATCH, K_CLASS, K_CONST, K_CONTINUE, K_DEBUGGER,
    K_DEFAULT, K_DELETE, K_DO, K_ELSE, K_ENUM, K_EXPORT, K_EXTENDS, K_FALSE,
    K_FINALLY, K_FOR, K_FUNCTION, K_IF, K_IMPORT, K_IN, K_INSTANCEOF, K_NEW,
    K_NULL, K_RETURN, K_SUPER, K_SWITCH, K_THIS, K_THROW, K_TRUE, K_TRY,
    K_TYPEOF, K_VAR, K_VOID, K_WHILE, K_WITH,
};

/* Token flags. */
#define TF_NLB     0x0001u  /* a line terminator precedes it in the source */
#define TF_NL      0x0002u  /* print a newline before it (ASI point) */
#define TF_TERM    0x0004u  /* ';' ending a statement: may go before '}' / EOF */
#define TF_SHORT   0x0008u  /* shorthand property name {a} (print a:new) */
#define TF_DECL    0x0010u  /* identifier declares aux (symbol) */
#define TF_REF     0x0020u  /* identifier references: aux = ref, then symbol */
#define TF_UESC    0x0040u  /* identifier written with a \u escape */
#define TF_UBRACE  0x0080u  /* a \u{...} escape inside */
#define TF_RECLASS 0x0100u  /* regex with an unescaped '/' in a class */
#define TF_DIGITS  0x0200u  /* number made only of decimal digits ('1 .x' needs the space) */
#define TF_PREFIX  0x0400u  /* '++'/'--' used as a prefix operator */
#define TF_KEEP    0x0800u  /* ';' after the `return` that ends a function body: never dropped
                               (Espruino re-parses the body without its '}': `return` then
                               end of input throws "Unexpected end of Input") */

typedef struct jtok {
    uint32_t start, len;   /* bytes in the source */
    uint8_t type, sub;     /* T_*, then punctuator / keyword / template kind */
    uint16_t flags;        /* TF_* */
    uint32_t aux;          /* symbol or reference index, JS_NONE */
} jtok;

/* S_BODY: the body of a function whose parameter list has expressions
 * (defaults, computed keys) that reference names.  ECMA-262 gives such a body
 * its own var scope: the parameter scope (the S_FUNC) holds the parameters and
 * is what the defaults see; the body's var/function declarations live in the
 * S_BODY child (fn = the function), except names that are also parameters,
 * which stay one symbol with the parameter (the body's var starts with the
 * parameter's value, so both must keep one name). */
enum { S_PROGRAM, S_FUNC, S_BLOCK, S_CATCH, S_BODY };
#define SF_NOMANGLE 1u     /* function scope: keep every name (eval/with/...) */
#define SF_SWITCH 2u       /* the block of a switch (not a block for Espruino) */

typedef struct jscope {
    uint32_t parent;       /* JS_NONE for the program */
    uint32_t fn;           /* nearest function (or program) scope, itself for functions */
    uint32_t nsym;         /* symbols declared here */
    uint8_t kind, flags;
    uint64_t bloom[2];     /* bit (hash & 127) set for every name declared here */
} jscope;

#define SYF_GLOBAL 1u      /* implicit global (never declared) */
#define SYF_LEXICAL 2u     /* let/const/class declaration */
#define SYF_LETCONST 4u    /* let/const (not class, not function) */
typedef struct jsym {
    uint32_t tok;          /* a token spelling the name */
    uint32_t scope;        /* declaring scope */
    uint32_t uses;         /* tokens printing this name */
    uint32_t name;         /* mangled name index, JS_NONE = keep */
    uint32_t mark;         /* scratch for the mangler */
    uint32_t hash;         /* hash of the name's text */
    uint8_t flags;
} jsym;

typedef struct jref { uint32_t tok, scope; } jref;   /* scope JS_NONE: dropped */

typedef struct jp {
    const uint8_t *src;
    size_t len;
    const char *file;
    FILE *diag;
    const jsmin_opts *o;
    jmp_buf jb;
    int oom;                /* longjmp reason: 1 = out of memory, 0 = syntax/gate error */
    int errors, warnings;

    jtok *toks; uint32_t ntok, captok;
    uint32_t cur;           /* index of the current token */
    size_t pos;             /* lexer position: end of the current token */

    jscope *scopes; uint32_t nscope, capscope;
    jsym *syms; uint32_t nsym, capsym;
    jref *refs; uint32_t nref, capref;
    uint32_t *cand; uint32_t ncand, capcand;   /* arrow-parameter candidates */
    uint32_t *htab; uint32_t hcap;            /* (scope,name) -> symbol: pairs {sym+1, key} */

    uint32_t scope;         /* current scope */
    int in_gen, in_async, in_func;
    int for_init;           /* parsing the first clause of a for head (Espruino: `in` is no operator there) */
    int strict;             /* inside strict code ("use strict", class bodies) */
    int depth;
    int uesc_seen;          /* some identifier has a \u escape: no mangling */
    int track;              /* record declarations and references (mangle or gate) */
    size_t html_comment;    /* 1 + offset of the first HTML-like comment, 0 if none */
    size_t uni_space;       /* 1 + offset of the first non-ASCII white space or line terminator */

    /* line:col cache for diagnostics */
    size_t lc_pos; unsigned lc_line, lc_col;
} jp;

/* lex.c */
void js_lex_init(void);
void js_lex(jp *p, size_t pos, int re, int at_start, jtok *t);
void js_lex_template_cont(jp *p, size_t pos, jtok *t);
#define C_IDS 1   /* identifier start (ASCII) */
#define C_IDP 2   /* identifier part (ASCII) */
extern uint8_t js_cls[256];   /* character classes (lex.c, filled by js_lex_init) */
/* May c continue an identifier (ASCII part, '\\' escape, any non-ASCII byte)? */
static inline int js_is_idc(uint8_t c) { return c >= 0x80 || c == '\\' || (js_cls[c] & C_IDP); }
uint8_t js_kw(const uint8_t *s, uint32_t n);

/* parse.c */
void js_parse(jp *p);                               /* longjmps on error */
void *js_grow(jp *p, void *arr, uint32_t *cap, size_t elem, uint32_t need);
void js_diag(jp *p, size_t pos, int is_error, const char *fmt, ...);
void js_fail(jp *p, size_t pos, const char *fmt, ...);   /* error + longjmp */
uint32_t js_declare(jp *p, uint32_t scope, uint32_t tok);
uint32_t js_lookup(jp *p, uint32_t scope, const uint8_t *name, uint32_t len);
/* The same with the name's hash (js_name_hash) computed once. */
uint32_t js_lookup_h(jp *p, uint32_t scope, const uint8_t *name, uint32_t len, uint32_t h);
uint32_t js_name_hash(const uint8_t *s, uint32_t n);

/* mangle.c */
void js_resolve(jp *p);                             /* refs -> symbols, globals */
void js_mangle(jp *p);                              /* assign sym.name */
size_t js_name_text(uint32_t idx, char buf[8]);     /* mangled name spelling */

/* gate.c: the firmware table */
enum {
    G_DEFAULT_PARAM, G_REST, G_SPREAD, G_DESTRUCT, G_COMPUTED, G_EXP, G_OPTCHAIN,
    G_ASYNC, G_GENERATOR, G_TAGGED, G_LABEL, G_UBRACE, G_NEWTARGET, G_NULLISH,
    G_OPTCATCH, G_SHORTHAND, G_LOGICAL_ASSIGN, G_CLASS_FIELD, G_BIGINT,
    G_REGEX_FLAG_U, G_REGEX_FLAG_S, G_REGEX_FLAG_Y, G_IMPORT, G_NUMSEP, G_PRIVATE, G_STATIC_BLOCK,
    G_RETURN_TOP, G_RESERVED_NAME, G_ACCESSOR_NAME, G_CLASS_MEMBER_NAME, G_FOR_INIT_IN,
    G_CLASS_FIELD_NOINIT, G_DO_BODY,
    G_WARN_REGEX_SLASH,   /* warnings from here on */
    G_WARN_RETURN_END, G_WARN_FIELD_PROTO, G_WARN_RETURN_NL, G_WARN_NL_INCDEC,
    G_COUNT
};
/* Report use of feature f at token t (no-op when allowed or gate off). */
void js_gate(jp *p, uint32_t t, int f);
/* Espruino reads this identifier token as a reserved word (of, static, let, undefined). */
int js_espruino_reserved(jp *p, const jtok *t);
/* Warnings for built-ins the target lacks (after js_resolve). */
void js_gate_builtins(jp *p);
int js_gate_known_target(int target);

/* pretok.c: Espruino's pretokenised encoding */
int js_pretok_target_ok(int target);                       /* token ids vouched for */
int js_pretok_word(const uint8_t *s, size_t n);             /* token id of a word/operator, 0 */
const char *js_pretok_name(int id);                         /* its text, NULL */
size_t js_pretok_int(const uint8_t *s, size_t n, uint8_t out[3]);   /* raw int, 0 = keep */
long js_pretok_str(const uint8_t *s, size_t n, uint8_t *dst);       /* decoded, -1 = keep */
long js_pretok_b64(const uint8_t *s, size_t n, uint8_t *dst);       /* canonical base64, -1 */

#endif

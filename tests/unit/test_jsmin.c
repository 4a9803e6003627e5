/*
 * test_jsmin.c: unit tests of the minifier and release gate (cli/jsmin/).
 *
 *  1. the 63 cases of tests/minify/minify-cases.md, exact output, whitespace
 *     mode and mangle mode (their names are all global), and idempotence;
 *  2. mangling: small programs with their exact output;
 *  3. the gate: every rejected construct, per-version rules, warnings, with
 *     file:line:col;
 *  4. bad input: unterminated literals and comments, stray bytes, NUL,
 *     invalid UTF-8, deep nesting, a 10 MB file, random mutations: a clear
 *     error or output, never a crash or a hang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../harness.h"
#include "../../cli/jsmin.h"

typedef struct res {
    int rc, warnings;
    char *out;
    size_t out_len;
    char diag[4096];
} res;

static void run(res *r, const char *src, size_t len, int mangle, int gate, int target)
{
    jsmin_opts o;
    jsmin_opts_default(&o);
    o.mangle = mangle;
    o.gate = gate;
    if (target) o.target = target;
    memset(r->diag, 0, sizeof r->diag);
    FILE *d = fmemopen(r->diag, sizeof r->diag - 1, "w");
    uint8_t *out = NULL;
    r->out_len = 0;
    r->rc = jsmin_run("t.js", (const uint8_t *)src, len, &o, &out, &r->out_len, &r->warnings, d);
    if (d) fclose(d);
    r->out = (char *)out;
}

static void done(res *r) { free(r->out); r->out = NULL; }

/* ---- 1. the cases file ------------------------------------------------ */

/* Unwrap a table cell: `x` or `` x ``, \| -> |, ⏎ -> newline. */
static char *cell_text(const char *s, size_t n)
{
    while (n && s[0] == ' ') { s++; n--; }
    while (n && s[n - 1] == ' ') n--;
    if (n >= 6 && memcmp(s, "`` ", 3) == 0 && memcmp(s + n - 3, " ``", 3) == 0) { s += 3; n -= 6; }
    else if (n >= 2 && s[0] == '`' && s[n - 1] == '`') { s++; n -= 2; }
    char *o = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '|') { o[k++] = '|'; i++; continue; }
        if (i + 2 < n && (uint8_t)s[i] == 0xE2 && (uint8_t)s[i + 1] == 0x8F &&
            (uint8_t)s[i + 2] == 0x8E) { o[k++] = '\n'; i += 2; continue; }
        o[k++] = s[i];
    }
    o[k] = 0;
    return o;
}

static void test_cases_file(void)
{
    char path[4096];
    const char *root = getenv("OTA_ROOT");
    snprintf(path, sizeof path, "%s/tests/minify/minify-cases.md", root ? root : ".");
    FILE *f = fopen(path, "r");
    if (!CHECKF(f != NULL, "cannot open %s", path)) return;
    char line[8192];
    int ncases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '|' || line[1] != ' ' || line[2] < '0' || line[2] > '9') continue;
        /* split on unescaped '|' */
        const char *cells[8];
        size_t lens[8];
        int nc = 0;
        const char *start = line + 1;
        for (const char *q = line + 1; *q && nc < 8; q++) {
            if (*q == '|' && q[-1] != '\\') {
                cells[nc] = start;
                lens[nc] = (size_t)(q - start);
                nc++;
                start = q + 1;
            }
        }
        if (!CHECKF(nc >= 4, "bad table row: %s", line)) continue;
        int num = atoi(cells[0]);
        char *in = cell_text(cells[2], lens[2]);
        char *want = cell_text(cells[3], lens[3]);
        ncases++;
        for (int mangle = 0; mangle <= 1; mangle++) {
            res r;
            run(&r, in, strlen(in), mangle, 0, 0);
            CHECKF(r.rc == 0, "case %d (mangle %d): rc %d: %s", num, mangle, r.rc, r.diag);
            if (r.rc == 0)
                CHECKF(r.out_len == strlen(want) && memcmp(r.out, want, r.out_len) == 0,
                       "case %d (mangle %d): input [%s] want [%s] got [%.*s]", num, mangle, in,
                       want, (int)r.out_len, r.out);
            /* idempotent: minifying the output again changes nothing */
            if (r.rc == 0) {
                res r2;
                char *again = malloc(r.out_len + 1);
                memcpy(again, r.out, r.out_len);
                run(&r2, again, r.out_len, mangle, 0, 0);
                CHECKF(r2.rc == 0 && r2.out_len == r.out_len &&
                       memcmp(r2.out, r.out, r.out_len) == 0, "case %d not idempotent", num);
                done(&r2);
                free(again);
            }
            done(&r);
        }
        free(in);
        free(want);
    }
    fclose(f);
    CHECK_EQ(ncases, 81);
}

/* ---- 2. exact outputs (whitespace and mangling) --------------------- */

static void expect_out(const char *src, int mangle, const char *want)
{
    res r;
    run(&r, src, strlen(src), mangle, 0, 0);
    if (CHECKF(r.rc == 0, "[%s]: rc %d %s", src, r.rc, r.diag))
        CHECKF(r.out_len == strlen(want) && memcmp(r.out, want, r.out_len) == 0,
               "[%s] mangle %d: want [%s] got [%.*s]", src, mangle, want, (int)r.out_len, r.out);
    done(&r);
}

static void test_mangle(void)
{
    /* params and locals renamed, most used first; globals and properties kept */
    expect_out("function f(alpha, beta) { var gamma = alpha + beta; return gamma.x + gamma + window; }", 1,
               "function f(t,n){var e=t+n;return e.x+e+window}");
    /* top-level names are globals: kept */
    expect_out("var top = 1; let other = top;", 1, "var top=1;let other=top");
    /* shorthand property expands */
    expect_out("function f(value) { return {value}; }", 1, "function f(e){return{value:e}}");
    /* destructuring shorthand expands too */
    expect_out("function f(o) { var {a, b = 2} = o; return a + b; }", 1,
               "function f(e){var{a:t,b:n=2}=e;return t+n}");
    /* eval keeps every name in its function and the enclosing ones */
    expect_out("function f(x) { function g(y) { return eval('y') } return x }", 1,
               "function f(x){function g(y){return eval('y')}return x}");
    /* with keeps names */
    expect_out("function f(o, v) { with (o) { return v } }", 1, "function f(o,v){with(o){return v}}");
    /* a nested function that uses an outer name avoids it */
    expect_out("function f(a, b) { return function (c) { return a + c + b + c } }", 1,
               "function f(e,t){return function(n){return e+n+t+n}}");
    /* a global used inside cannot be shadowed */
    expect_out("function f(a) { return e(a) }", 1, "function f(t){return e(t)}");
    /* sibling blocks do not share a name (let acts like var before 2v14) */
    expect_out("function f() { { let a = 1; g(a) } { let b = 2; g(b) } }", 1,
               "function f(){{let e=1;g(e)}{let t=2;g(t)}}");
    /* ... but where the input itself gives one name to a block-level let and
     * the function's var, or to let in several blocks, or to the outer name
     * the function uses, the output keeps them sharing one name: the same
     * variables then both with block scoping and with let-as-var */
    expect_out("function f(){ var t = 1; { let t = 2; g(t) } return t }", 1,
               "function f(){var e=1;{let e=2;g(e)}return e}");
    expect_out("function w(h){ return function(){ if (a) { const h = 1; g(h) } return h } }", 1,
               "function w(e){return function(){if(a){const e=1;g(e)}return e}}");
    expect_out("function f(){ { let a = 1; g(a) } { let a = 2; g(a) } { let b = 3; g(b) } }", 1,
               "function f(){{let e=1;g(e)}{let e=2;g(e)}{let t=3;g(t)}}");
    /* strict code: a function declared in a block is block scoped */
    expect_out("function F(){ \"use strict\"; { function g(){ return 1 } h(g) } }", 1,
               "function F(){\"use strict\";{function e(){return 1}h(e)}}");
    expect_out("function F(){ { function g(){ return 1 } } return g }", 1,
               "function F(){{function e(){return 1}}return e}");
    /* arrows: parameters (with the cover grammar) and bodies */
    expect_out("function f(k) { return [1].map((x, y) => x + y + k) }", 1,
               "function f(e){return[1].map((t,n)=>t+n+e)}");
    expect_out("function f(k) { return (x) => x * k }", 1, "function f(e){return(t)=>t*e}");
    /* named function expressions: the name is local to the function */
    expect_out("var f = function fact(n) { return n ? n * fact(n - 1) : 1 }", 1,
               "var f=function t(e){return e?e*t(e-1):1}");
    /* catch parameter */
    expect_out("function f() { try { g() } catch (err) { return err } }", 1,
               "function f(){try{g()}catch(e){return e}}");
    /* directives kept */
    expect_out("function f(a) { \"jit\"; return a }", 1, "function f(e){\"jit\";return e}");
    /* classes declared in a function are renamed with their uses */
    expect_out("function f() { class Point { get x() { return 1 } } return new Point() }", 1,
               "function f(){class e{get x(){return 1}}return new e()}");
    /* var inside catch(e) with the same name: the function keeps its names */
    expect_out("function f() { try {} catch (e) { var e = 1 } return e }", 1,
               "function f(){try{}catch(e){var e=1}return e}");
    /* labels are kept as they are */
    expect_out("function f(a) { outer: for (;;) { break outer } return a }", 1,
               "function f(e){outer:for(;;){break outer}return e}");
    /* parameter scope (ECMA-262 FunctionDeclarationInstantiation): a default
     * sees the parameters and the outer scopes, never the body's vars or
     * functions; the body's new names avoid the names the defaults use */
    expect_out("function f(a = b) { var b = 1; return a }", 1,
               "function f(e=b){var t=1;return e}");
    expect_out("function f(a = e) { var b = 1; return a + b }", 1,
               "function f(t=e){var n=1;return t+n}");
    expect_out("function f(a = inner) { function inner() {} return a }", 1,
               "function f(e=inner){function t(){}return e}");
    expect_out("function f(a = () => b) { var b = 2; return a() + b }", 1,
               "function f(e=()=>b){var t=2;return e()+t}");
    /* ... and a body var named like a parameter is the parameter */
    expect_out("function f(a = 1, b = a) { var a; return a + b }", 1,
               "function f(e=1,t=e){var e;return e+t}");
    expect_out("function h(x, { y } = { y: x }) { var x; return x + y }", 1,
               "function h(e,{y:t}={y:e}){var e;return e+t}");
    /* the same for arrows, methods and functions declared in the body */
    expect_out("function o() { return (a = b) => { var b = 3; return a } }", 1,
               "function o(){return(e=b)=>{var t=3;return e}}");
    expect_out("function o() { return { m(a = b) { var b = 3; return a } } }", 1,
               "function o(){return{m(e=b){var t=3;return e}}}");
    expect_out("function f(a = g) { function a() {} return a }", 1,
               "function f(e=g){function e(){}return e}");
    expect_out("function f(a = b) { { var b = 1 } let c = 2; return a + b + c }", 1,
               "function f(e=b){{var t=1}let n=2;return e+t+n}");
    /* a declared `arguments` keeps its name: it starts as the arguments object */
    expect_out("function f(a = arguments.length) { var arguments; return a + arguments[0] }", 1,
               "function f(e=arguments.length){var arguments;return e+arguments[0]}");
    expect_out("function f() { var arguments; return arguments }", 1,
               "function f(){var arguments;return arguments}");
}

/* Numbers starting with 0 and regex flags before LS/PS (both were rejected). */
static void test_lex_edges(void)
{
    /* issue 11: Espruino parses a body without its '}': `return` then end of
     * input throws, so that ';' stays (but not in a body that is only `return;`) */
    expect_out("function f(){g();return;}", 0, "function f(){g();return;}");
    expect_out("function f(a){if(a)return;}", 1, "function f(e){if(e)return;}");
    expect_out("function f(){return;}", 0, "function f(){return}");
    expect_out("function f(){if(a){return;}}", 0, "function f(){if(a){return}}");
    expect_out("f=()=>{g();return;};", 0, "f=()=>{g();return;}");
    expect_out("class A{m(){g();return;}}", 0, "class A{m(){g();return;}}");
    expect_out("if(a)return;", 0, "if(a)return;");
    expect_out("g();", 0, "g()");
    for (int m = 0; m < 2; m++) {
        /* LegacyOctalIntegerLiteral: no fraction, '.' is member access as is */
        expect_out("x = 00.toString()", m, "x=00.toString()");
        expect_out("x = 017 .toString(8)", m, "x=017.toString(8)");
        expect_out("x = 01.a + 00", m, "x=01.a+00");
        /* NonOctalDecimalIntegerLiteral: decimal, takes a fraction/exponent */
        expect_out("x = 08.5 + 09e1 + 08.e1", m, "x=08.5+09e1+08.e1");
        expect_out("x = 09 .toString()", m, "x=09 .toString()");
        expect_out("x = 0n + 0.5 + 0e1", m, "x=0n+0.5+0e1");
        /* U+2028/U+2029 after a regex end its flags; the line break stays
         * where ASI needs it */
        expect_out("r = /[/]/\xe2\x80\xa8test(s)", m, "r=/[/]/\ntest(s)");
        expect_out("r = /a/g\xe2\x80\xa9test(s)", m, "r=/a/g\ntest(s)");
        expect_out("r = /a/g\xe2\x80\xa8.source", m, "r=/a/g.source");
        expect_out("r = /a/i\xc2\xa0.source", m, "r=/a/i.source");
    }
}

/* ---- 3. the gate ------------------------------------------------------ */

/* Gate src at target: want_rc, and (when want is non-NULL) a diagnostic
 * containing it. */
static void gate_case(const char *src, int target, int want_rc, const char *want)
{
    res r;
    run(&r, src, strlen(src), 1, 1, target);
    CHECKF(r.rc == want_rc, "gate [%s] target %d: rc %d want %d (%s)", src, target, r.rc,
           want_rc, r.diag);
    if (want) CHECKF(strstr(r.diag, want) != NULL, "gate [%s]: want [%s] in [%s]", src, want, r.diag);
    done(&r);
}

static void test_gate(void)
{
    gate_case("function f(a = 1) {}", 0, 1, "t.js:1:14: error: default parameter");
    gate_case("function f(...a) {}", 0, 1, "t.js:1:12: error: rest");
    gate_case("f(...a)", 0, 1, "t.js:1:3: error: spread");
    gate_case("x = [...a]", 0, 1, "spread");
    gate_case("var [a, b] = c", 0, 1, "t.js:1:5: error: destructuring");
    gate_case("var {a} = c", 0, 1, "destructuring");
    gate_case("x = {[k]: 1}", 0, 1, "t.js:1:6: error: computed");
    gate_case("x = 2 ** 3", 0, 1, "t.js:1:7: error: the ** operator");
    gate_case("x = a?.b", 0, 1, "optional chaining");
    gate_case("async function f() { await g() }", 0, 1, "async");
    gate_case("x = async () => 1", 0, 1, "async");
    gate_case("function* g() { yield 1 }", 0, 1, "generators");
    gate_case("x = tag`a`", 0, 1, "tagged templates");
    gate_case("a: for (;;) break a", 0, 1, "t.js:1:1: error: labels");
    gate_case("x = \"\\u{41}\"", 0, 1, "\\u{...}");
    gate_case("function F() { return new.target }", 0, 1, "new.target");
    gate_case("x = ({a}) => a", 0, 1, "destructuring");
    gate_case("x = (a = 1) => a", 0, 1, "default parameter");
    /* per-version rules */
    gate_case("x = a ?? b", 213, 1, "2v14");
    gate_case("x = a ?? b", 214, 0, NULL);
    gate_case("x = {a}", 213, 1, "shorthand");
    gate_case("x = {a}", 214, 0, NULL);
    gate_case("try { f() } catch { g() }", 219, 1, "optional catch binding: needs Espruino 2v20");
    gate_case("try { f() } catch { g() }", 220, 0, NULL);
    gate_case("try { f() } catch { g() }", 0, 0, NULL);     /* default 2v29 */
    /* issue 11: rows checked on the 2v29 interpreter (tests/minify/gate-probes.mjs) */
    gate_case("x = 1_000", 213, 1, "numeric separators: needs Espruino 2v14");
    gate_case("x = 1_000", 214, 0, NULL);
    gate_case("class A { static x = 1 }", 221, 1, "class fields: needs Espruino 2v22");
    gate_case("class A { static x = 1 }", 222, 0, NULL);
    gate_case("class A { x = 1 }", 0, 0, NULL);             /* a warning: on the prototype */
    gate_case("class A { x }", 0, 1, "t.js:1:11: error: a class field without an initializer");
    gate_case("var of = 1", 0, 1, "t.js:1:5: error: a name Espruino's lexer reserves");
    gate_case("var static = 1", 0, 1, "reserves");
    gate_case("function f(of) {}", 0, 1, "t.js:1:12: error: a name Espruino's lexer reserves");
    gate_case("x = {of: 1}; x.of = 2; for (var v of a) {}", 0, 0, NULL);
    gate_case("x = {get 1() { return 2 }}", 0, 1, "t.js:1:10: error: a getter/setter whose name");
    gate_case("x = {set 'a'(v) {}}", 0, 1, "getter/setter whose name");
    gate_case("x = {get of() { return 2 }}", 0, 1, "getter/setter whose name");
    gate_case("class A { 'x'() {} }", 0, 1, "t.js:1:11: error: a class member whose name");
    gate_case("class A { delete() {} }", 0, 1, "class member whose name");
    gate_case("for (var i = ('a' in o) ? 0 : 1; i < 1; i++);", 0, 1,
              "t.js:1:19: error: the 'in' operator inside the first clause");
    gate_case("for (var i = 0; ('a' in o) && i < 1; i++);", 0, 0, NULL);
    gate_case("for (var i = function () { return 'a' in o; }; ;) break", 0, 0, NULL);
    gate_case("do x++\nwhile (x < 5)", 0, 1, "t.js:1:4: error: a do-while body");
    gate_case("do if (a) b; while (c)", 0, 1, "do-while body");
    gate_case("do x++; while (x < 5)", 0, 0, NULL);
    gate_case("do if (a) b; else c; while (d)", 0, 0, NULL);
    gate_case("if (a) return", 0, 1, "t.js:1:8: error: 'return' outside a function");
    gate_case("x = Math.sign(-1) + Object.fromEntries([]).a", 0, 0, NULL);
    gate_case("x = Object.fromEntries([])", 216, 0, "Object.fromEntries is not built into Espruino 2v16");
    /* what Espruino runs */
    gate_case("class A extends B { constructor() { super(); } get x() { return 1 } }\n"
              "var f = (a, b) => a + b, t = `x${f(1, 2)}`; let q = 1; const r = 2;\n"
              "for (var i in o) {} for (var v of arr) {}", 0, 0, NULL);
    /* warnings: built-ins and lexer hazards */
    {
        res r;
        const char *src = "var m = new Map(); var n = Math.imul(1, 2); var r = /[/]/; var \\u0061b;";
        run(&r, src, strlen(src), 1, 1, 0);
        CHECK_EQ(r.rc, 0);
        CHECK(r.warnings >= 4);
        CHECK(strstr(r.diag, "t.js:1:13: warning: Map") != NULL);
        CHECK(strstr(r.diag, "Math.imul") != NULL);
        CHECK(strstr(r.diag, "regex class") != NULL);
        CHECK(strstr(r.diag, "\\u escape in an identifier") != NULL);
        done(&r);
    }
    /* Espruino lexer hazards (cases 4, 9, 10, 54, 57 of minify-cases.md) */
    {
        res r;
        const char *src = "if (ok) /^a/.test(s)\nx = this / 2\nx = a++ / 2\n"
                          "t = `x ${ \"}\" } y`\nt = `a\\${b}`\nx = (a) / 2\ny = /ok/.test(s)\n";
        run(&r, src, strlen(src), 1, 1, 0);
        CHECK_EQ(r.rc, 0);
        CHECK_EQ(r.warnings, 5);
        CHECK(strstr(r.diag, "t.js:1:9: warning: Espruino reads this regex") != NULL);
        CHECK(strstr(r.diag, "t.js:2:10: warning: Espruino reads this division") != NULL);
        CHECK(strstr(r.diag, "t.js:3:9: warning: Espruino reads this division") != NULL);
        CHECK(strstr(r.diag, "t.js:4:11: warning: a brace") != NULL);
        CHECK(strstr(r.diag, "t.js:5:5: warning: an escaped") != NULL);
        done(&r);
    }
    /* a local named Map is not the built-in */
    {
        res r;
        const char *src = "function f(Map) { return new Map() }";
        run(&r, src, strlen(src), 1, 1, 0);
        CHECK_EQ(r.rc, 0);
        CHECK_EQ(r.warnings, 0);
        done(&r);
    }
    /* gate 2 (warn only): same findings, output produced */
    {
        res r;
        const char *src = "x = a?.b ** 2";
        run(&r, src, strlen(src), 1, 2, 0);
        CHECK_EQ(r.rc, 0);
        CHECK_EQ(r.warnings, 2);
        CHECK(r.out && r.out_len == 9 && memcmp(r.out, "x=a?.b**2", 9) == 0);
        done(&r);
    }
    /* gate 0: nothing reported */
    {
        res r;
        const char *src = "x = a?.b ** 2; new Map()";
        run(&r, src, strlen(src), 1, 0, 0);
        CHECK_EQ(r.rc, 0);
        CHECK_EQ(r.warnings, 0);
        CHECK_EQ(strlen(r.diag), 0);
        done(&r);
    }
    /* several errors are all reported; minify off still gates */
    {
        jsmin_opts o;
        jsmin_opts_default(&o);
        o.minify = 0;
        char diag[2048] = { 0 };
        FILE *d = fmemopen(diag, sizeof diag - 1, "w");
        uint8_t *out = NULL;
        size_t ol = 0;
        const char *src = "f(...a)\ng(b ?. c)\n";
        int rc = jsmin_run("t.js", (const uint8_t *)src, strlen(src), &o, &out, &ol, NULL, d);
        fclose(d);
        CHECK_EQ(rc, 1);
        CHECK(strstr(diag, "t.js:1:3:") && strstr(diag, "t.js:2:5:"));
        free(out);
        const char *ok = "var a = 1 // kept as is\n";
        rc = jsmin_run("t.js", (const uint8_t *)ok, strlen(ok), &o, &out, &ol, NULL, NULL);
        CHECK(rc == 0 && ol == strlen(ok) && memcmp(out, ok, ol) == 0);
        free(out);
    }
    /* targets */
    int t = 0;
    CHECK(jsmin_parse_target("2v29", &t) == 0 && t == 229);
    CHECK(jsmin_parse_target("2v14", &t) == 0 && t == 214);
    CHECK(jsmin_parse_target("220", &t) == 0 && t == 220);
    CHECK(jsmin_parse_target("2v30", &t) == -1);
    CHECK(jsmin_parse_target("1v99", &t) == -1);
    CHECK(jsmin_parse_target("2v", &t) == -1);
    CHECK(jsmin_parse_target("x", &t) == -1);
}

/* ---- 4. bad input ----------------------------------------------------- */

static void bad(const char *src, size_t len, const char *want)
{
    res r;
    run(&r, src, len, 1, 0, 0);
    CHECKF(r.rc == 1, "bad input [%.*s]: rc %d", (int)len, src, r.rc);
    CHECKF(strstr(r.diag, want) != NULL, "bad input [%.*s]: want [%s] got [%s]", (int)len, src,
           want, r.diag);
    CHECKF(r.out == NULL, "bad input gave output");
    done(&r);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void test_bad_input(void)
{
    bad("x = \"abc", 8, "t.js:1:5: error: unterminated string");
    bad("x = 'a\nb'", 9, "t.js:1:5: error: unterminated string");
    bad("x = `abc", 8, "t.js:1:5: error: unterminated template");
    bad("x = `a${b", 9, "unterminated template");
    bad("x = /abc\n/", 10, "t.js:1:5: error: unterminated regular expression");
    bad("a\n/* never closed", 17, "t.js:2:1: error: unterminated comment");
    bad("x = 1 @ 2", 9, "t.js:1:7: error: unexpected character '@'");
    /* legacy octal-like numbers: no fraction (017.5 is 017 then .5), no
     * exponent or 'n' on octal, no 'n' on 08, no separators */
    bad("x = 017.5", 9, "t.js:1:8: error: expected ';' before '.5'");
    bad("x = 07e1", 8, "identifier starts immediately after number");
    bad("x = 07n", 7, "identifier starts immediately after number");
    bad("x = 08n", 7, "identifier starts immediately after number");
    bad("x = 09.toString()", 17, "identifier starts immediately after number");
    bad("x = 0_1", 7, "numeric separator");
    bad("x = 08_1", 8, "numeric separator");
    /* ECMA-262 early errors in declarations (issue 11) */
    bad("var {}", 6, "t.js:1:5: error: a destructuring declaration needs an initializer");
    bad("var [a]", 7, "t.js:1:5: error: a destructuring declaration needs an initializer");
    bad("let {a}", 7, "t.js:1:5: error: a destructuring declaration");
    bad("const {a}", 9, "t.js:1:7: error: a destructuring declaration");
    bad("const a;", 8, "t.js:1:7: error: missing initializer in const declaration");
    bad("for (const a; ;) ;", 18, "t.js:1:12: error: missing initializer in const");
    bad("let a; let a;", 13, "t.js:1:12: error: 'a' has already been declared");
    bad("var a; const a = 1;", 19, "t.js:1:14: error: 'a' has already been declared");
    bad("let a; var a;", 13, "t.js:1:12: error: 'a' has already been declared");
    bad("class A {} let A = 1", 20, "t.js:1:16: error: 'A' has already been declared");
    bad("function f(a) { let a }", 23, "t.js:1:21: error: 'a' has already been declared");
    bad("function f() { let a; { var a } }", 33, "t.js:1:29: error: 'a' has already been declared");
    bad("try {} catch (e) { let e }", 26, "t.js:1:24: error: 'e' has already been declared");
    /* a non-space non-ASCII character after a regex is still a bad flag */
    bad("x = /a/\xc3\xa9", 9, "invalid regular expression flags");
    bad("x = 1\x01", 6, "unexpected byte 0x01");
    bad("x = \0 1", 7, "t.js:1:5: error: unexpected byte 0x00");
    bad("x = \xff", 5, "invalid UTF-8 byte 0xFF");
    bad("var \xc3\x28 = 1", 10, "invalid UTF-8");
    bad("x = (1", 6, "unclosed '('");
    bad("x = [1", 6, "unclosed '['");
    bad("function f() {", 14, "unexpected end of input");
    bad("x = 1 2", 7, "t.js:1:7: error: expected ';'");
    bad("x = 3in y", 9, "identifier starts immediately after number");
    bad("x = 0x", 6, "invalid number");
    bad("import x from 'y'", 17, "not allowed in scripts");
    bad("throw\nx", 7, "line break after 'throw'");
    bad("x = {a b}", 9, "t.js:1:8: error: unexpected token 'b'");
    /* NUL and raw bytes inside a string literal are kept byte for byte */
    {
        res r;
        const char src[] = "s = \"a\0\xff\"";
        run(&r, src, sizeof src - 1, 1, 0, 0);
        CHECK(r.rc == 0 && r.out_len == 7 && memcmp(r.out, "s=\"a\0\xff\"", 7) == 0);
        done(&r);
    }
    /* Unicode white space and line terminators */
    expect_out("a\xc2\xa0=\xe2\x80\x83" "1\xe2\x80\xa8" "b = 2", 0, "a=1\nb=2");
    expect_out("\xef\xbb\xbfx = 1", 0, "x=1");
    expect_out("#!/usr/bin/env node\nx = 1", 0, "x=1");
    expect_out("var \xc3\xa9t\xc3\xa9 = 1", 0, "var \xc3\xa9t\xc3\xa9=1");
    /* deep nesting: a clear error, no stack overflow */
    for (int kind = 0; kind < 5; kind++) {
        size_t n = 200000;
        char *s = malloc(n + 1);
        const char open[] = "([{!-";
        memset(s, open[kind], n);
        s[n] = 0;
        res r;
        run(&r, s, n, 1, 0, 0);
        CHECKF(r.rc == 1 && strstr(r.diag, "nesting too deep"), "deep %c: %d %s", open[kind],
               r.rc, r.diag);
        done(&r);
        free(s);
    }
    /* long else-if chains are not nesting */
    {
        size_t n = 0;
        char *s = malloc(20000 * 24 + 16);
        for (int i = 0; i < 20000; i++) n += (size_t)sprintf(s + n, "if(a==%d)b();else ", i);
        n += (size_t)sprintf(s + n, "c()");
        res r;
        run(&r, s, n, 1, 0, 0);
        CHECKF(r.rc == 0 && r.out_len == n, "else-if chain: %s", r.diag);
        done(&r);
        free(s);
    }
    /* nesting below the limit works */
    {
        size_t d = 900, n = 2 * d + 1;
        char *s = malloc(n + 1);
        memset(s, '(', d);
        s[d] = '1';
        memset(s + d + 1, ')', d);
        s[n] = 0;
        res r;
        run(&r, s, n, 1, 0, 0);
        CHECK(r.rc == 0 && r.out_len == n);
        done(&r);
        free(s);
    }
    /* token-array growth at every phase of a statement (stale pointers) */
    for (int pad = 0; pad < 6; pad++) {
        char *s = malloc(200000);
        size_t n = 0;
        for (int i = 0; i < pad; i++) n += (size_t)sprintf(s + n, "x;");
        for (int i = 0; i < 3000; i++)
            n += (size_t)sprintf(s + n, "%s", (const char *[]){ "var a=1;", "{const b=[c],d=2}",
                 "do x++\nwhile(y)", "if(a)/r/.t(b);else c;", "{let{e}=f}" }[i % 5]);
        res r;
        run(&r, s, n, 1, 0, 0);
        CHECKF(r.rc == 0, "growth pad %d: %s", pad, r.diag);
        done(&r);
        free(s);
    }
    /* thousands of distinct globals used 900 functions deep: mangling gives up
     * (bounded memory and time), the output keeps every name */
    {
        size_t cap = 1 << 20, n = 0;
        char *s = malloc(cap);
        for (int i = 0; i < 900; i++) n += (size_t)sprintf(s + n, "function f%d(a%d){", i, i);
        for (int i = 0; i < 8000; i++) n += (size_t)sprintf(s + n, "g%d;", i);
        for (int i = 0; i < 900; i++) s[n++] = '}';
        res r;
        run(&r, s, n, 1, 0, 0);
        CHECK(r.rc == 0 && r.out && memcmp(r.out, "function f0(a0){function f1(a1){", 32) == 0);
        done(&r);
        free(s);
    }
    /* a 10 MB file */
    {
        const char *chunk = "function f(alpha, beta) { // c\n  var s = 'x' + alpha / 2 / beta;\n"
                            "  return /re[/]x/g.test(s) ? `t${s}` : s\n}\n";
        size_t cl = strlen(chunk), n = 0, cap = 10u << 20;
        char *s = malloc(cap + cl);
        while (n < cap) { memcpy(s + n, chunk, cl); n += cl; }
        res r;
        run(&r, s, n, 1, 0, 0);
        CHECK_EQ(r.rc, 0);
        const char *one = "function f(t,n){var e='x'+t/2/n;return/re[/]x/g.test(e)?`t${e}`:e}";
        CHECK(r.out_len == strlen(one) * (n / cl));
        CHECK(r.out && memcmp(r.out, one, strlen(one)) == 0);
        done(&r);
        free(s);
    }
    /* random mutations of valid code: never a crash, always 0 or 1 */
    {
        const char *seed = "function f(a,b){var c=[1,2,{x:a}],d=`t${a+`u${b}`}`;if(a)/re/g.test(d);"
                           "else return c.map((x)=>x*2)/3;for(let i of c){try{g()}catch(e){}}"
                           "return {get y(){return 1},z}}<!--c\n-->d\nclass K{m(){}}";
        size_t sl = strlen(seed);
        char buf[512];
        int ok = 0, err = 0;
        for (int it = 0; it < 20000; it++) {
            memcpy(buf, seed, sl);
            size_t n = sl;
            int muts = 1 + (int)(rnd() % 4);
            for (int m = 0; m < muts; m++) {
                size_t at = rnd() % n;
                switch (rnd() % 3) {
                case 0: buf[at] = (char)(rnd() & 0xFF); break;
                case 1: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
                default:
                    if (n + 1 < sizeof buf) {
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = "(){}[]/`'\"\\;\n*+-<!$"[rnd() % 20];
                        n++;
                    }
                }
            }
            res r;
            run(&r, buf, n, (int)(it & 1), (int)(it % 3), 0);
            if (r.rc == 0) ok++;
            else if (r.rc == 1) err++;
            done(&r);
        }
        CHECK_EQ(ok + err, 20000);
    }
}

int main(void)
{
    t_suite_name = "test_jsmin";
    test_cases_file();
    test_mangle();
    test_lex_edges();
    test_gate();
    test_bad_input();
    return t_done();
}

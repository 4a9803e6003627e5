// oracle-selftest.mjs: checks the checker (tests/js/oracle.mjs), without any
// minifier: it must accept the expected output of every fixture case in both
// modes, accept correct renamings, and reject the outputs that the peers are
// known to produce (minify-cases.md, "Where peers deviate") and wrong renamings.
// Prints "minify-oracle-selftest: N passed, N failed".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, loadOracle, summary } from './lib.mjs';

const SUITE = 'minify-oracle-selftest';
const { compare } = await loadOracle(SUITE);
let passed = 0, failed = 0;
function check(what, input, output, opts, wantOk) {
  const probs = compare(input, output, { allowReturn: true, ...opts });
  if ((probs.length === 0) === wantOk) { passed++; return; }
  failed++;
  console.log(`FAIL ${what}: oracle ${wantOk ? 'rejected a correct' : 'accepted a wrong'} output`);
  console.log(`     input ${JSON.stringify(input)} output ${JSON.stringify(output)}`);
  for (const p of probs) console.log(`     ${p}`);
}

// 1. Every case's expected output is correct in both modes.
const cases = JSON.parse(readFileSync(join(ROOT, 'tests/minify/cases.json'), 'utf8'));
for (const c of cases) {
  check(`case ${c.number} expected (whitespace)`, c.input, c.expected, {}, true);
  check(`case ${c.number} expected (mangle)`, c.input, c.expected, { mangle: true }, true);
}

// 2. Known wrong whitespace-only outputs (terser, esbuild, EspruinoTools).
const badWs = [
  ['22 terser', 'function f(){return\nvalue}', 'function f(){return;value}'],
  ['23 terser', 'a\n++b', 'a;++b'],
  ['47 terser', 's = "\\xF9\\xF0"', 's="ùð"'],
  ['49 terser', 's = "\\u00b0"', 's="°"'],
  ['50 terser', 's = "ab\\\ncd"', 's="abcd"'],
  ['35 terser', 'x = 1 .toString()', 'x=1..toString()'],
  ['36 terser', 'x = 0x10.toString()', 'x=16..toString()'],
  ['33 terser', 'do x++\nwhile (x < 5)', 'do{x++}while(x<5)'],
  ['52 terser', 's = "</script>"', 's="<\\/script>"'],
  ['55 terser', 't = `l1\n  l2`', 't=`l1\\n  l2`'],
  ['48 esbuild', 's = "°C"', 's="\\xB0C"'],
  ['29 esbuild', 'return /*\n*/ x', 'return;x'],
  ['40 esbuild', 'return (a)', 'return a'],
  ['58 both', 'var \\u0061b = 1', 'var ab=1'],
  ['3 pretokenise', 'x = y / /re/.source.length', 'x=y//re/.source.length'],
  ['13 pretokenise', 'a - -b', 'a--b'],
  ['61 directive', '"use strict"\n;[a] = b', '"use strict"[a]=b'],
  ['60 compress', 'function f(){ "jit"; return 1 }', 'function f(){return 1}'],
  ['21 html comment', 'x = 1 <!-- hidden\ny = 2', 'x=1;y=2'],
  ['19 html comment', 'x = a < !--b', 'x=a<!--b'],
  ['20 html comment', 'x = a-- > b\n', 'x=a\n-->b'],
  ['semicolon added', 'a = 1\nb = 2', 'a=1;b=2'],
  ['empty statement dropped', 'if (a) {;}', 'if(a){}'],
  ['quotes changed', "s = 'x'", 's="x"'],
  ['shorthand expanded', 'x = {a}', 'x={a:a}'],
  ['parens dropped', 'f = (x) => x', 'f=x=>x'],
  ['regex flags', 'r = /a/g', 'r=/a/'],
  ['renamed in whitespace mode', 'function f(x){return x}', 'function f(a){return a}'],
  // issue 11: terser and esbuild print these; Espruino then throws at every call
  ['64 return ends a body', 'function f(){g();return;}', 'function f(){g();return}'],
  ['65 nested return ends a body', 'function f(){if(a)return;}', 'function f(){if(a)return}'],
  ['69 arrow', 'f = () => { g(); return; }', 'f=()=>{g();return}'],
  ['71 class method', 'class A { m() { g(); return; } }', 'class A{m(){g();return}}'],
  ['75 end of input', 'if (a) return;', 'if(a)return'],
];
for (const [what, i, o] of badWs) check(`whitespace: ${what}`, i, o, {}, false);
check('whitespace: ";" before "}" may go', 'function f(){ return 1; }', 'function f(){return 1}', {}, true);
check('whitespace: final ";" may go', 'x = 1;\n', 'x=1', {}, true);

// 3. Mangling: correct renamings are accepted...
const goodMangle = [
  ['locals', 'function f(alpha, beta){ var gamma = alpha + beta; return gamma }', 'function f(a,b){var c=a+b;return c}'],
  ['shorthand', 'function f(alpha){ return {alpha} }', 'function f(a){return{alpha:a}}'],
  ['shorthand pattern', 'function f(o){ var {alpha = 1} = o; return alpha }', 'function f(a){var{alpha:b=1}=a;return b}'],
  ['annex B block function', 'function f(){ if (1) { function g(){ return 1 } } return g() }', 'function f(){if(1){function a(){return 1}}return a()}'],
  ['class', 'function f(){ class Point { m(){ return Point } } return new Point }', 'function f(){class a{m(){return a}}return new a}'],
  ['catch', 'function f(){ try { throw 1 } catch (err) { return err } }', 'function f(){try{throw 1}catch(a){return a}}'],
  ['named function expression', 'var v = function fact(n){ return n ? n * fact(n - 1) : 1 }', 'var v=function a(b){return b?b*a(b-1):1}'],
  ['labels', 'function f(){ outer: for(;;) break outer }', 'function f(){a:for(;;)break a}'],
  ['eval scope kept, inner renamed', 'function f(x){ function g(y){ return y } return eval("x") + g(1) }', 'function f(x){function g(a){return a}return eval("x")+g(1)}'],
  ['with: names outside kept only where seen', 'function f(o){ var x = 1; with (o) { } return x }', 'function f(a){var b=1;with(a){}return b}'],
  ['sibling blocks, distinct names', 'function f(){ { let x = 1 } { let y = 2; return y } }', 'function f(){{let a=1}{let b=2;return b}}'],
  ['sibling blocks, one name before and after', 'function f(){ { let x = 1 } { let x = 2; return x } }', 'function f(){{let a=1}{let a=2;return a}}'],
  ['no renaming at all', 'function f(x){ return x }', 'function f(x){return x}'],
  ['parameter named arguments renamed', 'function f(arguments){ return arguments }', 'function f(a){return a}'],
  ['parameter default sees the outer name', 'function f(a = b){ var b = 2; return a + b }', 'function f(a=b){var c=2;return a+c}'],
  ['body var named like a parameter with defaults', 'function f(a = 1){ var a; return a }', 'function f(b=1){var b;return b}'],
  ['arguments kept', 'function f(x){ return arguments[0] + x }', 'function f(a){return arguments[0]+a}'],
  ['global kept, local renamed', 'var g = 1; function f(local){ return g + local }', 'var g=1;function f(a){return g+a}'],
];
for (const [what, i, o] of goodMangle) check(`mangle ok: ${what}`, i, o, { mangle: true }, true);

// ...and wrong ones rejected.
const badMangle = [
  ['top-level var renamed', 'var g = 1; function f(){ return g }', 'var a=1;function f(){return a}'],
  ['top-level function renamed', 'function foo(){} foo()', 'function a(){}a()'],
  ['reference left behind', 'function f(x){ return x + x }', 'function f(a){return a+b}'],
  ['global captured', 'function f(x){ return x + y }', 'function f(y){return y+y}'],
  ['eval scope renamed', 'function f(x){ return eval("x") }', 'function f(a){return eval("x")}'],
  ['with scope renamed', 'function f(o, x){ with (o) return x }', 'function f(o,a){with(o)return a}'],
  ['var declared in with renamed', 'function f(o){ with (o) { var v = 1 } return v }', 'function f(o){with(o){var a=1}return a}'],
  ['arguments renamed', 'function f(){ return arguments }', 'function f(){return a}'],
  ['var arguments renamed', 'function f(){ var arguments; return arguments }', 'function f(){var a;return a}'],
  ['arrow: outer arguments renamed', 'function f(){ return () => arguments }', 'function f(){return()=>a}'],
  ['property renamed', 'function f(o){ return o.prop }', 'function f(a){return a.b}'],
  ['object key renamed', 'function f(v){ return {key: v} }', 'function f(a){return{b:a}}'],
  ['shorthand key renamed', 'function f(a){ return {a} }', 'function f(b){return{b}}'],
  ['shorthand introduced', 'function f(x){ return {a: x} }', 'function f(a){return{a}}'],
  ['top-level block class renamed (a global on Espruino)', '{ class C {} f(C) }', '{class a{}f(a)}'],
  ['top-level block function renamed (a global on Espruino)', '{ function g(){} g() }', '{function a(){}a()}'],
  ['top-level switch let renamed (no block on Espruino: a global)', 'switch (x) { case 1: let y = 1; f(y) }', 'switch(x){case 1:let a=1;f(a)}'],
  ['switch let split from the block let it is on Espruino', '{ let y = 1; switch (x) { case 1: let y = 2 } f(y) }', '{let a=1;switch(x){case 1:let y=2}f(a)}'],
  ['body var split from its parameter', 'function f(a = 1){ var a; return a }', 'function f(b=1){var c;return c}'],
  ['two params merged', 'function f(a, b){ return a + b }', 'function f(a,a){return a+a}'],
  ['inner shadows captured outer', 'function f(){ var x = 1; function g(){ var y = 2; return x } return g() }', 'function f(){var a=1;function g(){var a=2;return a}return g()}'],
  ['semicolon added at ASI point', 'function f(a, b){ a\n++b }', 'function f(c,d){c;++d}'],
  ['string changed', 'function f(x){ return x + "\\x41" }', 'function f(a){return a+"A"}'],
  ['escaped global name unescaped', 'var \\u0061b = 1', 'var ab=1'],
  ['label and loop label mixed', 'function f(){ a: for(;;) { b: for(;;) { break a } } }', 'function f(){a:for(;;){b:for(;;){break b}}}'],
];
for (const [what, i, o] of badMangle) check(`mangle bad: ${what}`, i, o, { mangle: true }, false);

// 4. Top-level blocks: their let/const are block scoped on 2v14+ (renaming is
// right for the default target) but globals before (wrong for --target 2v13).
const topBlock = [
  ['top-level block let', '{ let x = 1; f(x) }', '{let a=1;f(a)}'],
  ['top-level for-let', 'for (let i = 0; i < 2; i++) f(i)', 'for(let a=0;a<2;a++)f(a)'],
  ['top-level block const used by a nested function', '{ const k = 2; let g = function(v){ return v * k }; g(3) }',
    '{const e=2;let t=function(n){return n*e};t(3)}'],
  ['switch let inside a function block', 'function f(){ { switch (x) { case 1: let y = 2; g(y) } } }', 'function f(){{switch(x){case 1:let a=2;g(a)}}}'],
];
// Right on 2v14+, wrong before (let as var):
for (const [what, i, o] of [
  ['sibling-block name reuse (let as var)', 'function f(){ { let x = 1 } { let y = 2; return y } }', 'function f(){{let a=1}{let a=2;return a}}'],
  ['let shadows outer name used in the function (let as var)', 'function f(){ var x = 1; { let y = 2 } return x }', 'function f(){var a=1;{let a=2}return a}'],
]) {
  check(`target 2v29 good: ${what}`, i, o, { mangle: true }, true);
  check(`target 2v13 bad: ${what}`, i, o, { mangle: true, target: 213 }, false);
}
for (const [what, i, o] of topBlock) {
  check(`target 2v29 good: ${what}`, i, o, { mangle: true }, true);
  if (what.startsWith('top-level')) check(`target 2v13 bad: ${what}`, i, o, { mangle: true, target: 213 }, false);
}

summary(SUITE, passed, failed);

// gate-probes.mjs: every row of the gate table (cli/jsmin/gate.c: syntax
// features, lexer hazards and built-ins) has a probe here that runs on the
// real Espruino 2v29 interpreter; the gate's verdict for target 2v29 (any
// diagnostic = "Espruino cannot run this") must agree with the interpreter
// (a probe prints @@OK only when it ran with its ECMAScript meaning).
// A row without a probe fails; a row with a `since` version is also checked
// to be refused one version earlier.  Interpreter lookup as espruino-diff.mjs.
// Prints "gate-probes: N passed, N failed[, N skipped]".
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, minifierCommand } from './lib.mjs';
import { findEspruino } from './espruino-find.mjs';

const SUITE = 'gate-probes';
const OK = 'print("@@OK")';
const F = {
  G_DEFAULT_PARAM: `function f(a,b=2){return a+b}if(f(1)===3)${OK}`,
  G_REST: `function f(...a){return a.length}if(f(1,2)===2)${OK}`,
  G_SPREAD: `var a=[1,2];var b=[0,...a];if(b.length===3&&b[2]===2)${OK}`,
  G_DESTRUCT: `var [a,b]=[1,2];if(a===1&&b===2)${OK}`,
  G_COMPUTED: `var k="a";var o={[k]:1};if(o.a===1)${OK}`,
  G_EXP: `if(2**3===8)${OK}`,
  G_OPTCHAIN: `var o=null;if(o?.a===undefined)${OK}`,
  G_ASYNC: `async function f(){return 1}f().then(function(v){if(v===1)${OK}})`,
  G_GENERATOR: `function*g(){yield 1}if(g().next().value===1)${OK}`,
  G_TAGGED: 'function t(s){return s[0]}if(t`x`==="x")' + OK,
  G_LABEL: `var i;a:for(i=0;i<2;i++){for(;;){continue a}}if(i===2)${OK}`,
  G_UBRACE: `if("\\u{41}"==="A")${OK}`,
  G_NEWTARGET: `function F(){this.t=new.target===F}if(new F().t)${OK}`,
  G_NULLISH: `var a=null;if((a??2)===2)${OK}`,
  G_OPTCATCH: `try{throw 1}catch{${OK}}`,
  G_SHORTHAND: `var a=1;var o={a};if(o.a===1)${OK}`,
  G_LOGICAL_ASSIGN: `var a=0;a||=2;if(a===2)${OK}`,
  G_CLASS_FIELD: `class A{static x=1}if(A.x===1)${OK}`,
  G_BIGINT: `if(typeof 1n==="bigint")${OK}`,
  G_REGEX_FLAG_U: `if(/^.$/u.test("\\u{1F600}"))${OK}`,
  G_REGEX_FLAG_S: `if(/a.b/s.test("a\\nb"))${OK}`,
  G_REGEX_FLAG_Y: `var r=/a/y;if(!r.test("ba"))${OK}`,
  G_IMPORT: `import("x").then(function(){},function(){${OK}})`,
  G_NUMSEP: `if(1_000===1000)${OK}`,
  G_PRIVATE: `class A{#x=1;g(){return this.#x}}if(new A().g()===1)${OK}`,
  G_STATIC_BLOCK: `class A{static{A.x=1}}if(A.x===1)${OK}`,
  G_RETURN_TOP: `${OK};return;`,
  G_RESERVED_NAME: `var of=1;if(of===1)${OK}`,
  G_ACCESSOR_NAME: `var o={get 1(){return 2}};if(o[1]===2)${OK}`,
  G_CLASS_MEMBER_NAME: `class A{"x"(){return 1}}if(new A().x()===1)${OK}`,
  G_FOR_INIT_IN: `var o={a:1},n=0;for(var i=("a" in o)?0:5;i<1;i++)n++;if(n===1)${OK}`,
  G_CLASS_FIELD_NOINIT: `class A{x}if(new A().x===undefined)${OK}`,
  G_DO_BODY: `var a=0;do a++\nwhile(a<5)\nif(a===5)${OK}`,
  G_WARN_RETURN_NL: `function f(){return\n7}if(f()===undefined)${OK}`,
  G_WARN_NL_INCDEC: `var x=1,y=5\nx\n++y\nif(x===1&&y===6)${OK}`,
  G_WARN_REGEX_SLASH: `if(/[/]/.test("/"))${OK}`,
  G_WARN_FIELD_PROTO: `class A{x=[]}var a=new A(),b=new A();a.x.push(1);if(b.x.length===0&&a.hasOwnProperty("x"))${OK}`,
  G_WARN_RETURN_END: `function f(){f.x=1;return}f();if(f.x===1)${OK}`,
  // lexer hazards (gate.c lexer_hazards and js_gate_builtins)
  H_REGEX_AFTER_PAREN: `var n=0;if(1)/a/.test("a")&&n++;if(n===1)${OK}`,
  H_DIV_AFTER_INC: `var a=4;var x=a++/2;if(x===2)${OK}`,
  H_TEMPLATE_BRACE: 'var t=`${"}"}`;if(t==="}")' + OK,
  H_TEMPLATE_ESCAPED_SUBST: 'var t=`a\\${b}`;if(t==="a${b}")' + OK,
  H_IDENT_UESC: `var \\u0061b=1;if(ab===1)${OK}`,
  H_IDENT_NONASCII: `var café=1;if(café===1)${OK}`,
  H_BOM: `\uFEFFvar x=1;if(x===1)${OK}`,
  H_NBSP: `var x\u00A0=1;if(x===1)${OK}`,
  H_HTML_COMMENT: `var x=1 <!-- c\nif(x===1)${OK}`,
};
// Probes that show the gate is silent where Espruino runs the code (issue 11).
const SILENT = {
  S_MATH_SIGN: `if(Math.sign(-3)===-1)${OK}`,
  S_OF_PROPERTY: `var o={of:1};o.of++;if(o.of===2)${OK}`,
  S_GETTER: `var o={get a(){return 2}};if(o.a===2)${OK}`,
  S_FOR_IN: `var o={a:1},n=0;for(var k in o)n++;if(n===1)${OK}`,
  S_FOR_TEST_IN: `var o={a:1},n=0;for(var i=0;("a" in o)&&i<1;i++)n++;if(n===1)${OK}`,
  S_STATIC_METHOD: `class A{static s(){return 1}}if(A.s()===1)${OK}`,
  S_DO_SEMI: `var a=0;do a++;while(a<5)if(a===5)${OK}`,
  S_DO_IF_ELSE: `var a=0;do if(a<9)a++;else a=0;while(a<5)if(a===5)${OK}`,
  S_RETURN_SEMI: `function f(){f.x=1;return;}f();if(f.x===1)${OK}`,
};

const esp = findEspruino();
if (typeof esp !== 'string') {
  if (esp.wrong) {   // ESPRUINO names something that is not an interpreter: fail, never skip
    console.log(`${SUITE}: ${esp.missing}`);
    console.log(`${SUITE}: 0 passed, 1 failed`);
    process.exit(1);
  }
  console.log(`${SUITE}: skipped: ${esp.missing}`);
  console.log(`${SUITE}: 0 passed, 0 failed, 1 skipped`);
  process.exit(0);
}
const cmd = minifierCommand(SUITE);
const gateSrc = readFileSync(join(ROOT, 'cli/jsmin/gate.c'), 'utf8');
const rows = [...gateSrc.matchAll(/^\s*\[(G_[A-Z0-9_]+)\]\s*=\s*\{\s*(\d+)/gm)].map((m) => ({ name: m[1], since: +m[2] }));
const builtinText = gateSrc.slice(gateSrc.indexOf('builtins[] = {'), gateSrc.indexOf('};', gateSrc.indexOf('builtins[] = {')));
const builtins = [...builtinText.matchAll(/\{\s*"(\w+)",\s*(?:"(\w+)"|NULL),\s*(\d+)\s*\}/g)].map((m) => ({ obj: m[1], member: m[2], since: +m[3] }));
const dir = mkdtempSync(join(tmpdir(), 'ota-gateprobe-'));
let passed = 0, failed = 0, nprobes = 0;

function interp(code) {
  const f = join(dir, 'p.js');
  writeFileSync(f, code + '\n');
  const r = spawnSync(esp, [f], { cwd: dir, encoding: 'latin1', timeout: 10000, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = (r.stdout || '') + (r.stderr || '');
  return /@@OK/.test(out) && !/Uncaught|ASSERT\(/.test(out);
}
function gate(code, target) {
  const f = join(dir, 'g.js');
  writeFileSync(f, code + '\n');
  const r = spawnSync(cmd[0], [...cmd.slice(1), 'minify', f, '-o', join(dir, 'g.out.js'), '--no-minify', '--gate-warn', '--target', target], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) return { error: `status ${r.status}: ${r.stderr}` };
  return { silent: r.status === 0 && !/: (warning|error): /.test(r.stderr), text: r.stderr.trim().split('\n')[0] };
}
const ver = (v) => `${Math.floor(v / 100)}v${String(v % 100).padStart(2, '0')}`;

function check(name, code, since) {
  nprobes++;
  const runs = interp(code);
  const g = gate(code, '2v29');
  if (g.error) { failed++; console.log(`FAIL ${name}: otasign ${g.error}`); return; }
  if (runs !== g.silent) {
    failed++;
    console.log(`FAIL ${name}: Espruino 2v29 ${runs ? 'runs it' : 'does not run it'}, the gate ${g.silent ? 'is silent' : 'says: ' + g.text}`);
    return;
  }
  passed++;
  console.log(`ok   ${name}: ${runs ? 'runs on 2v29, gate silent' : 'fails on 2v29, gate: ' + g.text}`);
  if (since > 200 && runs) {
    const old = gate(code, ver(since - 1));
    if (old.silent) { failed++; console.log(`FAIL ${name}: the gate is silent for ${ver(since - 1)}, before its row's ${ver(since)}`); }
    else passed++;
  }
}

try {
  for (const r of rows) {
    if (!F[r.name]) { failed++; console.log(`FAIL ${r.name}: gate row without a probe on the interpreter`); continue; }
    check(r.name, F[r.name], r.since);
  }
  for (const k of Object.keys(F)) if (k.startsWith('H_')) check(k, F[k], 0);
  for (const k of Object.keys(SILENT)) check(k, SILENT[k], 0);
  for (const b of builtins) {
    const name = b.member ? `${b.obj}.${b.member}` : b.obj;
    const code = b.member ? `if(${b.obj}.${b.member}!==undefined)${OK}` : `if(typeof ${b.obj}!=="undefined")${OK}`;
    check(name, code, b.since);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${SUITE}: ${rows.length} syntax rows and ${builtins.length} built-in rows of cli/jsmin/gate.c, ${nprobes} probes run on ${esp}`);
console.log(`${SUITE}: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;

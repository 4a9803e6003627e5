// espruino-diff.mjs: the real-interpreter differential check (issue 11).
//
// Every program of tests/minify/programs/*.js (the corpus, written for node)
// and tests/minify/programs/espruino/*.js (written for Espruino 2v29: they call
// every function they define) runs on the real Espruino interpreter before and
// after `otasign minify`, with and without mangling; the outputs must be equal.
// The espruino/ programs also go through `otasign release` (gate on, target
// 2v29) and their bundle.js must print the same.
//
// Espruino keeps a function body as text and parses it only when it is called,
// so a body never called proves nothing.  Each program therefore also runs
// instrumented: acorn finds every function body (declarations, expressions,
// arrows with block or expression bodies, methods, getters, setters, class
// constructors and methods) and a marker call __B(n) is put at its start
// (after any directive; inside the `return` when the body starts with one,
// so Espruino's "body starts with return" path stays the same); __B prints
// "@@B n" the first time body n runs.  The instrumented program is what is
// minified and run, and the check counts the bodies reached.  A program of
// espruino/ must run without an uncaught error and reach every body, before
// and after.  A corpus program that stops on Espruino (it uses syntax or
// built-ins Espruino lacks) is still compared, up to where it stops (error
// positions and, with mangling, quoted names in the error line are masked),
// and its bodies are reported but not required.
//
// Interpreter: $ESPRUINO (the directory holding `espruino`, or the binary),
// else ../shared/espruino/bin/espruino from the repository top, else one
// "skipped" line.  Prints a line per program and mode, the number of programs
// and bodies checked, then "espruino-diff: N passed, N failed[, N skipped]".
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, statSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve, basename } from 'node:path';
import { ROOT, NODE_MODULES, minifierCommand, runMinifier } from './lib.mjs';
import { findEspruino } from './espruino-find.mjs';

const SUITE = 'espruino-diff';

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
if (!existsSync(join(NODE_MODULES, 'acorn'))) {
  console.log(`${SUITE}: tests/js/node_modules is missing: run scripts/deps.sh test (npm ci in tests/js)`);
  console.log(`${SUITE}: 0 passed, 1 failed`);
  process.exit(1);
}
const acorn = await import(join(NODE_MODULES, 'acorn/dist/acorn.mjs'));
const walk = (node, fn) => {
  if (!node || typeof node.type !== 'string') return;
  fn(node);
  for (const k of Object.keys(node)) {
    const v = node[k];
    if (Array.isArray(v)) v.forEach((c) => walk(c, fn));
    else if (v && typeof v.type === 'string') walk(v, fn);
  }
};

const PRELUDE = 'function __B(i){if(!__B["b"+i]){__B["b"+i]=1;print("@@B "+i)}}';

// Returns {text, bodies}: the program with a marker at the start of every
// function body.
export function instrument(src) {
  const ast = acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'script' });
  const ins = [];   // [pos, text]
  let n = 0;
  walk(ast, (node) => {
    if (!/Function/.test(node.type)) return;
    if (node.type === 'FunctionDeclaration' && node.id && node.id.name === '__B') return;
    const id = ++n;
    const b = node.body;
    if (b.type !== 'BlockStatement') {           // arrow with an expression body
      ins.push([b.start, `(__B(${id}),`], [b.end, ')']);
      return;
    }
    let k = 0;
    while (k < b.body.length && b.body[k].directive !== undefined) k++;
    const first = b.body[k];
    if (k === 0 && first && first.type === 'ReturnStatement') {
      if (first.argument) ins.push([first.argument.start, `__B(${id}),`]);
      else ins.push([first.start + 6, ` __B(${id})`]);
    } else if (k > 0) {
      ins.push([b.body[k - 1].end, `;__B(${id});`]);
    } else {
      ins.push([b.start + 1, `__B(${id});`]);
    }
  });
  // the prelude goes after the program's own directives
  let k = 0;
  while (k < ast.body.length && ast.body[k].directive !== undefined) k++;
  ins.push([k ? ast.body[k - 1].end : 0, (k ? ';' : '') + PRELUDE + '\n']);
  ins.sort((a, b) => a[0] - b[0]);
  let out = '', at = 0;
  for (const [pos, t] of ins) { out += src.slice(at, pos) + t; at = pos; }
  return { text: out + src.slice(at), bodies: n };
}

// Run a file on Espruino in its own directory; the program's output lines
// (banner, prompt and escape sequences removed).
function runEspruino(file, dir) {
  const r = spawnSync(esp, [file], { cwd: dir, encoding: 'latin1', timeout: 20000,
                                     stdio: ['ignore', 'pipe', 'pipe'] });
  let out = (r.stdout || '') + (r.stderr || '');
  out = out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
  const lines = out.split('\n');
  const i = lines.findIndex((l) => /^http:\/\/espruino\.com\/Donate/.test(l));
  // output that comes after the console prompt (timers) starts with '>'
  let body = (i >= 0 ? lines.slice(i + 1) : lines).map((l) => l.replace(/^>/, ''));
  while (body.length && /^\s*>?\s*$/.test(body[body.length - 1])) body.pop();
  while (body.length && body[0] === '') body.shift();
  return { lines: body, status: r.status, signal: r.signal, timedOut: !!(r.error && r.error.code === 'ETIMEDOUT') };
}

// Error traces carry positions and the source line: mask them.
function normalize(lines, maskNames) {
  const out = [];
  for (const l of lines) {
    if (/^\s+at .*:\d+:\d+\)?\s*$/.test(l) || /^\s+at line \d+ col \d+/.test(l)) continue;
    // an interpreter assertion dumps its memory (variable numbers, stored code): stop there
    if (/^ASSERT\(/.test(l)) { out.push(l); break; }
    if (/^\s*\^\s*$/.test(l) || /^\s*$/.test(l)) continue;
    out.push(maskNames && /^Uncaught /.test(l) ? l.replace(/"[A-Za-z_$][\w$]*"/g, '"<name>"') : l);
  }
  return out;
}
const uncaught = (lines) => lines.find((l) => /^Uncaught |^ASSERT\(/.test(l));

// Corpus programs whose original meaning on Espruino differs from ECMAScript's
// in a way the minifier must not copy: they run and are shown, not counted.
const ESPRUINO_DIFFERS = {
  '16-strings-numbers.js': 'HTML-like comments (<!-- and --> at line start, ECMA-262 Annex B): Espruino\'s lexer has none, so the original throws there; the minifier removes them as ECMAScript says (the gate warns about them)',
};
const reached = (lines) => new Set(lines.filter((l) => /^@@B \d+$/.test(l)));

const cmd = minifierCommand(SUITE);
const progDir = join(ROOT, 'tests/minify/programs');
const espDir = join(progDir, 'espruino');
const progs = [
  ...readdirSync(progDir).filter((f) => f.endsWith('.js')).sort().map((f) => ({ name: f, path: join(progDir, f), own: false })),
  ...readdirSync(espDir).filter((f) => f.endsWith('.js')).sort().map((f) => ({ name: 'espruino/' + f, path: join(espDir, f), own: true })),
];
const dir = mkdtempSync(join(tmpdir(), 'ota-espdiff-'));
let passed = 0, failed = 0, nprog = 0, nbodies = 0, nstopped = 0;
const fail = (what, why) => { failed++; console.log(`FAIL ${what}: ${why}`); };

function firstDiff(a, b) {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `line ${i + 1}: expected ${JSON.stringify(a[i])}, got ${JSON.stringify(b[i])}`;
}

// The release key (for bundles): made once per run.
let keyPath = null;
function releaseKey() {
  if (keyPath) return keyPath;
  const base = join(dir, 'rel');
  const r = spawnSync(cmd[0], [...cmd.slice(1), 'keygen', '--out', base], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`otasign keygen failed: ${r.stderr}`);
  return (keyPath = base + '.key');
}

try {
  for (const p of progs) {
    const src = readFileSync(p.path, 'utf8');
    const work = join(dir, p.name.replace(/\//g, '_').replace(/\.js$/, ''));
    mkdirSync(work);
    let inst;
    try { inst = instrument(src); } catch (e) { fail(p.name, `acorn cannot parse it: ${e.message}`); continue; }
    if (ESPRUINO_DIFFERS[p.name]) {
      const orig = join(work, 'plain.js');
      writeFileSync(orig, src);
      const want = runEspruino(orig, work);
      const r = runMinifier(cmd, orig, join(work, 'o.js'), false, 20000);
      const got = r.ok ? normalize(runEspruino(join(work, 'o.js'), work).lines, false) : [];
      const same = r.ok && normalize(want.lines, false).join('\n') === got.join('\n');
      console.log(`${same ? 'XPASS' : 'XDIFF'} ${p.name}: not counted: ${ESPRUINO_DIFFERS[p.name]}`);
      continue;
    }
    const variants = [['plain', src], ['instrumented', inst.text]];
    let progOk = true, stopped = null, bodiesReached = 0;
    for (const [vname, text] of variants) {
      const orig = join(work, `${vname}.js`);
      writeFileSync(orig, text);
      const want = runEspruino(orig, work);
      if (want.timedOut) { fail(`${p.name} ${vname}`, 'the original timed out on Espruino'); progOk = false; continue; }
      const err = uncaught(want.lines);
      if (vname === 'instrumented') {
        bodiesReached = reached(want.lines).size;
        if (err) stopped = err;
        if (p.own && err) { fail(`${p.name}`, `the original stops on Espruino: ${err}`); progOk = false; }
        if (p.own && !err && bodiesReached !== inst.bodies) {
          const r = reached(want.lines);
          const miss = [];
          for (let i = 1; i <= inst.bodies; i++) if (!r.has(`@@B ${i}`)) miss.push(i);
          fail(`${p.name}`, `${inst.bodies - bodiesReached} of ${inst.bodies} function bodies never run (marker numbers ${miss.slice(0, 10).join(', ')}): call them`);
          progOk = false;
        }
      }
      const targets = [['ws', false], ['mangle', true]];
      for (const [mode, mangle] of targets) {
        const out = join(work, `${vname}.${mode}.js`);
        const r = runMinifier(cmd, orig, out, mangle, 20000);
        if (!r.ok) { fail(`${p.name} ${vname} ${mode}`, `minifier status ${r.status}: ${r.stderr.trim().split('\n')[0]}`); progOk = false; continue; }
        const got = runEspruino(out, work);
        const a = normalize(want.lines, mangle && !p.own), b = normalize(got.lines, mangle && !p.own);
        if (got.timedOut) { fail(`${p.name} ${vname} ${mode}`, 'timed out on Espruino'); progOk = false; continue; }
        if (a.join('\n') !== b.join('\n')) { fail(`${p.name} ${vname} ${mode}`, `output differs at ${firstDiff(a, b)}`); progOk = false; continue; }
        passed++;
      }
      if (p.own) {
        // the release bundle (gate on, target 2v29), both modes
        for (const [mode, extra] of [['release', []], ['release-no-mangle', ['--no-mangle']]]) {
          const outDir = join(work, `${vname}-${mode}`);
          mkdirSync(outDir);
          const r = spawnSync(cmd[0], [...cmd.slice(1), 'release', orig, '--key', releaseKey(), '--app', 'diff', '--seq', '1',
                                       '--target', '2v29', '--out', outDir, ...extra], { encoding: 'utf8' });
          if (r.status !== 0) { fail(`${p.name} ${vname} ${mode}`, `otasign release status ${r.status}: ${(r.stderr || '').trim().split('\n')[0]}`); progOk = false; continue; }
          // program.js: the program as installed (bundle.js is the bytes as
          // sent, heatshrink blocks when that encoding is smaller)
          const bundle = join(outDir, 'diff-1', 'program.js');
          if (!existsSync(bundle)) { fail(`${p.name} ${vname} ${mode}`, 'no program.js'); progOk = false; continue; }
          const got = runEspruino(bundle, work);
          const a = normalize(want.lines, false), b = normalize(got.lines, false);
          if (a.join('\n') !== b.join('\n')) { fail(`${p.name} ${vname} ${mode}`, `bundle output differs at ${firstDiff(a, b)}`); progOk = false; continue; }
          passed++;
        }
      }
    }
    if (!progOk) continue;
    if (stopped && !p.own) {
      nstopped++;
      console.log(`ok   ${p.name}: same output up to where Espruino stops (${stopped}); ${bodiesReached} of ${inst.bodies} bodies reached, not counted`);
    } else {
      nprog++;
      nbodies += inst.bodies;
      if (!p.own && bodiesReached !== inst.bodies)
        fail(p.name, `runs on Espruino but ${inst.bodies - bodiesReached} of ${inst.bodies} function bodies never run: call them`);
      else console.log(`ok   ${p.name}: ${inst.bodies} function bodies, all reached, same output in every mode`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${SUITE}: ${nprog} programs run to the end on Espruino (${esp}) with all ${nbodies} function bodies reached, before and after minifying; ${nstopped} corpus programs compared up to where Espruino stops`);
console.log(`${SUITE}: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;

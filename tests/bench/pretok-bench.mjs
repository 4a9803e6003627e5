// pretok-bench.mjs: pretokenised bytes (`otasign minify --pretokenise`, issue 15)
// against EspruinoTools' own pretokeniser (npm package `espruino`,
// plugins/pretokenise.js, run in-process in this run) applied to terser's
// default output (compress + mangle): the peer.  Beside them, the previous
// design: otasign's mangled text, and EspruinoTools' pretokeniser applied to it
// (the only way to pretokenise before --pretokenise).  Sums over the files
// every tool takes:
//   1. the project's corpus (tests/minify/corpus.txt) and tests/minify/programs;
//   2. real Espruino code under $OTA_ESPRUINO_CODE (e.g. a BangleApps checkout),
//      skipped without it;
//   3. the demo logger (examples/logger.js) and the largest corpus file: the
//      program as installed plain, heatshrink (FORMAT.md 2a, blocks of 2048),
//      pretokenised, and pretokenised + heatshrink, from `otasign release`.
// EspruinoTools' pretokeniser is fed the file as bytes (latin1), as it runs
// for 2v29 (strings and integers raw: VERSION >= 2v25.396).  Figures only,
// never pass/fail.
import { readFileSync, readdirSync, statSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve, relative } from 'node:path';
import { ROOT, NODE_MODULES } from '../minify/lib.mjs';

const NAME = 'bench-pretok';
const plugin = join(NODE_MODULES, 'espruino/plugins/pretokenise.js');
if (!existsSync(join(NODE_MODULES, 'terser')) || !existsSync(plugin)) {
  console.log(`${NAME}: skipped: tests/js/node_modules (terser, espruino) is missing (npm ci in tests/js)`);
  process.exit(0);
}
const require = createRequire(join(ROOT, 'tests/js/package.json'));
const terser = require('terser');
const otasign = resolve(ROOT, process.env.OTA_BIN || 'build/bin', 'otasign');

// EspruinoTools' plugin expects the globals of the Web IDE: give it acorn and
// a board reporting 2v29.
globalThis.acorn = require('acorn');
globalThis.Espruino = {
  Plugins: {}, Core: { Config: { add() {} }, Env: { getBoardData: () => ({ VERSION: '2v29' }) },
    Utils: { atob: (s) => Buffer.from(s, 'base64').toString('latin1') } },
  Config: { PRETOKENISE: 1, SAVE_ON_SEND: 1 }, addProcessor() {},
};
(0, eval)(readFileSync(plugin, 'utf8'));
const etTokenise = (bytes) => Espruino.Plugins.Pretokenise.tokenise(bytes.toString('latin1'));
const etBytes = (s) => { let n = 0; for (let i = 0; i < s.length; i++) n += s.charCodeAt(i) < 256 ? 1 : Buffer.byteLength(s[i]); return n; };

function otaMin(file, pretok) {
  const r = spawnSync(otasign, ['minify', file, '-o', '-', ...(pretok ? ['--pretokenise'] : [])], { maxBuffer: 1 << 28 });
  return r.status === 0 ? r.stdout : null;
}

async function measure(label, files, base) {
  const s = { files: 0, in: 0, ota: 0, otaEt: 0, otaPt: 0, ter: 0, terEt: 0, ffEt: 0, ffPt: 0 };
  const refused = [];
  for (const f of files) {
    const src = readFileSync(f);
    const ota = otaMin(f, false), otaPt = otaMin(f, true);
    let ter, otaEt, terEt;
    try {
      ter = Buffer.from((await terser.minify(src.toString('utf8'))).code, 'utf8');
      const e1 = etTokenise(ota), e2 = etTokenise(ter);
      otaEt = etBytes(e1);
      terEt = etBytes(e2);
      if (e2.includes('\xff')) s.ffEt++;
    } catch (e) { refused.push(relative(base, f)); continue; }
    if (!ota || !otaPt) { refused.push(relative(base, f)); continue; }
    if (otaPt.includes(0xff)) s.ffPt++;
    s.files++; s.in += src.length;
    s.ota += ota.length; s.otaPt += otaPt.length; s.otaEt += otaEt;
    s.ter += ter.length; s.terEt += terEt;
  }
  const r = (a) => (a / s.terEt).toFixed(4) + 'x';
  console.log(`== pretokenised bytes: ${label}: ${s.files} of ${files.length} files, ${s.in} bytes (each file on its own)`);
  console.log('| output | bytes | vs peer |');
  console.log('|---|---:|---:|');
  console.log(`| previous design: otasign minify (mangled text) | ${s.ota} | ${r(s.ota)} |`);
  console.log(`| previous design: EspruinoTools pretokeniser on otasign's mangled text | ${s.otaEt} | ${r(s.otaEt)} |`);
  console.log(`| **otasign minify --pretokenise** | **${s.otaPt}** | **${r(s.otaPt)}** |`);
  console.log(`| terser default (compress + mangle), text | ${s.ter} | ${r(s.ter)} |`);
  console.log(`| peer: EspruinoTools pretokeniser on terser's default output | ${s.terEt} | 1.0000x |`);
  console.log(`files holding a 0xFF byte (the agent resumes a download at the first 0xFF, so it cannot resume into one): ` +
    `peer ${s.ffEt}, otasign --pretokenise ${s.ffPt} (it never writes one: FORMAT.md 2c)`);
  {
    // the `make bench` summary
    const srow = createRequire(import.meta.url)('./summary-row.js');
    const sec = `pretokenised bytes: ${label} (${s.files} files)`;
    srow(sec, 'otasign --pretokenise', "EspruinoTools' pretokeniser on terser's default", s.terEt, s.otaPt);
    srow(sec, 'otasign --pretokenise', "previous: EspruinoTools' on otasign's text", s.otaEt, s.otaPt);
  }
  console.log(`not counted (a tool refused it): ${refused.length}${refused.length ? ': ' + refused.slice(0, 5).join(', ') : ''}`);
  console.log('');
}

const corpusDir = NODE_MODULES;
const corpus = readFileSync(join(ROOT, 'tests/minify/corpus.txt'), 'utf8').split('\n').map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#')).map((l) => join(corpusDir, l)).filter((f) => existsSync(f));
const progDir = join(ROOT, 'tests/minify/programs');
const progs = [...readdirSync(progDir).filter((f) => f.endsWith('.js')).map((f) => join(progDir, f)),
  ...readdirSync(join(progDir, 'espruino')).filter((f) => f.endsWith('.js')).map((f) => join(progDir, 'espruino', f))];
await measure('the project corpus (corpus.txt) and tests/minify/programs', [...corpus, ...progs], ROOT);

const real = process.env.OTA_ESPRUINO_CODE;
if (real && existsSync(real)) {
  const files = [];
  (function walk(d) {
    for (const f of readdirSync(d).sort()) {
      if (f === 'node_modules' || f.startsWith('.')) continue;
      const p = join(d, f), st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (f.endsWith('.js') && st.size > 0) files.push(p);
    }
  })(real);
  await measure(`real Espruino code under ${real}`, files, real);
} else {
  console.log(`${NAME}: real Espruino code: skipped: set OTA_ESPRUINO_CODE to a directory of it (e.g. a BangleApps checkout)`);
  console.log('');
}

// 3. bundle bytes per form: the program as otasign minify writes it, and its
// heatshrink blocks as otasign release writes them (hsztool: the same encoder)
const T = mkdtempSync(join(tmpdir(), 'ota-pretok-bench-'));
const hsz = resolve(ROOT, process.env.OTA_BIN || 'build/bin', 'hsztool');
try {
  const largest = corpus.reduce((a, f) => (!a || statSync(f).size > statSync(a).size ? f : a), null);
  const inputs = [join(ROOT, 'examples/logger.js'), ...(largest ? [largest] : [])];
  console.log('== bundle bytes per form (ratio to the plain program = encoding 0, the previous design)');
  console.log('| program | plain | heatshrink | pretokenised | pretokenised + heatshrink |');
  console.log('|---|---:|---:|---:|---:|');
  const hs = (buf) => {
    if (!existsSync(hsz)) return null;
    writeFileSync(join(T, 'p'), buf);
    const r = spawnSync(hsz, ['encode', '11', join(T, 'p'), join(T, 'p.hsz')]);
    return r.status === 0 ? statSync(join(T, 'p.hsz')).size : null;
  };
  for (const f of inputs) {
    const p = otaMin(f, false), pt = otaMin(f, true);
    const name = f.startsWith(corpusDir) ? 'corpus: ' + relative(corpusDir, f) : relative(ROOT, f);
    if (!p || !pt) { console.log(`| ${name} | refused by otasign minify | | | |`); continue; }
    const c = (v) => (v === null ? '- (no hsztool)' : `${v} (${(v / p.length).toFixed(3)})`);
    console.log(`| ${name} | ${p.length} | ${c(hs(p))} | ${c(pt.length)} | ${c(hs(pt))} |`);
  }
  console.log('(heatshrink: blocks of 2048, FORMAT.md 2a, as otasign release writes them; pretokenised: FORMAT.md 2c)');
} finally {
  rmSync(T, { recursive: true, force: true });
}
console.log('Target (issue 15): otasign --pretokenise smaller than the peer.  Figures only.');

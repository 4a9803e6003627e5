// minify-bench.mjs: output size and speed of `otasign minify` on the corpus,
// side by side with terser and esbuild measured in the same run.
//
// The corpus (tests/minify/corpus.txt, about 6 MB from 16 npm files) is
// concatenated into ONE script (files joined with "\n;\n") and each tool
// minifies that file: read it from disk, minify, write the output to disk.
//   otasign   build/bin/otasign minify IN -o - [--no-mangle] with stdout
//             opened on OUT (one process; written as the peers write it), and
//             the same with -o OUT (temp file, fsync, rename: otasign's safe
//             write, which the peers do not do) in rows of its own
//   esbuild   the native binary from @esbuild/linux-x64, GOMAXPROCS=1
//             (single-threaded), --minify-whitespace [--minify-identifiers]
//   terser    in-process API (node start-up not counted): compress:false,
//             mangle:false|true, format.comments:false; readFile + writeFile timed
// MB/s = input bytes / wall time (10^6 bytes), median of RUNS runs
// (env BENCH_RUNS, default 7; terser 3).  Figures only: never pass/fail.
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync, statSync, accessSync, constants, openSync, closeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, NODE_MODULES } from '../minify/lib.mjs';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS) || 7);
const TERSER_RUNS = Math.min(RUNS, 3);
if (!existsSync(join(NODE_MODULES, 'terser'))) {
  console.log('bench-minify: tests/js/node_modules is missing: run scripts/deps.sh bench (npm ci in tests/js)');
  process.exit(0);
}
const require = createRequire(join(ROOT, 'tests/js/package.json'));
const terser = require('terser');
const esbuildBin = join(NODE_MODULES, '@esbuild/linux-x64/bin/esbuild');
const otasign = resolve(ROOT, process.env.OTA_BIN || 'build/bin', 'otasign');

const files = readFileSync(join(ROOT, 'tests/minify/corpus.txt'), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const dir = mkdtempSync(join(tmpdir(), 'ota-bench-'));
const input = join(dir, 'corpus.js');
writeFileSync(input, files.map((f) => readFileSync(join(NODE_MODULES, f), 'utf8')).join('\n;\n'));
const inBytes = statSync(input).size;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

// stdoutFile: open `out` and give it to the process as its stdout.
function timeCli(argv, out, env, stdoutFile) {
  const times = [];
  let err = null;
  for (let i = 0; i < RUNS && !err; i++) {
    rmSync(out, { force: true });
    const fd = stdoutFile ? openSync(out, 'w') : null;
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20,
      stdio: ['ignore', stdoutFile ? fd : 'pipe', 'pipe'] });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (fd !== null) closeSync(fd);
    if (r.status !== 0 || !existsSync(out)) err = `exit ${r.status}: ${(r.stderr || String(r.error || '')).trim().split('\n')[0]}`;
    times.push(dt);
  }
  if (err) return { err };
  return { bytes: statSync(out).size, seconds: median(times) };
}

async function timeTerser(mangle, out) {
  const times = [];
  for (let i = 0; i < TERSER_RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const src = readFileSync(input, 'utf8');
    const r = await terser.minify(src, { compress: false, mangle, format: { comments: false } });
    writeFileSync(out, r.code);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { bytes: statSync(out).size, seconds: median(times) };
}

function otasignRun(mangle, safe) {
  try { accessSync(otasign, constants.X_OK); } catch { return { err: `${otasign} not built` }; }
  const out = join(dir, `otasign-${mangle ? 'mangle' : 'ws'}${safe ? '-safe' : ''}.js`);
  const base = [otasign, 'minify', input, '-o', safe ? out : '-', ...(mangle ? [] : ['--no-mangle'])];
  return timeCli(base, out, {}, !safe);
}

const results = {};
results.otasignWs = otasignRun(false, false);
results.otasignMangle = otasignRun(true, false);
results.otasignWsSafe = otasignRun(false, true);
results.otasignMangleSafe = otasignRun(true, true);
results.esbuildWs = existsSync(esbuildBin)
  ? timeCli([esbuildBin, input, '--minify-whitespace', '--log-level=error', `--outfile=${join(dir, 'esb-ws.js')}`], join(dir, 'esb-ws.js'), { GOMAXPROCS: '1' })
  : { err: 'esbuild binary missing' };
results.esbuildMangle = existsSync(esbuildBin)
  ? timeCli([esbuildBin, input, '--minify-whitespace', '--minify-identifiers', '--log-level=error', `--outfile=${join(dir, 'esb-id.js')}`], join(dir, 'esb-id.js'), { GOMAXPROCS: '1' })
  : { err: 'esbuild binary missing' };
results.terserWs = await timeTerser(false, join(dir, 'terser-ws.js'));
results.terserMangle = await timeTerser(true, join(dir, 'terser-mangle.js'));
rmSync(dir, { recursive: true, force: true });

const rows = [
  ['otasign --no-mangle', 'otasignWs', 'terserWs', 'esbuildWs'],
  ['otasign (mangle)', 'otasignMangle', 'terserMangle', 'esbuildMangle'],
  ['otasign --no-mangle -o FILE (fsync)', 'otasignWsSafe', 'terserWs', 'esbuildWs'],
  ['otasign (mangle) -o FILE (fsync)', 'otasignMangleSafe', 'terserMangle', 'esbuildMangle'],
  ['terser whitespace-only', 'terserWs', 'terserWs', 'esbuildWs'],
  ['terser mangle-only', 'terserMangle', 'terserMangle', 'esbuildMangle'],
  ['esbuild --minify-whitespace', 'esbuildWs', 'terserWs', 'esbuildWs'],
  ['esbuild + --minify-identifiers', 'esbuildMangle', 'terserMangle', 'esbuildMangle'],
];
const mbs = (r) => inBytes / 1e6 / r.seconds;
console.log(`minify benchmark: corpus of ${files.length} files concatenated into one script, ${inBytes} bytes; ` +
            `median of ${RUNS} runs (terser ${TERSER_RUNS}); file I/O included; single-threaded`);
console.log('');
console.log('| tool | output bytes | size vs terser peer | MB/s | speed vs esbuild peer |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, key, sizePeer, speedPeer] of rows) {
  const r = results[key];
  if (r.err) { console.log(`| ${name} | (${r.err}) | | | |`); continue; }
  const sp = results[sizePeer], ep = results[speedPeer];
  const sizeRatio = sp.err ? '-' : (r.bytes / sp.bytes).toFixed(4) + 'x';
  const speedRatio = ep.err ? '-' : (mbs(r) / mbs(ep)).toFixed(2) + 'x';
  console.log(`| ${name} | ${r.bytes} | ${sizeRatio} | ${mbs(r).toFixed(1)} | ${speedRatio} |`);
}
console.log('');
{
  // the `make bench` summary
  const srow = createRequire(import.meta.url)('./summary-row.js');
  const sec = `minified bytes and speed: the project corpus (${inBytes} bytes)`;
  const pair = (fig, a, peerName, b, f) => { const x = results[a], y = results[b]; if (!x.err && !y.err) srow(sec, fig, peerName, f(y), f(x)); };
  pair('otasign (mangled) bytes', 'otasignMangle', 'terser mangle-only', 'terserMangle', (r) => r.bytes);
  pair('otasign --no-mangle bytes', 'otasignWs', 'terser whitespace-only', 'terserWs', (r) => r.bytes);
  pair('otasign (mangled) MB/s, process start included', 'otasignMangle', 'esbuild --minify-identifiers', 'esbuildMangle', (r) => mbs(r).toFixed(1));
  pair('otasign --no-mangle MB/s', 'otasignWs', 'esbuild --minify-whitespace', 'esbuildWs', (r) => mbs(r).toFixed(1));
}
console.log('Peers: whitespace rows compare with terser whitespace-only and esbuild --minify-whitespace;');
console.log('mangle rows with terser mangle-only and esbuild --minify-whitespace --minify-identifiers.');
console.log('The first two rows write as the peers do (otasign -o - into the file); the "-o FILE" rows add');
console.log('otasign\'s safe write (temporary file, fsync, rename), which no peer does.');
console.log('Targets (issues 4, 15): otasign --no-mangle <= 1.005x terser whitespace-only, otasign <= 1.01x');
console.log('terser mangle-only, >= 60 MB/s including process start.  Figures only.');

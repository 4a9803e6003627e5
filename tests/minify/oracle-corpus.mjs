// oracle-corpus.mjs: minify every corpus file (corpus.txt, installed by npm in
// tests/js/node_modules) with and without mangling, and check each output with
// the oracle (tests/js/oracle.mjs).  Zero mismatches expected.
// Prints a status line per file and mode, then "minify-oracle: N passed, N failed".
// Environment: OTA_MINIFIER (see lib.mjs); ORACLE_FILES=a.js,b.js limits the run
// to corpus entries containing one of these strings.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { ROOT, NODE_MODULES, loadOracle, minifierCommand, runMinifier, summary, isUtf8 } from './lib.mjs';

const SUITE = 'minify-oracle';
const oracle = await loadOracle(SUITE);
const cmd = minifierCommand(SUITE);
let files = readFileSync(join(ROOT, 'tests/minify/corpus.txt'), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
if (process.env.ORACLE_FILES) {
  const want = process.env.ORACLE_FILES.split(',');
  files = files.filter((f) => want.some((w) => f.includes(w)));
}
const dir = mkdtempSync(join(tmpdir(), 'ota-oracle-'));
let passed = 0, failed = 0, inBytes = 0;
const outBytes = { ws: 0, mangle: 0 };
const t0 = Date.now();
try {
  for (const f of files) {
    const path = join(NODE_MODULES, f);
    if (!existsSync(path)) {
      console.log(`FAIL ${f}: corpus file missing (npm ci in tests/js?)`);
      failed += 2;
      continue;
    }
    const srcBuf = readFileSync(path);
    const src = srcBuf.toString('utf8');
    inBytes += srcBuf.length;
    for (const mangle of [false, true]) {
      const mode = mangle ? 'mangle' : 'ws';
      const out = join(dir, `${basename(f)}.${mode}.js`);
      const r = runMinifier(cmd, path, out, mangle);
      if (!r.ok || !existsSync(out)) {
        failed++;
        console.log(`FAIL ${mode.padEnd(6)} ${f}: minifier status ${r.status}${r.signal ? ' signal ' + r.signal : ''}: ` +
                    r.stderr.trim().split('\n').slice(0, 3).join(' | '));
        continue;
      }
      const outBuf = readFileSync(out);
      let probs;
      if (!isUtf8(outBuf)) probs = ['output is not valid UTF-8'];
      else probs = oracle.compare(src, outBuf.toString('utf8'), { mangle });
      outBytes[mode] += outBuf.length;
      const sizes = `${srcBuf.length} -> ${outBuf.length} bytes, ${r.seconds.toFixed(3)} s`;
      if (probs.length === 0) { passed++; console.log(`ok   ${mode.padEnd(6)} ${f} (${sizes})`); }
      else {
        failed++;
        console.log(`FAIL ${mode.padEnd(6)} ${f} (${sizes})`);
        for (const p of probs) console.log(`       ${p}`);
      }
      rmSync(out, { force: true });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`corpus: ${files.length} files, ${inBytes} bytes; output ${outBytes.ws} bytes (whitespace), ` +
            `${outBytes.mangle} bytes (mangle); ${((Date.now() - t0) / 1000).toFixed(1)} s`);
summary(SUITE, passed, failed);

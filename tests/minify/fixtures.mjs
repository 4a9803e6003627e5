// fixtures.mjs: the 63 cases of minify-cases.md (cases.json) must minify to
// exactly their expected output, with --no-mangle and with mangling on (the
// cases are top-level code, where nothing is renamed).
// Prints a line per failure and "minify-fixtures: N passed, N failed".
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, loadOracle, minifierCommand, runMinifier, summary } from './lib.mjs';

const SUITE = 'minify-fixtures';
const oracle = await loadOracle(SUITE);
const cmd = minifierCommand(SUITE);
const cases = JSON.parse(readFileSync(join(ROOT, 'tests/minify/cases.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'ota-fixtures-'));
let passed = 0, failed = 0;
try {
  for (const c of cases) {
    const inPath = join(dir, `case${c.number}.js`);
    writeFileSync(inPath, c.input);
    for (const mangle of [false, true]) {
      const mode = mangle ? 'mangle' : 'no-mangle';
      const outPath = join(dir, `case${c.number}.${mode}.out.js`);
      rmSync(outPath, { force: true });
      const r = runMinifier(cmd, inPath, outPath, mangle, 20000);
      let got = null;
      if (r.ok) { try { got = readFileSync(outPath, 'utf8'); } catch { got = null; } }
      if (got === c.expected) { passed++; continue; }
      failed++;
      console.log(`FAIL case ${c.number} (${c.kind}, ${mode}): input ${JSON.stringify(c.input)}`);
      console.log(`     expected ${JSON.stringify(c.expected)}`);
      if (got === null) {
        console.log(`     minifier failed: status ${r.status}${r.signal ? ' signal ' + r.signal : ''}: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
      } else {
        console.log(`     got      ${JSON.stringify(got)}`);
        const probs = oracle.compare(c.input, got, { mangle, allowReturn: true });
        console.log(`     oracle: ${probs.length ? probs[0] : 'output is equivalent, but not the expected one'}`);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
summary(SUITE, passed, failed);

// programs.mjs: every tests/minify/programs/*.js is a script printing
// deterministic output.  Each is minified with and without mangling; the
// minified program must print exactly what the original prints under node
// (same exit status too), and the oracle must accept the output.
// A program whose first line is "// known-open: REASON" (or
// "// known-open(mangle): ..." / "(ws)" for one mode) shows a defect not fixed
// yet: it runs every time (XFAIL, or XPASS once it passes: then drop the
// marker) but is not counted in that mode.
// Prints a line per program and mode, then "minify-programs: N passed, N failed".
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, loadOracle, minifierCommand, runMinifier, summary } from './lib.mjs';

const SUITE = 'minify-programs';
const oracle = await loadOracle(SUITE);
const cmd = minifierCommand(SUITE);
const progDir = join(ROOT, 'tests/minify/programs');
const progs = readdirSync(progDir).filter((f) => f.endsWith('.js')).sort();
const dir = mkdtempSync(join(tmpdir(), 'ota-programs-'));

function runNode(file) {
  const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 20000 });
  return { out: r.stdout + (r.stderr ? '\n[stderr]\n' + r.stderr.replace(new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/[^:\n]*', 'g'), 'FILE') : ''),
           status: r.status, signal: r.signal };
}

let passed = 0, failed = 0;
try {
  for (const p of progs) {
    const src = join(progDir, p);
    const openMark = /^\/\/ known-open(?:\((ws|mangle)\))?: (.*)/.exec(readFileSync(src, 'utf8'));
    const want = runNode(src);
    for (const mangle of [false, true]) {
      const mode = mangle ? 'mangle' : 'ws';
      const out = join(dir, `${mode}-${p}`);
      const r = runMinifier(cmd, src, out, mangle, 20000);
      if (!r.ok || !existsSync(out)) {
        failed++;
        console.log(`FAIL ${mode.padEnd(6)} ${p}: minifier status ${r.status}: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
        continue;
      }
      const text = readFileSync(out, 'utf8');
      const probs = oracle.compare(readFileSync(src, 'utf8'), text, { mangle });
      const got = runNode(out);
      const sameRun = got.out === want.out && got.status === want.status && got.signal === want.signal;
      const open = openMark && (!openMark[1] || openMark[1] === mode) ? openMark[2] : null;
      if (open) {
        console.log(sameRun && probs.length === 0
          ? `XPASS ${mode.padEnd(6)} ${p}: passes now, drop its known-open line`
          : `XFAIL ${mode.padEnd(6)} ${p}: known open: ${open}`);
        for (const pr of probs.slice(0, 1)) console.log(`       oracle: ${pr}`);
        continue;
      }
      if (sameRun && probs.length === 0) { passed++; console.log(`ok   ${mode.padEnd(6)} ${p}`); continue; }
      failed++;
      console.log(`FAIL ${mode.padEnd(6)} ${p}`);
      if (!sameRun) {
        const a = want.out.split('\n'), b = got.out.split('\n');
        let i = 0;
        while (i < a.length && a[i] === b[i]) i++;
        console.log(`       output differs at line ${i + 1}: expected ${JSON.stringify(a[i])}, got ${JSON.stringify(b[i])}` +
                    ` (exit ${want.status} vs ${got.status})`);
      }
      for (const pr of probs) console.log(`       oracle: ${pr}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
summary(SUITE, passed, failed);

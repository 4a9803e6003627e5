// minify-real.mjs: otasign minify against terser on real Espruino code kept
// outside the project (e.g. a checkout of the public espruino/BangleApps
// repository: its apps/ and modules/): every *.js file under the directory
// named by $OTA_ESPRUINO_CODE is minified on its own by `otasign minify`
// (mangling, and --no-mangle) and by terser in-process (compress:false,
// mangle:true / mangle:false, comments dropped), and the output bytes are
// summed over the files both tools take.  Without the variable it prints one
// "skipped" line.  Figures only, never pass/fail.
//   OTA_ESPRUINO_CODE=/path/to/BangleApps node tests/bench/minify-real.mjs
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve, relative } from 'node:path';
import { ROOT, NODE_MODULES } from '../minify/lib.mjs';

const dir = process.env.OTA_ESPRUINO_CODE;
if (!dir || !existsSync(dir)) {
  console.log('bench-minify-real: skipped: set OTA_ESPRUINO_CODE to a directory of real Espruino code ' +
    '(e.g. a checkout of the public espruino/BangleApps repository)');
  process.exit(0);
}
if (!existsSync(join(NODE_MODULES, 'terser'))) {
  console.log('bench-minify-real: skipped: tests/js/node_modules is missing (npm ci in tests/js)');
  process.exit(0);
}
const require = createRequire(join(ROOT, 'tests/js/package.json'));
const terser = require('terser');
const otasign = resolve(ROOT, process.env.OTA_BIN || 'build/bin', 'otasign');

const files = [];
(function walk(d) {
  for (const f of readdirSync(d).sort()) {
    if (f === 'node_modules' || f.startsWith('.')) continue;
    const p = join(d, f);
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (f.endsWith('.js') && st.size > 0) files.push(p);
  }
})(dir);

const sum = { in: 0, files: 0, ws: 0, mangle: 0, tws: 0, tmangle: 0 };
const refused = { otasign: [], terser: [] };
const worst = [];
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  let tws, tm;
  try {
    tws = (await terser.minify(src, { compress: false, mangle: false, format: { comments: false } })).code;
    tm = (await terser.minify(src, { compress: false, mangle: true, format: { comments: false } })).code;
  } catch (e) { refused.terser.push(relative(dir, f)); continue; }
  const ws = spawnSync(otasign, ['minify', f, '-o', '-', '--no-mangle'], { maxBuffer: 1 << 26 });
  const m = spawnSync(otasign, ['minify', f, '-o', '-'], { maxBuffer: 1 << 26 });
  if (ws.status !== 0 || m.status !== 0) { refused.otasign.push(relative(dir, f)); continue; }
  sum.files++; sum.in += Buffer.byteLength(src);
  sum.ws += ws.stdout.length; sum.mangle += m.stdout.length;
  sum.tws += Buffer.byteLength(tws); sum.tmangle += Buffer.byteLength(tm);
  worst.push([m.stdout.length - Buffer.byteLength(tm), relative(dir, f)]);
}
worst.sort((a, b) => b[0] - a[0]);
console.log(`minify on real Espruino code: ${sum.files} of ${files.length} files under ${dir}, ${sum.in} bytes ` +
  `(each file minified on its own; terser in-process, compress:false)`);
console.log('');
console.log('| mode | otasign bytes | terser bytes | otasign vs terser |');
console.log('|---|---:|---:|---:|');
console.log(`| whitespace only (--no-mangle / mangle:false) | ${sum.ws} | ${sum.tws} | ${(sum.ws / sum.tws).toFixed(4)}x |`);
console.log(`| mangling (default / mangle:true) | ${sum.mangle} | ${sum.tmangle} | ${(sum.mangle / sum.tmangle).toFixed(4)}x |`);
console.log('');
{
  // the `make bench` summary
  const srow = createRequire(import.meta.url)('./summary-row.js');
  const sec = `minified bytes: real Espruino code (${sum.files} files, ${sum.in} bytes)`;
  srow(sec, 'otasign (mangled)', 'terser mangle-only', sum.tmangle, sum.mangle);
  srow(sec, 'otasign --no-mangle', 'terser whitespace-only', sum.tws, sum.ws);
}
console.log(`refused by otasign (not counted): ${refused.otasign.length}${refused.otasign.length ? ': ' + refused.otasign.slice(0, 5).join(', ') : ''}`);
console.log(`refused by terser (not counted): ${refused.terser.length}${refused.terser.length ? ': ' + refused.terser.slice(0, 5).join(', ') : ''}`);
console.log('largest differences (otasign - terser, mangling): ' + worst.slice(0, 5).map((w) => w[1] + ' ' + (w[0] > 0 ? '+' : '') + w[0]).join(', '));
console.log('Target (issue 15): mangling within 1% of terser mangle-only.  Figures only.');

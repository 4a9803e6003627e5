// Regenerate cases.json from the table in minify-cases.md:
//   node tests/minify/gen-cases.mjs > tests/minify/cases.json
// Cells are code spans (`x` or `` x `` for text holding a backtick);
// "⏎" stands for a newline and "\|" for a literal "|" inside the table.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const md = readFileSync(join(here, 'minify-cases.md'), 'utf8');

function splitRow(line) {
  const cells = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && line[i + 1] === '|') { cur += '|'; i++; continue; }
    if (line[i] === '|') { cells.push(cur); cur = ''; continue; }
    cur += line[i];
  }
  cells.push(cur);
  return cells.slice(1, -1).map((c) => c.trim());
}

function code(cell, n) {
  let m = /^`` (.*) ``$/s.exec(cell) || /^`([^`]*)`$/s.exec(cell);
  if (!m) throw new Error(`case ${n}: not a code span: ${cell}`);
  return m[1].replace(/⏎/g, '\n');
}

const cases = [];
for (const line of md.split('\n')) {
  if (!/^\| \d+ \|/.test(line)) continue;
  const [num, kind, input, expected, why] = splitRow(line);
  const n = Number(num);
  cases.push({ number: n, kind, input: code(input, n), expected: code(expected, n), why });
}
if (cases.length !== 81) throw new Error(`expected 81 cases, found ${cases.length}`);
cases.forEach((c, i) => { if (c.number !== i + 1) throw new Error(`case numbering broken at ${i + 1}`); });
process.stdout.write(JSON.stringify(cases, null, 1) + '\n');

// delta-edit.js IN OUT PERCENT: a deterministic edit of a JavaScript source
// for the delta benchmark (tests/bench/bundle-bench.sh).  PERCENT 0: one
// line changed (the middle-most line with a decimal integer literal: that
// number + 1); otherwise PERCENT % of the lines changed the same way, spread
// evenly over the lines that have such a literal (all of them when there are
// too few).  Only standalone decimal integers are touched (not parts of
// names, hex or fractions), so the program stays valid JavaScript.
// PERCENT "var": one line added instead, a new local variable used once
// (`var dprobe=1;print(dprobe);`) at the top of the middle-most function
// whose header ends its line: a change that gives the mangler a new name to
// place, so a cascade of renames would show.
// Prints "changed/total" lines.
'use strict';
const fs = require('fs');
const [, , inp, out, pctS] = process.argv;
const lines = fs.readFileSync(inp, 'latin1').split('\n');
const num = /(^|[^\w.$])(\d+)(?![\w.])/;
const cand = [];
// not in a comment (a change there would not reach the minified program)
lines.forEach((l, i) => { const c = l.replace(/\/\/.*$/, ''); if (num.test(c) && !/^\s*(\*|\/\*)/.test(l)) cand.push(i); });
if (pctS === 'var') {
  const fn = [];
  lines.forEach((l, i) => { if (/function\s*[\w$]*\s*\([^)]*\)\s*\{\s*$/.test(l)) fn.push(i); });
  if (!fn.length) { console.error('no function header on its own line'); process.exit(1); }
  const mid = lines.length / 2, at = fn.reduce((a, b) => (Math.abs(b - mid) < Math.abs(a - mid) ? b : a));
  lines.splice(at + 1, 0, 'var dprobe=1;print(dprobe);');
  fs.writeFileSync(out, lines.join('\n'), 'latin1');
  console.log('+1/' + (lines.length - 1));
  process.exit(0);
}
const pct = +pctS;
let pick = [];
if (cand.length) {
  if (!pct) {
    const mid = lines.length / 2;
    pick = [cand.reduce((a, b) => (Math.abs(b - mid) < Math.abs(a - mid) ? b : a))];
  } else {
    const want = Math.min(cand.length, Math.max(1, Math.round(lines.length * pct / 100)));
    for (let k = 0; k < want; k++) pick.push(cand[Math.floor((k + 0.5) * cand.length / want)]);
  }
}
for (const i of pick) lines[i] = lines[i].replace(num, (m, a, d) => a + String(+d + 1));
// (a number inside a string or a regex still changes the program)
fs.writeFileSync(out, lines.join('\n'), 'latin1');
console.log(pick.length + '/' + lines.length);

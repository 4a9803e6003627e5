'use strict';
// Tiny test harness: t.test(name, async fn); t.run(suite) prints
// "suite: N passed, N failed" last and exits non-zero on failure.
const tests = [];
let pass = 0, fail = 0;
function test(name, fn) { tests.push([name, fn]); }
function ok(c, msg) { if (!c) throw new Error('check failed: ' + (msg || '')); }
function eq(a, b, msg) {
  if (a !== b) throw new Error((msg ? msg + ': ' : '') + 'got ' + JSON.stringify(a) + ', want ' + JSON.stringify(b));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, ms, what) {
  const end = Date.now() + (ms || 10000);
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + (what || fn.toString()));
    await sleep(10);
  }
}
async function run(suite, filter) {
  for (const [name, fn] of tests) {
    if (filter && !name.includes(filter)) continue;
    const t0 = Date.now();
    try { await fn(); pass++; console.log('ok   ' + name + ' (' + (Date.now() - t0) + ' ms)'); }
    catch (e) { fail++; console.log('FAIL ' + name + ': ' + (e && e.stack || e)); }
  }
  console.log(suite + ': ' + pass + ' passed, ' + fail + ' failed');
  process.exit(fail ? 1 : 0);
}
module.exports = { test, ok, eq, run, sleep, until };

'use strict';
// Tiny test runner: test(name, fn), skip(reason) for the whole suite;
// each case prints ok/FAIL/skip with its time, the suite ends with
// "suite: N passed, N failed, N skipped" and exits non-zero on a failure.
const tests = [];
function test(name, fn) { tests.push([name, fn]); }
function ok(c, msg) { if (!c) throw new Error('check failed: ' + (msg || '')); }
function eq(a, b, msg) {
  if (a !== b) throw new Error((msg ? msg + ': ' : '') + 'got ' + JSON.stringify(a) + ', want ' + JSON.stringify(b));
}
async function run(suite, opts) {
  opts = opts || {};
  let pass = 0, fail = 0, skip = 0;
  for (const [name, fn] of tests) {
    if (opts.filter && !name.includes(opts.filter)) continue;
    if (opts.skip) { skip++; console.log('skip ' + name + ': ' + opts.skip); continue; }
    const t0 = Date.now();
    try { await fn(); pass++; console.log('ok   ' + name + ' (' + (Date.now() - t0) + ' ms)'); }
    catch (e) {
      fail++; console.log('FAIL ' + name + ' (' + (Date.now() - t0) + ' ms): ' + (e && e.stack || e));
      if (opts.onFail) { try { await opts.onFail(name); } catch (x) { /* best effort */ } }
    }
  }
  console.log(suite + ': ' + pass + ' passed, ' + fail + ' failed, ' + skip + ' skipped');
  return fail;
}
module.exports = { test, ok, eq, run };

// lib.mjs: shared by the minifier test scripts: where the minifier is, how to
// run it, and the summary line.
//
// The minifier under test is `$OTA_BIN/otasign` (OTA_BIN defaults to build/bin),
// run as `otasign minify IN -o OUT [--no-mangle]` (the Espruino gate is off
// there unless --gate is given: the corpus uses syntax the gate rejects).
// OTA_MINIFIER="cmd args..." replaces it with any command taking the same
// arguments, e.g. OTA_MINIFIER="node tests/js/terser-minify.mjs" to check the
// checks against terser.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = process.env.OTA_ROOT
  ? resolve(process.env.OTA_ROOT)
  : resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const JS_DIR = join(ROOT, 'tests/js');
export const NODE_MODULES = join(JS_DIR, 'node_modules');

// Import the oracle (it needs acorn from tests/js/node_modules); exit with a
// clear failure when the npm packages are not installed.
export async function loadOracle(suite) {
  if (!existsSync(join(NODE_MODULES, 'acorn'))) {
    console.log(`${suite}: tests/js/node_modules is missing: run scripts/deps.sh test (npm ci in tests/js)`);
    console.log(`${suite}: 0 passed, 1 failed`);
    process.exit(1);
  }
  return import(join(JS_DIR, 'oracle.mjs'));
}

// The command (argv array) of the minifier; exits with a failure line when
// there is none.
export function minifierCommand(suite) {
  const env = process.env.OTA_MINIFIER;
  if (env && env.trim()) return env.trim().split(/\s+/);
  const bin = resolve(ROOT, process.env.OTA_BIN || 'build/bin', 'otasign');
  try { accessSync(bin, constants.X_OK); } catch {
    console.log(`${suite}: minifier not found: ${bin} is missing or not executable (build it: make ${join(process.env.OTA_BIN || 'build/bin', 'otasign')})`);
    console.log(`${suite}: 0 passed, 1 failed`);
    process.exit(1);
  }
  return [bin];
}

// Run the minifier on file `input` writing `output`.  Returns
// {ok, status, stderr, seconds}.
export function runMinifier(cmd, input, output, mangle, timeoutMs = 120000) {
  const args = [...cmd.slice(1), 'minify', input, '-o', output];
  if (!mangle) args.push('--no-mangle');
  let r, seconds;
  // EACCES/ETXTBSY: the binary is being relinked by a concurrent build; wait.
  for (let tries = 0; ; tries++) {
    const t0 = process.hrtime.bigint();
    r = spawnSync(cmd[0], args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!(r.error && /EACCES|ETXTBSY/.test(r.error.code || '')) || tries >= 20) break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
  const stderr = (r.stderr || '') + (r.error ? String(r.error) : '');
  return { ok: r.status === 0 && !r.error, status: r.status, signal: r.signal, stderr, seconds };
}

export function summary(suite, passed, failed) {
  console.log(`${suite}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

// True when buf is well-formed UTF-8.
export function isUtf8(buf) {
  try { new TextDecoder('utf-8', { fatal: true }).decode(buf); return true; } catch { return false; }
}

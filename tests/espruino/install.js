'use strict';
// Put the agent on an emulated board the way the provisioning script does
// (device/espruino/README.md), with test-sized timings.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = process.env.OTA_ROOT || path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, 'device/espruino');

// The agent as uploaded: minified by `otasign minify`, or as written.
let cached = {};
function agentSource(minified) {
  const key = minified ? 'min' : 'raw';
  if (cached[key]) return cached[key];
  let src = fs.readFileSync(path.join(DIR, 'ota.js'), 'latin1');
  if (minified) {
    const bin = path.resolve(ROOT, process.env.OTA_BIN || 'build/bin', 'otasign');
    src = execFileSync(bin, ['minify', path.join(DIR, 'ota.js'), '-o', '-'], { encoding: 'latin1' });
  }
  return (cached[key] = src);
}
// What ships is the minified agent: test that when otasign is built
// (OTA_AGENT_MIN=0 forces the source as written, =1 requires minifying).
function minDefault() {
  if (process.env.OTA_AGENT_MIN) return process.env.OTA_AGENT_MIN === '1';
  return fs.existsSync(path.resolve(ROOT, process.env.OTA_BIN || 'build/bin', 'otasign'));
}
function bootFiles() {
  return {
    '.boot0': fs.readFileSync(path.join(DIR, 'boot0.js'), 'latin1').trim(),
    '.bootcde': fs.readFileSync(path.join(DIR, 'bootcde.js'), 'latin1').trim(),
    'ota.gold': fs.readFileSync(path.join(DIR, 'golden.js'), 'latin1').trim(),
  };
}
const FAST = { poll: 200, pmin: 50, pmax: 400, first: 20, tmo: 1500, back: 50, bmax: 400, trial: 600, tries: 2, sw: 20, max: 24000 };

function install(board, cfg, opts) {
  opts = opts || {};
  const S = board.storage;
  S.write('ota', agentSource(opts.minified !== undefined ? opts.minified : minDefault()));
  S.write('ota.cfg', JSON.stringify(Object.assign({}, FAST, cfg)));
  const f = bootFiles();
  for (const k of Object.keys(f)) S.write(k, f[k]);
}
module.exports = { install, agentSource, bootFiles, FAST };

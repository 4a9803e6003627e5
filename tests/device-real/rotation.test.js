'use strict';
// Rotating and revoking the release key of a running fleet, as README.md
// ("Rotating and revoking release keys") tells an operator to, with the
// Espruino agent on the REAL Espruino interpreter (a board on `espruino` and
// one on `espruino-pico`, stock-firmware HMAC tier: otad relays trust) and an
// otadev device provisioned with the root key (it checks and stores the key
// sets itself), all polling one real otad:
//   1. otad runs with key set 1 (the old release key); every device runs v1,
//      signed by the old key; the otadev device stores key set 1;
//   2. rotation: key set 2 (old + new) POSTed with the README's curl command;
//      a new-key release, refused at upload before, reaches every device;
//   3. revocation: key set 3 (new key only) put in place with the README's
//      cp, mv and kill -HUP; a release the old key signed while it was still
//      trusted, rolled out afterwards, is offered to no device (the boards'
//      polls get 204; the otadev device gets key set 3 alone), and a new
//      old-key upload is refused;
//   4. otad restarted with the old key still on its command line: still
//      nothing offered;
//   5. a second new-key release: every device ends on it; the otadev device
//      trusts the new key only.
// Without an interpreter the suite prints one "skipped" line.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const L = require('./lib');
const { test, ok, eq, run } = require('./t');
const { until, sleep } = L;

const ESP = L.findEspruino();
const W = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-rotation-'));
const otad = new L.Otad(W);
let proxy = null;
const boards = [];
const figures = [];
const APPN = 'fleet';
const OTADEV = path.join(L.BIN, 'otadev');
const k = (n) => path.join(W, n);

const APP = (v) => 'APP="' + v + '";print("APP ' + v + ' up");' +
  'setInterval(function(){print("TICK ' + v + '")},400);' +
  'setTimeout(function(){print("CONFIRM ' + v + ' "+ota.confirm())},200);';

function otasign(args) { return execFileSync(L.OTASIGN, args, { cwd: W, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' }); }
function keyId(pub) { return /key_id\s+([0-9a-f]+)/.exec(otasign(['inspect', pub]))[1]; }
// otasign release signed by `key` (rel = the old key, new = the new one)
function release(seq, key) {
  const src = k(APPN + '-' + seq + '.js');
  fs.writeFileSync(src, APP('v' + seq));
  otasign(['release', src, '--key', k(key + '.key'), '--app', APPN, '--seq', String(seq), '--label', 'v' + seq,
    '--out', k('releases-' + key)]);
  return k('releases-' + key + '/' + APPN + '-' + seq);
}
async function upload(dir) {
  return otad.admin('POST', '/admin/releases', {
    statement: fs.readFileSync(path.join(dir, 'statement.bin')).toString('base64'),
    bundle: fs.readFileSync(path.join(dir, 'bundle.js')).toString('base64') });
}
async function rollout(seq) {
  const r = await otad.admin('POST', '/admin/rollouts', { app: APPN, seq, percent: 100, replace: true });
  if (r.status !== 200 && r.status !== 201) throw new Error('rollout: ' + r.status + ' ' + r.body);
}
function reported(id, seq, state) {
  const f = () => proxy.reports(id).find((r) => r.body && r.body.seq === seq && r.body.state === state &&
    r.rec.status === (r.compact ? 204 : 200));
  f.last = () => JSON.stringify(proxy.reports(id).map((r) => [r.raw, r.rec.status]).slice(-4));
  return f;
}

// ---- the otadev device (signed tier, root key) ----------------------------------------
let devSecret = '', serverPub = '';
function devRun() {
  const r = spawnSync(OTADEV, ['run', '--flash', k('k-dev.flash'), '--server', 'http://127.0.0.1:' + otad.port,
    '--id', 'k-dev', '--app', APPN, '--release-pub', k('rel.pub'), '--root-pub', k('root1.pub'),
    '--server-pub', serverPub, '--secret', devSecret, '--interval', '0'], { encoding: 'utf8', timeout: 30000 });
  const out = (r.stdout || '') + (r.stderr || '');
  if (r.status !== 0) throw new Error('otadev run: status ' + r.status + ': ' + out);
  return out;
}
function devKeyset() {
  return execFileSync(OTADEV, ['keyset', '--flash', k('k-dev.flash'), '--root-pub', k('root1.pub')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}
function devRunning() {
  return JSON.parse(execFileSync(OTADEV, ['status', '--flash', k('k-dev.flash')], { encoding: 'utf8' })).running_seq;
}

// ---- the Espruino boards (HMAC tier) ---------------------------------------------------
async function provision(id, bin) {
  const b = new L.Board(path.join(W, 'boards', id), bin, id);
  boards.push(b);
  b.fill(48 * 1024);
  const out = k(id + '.provision.js');
  execFileSync(L.OTASIGN, ['device', 'add', id, '--server', 'http://127.0.0.1:' + otad.port,
    '--token-file', k('token'), '--app', APPN, '--device-server', 'http://127.0.0.1:' + proxy.port,
    '--out', out, '--poll', '1', '--trial', '5', '--tries', '2'], { cwd: L.ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  await b.provision(out, L.FAST);
  return b;
}
function espBoards() { return boards; }
async function allConfirm(seq, what) {
  for (const b of espBoards()) {
    await until(reported(b.name, seq, 'confirmed'), 30000, b.name + ' confirms v' + seq + ' (' + what + ')');
    await b.wait(new RegExp('TICK v' + seq), 5000);
  }
  const out = devRun();
  ok(new RegExp('report confirmed seq ' + seq).test(out), 'otadev device confirms v' + seq + ': ' + out.slice(-400));
  eq(devRunning(), seq, 'otadev device runs v' + seq);
}
// Every board polls `n` more times, each answered 204 by otad (a 202 would
// say an offer waits, a 200 is one); none is offered anything.
async function nothingOffered(n, what) {
  const from = proxy.log.length;
  const polled = (id) => proxy.polls(id).filter((r) => proxy.log.indexOf(r) >= from && r.status);
  for (const b of espBoards())
    await until(() => polled(b.name).length >= n, 20000, b.name + ': ' + n + ' polls (' + what + ')');
  const polls = [].concat.apply([], espBoards().map((b) => polled(b.name)));
  const offered = polls.filter((r) => r.status !== 204);
  eq(offered.length, 0, what + ': every poll answered 204 (' + polls.length + ' polls): ' +
    offered.map((r) => r.head.split('\r\n')[0] + ' -> ' + r.status).join('; '));
  ok(!proxy.log.slice(from).some((r) => /^GET \/(bundle|b)\//.test(r.head)), what + ': no bundle fetched');
  return polls.length;
}

let relid = '', newid = '', ks = null;

test('provisioning: otad with key set 1 (the old release key, signed offline by root1); every device on v1 signed by it', async () => {
  otasign(['keygen', '--out', k('rel')]);  // the release key in use (the old one, soon)
  otasign(['keygen', '--root', '--out', k('root1')]);
  otasign(['keyset', 'make', '--version', '1', '--key', k('rel.pub'), '--root', k('root1.key'), '--out', k('fleet.ks')]);
  relid = keyId(k('rel.pub'));
  await otad.start(['--keyset', k('fleet.ks'), '--root-pub', k('root1.pub')]);
  proxy = await new L.Proxy(otad.port).start();
  ok(/key set version 1 in force/.test(otad.err), 'otad announces key set 1: ' + otad.err);
  serverPub = fs.readFileSync(path.join(W, 'data', 'server.pub'), 'utf8').trim();
  const r1 = release(1, 'rel');
  eq((await upload(r1)).status, 201, 'v1 (old key) uploaded');
  await rollout(1);
  await provision('k-esp', ESP.espruino);
  if (ESP.pico) await provision('k-pico', ESP.pico);
  const reg = await otad.admin('POST', '/admin/devices', { id: 'k-dev', secret: true });
  devSecret = reg.json && reg.json.secret;
  ok(/^[0-9a-f]{64}$/.test(devSecret || ''), 'otadev device registered: ' + reg.body);
  fs.writeFileSync(k('golden.js'), '// golden\nsetInterval(poll, 3600e3);\n');
  execFileSync(OTADEV, ['provision', '--flash', k('k-dev.flash'), '--golden', k('golden.js'),
    '--program', path.join(r1, 'bundle.js'), '--seq', '1', '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const b of espBoards()) await b.on();
  for (const b of espBoards()) {
    await until(reported(b.name, 1, 'confirmed'), 30000, b.name + ' confirms v1');
    await b.wait(/TICK v1/, 5000);
  }
  const out = devRun();
  ok(out.includes('accepted and stored key set version 1: trusts release key(s) ' + relid), 'otadev stores key set 1: ' + out);
  eq(devKeyset(), '{"keyset":1,"keys":["' + relid + '"]}');
});

test('rotation: key set 2 (old + new) published with the README\'s curl command; a new-key release reaches every device', async () => {
  otasign(['keygen', '--out', k('new')]);
  newid = keyId(k('new.pub'));
  const r2 = release(2, 'new');
  const before = await upload(r2);
  eq(before.status, 422, 'a new-key release is refused before the rotation: ' + before.body);
  otasign(['keyset', 'make', '--version', '2', '--key', k('rel.pub'), '--key', k('new.pub'), '--root', k('root1.key'), '--out', k('ks2.ks')]);
  // the README's command, as an operator types it (TOKEN, HOST:8080 filled in)
  const st = execFileSync('bash', ['-c', 'curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $TOKEN" ' +
    '-H \'Content-Type: application/json\' -d "{\\"keyset\\":\\"$(base64 -w0 ks2.ks)\\"}" http://127.0.0.1:' + otad.port + '/admin/keysets'],
  { cwd: W, env: Object.assign({}, process.env, { TOKEN: L.TOKEN }), encoding: 'utf8' });
  eq(st, '200', 'POST /admin/keysets');
  ks = (await otad.admin('GET', '/admin/keysets')).json;
  eq(ks && ks.version, 2, 'key set 2 in force: ' + JSON.stringify(ks));
  eq((await upload(r2)).status, 201, 'the new-key release is taken now');
  await rollout(2);
  await allConfirm(2, 'signed by the new key');
  eq(devKeyset(), '{"keyset":2,"keys":["' + relid + '","' + newid + '"]}', 'otadev trusts both keys');
});

test('revocation: key set 3 (new key only) by cp, mv and SIGHUP; a release the old key signed before is offered to no device', async () => {
  const r3 = release(3, 'rel');
  eq((await upload(r3)).status, 201, 'v3 signed by the old key, uploaded while that key is still trusted');
  otasign(['keyset', 'make', '--version', '3', '--key', k('new.pub'), '--root', k('root1.key'), '--out', k('ks3.ks')]);
  // the README's lines: cp ks3.ks fleet.ks.tmp && mv fleet.ks.tmp fleet.ks && kill -HUP <otad>
  execFileSync('bash', ['-c', 'cp ks3.ks fleet.ks.tmp && mv fleet.ks.tmp fleet.ks && kill -HUP ' + otad.proc.pid], { cwd: W });
  await until(async () => ((await otad.admin('GET', '/admin/keysets')).json || {}).version === 3, 5000, 'key set 3 in force');
  ok(/SIGHUP: key set version 3 in force/.test(otad.err), 'otad logs the reload');
  await rollout(3);                        // the rollout engine knows nothing of key sets
  const n = await nothingOffered(3, 'after the revocation');
  for (const b of espBoards()) {
    const at = b.out.length;
    await b.wait(/TICK v2/, 3000, at);
    ok(!/APP v3 up/.test(b.out), b.name + ' never ran the old-key v3');
  }
  const out = devRun();
  ok(out.includes('accepted and stored key set version 3: trusts release key(s) ' + newid), 'otadev gets key set 3 alone: ' + out);
  ok(!/offer accepted/.test(out), 'otadev is offered nothing: ' + out);
  eq(devRunning(), 2, 'otadev stays on v2');
  eq(devKeyset(), '{"keyset":3,"keys":["' + newid + '"]}', 'otadev trusts the new key only');
  const r9 = release(9, 'rel');
  const late = await upload(r9);
  eq(late.status, 422, 'an old-key upload is refused after the revocation: ' + late.body);
  figures.push('after the revocation: ' + n + ' polls by the boards, all 204; the old-key v3 offered to no device');
});

test('otad restarted with the old key still on its command line (--release-pub old.pub): the old-key release is still not offered', async () => {
  otad.stop();
  await otad.start();                      // same arguments: --release-pub rel.pub --keyset fleet.ks --root-pub root1.pub
  ok((await otad.admin('GET', '/admin/keysets')).json.version === 3, 'key set 3 after the restart');
  await nothingOffered(2, 'after the restart');
  const out = devRun();
  ok(/nothing new \(running seq 2\)/.test(out), 'otadev: nothing new: ' + out);
});

test('the new key rolls out to every device: all end on v4, signed by the new key', async () => {
  const r4 = release(4, 'new');
  eq((await upload(r4)).status, 201, 'v4 (new key) uploaded');
  await rollout(4);
  await allConfirm(4, 'signed by the new key');
  eq(devKeyset(), '{"keyset":3,"keys":["' + newid + '"]}');
  const st = JSON.parse(fs.readFileSync(path.join(r4, 'release.json'), 'utf8'));
  eq(st.key_id, newid, 'v4 is signed by the new key');
  for (const b of espBoards()) {
    b.cut();
    const s = b.state();
    eq(s.st.c.s, 4, b.name + ': the confirmed program is v4');
    ok(!s.files.some((f) => /^ota\.a3/.test(f)), b.name + ': no trace of the old-key v3: ' + s.files);
  }
  figures.push('devices on v4 (new key): ' + espBoards().map((b) => b.name + ' (' + path.basename(b.bin) + ')').join(', ') + ', k-dev (otadev, key set 3)');
});

(async () => {
  if (!ESP) {
    console.log('skipped: no Espruino interpreter (set ESPRUINO=/path/to/dir-with-espruino, or build it from ' +
      'the public espruino/Espruino repository at commit c5ff787b: make BOARD=LINUX); the key-rotation suite did not run');
    await run('device-real-rotation', { skip: 'no Espruino interpreter' });
    fs.rmSync(W, { recursive: true, force: true });
    process.exit(0);
  }
  console.log('# interpreter: ' + ESP.espruino + (ESP.pico ? ' (+ espruino-pico)' : ''));
  let fail = 0;
  try {
    fail = await run('device-real-rotation', {
      filter: process.argv[2],
      onFail: () => { for (const b of boards) { if (process.env.DEBUG_FAIL) console.log('--- ' + b.name + '\n' + b.out.slice(-3000)); b.cut(); } if (proxy) proxy.reset(); },
    });
  } catch (e) {
    console.log('FAIL setup: ' + (e.stack || e));
    console.log('device-real-rotation: 0 passed, 1 failed, 0 skipped');
    fail = 1;
  }
  for (const b of boards) b.cut();
  for (const f of figures) console.log('# ' + f);
  otad.stop();
  if (proxy) proxy.stop();
  if (!process.env.KEEP) fs.rmSync(W, { recursive: true, force: true });
  process.exit(fail ? 1 : 0);
})();

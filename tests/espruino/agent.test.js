'use strict';
// The agent (device/espruino/ota.js) on the emulated board against a scripted
// stub of the device endpoints: every rejection reason of FORMAT.md section 5,
// the update/trial/confirm/revert cycle, resume, power cuts at every flash
// operation, the signed tier with E.ed25519verify, and the RAM it holds.
const { createBoard } = require('./espruino-emu');
const { install } = require('./install');
const { createStub } = require('./stub-server');
const fx = require('./fixtures');
const { test, ok, eq, run, sleep, until } = require('./t');

const APP = (v, extra) => `APP="${v}";` + (extra === undefined ? 'setTimeout(function(){ota.confirm()},30);' : extra);
let stub;

function newBoard(bopts, cfg) {
  const b = createBoard(bopts);
  install(b, Object.assign({ id: stub.device, app: stub.app, host: '127.0.0.1', port: stub.port,
    key: fx.KEYS.secret.toString('hex') }, cfg || {}));
  return b;
}
function app(b) { try { return b.session && !b.session.dead ? b.eval('typeof APP=="string"?APP:undefined') : undefined; } catch (e) { return undefined; } }
function st(b) {
  const f = [0, 1].map((i) => b.storage.read('ota.s' + i)).filter(Boolean)
    .map((s) => JSON.parse(s.substr(0, s.lastIndexOf('\n'))));
  f.sort((x, y) => y.n - x.n);
  return f[0] || {};
}
function reset() {
  stub.noRange = false;
  stub.stallAfter = 0;
  stub.releases = {}; stub.target = 0; stub.mutate = null; stub.tamperBundle = null;
  stub.reports = []; stub.bundleGets = []; stub.polls = 0;
}
const has = (state, seq, detail) => () => stub.reports.some((r) => r.state === state && (seq === undefined || r.seq === seq) &&
  (detail === undefined || r.detail === detail));

// A device confirmed on v1 (seq 1), ready for the next test step.
async function onV1(bopts, cfg) {
  reset();
  stub.release(1, APP('v1'));
  stub.target = 1;
  const b = newBoard(bopts, cfg);
  b.powerOn();
  await until(has('confirmed', 1), 8000, 'v1 confirmed');
  await until(() => app(b) === 'v1', 3000, 'v1 running');
  return b;
}

test('the agent, boot code and golden program pass the 2v29 gate of otasign minify', () => {
  const path = require('path');
  const fs = require('fs');
  const { execFileSync } = require('child_process');
  const root = path.resolve(__dirname, '../..');
  const bin = path.resolve(root, process.env.OTA_BIN || 'build/bin', 'otasign');
  if (!fs.existsSync(bin)) throw new Error(bin + ' not built');
  for (const f of ['ota.js', 'boot0.js', 'bootcde.js', 'golden.js'])
    execFileSync(bin, ['minify', path.join(root, 'device/espruino', f), '--gate', '--target', '2v29', '-o', '/dev/null'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
});

test('fresh device: golden program, then v1 installed, tried, confirmed, reported with MACs', async () => {
  reset();
  stub.release(1, APP('v1'));
  const b = newBoard();
  b.powerOn();
  await until(() => stub.polls > 0, 3000, 'first poll');
  eq(app(b), undefined, 'golden runs, no app');
  ok(b.log.length === 0 || !b.log.some((l) => /Uncaught/.test(l)), b.log.join('\n'));
  stub.target = 1;
  await until(has('confirmed', 1), 8000, 'confirmed');
  await until(() => app(b) === 'v1', 3000);
  eq(stub.states().join(), 'downloading:1,downloaded:1,trial:1,confirmed:1');
  ok(stub.reports.every((r) => r.macOk), 'every report MAC verifies');
  eq(st(b).c.f, 'ota.a1');
  b.powerCut();
});

test('update v1 -> v2: the running file is never touched; old program erased after confirm', async () => {
  const b = await onV1();
  const v1 = b.storage.read('ota.a1');
  stub.reports = [];
  stub.release(2, APP('v2'));
  stub.target = 2;
  await until(() => b.storage.read('ota.a2') !== undefined, 5000, 'download started');
  eq(b.storage.read('ota.a1'), v1, 'running program intact while downloading');
  await until(has('confirmed', 2), 8000);
  await until(() => app(b) === 'v2', 3000);
  eq(b.storage.read('ota.a1'), undefined, 'old program erased after confirm');
  eq(stub.states().join(), 'downloading:2,downloaded:2,trial:2,confirmed:2');
  b.powerCut();
});

test('v2 throws at start: tried C.tries times, reverted to v1, rolled_back reported', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.release(2, 'APP="v2";throw new Error("bad release");');
  stub.target = 2;
  await until(has('rolled_back', 2), 10000, 'rolled back');
  await until(() => app(b) === 'v1', 3000, 'v1 running again');
  eq(b.storage.read('ota.a2'), undefined, 'failed program erased');
  eq(st(b).c.f, 'ota.a1');
  // reports are sent at least once: n tells a resent one from a new one
  eq(new Set(stub.reports.filter((r) => r.state === 'trial').map((r) => r.n)).size, 2, 'two trial attempts');
  // the same release offered again is not installed again
  const n = stub.reports.length;
  await sleep(600);
  ok(!stub.reports.slice(n).some((r) => r.state === 'downloading'), 'not downloaded again');
  b.powerCut();
});

test('v2 never confirms and the power is cut during the trial: revert to v1', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.release(2, 'APP="v2";');
  stub.target = 2;
  await until(() => app(b) === 'v2', 8000, 'v2 on trial');
  b.powerCut();
  b.powerOn();                         // attempt 2
  await until(() => app(b) === 'v2', 3000);
  b.powerCut();
  b.powerOn();                         // attempts exhausted: back to v1
  await until(() => app(b) === 'v1', 3000, 'v1');
  await until(has('rolled_back', 2), 5000);
  b.powerCut();
});

test('a dropped download resumes with Range and completes', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.bundleGets = [];
  const big = APP('v2') + '//' + 'x'.repeat(6000);
  stub.release(2, big);
  b.net.dropAfter = 2500;
  stub.target = 2;
  await until(has('confirmed', 2), 10000);
  ok(stub.bundleGets.length >= 2, 'two requests: ' + stub.bundleGets);
  eq(stub.bundleGets[0], 0);
  ok(stub.bundleGets[1] > 0 && stub.bundleGets[1] <= 2500, 'resumed at ' + stub.bundleGets[1]);
  eq(stub.reports.filter((r) => r.state === 'downloading').length, 1);
  b.powerCut();
});

test('a server that ignores Range (200, whole body): the file is started again', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.noRange = true;
  stub.release(2, APP('v2') + '//' + 'r'.repeat(6000));
  b.net.dropAfter = 2500;
  stub.target = 2;
  try { await until(has('confirmed', 2), 10000); } finally { stub.noRange = false; }
  ok(!stub.reports.some((r) => r.state === 'failed' || r.state === 'rejected'), JSON.stringify(stub.reports));
  b.powerCut();
});

test('a download that stalls (socket open, nothing more): the watchdog gives up, then it resumes', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.bundleGets = [];
  stub.release(2, APP('v2') + '//' + 's'.repeat(5000));
  stub.stallAfter = 2000;
  stub.target = 2;
  await until(has('confirmed', 2), 12000);
  eq(stub.bundleGets.length, 2, 'two requests: ' + stub.bundleGets);
  eq(stub.bundleGets[1] > 0, true, 'resumed');
  b.powerCut();
});

test('power cut mid-download: the next boot resumes the same file', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.bundleGets = [];
  stub.release(2, APP('v2') + '//' + 'y'.repeat(8000));
  b.net.dropAfter = 3000;
  stub.target = 2;
  await until(() => stub.bundleGets.length >= 1 && b.storage.read('ota.a2'), 5000);
  await sleep(30);
  b.powerCut();
  b.powerOn();
  await until(has('confirmed', 2), 10000).catch((e) => { console.log(stub.states(), stub.bundleGets, b.log, st(b), b.net.requests.slice(-5)); throw e; });
  ok(stub.bundleGets.some((x) => x > 0), 'resumed: ' + stub.bundleGets);
  b.powerCut();
});

// Each tampering: the offer is rejected with FORMAT.md's reason, v1 keeps running.
const tampers = [
  ['bundle bytes', 'hash mismatch', () => { stub.tamperBundle = (x) => { x = Buffer.from(x); x[5] ^= 1; return x; }; }],
  ['mac', 'bad mac', () => { stub.mutate = (m) => { m.mac = m.mac.replace(/^./, (c) => c === '0' ? '1' : '0'); }; }],
  ['mac missing', 'bad mac', () => { stub.mutate = (m) => { delete m.mac; }; }],
  ['ticket byte (MAC covers it)', 'bad mac', () => { stub.mutate = (m) => { const t = Buffer.from(m.ticket, 'base64'); t[100] ^= 1; m.ticket = t.toString('base64'); }; }],
  ['ticket for another device', 'wrong device', () => { stub.mutate = (m, nonce) => remake(m, nonce, { device: 'dev-2' }); }],
  ['replayed ticket (old nonce)', 'stale nonce', () => { stub.mutate = (m, nonce) => remake(m, nonce, { nonce: Buffer.alloc(16, 7) }); }],
  ['statement swapped', 'ticket for another statement', () => { stub.mutate = (m) => {
    m.statement = fx.statement({ app: stub.app, seq: 2, bundle: Buffer.from('other') }).toString('base64'); }; }],
  ['another app', 'wrong app', () => { stub.releases[2].o.app = 'other'; }],
  ['another board', 'wrong board', () => { stub.releases[2].o.board = 'esp32'; }],
  ['compressed encoding', 'unsupported bundle encoding', () => { stub.releases[2].o.mutate = (b) => { b[5] = 1; }; }],
  ['reserved byte set', 'malformed', () => { stub.releases[2].o.mutate = (b) => { b[270] = 1; }; }],
  ['too big for the slot', 'bundle too big', () => { stub.releases[2].bundle = Buffer.from(APP('v2') + '//' + 'z'.repeat(30000)); }],
];
function remake(m, nonce, o) {
  const s = Buffer.from(m.statement, 'base64');
  const t = fx.ticket({ device: o.device || stub.device, nonce: o.nonce || nonce, statement: s });
  m.ticket = t.toString('base64');
  m.mac = fx.hmac(stub.secret, t).toString('hex');
}
for (const [what, why, setup] of tampers) {
  test('tampered ' + what + ': rejected (' + why + '), v1 keeps running', async () => {
    const b = await onV1();
    stub.reports = [];
    stub.release(2, APP('v2'));
    setup();
    stub.target = 2;
    await until(has('rejected', undefined, why), 6000, 'rejected: ' + why + ' (got ' + JSON.stringify(stub.reports) + ')');
    await sleep(100);
    eq(app(b), 'v1');
    ok(!stub.reports.some((r) => r.state === 'trial' || r.state === 'confirmed'), 'nothing installed');
    eq(b.storage.read('ota.a2'), undefined, 'no candidate left behind');
    eq(st(b).c.f, 'ota.a1');
    b.powerCut();
  });
}

test('an absolute http:// bundle URL (a CDN) is fetched from that host', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.release(2, APP('v2'));
  stub.bundleGets = [];
  const cdn = createStub();
  await cdn.listen();
  cdn.releases = stub.releases;
  stub.mutate = (m) => { m.url = 'http://127.0.0.1:' + cdn.port + m.url; };
  stub.target = 2;
  try {
    await until(has('confirmed', 2), 8000);
    eq(cdn.bundleGets.length, 1, 'bundle from the CDN');
    eq(stub.bundleGets.length, 0, 'not from the server');
  } finally { await cdn.close(); b.powerCut(); }
});

test('ten updates of 16 KB programs (the default --max) in a row fit the 48 KB Storage (trash compacted)', async () => {
  const b = await onV1();
  for (let v = 2; v <= 11; v++) {
    stub.release(v, APP('v' + v) + '//' + String(v % 10).repeat(15800));
    stub.target = v;
    await until(has('confirmed', v), 8000, 'v' + v + ' confirmed');
    await until(() => app(b) === 'v' + v, 3000);
  }
  eq(b.storage.list(/^ota\.a/).join(), 'ota.a11', 'only the running program left');
  ok(!b.log.some((l) => /Uncaught|HANG/.test(l)), b.log.join('\n'));
  b.powerCut();
});

test('the confirmed program is found corrupted at boot: golden program, failed report, reinstalled', async () => {
  const b = await onV1();
  b.powerCut();
  const f = b.files.get('ota.a1');
  f[3] ^= 0x01;                              // a bit flips in flash
  stub.reports = [];
  b.powerOn();
  await until(has('failed', 1, 'no valid program'), 5000);
  await until(has('confirmed', 1), 8000, 'v1 installed again');
  await until(() => app(b) === 'v1', 3000);
  b.powerCut();
});

test('no room in Storage for the candidate: rejected (bundle too big), v1 keeps running', async () => {
  const b = await onV1();
  b.powerCut();
  b.storage.write('junk', 'j', 0, b.storage.getFree() - 6000);   // leave about 6 KB
  b.powerOn();
  stub.reports = [];
  stub.release(2, APP('v2') + '//' + 'k'.repeat(9000));
  stub.target = 2;
  await until(has('rejected', 2, 'bundle too big'), 6000);
  await until(() => app(b) === 'v1', 3000);
  eq(b.storage.read('ota.a2'), undefined);
  b.powerCut();
});

test('a lower sequence is not newer: rejected', async () => {
  const b = await onV1();
  stub.reports = [];
  stub.release(2, APP('v2'));
  stub.releases[2].o.seq = 1;                // statement says 1 while running 1
  stub.target = 2;
  await until(has('rejected', undefined, 'not newer'), 6000);
  eq(app(b), 'v1');
  b.powerCut();
});

test('signed tier: with E.ed25519verify the agent checks both signatures', async () => {
  const keys = { rel: [[fx.KEYS.release.id.toString('hex'), fx.KEYS.release.pub.toString('hex')]],
    srv: [[fx.KEYS.server.id.toString('hex'), fx.KEYS.server.pub.toString('hex')]], key: undefined };
  const b = await onV1({ ed25519: true }, keys);
  stub.reports = [];
  stub.release(2, APP('v2'), { key: fx.KEYS.release2 });   // signed by a key it does not trust
  stub.target = 2;
  await until(has('rejected', undefined, 'unknown key'), 6000);
  stub.release(3, APP('v3'));
  stub.releases[3].o.mutate = (st) => { st[271] = 0; };     // fine, then break the signature:
  stub.mutate = (m) => { const s = Buffer.from(m.statement, 'base64'); s[300] ^= 1; m.statement = s.toString('base64');
    const nonce = Buffer.from(Buffer.from(m.ticket, 'base64').subarray(48, 64));
    m.ticket = fx.ticket({ device: stub.device, nonce, statement: s }).toString('base64'); };
  stub.target = 3;
  await until(has('rejected', undefined, 'bad signature'), 6000);
  stub.mutate = (m) => { const t = Buffer.from(m.ticket, 'base64'); t[200] ^= 1; m.ticket = t.toString('base64'); };
  await until(has('rejected', undefined, 'bad ticket signature'), 6000);
  stub.mutate = null;
  await until(has('confirmed', 3), 8000);
  await until(() => app(b) === 'v3', 3000);
  b.powerCut();
});

test('no network: a board that throws and one that reports errors both back off and recover', async () => {
  for (const mode of ['throw', 'event']) {
    const b = await onV1({ connFail: mode });
    b.net.down = true;
    await sleep(300);                        // let a request already on its way land
    const polls = stub.polls;
    await sleep(300);
    eq(stub.polls, polls, mode + ': no poll got through ' + b.net.requests.slice(-6).join(' '));
    ok(!b.log.some((l) => /Uncaught/.test(l)), b.log.join('\n'));
    b.net.down = false;
    stub.release(2, APP('v2'));
    stub.target = 2;
    await until(has('confirmed', 2), 8000, mode + ': recovered');
    b.powerCut();
  }
});

test('a socket that never answers: the watchdog gives up and the agent polls again', async () => {
  const b = await onV1();
  b.net.blackhole = true;
  await sleep(1800);                         // longer than the 1.5 s watchdog
  b.net.blackhole = false;
  stub.release(2, APP('v2'));
  stub.target = 2;
  await until(has('confirmed', 2), 8000);
  b.powerCut();
});

test('RAM: the agent holds at most one piece while downloading 20 KB', async () => {
  const b = await onV1();
  b.heapPeak = 0;
  stub.release(2, APP('v2') + '//' + 'q'.repeat(20000));
  stub.target = 2;
  await until(has('confirmed', 2), 8000);
  // the manifest (about 1 KB of JSON) is the largest thing held; bundle
  // pieces are written to Storage as they arrive
  ok(b.heapPeak <= 1536, 'peak ' + b.heapPeak);
  console.log('# response bytes held in RAM at once (manifest JSON or one bundle piece): at most ' + b.heapPeak);
  b.powerCut();
});

test('power cut at every flash operation of an update: always a verified program', async () => {
  // Count the flash operations of one whole update (v1 -> v2 confirmed) first.
  let b = await onV1();
  stub.release(2, APP('v2'));
  const ops0 = b.flashOps;
  stub.target = 2;
  await until(() => st(b).c && st(b).c.s === 2 && st(b).q.length === 0, 8000);
  const total = b.flashOps - ops0;
  b.powerCut();
  let tested = 0;
  for (let n = 1; n <= total; n++) {
    b = await onV1();
    stub.release(2, APP('v2'));
    stub.target = 2;
    let cut = false;
    b.onPowerCut = () => { cut = true; };
    b.cutPowerAtOp(n);
    await until(() => cut || (st(b).c && st(b).c.s === 2), 8000, 'cut ' + n);
    b.onPowerCut = null;
    b.powerOn();
    // after power returns: v1 or v2 runs (never the golden program, never nothing),
    // and the device ends on v2 confirmed
    await until(() => app(b) === 'v1' || app(b) === 'v2', 3000, 'a program runs after cut ' + n);
    await until(() => st(b).c && st(b).c.s === 2 && app(b) === 'v2', 10000, 'v2 confirmed after cut ' + n);
    tested++;
    b.powerCut();
  }
  console.log('# power-cut points tested in one update: ' + tested);
  ok(tested >= 8, 'cut points ' + tested);
});

test('power cut at every flash operation of a revert: v1 always comes back', async () => {
  const BAD = 'APP="v2";throw new Error("bad");';
  let b = await onV1();
  stub.release(2, BAD);
  const ops0 = b.flashOps;
  stub.target = 2;
  await until(() => st(b).x === 2 && st(b).q.length === 0 && app(b) === 'v1', 10000);
  const total = b.flashOps - ops0;
  b.powerCut();
  let tested = 0;
  for (let n = 1; n <= total; n++) {
    b = await onV1();
    stub.release(2, BAD);
    stub.target = 2;
    let cut = false;
    b.onPowerCut = () => { cut = true; };
    b.cutPowerAtOp(n);
    await until(() => cut || st(b).x === 2, 10000, 'cut ' + n);
    b.onPowerCut = null;
    b.powerOn();
    await until(() => app(b) === 'v1' || app(b) === 'v2', 3000, 'a program runs after cut ' + n);
    await until(() => st(b).x === 2 && app(b) === 'v1' && st(b).c.s === 1, 10000, 'back on v1 after cut ' + n);
    tested++;
    b.powerCut();
  }
  console.log('# power-cut points tested in one revert: ' + tested);
  ok(tested >= 8, 'cut points ' + tested);
});

(async () => {
  stub = createStub();
  await stub.listen();
  await run('espruino-agent', process.argv[2]).finally(() => stub.close());
})();

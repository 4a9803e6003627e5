'use strict';
// The agent on the REAL Espruino interpreter against a scripted stub of
// otad's device endpoints (stub-server.js): every rejection reason of
// FORMAT.md section 5, servers that ignore Range, stall, never answer or
// refuse connections, a bundle on another host (a CDN), a corrupted program,
// and a power cut at every flash operation of an update and of a revert
// (flashcut.c, an LD_PRELOAD shim that kills the interpreter in the middle
// of its N-th flash write or erase).  The board is provisioned once with
// `otasign device add` (a real otad makes its secret) and brought to v1;
// every test starts from a copy of that board's flash.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const L = require('./lib');
const fx = require('./fixtures');
const { createStub } = require('./stub-server');
const { test, ok, eq, run } = require('./t');
const { until, sleep } = L;

const ESP = L.findEspruino();
const W = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-device-agent-'));
const otad = new L.Otad(W);
const stub = createStub();
// the power-cut loops run this many boards at a time, each against its own
// stub (the interpreters mostly sleep on timers: 2 cores carry 4)
const WORKERS = Math.max(1, +(process.env.OTA_CUT_WORKERS || 4));
const stubs = [stub];
for (let i = 1; i < WORKERS; i++) stubs.push(createStub());
const APP = (v, extra) => 'APP="' + v + '";print("APP ' + v + ' up");setInterval(function(){print("TICK ' + v + '")},150);' +
  (extra === undefined ? 'setTimeout(function(){ota.confirm()},100);' : extra);
let template = null, shim = null, nb = 0;
const boards = [];

const has = (state, seq, code) => {
  const f = () => stub.reports.some((r) => r.state === state && (seq === undefined || r.seq === seq) && (code === undefined || r.code === code) && r.macOk);
  f.last = () => stub.states().join(' ');
  return f;
};
// A board confirmed on v1 (a copy of the template), switched off.
function boardOnV1() {
  const b = new L.Board(path.join(W, 'b' + (++nb)), ESP.espruino, 'b' + nb);
  boards.push(b);
  fs.copyFileSync(template, path.join(b.dir, 'espruino.flash'));
  stub.reset();
  stub.release(1, APP('v1'));
  stub.target = 1;
  return b;
}
function env(extra) { return Object.assign({}, process.env, extra); }

test('the agent, boot code and golden program pass the 2v29 gate of otasign minify', () => {
  for (const f of ['ota.js', 'boot0.js', 'bootcde.js', 'golden.js'])
    execFileSync(L.OTASIGN, ['minify', path.join(L.ROOT, 'device/espruino', f), '--gate', '--target', '2v29', '-o', '/dev/null'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
});

test('every Espruino built-in the agent calls behaves as the agent assumes (probe on the real interpreter)', async () => {
  const http = require('http');
  let head = '';
  const srv = http.createServer((req, res) => {
    if (req.url === '/bin') {
      const all = Buffer.alloc(512); for (let i = 0; i < 512; i++) all[i] = i & 255;
      res.writeHead(200, { 'Content-Length': all.length, Connection: 'close' });
      return res.end(all);
    }
    if (req.url === '/echo') {
      const parts = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => { const h = Buffer.from(Buffer.concat(parts).toString('hex')); res.writeHead(200, { 'Content-Length': h.length, Connection: 'close' }); res.end(h); });
      return;
    }
    head = req.method + ' ' + req.url + ' ' + JSON.stringify(req.headers);
    res.writeHead(206, { 'Content-Range': 'bytes 5-14/15', 'Content-Length': 10, Connection: 'close' });
    res.end('0123456789');
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const b = new L.Board(path.join(W, 'probe'), ESP.espruino, 'probe');
  boards.push(b);
  const code = 'var PORT=' + srv.address().port + ';\n' + fs.readFileSync(path.join(__dirname, 'builtins.js'), 'latin1');
  fs.writeFileSync(path.join(b.dir, 'probe.js'), code);
  try {
    await b.on({ file: 'probe.js', ms: 15000 });
    await b.wait(/PROBE END/, 10000);
  } finally { b.cut(); srv.close(); }
  const lines = b.out.split(/\r?\n/).map((l) => l.replace(/^(\x1b\[J|>|\r)+/, '')).filter((l) => /^P /.test(l));
  const bad = lines.filter((l) => !/ ok( |$)/.test(l));
  ok(lines.length >= 51, lines.length + ' checks ran (the HTTP ones print from callbacks, after a "\\r")');
  eq(bad.length, 0, 'contradicted: ' + bad.join(' | '));
  ok(/\"range\":\"bytes=5-\"/.test(head), 'Range header sent: ' + head);
  console.log('# built-in checks on the real interpreter: ' + lines.length);
});

test('every rejection reason of FORMAT.md section 5, each reported with its ota_err code; v1 keeps running', async () => {
  const b = boardOnV1();
  await b.on();
  await b.wait(/TICK v1/, 5000);
  function remake(m, nonce, o) {
    const s = Buffer.from(m.statement, 'base64');
    const t = fx.ticket({ device: o.device || stub.device, nonce: o.nonce || nonce, statement: s });
    m.ticket = t.toString('base64');
    m.mac = fx.hmac(stub.secret, t).toString('hex');
  }
  const cases = [
    ['bundle bytes', 22, () => { stub.tamperBundle = (x) => { x = Buffer.from(x); x[5] ^= 1; return x; }; }],
    ['mac', 51, () => { stub.mutate = (m) => { m.mac = m.mac.replace(/^./, (c) => c === '0' ? '1' : '0'); }; }],
    ['mac missing', 51, () => { stub.mutate = (m) => { delete m.mac; }; }],
    ['ticket byte (the MAC covers it)', 51, () => { stub.mutate = (m) => { const t = Buffer.from(m.ticket, 'base64'); t[100] ^= 1; m.ticket = t.toString('base64'); }; }],
    ['ticket magic', 41, () => { stub.mutate = (m, n) => { const t = Buffer.from(m.ticket, 'base64'); t[0] = 0x58; m.ticket = t.toString('base64'); m.mac = fx.hmac(stub.secret, t).toString('hex'); }; }],
    ['ticket version', 42, () => { stub.mutate = (m, n) => { const t = Buffer.from(m.ticket, 'base64'); t[4] = 2; m.ticket = t.toString('base64'); m.mac = fx.hmac(stub.secret, t).toString('hex'); }; }],
    ['ticket truncated', 2, () => { stub.mutate = (m, n) => { const t = Buffer.from(m.ticket, 'base64').subarray(0, 100); m.ticket = t.toString('base64'); m.mac = fx.hmac(stub.secret, t).toString('hex'); }; }],
    ['ticket for another device', 47, () => { stub.mutate = (m, nonce) => remake(m, nonce, { device: 'dev-2' }); }],
    ['replayed ticket (old nonce)', 48, () => { stub.mutate = (m, nonce) => remake(m, nonce, { nonce: Buffer.alloc(16, 7) }); }],
    ['statement swapped', 49, () => { stub.mutate = (m) => { m.statement = fx.statement({ app: stub.app, seq: stub.target, bundle: Buffer.from('other') }).toString('base64'); }; }],
    ['another app', 44, (r) => { r.o.app = 'other'; }],
    ['another board', 45, (r) => { r.o.board = 'esp32'; }],
    // encoding 1 (heatshrink blocks) is installed since FORMAT.md 2a: 2 is not defined
    ['encoding not defined (2)', 52, (r) => { r.o.mutate = (s) => { s[5] = 2; }; }],
    // flag 1 (FORMAT.md 2c): pretokenised for 2v28, and this board runs 2v29
    ['pretokenised for another firmware (2v28)', 52, (r) => { r.o.mutate = (s) => { s[6] = 1; s.writeUInt16LE(228, 264); }; }],
    ['encoding 1 over bytes that are not heatshrink blocks (transferred hash right): corrupt block', 54, (r) => { r.o.encoding = 1; }],
    ['reserved byte set', 40, (r) => { r.o.mutate = (s) => { s[270] = 1; }; }],
    ['too big for --max', 53, (r) => { r.bundle = Buffer.from(APP('vX') + '//' + 'z'.repeat(30000)); }],
    ['not newer (statement and manifest say 1 while 1 runs)', 46, (r) => { r.o.seq = 1; }, 1],
  ];
  let seq = 2;
  for (const [what, code, setup, rseq] of cases) {
    stub.mutate = null; stub.tamperBundle = null;
    stub.release(seq, APP('v' + seq));
    setup(stub.releases[seq]);
    stub.target = seq;
    await until(has('rejected', rseq || seq, code), 8000, what + ': rejected with ' + code);
    const r = stub.reports.find((x) => x.seq === (rseq || seq) && x.state === 'rejected');
    ok(typeof r.detail === 'string' && r.detail.length > 0 && r.ctr > 0, what + ': ' + r.raw);
    seq++;
  }
  stub.mutate = null; stub.tamperBundle = null;
  ok(!/APP v([2-9]|\d\d) up/.test(b.out), 'no rejected program ever ran');
  const at = b.out.length;
  await b.wait(/TICK v1/, 3000, at);
  b.cut();
  const s = b.state();
  eq(s.st.c.s, 1, 'still v1');
  ok(!s.files.some((f) => /^ota\.a([2-9]|\d\d)/.test(f)), 'no candidate left: ' + s.files);
  const ctrs = stub.reports.map((r) => r.ctr);
  ok(ctrs.every((c, i) => i === 0 || c > ctrs[i - 1]), 'ctr strictly increasing: ' + ctrs);
});

test('a server that ignores Range (200, whole body): the file is started again, confirmed', async () => {
  const b = boardOnV1();
  stub.release(2, APP('v2') + '//' + 'r'.repeat(6000));
  stub.noRange = true; stub.cutAfter = 2500; stub.target = 2;
  await b.on();
  await until(has('confirmed', 2, 0), 15000, 'confirmed');
  ok(stub.bundleGets.length >= 2 && stub.bundleGets[1] > 0, 'asked for a range: ' + stub.bundleGets);
  ok(!stub.reports.some((r) => r.state === 'failed' || r.state === 'rejected'), stub.states().join());
  b.cut();
});

test('a download that stalls (socket open, silent): the watchdog gives up, then it resumes', async () => {
  const b = boardOnV1();
  stub.release(2, APP('v2') + '//' + 's'.repeat(5000));
  stub.stallAfter = 2000; stub.target = 2;
  await b.on();
  await until(has('confirmed', 2, 0), 20000, 'confirmed');
  eq(stub.bundleGets.length, 2, 'two requests: ' + stub.bundleGets);
  ok(stub.bundleGets[1] > 0 && stub.bundleGets[1] <= 2000, 'resumed at ' + stub.bundleGets[1]);
  b.cut();
});

test('an absolute http://HOST:PORT/ bundle URL (a CDN) is fetched from that host', async () => {
  const b = boardOnV1();
  const cdn = createStub();
  await cdn.listen();
  try {
    stub.release(2, APP('v2'));
    cdn.releases = stub.releases;
    stub.mutate = (m) => { m.url = 'http://127.0.0.1:' + cdn.port + m.url; };
    stub.target = 2;
    await b.on();
    await until(has('confirmed', 2, 0), 15000, 'confirmed');
    eq(cdn.bundleGets.length, 1, 'bundle from the CDN');
    eq(stub.bundleGets.length, 0, 'not from the server');
  } finally { await cdn.close(); b.cut(); }
});

test('the confirmed program is corrupted in flash: golden program, failed (73) reported, v1 installed again', async () => {
  const b = boardOnV1();
  const f = path.join(b.dir, 'espruino.flash');
  const img = fs.readFileSync(f);
  const i = img.indexOf('APP="v1"');
  ok(i > 0, 'program found in the flash image');
  img[i + 5] ^= 0x01;                      // a bit flips
  fs.writeFileSync(f, img);
  stub.target = 0;
  await b.on();
  await until(has('failed', 1, 73), 8000, 'failed: no valid program');
  ok(!/APP v1 up/.test(b.since()), 'the corrupted program did not run');
  stub.target = 1;
  await until(has('confirmed', 1, 0), 15000, 'v1 again');
  await b.wait(/TICK v1/, 5000);
  b.cut();
});

test('no network (connection refused, thrown on Linux) and a server that never answers: back off, recover', async () => {
  const b = boardOnV1();
  await b.on();
  await b.wait(/TICK v1/, 5000);
  await stub.down();
  const at = b.out.length;
  await sleep(2500);
  ok(!/Uncaught/.test(b.out.substring(at)), 'no exception escapes: ' + b.out.substring(at).slice(-300));
  await stub.up();
  stub.blackhole = true;
  await sleep(4000);                        // longer than the 3 s watchdog
  stub.blackhole = false;
  for (const s of stub.held) s.destroy();
  stub.release(2, APP('v2'));
  stub.target = 2;
  await until(has('confirmed', 2, 0), 20000, 'recovered');
  ok((b.out.substring(at).match(/TICK v1/g) || []).length >= 10, 'the app kept running');
  b.cut();
});

// Power cut in the middle of the N-th flash operation, for every N of a
// whole update (or revert); after it the board must run v1 or v2 (never
// nothing, never the golden program) and end where it should.  WORKERS
// boards at a time, each against its own stub.
function boardFor(sb) {
  const b = new L.Board(path.join(W, 'b' + (++nb)), ESP.espruino, 'b' + nb);
  boards.push(b);
  fs.copyFileSync(template, path.join(b.dir, 'espruino.flash'));
  if (sb !== stub) b.script('var S=require("Storage"),c=S.readJSON("ota.cfg");c.port=' + sb.port + ';S.write("ota.cfg",JSON.stringify(c));');
  sb.reset();
  sb.release(1, APP('v1'));
  return b;
}
async function everyCut(what, code, want) {
  if (!shim) throw new Error('flashcut.so not built (cc)');
  // count the operations of the whole thing, uninterrupted
  let b = boardFor(stub);
  stub.release(2, code); stub.target = 2;
  const log = path.join(W, 'ops'), trace = path.join(W, 'trace');
  try { fs.unlinkSync(trace); } catch (e) { /* first */ }
  await b.on({ env: env({ LD_PRELOAD: shim, OTA_FLASH_LOG: log, OTA_FLASH_TRACE: trace }) });
  await until(() => want.done(stub), 25000, what + ' (uncut)');
  await sleep(300);
  b.cut();
  const total = +fs.readFileSync(log, 'utf8');
  // where the part under test starts: want.from(trace lines) (default: op 1)
  const from = want.from ? want.from(fs.readFileSync(trace, 'latin1').split('\n')) : 1;
  let tested = 0;
  async function one(sb, n) {
    const t0 = Date.now();
    try { await one1(sb, n); } finally { if (process.env.DEBUG_CUT) console.log('# cut ' + n + ': ' + (Date.now() - t0) + ' ms'); }
  }
  async function one1(sb, n) {
    const x = boardFor(sb);
    sb.release(2, code); sb.target = 2;
    await x.on({ env: env({ LD_PRELOAD: shim, OTA_FLASH_CUT: String(n) }) });
    await until(() => !x.proc || want.done(sb), 25000, 'cut at op ' + n);
    if (x.proc) { x.cut(); return; }          // this run had fewer operations: done uncut
    x.cut();
    const at = x.out.length;
    await x.on();
    await x.wait(/APP v[12] up/, 8000, at).catch(() => { throw new Error('no program runs after a cut at op ' + n + ' of ' + total + ': ' + x.out.slice(-400)); });
    await until(() => want.end(x, sb), 25000, what + ' completes after a cut at op ' + n);
    x.cut();
    const s = x.state();
    ok(want.final(s), 'final state after a cut at op ' + n + ': ' + JSON.stringify(s.st));
    tested++;
  }
  const ns = [];
  for (let n = from; n <= total; n++) if (!process.env.OTA_CUT_ONLY || +process.env.OTA_CUT_ONLY === n) ns.push(n);
  await Promise.all(stubs.map(async (sb, w) => { for (let i = w; i < ns.length; i += stubs.length) await one(sb, ns[i]); }));
  return { total, tested, from };
}

test('power cut in the middle of every flash operation of an update: always a verified program, then v2', async () => {
  const r = await everyCut('update', APP('v2'), {
    done: (s) => s.reports.some((x) => x.state === 'confirmed' && x.seq === 2),
    end: (b, s) => s.reports.some((x) => x.state === 'confirmed' && x.seq === 2) && /TICK v2/.test(b.since()),
    final: (s) => s.st.c.s === 2 && !s.st.t,
  });
  console.log('# power-cut points tested in one update: ' + r.tested + ' of ' + r.total + ' flash operations');
  ok(r.tested >= 10, 'cut points ' + r.tested);
});

test('power cut in the middle of every flash operation of a revert: v1 always comes back', async () => {
  const r = await everyCut('revert', 'APP="v2";print("APP v2 up");throw new Error("bad v2");', {
    done: (s) => s.reports.some((x) => x.state === 'rolled_back' && x.seq === 2),
    end: (b, s) => s.reports.some((x) => x.state === 'rolled_back' && x.seq === 2 && x.code === 80) && /APP v1 up[\s\S]*TICK v1/.test(b.since()),
    final: (s) => s.st.c.s === 1 && !s.st.t && s.st.x === 2,
    // the revert starts where the download ends: the save that puts v2 on
    // trial (cuts during the download are the update test's)
    from: (lines) => {
      const i = lines.findIndex((l) => /:\{"n":\d+,/.test(l) && /"s":"downloaded"/.test(l));
      if (i < 0) throw new Error('no "downloaded" save in the trace');
      return +lines[i].split(' ')[0];
    },
  });
  console.log('# power-cut points tested in one revert: ' + r.tested + ' of flash operations ' + r.from + '..' + r.total +
    ' (from the save that starts the trial)');
  ok(r.tested >= 8, 'cut points ' + r.tested);
});

(async () => {
  if (!ESP) {
    console.log('skipped: no Espruino interpreter (set ESPRUINO=/path/to/dir-with-espruino, or build it from ' +
      'the public espruino/Espruino repository at commit c5ff787b: make BOARD=LINUX); the real-interpreter suite did not run');
    await run('device-real-agent', { skip: 'no Espruino interpreter' });
    fs.rmSync(W, { recursive: true, force: true });
    process.exit(0);
  }
  let fail = 0;
  try {
    try {
      shim = path.join(W, 'flashcut.so');
      execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', shim, path.join(__dirname, 'flashcut.c'), '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) { shim = null; }
    await otad.start();
    for (const x of stubs) await x.listen();
    // one board: provisioned by `otasign device add` (polling the stub), v1 confirmed
    const b = new L.Board(path.join(W, 'template'), ESP.espruino, 'template');
    boards.push(b);
    b.fill(48 * 1024);
    const out = path.join(W, 'dev-1.provision.js');
    execFileSync(L.OTASIGN, ['device', 'add', 'dev-1', '--server', 'http://127.0.0.1:' + otad.port,
      '--token-file', path.join(W, 'token'), '--app', 'logger', '--device-server', 'http://127.0.0.1:' + stub.port,
      '--out', out, '--poll', '1', '--trial', '3', '--tries', '2', '--max', '16000'], { cwd: L.ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    await b.provision(out, Object.assign({}, L.FAST, { first: 50 }));
    const cfg = JSON.parse(/CFG=(.*)/.exec(b.script('print("CFG="+require("Storage").read("ota.cfg"))'))[1]);
    for (const x of stubs) x.secret = Buffer.from(cfg.key, 'hex');
    stub.reset();
    stub.release(1, APP('v1'));
    stub.target = 1;
    await b.on();
    await until(has('confirmed', 1, 0), 20000, 'template board v1 confirmed');
    await b.wait(/TICK v1/, 5000);
    await sleep(300);
    b.cut();
    template = path.join(W, 'template.flash');
    fs.copyFileSync(path.join(b.dir, 'espruino.flash'), template);
    otad.stop();
    fail = await run('device-real-agent', {
      filter: process.argv[2],
      onFail: () => { for (const x of boards) { if (process.env.DEBUG_FAIL) console.log('--- ' + x.name + '\n' + x.out.slice(-3000)); x.cut(); } },
    });
  } catch (e) {
    console.log('FAIL setup: ' + (e.stack || e));
    console.log('device-real-agent: 0 passed, 1 failed, 0 skipped');
    fail = 1;
  }
  for (const x of boards) x.cut();
  otad.stop();
  for (const x of stubs) await x.close().catch(() => {});
  if (!process.env.KEEP) fs.rmSync(W, { recursive: true, force: true });
  process.exit(fail ? 1 : 0);
})();

'use strict';
// The Espruino agent against the REAL otad and the real otasign: releases made
// with `otasign release`, devices registered with `otasign device add` (the
// provisioning script it writes is what gets uploaded to the emulated board),
// otad on 127.0.0.1:0 with a temporary data directory, killed by PID.  Between
// the board and otad sits a small man-in-the-middle proxy that can tamper
// with answers, like an attacker on the network.
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn, execFileSync } = require('child_process');
const { createBoard } = require('./espruino-emu');
const { FAST } = require('./install');
const { test, ok, eq, run, sleep, until } = require('./t');

const ROOT = process.env.OTA_ROOT || path.resolve(__dirname, '../..');
const BIN = path.resolve(ROOT, process.env.OTA_BIN || 'build/bin');
const OTASIGN = process.env.OTASIGN || path.join(BIN, 'otasign');
const OTAD = path.join(BIN, 'otad');
const TOKEN = 'espruino-e2e-admin-token-0123456789';
const W = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-espruino-'));
let otad = null, port = 0, proxy = null;

// ---- otad --------------------------------------------------------------------
async function startOtad() {
  execFileSync(OTASIGN, ['keygen', '--out', path.join(W, 'rel')], { stdio: 'ignore' });
  fs.writeFileSync(path.join(W, 'token'), TOKEN + '\n');
  const portFile = path.join(W, 'port');
  otad = spawn(OTAD, ['--data', path.join(W, 'data'), '--listen', '127.0.0.1:0', '--quiet',
    '--port-file', portFile, '--release-pub', path.join(W, 'rel.pub'), '--poll-interval', '1'],
  { env: Object.assign({}, process.env, { OTAD_ADMIN_TOKEN: TOKEN }), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  otad.stderr.on('data', (d) => { err += d; });
  await until(() => fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim() || otad.exitCode !== null, 10000, 'otad port');
  if (otad.exitCode !== null) throw new Error('otad did not start: ' + err);
  port = +fs.readFileSync(portFile, 'utf8').trim();
}
function admin(method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request({ host: '127.0.0.1', port, path: p, method,
      headers: Object.assign({ Authorization: 'Bearer ' + TOKEN }, data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}) },
    (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => { let j = null; try { j = JSON.parse(b); } catch (e) { /* not JSON */ } resolve({ status: res.statusCode, body: b, json: j }); });
    });
    req.on('error', reject);
    req.end(data);
  });
}
// otasign release + POST /admin/releases + POST /admin/rollouts (100%)
async function publish(app, seq, code) {
  const src = path.join(W, app + '-' + seq + '.js');
  fs.writeFileSync(src, code);
  const out = path.join(W, 'releases');
  execFileSync(OTASIGN, ['release', src, '--key', path.join(W, 'rel.key'), '--app', app, '--seq', String(seq),
    '--label', 'v' + seq, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const dir = path.join(out, app + '-' + seq);
  let r = await admin('POST', '/admin/releases', {
    statement: fs.readFileSync(path.join(dir, 'statement.bin')).toString('base64'),
    bundle: fs.readFileSync(path.join(dir, 'bundle.js')).toString('base64') });
  if (r.status !== 200 && r.status !== 201) throw new Error('publish: ' + r.status + ' ' + r.body);
  r = await admin('POST', '/admin/rollouts', { app, seq, percent: 100 });
  if (r.status !== 200 && r.status !== 201) throw new Error('rollout: ' + r.status + ' ' + r.body);
}
async function deviceReleases(id) {
  const r = await admin('GET', '/admin/devices/' + id);
  return r.json || {};
}
function serverHas(id, app, seq, state, detail) {
  let last = null;
  const f = async () => {
    const d = await deviceReleases(id);
    last = d;
    return (d.reports || []).some((x) => x.app === app && x.seq === seq && x.state === state &&
      (detail === undefined || x.detail === detail));
  };
  f.last = () => JSON.stringify(last);
  return f;
}
async function untilAsync(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error('timed out: ' + what + (fn.last ? ' ' + fn.last() : ''));
    await sleep(50);
  }
}

// ---- the man in the middle ------------------------------------------------------
// Buffers each whole exchange (the board speaks HTTP/1.0 with Connection:
// close), lets `tamper(head, body)` rewrite the answer, logs request heads.
function startProxy() {
  const px = { tamper: null, heads: [] };
  px.server = net.createServer((c) => {
    let reqBuf = Buffer.alloc(0), up = null, resp = [];
    c.on('data', (d) => {
      reqBuf = Buffer.concat([reqBuf, d]);
      if (!up) {
        up = net.connect(port, '127.0.0.1');
        up.on('data', (x) => resp.push(x));
        up.on('end', () => {
          let all = Buffer.concat(resp);
          const i = all.indexOf('\r\n\r\n');
          const head = reqBuf.subarray(0, reqBuf.indexOf('\r\n\r\n')).toString('latin1');
          if (px.tamper && i > 0) {
            const body = Buffer.from(all.subarray(i + 4));
            const nb = px.tamper(head, body);
            if (nb === 'drop') return c.destroy();
            if (nb) all = Buffer.concat([all.subarray(0, i + 4), nb]);
          }
          c.end(all);
        });
        up.on('error', () => c.destroy());
      }
      up.write(d);
      const h = reqBuf.toString('latin1');
      if (h.includes('\r\n\r\n') && !px.logged) { px.heads.push(h.split('\r\n\r\n')[0]); }
    });
    c.on('error', () => { if (up) up.destroy(); });
  });
  return new Promise((r) => px.server.listen(0, '127.0.0.1', () => { px.port = px.server.address().port; r(px); }));
}

// ---- boards -----------------------------------------------------------------------
// Register the device with `otasign device add`, upload the script it wrote to a
// fresh board; then (for test speed only) shorten the agent's timings in ota.cfg.
function provision(id, app, extra, bopts) {
  const out = path.join(W, id + '.provision.js');
  const args = ['device', 'add', id, '--server', 'http://127.0.0.1:' + port, '--token-file', path.join(W, 'token'),
    '--app', app, '--device-server', 'http://127.0.0.1:' + proxy.port, '--out', out, '--tries', '2', '--trial', '1'];
  const txt = execFileSync(OTASIGN, args.concat(extra || []), { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const script = fs.readFileSync(out, 'latin1');
  const b = createBoard(bopts);
  b.powerOn();                       // a board with nothing on it yet
  b.eval(script);                    // what the IDE does: send it to the console
  return { board: b, script, out: txt, file: out };
}
function speedUp(b) {
  b.powerCut();
  const cfg = JSON.parse(b.storage.read('ota.cfg'));
  b.storage.write('ota.cfg', JSON.stringify(Object.assign(cfg, FAST, { max: cfg.max })));
}
const APPCODE = (v) => `APP="${v}";setTimeout(function(){ota.confirm()},30);`;
function app(b) { try { return b.session && !b.session.dead ? b.eval('typeof APP=="string"?APP:undefined') : undefined; } catch (e) { return undefined; } }

// A board on v1 of `appname`, confirmed, as the server sees it.
async function deviceOnV1(id, appname) {
  await publish(appname, 1, APPCODE('v1'));
  const p = provision(id, appname);
  speedUp(p.board);
  if (process.env.DEBUG) p.board.opts.quiet = false;
  p.board.powerOn();
  await untilAsync(serverHas(id, appname, 1, 'confirmed'), 10000, id + ' v1 confirmed');
  await until(() => app(p.board) === 'v1', 3000, 'v1 running');
  return p.board;
}

test('otasign device add: one-time script with agent, config, secret, boot code, golden program', async () => {
  const p = provision('dev-prov', 'prov-app');
  ok(/device dev-prov added/.test(p.out), p.out);
  eq((fs.statSync(p.file).mode & 0o777).toString(8), '600', 'script mode');
  const S = p.board.storage;
  for (const f of ['ota', 'ota.cfg', 'ota.gold', '.boot0', '.bootcde']) ok(S.read(f) !== undefined, f + ' written');
  const cfg = JSON.parse(S.read('ota.cfg'));
  eq(cfg.id, 'dev-prov'); eq(cfg.app, 'prov-app'); eq(cfg.port, proxy.port);
  ok(/^[0-9a-f]{64}$/.test(cfg.key), 'per-device secret');
  ok(S.read('ota').length < fs.statSync(path.join(ROOT, 'device/espruino/ota.js')).size, 'agent minified');
  // the script's load() restarted the board into the golden program
  await until(() => p.board.sessions >= 3, 2000, 'restart after provisioning');
  eq(app(p.board), undefined, 'golden program: no app');
  eq(p.board.eval('typeof ota.confirm'), 'function', 'agent loaded by .boot0');
  // the server knows the device and holds a secret for it
  const d = await deviceReleases('dev-prov');
  eq(d.has_secret, true);
  // a second add of the same id is refused: the secret is shown only once
  let err = '';
  try { provision('dev-prov', 'prov-app', ['--force']); } catch (e) { err = String(e.stderr); }
  ok(/already exists/.test(err), 'second add refused by otad: ' + err);
  p.board.powerCut();
});

test('update and confirm: golden -> v1 -> v2, every report accepted by otad', async () => {
  const b = await deviceOnV1('dev-upd', 'upd');
  await publish('upd', 2, APPCODE('v2'));
  await untilAsync(serverHas('dev-upd', 'upd', 2, 'confirmed'), 10000, 'v2 confirmed');
  await until(() => app(b) === 'v2', 3000);
  const d = await deviceReleases('dev-upd');
  const states = d.reports.filter((r) => r.seq === 2).map((r) => r.state).reverse().join();
  eq(states, 'downloading,downloaded,trial,confirmed');
  eq(b.storage.read('ota.a1'), undefined, 'v1 file erased after v2 confirmed');
  b.powerCut();
});

test('throw at start: the device returns to v1 by itself and otad records rolled_back', async () => {
  const b = await deviceOnV1('dev-thr', 'thr');
  await publish('thr', 2, 'APP="v2";throw new Error("v2 is broken");');
  await untilAsync(serverHas('dev-thr', 'thr', 2, 'rolled_back'), 12000, 'rolled back');
  await until(() => app(b) === 'v1', 3000, 'v1 again');
  ok(b.log.some((l) => /v2 is broken/.test(l)), 'the exception was seen');
  // otad never offers it again: no second download
  await sleep(800);
  const d = await deviceReleases('dev-thr');
  eq(d.reports.filter((r) => r.seq === 2 && r.state === 'downloading').length, 1);
  b.powerCut();
});

test('never confirms, power cut during the trial: back to v1, rolled_back', async () => {
  const b = await deviceOnV1('dev-cut', 'cut');
  await publish('cut', 2, 'APP="v2";');
  await until(() => app(b) === 'v2', 10000, 'v2 on trial');
  b.powerCut();                      // power lost during the trial
  await sleep(50);
  b.powerOn();
  await untilAsync(serverHas('dev-cut', 'cut', 2, 'rolled_back'), 10000, 'rolled back');
  await until(() => app(b) === 'v1', 3000);
  b.powerCut();
});

test('tampered bundle on the wire: rejected (hash mismatch), v1 keeps running', async () => {
  const b = await deviceOnV1('dev-tb', 'tb');
  proxy.tamper = (head, body) => { if (/^GET \/bundle\//.test(head) && body.length > 3) { body[3] ^= 0x20; return body; } };
  try {
    await publish('tb', 2, APPCODE('v2'));
    await untilAsync(serverHas('dev-tb', 'tb', 2, 'rejected', 'hash mismatch'), 10000, 'rejected');
  } finally { proxy.tamper = null; }
  eq(app(b), 'v1');
  eq(b.storage.read('ota.a2'), undefined, 'nothing left of the bad download');
  b.powerCut();
});

test('tampered MAC on the wire: rejected (bad mac), v1 keeps running', async () => {
  const b = await deviceOnV1('dev-tm', 'tm');
  proxy.tamper = (head, body) => {
    if (!/^GET \/manifest\//.test(head) || !body.length) return;
    const s = body.toString('latin1').replace(/"mac":"(.)/, (m, c) => '"mac":"' + (c === '0' ? '1' : '0'));
    return Buffer.from(s, 'latin1');
  };
  try {
    await publish('tm', 2, APPCODE('v2'));
    await untilAsync(serverHas('dev-tm', 'tm', 2, 'rejected', 'bad mac'), 10000, 'rejected');
  } finally { proxy.tamper = null; }
  eq(app(b), 'v1');
  eq(b.storage.read('ota.a2'), undefined, 'nothing downloaded');
  b.powerCut();
});

test('replayed offer (old nonce) on the wire: rejected (stale nonce), v1 keeps running', async () => {
  const b = await deviceOnV1('dev-rp', 'rp');
  let saved = null;
  proxy.tamper = (head, body) => {
    if (!/^GET \/manifest\//.test(head) || !body.length) return;
    if (!saved) { saved = Buffer.from(body); return 'drop'; }   // the device never sees it
    return saved;                           // then replay it: old nonce
  };
  try {
    await publish('rp', 2, APPCODE('v2'));
    await untilAsync(serverHas('dev-rp', 'rp', 2, 'rejected', 'stale nonce'), 10000, 'replay rejected');
  } finally { proxy.tamper = null; }
  eq(app(b), 'v1');
  b.powerCut();
});

test('resume after a dropped download: Range request, then confirmed', async () => {
  const b = await deviceOnV1('dev-rs', 'rs');
  proxy.heads = [];
  b.net.dropAfter = 1500;
  await publish('rs', 2, APPCODE('v2') + '\nvar pad="' + 'p'.repeat(5000) + '";');
  await untilAsync(serverHas('dev-rs', 'rs', 2, 'confirmed'), 12000, 'confirmed');
  const gets = proxy.heads.filter((h) => /^GET \/bundle\//.test(h));
  ok(gets.length >= 2, 'two bundle requests');
  ok(!/Range/i.test(gets[0]) && /\r\nRange: bytes=[1-9]\d*-/.test(gets[1]), 'second one resumes: ' + gets[1]);
  const d = await deviceReleases('dev-rs');
  eq(d.reports.filter((r) => r.seq === 2 && r.state === 'downloading').length, 1, 'one download');
  console.log('# response bytes held in RAM at once with otad (its manifest or one piece): at most ' + b.heapPeak);
  ok(b.heapPeak <= 2048, 'held ' + b.heapPeak);
  b.powerCut();
});

test('signed tier against otad: a firmware with E.ed25519verify checks both signatures', async () => {
  await publish('sig', 1, APPCODE('v1'));
  const p = provision('dev-sig', 'sig', ['--release-pub', path.join(W, 'rel.pub'), '--no-secret'], { ed25519: true });
  const cfg = JSON.parse(p.board.storage.read('ota.cfg'));
  ok(cfg.srv && cfg.rel && cfg.key === undefined, 'keys, no secret: ' + JSON.stringify(cfg));
  speedUp(p.board);
  p.board.powerOn();
  await untilAsync(serverHas('dev-sig', 'sig', 1, 'confirmed'), 10000, 'v1 confirmed');
  // a statement signed with a key the device does not trust never installs,
  // even though the server (which trusts it) offers it
  proxy.tamper = (head, body) => {
    if (!/^GET \/manifest\//.test(head) || !body.length) return;
    const m = JSON.parse(body.toString('latin1'));
    const st = Buffer.from(m.statement, 'base64');
    st[300] ^= 1;                           // break the release signature
    m.statement = st.toString('base64');
    return Buffer.from(JSON.stringify(m), 'latin1');
  };
  try {
    await publish('sig', 2, APPCODE('v2'));
    // the ticket names the statement's hash, so the change shows there first
    await untilAsync(serverHas('dev-sig', 'sig', 2, 'rejected', 'ticket for another statement'), 10000, 'rejected');
  } finally { proxy.tamper = null; }
  eq(app(p.board), 'v1');
  p.board.powerCut();
});

test('reports without the device MAC are refused by otad (nobody can forge failures)', async () => {
  const body = JSON.stringify({ app: 'upd', seq: 2, state: 'failed', detail: 'forged' });
  const post = (hdr) => new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/report/dev-upd', method: 'POST',
      headers: Object.assign({ 'Content-Type': 'application/json', 'Content-Length': body.length }, hdr) },
    (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.end(body);
  });
  eq(await post({}), 401, 'no MAC');
  eq(await post({ 'X-OTA-MAC': '0'.repeat(64) }), 401, 'wrong MAC');
  const d = await deviceReleases('dev-upd');
  ok(!d.reports.some((r) => r.detail === 'forged'), 'not stored');
});

(async () => {
  try {
    if (!fs.existsSync(OTAD)) throw new Error(OTAD + ' not built');
    await startOtad();
    proxy = await startProxy();
  } catch (e) {
    console.log('FAIL setup: ' + e.message);
    console.log('espruino-otad: 0 passed, 1 failed');
    if (otad) otad.kill('SIGKILL');
    process.exit(1);
  }
  process.on('exit', () => { if (otad) otad.kill('SIGKILL'); fs.rmSync(W, { recursive: true, force: true }); });
  await run('espruino-otad', process.argv[2]);
})();

'use strict';
// The Espruino agent on the REAL Espruino interpreter (Linux build of 2v29),
// against the real otad and releases made by `otasign release`, provisioned
// from the script `otasign device add` writes.  Between board and otad sits
// a loopback proxy (lib.js) that records the exact bytes and can pace, cut,
// tamper and replay.  Without an interpreter the whole suite is skipped
// (and says so); see device/espruino/README.md.
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');
const L = require('./lib');
const fx = require('./fixtures');
const { test, ok, eq, run } = require('./t');
const { until, sleep } = L;

const ESP = L.findEspruino();
const W = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-device-real-'));
const otad = new L.Otad(W);
let proxy = null;
const figures = [];
const NPORT = 40000 + (process.pid % 20000);   // UDP nudges, loopback
const boards = [];

// A release that prints its version, ticks, and confirms after 200 ms.
const APP = (v, extra) => 'APP="' + v + '";print("APP ' + v + ' up");' +
  'setInterval(function(){print("TICK ' + v + '")},400);' +
  'setTimeout(function(){print("CONFIRM ' + v + ' "+ota.confirm())},200);' + (extra || '');

// Register `id` with `otasign device add`, upload its script to a fresh
// board directory (Storage filled to `free` bytes first, like a Pico's 48 KB).
async function provision(id, app, o) {
  o = o || {};
  // OTA_PICO=1: every board on espruino-pico (5100 variables, like a Pico)
  const bin = o.pico || process.env.OTA_PICO === '1' ? ESP.pico : ESP.espruino;
  if (!bin) throw new Error('no espruino-pico next to ' + ESP.espruino);
  const b = new L.Board(path.join(W, 'boards', id), bin, id);
  boards.push(b);
  if (o.free !== 0) b.fill(o.free || 48 * 1024);
  const out = path.join(W, id + '.provision.js');
  execFileSync(L.OTASIGN, ['device', 'add', id, '--server', 'http://127.0.0.1:' + otad.port,
    '--token-file', path.join(W, 'token'), '--app', app, '--device-server', 'http://127.0.0.1:' + proxy.port,
    '--out', out, '--poll', '1', '--trial', String(o.trial || 3), '--tries', '2'].concat(o.args || []),
  { cwd: L.ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  await b.provision(out, Object.assign({}, L.FAST, o.tune || {}));
  return b;
}
// A report the board sent AND otad accepted (200; 204 in the compact form), as the proxy saw it.
function reported(id, seq, state, code, detail) {
  const f = () => proxy.reports(id).find((r) => r.body && r.body.seq === seq && r.body.state === state &&
    (code === undefined || r.body.code === code) && (detail === undefined || (r.body.detail || '').match(detail)) &&
    r.rec.status === (r.compact ? 204 : 200));
  f.last = () => JSON.stringify(proxy.reports(id).map((r) => [r.raw, r.rec.status]).slice(-6));
  return f;
}
// A board on v1 of `app`, confirmed.
async function onV1(id, app, o) {
  await otad.publish(app, 1, APP('v1'));
  const b = await provision(id, app, o);
  await b.on();
  await until(reported(id, 1, 'confirmed', 0), 20000, id + ' v1 confirmed');
  await b.wait(/TICK v1/, 5000);
  return b;
}
// A poll answered "nothing to do" (the update's bytes are the others).
function idlePoll(r) { return r.status === 204 && /^GET /.test(r.head); }
function bytesOf(recs) { return recs.reduce((n, r) => n + proxy.bytes(r), 0); }
function idle(b) { b.cut(); }

// ---- scenarios ------------------------------------------------------------------------

test('otasign device add: a one-time script that provisions a real board (agent, config with secret, boot code, golden)', async () => {
  const b = await provision('d-prov', 'prov', { tune: {}, args: ['--board', 'PICO_R1_3'] });
  const file = path.join(W, 'd-prov.provision.js');
  eq((fs.statSync(file).mode & 0o777).toString(8), '600', 'script mode');
  const o = b.script('var S=require("Storage");print("FILES="+JSON.stringify(S.list(/^(ota|\\.boot)/)));print("CFG="+S.read("ota.cfg"));print("AGENT="+S.read("ota").length);');
  const files = JSON.parse(/FILES=(.*)/.exec(o)[1]).sort().join();
  eq(files, '.boot0,.bootcde,ota,ota.cfg,ota.gold');
  const cfg = JSON.parse(/CFG=(.*)/.exec(o)[1]);
  eq(cfg.id, 'd-prov'); eq(cfg.app, 'prov'); eq(cfg.port, proxy.port);
  ok(/^[0-9a-f]{64}$/.test(cfg.key), 'every device has its secret');
  eq(cfg.poll, 1000); eq(cfg.pmin, 1000, '--poll below 60 s is honoured (pmin)');
  ok(+/AGENT=(\d+)/.exec(o)[1] < fs.statSync(path.join(L.ROOT, 'device/espruino/ota.js')).size, 'agent minified');
  // power on: the golden program polls (nothing released yet: 204)
  await b.on();
  await until(() => proxy.polls('d-prov').filter((r) => r.status === 204).length >= 2, 8000, 'golden polls');
  const q = proxy.polls('d-prov')[0].head.split(' ')[1];
  ok(/^\/m\/d-prov\?a=prov&s=0&b=PICO_R1_3$/.test(q), 'poll (compact, no nonce when idle): ' + q);
  ok(!/Uncaught/.test(b.out), 'no exception: ' + b.out.slice(-300));
  b.cut();
  // a second add of the same id is refused: the secret is shown only once
  let err = '';
  try {
    execFileSync(L.OTASIGN, ['device', 'add', 'd-prov', '--server', 'http://127.0.0.1:' + otad.port,
      '--token-file', path.join(W, 'token'), '--app', 'prov', '--out', file, '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) { err = String(e.stderr); }
  ok(/already exists/.test(err), 'second add refused: ' + err);
  // --poll 90: pmin stays 60 s
  const out2 = path.join(W, 'd-prov2.provision.js');
  execFileSync(L.OTASIGN, ['device', 'add', 'd-prov2', '--server', 'http://127.0.0.1:' + otad.port,
    '--token-file', path.join(W, 'token'), '--app', 'prov', '--out', out2, '--poll', '90', '--nudge', '4711'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // the script stages its files in pieces (tests/espruino-upload/script.js reads them back)
  const c2 = JSON.parse(require('../espruino-upload/script').scriptFiles(fs.readFileSync(out2, 'latin1'))['ota.cfg'].data.toString('latin1'));
  eq(c2.pmin, 60000); eq(c2.poll, 90000); eq(c2.nudge, 4711);
});

test('first install and update with confirm (reports v2 accepted; bytes per idle poll and per update)', async () => {
  const b = await onV1('d-upd', 'upd');
  // an idle poll: 204, nothing to do
  const idleRec = await until(() => proxy.polls('d-upd').find((r) => r.status === 204), 8000, 'an idle poll');
  figures.push('bytes per idle poll (request + response): ' + bytesOf([idleRec]) +
    ' (' + idleRec.req.length + ' + ' + idleRec.res.length + ')');
  ok(/^GET \/m\/d-upd\?a=upd&s=1 HTTP/.test(idleRec.head), 'no board, no b=, no nonce: ' + idleRec.head.split('\r\n')[0]);
  const from = proxy.log.length;
  await otad.publish('upd', 2, APP('v2'));
  await until(reported('d-upd', 2, 'confirmed', 0), 20000, 'v2 confirmed');
  await b.wait(/TICK v2/, 5000);
  const recs = proxy.log.slice(from).filter((r) => / \/(manifest|report|m|r)\/d-upd[ ?]/.test(r.head) || /^GET \/(bundle|b)\//.test(r.head));
  const upd = recs.filter((r) => !idlePoll(r));
  figures.push('bytes per whole update v1->v2 (offer, bundle, 4 reports; request + response): ' + bytesOf(upd) +
    ' in ' + upd.length + ' exchanges, bundle ' + (await bundleSize('upd', 2)) + ' bytes');
  const states = proxy.reports('d-upd').filter((r) => r.body.seq === 2).map((r) => r.body.state).join();
  eq(states, 'downloading,downloaded,trial,confirmed');
  // ctr strictly increasing, MAC = HMAC(secret, "OTAR" || id || "\n" || body)
  const ctrs = proxy.reports('d-upd').map((r) => r.body.ctr);
  ok(ctrs.every((c, i) => i === 0 || c > ctrs[i - 1]), 'ctr increasing: ' + ctrs);
  ok(!/\bTHROWS|Uncaught/.test(b.out), 'no exception on the board');
  idle(b);
  const s = b.state();
  eq(s.st.c.s, 2, 'confirmed program is v2');
  ok(!s.files.includes('ota.a1'), 'v1 erased: ' + s.files);
});

// The agent of the previous form (commit 6459932: GET /manifest/ with a
// nonce on every poll, the JSON offer, JSON reports with X-OTA-MAC), as
// deployed boards run it: an agent directory for `otasign device add
// --agent-dir` with that ota.js and today's boot code and golden program.
function agentV1Dir() {
  const d = path.join(W, 'agent-v1');
  if (!fs.existsSync(d)) {
    fs.mkdirSync(d);
    fs.copyFileSync(path.join(__dirname, 'agent-v1', 'ota.js'), path.join(d, 'ota.js'));
    for (const f of ['boot0.js', 'bootcde.js', 'golden.js']) fs.copyFileSync(path.join(L.ROOT, 'device/espruino', f), path.join(d, f));
  }
  return d;
}
// One board through v1 (confirmed), an idle poll and a whole update to v2,
// with the bytes of each exchange as the proxy saw them.
async function wire(id, app, o) {
  const b = await onV1(id, app, o);
  const idleRec = await until(() => proxy.polls(id).find((r) => idlePoll(r)), 8000, id + ' an idle poll');
  const from = proxy.log.length;
  await otad.publish(app, 2, APP('v2'));
  await until(reported(id, 2, 'confirmed', 0), 20000, id + ' v2 confirmed');
  await b.wait(/TICK v2/, 5000);
  idle(b);
  const mine = new RegExp(' /(manifest|report|m|r)/' + id + '[ ?]');
  const recs = proxy.log.slice(from).filter((r) => !idlePoll(r) && (mine.test(r.head) || /^GET \/(bundle|b)\//.test(r.head)));
  const polls = recs.filter((r) => /^GET \/(manifest|m)\//.test(r.head));
  const offer = polls.find((r) => r.status === 200);
  const reps = proxy.reports(id).filter((r) => r.body && r.body.seq === 2);
  const bundle = await bundleSize(app, 2);
  // otad's own count of the same update (data cost, GET /admin/rollouts/<app>/cost):
  // it must equal the proxy's, class by class
  const gets = recs.filter((r) => /^GET \/(bundle|b)\//.test(r.head));
  const cost = (await otad.admin('GET', '/admin/rollouts/' + app + '/cost?seq=2')).json || {};
  const mineCost = (cost.by_device || []).find((d) => d.device === id) || {};
  eq(mineCost.manifest, bytesOf(polls), id + ': otad counts the polls of the update as the proxy saw them');
  eq(mineCost.bundle, bytesOf(gets), id + ': otad counts the bundle requests as the proxy saw them');
  eq(mineCost.reports, bytesOf(reps.map((r) => r.rec)), id + ': otad counts the reports as the proxy saw them');
  eq(mineCost.total, bytesOf(recs), id + ': otad\'s total for the update equals the proxy\'s');
  eq((cost.unattributed || {}).total, 0, id + ': every byte attributed to the board');
  const idles = proxy.log.filter((r) => idlePoll(r) && mine.test(r.head));
  const devCost = (await otad.admin('GET', '/admin/devices/' + id + '/cost')).json || {};
  eq((devCost.idle_total || {}).bytes, bytesOf(idles), id + ': otad counts its idle polls as the proxy saw them');
  return { b, idle: idleRec, upd: bytesOf(recs), n: recs.length, bundle, offer, polls: bytesOf(polls), reps,
    repBytes: bytesOf(reps.map((r) => r.rec)) / (reps.length || 1), cost: mineCost, idleCost: devCost.idle_total,
    idleProxy: bytesOf(idles), nIdle: idles.length, proxyCls: [bytesOf(polls), bytesOf(gets), bytesOf(reps.map((r) => r.rec))] };
}

test('boards on the previous agent form (6459932) are still served; wire bytes of both forms, same otad, same run', async () => {
  const old = await wire('d-wold', 'wold', { args: ['--agent-dir', agentV1Dir()] });
  const neu = await wire('d-wnew', 'wnew');
  // the old agent speaks the old form, and otad answers it in that form
  ok(/^GET \/manifest\/d-wold\?app=wold&seq=1&nonce=[0-9a-f]{32} HTTP/.test(old.idle.head), 'old form poll: ' + old.idle.head.split('\r\n')[0]);
  ok(/\r\nX-Poll-Interval: 1\r\n/.test(old.idle.res.toString('latin1')), 'old 204 keeps X-Poll-Interval');
  ok(old.offer && /\r\nContent-Type: application\/json\r\n/.test(old.offer.res.toString('latin1')), 'old form: the JSON offer');
  JSON.parse(old.offer.body.toString('latin1'));
  eq(old.reps.map((r) => r.body.state + (r.compact ? '/compact' : '') + ':' + r.rec.status).join(), 'downloading:200,downloaded:200,trial:200,confirmed:200');
  ok(old.reps.every((r) => /^[0-9a-f]{64}$/.test(r.mac)), 'old reports carry X-OTA-MAC');
  // the new agent: the compact form throughout
  ok(/^GET \/m\/d-wnew\?a=wnew&s=1 HTTP/.test(neu.idle.head), 'compact idle poll: ' + neu.idle.head.split('\r\n')[0]);
  eq(neu.reps.map((r) => r.body.state + (r.compact ? '/compact' : '') + ':' + r.rec.status).join(),
    'downloading/compact:204,downloaded/compact:204,trial/compact:204,confirmed/compact:204');
  ok(neu.offer && /^GET \/m\/d-wnew\?a=wnew&s=1&n=[0-9a-f]{32}&f=2v29(\.[0-9]+)? HTTP/.test(neu.offer.head), 'the offer answers a poll with a nonce (and the firmware, FORMAT.md 6b): ' + neu.offer.head.split('\r\n')[0]);
  ok(!/\r\nDate:/i.test(neu.idle.res.toString('latin1')) && !/\r\nDate:/i.test(neu.offer.res.toString('latin1')), 'no Date in compact answers');
  const idleN = proxy.bytes(neu.idle), idleO = proxy.bytes(old.idle);
  ok(idleN <= 200, 'compact idle poll <= 200 B: ' + idleN);
  ok(neu.offer.res.length <= 700, 'compact offer answer <= 700 B with headers: ' + neu.offer.res.length);
  const r = (a, b) => (a / b).toFixed(2);
  figures.push('wire bytes, previous form (agent of 6459932) vs compact form, one otad, one run, request + response at the proxy:');
  figures.push('  idle poll: ' + idleO + ' (' + old.idle.req.length + ' + ' + old.idle.res.length + ') vs ' + idleN + ' (' + neu.idle.req.length + ' + ' + neu.idle.res.length + '), ' + r(idleN, idleO) + 'x');
  figures.push('  offer answer (headers + body): ' + old.offer.res.length + ' vs ' + neu.offer.res.length + ', ' + r(neu.offer.res.length, old.offer.res.length) +
    'x; polls of the update (offer request and answer' + (neu.polls > proxy.bytes(neu.offer) ? ', and the 202 before it' : '') + '): ' + old.polls + ' vs ' + neu.polls);
  figures.push('  per report: ' + Math.round(old.repBytes) + ' vs ' + Math.round(neu.repBytes) + ', ' + r(neu.repBytes, old.repBytes) + 'x');
  for (const [name, w] of [['previous form', old], ['compact form', neu]])
    figures.push('  otad\'s cost API (GET /admin/rollouts/<app>/cost), ' + name + ': update ' + w.cost.total + ' B (manifest ' +
      w.cost.manifest + ', bundle ' + w.cost.bundle + ', reports ' + w.cost.reports + ') vs the proxy ' + w.upd + ' B (' +
      w.proxyCls.join(', ') + '); idle polls ' + w.idleCost.bytes + ' B in ' + w.idleCost.requests + ' vs the proxy ' +
      w.idleProxy + ' B in ' + w.nIdle);
  // the `make bench` summary (bench-wire runs this on both builds: the bytes are the same, one set of rows)
  if (process.env.OTA_PICO !== '1') {
    const srow = require('../bench/summary-row.js'), sec = 'wire bytes (real interpreter, real otad, at a proxy)', prev = 'previous form (agent 6459932)';
    srow(sec, 'idle poll, request + answer', prev, idleO, idleN);
    srow(sec, 'offer answer with headers', prev, old.offer.res.length, neu.offer.res.length);
    srow(sec, 'per report, request + answer', prev, Math.round(old.repBytes), Math.round(neu.repBytes));
    srow(sec, 'whole update besides the bundle', prev, old.upd - old.bundle, neu.upd - neu.bundle);
  }
  figures.push('  whole update v1->v2 besides the ' + old.bundle + '/' + neu.bundle + '-byte bundle: ' + (old.upd - old.bundle) + ' (' + old.n + ' exchanges) vs ' +
    (neu.upd - neu.bundle) + ' (' + neu.n + ' exchanges), ' + r(neu.upd - neu.bundle, old.upd - old.bundle) + 'x');
});

async function bundleSize(app, seq) { return fs.statSync(path.join(W, 'releases', app + '-' + seq, 'bundle.js')).size; }

test('app that calls ota.confirm() at its top level: the rest of its top level runs, confirmed is counted', async () => {
  const b = await onV1('d-top', 'top');
  await otad.publish('top', 2, 'APP="v2";print("TOP confirm "+ota.confirm());print("TOP after");setInterval(function(){print("TICK v2")},400);');
  await until(reported('d-top', 2, 'confirmed', 0), 20000, 'v2 confirmed');
  await b.wait(/TOP confirm true[\s\S]*TOP after[\s\S]*TICK v2/, 5000);
  await sleep(1500);
  const bad = proxy.reports('d-top').filter((r) => r.rec.status !== (r.compact ? 204 : 200));
  eq(bad.length, 0, 'every report accepted: ' + JSON.stringify(bad.map((r) => [r.raw, r.rec.status])));
  ok(!proxy.reports('d-top').some((r) => r.body.seq === 2 && r.body.state === 'trial'), 'no trial report after the confirm');
  const d = await otad.device('d-top');
  ok(JSON.stringify(d).includes('confirmed'), 'otad counts it');
  idle(b);
});

test('release that throws at start: reverted to v1, rolled_back code 80 with the exception text', async () => {
  const b = await onV1('d-thr', 'thr');
  await otad.publish('thr', 2, 'APP="v2";print("APP v2 up");throw new Error("kaboom in v2");');
  await until(reported('d-thr', 2, 'rolled_back', 80, /kaboom in v2/), 30000, 'rolled back with the text');
  await b.wait(/APP v2 up[\s\S]*APP v1 up[\s\S]*TICK v1/, 8000);
  idle(b);
  const s = b.state();
  eq(s.st.c.s, 1, 'v1 confirmed again'); eq(s.st.t, 0, 'no trial'); eq(s.st.x, 2, 'v2 remembered as rolled back');
});

test('release that never confirms, with power cuts during its trial: reverted, rolled_back code 81', async () => {
  const b = await onV1('d-hang', 'hang', { trial: 30 });
  await otad.publish('hang', 2, 'APP="v2";print("APP v2 up");setInterval(function(){print("TICK v2")},400);');
  const at = b.out.length;
  await b.wait(/APP v2 up/, 20000, at);
  b.cut();                                  // power lost during the trial (attempt 1)
  await b.on();
  await b.wait(/APP v2 up/, 10000);
  b.cut();                                  // and again (attempt 2)
  await b.on();                             // tries = 2: back to v1
  await b.wait(/APP v1 up/, 10000);
  await until(reported('d-hang', 2, 'rolled_back', 81, /not confirmed after 2 attempts/), 15000, 'rolled back (81)');
  idle(b);
});

test('power cut mid-download: resumed with Range at the first unwritten byte; a damaged resume is caught by the hash; confirmed', async () => {
  const b = await onV1('d-cut', 'cut');
  const big = APP('v2', 'var PAD="' + 'abcdefghij'.repeat(800) + '";');
  proxy.pace = { match: /^GET \/(bundle|b)\//, bytes: 512, ms: 60 };
  const from = proxy.log.length;
  await otad.publish('cut', 2, big);
  const first = await until(() => proxy.log.slice(from).find((r) => /^GET \/(bundle|b)\//.test(r.head) && r.res.length > 3000), 20000, 'download under way');
  b.cut();                                  // power cut in the middle of it
  const got = first.res.length;
  proxy.pace = null;
  // the resumed part arrives damaged once: the hash over the whole file
  // catches it (rejected, hash mismatch), then a clean download installs
  let flipped = false;
  proxy.onResponse = (rec, head, body) => {
    if (!flipped && /^GET \/(bundle|b)\//.test(rec.head) && /\r\nRange:/i.test(rec.head) && body.length > 100) { flipped = true; body[body.length - 50] ^= 0x01; return body; }
  };
  await b.on();
  await until(reported('d-cut', 2, 'rejected', 22, /^hash mismatch/), 20000, 'damaged resume caught by the hash');
  await until(reported('d-cut', 2, 'confirmed', 0), 20000, 'v2 confirmed');
  proxy.onResponse = null;
  const gets = proxy.log.slice(from).filter((r) => /^GET \/(bundle|b)\//.test(r.head));
  ok(gets.length >= 2, 'two bundle requests');
  ok(!/\r\nRange:/i.test(gets[0].head), 'the first from 0');
  const m = /\r\nRange: bytes=(\d+)-/i.exec(gets[1].head);
  ok(m && +m[1] > 0 && +m[1] <= got, 'resumed with ' + gets[1].head.split('\r\n').join(' | ') + ' after ' + got + ' bytes on the wire');
  eq(gets[1].status, 206, 'partial content');
  eq(proxy.reports('d-cut').filter((r) => r.body.seq === 2 && r.body.state === 'downloading').length, 2, 'downloads: the resumed one, then one after the hash mismatch');
  ok(flipped, 'the resumed range was damaged');
  await b.wait(/TICK v2/, 5000);
  idle(b);
});

// Tampering on the wire: each refused with its reason, the board stays on v1.
const TAMPER = [
  ['bundle', 22, 'hash mismatch', (rec, head, body) => { if (/^GET \/(bundle|b)\//.test(rec.head) && body.length > 10) { body[10] ^= 0x01; return body; } }],
  ['mac', 51, 'bad mac', (rec, head, body) => manifestEdit(rec, body, (m) => { m.mac = (m.mac[0] === '0' ? '1' : '0') + m.mac.substr(1); })],
  ['statement', 49, 'ticket for another statement', (rec, head, body) => manifestEdit(rec, body, (m) => { const s = Buffer.from(m.statement, 'base64'); s[200] ^= 1; m.statement = s.toString('base64'); })],
  ['ticket', 51, 'bad mac', (rec, head, body) => manifestEdit(rec, body, (m) => { const t = Buffer.from(m.ticket, 'base64'); t[150] ^= 1; m.ticket = t.toString('base64'); })],
];
// Edit an offer in either form (the compact one through its JSON-shaped twin).
function manifestEdit(rec, body, f) {
  if (!/^GET \/(manifest|m)\//.test(rec.head) || rec.status !== 200) return;
  if (/^GET \/m\//.test(rec.head)) {
    const m = fx.decodeOffer(body);
    f(m);
    return fx.compactOffer(m);
  }
  const m = JSON.parse(body.toString('latin1'));
  f(m);
  return Buffer.from(JSON.stringify(m), 'latin1');
}
test('tampered bundle, mac, statement, ticket: each refused with its reason, v1 keeps running', async () => {
  const b = await onV1('d-tam', 'tam');
  let seq = 2;
  for (const [what, code, text, fn] of TAMPER) {
    proxy.onResponse = fn;
    await otad.publish('tam', seq, APP('v' + seq));
    await until(reported('d-tam', seq, 'rejected', code, new RegExp('^' + text)), 20000, what + ' refused (' + code + ' ' + text + ')');
    proxy.onResponse = null;
    seq++;
  }
  ok(!/APP v[2-9] up/.test(b.out), 'no tampered program ever ran');
  const at = b.out.length;
  await b.wait(/TICK v1/, 3000, at);
  idle(b);
  const s = b.state();
  eq(s.st.c.s, 1, 'still on v1');
  ok(!s.files.some((f) => /^ota\.a[2-9]/.test(f)), 'no candidate left: ' + s.files);
});

test('offer replayed within a boot and across a power cycle (E.hwRand repeats): refused as stale nonce', async () => {
  const b = await onV1('d-rep', 'rep');
  // capture the offer for v2; the board never sees it (connection cut)
  let saved = null;
  proxy.onResponse = (rec, head, body) => {
    if (/^GET \/(manifest|m)\/d-rep/.test(rec.head) && rec.status === 200 && !saved) { saved = { rec, bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]) }; return 'drop'; }
  };
  await otad.publish('rep', 2, APP('v2'));
  await until(() => saved, 10000, 'an offer captured');
  proxy.onResponse = null;
  // 1. replayed within the boot, to the next poll that sends a nonce (an
  // idle poll sends none: FORMAT.md 6b; the offer still waits, so the board
  // is told 202 and polls again with a nonce)
  const withNonce = /^GET \/(manifest|m)\/d-rep\?[^ ]*[?&]n(once)?=[0-9a-f]+[& ]/;
  proxy.replayMatch = withNonce;
  proxy.replay = saved.bytes;
  await until(reported('d-rep', 2, 'rejected', 48, /^stale nonce/), 10000, 'replay in the boot refused');
  // 2. across a power cycle: the nonce of the first poll after power on must
  // differ from the one of the first poll of the boot that was captured,
  // although E.hwRand() gives the same numbers after every power on here
  b.cut();
  const hw = (o) => /HW=(\S+)/.exec(o)[1];
  const r1 = hw(b.script('print("HW="+E.hwRand()+","+E.hwRand())')), r2 = hw(b.script('print("HW="+E.hwRand()+","+E.hwRand())'));
  const n0 = proxy.polls('d-rep').length;
  proxy.replayMatch = withNonce;
  proxy.replay = saved.bytes;
  await b.on();
  await until(() => proxy.polls('d-rep').slice(n0).some((r) => r.replayed), 10000, 'first poll with a nonce after power on answered with the old offer');
  // refused: the request after the replayed answer is a poll again, never
  // the bundle (the refusal itself is not reported twice: same outcome)
  const rp = proxy.polls('d-rep').slice(n0).find((r) => r.replayed);
  await until(() => proxy.log.slice(proxy.log.indexOf(rp) + 1).some((r) => / \/(manifest|bundle|m|b)\//.test(r.head)), 5000, 'next request');
  const next = proxy.log.slice(proxy.log.indexOf(rp) + 1).find((r) => / \/(manifest|bundle|m|b)\//.test(r.head));
  ok(/^GET \/(manifest|m)\//.test(next.head), 'after the replayed offer the board polled again: ' + next.head.split('\r\n')[0]);
  eq(proxy.polls('d-rep').slice(n0).filter((r) => withNonce.test(r.head)).indexOf(rp), 0, 'the replay answered the first poll with a nonce after power on');
  eq(r1, r2, 'E.hwRand() repeats after a power on on this build (the case the nonce must survive)');
  // idle polls carry no nonce (FORMAT.md 6b); every one sent is new
  const nonces = proxy.polls('d-rep').map((r) => /[?&]n(?:once)?=([0-9a-f]+)/.exec(r.head)).filter((x) => x).map((x) => x[1]);
  ok(nonces.length >= 2, nonces.length + ' nonces sent');
  eq(new Set(nonces).size, nonces.length, 'no nonce ever repeated (' + nonces.length + ' polls with a nonce, 2 boots)');
  // and v2 still installs through an honest offer
  await until(reported('d-rep', 2, 'confirmed', 0), 20000, 'v2 confirmed after');
  idle(b);
});

test('bundle that does not fit: refused with a clear reason (over --max; over the free Storage)', async () => {
  const b = await onV1('d-fit', 'fit', { args: ['--max', '6000'], free: 30 * 1024 });
  await otad.publish('fit', 2, APP('v2', 'var PAD="' + 'x'.repeat(7000) + '";'));
  await until(reported('d-fit', 2, 'rejected', 53, /^bundle too big/), 15000, 'over --max');
  b.cut();
  // now a board whose Storage has less free space than the bundle
  // (24 KB: provisioning stages the agent's files beside their copies, 2 x 11 KB)
  const b2 = await onV1('d-fit2', 'fit2', { args: ['--max', '60000'], free: 24 * 1024 });
  await otad.publish('fit2', 2, APP('v2', 'var PAD="' + 'y'.repeat(14000) + '";'));
  await until(reported('d-fit2', 2, 'rejected', 53, /^bundle too big: \d+ bytes, \d+ free/), 15000, 'over the free Storage');
  const at = b2.out.length;
  await b2.wait(/TICK v1/, 3000, at);
  idle(b2);
});

test('Storage filled so only 48 KB is free: three updates of 15.5 KB bundles (the default --max is 16000) in a row', async () => {
  const b = await onV1('d-48k', 'k48', { free: 48 * 1024 });
  for (let v = 2; v <= 4; v++) {
    const from = proxy.log.length;
    await otad.publish('k48', v, APP('v' + v, 'var PAD="' + String(v).repeat(15300) + '";'));
    await until(reported('d-48k', v, 'confirmed', 0), 25000, 'v' + v + ' confirmed');
    if (v === 2) {
      const upd = proxy.log.slice(from).filter((r) => !idlePoll(r) && (/ \/(manifest|report|m|r)\/d-48k[ ?]/.test(r.head) || /^GET \/(bundle|b)\//.test(r.head)));
      const bs = await bundleSize('k48', v);
      figures.push('bytes per whole update with a ' + bs + '-byte bundle (request + response): ' + bytesOf(upd) +
        ' in ' + upd.length + ' exchanges (' + (bytesOf(upd) - bs) + ' besides the bundle)');
    }
    ok(await bundleSize('k48', v) > 15000, 'bundle of ' + (await bundleSize('k48', v)) + ' bytes');
  }
  idle(b);
  const s = b.state();
  eq(s.st.c.s, 4);
  ok(s.files.includes('fill'), 'the filler is still there');
});

test('otad down and restarted mid-download: the app keeps running, polls back off, the download resumes', async () => {
  const b = await onV1('d-down', 'down');
  proxy.pace = { match: /^GET \/(bundle|b)\//, bytes: 512, ms: 80 };
  const from = proxy.log.length;
  await otad.publish('down', 2, APP('v2', 'var PAD="' + 'z'.repeat(8000) + '";'));
  await until(() => proxy.log.slice(from).find((r) => /^GET \/(bundle|b)\//.test(r.head) && r.res.length > 2000), 20000, 'download under way');
  otad.stop();                              // the server dies; the paced answer is cut
  proxy.cutActive();
  proxy.pace = null;
  const t0 = Date.now(), at = b.out.length;
  await sleep(6000);
  ok((b.out.substring(at).match(/TICK v1/g) || []).length >= 10, 'the app kept running');
  const tries = proxy.log.slice(from).filter((r) => r.t >= t0 && r.refused).map((r) => r.t - t0);
  ok(tries.length >= 2 && tries.length <= 12, 'polls back off: ' + tries.length + ' attempts in 6 s at ' + tries);
  const gaps = tries.slice(1).map((t, i) => t - tries[i]);
  ok(gaps[gaps.length - 1] >= gaps[0], 'gaps grow: ' + gaps);
  const was = otad.port;
  await otad.start();                       // same data, same port
  eq(otad.port, was, 'restarted on its port');
  await until(reported('d-down', 2, 'confirmed', 0), 25000, 'v2 confirmed after the restart');
  const gets = proxy.log.slice(from).filter((r) => /^GET \/(bundle|b)\//.test(r.head) && !r.refused);
  ok(gets.some((r) => /\r\nRange: bytes=[1-9]\d*-/i.test(r.head)), 'resumed with Range');
  idle(b);
});

test('whole update on espruino-pico (5100 variables): peak variables in use', async () => {
  if (!ESP.pico) throw new Error('no espruino-pico next to ' + ESP.espruino);
  const probe = 'var PK=0;setInterval(function(){var u=process.memory(false).usage;if(u>PK){PK=u;print("PEAK "+u+" of "+process.memory(false).total)}},5);' +
    'setTimeout(function(){print("IDLE "+process.memory().usage)},300);';
  await otad.publish('pico', 1, APP('v1', probe));
  const b = await provision('d-pico', 'pico', { pico: true, free: 48 * 1024 });
  await b.on();
  await until(reported('d-pico', 1, 'confirmed', 0), 20000, 'v1 confirmed');
  const at = b.out.length;
  await otad.publish('pico', 2, APP('v2', probe + 'var PAD="' + 'q'.repeat(14000) + '";'));
  await until(reported('d-pico', 2, 'downloaded', 0), 25000, 'v2 downloaded');
  const during = b.out.substring(at);
  const peaks = (during.match(/PEAK \d+ of \d+/g) || []).map((s) => s.split(' '));
  const peak = peaks.length ? Math.max.apply(null, peaks.map((p) => +p[1])) : 0;
  const total = peaks.length ? +peaks[0][3] : 0;
  await until(reported('d-pico', 2, 'confirmed', 0), 20000, 'v2 confirmed');
  const idleUse = +(/IDLE (\d+)/.exec(b.out) || [0, 0])[1];
  figures.push('espruino-pico: peak ' + peak + ' of ' + total + ' variables in use (' + idleUse + ' when idle after a GC) while v1 downloaded and checked a ' +
    (await bundleSize('pico', 2)) + '-byte bundle (sampled every 5 ms by the app)');
  ok(peak > 0 && total === 5100, 'peak measured on the 5100-variable build');
  ok(!/Out of Memory|MEMORY/i.test(b.out), 'no out-of-memory');
  idle(b);
});

// ---- encoding 1: heatshrink blocks (FORMAT.md 2a) ------------------------------------
// A program that compresses as real code does (not a run of one letter).
const CODE = (n) => { let c = ''; for (let i = 1; i <= n; i++) c += 'function f' + i + '(a){return a*' + i + '+"' + (i * 7919 % 1000) + '";}\n'; return c; };
// Sign a statement over altered bundle bytes with the test's release key
// (rel.key, kdf 0: the Ed25519 seed at bytes 104..135), as a release made by
// someone who means it would be: only the device's own checks stand.
function resign(dir, alter) {
  const bp = path.join(dir, 'bundle.js'), sp = path.join(dir, 'statement.bin');
  const b = alter(fs.readFileSync(bp)), st = fs.readFileSync(sp);
  crypto.createHash('sha256').update(b).digest().copy(st, 104);
  st.writeUInt32LE(b.length, 96);
  const seed = fs.readFileSync(path.join(W, 'rel.key')).subarray(104, 136);
  const key = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  crypto.sign(null, st.subarray(0, 272), key).copy(st, 272);
  fs.writeFileSync(bp, b); fs.writeFileSync(sp, st);
}
function frames(b) { const f = []; for (let o = 4; o + 2 <= b.length; o += 2 + b.readUInt16LE(o)) f.push([o, b.readUInt16LE(o)]); return f; }

test('compressed update (encoding 1): downloaded, decompressed block by block into Storage with the firmware\'s heatshrink, both hashes checked, runs; fewer bytes than identity', async () => {
  const b = await onV1('d-hs', 'hs');
  const prog = APP('v2', CODE(150));
  await otad.publish('hsid', 2, prog);                       // the same program as identity, for the figure
  const idBytes = await bundleSize('hsid', 2);
  const from = proxy.log.length;
  await otad.publish('hs', 2, prog, { encoding: 'heatshrink' });
  const rel = JSON.parse(fs.readFileSync(path.join(W, 'releases', 'hs-2', 'release.json'), 'utf8'));
  eq(rel.encoding, 'heatshrink');
  await until(reported('d-hs', 2, 'confirmed', 0), 20000, 'v2 (compressed) confirmed');
  await b.wait(/TICK v2/, 5000);
  const gets = proxy.log.slice(from).filter((r) => /^GET \/(bundle|b)\//.test(r.head));
  const wire = gets.reduce((n, r) => n + r.res.length, 0);
  figures.push('compressed update: bundle ' + rel.size + ' bytes on the wire for a ' + rel.installed_size +
    '-byte program (identity: ' + idBytes + ' bytes, ratio ' + (rel.size / idBytes).toFixed(3) + '); bundle responses ' + wire + ' bytes with headers');
  ok(rel.size < idBytes * 0.8, 'compressed: ' + rel.size + ' vs ' + idBytes);
  idle(b);
  const s = b.state();
  eq(s.st.c.s, 2, 'confirmed program is v2');
  eq(s.st.c.h, rel.installed_sha256, 'the program is kept with its installed hash');
  ok(s.files.includes('ota.a2') && !s.files.includes('ota.z2'), 'program file kept, bundle file erased: ' + s.files);
});

test('compressed update: a byte flipped in transit (transferred hash, 22) and a signed bundle with a corrupt block (54/55): refused, v1 keeps running, then a good one installs', async () => {
  const b = await onV1('d-hsbad', 'hsbad');
  let flipped = 0;
  proxy.onResponse = (rec, head, body) => { if (/^GET \/(bundle|b)\//.test(rec.head) && body.length > 100 && !flipped) { flipped = 1; body[60] ^= 0x10; return body; } };
  await otad.publish('hsbad', 2, APP('v2', CODE(60)), { encoding: 'heatshrink' });
  await until(reported('d-hsbad', 2, 'rejected', 22, /^hash mismatch/), 20000, 'flipped in transit: hash mismatch');
  proxy.onResponse = null;
  // seq 3: signed over a bundle whose second frame has a flipped bit
  await otad.publish('hsbad', 3, APP('v3', CODE(60)), { encoding: 'heatshrink', edit: (dir) => resign(dir, (bb) => {
    const f = frames(bb); bb[f[1][0] + 2 + (f[1][1] >> 1)] ^= 0x04; return bb; }) });
  const rej = await until(() => proxy.reports('d-hsbad').find((r) => r.body && r.body.seq === 3 && r.body.state === 'rejected' && r.rec.status === (r.compact ? 204 : 200)), 20000, 'corrupt block refused');
  ok(rej.body.code === 54 || rej.body.code === 55, 'code ' + rej.body.code + ' (' + rej.body.detail + ')');
  figures.push('compressed bundle with a corrupt block (validly signed): refused with code ' + rej.body.code + ' (' + rej.body.detail + ')');
  // seq 4: a frame length that runs past the bundle: the framing refuses it (54)
  await otad.publish('hsbad', 4, APP('v4', CODE(60)), { encoding: 'heatshrink', edit: (dir) => resign(dir, (bb) => {
    const f = frames(bb), l = f[f.length - 1]; bb.writeUInt16LE(l[1] + 1, l[0]); return bb; }) });
  await until(reported('d-hsbad', 4, 'rejected', 54), 20000, 'frame past the end: 54');
  await sleep(300);
  ok(/TICK v1/.test(b.out.slice(-400)), 'v1 still running');
  await otad.publish('hsbad', 5, APP('v5', CODE(60)), { encoding: 'heatshrink' });
  await until(reported('d-hsbad', 5, 'confirmed', 0), 20000, 'then a good compressed v5 installs');
  idle(b);
  const s = b.state();
  ok(!s.files.some((f) => /^ota\.[az][234]$/.test(f)), 'nothing left of the refused ones: ' + s.files);
});

test('compressed update: power cut mid-download and mid-decompression: the bundle resumes with Range, the program at its first unwritten byte; verified, confirmed', async () => {
  const b = await onV1('d-hscut', 'hscut');
  const big = APP('v2', CODE(400));
  proxy.pace = { match: /^GET \/(bundle|b)\//, bytes: 512, ms: 60 };
  const from = proxy.log.length;
  await otad.publish('hscut', 2, big, { encoding: 'heatshrink' });
  const rel = JSON.parse(fs.readFileSync(path.join(W, 'releases', 'hscut-2', 'release.json'), 'utf8'));
  const first = await until(() => proxy.log.slice(from).find((r) => /^GET \/(bundle|b)\//.test(r.head) && r.res.length > 3000), 20000, 'download under way');
  b.cut();                                  // power cut in the middle of the download
  proxy.pace = null;
  const s1 = b.state();
  eq(s1.st.d && s1.st.d.f, 'ota.z2', 'the download in the state is the bundle file');
  eq(s1.st.d.p, 'ota.a2', 'and the program file it decompresses into');
  // as if a cut had also fallen inside the decompression: the program file
  // holds its first 2048 + 700 bytes (a whole block and part of the next)
  const prog = fs.readFileSync(path.join(W, 'releases', 'hscut-2', 'program.js'));
  b.script('require("Storage").write("ota.a2",atob("' + prog.subarray(0, 2748).toString('base64') + '"),0,' + prog.length + ');');
  await b.on();
  await until(reported('d-hscut', 2, 'confirmed', 0), 25000, 'v2 confirmed after the cut');
  const gets = proxy.log.slice(from).filter((r) => /^GET \/(bundle|b)\//.test(r.head));
  const m = gets[1] && /\r\nRange: bytes=(\d+)-/i.exec(gets[1].head);
  ok(m && +m[1] > 0 && +m[1] <= first.res.length, 'bundle resumed with Range: ' + (gets[1] ? gets[1].head.split('\r\n')[0] + ' ' + (m ? m[0].trim() : 'no Range') : 'no second request'));
  eq(proxy.reports('d-hscut').filter((r) => r.body.seq === 2 && r.body.state === 'rejected').length, 0, 'nothing refused');
  await b.wait(/TICK v2/, 5000);
  idle(b);
  const s = b.state();
  eq(s.st.c.h, rel.installed_sha256, 'the program verified against its installed hash');
  ok(!s.files.includes('ota.z2'), 'bundle file erased');
});

test('Storage filled so only 48 KB is free: three compressed updates of 15.5 KB programs in a row (running program + bundle + new program side by side)', async () => {
  const b = await onV1('d-48hs', 'k48hs', { free: 48 * 1024 });
  for (let v = 2; v <= 4; v++) {
    await otad.publish('k48hs', v, APP('v' + v, CODE(433 + v)), { encoding: 'heatshrink' });
    const rel = JSON.parse(fs.readFileSync(path.join(W, 'releases', 'k48hs-' + v, 'release.json'), 'utf8'));
    ok(rel.installed_size > 15000 && rel.installed_size <= 16000, 'program of ' + rel.installed_size + ' bytes');
    await until(reported('d-48hs', v, 'confirmed', 0), 25000, 'v' + v + ' confirmed');
    if (v === 2) figures.push('48 KB free, compressed: ' + rel.installed_size + '-byte programs via ' + rel.size + '-byte bundles, three in a row');
  }
  idle(b);
  const s = b.state();
  eq(s.st.c.s, 4);
  ok(s.files.includes('fill'), 'the filler is still there');
  ok(!s.files.some((f) => /^ota\.z/.test(f)), 'no bundle file left: ' + s.files);
});

test('compressed update on espruino-pico (5100 variables): peak variables in use while decompressing', async () => {
  if (!ESP.pico) throw new Error('no espruino-pico next to ' + ESP.espruino);
  const probe = 'var PK=0;setInterval(function(){var u=process.memory(false).usage;if(u>PK){PK=u;print("PEAK "+u+" of "+process.memory(false).total)}},5);' +
    'setTimeout(function(){print("IDLE "+process.memory().usage)},300);';
  // inflate() runs synchronously (the 5 ms sampler cannot run inside it):
  // the probe also samples at the moments the agent holds the most, right
  // after each heatshrink.decompress (the frame and the block) and at each
  // Storage.write of a block (the block as a string)
  const wrap = 'var HS=require("heatshrink"),HD=HS.decompress,SS=require("Storage"),SW=SS.write,HN=0;' +
    'function HP(){var u=process.memory(false).usage;if(u>PK){PK=u;print("PEAK "+u+" of "+process.memory(false).total)}}' +
    'HS.decompress=function(a){var r=HD(a);HN++;HP();print("HSD "+HN);return r};SS.write=function(a,b,c,d){HP();return SW.apply(SS,arguments)};';
  await otad.publish('hspico', 1, APP('v1', probe + wrap));
  const b = await provision('d-hspico', 'hspico', { pico: true, free: 48 * 1024 });
  await b.on();
  await until(reported('d-hspico', 1, 'confirmed', 0), 20000, 'v1 confirmed');
  const at = b.out.length;
  await otad.publish('hspico', 2, APP('v2', probe + CODE(380)), { encoding: 'heatshrink' });
  const rel = JSON.parse(fs.readFileSync(path.join(W, 'releases', 'hspico-2', 'release.json'), 'utf8'));
  await until(reported('d-hspico', 2, 'downloaded', 0), 30000, 'v2 downloaded and decompressed');
  const during = b.out.substring(at);
  const peaks = (during.match(/PEAK \d+ of \d+/g) || []).map((x) => x.split(' '));
  const peak = peaks.length ? Math.max.apply(null, peaks.map((p) => +p[1])) : 0;
  const total = peaks.length ? +peaks[0][3] : 0;
  await until(reported('d-hspico', 2, 'confirmed', 0), 20000, 'v2 confirmed');
  const calls = (during.match(/HSD \d+/g) || []).length;
  eq(calls, Math.ceil(rel.installed_size / 2048), 'the agent decompressed every block through the sampled heatshrink');
  figures.push('espruino-pico, compressed: peak ' + peak + ' of ' + total + ' variables in use while v1 downloaded a ' + rel.size +
    '-byte bundle and decompressed it (blocks of 2048) into a ' + rel.installed_size + '-byte program (sampled every 5 ms by the app)');
  ok(peak > 0 && total === 5100, 'peak measured on the 5100-variable build');
  ok(!/Out of Memory|MEMORY/i.test(b.out), 'no out-of-memory');
  idle(b);
});

// ---- pretokenised programs (statement flag 1, FORMAT.md 2c) ---------------------------
test('pretokenised update (otasign release --pretokenise): installed from Storage and run by the real interpreter, plain and heatshrink; a release for another firmware is never offered (otad knows the firmware of the board from its nonce polls)', async () => {
  const b = await onV1('d-pt', 'pt');
  // bytes 0x00 (a raw string holds them) and 0xFF (never in a program: raw runs
  // and "\xff" joined), from atob as image data comes in real apps
  const img = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.alloc(60, 65), Buffer.from([255]), Buffer.alloc(60, 66)]).toString('base64');
  const prog = (v) => APP(v, CODE(150) + 'print("SUM ' + v + ' "+(f3(2)+f150(1)));' +
    'var I=atob("' + img + '");print("IMG ' + v + ' "+I.length+" "+I.charCodeAt(0)+" "+I.charCodeAt(63)+" "+I.charCodeAt(64));');
  await otad.publish('ptid', 2, prog('v2'));                  // the same program plain, for the figure
  const idBytes = await bundleSize('ptid', 2);
  await otad.publish('pt', 2, prog('v2'), { pretok: true });
  const rel = JSON.parse(fs.readFileSync(path.join(W, 'releases', 'pt-2', 'release.json'), 'utf8'));
  eq(rel.pretokenised, true);
  eq(fs.readFileSync(path.join(W, 'releases', 'pt-2', 'statement.bin'))[6], 1, 'statement flag');
  await until(reported('d-pt', 2, 'confirmed', 0), 20000, 'v2 (pretokenised) confirmed');
  await b.wait(/SUM v2 6757150850/, 5000);
  await b.wait(/IMG v2 124 0 255 66/, 5000);
  const inst = fs.readFileSync(path.join(W, 'releases', 'pt-2', 'program.js'));
  ok(inst.includes(0) && !inst.includes(255) && inst.includes(Buffer.from('"\\xff"')), 'the program holds NUL, no 0xFF, atob became raw runs');
  await b.wait(/TICK v2/, 5000);
  ok(rel.installed_size < idBytes, 'pretokenised ' + rel.installed_size + ' vs plain ' + idBytes);
  // pretokenised and heatshrink together
  await otad.publish('pt', 3, prog('v3'), { pretok: true, encoding: 'heatshrink' });
  const rel3 = JSON.parse(fs.readFileSync(path.join(W, 'releases', 'pt-3', 'release.json'), 'utf8'));
  eq(rel3.encoding, 'heatshrink');
  eq(rel3.pretokenised, true);
  await until(reported('d-pt', 3, 'confirmed', 0), 20000, 'v3 (pretokenised, heatshrink) confirmed');
  await b.wait(/SUM v3 6757150850/, 5000);
  await b.wait(/TICK v3/, 5000);
  figures.push('pretokenised update: program ' + rel.installed_size + ' bytes (plain minified ' + idBytes +
    '), pretokenised+heatshrink bundle ' + rel3.size + ' bytes for a ' + rel3.installed_size + '-byte program');
  // the board said its firmware on the nonce polls of v2 and v3 (f=2v29)
  ok(proxy.log.some((r) => /^GET \/m\/d-pt\?[^ ]*&n=[0-9a-f]+&f=2v29[ .]/.test(r.head)), 'the nonce poll carries f=2v29');
  // the same program stated for 2v28 (signed by the release key): not this
  // firmware, so otad never offers it (the board refuses one with 52 all the
  // same: agent.test.js, and the vector s-pretok-2v28-device)
  const from4 = proxy.log.length;
  await otad.publish('pt', 4, prog('v4'), { pretok: true, edit: (dir) => {
    const sp = path.join(dir, 'statement.bin'), st = fs.readFileSync(sp);
    st.writeUInt16LE(228, 264);
    const seed = fs.readFileSync(path.join(W, 'rel.key')).subarray(104, 136);
    const key = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    crypto.sign(null, st.subarray(0, 272), key).copy(st, 272);
    fs.writeFileSync(sp, st);
  } });
  const mine = () => proxy.log.slice(from4).filter((r) => /^(GET|POST) \/(m|r|manifest|report)\/d-pt[?/ ]/.test(r.head) || /^GET \/(b|bundle)\//.test(r.head));
  await until(() => mine().filter((r) => /^GET \/m\/d-pt\?a=pt&s=3 /.test(r.head) && r.status === 204).length >= 4, 20000,
    'four idle polls of d-pt on v3 answered 204 after the 2v28 release');
  const seen = mine().map((r) => r.head.split('\r\n')[0] + ' -> ' + r.status);
  ok(mine().every((r) => /^GET \/m\//.test(r.head) && r.status === 204), 'only idle polls, each 204 (no 202, no offer, no report, no bundle): ' + seen.slice(0, 6).join('; '));
  ok(!proxy.reports('d-pt').some((r) => r.body && r.body.seq === 4), 'no report about the 2v28 release');
  ok(!/APP v4 up/.test(b.out), 'the 2v28 program never ran');
  idle(b);
  eq(b.state().st.c.s, 3, 'still on v3');
});

// ---- deltas (FORMAT.md 2b; the offer tag D, 6b) ------------------------------------------
// The offer's tagged fields, by letter.
function tags(b) { const f = {}; for (let i = 0; i + 3 <= b.length; i += 3 + b.readUInt16BE(i + 1)) f[String.fromCharCode(b[i])] = b.subarray(i + 3, i + 3 + b.readUInt16BE(i + 1)); return f; }
function relj(app, seq) { return JSON.parse(fs.readFileSync(path.join(W, 'releases', app + '-' + seq, 'release.json'), 'utf8')); }
function prog(app, seq) { return fs.readFileSync(path.join(W, 'releases', app + '-' + seq, 'program.js')); }
// CODE(n) with every tenth function changed: a 10 % change.
const CODE10 = (n, salt) => CODE(n).split('\n').map((l, i) => (i % 10 === 5 ? l.replace(/"(\d+)"/, '"$1' + salt + '"') : l)).join('\n');
// A delta made by hand (FORMAT.md 2b) from program a to program t with the given ops.
function mkDelta(a, t, ops) {
  const h = Buffer.alloc(76);
  h.write('OD', 0, 'latin1'); h[2] = 1; h[3] = 0;
  h.writeUInt32LE(a.length, 4); h.writeUInt32LE(t.length, 8);
  crypto.createHash('sha256').update(a).digest().copy(h, 12);
  crypto.createHash('sha256').update(t).digest().copy(h, 44);
  return Buffer.concat([h, ops]);
}
function varint(v) { const o = []; do { let c = v % 128; v = Math.floor(v / 128); if (v) c |= 128; o.push(c); } while (v); return Buffer.from(o); }
// The peak of the interpreter's variables, sampled every 5 ms by the app and
// at every Storage.write (the agent applies a delta synchronously).
const PEAK = 'var PK=0,SS=require("Storage"),SW=SS.write;function HP(){var u=process.memory(false).usage;if(u>PK){PK=u;print("PEAK "+u+" of "+process.memory(false).total)}}' +
  'setInterval(HP,5);SS.write=function(a,b,c,d){HP();return SW.apply(SS,arguments)};setTimeout(function(){print("IDLE "+process.memory().usage)},300);';
function peakOf(out) {
  const peaks = (out.match(/PEAK \d+ of \d+/g) || []).map((x) => x.split(' '));
  return { peak: peaks.length ? Math.max.apply(null, peaks.map((p) => +p[1])) : 0, total: peaks.length ? +peaks[0][3] : 0 };
}

test('delta update: the board on v1 gets D, downloads the delta instead of the bundle, applies it into a new file (v1 untouched), verified by the installed hash, runs; bytes and peak variables', async () => {
  await otad.publish('dl', 1, APP('v1', PEAK + CODE(150)));
  const b = await provision('d-dl', 'dl', { free: 48 * 1024 });
  await b.on();
  await until(reported('d-dl', 1, 'confirmed', 0), 20000, 'v1 confirmed');
  const at = b.out.length, from = proxy.log.length;
  await otad.publish('dl', 2, APP('v2', PEAK + CODE(150)));          // a one-line change
  await until(reported('d-dl', 2, 'downloaded', 0), 20000, 'v2 downloaded (from a delta)');
  const { peak, total } = peakOf(b.out.substring(at));
  await until(reported('d-dl', 2, 'confirmed', 0), 20000, 'v2 confirmed');
  await b.wait(/TICK v2/, 5000);
  const r1 = relj('dl', 1), r2 = relj('dl', 2);
  const offer = proxy.log.slice(from).find((r) => /^GET \/m\/d-dl\?[^ ]*&n=/.test(r.head) && r.status === 200);
  const D = offer && tags(offer.body).D;
  ok(D && D.length === 68, 'the offer carries D');
  eq(D.subarray(0, 32).toString('hex'), r1.installed_sha256, 'D names the confirmed program');
  const dsha = D.subarray(32, 64).toString('hex'), dsize = D.readUInt32BE(64);
  const gets = proxy.log.slice(from).filter((r) => /^GET \/(bundle|b)\//.test(r.head));
  ok(gets.length >= 1 && gets.every((r) => r.head.startsWith('GET /b/' + dsha + ' ')), 'only the delta fetched: ' + gets.map((r) => r.head.split('\r\n')[0]));
  const wire = gets.reduce((n, r) => n + r.res.length, 0);
  // data cost: the delta's bytes belong to the board and v2 (the offer named it)
  const cost = (await otad.admin('GET', '/admin/rollouts/dl/cost?seq=2')).json || {};
  const mc = (cost.by_device || []).find((d) => d.device === 'd-dl') || {};
  eq(mc.bundle, bytesOf(gets), 'otad counts the delta download for d-dl and v2 as the proxy saw it');
  eq((cost.unattributed || {}).total || 0, 0, 'no delta byte unattributed');
  figures.push('delta update (one-line change): delta ' + dsize + ' bytes for a ' + r2.installed_size + '-byte program (bundle ' + r2.size +
    ' bytes, ratio ' + (dsize / r2.size).toFixed(3) + '); delta response ' + wire + ' bytes with headers');
  const idleUse = +(/IDLE (\d+)/.exec(b.out) || [0, 0])[1];
  figures.push((total === 5100 ? 'espruino-pico' : 'espruino') + ', delta: peak ' + peak + ' of ' + total + ' variables in use (' + idleUse +
    ' when v1 is idle after a GC) while v1 downloaded and applied a ' + dsize + '-byte delta into a ' + r2.installed_size +
    '-byte program (sampled every 5 ms and at every Storage.write)');
  ok(peak > 0, 'peak measured');
  if (process.env.OTA_PICO === '1') ok(total === 5100, 'on the 5100-variable build');
  ok(!/Out of Memory|MEMORY|delta refused/i.test(b.out), 'no out-of-memory, delta applied');
  idle(b);
  const s = b.state();
  eq(s.st.c.s, 2); eq(s.st.c.h, r2.installed_sha256, 'the program kept with its installed hash');
  ok(!s.files.includes('ota.d2') && !s.files.includes('ota.a1') && s.files.includes('ota.a2'), 'delta and v1 erased, v2 kept: ' + s.files);
});

test('bad deltas fall back to the full bundle: flipped in transit (22), another program (55), a copy past the base (56), a truncated one, one otad does not serve (404); nothing refused, each release confirmed', async () => {
  await otad.publish('dlb', 1, APP('v1', CODE(150)));
  const b = await provision('d-dlb', 'dlb');
  await b.on();
  await until(reported('d-dlb', 1, 'confirmed', 0), 20000, 'v1 confirmed');
  // v2: one byte of the delta flipped on the way
  let from = proxy.log.length, flipped = 0;
  proxy.onResponse = (rec, head, body) => { if (/^GET \/b\//.test(rec.head) && rec.status === 200 && body.length > 76 && body.length < 1000 && !flipped) { flipped = 1; body[body.length - 3] ^= 0x20; return body; } };
  await otad.publish('dlb', 2, APP('v2', CODE(150)));
  await until(reported('d-dlb', 2, 'confirmed', 0), 25000, 'v2 confirmed after a flipped delta');
  ok(flipped, 'a delta was flipped');
  const full = (app, seq) => proxy.log.slice(from).some((r) => r.head.startsWith('GET /b/' + relj(app, seq).sha256 + ' '));
  ok(full('dlb', 2), 'the full bundle fetched after the flipped delta');
  ok(/delta refused \(22\)/.test(b.out), 'refused by its hash (22)');
  // v3..v5: otad's D rewritten (by the proxy) to name a delta made here and
  // stored where otad serves deltas: hashes right, contents wrong
  const cases = [
    // the previous program whole (the same size): not the new one
    [3, 55, (a, t) => Buffer.concat([varint(t.length * 2 + 1), varint(0)])],
    // a copy running past the end of the base
    [4, 56, (a, t) => Buffer.concat([varint(t.length * 2 + 1), varint(a.length - 5)])],
    // the last op's bytes cut short
    [5, 56, (a, t) => Buffer.concat([varint((t.length - 10) * 2 + 1), varint(0), varint(20), t.subarray(t.length - 10, t.length - 1)])],
    // a delta this otad does not serve (404: another replica of the fleet made
    // it): not written here
    [6, 404, () => Buffer.alloc(8), false],
  ];
  for (const [v, code, ops, write = true] of cases) {
    const prev = prog('dlb', v - 1);
    from = proxy.log.length;
    const src = APP('v' + v, CODE(150));
    let swapped = 0;
    proxy.onResponse = (rec, head, body) => {
      if (!/^GET \/m\/d-dlb\?[^ ]*&n=/.test(rec.head) || rec.status !== 200 || swapped) return;
      const t = prog('dlb', v), bad = mkDelta(prev, t, ops(prev, t)), sha = crypto.createHash('sha256').update(bad).digest();
      if (write) fs.writeFileSync(path.join(W, 'data', 'deltas', sha.toString('hex')), bad);
      for (let i = 0; i + 3 <= body.length; i += 3 + body.readUInt16BE(i + 1))
        if (body[i] === 0x44) { sha.copy(body, i + 3 + 32); body.writeUInt32BE(bad.length, i + 3 + 64); swapped = 1; }
      return body;
    };
    await otad.publish('dlb', v, src);
    await until(reported('d-dlb', v, 'confirmed', 0), 25000, 'v' + v + ' confirmed after a bad delta');
    ok(swapped, 'v' + v + ': D swapped');
    ok(new RegExp('delta refused \\(' + code + '\\)').test(b.out), 'v' + v + ': refused with ' + code + ': ' + (b.out.match(/delta refused \(\d+\)/g) || []).join());
    ok(full('dlb', v), 'v' + v + ': the full bundle fetched');
  }
  proxy.onResponse = null;
  eq(proxy.reports('d-dlb').filter((r) => r.body.state === 'rejected').length, 0, 'nothing reported refused');
  idle(b);
  const s = b.state();
  eq(s.st.c.h, relj('dlb', 6).installed_sha256);
  ok(!s.files.some((f) => /^ota\.d/.test(f)), 'no delta file left: ' + s.files);
});

test('delta update to compressed releases (encoding 1): the delta builds the program as installed; a flipped delta falls back to the compressed bundle (decompressed as usual)', async () => {
  await otad.publish('dlhs', 1, APP('v1', CODE(200)), { encoding: 'heatshrink' });
  const b = await provision('d-dlhs', 'dlhs');
  await b.on();
  await until(reported('d-dlhs', 1, 'confirmed', 0), 20000, 'v1 (compressed) confirmed');
  let from = proxy.log.length;
  await otad.publish('dlhs', 2, APP('v2', CODE(200)), { encoding: 'heatshrink' });
  await until(reported('d-dlhs', 2, 'confirmed', 0), 20000, 'v2 confirmed from a delta');
  const r2 = relj('dlhs', 2);
  let gets = proxy.log.slice(from).filter((r) => /^GET \/(b|bundle)\//.test(r.head));
  ok(gets.length >= 1 && !gets.some((r) => r.head.startsWith('GET /b/' + r2.sha256 + ' ')), 'the delta, not the compressed bundle: ' + gets.map((r) => r.head.split('\r\n')[0]));
  const dsize = gets[0].body.length;
  figures.push('delta to a compressed release: delta ' + dsize + ' bytes for a ' + r2.installed_size + '-byte program (compressed bundle ' + r2.size + ' bytes)');
  ok(dsize < r2.size / 4, 'delta ' + dsize + ' vs compressed bundle ' + r2.size);
  from = proxy.log.length;
  let flipped = 0;
  proxy.onResponse = (rec, head, body) => { if (/^GET \/b\//.test(rec.head) && rec.status === 200 && body.length < 1000 && !flipped) { flipped = 1; body[body.length - 2] ^= 0x01; return body; } };
  await otad.publish('dlhs', 3, APP('v3', CODE(200)), { encoding: 'heatshrink' });
  await until(reported('d-dlhs', 3, 'confirmed', 0), 25000, 'v3 confirmed from the compressed bundle');
  proxy.onResponse = null;
  ok(flipped && /delta refused \(22\)/.test(b.out), 'the flipped delta refused (22)');
  gets = proxy.log.slice(from).filter((r) => /^GET \/(b|bundle)\//.test(r.head));
  ok(gets.some((r) => r.head.startsWith('GET /b/' + relj('dlhs', 3).sha256 + ' ')), 'then the compressed bundle');
  idle(b);
  const s = b.state();
  eq(s.st.c.h, relj('dlhs', 3).installed_sha256);
  ok(!s.files.some((f) => /^ota\.[dz]/.test(f)), 'no delta or bundle file left: ' + s.files);
});

test('delta update: power cut mid-download and mid-apply (10 % change): the delta resumes with Range, the apply at the first unwritten byte of the new file; verified, confirmed', async () => {
  await otad.publish('dlcut', 1, APP('v1', CODE(300)));
  const b = await provision('d-dlcut', 'dlcut');
  await b.on();
  await until(reported('d-dlcut', 1, 'confirmed', 0), 20000, 'v1 confirmed');
  proxy.pace = { match: /^GET \/b\//, bytes: 32, ms: 100 };
  const from = proxy.log.length;
  await otad.publish('dlcut', 2, APP('v2', CODE10(300, 'x')));
  const r2 = relj('dlcut', 2);
  const first = await until(() => proxy.log.slice(from).find((r) => /^GET \/b\//.test(r.head) && r.res.length > 150), 20000, 'delta download under way');
  b.cut();
  proxy.pace = null;
  const s1 = b.state();
  eq(s1.st.d && s1.st.d.f, 'ota.d2', 'the download in the state is the delta');
  eq(s1.st.d.p, 'ota.a2', 'into a new program file');
  eq(s1.st.d.b, 'ota.a1', 'from the confirmed program');
  // as if a cut had also fallen inside the apply: the new file holds its first 1500 bytes
  const p2 = prog('dlcut', 2);
  b.script('require("Storage").write("ota.a2",atob("' + p2.subarray(0, 1500).toString('base64') + '"),0,' + p2.length + ');');
  await b.on();
  await until(reported('d-dlcut', 2, 'confirmed', 0), 25000, 'v2 confirmed after the cut');
  const gets = proxy.log.slice(from).filter((r) => /^GET \/(b|bundle)\//.test(r.head));
  const dsha = /^GET \/b\/([0-9a-f]{64})/.exec(first.head)[1];
  ok(gets.every((r) => r.head.startsWith('GET /b/' + dsha + ' ')), 'only the delta fetched: ' + gets.map((r) => r.head.split('\r\n')[0]));
  const m = gets[1] && /\r\nRange: bytes=(\d+)-/i.exec(gets[1].head);
  ok(m && +m[1] > 0, 'delta resumed with Range: ' + (m ? m[0].trim() : 'no Range'));
  ok(!/delta refused/.test(b.out), 'the resumed apply made the right program');
  const dsize = +((/\r\nContent-Range: bytes \d+-\d+\/(\d+)/i.exec(gets[1].res.toString('latin1')) || [0, 0])[1]);
  figures.push('delta update (10 % change): delta ' + dsize + ' bytes for a ' + r2.installed_size + '-byte program (bundle ' + r2.size + ' bytes); resumed after a power cut at byte ' + (m ? m[1] : '?'));
  eq(proxy.reports('d-dlcut').filter((r) => r.body.seq === 2 && r.body.state === 'rejected').length, 0, 'nothing refused');
  await b.wait(/TICK v2/, 5000);
  idle(b);
  const s = b.state();
  eq(s.st.c.h, r2.installed_sha256, 'the program verified against its installed hash');
  ok(!s.files.includes('ota.d2'), 'delta file erased');
});

test('UDP nudge: `otasign nudge` makes the board poll now, rate-limited; otad nudges when a rollout starts', async () => {
  const nport = NPORT;
  // bad targets: a clear refusal, exit status 2
  for (const bad of [['nudge', 'localhost:1'], ['nudge', '127.0.0.1:0'], ['nudge', '127.0.0.1:99999'], ['nudge', '127.0.0.1']]) {
    let st = 0, err = '';
    try { execFileSync(L.OTASIGN, bad, { stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { st = e.status; err = String(e.stderr); }
    eq(st, 2, 'otasign ' + bad.join(' ') + ': ' + err);
  }
  {
    let st = 0, err = '';
    try { execFileSync(L.OTAD, ['--nudge', 'nowhere', '--data', path.join(W, 'x'), '--listen', '127.0.0.1:0', '--release-pub', path.join(W, 'rel.pub')], { stdio: ['ignore', 'pipe', 'pipe'] }); }
    catch (e) { st = e.status; err = String(e.stderr); }
    eq(st, 2, 'otad --nudge nowhere');
    ok(/--nudge: expected IPV4ADDR:PORT/.test(err), err);
  }
  const b = await onV1('d-nudge', 'nudge', { args: ['--nudge', String(NPORT)], tune: { pmin: 20000, pmax: 20000, ngap: 3000 } });
  await sleep(1200);
  const n0 = proxy.polls('d-nudge').length, t0 = Date.now();
  execFileSync(L.OTASIGN, ['nudge', '127.0.0.1:' + nport, '--app', 'nudge'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await until(() => proxy.polls('d-nudge').length > n0, 3000, 'a poll right after the nudge');
  const dt = Date.now() - t0;
  // a second nudge within ngap is ignored
  const n1 = proxy.polls('d-nudge').length;
  execFileSync(L.OTASIGN, ['nudge', '127.0.0.1:' + nport, '--app', 'nudge'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await sleep(1500);
  eq(proxy.polls('d-nudge').length, n1, 'rate-limited');
  // a nudge for another app is ignored; a forged "offer" in a nudge is nothing but a poll
  await sleep(2000);
  const n2 = proxy.polls('d-nudge').length;
  execFileSync(L.OTASIGN, ['nudge', '127.0.0.1:' + nport, '--app', 'other'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await sleep(1500);
  eq(proxy.polls('d-nudge').length, n2, 'other app ignored');
  figures.push('nudge to poll: ' + dt + ' ms');
  // otad nudges by itself when a rollout starts (otad --nudge): v2 installs
  // at once although the board would poll only every 20 s
  await sleep(3000);
  const t1 = Date.now();
  await otad.publish('nudge', 2, APP('v2'));
  await until(reported('d-nudge', 2, 'downloading', 0), 8000, 'download right after the rollout (nudged by otad)');
  figures.push('rollout created -> board downloading: ' + (Date.now() - t1) + ' ms (poll interval 20 s)');
  idle(b);
});

(async () => {
  if (!ESP) {
    console.log('skipped: no Espruino interpreter (set ESPRUINO=/path/to/dir-with-espruino, or build it from ' +
      'the public espruino/Espruino repository at commit c5ff787b: make BOARD=LINUX); the real-interpreter suite did not run');
    await run('device-real', { skip: 'no Espruino interpreter' });
    fs.rmSync(W, { recursive: true, force: true });
    process.exit(0);
  }
  console.log('# interpreter: ' + ESP.espruino + (ESP.pico ? ' (+ espruino-pico)' : '') + (process.env.OTA_PICO === '1' ? '; every board on espruino-pico (OTA_PICO=1)' : ''));
  let fail = 0;
  try {
    await otad.start(['--nudge', '127.0.0.1:' + NPORT]);
    proxy = await new L.Proxy(otad.port).start();
    fail = await run('device-real', {
      filter: process.argv[2],
      onFail: (name) => { for (const b of boards) { if (process.env.DEBUG_FAIL) console.log('--- ' + b.name + '\n' + b.out.slice(-3000)); b.cut(); } proxy.reset(); },
    });
  } catch (e) {
    console.log('FAIL setup: ' + (e.stack || e));
    console.log('device-real: 0 passed, 1 failed, 0 skipped');
    fail = 1;
  }
  for (const b of boards) b.cut();
  for (const f of figures) console.log('# ' + f);
  otad.stop();
  if (proxy) proxy.stop();
  if (!process.env.KEEP) fs.rmSync(W, { recursive: true, force: true });
  process.exit(fail ? 1 : 0);
})();

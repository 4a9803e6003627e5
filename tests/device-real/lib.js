'use strict';
// The device harness: the REAL Espruino interpreter (Linux build of 2v29) as
// the board, the real otad and otasign, and a loopback proxy between board
// and otad that records exact bytes and can pace, cut, tamper and replay.
//
//   findEspruino()     env ESPRUINO (directory of the binaries, or the binary),
//                      then ../shared/espruino/bin/ from the repository top
//   Otad               otad on 127.0.0.1:0, temp data dir, killed by pid
//   Proxy              board <-> otad, one record per connection
//   Board              a directory (its Storage is espruino.flash there):
//                      provision() from `otasign device add`'s script,
//                      on() = `espruino -e ""` (stdin /dev/null, under a
//                      timeout), cut() = SIGKILL (a power cut)
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn, execFileSync } = require('child_process');
const fx = require('./fixtures');

const ROOT = process.env.OTA_ROOT || path.resolve(__dirname, '../..');
const BIN = path.resolve(ROOT, process.env.OTA_BIN || 'build/bin');
const OTASIGN = path.join(BIN, 'otasign');
const OTAD = path.join(BIN, 'otad');
const TOKEN = 'device-real-admin-token-0123456789';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function findEspruino() {
  const cands = [];
  if (process.env.ESPRUINO) cands.push(process.env.ESPRUINO);
  cands.push(path.resolve(ROOT, '..', 'shared', 'espruino', 'bin'));
  for (const c of cands) {
    let dir = c;
    try { if (fs.statSync(c).isFile()) dir = path.dirname(c); } catch (e) { continue; }
    const e = path.join(dir, 'espruino');
    if (fs.existsSync(e)) return { espruino: e, pico: fs.existsSync(path.join(dir, 'espruino-pico')) ? path.join(dir, 'espruino-pico') : null };
  }
  return null;
}

async function until(fn, ms, what) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error('timed out (' + ms + ' ms) waiting for ' + (what || fn.toString()) + (fn.last ? ': ' + fn.last() : ''));
    await sleep(40);
  }
}

// ---- otad -------------------------------------------------------------------------
class Otad {
  constructor(work) { this.W = work; this.port = 0; this.proc = null; this.err = ''; }
  async start(extra) {
    const W = this.W;
    if (extra) this.extra = extra; else extra = this.extra;
    if (!fs.existsSync(path.join(W, 'rel.key')))
      execFileSync(OTASIGN, ['keygen', '--out', path.join(W, 'rel')], { stdio: 'ignore' });
    fs.writeFileSync(path.join(W, 'token'), TOKEN + '\n');
    const pf = path.join(W, 'otad.port');
    try { fs.unlinkSync(pf); } catch (e) { /* first start */ }
    const args = ['--data', path.join(W, 'data'), '--listen', '127.0.0.1:' + (this.port || 0), '--quiet',
      '--port-file', pf, '--release-pub', path.join(W, 'rel.pub'), '--poll-interval', '1'].concat(extra || []);
    this.proc = spawn(OTAD, args, { env: Object.assign({}, process.env, { OTAD_ADMIN_TOKEN: TOKEN }), stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr.on("data", (d) => { this.err += d; if (process.env.DEBUG_OTAD) process.stderr.write("[otad] " + d); });
    const p = this.proc;
    await until(() => (fs.existsSync(pf) && fs.readFileSync(pf, 'utf8').trim()) || p.exitCode !== null, 10000, 'otad port');
    if (p.exitCode !== null) throw new Error('otad did not start: ' + this.err);
    this.port = +fs.readFileSync(pf, 'utf8').trim();
  }
  stop() { if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGKILL'); this.proc = null; }
  admin(method, p, body) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
      const req = http.request({ host: '127.0.0.1', port: this.port, path: p, method, agent: false,
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
  // otasign release, POST /admin/releases, POST /admin/rollouts 100 %
  async publish(app, seq, code, opts) {
    opts = opts || {};
    const W = this.W, src = path.join(W, app + '-' + seq + '.js'), out = path.join(W, 'releases');
    fs.writeFileSync(src, code);
    execFileSync(OTASIGN, ['release', src, '--key', path.join(W, 'rel.key'), '--app', app, '--seq', String(seq),
      '--label', 'v' + seq, '--out', out, '--encoding', opts.encoding || 'identity']
      .concat(opts.board ? ['--board', opts.board] : []).concat(opts.pretok ? ['--pretokenise'] : []),
    { stdio: ['ignore', 'ignore', 'pipe'] });
    const dir = path.join(out, app + '-' + seq);
    if (opts.edit) opts.edit(dir);   // e.g. a re-signed statement over altered bytes
    const bundle = fs.readFileSync(path.join(dir, 'bundle.js'));
    let r = await this.admin('POST', '/admin/releases', {
      statement: fs.readFileSync(path.join(dir, 'statement.bin')).toString('base64'), bundle: bundle.toString('base64') });
    if (r.status !== 200 && r.status !== 201) throw new Error('publish: ' + r.status + ' ' + r.body);
    // a new rollout supersedes the app's current one (replace: true)
    r = await this.admin('POST', '/admin/rollouts', { app, seq, percent: 100, replace: true });
    if (r.status !== 200 && r.status !== 201) throw new Error('rollout: ' + r.status + ' ' + r.body);
    return bundle;
  }
  async device(id) { return (await this.admin('GET', '/admin/devices/' + id)).json || {}; }
}

// ---- the proxy ----------------------------------------------------------------------
// One record per connection: {t, req (Buffer), res (Buffer), head, status}.
// Hooks (set per test, cleared by reset()):
//   onResponse(rec, head, body) -> Buffer (new body) | 'drop' | undefined
//   replay: Buffer: answer the next manifest request with these exact bytes
//   replayMatch: RegExp: only a manifest request whose head matches it
//   pace: {match: RegExp on the request head, bytes, ms}: forward the answer
//         in pieces of `bytes` every `ms`
//   cutAfter: {match, bytes}: close the board's connection after `bytes` of body
class Proxy {
  constructor(upPort) { this.up = upPort; this.log = []; this.live = new Set(); this.reset(); }
  // Close every connection to the board now (as when the server dies).
  cutActive() { for (const c of this.live) c.destroy(); }
  reset() { this.onResponse = null; this.replay = null; this.replayMatch = null; this.pace = null; this.cutAfter = null; this.hold = null; }
  start() {
    this.server = net.createServer((c) => this.conn(c));
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => { this.port = this.server.address().port; r(this); }));
  }
  stop() { try { this.server.close(); } catch (e) { /* closed */ } }
  conn(c) {
    const rec = { t: Date.now(), req: Buffer.alloc(0), res: Buffer.alloc(0), head: '', status: 0, refused: false };
    this.log.push(rec);
    this.live.add(c);
    c.on('close', () => this.live.delete(c));
    let up = null, started = false;
    c.on('error', () => { if (up) up.destroy(); });
    c.on('data', (d) => {
      rec.req = Buffer.concat([rec.req, d]);
      const i = rec.req.indexOf('\r\n\r\n');
      if (i < 0) return;
      rec.head = rec.req.subarray(0, i).toString('latin1');
      const cl = /\r\ncontent-length: *(\d+)/i.exec(rec.head);
      if (cl && rec.req.length < i + 4 + +cl[1]) return;         // body not complete yet
      if (started) return;
      started = true;
      if (this.replay && /^GET \/(manifest|m)\//.test(rec.head) && (!this.replayMatch || this.replayMatch.test(rec.head))) {
        const r = this.replay; this.replay = null;
        rec.replayed = true; rec.res = Buffer.from(r);
        return c.end(r);
      }
      up = net.connect(this.up, '127.0.0.1');
      const parts = [];
      up.on('error', () => { rec.refused = true; c.destroy(); });
      up.on('data', (x) => parts.push(x));
      up.on('end', () => this.answer(c, rec, Buffer.concat(parts)));
      up.write(rec.req);
    });
  }
  async answer(c, rec, all) {
    const i = all.indexOf('\r\n\r\n');
    let head = i < 0 ? all : all.subarray(0, i + 4), body = i < 0 ? Buffer.alloc(0) : all.subarray(i + 4);
    rec.status = +(/^HTTP\/1\.\d (\d+)/.exec(head.toString('latin1')) || [0, 0])[1];
    rec.body = body;
    if (this.onResponse) {
      const nb = this.onResponse(rec, head.toString('latin1'), Buffer.from(body));
      if (nb === 'drop') { rec.dropped = true; return c.destroy(); }
      if (nb) {
        body = nb;
        head = Buffer.from(head.toString('latin1').replace(/\r\nContent-Length: *\d+/i, '\r\nContent-Length: ' + nb.length), 'latin1');
      }
    }
    let out = Buffer.concat([head, body]);
    const cut = this.cutAfter && this.cutAfter.match.test(rec.head) ? this.cutAfter : null;
    if (cut) { out = out.subarray(0, head.length + cut.bytes); this.cutAfter = null; rec.cut = true; }
    const pace = this.pace && this.pace.match.test(rec.head) ? this.pace : null;
    if (!pace) { rec.res = out; if (cut) { c.write(out); return setTimeout(() => c.destroy(), 50); } return c.end(out); }
    rec.paced = true;
    for (let o = 0; o < out.length; o += pace.bytes) {
      if (c.destroyed) return;
      const piece = out.subarray(o, o + pace.bytes);
      c.write(piece);
      rec.res = Buffer.concat([rec.res, piece]);
      await sleep(pace.ms);
    }
    if (cut) return c.destroy();
    c.end();
  }
  // Reports the board sent, in either form (JSON: POST /report/<id>;
  // compact: POST /r/<id>, FORMAT.md 6b): [{rec, body (parsed, the JSON
  // form's members), raw (what the MAC covers), mac (hex), compact}]
  reports(id) {
    return this.log.filter((r) => r.head.startsWith('POST /report/' + id + ' ') || r.head.startsWith('POST /r/' + id + ' ')).map((r) => {
      const i = r.req.indexOf('\r\n\r\n');
      const bin = r.req.subarray(i + 4);
      if (r.head.startsWith('POST /r/')) {
        const c = fx.compactReport(bin);
        return { rec: r, body: c ? c.r : null, raw: c ? c.text : bin.toString('latin1'), mac: c ? c.mac : null, compact: true };
      }
      const raw = bin.toString('latin1');
      let body = null; try { body = JSON.parse(raw); } catch (e) { /* bad */ }
      const m = /\r\nX-OTA-MAC: *([0-9a-f]*)/i.exec(r.head);
      return { rec: r, body, raw, mac: m ? m[1] : null };
    });
  }
  polls(id) { return this.log.filter((r) => r.head.startsWith('GET /manifest/' + id + '?') || r.head.startsWith('GET /m/' + id + '?')); }
  bytes(r) { return r.req.length + r.res.length; }
}

// ---- boards -----------------------------------------------------------------------------
// Test-sized timings merged into ota.cfg after provisioning (device add has
// options for poll, trial, tries, max; these are the agent's other timings).
const FAST = { first: 300, tmo: 3000, back: 200, bmax: 1500, pmax: 1500, sw: 100 };

class Board {
  constructor(dir, bin, name) { this.dir = dir; this.bin = bin; this.name = name || path.basename(dir); this.proc = null; this.out = ''; this.boots = 0; fs.mkdirSync(dir, { recursive: true }); }
  // Run a script in script mode: the way the harness reads and writes the
  // board's Storage outside the agent.  Script mode does not run .bootcde but
  // does run .boot0 (the agent's up(), which only reads and sets timers)
  // first: the script clears every timer before its own code, so the agent
  // never polls and the interpreter exits when the script is done.
  script(code, ms) {
    const f = path.join(this.dir, '.script.js');
    fs.writeFileSync(f, 'clearTimeout();clearInterval();\n' + code);
    const out = execFileSync('timeout', ['-s', 'KILL', String((ms || 10000) / 1000), this.bin, f],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'latin1' });
    fs.unlinkSync(f);
    return out;
  }
  // Fill Storage with a file so that `free` bytes are left (a Pico has 48 KB).
  fill(free) {
    const o = this.script('var S=require("Storage");var n=S.getFree()-' + free + ';if(n>0)S.write("fill","x",0,n);print("FREE="+S.getFree());');
    return +/FREE=(\d+)/.exec(o)[1];
  }
  // Upload the script `otasign device add` wrote, as the IDE would, and let
  // its load() restart the board; then cut the power.
  async provision(scriptFile, tune) {
    await this.on({ file: scriptFile });
    await this.wait(/otasign: provisioned/, 10000);
    this.cut();
    if (tune) {
      const o = this.script('var S=require("Storage"),c=S.readJSON("ota.cfg"),t=' + JSON.stringify(tune) +
        ';for(var k in t)c[k]=t[k];S.write("ota.cfg",JSON.stringify(c));print("TUNED "+S.read("ota.cfg").length);');
      if (!/TUNED/.test(o)) throw new Error('tune: ' + o);
    }
  }
  // Power on: `espruino -e ""` (or a script) in the board directory, stdin
  // /dev/null, killed after `ms` at the latest.
  on(opts) {
    opts = opts || {};
    if (this.proc) throw new Error(this.name + ' is on');
    const args = opts.file ? [opts.file] : ['-e', ''];
    this.boots++;
    this.mark = this.out.length;
    const p = spawn(this.bin, args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env || process.env });
    this.proc = p;
    const onData = (d) => { this.out += d.toString('latin1'); if (process.env.DEBUG) process.stdout.write('[' + this.name + ' ' + (Date.now() % 100000) + '] ' + d); };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', () => { if (this.proc === p) this.proc = null; });
    const ms = opts.ms || 120000;
    this.guard = setTimeout(() => { if (this.proc === p) { this.out += '\n[harness: killed after ' + ms + ' ms]\n'; this.cut(); } }, ms);
    return Promise.resolve();
  }
  cut() {
    clearTimeout(this.guard);
    if (this.proc) { try { this.proc.kill('SIGKILL'); } catch (e) { /* gone */ } }
    this.proc = null;
  }
  since() { return this.out.substring(this.mark || 0); }
  async wait(re, ms, from) {
    const start = from === undefined ? this.mark || 0 : from;
    const f = () => re.exec(this.out.substring(start));
    f.last = () => this.name + ' output tail: ' + JSON.stringify(this.out.slice(-600));
    return until(f, ms, re.toString());
  }
  // Evaluate nothing: the console is stdin (/dev/null); state is read from
  // Storage after a power cut instead (state()).
  state() {
    const o = this.script('var S=require("Storage");function rd(i){var s=S.read("ota.s"+i),j;if(!s)return;j=s.lastIndexOf("\\n");try{return JSON.parse(s.substr(0,j))}catch(e){}}' +
      'var a=rd(0),b=rd(1),s=a&&(!b||a.n>b.n)?a:b;print("STATE="+JSON.stringify(s));print("FILES="+JSON.stringify(S.list()));print("FREE="+S.getFree());');
    return { st: JSON.parse(/STATE=(.*)/.exec(o)[1] || 'null'), files: JSON.parse(/FILES=(.*)/.exec(o)[1]), free: +/FREE=(\d+)/.exec(o)[1] };
  }
}

module.exports = { ROOT, BIN, OTASIGN, OTAD, TOKEN, FAST, findEspruino, until, sleep, Otad, Proxy, Board };

'use strict';
// A scripted stand-in for otad's device endpoints, used by agent.test.js to
// feed the agent (on the real interpreter) offers that the real server would
// never make: every field of the statement and ticket tampered with in turn,
// servers that ignore Range, stall, never answer or refuse connections.
// The scenarios against the real otad are in scenarios.test.js.
const http = require('http');
const fx = require('./fixtures');

function createStub() {
  const st = {
    releases: {},          // seq -> {bundle, o: fixture options}
    target: 0,             // seq offered to devices below it
    mutate: null,          // fn(manifest, nonce) -> manifest, per test
    tamperBundle: null,    // fn(Buffer) -> Buffer
    noRange: false,        // answer a Range request with 200 and the whole body
    stallAfter: 0,         // send that many bytes of a bundle, then nothing
    cutAfter: 0,           // send that many bytes of a bundle, then close
    blackhole: false,      // accept, read, never answer
    reports: [], polls: [], bundleGets: [], server: null, port: 0,
    secret: fx.KEYS.secret, device: 'dev-1', app: 'logger', held: [],
  };
  st.release = function (seq, src, o) { st.releases[seq] = { bundle: Buffer.from(src, 'latin1'), o: o || {} }; };
  st.reset = function () {
    Object.assign(st, { releases: {}, target: 0, mutate: null, tamperBundle: null, noRange: false, stallAfter: 0,
      cutAfter: 0, blackhole: false, reports: [], polls: [], bundleGets: [] });
    for (const r of st.held) r.destroy();
    st.held = [];
  };
  function handler(req, res) {
    const u = new URL(req.url, 'http://x');
    const parts = u.pathname.split('/');
    if (st.blackhole) { st.held.push(req.socket); return; }
    function send(code, body, hdr) {
      const b = Buffer.from(body || '', 'latin1');
      res.writeHead(code, Object.assign({ 'Content-Length': b.length, Connection: 'close' }, hdr || {}));
      res.end(b);
    }
    // the JSON form (/manifest/, the previous agent) and the compact form
    // (/m/: no nonce on an idle poll, 202 when an offer waits)
    if (parts[1] === 'manifest' || parts[1] === 'm') {
      const compact = parts[1] === 'm';
      st.polls.push(req.url);
      const seq = +u.searchParams.get(compact ? 's' : 'seq');
      const nhex = u.searchParams.get(compact ? 'n' : 'nonce');
      const nonce = Buffer.from(nhex || '', 'hex');
      const r = st.releases[st.target];
      if (!r || seq >= st.target) return send(204);
      if (compact && nhex === null) return send(202);
      let m = fx.manifest(Object.assign({ app: st.app, board: '', seq: st.target, bundle: r.bundle,
        device: parts[2], nonce, secret: st.secret, poll: 1 }, r.o));
      if (st.mutate) m = st.mutate(m, nonce) || m;
      if (compact) return send(200, fx.compactOffer(m).toString('latin1'));
      return send(200, JSON.stringify(m), { 'Content-Type': 'application/json' });
    }
    if (parts[1] === 'bundle' || parts[1] === 'b') {
      const r = Object.values(st.releases).find((x) => fx.sha256(x.bundle).toString('hex') === parts[2]);
      if (!r) return send(404);
      let b = r.bundle;
      if (st.tamperBundle) b = st.tamperBundle(b);
      const range = /^bytes=(\d+)-$/.exec(req.headers.range || '');
      st.bundleGets.push(range ? +range[1] : 0);
      if ((st.stallAfter || st.cutAfter) && !range) {   // part of it, then silence or a cut
        const n = st.stallAfter || st.cutAfter, stall = !!st.stallAfter;
        st.stallAfter = st.cutAfter = 0;
        res.writeHead(200, { 'Content-Length': b.length, Connection: 'close' });
        res.write(b.subarray(0, n));
        if (stall) st.held.push(req.socket); else setTimeout(() => req.socket.destroy(), 50);
        return;
      }
      if (range && !st.noRange) {
        const from = +range[1];
        if (from >= b.length) return send(416);
        return send(206, b.subarray(from).toString('latin1'),
          { 'Content-Range': 'bytes ' + from + '-' + (b.length - 1) + '/' + b.length });
      }
      return send(200, b.toString('latin1'));
    }
    if ((parts[1] === 'report' || parts[1] === 'r') && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => { body += d.toString('latin1'); });
      req.on('end', () => {
        let r, mac;
        if (parts[1] === 'r') {
          const c = fx.compactReport(Buffer.from(body, 'latin1'));
          if (!c) return send(400, '{"error":"report"}');
          r = c.r; mac = c.mac; body = c.text;
        } else {
          try { r = JSON.parse(body); } catch (e) { return send(400, '{"error":"json"}'); }
          mac = req.headers['x-ota-mac'];
        }
        r.device = parts[2];
        r.raw = body;
        r.macOk = mac === fx.reportMac(st.secret, parts[2], body);
        const last = st.reports.filter((x) => x.macOk && x.device === r.device).pop();
        r.replay = !!(last && !(r.ctr > last.ctr));
        st.reports.push(r);
        send(!r.macOk ? 401 : r.replay ? 409 : 200, '{}');
      });
      return;
    }
    send(404);
  }
  st.listen = (port) => new Promise((ok, bad) => {
    st.server = http.createServer(handler);
    st.server.on('error', bad);
    st.server.listen(port || 0, '127.0.0.1', () => { st.port = st.server.address().port; ok(); });
  });
  // Stop accepting (connections refused) and start again on the same port.
  st.down = () => new Promise((ok) => { st.server.close(() => ok()); st.server.closeAllConnections(); });
  st.up = () => st.listen(st.port);
  st.close = () => new Promise((ok) => { for (const r of st.held) r.destroy(); st.server.close(() => ok()); st.server.closeAllConnections(); });
  st.states = () => st.reports.map((r) => r.state + ':' + r.seq);
  return st;
}
module.exports = { createStub };

'use strict';
// A scripted stand-in for otad's device endpoints, used by agent.test.js to
// feed the agent offers that the real server would never make (every field
// of the statement and ticket tampered with in turn).  The scenarios against
// the real otad are in otad.test.js.
const http = require('http');
const fx = require('./fixtures');

function createStub() {
  const st = {
    releases: {},          // seq -> {bundle, opts}
    target: 0,             // seq offered to devices below it
    mutate: null,          // fn(manifest, nonce) -> manifest, per test
    tamperBundle: null,    // fn(Buffer) -> Buffer
    reports: [], polls: 0, bundleGets: [], lastManifest: null, server: null, port: 0,
    secret: fx.KEYS.secret, device: 'dev-1', app: 'logger',
  };
  st.release = function (seq, src, o) { st.releases[seq] = { bundle: Buffer.from(src, 'latin1'), o: o || {} }; };
  st.server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const parts = u.pathname.split('/');
    function send(code, body, hdr) {
      const b = Buffer.from(body || '', 'latin1');
      res.writeHead(code, Object.assign({ 'Content-Length': b.length, Connection: 'close' }, hdr || {}));
      res.end(b);
    }
    if (parts[1] === 'manifest') {
      st.polls++;
      const seq = +u.searchParams.get('seq');
      const nonce = Buffer.from(u.searchParams.get('nonce') || '', 'hex');
      const r = st.releases[st.target];
      if (!r || seq >= st.target) return send(204);
      let m = fx.manifest(Object.assign({ app: st.app, board: '', seq: st.target, bundle: r.bundle,
        device: parts[2], nonce, secret: st.secret }, r.o));
      if (st.mutate) m = st.mutate(m, nonce) || m;
      st.lastManifest = m;
      return send(200, JSON.stringify(m), { 'Content-Type': 'application/json' });
    }
    if (parts[1] === 'bundle') {
      const r = Object.values(st.releases).find((x) => fx.sha256(x.bundle).toString('hex') === parts[2]);
      if (!r) return send(404);
      let b = r.bundle;
      if (st.tamperBundle) b = st.tamperBundle(b);
      const range = !st.noRange && /^bytes=(\d+)-$/.exec(req.headers.range || '');
      st.bundleGets.push(range ? +range[1] : 0);
      if (st.stallAfter && !range) {       // send part, then keep the socket open, silent
        const n = st.stallAfter;
        st.stallAfter = 0;
        res.writeHead(200, { 'Content-Length': b.length, Connection: 'close' });
        res.write(b.subarray(0, n));
        return;
      }
      if (range) {
        const from = +range[1];
        if (from >= b.length) return send(416);
        return send(206, b.subarray(from).toString('latin1'),
          { 'Content-Range': 'bytes ' + from + '-' + (b.length - 1) + '/' + b.length });
      }
      return send(200, b.toString('latin1'));
    }
    if (parts[1] === 'report' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => { body += d.toString('latin1'); });
      req.on('end', () => {
        let r;
        try { r = JSON.parse(body); } catch (e) { return send(400, '{"error":"json"}'); }
        r.device = parts[2];
        const mac = req.headers['x-ota-mac'];
        r.macOk = mac === undefined ? null : mac === fx.reportMac(st.secret, body);
        st.reports.push(r);
        send(r.macOk === false ? 401 : 200, '{}');
      });
      return;
    }
    send(404);
  });
  st.listen = () => new Promise((ok) => st.server.listen(0, '127.0.0.1', () => { st.port = st.server.address().port; ok(); }));
  st.close = () => new Promise((ok) => st.server.close(ok));
  st.states = () => st.reports.map((r) => r.state + (r.seq !== undefined ? ':' + r.seq : ''));
  return st;
}
module.exports = { createStub };

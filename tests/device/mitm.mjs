// tests/device/mitm.mjs: an attacker on the network between otadev and otad,
// for the rejection tests.  Listens on 127.0.0.1:0, prints the port on its
// first line, forwards to the upstream otad and, depending on the mode read
// from MODE_FILE at each request, tampers with what passes:
//   pass          forward unchanged
//   statement     flip one byte of the manifest's statement
//   bundle        flip one byte of the bundle body
//   other-device  ask otad for another device's offer (same nonce)
//   record        forward, and keep the manifest body
//   replay        answer every manifest poll with the kept body (old nonce)
//   lower         tell otad the device runs seq 0, so it offers what it runs
//   no-reports    answer every report with 503 (the uplink or the server
//                 fails just then); everything else passes
// Usage: node mitm.mjs UPSTREAM_PORT MODE_FILE
import http from 'node:http';
import fs from 'node:fs';

const upstream = Number(process.argv[2]);
const modeFile = process.argv[3];
let kept = null;

function mode() {
  try { return fs.readFileSync(modeFile, 'utf8').trim(); } catch { return 'pass'; }
}

function flip(buf, at) {
  const b = Buffer.from(buf);
  b[at % b.length] ^= 0x01;
  return b;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const m = mode();
    let path = req.url;
    const isManifest = path.startsWith('/manifest/');
    if (isManifest && m === 'replay' && kept) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': kept.length });
      res.end(kept);
      return;
    }
    if (m === 'no-reports' && path.startsWith('/report/')) {
      res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': 2 });
      res.end('{}');
      return;
    }
    if (isManifest && m === 'other-device') path = path.replace(/^\/manifest\/[^?]*/, '/manifest/intruder-1');
    if (isManifest && m === 'lower') path = path.replace(/([?&])seq=\d+/, '$1seq=0');
    const headers = { ...req.headers };
    delete headers['host'];
    const up = http.request({ host: '127.0.0.1', port: upstream, method: req.method, path, headers }, (ur) => {
      const out = [];
      ur.on('data', (c) => out.push(c));
      ur.on('end', () => {
        let body = Buffer.concat(out);
        if (isManifest && ur.statusCode === 200) {
          if (m === 'record') kept = body;
          if (m === 'statement') {
            const j = JSON.parse(body.toString('utf8'));
            j.statement = flip(Buffer.from(j.statement, 'base64'), 210).toString('base64');
            body = Buffer.from(JSON.stringify(j));
          }
        }
        if (path.startsWith('/bundle/') && m === 'bundle' && body.length > 0) body = flip(body, 3);
        const h = { ...ur.headers };
        delete h['transfer-encoding'];
        h['content-length'] = String(body.length);
        res.writeHead(ur.statusCode, h);
        res.end(body);
      });
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    up.end(Buffer.concat(chunks));
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(server.address().port);
});

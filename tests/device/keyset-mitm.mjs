// tests/device/keyset-mitm.mjs: an attacker (or a stale mirror) between
// otadev and otad for the key-set tests.  Listens on 127.0.0.1:0, prints its
// port on the first line, forwards everything to the upstream otad; when
// MODE_FILE names a file, every manifest answer carries that file's bytes as
// its "keyset" member (a 204 becomes a key-set-only 200 answer), so a device
// can be shown an older, badly signed or foreign-root key set.
// Usage: node keyset-mitm.mjs UPSTREAM_PORT MODE_FILE
import http from 'node:http';
import fs from 'node:fs';

const upstream = Number(process.argv[2]);
const modeFile = process.argv[3];

function injected() {
  let m = '';
  try { m = fs.readFileSync(modeFile, 'utf8').trim(); } catch { return null; }
  if (!m || m === 'pass') return null;
  return fs.readFileSync(m).toString('base64');
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const headers = { ...req.headers };
    delete headers['host'];
    const up = http.request({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers }, (ur) => {
      const out = [];
      ur.on('data', (c) => out.push(c));
      ur.on('end', () => {
        let body = Buffer.concat(out);
        let status = ur.statusCode;
        const h = { ...ur.headers };
        const ks = req.url.startsWith('/manifest/') ? injected() : null;
        if (ks && (status === 200 || status === 204)) {
          const j = status === 200 ? JSON.parse(body.toString('utf8')) : { poll: 60 };
          j.keyset = ks;
          body = Buffer.from(JSON.stringify(j));
          status = 200;
          h['content-type'] = 'application/json';
        }
        delete h['transfer-encoding'];
        h['content-length'] = String(body.length);
        res.writeHead(status, h);
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

// tests/e2e/hostile-load.mjs: hostile load for otad over loopback (test
// tool, never run in production).  Prints one JSON line of results.
//
//   node hostile-load.mjs uploads PORT COUNT CONCURRENCY BYTES
//       COUNT unauthenticated POST /admin/releases declaring and sending
//       BYTES each, at most CONCURRENCY at a time; each stops sending when
//       otad answers or closes.  Counts the answers by status.
//   node hostile-load.mjs slowloris PORT CONNS ADDRS SECONDS DEVICE_ADDR
//       CONNS slow connections spread over ADDRS loopback addresses
//       (127.0.0.1 ..), each trickling request headers a byte a second and
//       reconnecting when closed; meanwhile one normal device from
//       DEVICE_ADDR polls GET /manifest/... with Connection: close for
//       SECONDS, one poll after the other.  Reports the polls' latency
//       (p50/p99/max) and how many were answered.
import net from 'node:net';
import http from 'node:http';

const [mode, portS, ...rest] = process.argv.slice(2);
const port = Number(portS);

function uploads(count, conc, bytes) {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(65536, 0x61);
    const status = {};
    let started = 0, done = 0, sentTotal = 0;
    const t0 = Date.now();
    const one = () => {
      if (started >= count) return;
      started++;
      const s = net.connect({ port, host: '127.0.0.1' });
      let got = '', sent = 0, finished = false, answered = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
        const k = m ? m[1] : 'none';
        status[k] = (status[k] || 0) + 1;
        sentTotal += sent;
        done++;
        s.destroy();
        if (done === count) resolve({ mode: 'uploads', count, concurrency: conc, bytes, status,
          sent_mb: +(sentTotal / 1048576).toFixed(1), seconds: (Date.now() - t0) / 1000 });
        else one();
      };
      const pump = () => {
        while (!answered && sent < bytes) {
          const n = Math.min(chunk.length, bytes - sent);
          sent += n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { s.once('drain', pump); return; }
        }
      };
      s.on('connect', () => {
        s.write(`POST /admin/releases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
                `Content-Length: ${bytes}\r\n\r\n`);
        pump();
      });
      s.on('data', (d) => { got += d.toString('latin1'); answered = true; if (/\r\n\r\n/.test(got)) finish(); });
      s.on('error', () => { answered = true; });   // a reset after the answer: 'close' follows
      s.on('close', finish);
      s.setTimeout(60000, finish);
    };
    for (let i = 0; i < conc; i++) one();
  });
}

function pct(a, p) {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function slowloris(conns, addrs, seconds, devAddr) {
  return new Promise((resolve) => {
    const line = 'GET /manifest/slow HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(4000) + '\r\n\r\n';
    const answers = {};
    let opened = 0, closedBy = 0, stopping = false;
    const socks = new Set();
    const open = (i) => {
      if (stopping) return;
      const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (i % addrs)}` });
      socks.add(s);
      opened++;
      let pos = 0, got = '';
      const tick = setInterval(() => {
        if (pos < line.length) s.write(line[pos++]);
      }, 1000);
      s.on('connect', () => { s.write(line.slice(0, 30)); pos = 30; });
      s.on('data', (d) => { got += d.toString('latin1'); });
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(tick);
        socks.delete(s);
        const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
        const k = m ? m[1] : 'closed';
        answers[k] = (answers[k] || 0) + 1;
        closedBy++;
        if (!stopping) setTimeout(() => open(i), 200);   // keep the pressure on
      });
    };
    for (let i = 0; i < conns; i++) setTimeout(() => open(i), Math.floor(i / 100) * 50);
    const lat = [];
    let polls = 0, answered = 0, failed = 0;
    const statuses = {};
    const t0 = Date.now();
    const poll = () => {
      if (Date.now() - t0 > seconds * 1000) {
        stopping = true;
        for (const s of socks) s.destroy();
        resolve({ mode: 'slowloris', conns, addrs, seconds, polls, answered, failed, statuses,
          p50_ms: pct(lat, 50), p99_ms: pct(lat, 99), max_ms: lat.length ? Math.max(...lat) : null,
          slow_conns_opened: opened, slow_conn_answers: answers });
        return;
      }
      polls++;
      const st = Date.now();
      const nonce = [...Array(32)].map(() => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
      const req = http.request({ host: '127.0.0.1', port, localAddress: devAddr, agent: false,
        path: `/manifest/normal-dev?app=demo&seq=1&nonce=${nonce}`, headers: { Connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => {
          statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
          if (res.statusCode === 200 || res.statusCode === 204) { answered++; lat.push(Date.now() - st); }
          else failed++;
          setTimeout(poll, 100);
        });
      });
      req.setTimeout(30000, () => req.destroy(new Error('timeout')));
      req.on('error', () => { failed++; setTimeout(poll, 100); });
      req.end();
    };
    // let the slow connections pile up first
    setTimeout(poll, 3000);
  });
}

let r;
if (mode === 'uploads') r = await uploads(Number(rest[0]), Number(rest[1]), Number(rest[2]));
else if (mode === 'slowloris') r = await slowloris(Number(rest[0]), Number(rest[1]), Number(rest[2]), rest[3]);
else { console.error('usage: see the top of this file'); process.exit(2); }
console.log(JSON.stringify(r));
process.exit(0);

'use strict';
// Release statements, device tickets and MACs laid out as manifests/FORMAT.md
// says (sections 2-4), made with node's crypto, to test the agent's decision
// byte by byte and to drive the in-test stub server.
const crypto = require('crypto');

function seedKey(first) {  // FORMAT.md test keys: 32 consecutive bytes from `first`
  const seed = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) seed[i] = first + i;
  const priv = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der', type: 'pkcs8' });
  const pub = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(12);
  return { priv, pub, id: sha256(pub).subarray(0, 8) };
}
const KEYS = {
  release: seedKey(0x01), release2: seedKey(0x61), server: seedKey(0x21),
  secret: (() => { const b = Buffer.alloc(32); for (let i = 0; i < 32; i++) b[i] = 0x41 + i; return b; })(),
};
function sha256(b) { return crypto.createHash('sha256').update(b).digest(); }
function hmac(k, b) { return crypto.createHmac('sha256', k).update(b).digest(); }
function text(buf, off, n, s) { Buffer.from(s || '', 'utf8').copy(buf, off, 0, n); }
function u64(buf, off, v) { buf.writeBigUInt64LE(BigInt(v), off); }

// o: {app, board, seq, bundle (Buffer), label, key, encoding, created}
function statement(o) {
  const b = Buffer.alloc(336);
  const key = o.key || KEYS.release;
  b.write('OTAS', 0, 'latin1'); b[4] = 1; b[5] = o.encoding || 0;
  key.id.copy(b, 8);
  text(b, 16, 32, o.app); text(b, 48, 32, o.board || '');
  u64(b, 80, o.seq); u64(b, 88, o.created || 1700000000);
  const h = sha256(o.bundle);
  b.writeUInt32LE(o.bundle.length, 96); b.writeUInt32LE(o.bundle.length, 100);
  h.copy(b, 104); h.copy(b, 136); sha256(Buffer.from('source ' + o.seq)).copy(b, 168);
  text(b, 200, 64, o.label || 'v' + o.seq);
  b.writeUInt16LE(229, 264);
  if (o.mutate) o.mutate(b);
  crypto.sign(null, b.subarray(0, 272), key.priv).copy(b, 272);
  return b;
}
// o: {device, nonce (Buffer), statement (Buffer), key, issued}
function ticket(o) {
  const b = Buffer.alloc(216);
  const key = o.key || KEYS.server;
  b.write('OTAT', 0, 'latin1'); b[4] = 1; b[5] = o.nonce.length;
  key.id.copy(b, 8);
  text(b, 16, 32, o.device);
  o.nonce.copy(b, 48);
  sha256(o.statement).copy(b, 80);
  o.statement.copy(b, 112, 104, 136);
  u64(b, 144, o.issued || 1700000100);
  if (o.mutate) o.mutate(b);
  crypto.sign(null, b.subarray(0, 152), key.priv).copy(b, 152);
  return b;
}
function manifest(o) {
  const st = statement(o);
  const tk = ticket({ device: o.device, nonce: o.nonce, statement: st, mutate: o.mutateTicket });
  const h = sha256(o.bundle).toString('hex');
  const m = {
    app: o.app, seq: o.seq, size: o.bundle.length, sha256: h, url: '/bundle/' + h,
    statement: st.toString('base64'), ticket: tk.toString('base64'), poll: o.poll || 3600,
  };
  if (o.secret !== null) m.mac = hmac(o.secret || KEYS.secret, tk).toString('hex');
  return m;
}
// The report MAC (reports v2, CONTRACT): X-OTA-MAC = hex HMAC-SHA256(secret,
// "OTAR" || device id || "\n" || body).
function reportMac(secret, id, body) {
  return hmac(secret, Buffer.concat([Buffer.from('OTAR' + id + '\n', 'latin1'), Buffer.from(body, 'latin1')])).toString('hex');
}
// The compact offer (FORMAT.md 6b) from a manifest-shaped object and back:
// tagged fields, a letter, a 2-byte big-endian length, the bytes: T ticket,
// S statement, M mac (when the object has one), P poll seconds, U url (only
// when it is not /b/ or /bundle/ and the statement's bundle SHA-256: the
// agent's default is /b/<sha256>).
function field(tag, b) { const h = Buffer.alloc(3); h.write(tag, 0, 'latin1'); h.writeUInt16BE(b.length, 1); return Buffer.concat([h, b]); }
function compactOffer(m) {
  const st = Buffer.from(m.statement || '', 'base64');
  const parts = [field('T', Buffer.from(m.ticket || '', 'base64')), field('S', st)];
  if (m.mac !== undefined) parts.push(field('M', Buffer.from(m.mac, 'hex')));
  parts.push(field('P', Buffer.from(String(m.poll || 3600), 'latin1')));
  const h = st.length >= 136 ? st.subarray(104, 136).toString('hex') : null;
  if (m.url && !(h && (m.url === '/bundle/' + h || m.url === '/b/' + h)))
    parts.push(field('U', Buffer.from(m.url, 'latin1')));
  return Buffer.concat(parts);
}
function decodeOffer(b) {
  const f = {};
  for (let i = 0; i + 3 <= b.length;) { const n = b.readUInt16BE(i + 1); f[String.fromCharCode(b[i])] = b.subarray(i + 3, i + 3 + n); i += 3 + n; }
  const st = f.S || Buffer.alloc(0);
  const m = { statement: st.toString('base64'), ticket: (f.T || Buffer.alloc(0)).toString('base64'), poll: f.P ? +f.P.toString('latin1') : undefined,
    url: f.U ? f.U.toString('latin1') : st.length >= 136 ? '/b/' + st.subarray(104, 136).toString('hex') : undefined,
    seq: st.length >= 88 ? Number(st.readBigUInt64LE(80)) : 0 };
  if (f.M) m.mac = f.M.toString('hex');
  return m;
}
// The compact report (FORMAT.md 6b): MAC (32 bytes) || "CTR APP SEQ S CODE[ DETAIL]".
const LETTERS = { d: 'downloading', D: 'downloaded', t: 'trial', c: 'confirmed', b: 'rolled_back', r: 'rejected', f: 'failed' };
function compactReport(body) {
  const text = body.subarray(32).toString('latin1');
  const m = /^(\d+) (\S+) (\d+) (\S) (\d+)(?: (.*))?$/.exec(text);
  if (!m) return null;
  const r = { ctr: +m[1], app: m[2], seq: +m[3], state: LETTERS[m[4]] || '?' + m[4], code: +m[5] };
  if (m[6] !== undefined) r.detail = m[6];
  return { r, text, mac: body.subarray(0, 32).toString('hex') };
}
function compactReportMac(secret, id, text) { return reportMac(secret, id, text); }
module.exports = { KEYS, statement, ticket, manifest, sha256, hmac, reportMac, compactOffer, decodeOffer, compactReport, compactReportMac };

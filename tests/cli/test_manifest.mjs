// The JSON manifest and the binary formats from a JavaScript reader's side
// (what the Espruino agent of the stock-firmware tier does): decode the
// golden statement and ticket at the offsets of manifests/FORMAT.md, check
// the bindings (statement hash, bundle hash, nonce, device) and the HMAC with
// node's crypto, build the manifest a server would send and validate it
// against manifests/manifest.schema.json (with a small validator for the
// subset of JSON Schema the file uses).
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createHash, createHmac } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.env.OTA_ROOT || join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const V = join(root, 'manifests', 'vectors');
const rd = (f) => readFileSync(join(V, f));
let pass = 0, fail = 0;
const check = (cond, what) => { if (cond) pass++; else { fail++; console.error('FAIL: ' + what); } };

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const text = (b, off, n) => { let e = off; while (e < off + n && b[e] !== 0) e++; return b.subarray(off, e).toString('utf8'); };
const u64 = (b, off) => b.readBigUInt64LE(off);

// ---- statement (FORMAT.md section 2) ----
function decodeStatement(b) {
  if (b.length !== 336 || b.toString('latin1', 0, 4) !== 'OTAS' || b[4] !== 1) return null;
  return {
    encoding: b[5], key_id: b.subarray(8, 16).toString('hex'),
    app: text(b, 16, 32), board: text(b, 48, 32), seq: u64(b, 80), created: u64(b, 88),
    size: b.readUInt32LE(96), installed_size: b.readUInt32LE(100),
    sha256: b.subarray(104, 136).toString('hex'), installed_sha256: b.subarray(136, 168).toString('hex'),
    source_sha256: b.subarray(168, 200).toString('hex'), label: text(b, 200, 64),
    target: b.readUInt16LE(264), sig: b.subarray(272, 336),
  };
}
// ---- ticket (FORMAT.md section 3) ----
function decodeTicket(b) {
  if (b.length !== 216 || b.toString('latin1', 0, 4) !== 'OTAT' || b[4] !== 1) return null;
  const nl = b[5];
  return {
    key_id: b.subarray(8, 16).toString('hex'), device: text(b, 16, 32),
    nonce: b.subarray(48, 48 + nl).toString('hex'), statement_sha256: b.subarray(80, 112).toString('hex'),
    bundle_sha256: b.subarray(112, 144).toString('hex'), issued: u64(b, 144),
  };
}

const stBytes = rd('s-valid.stmt'), tkBytes = rd('d-valid.ticket'), bundle = rd('bundle.js');
const secret = rd('device.secret'), mac = rd('m-valid.mac');
const st = decodeStatement(stBytes), tk = decodeTicket(tkBytes);
check(st && tk, 'decode golden statement and ticket');
check(st.app === 'demo' && st.board === 'pico' && st.seq === 5n && st.label === 'vector release', 'statement fields');
check(st.created === 1700000000n && st.target === 229 && st.encoding === 0, 'statement created/target/encoding');
check(st.size === bundle.length && st.sha256 === sha256(bundle), 'statement binds the bundle');
check(st.installed_sha256 === st.sha256 && st.installed_size === st.size, 'identity encoding');
check(st.source_sha256 === sha256(rd('source.js')), 'source hash');
const relPub = Buffer.from(rd('release.pub').toString().trim(), 'hex');
check(st.key_id === sha256(relPub).slice(0, 16), 'key id = SHA-256(pub)[0..8]');
check(tk.statement_sha256 === sha256(stBytes), 'ticket names the statement');
check(tk.bundle_sha256 === st.sha256, 'ticket repeats the bundle hash');
check(tk.device === 'dev-0001' && tk.nonce === 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'ticket device and nonce');
check(tk.issued === 1700000100n, 'ticket issued');
// The stock-firmware tier: HMAC-SHA256(secret, the 216 ticket bytes).
const hm = createHmac('sha256', secret).update(tkBytes).digest();
check(hm.equals(mac), 'mac = HMAC-SHA256(device secret, ticket)');
check(!createHmac('sha256', secret).update(tkBytes.subarray(0, 152)).digest().equals(mac), 'mac covers the signature too');
// Ed25519 verification by node as a third verifier of the golden signatures.
{
  const { createPublicKey, verify } = await import('node:crypto');
  const spki = (raw) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  check(verify(null, stBytes.subarray(0, 272), spki(relPub), st.sig), 'node verifies the statement signature');
  const srvPub = Buffer.from(rd('server.pub').toString().trim(), 'hex');
  check(verify(null, tkBytes.subarray(0, 152), spki(srvPub), tkBytes.subarray(152)), 'node verifies the ticket signature');
  const flipped = Buffer.from(stBytes); flipped[300] ^= 1;
  check(!verify(null, flipped.subarray(0, 272), spki(relPub), flipped.subarray(272)), 'node rejects a flipped signature');
}

// ---- the manifest ----
const manifest = {
  app: st.app, board: st.board, seq: Number(st.seq), label: st.label, created: Number(st.created),
  key_id: st.key_id, encoding: 'identity', size: st.size, installed_size: st.installed_size,
  sha256: st.sha256, installed_sha256: st.installed_sha256, source_sha256: st.source_sha256,
  url: '/bundle/' + st.sha256, device: tk.device, nonce: tk.nonce, issued: Number(tk.issued),
  statement: stBytes.toString('base64'), ticket: tkBytes.toString('base64'), mac: mac.toString('hex'),
  poll: 3600,
};
const schema = JSON.parse(readFileSync(join(root, 'manifests', 'manifest.schema.json'), 'utf8'));

// Validator for the subset used: type, required, properties, pattern, enum,
// minimum/maximum (integers), minLength/maxLength, additionalProperties.
function validate(s, v, path = '$') {
  const errs = [];
  const t = s.type;
  if (t === 'object') {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return [path + ': not an object'];
    for (const k of s.required || []) if (!(k in v)) errs.push(path + ': missing ' + k);
    for (const [k, sub] of Object.entries(s.properties || {})) if (k in v) errs.push(...validate(sub, v[k], path + '.' + k));
    if (s.additionalProperties === false)
      for (const k of Object.keys(v)) if (!(k in (s.properties || {}))) errs.push(path + ': extra ' + k);
    return errs;
  }
  if (t === 'string') {
    if (typeof v !== 'string') return [path + ': not a string'];
    if (s.pattern && !new RegExp(s.pattern, 'u').test(v)) errs.push(path + ': pattern');
    if (s.maxLength !== undefined && [...v].length > s.maxLength) errs.push(path + ': too long');
    if (s.minLength !== undefined && [...v].length < s.minLength) errs.push(path + ': too short');
  } else if (t === 'integer') {
    if (!Number.isInteger(v)) return [path + ': not an integer'];
    if (s.minimum !== undefined && v < s.minimum) errs.push(path + ': below minimum');
    if (s.maximum !== undefined && v > s.maximum) errs.push(path + ': above maximum');
  }
  if (s.enum && !s.enum.includes(v)) errs.push(path + ': not in enum');
  return errs;
}
const errs = validate(schema, manifest);
check(errs.length === 0, 'golden manifest matches the schema: ' + errs.join(', '));
const bad = (mut, what) => { const m = { ...manifest }; mut(m); check(validate(schema, m).length > 0, 'schema rejects ' + what); };
bad((m) => delete m.ticket, 'a manifest without ticket');
bad((m) => delete m.statement, 'a manifest without statement');
bad((m) => { m.sha256 = m.sha256.toUpperCase(); }, 'upper-case hex');
bad((m) => { m.statement = m.statement.slice(4); }, 'a short statement');
bad((m) => { m.app = '../etc'; }, 'a path as app');
bad((m) => { m.seq = 0; }, 'seq 0');
bad((m) => { m.mac = 'zz'; }, 'a bad mac');
bad((m) => { m.poll = 0; }, 'poll 0');
check(validate(schema, { ...manifest, future_field: 1 }).length === 0, 'schema ignores unknown members');
const noMac = { ...manifest }; delete noMac.mac;
check(validate(schema, noMac).length === 0, 'mac is optional');
// The example block of FORMAT.md is at least well-formed JSON with the schema's members.
const fmt = readFileSync(join(root, 'manifests', 'FORMAT.md'), 'utf8');
const ex = fmt.match(/```json\n([\s\S]*?)```/);
let exObj = null;
try { exObj = JSON.parse(ex[1]); } catch { /* reported below */ }
check(exObj && schema.required.every((k) => k in exObj), 'FORMAT.md example parses and has the required members');


// ---- otasign verify --manifest: the readable copies must agree with the bytes ----
{
  let bin = process.env.OTA_BIN || join(root, 'build', 'bin');
  if (!bin.startsWith('/')) bin = join(root, bin);
  const tmp = mkdtempSync(join(tmpdir(), 'otasign-manifest-'));
  const run = (m, extra = []) => {
    const f = join(tmp, 'm.json');
    writeFileSync(f, JSON.stringify(m));
    const r = spawnSync(join(bin, 'otasign'), ['verify', '--manifest', f, '--pub', join(V, 'release.pub'),
      '--server-pub', join(V, 'server.pub'), '--board', 'pico', '--running', '4', ...extra], { encoding: 'utf8' });
    return { rc: r.status, out: (r.stdout || '') + (r.stderr || '') };
  };
  let r = run(manifest);
  check(r.rc === 0 && /offer accepted/.test(r.out), 'otasign verify --manifest accepts the golden manifest: ' + r.out);
  r = run(manifest, ['--device', 'dev-0001', '--nonce', 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', '--app', 'demo', '--bundle', join(V, 'bundle.js')]);
  check(r.rc === 0, 'with explicit device inputs and the bundle: ' + r.out);
  r = run(manifest, ['--tier', 'mac', '--secret-file', join(V, 'device.secret')]);
  check(r.rc === 0 && /MAC tier/.test(r.out), 'MAC tier through the manifest: ' + r.out);
  r = run({ ...manifest, mac: '00'.repeat(32) }, ['--tier', 'mac', '--secret-file', join(V, 'device.secret')]);
  check(r.rc === 1 && /OTA_ERR_BAD_MAC/.test(r.out), 'a wrong mac in the manifest: ' + r.out);
  r = run(manifest, ['--nonce', 'ffa1a2a3a4a5a6a7a8a9aaabacadaeaf']);
  check(r.rc === 1 && /OTA_ERR_STALE_NONCE/.test(r.out), 'another nonce: ' + r.out);
  r = run(manifest, ['--running', '5']);
  check(r.rc === 1 && /OTA_ERR_NOT_NEWER/.test(r.out), 'running the same sequence: ' + r.out);
  for (const [k, v] of [['seq', 6], ['app', 'demo2'], ['board', 'esp32'], ['size', 70], ['label', 'other'],
                        ['sha256', '00'.repeat(32)], ['key_id', '00'.repeat(8)], ['device', 'dev-0002'],
                        ['nonce', 'a0'.repeat(16)], ['issued', 1], ['created', 2], ['url', '/bundle/' + 'ab'.repeat(32)]]) {
    r = run({ ...manifest, [k]: v });
    check(r.rc === 1 && new RegExp(k === 'url' ? 'url' : `"${k}"`).test(r.out), `a manifest whose ${k} disagrees with the bytes is refused: ` + r.out);
  }
  r = run({ ...manifest, url: 'https://cdn.example/ota/bundle/' + st.sha256 });
  check(r.rc === 0, 'an absolute bundle url is fine: ' + r.out);
  const t2 = Buffer.from(tkBytes); t2[160] ^= 1;
  r = run({ ...manifest, ticket: t2.toString('base64') });
  check(r.rc === 1 && /OTA_ERR_BAD_TICKET_SIG/.test(r.out), 'a tampered ticket in the manifest: ' + r.out);
  r = run({ ...manifest, statement: 'not base64!' });
  check(r.rc === 1 && /statement/.test(r.out), 'bad base64: ' + r.out);
  rmSync(tmp, { recursive: true, force: true });
}

console.log(`test_manifest: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);

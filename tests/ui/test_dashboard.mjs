// tests/ui/test_dashboard.mjs: the dashboard otad serves at /ui/, in
// headless Chromium (Debian's package, driven over the DevTools pipe by
// ./cdp.mjs), against the real otad with real releases (otasign) and
// simulated devices (otadev) on loopback.
//
// It signs in (a wrong token first), watches a staged rollout advance by
// itself (auto-refresh) as otadev devices confirm wave by wave, sees a
// device that rolled back with its reason and history, pauses and resumes
// from the page, and checks that the page loads nothing from anywhere but
// otad, breaks no rule of its Content-Security-Policy and throws nothing.
// Screenshots go to $OTA_BUILD/screenshots/dashboard-*.png.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser, findChromium, sleep } from './cdp.mjs';

const NAME = 'test_dashboard';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = resolve(ROOT, process.env.OTA_BUILD || 'build');
const BIN = resolve(ROOT, process.env.OTA_BIN || join(BUILD, 'bin'));
const SHOTS = join(BUILD, 'screenshots');
const TOKEN = 'dashboard-test-token-0123456789';
let pass = 0, fail = 0;
const ok = (what, cond, extra = '') => {
  if (cond) pass++;
  else { fail++; console.log(`FAIL: ${what}${extra ? ': ' + extra : ''}`); }
};

const chromium = findChromium();
if (!chromium) {
  console.log(`${NAME}: skipped: no Chromium (apt-get install chromium; scripts/deps.sh test installs it)`);
  console.log(`${NAME}: 0 passed, 0 failed, 1 skipped`);
  process.exit(0);
}

const WORK = mkdtempSync(join(tmpdir(), 'ota-ui-'));
let otad = null, browser = null;
async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (otad && otad.exitCode === null) { otad.kill('SIGTERM'); await new Promise((r) => otad.once('exit', r)); }
  rmSync(WORK, { recursive: true, force: true });
}

function run(prog, args, opts = {}) {
  const r = spawnSync(join(BIN, prog), args, { encoding: 'utf8', cwd: WORK, timeout: 60000,
    env: Object.assign({}, process.env, { OTASIGN_SERVER: base, OTASIGN_TOKEN: TOKEN }), ...opts });
  if (r.status !== 0 && !opts.mayFail) throw new Error(`${prog} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r;
}
let base = '';

// otad's bucket (server/README.md): SHA-256("otad-bucket-v1\0" || u64le id || device) mod 10000
function bucket(rollout, dev) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(rollout));
  const h = createHash('sha256').update(Buffer.concat([Buffer.from('otad-bucket-v1\0'), b, Buffer.from(dev)])).digest();
  return Number(h.readBigUInt64LE(0) % 10000n);
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  // ---- otad, keys, releases --------------------------------------------------
  run('otasign', ['keygen', '--out', join(WORK, 'rel')]);
  otad = spawn(join(BIN, 'otad'), ['--data', join(WORK, 'data'), '--listen', '127.0.0.1:0', '--port-file',
    join(WORK, 'port'), '--release-pub', join(WORK, 'rel.pub'), '--quiet', '--poll-interval', '60'],
  { env: Object.assign({}, process.env, { OTAD_ADMIN_TOKEN: TOKEN }), stdio: ['ignore', 'ignore', 'pipe'] });
  let otadErr = '';
  otad.stderr.on('data', (d) => { otadErr += d; });
  let port = '';
  for (let i = 0; i < 200 && !port; i++) {
    await sleep(50);
    try { port = readFileSync(join(WORK, 'port'), 'utf8').trim(); } catch (e) { port = ''; }
  }
  if (!port) throw new Error('otad did not start: ' + otadErr);
  base = `http://127.0.0.1:${port}`;
  const serverPub = readFileSync(join(WORK, 'data/server.pub'), 'utf8').trim();
  writeFileSync(join(WORK, 'v1.js'), 'var v=1;\n');
  writeFileSync(join(WORK, 'v2.js'), 'var v=2; function poll(){}\n');
  writeFileSync(join(WORK, 'golden.js'), 'setInterval(poll, 3600e3);\n');
  for (const v of [1, 2]) {
    run('otasign', ['release', join(WORK, `v${v}.js`), '--key', join(WORK, 'rel.key'), '--app', 'logger',
      '--seq', String(v), '--label', `logger v${v}`, '--out', join(WORK, 'rels'), '--no-minify']);
    run('otasign', ['publish', join(WORK, `rels/logger-${v}`)]);
  }
  // Devices chosen so that two fall in the first wave (25%) of rollout #1
  // and four in the second; one of the second throws at start.
  const first = [], second = [];
  for (let i = 1; first.length < 2 || second.length < 4; i++) {
    const id = `pico-${String(i).padStart(2, '0')}`;
    if (bucket(1, id) < 2500) { if (first.length < 2) first.push(id); } else if (second.length < 4) second.push(id);
  }
  const bad = second[3];
  // Each device registered with otad (POST /admin/devices: its secret,
  // shown once, which the simulated device uses to MAC its reports).
  const secret = {};
  for (const id of [...first, ...second]) {
    const r = await fetch(base + '/admin/devices', { method: 'POST', body: JSON.stringify({ id, secret: true }),
      headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' } });
    secret[id] = (await r.json()).secret;
    if (!/^[0-9a-f]{64}$/.test(secret[id] || '')) throw new Error('registering ' + id + ': HTTP ' + r.status);
    run('otadev', ['provision', '--flash', join(WORK, id + '.flash'), '--golden', join(WORK, 'golden.js'),
      '--program', join(WORK, 'rels/logger-1/program.js'), '--seq', '1']);
  }
  let lastPoll = '';
  const poll = (ids) => { for (const id of ids) lastPoll += run('otadev', ['run', '--flash', join(WORK, id + '.flash'), '--server', base,
    '--id', id, '--app', 'logger', '--release-pub', join(WORK, 'rel.pub'), '--server-pub', serverPub,
    '--interval', '0', '--polls', '2', '--secret', secret[id], ...(id === bad ? ['--behave', '2=throws'] : [])], { mayFail: true }).stderr; };
  poll([...first, ...second]);   // everyone on v1 says hello: nothing offered yet
  run('otasign', ['rollout', 'start', 'logger', '2', '--waves', '25,100', '--wave-fraction', '1']);

  // ---- the browser ---------------------------------------------------------------
  browser = await Browser.launch(chromium);
  const page = await browser.newPage();
  await page.init();
  await page.send('Page.addScriptToEvaluateOnNewDocument', { source:
    "window.__cspv = []; document.addEventListener('securitypolicyviolation', (e) => window.__cspv.push(e.violatedDirective + ' ' + e.blockedURI));" });
  await page.send('Emulation.setDeviceMetricsOverride', { width: 1360, height: 1000, deviceScaleFactor: 1, mobile: false });
  await page.goto(base + '/ui/');
  ok('login form shown', await page.waitFor("!document.querySelector('#login').hidden && document.activeElement && document.activeElement.id === 'token'", 10000, 'login form'));
  await page.type('#token', 'not-the-token-at-all-xx');
  await page.click('#login-btn');
  const err = await page.waitFor("document.querySelector('#login-error').textContent", 10000, 'login error');
  ok('a wrong token is refused with a message', /refused/.test(err), err);
  ok('nothing stored for a refused token', await page.eval("sessionStorage.getItem('otad-token') === null"));
  await page.screenshot(join(SHOTS, 'dashboard-1-login-refused.png'), writeFileSync);
  await page.eval("document.querySelector('#token').value = ''");
  await page.type('#token', TOKEN);
  await page.click('#login-btn');
  await page.waitFor("!document.querySelector('#app').hidden && document.querySelector('.rollout[data-app=logger]')", 10000, 'dashboard');
  ok('token kept in sessionStorage only', await page.eval(`sessionStorage.getItem('otad-token') === ${JSON.stringify(TOKEN)} && localStorage.length === 0`));
  const conf = "Number((document.querySelector('.rollout[data-app=logger] [data-col=confirmed] b') || {}).textContent)";
  ok('rollout shown at its first wave', await page.waitFor(`${conf} === 0 && /25% of devices/.test(document.querySelector('.rollout[data-app=logger]').textContent)`, 10000, 'rollout at 25%'));
  ok('two waves shown', await page.eval("document.querySelectorAll('.rollout[data-app=logger] .wave').length === 2"));
  await page.screenshot(join(SHOTS, 'dashboard-2-rollout-started.png'), writeFileSync);

  // Wave 1: the second wave's devices are offered nothing yet; the first
  // wave's two update and confirm; the page sees it by itself.
  poll(second);
  ok('second wave waits', await page.eval(`${conf} === 0`));
  poll(first);
  if (process.env.UI_DEBUG) console.log(run('otasign', ['status', 'logger']).stdout, first, second, lastPoll);
  ok('first wave confirmed, seen without a reload', await page.waitFor(`${conf} === 2`, 15000, 'confirmed = 2'));
  ok('second wave opened (100%)', await page.waitFor("/100% of devices/.test(document.querySelector('.rollout[data-app=logger]').textContent)", 15000, 'wave 2 open'));
  ok('first wave shows 2/2 confirmed', await page.eval("/2\\/2 confirmed/.test(document.querySelector('.wave[data-wave=\"25\"]').textContent)"));
  await page.screenshot(join(SHOTS, 'dashboard-3-first-wave-confirmed.png'), writeFileSync);

  // Wave 2: three more confirm, one throws at start and rolls back.
  poll(second);
  ok('second wave confirmed', await page.waitFor(`${conf} === 5`, 15000, 'confirmed = 5'));
  ok('rolled back device counted', await page.waitFor("Number(document.querySelector('.rollout[data-app=logger] [data-col=rolled_back] b').textContent) === 1", 10000, 'rolled back = 1'));
  ok('second wave shows 3/4 confirmed', await page.eval("/3\\/4 confirmed/.test(document.querySelector('.wave[data-wave=\"100\"]').textContent)"));
  ok('devices listed by state', await page.eval("document.querySelectorAll('#devices tbody tr').length === 6"));
  // data cost: per device bytes on the wire for the release, as otad's cost API says
  const cost = JSON.parse(run('otasign', ['rollout', 'cost', 'logger', '--json']).stdout);
  const one = (cost.by_device || []).find((d) => d.device === first[0]);
  ok('cost API counts the rollout\'s devices', one && one.total > 0 && cost.devices >= 5, JSON.stringify(cost).slice(0, 300));
  const fmt = (n) => (n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KB' : (n / 1048576).toFixed(1) + ' MB');
  ok('bytes per device shown in the device list', one && await page.waitFor(`(document.querySelector('#devices tbody tr[data-id="${first[0]}"] [data-col=cost]') || {}).textContent === ${JSON.stringify(one ? fmt(one.total) : '')}`, 10000, 'device bytes'));
  ok('data cost of the rollout on its card', await page.waitFor("/Data on the wire for seq 2: .* over [0-9]+ devices · per device/.test((document.querySelector('.rollout[data-app=logger] [data-col=cost]') || {}).textContent || '')", 10000, 'cost line'));
  await page.click('#state-filter [data-state=rolled_back]');
  ok('filter by state', await page.waitFor(`document.querySelectorAll('#devices tbody tr').length === 1 && document.querySelector('#devices tbody tr').dataset.id === ${JSON.stringify(bad)}`, 5000, 'filter'));
  const why = await page.eval("document.querySelector('#devices tbody tr td:nth-child(4)').textContent");
  ok('the reason is shown', why.length > 0, why);
  await page.click(`#devices tbody tr[data-id="${bad}"]`);
  ok('device history shown', await page.waitFor("document.querySelectorAll('#history li').length >= 3 && /rolled back/.test(document.querySelector('#history').textContent)", 10000, 'history'));
  const served = await page.eval("document.querySelector('#releases tr[data-app=logger][data-seq=\"2\"] [data-col=bytes_served]').textContent");
  ok('bytes served per release', /^[1-9][0-9.]* (B|KB)$/.test(served), served);
  await page.screenshot(join(SHOTS, 'dashboard-4-wave-two-and-device.png'), writeFileSync);

  // Pause and resume from the page; otasign sees the same.
  await page.click('.rollout[data-app=logger] [data-action=pause]');
  ok('paused from the page', await page.waitFor("document.querySelector('.rollout[data-app=logger] .badge').textContent === 'paused'", 10000, 'paused badge'));
  const st = JSON.parse(run('otasign', ['status', 'logger', '--json']).stdout);
  ok('otasign status agrees: paused', st.current && st.current.state === 'paused', JSON.stringify(st.current));
  await page.screenshot(join(SHOTS, 'dashboard-5-paused.png'), writeFileSync);
  await page.click('.rollout[data-app=logger] [data-action=resume]');
  ok('resumed from the page', await page.waitFor("document.querySelector('.rollout[data-app=logger] .badge').textContent === 'active'", 10000, 'active badge'));

  // Rules of the page itself.
  const cspv = await page.eval('window.__cspv');
  ok('no Content-Security-Policy violation', cspv.length === 0, JSON.stringify(cspv));
  const urls = page.events.filter((e) => e.method === 'Network.requestWillBeSent').map((e) => e.params.request.url);
  const foreign = urls.filter((u) => !u.startsWith(base + '/') && !u.startsWith('data:'));
  ok('every request went to otad', urls.length > 5 && foreign.length === 0, foreign.join(' '));
  const thrown = page.events.filter((e) => e.method === 'Runtime.exceptionThrown');
  ok('no exception in the page', thrown.length === 0, JSON.stringify(thrown.map((e) => e.params.exceptionDetails.text)));
  const h = await fetch(base + '/ui/');
  const csp = h.headers.get('content-security-policy') || '';
  ok('strict CSP header', /default-src 'none'/.test(csp) && /script-src 'self'/.test(csp) && !/unsafe/.test(csp) && /frame-ancestors 'none'/.test(csp), csp);
  ok('HTML without inline script or style', !/<script>|<style|\sstyle=|\son[a-z]+=/i.test(await h.text()));

  // Signing out forgets the token.
  await page.click('#logout');
  ok('signed out', await page.waitFor("!document.querySelector('#login').hidden && sessionStorage.getItem('otad-token') === null", 5000, 'sign out'));
}

try {
  await main();
} catch (e) {
  fail++;
  console.log('FAIL: ' + (e.stack || e));
  if (browser) console.log('chromium stderr (tail): ' + browser.stderr.slice(-1500));
}
await cleanup();
console.log(`screenshots: ${SHOTS}/dashboard-*.png`);
console.log(`${NAME}: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);

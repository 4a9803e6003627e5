// otad dashboard: reads the admin API with the operator's token (kept in
// sessionStorage, sent as a Bearer token) and refreshes itself.  No
// framework, nothing loaded from elsewhere; served under a strict CSP (no
// inline script or style: styles are set through the CSSOM only).
'use strict';

const STATES = ['downloading', 'trial', 'confirmed', 'rolled_back', 'rejected', 'failed'];
const STATE_NAMES = { downloading: 'downloading', trial: 'trial', confirmed: 'confirmed',
  rolled_back: 'rolled back', rejected: 'rejected', failed: 'failed' };
const REFRESH_MS = 2000;

const ui = { token: null, data: null, app: null, device: null, filter: null, timer: null, busy: false };

// ---- small DOM helpers ------------------------------------------------------
const $ = (s) => document.querySelector(s);
function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
      else e.setAttribute(k, v);
    }
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false)
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }

// ---- formatting ---------------------------------------------------------------
// Times from the API: seconds since 1970, or an ISO 8601 string.
function toMs(t) {
  if (t === undefined || t === null || t === 0 || t === '') return 0;
  if (typeof t === 'number') return t > 1e12 ? t : t * 1000;
  const ms = Date.parse(t);
  return isNaN(ms) ? 0 : ms;
}
function ago(t) {
  const ms = toMs(t);
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 120) return s + ' s ago';
  if (s < 7200) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}
function when(t) {
  const ms = toMs(t);
  if (!ms) return '-';
  const d = new Date(ms), p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
function bytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1048576).toFixed(1) + ' MB';
}
function col(state) { return state === 'downloaded' ? 'downloading' : state; }
function pct(w) { return typeof w === 'number' ? w : Number(w && w.percent); }

// ---- SHA-256 (for a device's bucket; crypto.subtle is missing on plain http) --
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
function sha256(msg) {
  const len = msg.length, nblk = ((len + 9 + 63) >> 6);
  const m = new Uint8Array(nblk * 64);
  m.set(msg);
  m[len] = 0x80;
  const bits = len * 8;
  m[m.length - 4] = bits >>> 24; m[m.length - 3] = bits >>> 16; m[m.length - 2] = bits >>> 8; m[m.length - 1] = bits;
  const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const W = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let b = 0; b < nblk; b++) {
    for (let i = 0; i < 16; i++) {
      const o = b * 64 + i * 4;
      W[i] = (m[o] << 24) | (m[o + 1] << 16) | (m[o + 2] << 8) | m[o + 3];
    }
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(W[i - 15], 7) ^ rotr(W[i - 15], 18) ^ (W[i - 15] >>> 3);
      const s1 = rotr(W[i - 2], 17) ^ rotr(W[i - 2], 19) ^ (W[i - 2] >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let [a, bb, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    H[0] += a; H[1] += bb; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) { out[i * 4] = H[i] >>> 24; out[i * 4 + 1] = H[i] >>> 16; out[i * 4 + 2] = H[i] >>> 8; out[i * 4 + 3] = H[i]; }
  return out;
}
// otad's bucket (server/README.md, "Rollout rules"):
// SHA-256("otad-bucket-v1\0" || u64le rollout id || device id) mod 10000.
function bucket(rolloutId, device) {
  const id = new TextEncoder().encode(device);
  const msg = new Uint8Array(23 + id.length);
  msg.set(new TextEncoder().encode('otad-bucket-v1'), 0);
  let r = BigInt(rolloutId);
  for (let i = 0; i < 8; i++) { msg[15 + i] = Number(r & 0xffn); r >>= 8n; }
  msg.set(id, 23);
  const h = sha256(msg);
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(h[i]);
  return Number(v % 10000n);
}

// ---- API ------------------------------------------------------------------------
class AuthError extends Error {}
async function api(path, opts = {}) {
  const res = await fetch(path, {
    method: opts.method || 'GET', cache: 'no-store',
    headers: Object.assign({ Authorization: 'Bearer ' + ui.token },
                           opts.body ? { 'Content-Type': 'application/json' } : {}),
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });
  if (res.status === 401 || res.status === 403) throw new AuthError('otad refused this token');
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const err = new Error((body && (body.message || body.error)) || ('HTTP ' + res.status));
    err.status = res.status;
    throw err;
  }
  return body;
}

async function load() {
  const data = { health: null, apps: [], releases: [] };
  try {
    const h = await fetch('/healthz', { cache: 'no-store' });
    data.health = h.ok ? await h.json() : null;
  } catch (e) { data.health = null; }
  const rel = await api('/admin/releases');
  data.releases = (rel && rel.releases) || [];
  const names = [...new Set(data.releases.map((r) => r.app))].sort();
  for (const app of names) {
    try {
      const a = await api('/admin/rollouts/' + encodeURIComponent(app));
      await addDevices(a);
      // Data cost of the current rollout's release: bytes per device on the wire.
      if (a.current) {
        try { a.cost = await api('/admin/rollouts/' + encodeURIComponent(app) + '/cost'); }
        catch (e) { if (e instanceof AuthError) throw e; a.cost = null; }
      }
      data.apps.push(a);
    } catch (e) { if (e instanceof AuthError) throw e; data.apps.push({ app, error: e.message }); }
  }
  return data;
}

// An otad whose rollout answer lists no devices per release has
// GET /admin/devices?app= instead: take the app's devices from there, with
// their latest state when it is about the rollout's release.
async function addDevices(a) {
  const cur = a.current;
  if (!cur) return;
  const rel = releaseOf(a, cur.seq);
  if (!rel || (rel.detail && rel.detail.devices) || rel.devices) return;
  const allow = cur.allow || [], board = (rel.board || '').toLowerCase();
  const out = [];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    let r;
    try {
      r = await api('/admin/devices?app=' + encodeURIComponent(a.app) + '&limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    } catch (e) { if (e instanceof AuthError) throw e; return; }
    for (const d of (r && r.devices) || []) {
      if (allow.length && !allow.includes(d.id)) continue;
      const e = (d.apps || []).find((x) => x.app === a.app) || {};
      if (board && e.board && e.board.toLowerCase() !== board) continue;
      out.push({ id: d.id, state: e.state && Number(e.state_seq) === Number(cur.seq) ? e.state : null,
        detail: '', last_seen: e.last_seen || d.last_seen });
    }
    cursor = r && r.next_cursor;
    if (!cursor) break;
  }
  // Why a device went back or refused: from its record (a few at most).
  const bad = out.filter((d) => ['rolled_back', 'rejected', 'failed'].includes(d.state)).slice(0, 50);
  for (const d of bad) {
    try {
      const rec = await api('/admin/devices/' + encodeURIComponent(d.id));
      const r = (rec.releases || []).find((x) => x.app === a.app && Number(x.seq) === Number(cur.seq));
      if (r) d.detail = r.detail || '';
    } catch (e) { if (e instanceof AuthError) throw e; }
  }
  a.devicesFromList = true;
  rel.devices = out;
}

// ---- model: counts per wave ------------------------------------------------------
function releaseOf(a, seq) { return (a.releases || []).find((r) => Number(r.seq) === Number(seq)); }
function devicesOf(rel) { return (rel && ((rel.detail && rel.detail.devices) || rel.devices)) || []; }
function stateCounts(rel) {
  const c = Object.fromEntries(STATES.map((s) => [s, 0]));
  const st = rel && ((rel.detail && rel.detail.states) || rel.states || rel.counts);
  if (st) for (const [k, v] of Object.entries(st)) { const s = col(k); if (s in c) c[s] += Number(typeof v === 'object' ? v.count : v) || 0; }
  else if (rel) for (const s of ['confirmed', 'rolled_back', 'rejected', 'failed']) c[s] = Number(rel[s]) || 0;
  return c;
}
// Per wave: what otad says, else devices placed by their bucket.
function waveRows(cur, rel) {
  const waves = (cur.waves || []);
  if (!waves.length) return [];
  const rows = waves.map((w) => ({ pct: pct(w), targeted: 0, c: Object.fromEntries(STATES.map((s) => [s, 0])), given: false, raw: w }));
  waves.forEach((w, i) => {
    const cs = typeof w === 'object' && (w.states || w.counts);
    if (cs) {
      rows[i].given = true;
      for (const [k, v] of Object.entries(cs)) if (col(k) in rows[i].c) rows[i].c[col(k)] += Number(v) || 0;
      rows[i].targeted = Number(w.targeted) || STATES.reduce((n, s) => n + rows[i].c[s], 0);
    }
  });
  if (rows.some((r) => r.given)) return rows;
  const pins = cur.pins || {};
  for (const d of devicesOf(rel)) {
    if (d.id in pins) continue;
    const b = bucket(cur.id || 0, d.id);
    const r = rows.find((x) => b < x.pct * 100);
    if (!r) continue;
    r.targeted++;
    const s = col(d.state);
    if (s in r.c) r.c[s]++;
  }
  return rows;
}
function waveOf(cur, id) {
  const waves = (cur && cur.waves) || [];
  if (!waves.length || (cur.pins && id in cur.pins)) return cur && cur.pins && id in cur.pins ? 'pinned' : '';
  const b = bucket(cur.id || 0, id);
  const w = waves.find((x) => b < pct(x) * 100);
  return w ? pct(w) + '%' : '';
}

// ---- rendering ---------------------------------------------------------------------
function bar(c, total, cls) {
  const b = el('div', { class: 'bar' + (cls ? ' ' + cls : '') });
  const order = ['confirmed', 'trial', 'downloading', 'rolled_back', 'rejected', 'failed'];
  for (const s of order) {
    if (!c[s] || !total) continue;
    const seg = el('span', { class: 'seg-' + s, title: STATE_NAMES[s] + ': ' + c[s] });
    seg.style.width = (100 * c[s] / total).toFixed(2) + '%';
    b.append(seg);
  }
  return b;
}

function rolloutCard(a) {
  const card = el('div', { class: 'card rollout' + (a.app === ui.app ? ' selected' : ''), data: { app: a.app },
    onclick: () => { ui.app = a.app; ui.filter = null; render(); } });
  if (a.error) { card.append(el('div', { class: 'title' }, el('span', { class: 'app', text: a.app })), el('p', { class: 'error', text: a.error })); return card; }
  const cur = a.current;
  if (!cur) {
    const last = (a.rollouts || []).reduce((m, r) => (!m || r.id > m.id ? r : m), null);
    card.append(el('div', { class: 'title' }, el('span', { class: 'app', text: a.app }),
      el('span', { class: 'badge none', text: last ? last.state : 'no rollout' })),
      el('p', { class: 'muted', text: last ? `The last rollout (seq ${last.seq}) was ${last.state}${last.reason ? ': ' + last.reason : ''}.` : 'Nothing rolled out yet: otasign rollout start ' + a.app + ' SEQ' }));
    return card;
  }
  const rel = releaseOf(a, cur.seq);
  const c = stateCounts(rel);
  const devs = devicesOf(rel);
  const total = Math.max(Number(rel && rel.targeted) || 0, devs.length, STATES.reduce((n, s) => n + c[s], 0));
  const actions = el('div', { class: 'actions' });
  const act = (label, action, cls) => el('button', { class: 'btn small ' + cls, type: 'button', text: label, data: { action },
    onclick: async (ev) => {
      ev.stopPropagation();
      if (action === 'abort' && !window.confirm('Abort the rollout of ' + a.app + ' seq ' + cur.seq + '?')) return;
      try { await api('/admin/rollouts/' + encodeURIComponent(a.app), { method: 'PATCH', body: { action, reason: 'from the dashboard' } }); }
      catch (e) { showBanner(e.message); }
      refresh();
    } });
  if (cur.state === 'active') actions.append(act('Pause', 'pause', 'warn'));
  if (cur.state === 'paused') actions.append(act('Resume', 'resume', ''));
  actions.append(act('Abort', 'abort', 'bad'));
  card.append(el('div', { class: 'title' },
    el('span', { class: 'app', text: a.app }),
    el('span', { class: 'rel', text: `seq ${cur.seq}${rel && rel.label ? ' “' + rel.label + '”' : ''}` }),
    el('span', { class: 'badge ' + cur.state, text: cur.state }),
    el('span', { class: 'muted', text: `${cur.percent}% of devices · rollout #${cur.id} · changed ${ago(cur.updated)}` }),
    actions));
  if (cur.reason) card.append(el('p', { class: 'reason', text: cur.reason }));
  card.append(el('div', { class: 'meter' },
    el('div', { class: 'label' }, el('span', { text: total ? `${c.confirmed} of ${total} devices confirmed` : `no device has reported on seq ${cur.seq} yet` }),
      el('span', { text: `${c.rolled_back + c.rejected + c.failed} failed or refused` })),
    bar(c, total)));
  const rows = waveRows(cur, rel);
  if (rows.length) {
    const wv = el('div', { class: 'waves' });
    const reachedIdx = rows.reduce((m, r, i) => (r.pct <= cur.percent ? i : m), -1);
    rows.forEach((r, i) => {
      const st = typeof r.raw === 'object' && r.raw.state;
      const reached = st ? !['pending', 'waiting'].includes(st) : r.pct <= cur.percent;
      const cls = 'wave' + (reached ? ' reached' : '') + (i === reachedIdx ? ' current' : '');
      const label = st || (i === reachedIdx ? 'now' : reached ? 'done' : 'waiting');
      const wt = typeof r.raw === 'object' && (r.raw.waiting_for || r.raw.waits_for);
      wv.append(el('div', { class: cls, data: { wave: String(r.pct) } },
        el('div', {}, el('span', { class: 'wname', text: r.pct + '%' }), ' ', el('span', { class: 'wstate', text: label })),
        bar(r.c, r.targeted),
        el('div', { class: 'wcounts', text: (r.targeted ? `${r.c.confirmed}/${r.targeted} confirmed` : 'no device yet') +
          (r.c.rolled_back + r.c.rejected + r.c.failed ? ` · ${r.c.rolled_back + r.c.rejected + r.c.failed} failed` : '') }),
        wt ? el('div', { class: 'wcounts', text: 'waits for ' + wt }) : null));
    });
    card.append(wv);
    const next = rows.find((r) => r.pct > cur.percent);
    const passed = rows.filter((r) => r.pct <= cur.percent).length;
    if (cur.waiting) card.append(el('div', { class: 'next', text: 'Waiting: ' + cur.waiting }));
    else if (next && cur.wave_confirmed > 0 && cur.state === 'active')
      card.append(el('div', { class: 'next', text: `Next wave (${next.pct}%) opens at ${cur.wave_confirmed * Math.max(1, passed)} confirmed devices; ${c.confirmed} so far.` }));
  }
  if (a.cost && a.cost.total) {
    const k = a.cost, pd = k.per_device || {};
    card.append(el('div', { class: 'next cost', data: { col: 'cost' }, text: `Data on the wire for seq ${k.seq}: ${bytes(k.total.total)} over ${k.devices} device${k.devices === 1 ? '' : 's'}` +
      (k.devices ? ` · per device ${bytes(pd.mean)} on average, ${bytes(pd.max)} at most (${pd.max_device})` : '') +
      ` · manifest ${bytes(k.total.manifest)}, bundle ${bytes(k.total.bundle)}, reports ${bytes(k.total.reports)}` }));
  }
  const counts = el('div', { class: 'counts' });
  for (const s of STATES) counts.append(el('span', { class: 'count c-' + s, data: { col: s } }, el('b', { text: String(c[s]) }), STATE_NAMES[s]));
  card.append(counts);
  if (cur.error_threshold !== null && cur.error_threshold !== undefined) {
    const outcomes = c.confirmed + c.rolled_back + c.rejected + c.failed;
    card.append(el('div', { class: 'next', text: `Pauses by itself above ${Math.round(cur.error_threshold * 100)}% failures once ${cur.min_reports} outcomes exist (now ${c.rolled_back + c.rejected + c.failed} of ${outcomes}).` }));
  }
  const hist = [...(cur.history || [])].sort((x, y) => toMs(x.at) - toMs(y.at)).slice(-3);
  if (hist.length) {
    const ul = el('ul', { class: 'events' });
    for (const h of hist) ul.append(el('li', {}, el('span', { class: 'when', text: when(h.at) }), ' ',
      el('b', { text: h.event || '' }), h.detail ? ': ' + h.detail : '', h.by ? el('span', { class: 'muted', text: ' (' + h.by + ')' }) : null));
    card.append(ul);
  }
  return card;
}

function renderDevices() {
  const a = ui.data.apps.find((x) => x.app === ui.app);
  const tbody = clear($('#devices tbody'));
  const filter = clear($('#state-filter'));
  const reasons = clear($('#reasons'));
  if (!a || a.error) { $('#devices-title').textContent = 'Devices'; $('#devices-empty').hidden = false; return; }
  const cur = a.current;
  const seq = cur ? cur.seq : Math.max(0, ...(a.releases || []).map((r) => Number(r.seq)));
  const rel = releaseOf(a, seq);
  $('#devices-title').textContent = `Devices on ${a.app} seq ${seq}`;
  const devs = devicesOf(rel);
  const c = {};
  for (const d of devs) c[d.state || 'waiting'] = (c[d.state || 'waiting'] || 0) + 1;
  const chip = (key, label, n) => el('button', { class: 'chip' + (ui.filter === key ? ' on' : ''), type: 'button', data: { state: key || 'all' },
    text: `${label} ${n}`, onclick: () => { ui.filter = key; renderDevices(); } });
  filter.append(chip(null, 'all', devs.length));
  for (const s of Object.keys(c).sort()) filter.append(chip(s, s.replace('_', ' '), c[s]));
  const rs = rel && ((rel.detail && rel.detail.reasons) || rel.reasons);
  if (rs) for (const [k, v] of Object.entries(rs)) reasons.append(el('div', { text: `${v} × ${k.replace(/^rolled_back/, 'rolled back')}` }));
  const shown = devs.filter((d) => !ui.filter || (d.state || 'waiting') === ui.filter);
  $('#devices-empty').hidden = shown.length > 0;
  for (const d of shown) {
    tbody.append(el('tr', { class: 'click' + (d.id === ui.device ? ' sel' : ''), data: { id: d.id },
      onclick: () => { ui.device = d.id; renderDevices(); loadDevice(); } },
      el('td', { class: 'mono', text: d.id }),
      el('td', { text: cur ? waveOf(cur, d.id) : '' }),
      el('td', {}, el('span', { class: 'st st-' + (d.state || 'waiting'), text: d.state ? d.state.replace('_', ' ') : 'not yet' })),
      el('td', { text: d.detail || '' }),
      el('td', { text: ago(d.last_seen || d.updated), title: when(d.last_seen || d.updated) }),
      el('td', { class: 'num', data: { col: 'cost' }, text: costOf(a, d.id) })));
  }
}

// Bytes the device spent on the wire for the release shown (data cost), with the split.
function costOf(a, id) {
  const d = a.cost && Number(a.cost.seq) === Number(a.current && a.current.seq) &&
    (a.cost.by_device || []).find((x) => x.device === id);
  return d ? bytes(d.total) : '';
}

async function loadDevice() {
  const panel = $('#device-panel'), body = $('#device-body');
  if (!ui.device) { panel.hidden = true; return; }
  panel.hidden = false;
  $('#device-title').textContent = 'Device ' + ui.device;
  let d;
  try { d = await api('/admin/devices/' + encodeURIComponent(ui.device)); }
  catch (e) { clear(body).append(el('p', { class: 'error', text: e.message })); return; }
  clear(body);
  const kv = el('dl', { class: 'kv' },
    el('dt', { text: 'last seen' }), el('dd', { text: `${ago(d.last_seen)} (${when(d.last_seen)})` }),
    el('dt', { text: 'added' }), el('dd', { text: when(d.created) }),
    el('dt', { text: 'secret' }), el('dd', { text: d.has_secret === undefined ? '-' : d.has_secret ? 'registered, with its secret' : 'no secret' }));
  for (const x of d.apps || []) kv.append(el('dt', { text: 'runs ' + x.app }), el('dd', { text: `seq ${x.seq}, polled ${ago(x.last_seen)}` }));
  body.append(kv);
  if ((d.releases || []).length) {
    body.append(el('h2', { text: 'Releases' }));
    const t = el('table', { class: 'table' }, el('thead', {}, el('tr', {}, el('th', { text: 'release' }), el('th', { text: 'state' }), el('th', { text: 'why' }))));
    const tb = el('tbody');
    for (const r of d.releases) tb.append(el('tr', {}, el('td', { text: `${r.app} ${r.seq}` }),
      el('td', {}, el('span', { class: 'st st-' + r.state, text: r.state.replace('_', ' ') })), el('td', { text: r.detail || '' })));
    t.append(tb);
    body.append(t);
  }
  body.append(el('h2', { text: 'History' }));
  const tl = el('ul', { class: 'timeline', id: 'history' });
  for (const r of d.reports || []) tl.append(el('li', { class: 'st-' + r.state },
    el('div', {}, el('b', { text: r.state.replace('_', ' ') }), ` ${r.app} seq ${r.seq}`, r.detail ? ': ' + r.detail : ''),
    el('div', { class: 'when', text: when(r.at || r.time) })));
  if (!tl.firstChild) tl.append(el('li', { class: 'muted', text: 'no reports yet' }));
  body.append(tl);
}

function renderReleases() {
  const tb = clear($('#releases tbody'));
  const rows = [...ui.data.releases].sort((x, y) => (x.app === y.app ? y.seq - x.seq : x.app < y.app ? -1 : 1));
  for (const r of rows) {
    const a = ui.data.apps.find((x) => x.app === r.app);
    const c = stateCounts(a && releaseOf(a, r.seq));
    tb.append(el('tr', { data: { app: r.app, seq: String(r.seq) } },
      el('td', { text: r.app }), el('td', { class: 'num', text: String(r.seq) }), el('td', { text: r.label || '' }),
      el('td', { text: r.board || 'any' }), el('td', { class: 'num', text: bytes(r.size) }),
      el('td', { class: 'mono', text: (r.sha256 || '').slice(0, 16) + '…', title: r.sha256 || '' }),
      el('td', { text: when(r.created) }), el('td', { class: 'num', text: String(c.confirmed) }),
      el('td', { class: 'num', text: String(c.rolled_back) }), el('td', { class: 'num', text: String(c.rejected) }),
      el('td', { class: 'num', data: { col: 'bytes_served' }, text: bytes(r.bytes_served) })));
  }
}

function render() {
  const d = ui.data;
  if (!d) return;
  if (!ui.app || !d.apps.find((a) => a.app === ui.app)) {
    const withRollout = d.apps.find((a) => a.current);
    ui.app = (withRollout || d.apps[0] || {}).app || null;
  }
  const box = clear($('#rollouts'));
  if (!d.apps.length) box.append(el('p', { class: 'muted', text: 'No releases yet: otasign publish releases/APP-SEQ, then otasign rollout start APP SEQ.' }));
  for (const a of d.apps) box.append(rolloutCard(a));
  renderDevices();
  renderReleases();
  const h = $('#health');
  h.className = 'health ' + (d.health && d.health.status === 'ok' ? 'ok' : 'down');
  h.title = d.health ? 'otad ' + (d.health.status || '?') + (d.health.server_key ? ' · server key ' + d.health.server_key.slice(0, 16) + '…' : '') : 'otad unreachable';
  $('#updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  $('#footer').textContent = d.health && d.health.server_key ? 'server key ' + d.health.server_key : '';
}

function showBanner(msg) { const b = $('#banner'); b.textContent = msg || ''; b.hidden = !msg; }

async function refresh() {
  if (ui.busy) return;
  ui.busy = true;
  try {
    ui.data = await load();
    showBanner('');
    render();
    if (ui.device) await loadDevice();
  } catch (e) {
    if (e instanceof AuthError) { logout('otad refused the token: check it (DATA/admin.token) and sign in again.'); }
    else showBanner('Cannot read from otad: ' + e.message + ' (retrying)');
  } finally { ui.busy = false; }
}

function schedule() {
  clearInterval(ui.timer);
  ui.timer = $('#auto').checked ? setInterval(refresh, REFRESH_MS) : null;
}

function showApp() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#top-right').hidden = false;
  refresh();
  schedule();
}

function logout(msg) {
  sessionStorage.removeItem('otad-token');
  ui.token = null; ui.data = null;
  clearInterval(ui.timer);
  $('#app').hidden = true;
  $('#top-right').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = msg || '';
  $('#token').value = '';
  $('#token').focus();
}

async function login(ev) {
  ev.preventDefault();
  const t = $('#token').value.trim();
  if (!t) return;
  ui.token = t;
  try {
    await api('/admin/releases');
  } catch (e) {
    ui.token = null;
    $('#login-error').textContent = e instanceof AuthError ? 'otad refused this token.' : 'Cannot reach otad: ' + e.message;
    return;
  }
  sessionStorage.setItem('otad-token', t);
  $('#login-error').textContent = '';
  showApp();
}

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', () => logout(''));
  $('#auto').addEventListener('change', schedule);
  $('#device-close').addEventListener('click', () => { ui.device = null; $('#device-panel').hidden = true; renderDevices(); });
  ui.token = sessionStorage.getItem('otad-token');
  if (ui.token) showApp(); else logout('');
});

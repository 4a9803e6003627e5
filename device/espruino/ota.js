/* ota.js: the otasign OTA agent for stock Espruino firmware (2v29).
 * Stored as the Storage module "ota"; .boot0 runs `ota=require("ota");ota.up()`
 * on every start of the interpreter, .bootcde runs `ota.pick()` (power on).
 * Written in the ES5 subset Espruino runs: no let/const, arrows, destructuring,
 * default parameters, spread, ?., async.  Spec: device/espruino/README.md.
 *
 * Storage files: ota (this), ota.cfg (config JSON, holds the device secret),
 * ota.s0/ota.s1 (state journal: two copies, newest valid wins), ota.a<seq>
 * (programs: confirmed, trial, download), ota.gold (golden program).
 * State: {n: journal counter, c: confirmed program, t: program on trial,
 * a: trial attempts started, d: download in progress, x: last seq rolled back,
 * q: reports not yet acknowledged, r: report counter}; a program is
 * {f: file, s: seq, h: sha256 hex, z: size}. */
// One function scope, so that the minifier may shorten every name in it.
(function () {
var S = require("Storage");
var C = S.readJSON("ota.cfg", 1) || {};
var st, busy, gen = 0, fails = 0, tmr, nonce, trialT, fl, picked, trial;

function sha(s) { return E.toString(require("crypto").SHA256(s)); }
function hex(s) {
  var o = "", i, c;
  for (i = 0; i < s.length; i++) { c = s.charCodeAt(i); o += (c < 16 ? "0" : "") + c.toString(16); }
  return o;
}
function unhex(h) {
  var o = "", i;
  if (typeof h != "string" || h.length & 1 || !/^[0-9a-f]*$/.test(h)) return;
  for (i = 0; i < h.length; i += 2) o += String.fromCharCode(parseInt(h.substr(i, 2), 16));
  return o;
}
// HMAC-SHA256 (RFC 2104) over the native SHA-256; k and m are byte strings.
function hmac(k, m) {
  var i, c, ip = "", op = "";
  if (k.length > 64) k = sha(k);
  for (i = 0; i < 64; i++) {
    c = k.charCodeAt(i) | 0;
    ip += String.fromCharCode(c ^ 54);
    op += String.fromCharCode(c ^ 92);
  }
  return sha(op + sha(ip + m));
}
// Equal byte strings, in a time that depends on the length only.
function eq(a, b) {
  var d = a.length ^ b.length, i;
  for (i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return !d;
}
function u32(s, o) {
  return (s.charCodeAt(o) | s.charCodeAt(o + 1) << 8 | s.charCodeAt(o + 2) << 16) + s.charCodeAt(o + 3) * 16777216;
}
function u64(s, o) { return u32(s, o) + u32(s, o + 4) * 4294967296; }
// A NUL-padded field holding exactly t.
function pad(t, n) { while (t.length < n) t += "\0"; return t; }
function zero(s, o, n) { while (n--) if (s.charCodeAt(o++)) return 0; return 1; }

// ---- state journal: two copies, each JSON + "\n" + sha256 prefix ---------
function rd(i) {
  var s = S.read("ota.s" + i), j;
  if (!s) return;
  j = s.lastIndexOf("\n");
  if (j < 0 || hex(sha(s.substr(0, j))).substr(0, 16) != s.substr(j + 1)) return;
  try { return JSON.parse(s.substr(0, j)); } catch (e) {}
}
function state() {
  if (!st) {
    var a = rd(0), b = rd(1);
    st = a && (!b || a.n > b.n) ? a : b || { n: 0, a: 0, q: [], r: 0 };
  }
  return st;
}
function save() {
  var j;
  st.n++;
  j = JSON.stringify(st);
  S.write("ota.s" + (st.n & 1), j + "\n" + hex(sha(j)).substr(0, 16));
}

// ---- reports: queued in the state, MAC'd, sent oldest first ----------------
function report(s, seq, detail) {
  var q = state().q, l = s + seq + (detail = detail || "");
  if (l == st.l) return;             // the same outcome again: spare the flash
  if (q.length > 5) q.splice(1, 1);  // keep the first and the newest
  q.push({ s: s, v: seq, d: detail, n: ++st.r });
  st.l = l;
  save();
  flush();
}
function flush() {
  var r = st && st.q[0], b, req, g, mac;
  if (!r || fl) return;
  // n numbers the reports of this device, so that two equal ones differ
  b = JSON.stringify({ app: C.app, seq: r.v, state: r.s, detail: r.d, n: r.n });
  mac = { "Content-Type": "application/json", "Content-Length": b.length };
  // "OTAR" first: a report MAC can never be a ticket MAC (FORMAT.md 4)
  if (C.key) mac["X-OTA-MAC"] = hex(hmac(unhex(C.key), "OTAR" + b));
  fl = g = setTimeout(function () { if (fl == g) fl = 0; }, C.tmo || 30000);
  try {
    req = require("http").request({ host: C.host, port: C.port, path: "/report/" + C.id, method: "POST",
      headers: mac }, function (res) {
      res.on("close", function () {
        if (fl != g) return;
        clearTimeout(g); fl = 0;
        // 2xx: stored; 4xx: refused for good (retrying cannot help); else retry
        if (/^[24]/.test(res.statusCode) && st.q[0] == r) { st.q.shift(); save(); flush(); }
      });
    });
    req.on("error", function () { if (fl == g) { clearTimeout(g); fl = 0; } });
    req.end(b);
  } catch (e) { clearTimeout(g); fl = 0; }
}

// ---- polling ----------------------------------------------------------------
function later(ms) {
  if (tmr) clearTimeout(tmr);
  tmr = setTimeout(poll, ms);
}
function backoff() {
  var b = C.back || 10000, m = C.bmax || 3600000;
  fails++;
  b = Math.min(m, b * Math.pow(2, Math.min(fails, 16)));
  later(b / 2 + Math.random() * b / 2);
}
// One HTTP GET with a watchdog, since the firmware's client has no timeout and
// no abort: a late answer after the watchdog fired is ignored (gen changed).
// path is on the server, or an absolute http:// URL (a CDN for bundles).
function get(path, hdr, onres, ondata, onend) {
  var g = ++gen, w, req, res, h = C.host, p = C.port, m = /^http:\/\/([^\/:]+)(:(\d+))?(\/.*)$/.exec(path);
  if (m) { h = m[1]; p = m[3] ? +m[3] : 80; path = m[4]; }
  function done(ok) {
    if (g != gen) return;
    gen++; clearTimeout(w); busy = 0;
    // whatever goes wrong in handling an answer, polling goes on
    try { onend(ok, res); } catch (e) { print("ota:", e); backoff(); }
  }
  busy = 1;
  function dog() { clearTimeout(w); w = setTimeout(function () { done(0); }, C.tmo || 30000); }
  dog();
  try {
    if (path[0] != "/") throw 0;               // https or worse: not for this agent
    req = require("http").get({ host: h, port: p, path: path, headers: hdr }, function (r) {
      res = r;
      if (g != gen) return;
      if (onres) onres(r);
      r.on("data", function (d) {
        if (g != gen) return;
        dog();
        try { if (ondata(d) === false) done(0); } catch (e) { done(0); }
      });
      r.on("close", function () { done(1); });
    });
    req.on("error", function () { done(0); });
  } catch (e) { done(0); }
}
function poll() {
  var n = "", i, body = "";
  tmr = 0;
  if (busy) return later(1000);
  flush();
  if (state().t) return later(interval());   // no offers while a trial runs
  for (i = 0; i < 4; i++) n += String.fromCharCode.apply(null, [E.hwRand() & 255, E.hwRand() >> 8 & 255, E.hwRand() >> 16 & 255, E.hwRand() >>> 24]);
  nonce = n;
  get("/manifest/" + C.id + "?app=" + C.app + "&seq=" + running() + "&nonce=" + hex(n), {}, 0, function (d) {
    body += d;
    if (body.length > 4096) return false;
  }, function (ok, res) {
    var m, p;
    if (ok && res.statusCode == "204") { fails = 0; return later(interval()); }
    if (!ok || res.statusCode != "200") return backoff();
    try { m = JSON.parse(body); } catch (e) { return backoff(); }
    body = 0;
    p = m.poll * 1000;
    offer(m, p > 0 ? p : 0);
  });
}
function interval(p) {
  p = p || C.poll || 3600000;
  p = Math.max(C.pmin || 1000, Math.min(C.pmax || 86400000, p));
  return p * (0.9 + Math.random() / 5);
}
function running() { var s = state(); return s.c ? s.c.s : 0; }

// ---- the decision (manifests/FORMAT.md section 5); returns an error text ----
function decide(m) {
  // signed tier only with both key lists: never one signature checked alone
  var t = atob(m.ticket || ""), s = atob(m.statement || ""), ed = C.srv && C.rel && E.ed25519verify, k, i, n;
  if (t.substr(0, 4) != "OTAT".substr(0, t.length)) return "bad magic";
  if (t.length < 5) return "truncated input";
  if (t.charCodeAt(4) != 1) return "unsupported format version";
  if (t.length < 216) return "truncated input";
  if (t.length > 216) return "malformed";
  if (ed) {
    k = key(C.srv, t.substr(8, 8));
    if (!k) return "unknown key";
    if (!ed(t.substr(152, 64), k, t.substr(0, 152))) return "bad ticket signature";
  } else if (!C.key || !eq(hmac(unhex(C.key), t), unhex(m.mac) || "")) return "bad mac";
  n = t.charCodeAt(5);
  if (!zero(t, 6, 2) || n < 16 || n > 32 || !zero(t, 48 + n, 32 - n)) return "malformed";
  if (t.substr(16, 32) != pad(C.id, 32)) return "wrong device";
  if (n != nonce.length || !eq(t.substr(48, n), nonce)) return "stale nonce";
  nonce = 0;
  if (!eq(sha(s), t.substr(80, 32))) return "ticket for another statement";
  if (s.substr(0, 4) != "OTAS".substr(0, s.length)) return "bad magic";
  if (s.length < 5) return "truncated input";
  if (s.charCodeAt(4) != 1) return "unsupported format version";
  if (s.length < 336) return "truncated input";
  if (s.length > 336) return "malformed";
  if (ed) {
    k = key(C.rel, s.substr(8, 8));
    if (!k) return "unknown key";
    if (!ed(s.substr(272, 64), k, s.substr(0, 272))) return "bad signature";
  }
  if (!zero(s, 6, 2) || !zero(s, 266, 6) || u64(s, 80) < 1 || u32(s, 96) < 1 || u32(s, 100) < 1 ||
      (s.charCodeAt(5) == 0 && (u32(s, 96) != u32(s, 100) || s.substr(104, 32) != s.substr(136, 32))))
    return "malformed";
  if (t.substr(112, 32) != s.substr(104, 32)) return "ticket for another statement";
  if (s.substr(16, 32) != pad(C.app, 32)) return "wrong app";
  i = s.substr(48, 32);
  if (!zero(i, 0, 32) && i != pad(C.board || "", 32)) return "wrong board";
  if (s.charCodeAt(5)) return "unsupported bundle encoding";
  m.s = s;
  if (u32(s, 96) > (C.max || 16000)) return "bundle too big";
  if (u64(s, 80) <= running()) return "not newer";
}
function key(list, id) {
  for (var i = 0; i < list.length; i++) if (unhex(list[i][0]) == id) return unhex(list[i][1]);
}

// ---- download: stream each piece into Storage at its offset -----------------
function offer(m, p) {
  var why = decide(m), s = m.s, d, f, seq;
  if (why) {
    // the sequence as the server stated it; a forged offer only costs a report
    report("rejected", m.seq > 0 ? Math.floor(m.seq) : 0, why);
    return later(interval(p));
  }
  seq = u64(s, 80);
  st = state();
  if (seq == st.x) return later(interval(p));        // rolled back from it before
  d = { f: "ota.a" + seq, s: seq, h: hex(s.substr(104, 32)), z: u32(s, 96), u: m.url };
  f = d.f;
  if ((st.c && st.c.f == f) || (st.t && st.t.f == f)) return later(interval(p));
  if (!st.d || st.d.h != d.h) {
    if (st.d) S.erase(st.d.f);
    S.erase(f);
    if (S.getFree() < d.z + 512) S.compact();
    if (S.getFree() < d.z + 512) { report("rejected", seq, "bundle too big"); return later(interval(p)); }
    st.d = d; save();
    report("downloading", seq, "");
  }
  fetch(p);
}
function fetch(p) {
  var d = st.d, f = d.f, cur = S.read(f), off = 0, pos, u = d.u, bad;
  if (cur) { off = cur.indexOf("\xff"); if (off < 0) off = cur.length; }
  cur = 0;
  if (off >= d.z) return check(p);
  pos = off;
  get(u, off ? { Range: "bytes=" + off + "-" } : {}, function (res) {
    var k, r;
    for (k in res.headers) if (k.toLowerCase() == "content-range") r = res.headers[k];
    if (res.statusCode == "200") pos = 0;      // the whole body: start the file again
    else if (res.statusCode != "206" || !r || parseInt(r.substr(6), 10) != off) pos = -1;
  }, function (x) {
    if (pos < 0 || pos + x.length > d.z) return false;
    // offset 0 (re)creates the file pre-allocated to its full size; later
    // pieces go to their offset in it
    try { if (pos) S.write(f, x, pos); else S.write(f, x, 0, d.z); }
    catch (e) { bad = 1; return false; }
    pos += x.length;
  }, function (ok) {
    if (ok && pos == d.z) { fails = 0; return check(p); }
    if (bad) {                                  // Storage refused: start again later
      S.erase(f); st.d = 0; save();
      report("failed", d.s, "flash error");
    }
    backoff();                                  // dropped: the next poll resumes
  });
}
function check(p) {
  var d = st.d;
  if (hex(sha(S.read(d.f))) != d.h) {
    S.erase(d.f); st.d = 0; save();
    report("rejected", d.s, "hash mismatch");
    return later(interval(p));
  }
  st.t = { f: d.f, s: d.s, h: d.h, z: d.z }; st.d = 0; st.a = 0; save();
  report("downloaded", d.s, "");
  reboot();                                     // into the trial, through pick()
}
// Restart the interpreter once the reports are out (or given up on): a report
// still in flight when load() resets would be sent twice.
function reboot() {
  var k = 10;
  (function sw() { if (st.q.length && k--) setTimeout(sw, C.sw || 1000); else load(); })();
}

// ---- boot: choose the program; never from boot code directly: load() is ----
// ---- ignored there, so it is deferred with setTimeout ------------------------
function ok(p) { return p && S.read(p.f) && hex(sha(S.read(p.f))) == p.h; }
function pick() {
  var s = state(), f = "ota.gold";
  picked = 1;
  if (s.t) {
    if (s.a >= (C.tries || 3) || !ok(s.t)) {
      s.q.push({ s: "rolled_back", v: s.t.s, d: s.a ? "not confirmed after " + s.a + " attempts" : "hash mismatch", n: ++s.r });
      s.x = s.t.s;
      f = s.t.f; s.t = 0; s.a = 0; save();
      if (!s.c || f != s.c.f) S.erase(f);
      return pick();
    }
    s.a++; save();
    f = s.t.f;
  } else if (ok(s.c)) f = s.c.f;
  else if (s.c) { report("failed", s.c.s, "no valid program"); s.c = 0; save(); }
  setTimeout(function () { load(f); }, 10);
}
// Runs from .boot0 on every start; at power on pick() follows in the same
// boot and load()s the program, so the work is deferred and skipped then.
function up() {
  // this session runs the trial program only if a trial was pending when it
  // started (pick() load()s nothing else then); one that downloads a trial
  // later must not confirm it
  trial = !!state().t;
  // a trial fails by an exception (even one thrown at the top level of the
  // program, hence installed now) or by no confirm() in time: restart, and
  // pick() counts the attempt and reverts after C.tries
  process.on("uncaughtException", function (e) {
    print("Uncaught", e);
    if (!picked && trial && st.t) setTimeout(reboot, 10);
  });
  setTimeout(function () {
    var s = state();
    if (picked) return;
    if (trial) {
      trialT = setTimeout(function () { if (st.t) reboot(); }, C.trial || 600000);
      report("trial", s.t.s, "attempt " + s.a);
    }
    later(C.first || (5000 + Math.random() * 5000));
  }, 1);
}
function confirm() {
  var s = state(), o = s.c;
  if (!s.t || !trial) return false;
  s.c = s.t; s.t = 0; s.a = 0; save();
  if (o && o.f != s.c.f) S.erase(o.f);
  clearTimeout(trialT);
  report("confirmed", s.c.s, "");
  return true;
}
exports.up = up;
exports.pick = pick;
exports.confirm = confirm;
exports.poll = function () { later(0); };
exports.golden = function () { C.poll = C.pmin || 60000; };
exports.state = state;
exports.hmac = hmac;
})();

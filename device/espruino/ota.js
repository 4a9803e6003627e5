/* ota.js: the otasign OTA agent for stock Espruino firmware (2v29).
 * Stored as the Storage module "ota"; .boot0 runs `ota=require("ota");ota.up()`
 * on every start of the interpreter, .bootcde runs `ota.pick()` (power on).
 * Written in the ES5 subset Espruino runs: no let/const, arrows, destructuring,
 * default parameters, spread, ?., async.  Spec: device/espruino/README.md.
 * Every built-in used here was checked against the interpreter's source and
 * on the real interpreter (tests/device-real/); notably:
 *  - clearTimeout(undefined) THROWS (clearTimeout() clears every timer), and
 *    timer ids are reused once a timer has fired: every timer variable is
 *    zeroed when its timer fires and cleared only when set (stop()).
 *  - RegExp has no `?` quantifier and no quantified groups: URLs are split
 *    with indexOf, not a regex.
 *  - E.hwRand() may repeat after a power cycle: nonces mix a boot counter
 *    kept in the state journal (saved before use) and a per-boot counter.
 *  - Storage.write throws on failure (no space, already written).
 *  - EventEmitter.on() returns undefined: never chained.
 *
 * Storage files: ota (this), ota.cfg (config JSON, holds the device secret),
 * ota.s0/ota.s1 (state journal: two copies, newest valid wins), ota.a<seq>
 * (programs: confirmed, trial, download), ota.z<seq> (a compressed bundle
 * being installed), ota.d<seq> (a delta being applied), ota.gold (golden
 * program).
 * State: {n: journal counter, c: confirmed program, t: program on trial,
 * a: trial attempts started, e: exception text of the trial, d: download in
 * progress, x: last seq rolled back, q: reports not yet acknowledged, r: last
 * report counter (ctr) used, b: boots that polled}; a program is
 * {f: file, s: seq, h: sha256 hex, z: size}; a download also p, i, y (the
 * program file, its installed hash and size) when it is decoded into one,
 * and b, c, o (base file, base hash, the bundle's download) for a delta. */
// One function scope, so that the minifier may shorten every name in it.
(function () {
var S = require("Storage");
var C = S.readJSON("ota.cfg", 1) || {};
var st, busy, gen = 0, fails = 0, tmr, nonce, trialT, fl, fgen = 0, picked, trial, np = 0, bootd, nt = -1e9, down;
// ota_err codes (common/ota_err.h) and their ota_strerror texts
var T = { 2: "truncated input", 20: "bad signature", 22: "hash mismatch", 40: "malformed", 41: "bad magic",
  42: "unsupported format version", 43: "unknown key", 44: "wrong app", 45: "wrong board", 46: "not newer",
  47: "wrong device", 48: "stale nonce", 49: "ticket for another statement", 50: "bad ticket signature",
  51: "bad mac", 52: "unsupported bundle encoding", 53: "bundle too big", 54: "corrupt compressed block",
  55: "installed hash mismatch", 70: "flash error", 73: "no valid program" };

// clearTimeout(undefined) throws on Espruino: clear only a timer that is set
function stop(t) { if (t) clearTimeout(t); }
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
    st = a && (!b || a.n > b.n) ? a : b || { n: 0, a: 0, q: [], r: 0, b: 0 };
  }
  return st;
}
function save() {
  var j;
  st.n++;
  j = JSON.stringify(st);
  S.write("ota.s" + (st.n & 1), j + "\n" + hex(sha(j)).substr(0, 16));
}

// ---- reports (CONTRACT v2): queued in the state with their counter, --------
// ---- saved before they are sent, MAC'd, sent oldest first --------------------
// queue() only adds to the state: a change of state and its report are
// saved together (one save), so a power cut never keeps one without the other.
function queue(s, seq, code, detail) {
  var q = state().q, l;
  detail = detail || T[code] || "";
  l = s + seq + code + detail;
  if (l == st.l) return;             // the same outcome again: spare the flash
  if (q.length > 5) q.splice(1, 1);  // keep the first and the newest
  q.push({ s: s, v: seq, c: code, d: detail, n: ++st.r });
  st.l = l;
  return 1;
}
function report(s, seq, code, detail) {
  if (queue(s, seq, code, detail)) save();   // ctr persisted before it is ever sent
  flush();
}
// Printable ASCII, at most 200 bytes: the detail is for humans only.
function txt(d) { return ("" + d).replace(/[^ -~]/g, "?").substr(0, 200); }
// The compact report (FORMAT.md 6b): the 32-byte MAC, then one line
// "CTR APP SEQ S CODE[ DETAIL]", S one letter per state.
var SL = { downloading: "d", downloaded: "D", trial: "t", confirmed: "c", rolled_back: "b", rejected: "r", failed: "f" };
function flush() {
  var r = st && st.q[0], b, req, g, k;
  if (!r || fl) return;
  b = r.n + " " + C.app + " " + r.v + " " + SL[r.s] + " " + (r.c | 0) + (r.d ? " " + txt(r.d) : "");
  // "OTAR" first: a report MAC can never be a ticket MAC (FORMAT.md 4)
  b = hmac(unhex(C.key || ""), "OTAR" + C.id + "\n" + b) + b;
  // fl: this flush's number while it runs (a timer id would not do: ids are
  // reused once a timer has fired); g: its watchdog, zeroed when it fires
  k = fl = ++fgen;
  g = setTimeout(function () { g = 0; if (fl == k) fl = 0; }, C.tmo || 30000);
  function end() { if (fl == k) { stop(g); g = 0; fl = 0; return 1; } }
  try {
    req = require("http").request({ host: C.host, port: C.port, path: "/r/" + C.id, method: "POST",
      headers: { "Content-Length": b.length } }, function (res) {
      res.on("close", function () {
        if (!end()) return;
        // 2xx: stored; 4xx: refused for good (retrying cannot help: a bad
        // MAC, a replayed ctr, malformed); else retry later
        if (/^[24]/.test(res.statusCode) && st.q[0] == r) { st.q.shift(); save(); flush(); }
      });
    });
    req.on("error", end);
    req.end(b);
  } catch (e) { end(); }
}

// ---- polling ----------------------------------------------------------------
function later(ms) {
  stop(tmr);
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
// path is on the server, or an absolute http://HOST[:PORT]/... URL (a CDN).
function get(path, hdr, onres, ondata, onend) {
  var g = ++gen, w, req, res, h = C.host, p = C.port, i, j;
  if (path.substr(0, 7) == "http://") {
    i = path.indexOf("/", 7);
    h = i < 0 ? "" : path.substring(7, i);
    path = i < 0 ? "" : path.substr(i);
    j = h.indexOf(":");
    p = 80;
    if (j >= 0) { p = +h.substr(j + 1); h = h.substr(0, j); }
  }
  function done(ok) {
    if (g != gen) return;
    gen++; stop(w); w = 0; busy = 0;
    // whatever goes wrong in handling an answer, polling goes on
    try { onend(ok, res); } catch (e) { print("ota:", e); backoff(); }
  }
  busy = 1;
  function dog() { stop(w); w = setTimeout(function () { w = 0; done(0); }, C.tmo || 30000); }
  dog();
  try {
    if (path[0] != "/" || !h || !(p > 0)) throw 0;   // https or worse: not for this agent
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
    // a refused connection throws above on Linux, arrives here on modems
    req.on("error", function () { done(0); });
  } catch (e) { done(0); }
}
// A nonce never used before on this device, even where E.hwRand() gives the
// same numbers after every power on: a boot counter saved before its first
// use, a counter within the boot, and whatever randomness there is.
function mknonce() {
  var s = state(), x = "", i;
  if (!bootd) { s.b = (s.b | 0) + 1; save(); bootd = 1; }
  for (i = 0; i < 8; i++) x += E.hwRand() + ",";
  return sha(C.id + "," + s.b + "," + (++np) + "," + x + Math.random() + "," + getTime()).substr(0, 16);
}
// The compact poll (FORMAT.md 6b): an idle poll carries no nonce; 202 means
// an offer waits, and only then does the agent poll again with a fresh
// nonce, which the offer's ticket must name.
function poll(wn) {
  var body = "", q;
  tmr = 0;
  if (busy) return later(1000);
  flush();
  if (state().t) return later(interval());   // no offers while a trial runs
  nonce = wn === 1 ? mknonce() : 0;
  q = "/m/" + C.id + "?a=" + C.app + "&s=" + running();
  if (C.board) q += "&b=" + C.board;
  // with the nonce, the firmware: otad offers a pretokenised release only
  // to a board that said it runs its target (FORMAT.md 2c, 6b)
  if (nonce) q += "&n=" + hex(nonce) + "&f=" + process.version;
  get(q, {}, 0, function (d) {
    body += d;
    if (body.length > 4096) return false;
  }, function (ok, res) {
    var m = {}, p, i = 0, n;
    if (ok && res.statusCode == "204") { fails = 0; return later(interval()); }
    if (ok && res.statusCode == "202" && !nonce) return poll(1);
    if (!ok || res.statusCode != "200") return backoff();
    // tagged fields: a letter, a 2-byte big-endian length, the bytes; an
    // offer to a poll without a nonce is still checked (and refused: 48)
    while (i < body.length) {
      n = body.charCodeAt(i + 1) << 8 | body.charCodeAt(i + 2);
      if (i + 3 + n > body.length) return backoff();
      m[body[i]] = body.substr(i + 3, n);
      i += 3 + n;
    }
    body = 0;
    p = m.P * 1000;
    offer(m, p > 0 ? p : 0);
  });
}
function interval(p) {
  p = p || C.poll || 3600000;
  p = Math.max(C.pmin || 1000, Math.min(C.pmax || 86400000, p));
  return p * (0.9 + Math.random() / 5);
}
function running() { var s = state(); return s.c ? s.c.s : 0; }

// ---- the decision (manifests/FORMAT.md section 5); returns an ota_err code --
function decide(m) {
  // signed tier only with both key lists: never one signature checked alone
  var t = m.T || "", s = m.S || "", ed = C.srv && C.rel && E.ed25519verify, k, i, n;
  if (t.substr(0, 4) != "OTAT".substr(0, t.length)) return 41;
  if (t.length < 5) return 2;
  if (t.charCodeAt(4) != 1) return 42;
  if (t.length < 216) return 2;
  if (t.length > 216) return 40;
  if (ed) {
    k = key(C.srv, t.substr(8, 8));
    if (!k) return 43;
    if (!ed(t.substr(152, 64), k, t.substr(0, 152))) return 50;
  } else if (!C.key || !eq(hmac(unhex(C.key), t), m.M || "")) return 51;
  n = t.charCodeAt(5);
  if (!zero(t, 6, 2) || n < 16 || n > 32 || !zero(t, 48 + n, 32 - n)) return 40;
  if (t.substr(16, 32) != pad(C.id, 32)) return 47;
  if (!nonce || n != nonce.length || !eq(t.substr(48, n), nonce)) return 48;
  nonce = 0;
  if (!eq(sha(s), t.substr(80, 32))) return 49;
  if (s.substr(0, 4) != "OTAS".substr(0, s.length)) return 41;
  if (s.length < 5) return 2;
  if (s.charCodeAt(4) != 1) return 42;
  if (s.length < 336) return 2;
  if (s.length > 336) return 40;
  if (ed) {
    k = key(C.rel, s.substr(8, 8));
    if (!k) return 43;
    if (!ed(s.substr(272, 64), k, s.substr(0, 272))) return 20;
  }
  if ((s.charCodeAt(6) & 254) || !zero(s, 7, 1) || !zero(s, 266, 6) || u64(s, 80) < 1 || u32(s, 96) < 1 || u32(s, 100) < 1 ||
      (s.charCodeAt(5) == 0 && (u32(s, 96) != u32(s, 100) || s.substr(104, 32) != s.substr(136, 32))))
    return 40;
  if (t.substr(112, 32) != s.substr(104, 32)) return 49;
  if (s.substr(16, 32) != pad(C.app, 32)) return 44;
  i = s.substr(48, 32);
  if (!zero(i, 0, 32) && i != pad(C.board || "", 32)) return 45;
  // encodings: 0 identity, 1 heatshrink blocks (FORMAT.md 2a) where the
  // firmware has require("heatshrink")
  i = s.charCodeAt(5);
  if (i > 1 || i && !hs()) return 52;
  // flag 1: the program is pretokenised for firmware `target` (FORMAT.md 2c):
  // token ids are one firmware's, so only that firmware installs it
  // ("2v29.277" -> 229, the statement's target)
  if (s.charCodeAt(6) && parseInt(process.version.replace("v", "")) != (s.charCodeAt(264) | s.charCodeAt(265) << 8)) return 52;
  m.s = s;
  if (Math.max(u32(s, 96), u32(s, 100)) > (C.max || 16000)) return 53;
  if (u64(s, 80) <= running()) return 46;
}
function key(list, id) {
  for (var i = 0; i < list.length; i++) if (unhex(list[i][0]) == id) return unhex(list[i][1]);
}

function hs() { try { return require("heatshrink"); } catch (e) {} }

// ---- download: stream each piece into Storage at its offset -----------------
// Encoding 1: the bundle as sent goes to ota.z<seq> (resumable at any byte,
// hashed there), then inflate() decompresses it frame by frame into the
// program file ota.a<seq> (resumable at a block) and the program is hashed.
function offer(m, p) {
  var why = decide(m), s = m.s, d, f, seq, need, n, x;
  if (why) {
    // the sequence as the statement states it; a forged offer only costs a report
    report("rejected", m.S && m.S.length > 87 ? u64(m.S, 80) : 0, why);
    return later(interval(p));
  }
  seq = u64(s, 80);
  st = state();
  if (seq == st.x) return later(interval(p));        // rolled back from it before
  f = "ota.a" + seq;
  d = { f: f, s: seq, h: hex(s.substr(104, 32)), z: u32(s, 96) };
  d.u = m.U || "/b/" + d.h;
  need = d.z;
  if (s.charCodeAt(5)) {
    d.f = "ota.z" + seq; d.p = f; d.i = hex(s.substr(136, 32)); d.y = u32(s, 100);
    need += d.y;
  }
  if ((st.c && st.c.f == f) || (st.t && st.t.f == f)) return later(interval(p));
  // D (FORMAT.md 2b, 6b): a delta from the confirmed program, smaller than
  // the bundle; a hint only (not signed): the program it makes must hash to
  // the statement's installed hash, else the bundle d (kept in d.o) follows.
  // Not after a delta of this release failed (the state then holds the bundle).
  x = m.D || "";
  n = x.length == 68 ? x.charCodeAt(64) * 16777216 + (x.charCodeAt(65) << 16 | x.charCodeAt(66) << 8 | x.charCodeAt(67)) : 0;
  if (n && n < d.z && !C.nod && st.c && hex(x.substr(0, 32)) == st.c.h && !(st.d && st.d.h == d.h)) {
    d = { f: "ota.d" + seq, s: seq, h: hex(x.substr(32, 32)), z: n, p: f, i: hex(s.substr(136, 32)), y: u32(s, 100),
      b: st.c.f, c: st.c.h, o: d };
    d.u = "/b/" + d.h;
    need = n + d.y;
  }
  if (!st.d || st.d.h != d.h) {
    if (st.d) { S.erase(st.d.f); if (st.d.p) S.erase(st.d.p); }
    S.erase(d.f); S.erase(f);
    if (S.getFree() < need + 512) S.compact();
    if (S.getFree() < need + 512) {
      report("rejected", seq, 53, "bundle too big: " + need + " bytes, " + S.getFree() + " free in Storage");
      return later(interval(p));
    }
    st.d = d; queue("downloading", seq, 0); save();
    flush();
  }
  fetch(p);
}
function fetch(p) {
  var d = st.d, f = d.f, cur = S.read(f), off = 0, pos, u = d.u, bad, gone;
  if (cur) { off = cur.indexOf("\xff"); if (off < 0) off = cur.length; }
  // a binary file (compressed bundle, delta) may hold 0xff bytes: it was
  // written in order, so the rest starts after its last byte that is not
  // 0xff (0xff bytes rewritten there are still erased to Storage.write)
  if (cur && d.p) { off = cur.length; while (off && cur.charCodeAt(off - 1) == 255) off--; }
  cur = 0;
  if (off >= d.z) return check(p);
  pos = off;
  get(u, off ? { Range: "bytes=" + off + "-" } : {}, function (res) {
    var k, r;
    for (k in res.headers) if (k.toLowerCase() == "content-range") r = res.headers[k];
    gone = res.statusCode == "404";
    if (res.statusCode == "200") pos = 0;      // the whole body: start the file again
    else if (res.statusCode != "206" || !r || parseInt(r.substr(6), 10) != off) pos = -1;
  }, function (x) {
    if (pos < 0 || pos + x.length > d.z) return false;
    // offset 0 (re)creates the file pre-allocated to its full size; later
    // pieces go to their offset in it.  A failing write throws.
    try { if (!(pos ? S.write(f, x, pos) : S.write(f, x, 0, d.z))) throw 0; }
    catch (e) { bad = 1; return false; }
    pos += x.length;
  }, function (ok) {
    if (ok && pos == d.z) { fails = 0; return check(p); }
    if (gone && d.o) return undelta(d, 404, p);
    if (bad) {                                  // Storage refused: start again later
      S.erase(f); st.d = 0; queue("failed", d.s, 70); save();
      flush();
    }
    backoff();                                  // dropped: the next poll resumes
  });
}
// A delta that fails in any way (refused, or not served: 404, e.g. made by
// another otad of the same fleet): the whole bundle instead, no report.
function undelta(d, why, p) {
  print("ota: delta refused (" + why + ")");
  S.erase(d.f); S.erase(d.p);
  st.d = d.o; save();
  return fetch(p);
}
function check(p) {
  var d = st.d, why = hex(sha(S.read(d.f))) != d.h ? 22 : 0;
  if (!why && d.p) {
    why = d.b ? patch(d) : inflate(d);
    if (!why && hex(sha(S.read(d.p))) != d.i) why = 55;
  }
  if (why && d.o) return undelta(d, why, p);
  if (why) {
    S.erase(d.f); if (d.p) S.erase(d.p);
    st.d = 0; queue(why == 70 ? "failed" : "rejected", d.s, why); save();
    flush();
    return later(interval(p));
  }
  // the bundle as sent is not needed any more: gone before the state says
  // so (a cut between the two downloads it again, the program stays)
  if (d.p) { S.erase(d.f); d = { f: d.p, s: d.s, h: d.i, z: d.y }; }
  st.t = { f: d.f, s: d.s, h: d.h, z: d.z }; st.d = 0; st.a = 0; st.e = 0;
  queue("downloaded", d.s, 0); save();
  flush();
  reboot();                                     // into the trial, through pick()
}
// Encoding 1 (FORMAT.md 2a): header "HS\x86" + log2 of the block size B, then
// per block a u16 LE length and one heatshrink stream of B bytes (the last:
// the rest).  Each frame is decompressed alone (RAM: one block) and written
// at its offset of the program file; blocks already there (up to the first
// erased byte, after a power cut) are skipped.  Returns an ota_err or 0.
function inflate(d) {
  var z = S.read(d.f), g = d.p, cur = S.read(g), done = 0, o = 4, k = 0, b, n, x, L, h = hs();
  if (cur) { done = cur.indexOf("\xff"); if (done < 0) done = cur.length; }
  cur = 0;
  b = z.charCodeAt(3);
  if (z.substr(0, 3) != "HS\x86" || !(b >= 8 && b <= 15)) return 54;
  b = 1 << b;
  for (; k < d.y; k += b) {
    n = z.charCodeAt(o) | z.charCodeAt(o + 1) << 8;
    if (!n || o + 2 + n > z.length) return 54;
    if (k + b > done) {
      L = Math.min(b, d.y - k);
      try { x = E.toString(h.decompress(z.substr(o + 2, n))); } catch (e) { return 54; }
      if (!x || x.length != L) return 54;
      // a block cut short by a power cut: only its erased part is written
      if (done > k) x = x.substr(done - k);
      try { if (!(done || k ? S.write(g, x, Math.max(done, k)) : S.write(g, x, 0, d.y))) return 70; }
      catch (e) { return 70; }
      x = 0;
    }
    o += 2 + n;
  }
  return o == z.length ? 0 : 54;
}
// A delta (FORMAT.md 2b): header "OD", 1, 0, base size, target size (u32
// LE), base and target installed sha256 (76 bytes), then ops, each a varint
// h (LEB128), n = h >> 1: h odd, COPY n bytes of the base from a varint
// offset; even, ADD the n bytes that follow.  Applied into the program file
// in pieces of 256 bytes (the running program is only read); the bytes
// already there (up to the first erased byte, after a power cut) are made
// again from the ops but not written.  Returns an ota_err or 0.
function patch(d) {
  var z = S.read(d.f), b = S.read(d.b), g = d.p, cur = S.read(g), done = 0, o = 76, k = 0, h, n, x, w, L, q;
  if (cur) { done = cur.indexOf("\xff"); if (done < 0) done = cur.length; }
  cur = 0;
  if (z.substr(0, 4) != "OD\x01\0" || u32(z, 8) != d.y) return 56;
  if (!b || u32(z, 4) != b.length || hex(z.substr(12, 32)) != d.c || hex(z.substr(44, 32)) != d.i) return 57;
  // a varint of at most 5 bytes below 2^32, or throw
  function v() {
    var r = 0, m = 1, c;
    do {
      if (o >= z.length || m > 268435456) throw 0;
      c = z.charCodeAt(o++);
      r += (c & 127) * m; m *= 128;
    } while (c & 128);
    if (r > 4294967295) throw 0;
    return r;
  }
  try {
    while (k < d.y) {
      h = v(); n = Math.floor(h / 2);
      if (!n || n > d.y - k) return 56;
      if (h & 1) { x = v(); if (x + n > b.length) return 56; }
      else { x = -1; if (o + n > z.length) return 56; }
      for (w = 0; w < n; w += 256) {
        L = Math.min(256, n - w);
        if (k + w + L > done) {
          q = x < 0 ? z.substr(o + w, L) : b.substr(x + w, L);
          if (k + w < done) q = q.substr(done - k - w);
          if (!((L = Math.max(done, k + w)) ? S.write(g, q, L) : S.write(g, q, 0, d.y))) return 70;
          q = 0;
        }
      }
      if (x < 0) o += n;
      k += n;
    }
  } catch (e) { return e ? 70 : 56; }
  return o == z.length ? 0 : 56;
}
// Restart the interpreter once the reports are out (or given up on): a report
// still in flight when load() resets would be sent twice.
function reboot() {
  var k = 10;
  if (down) return;
  down = 1;
  (function sw() { if (st.q.length && k--) setTimeout(sw, C.sw || 1000); else load(); })();
}

// ---- boot: choose the program; load() is deferred with setTimeout: from ----
// ---- boot code it takes effect only after the boot code has finished ---------
// ---- (checked on 2v29) ----------------------------------------------------------
function ok(p) { return p && S.read(p.f) && hex(sha(S.read(p.f))) == p.h; }
function pick() {
  var s = state(), f = "ota.gold";
  picked = 1;
  if (s.t) {
    if (s.a >= (C.tries || 3) || !ok(s.t)) {
      // a program that threw (80) is told apart from one that hung (81)
      if (!ok(s.t)) queue("rolled_back", s.t.s, 22);
      else if (s.e) queue("rolled_back", s.t.s, 80, s.e);
      else queue("rolled_back", s.t.s, 81, "not confirmed after " + s.a + " attempts");
      s.x = s.t.s;
      f = s.t.f; s.t = 0; s.a = 0; s.e = 0; save();
      if (!s.c || f != s.c.f) S.erase(f);
      return pick();
    }
    s.a++; save();
    f = s.t.f;
  } else if (ok(s.c)) f = s.c.f;
  else if (s.c) { queue("failed", s.c.s, 73); s.c = 0; save(); }
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
    if (!picked && trial && st.t && !down) {
      st.e = txt(e).substr(0, 150); save();     // the text goes into the report
      setTimeout(reboot, 10);
    }
  });
  setTimeout(function () {
    var s = state();
    if (picked) return;
    // st.t is gone when the program confirmed at its top level already
    if (trial && s.t && !down) {
      trialT = setTimeout(function () { trialT = 0; if (st.t) reboot(); }, C.trial || 600000);
      report("trial", s.t.s, 0, "attempt " + s.a);
    }
    later(C.first || (5000 + Math.random() * 5000));
    if (C.nudge) listen();
  }, 1);
}
// A nudge (a UDP datagram "OTAN <app>" on port C.nudge) only makes the
// agent poll now; it carries no authority: the poll is checked as always.
// At most one per C.ngap ms (default 60 s) is heeded.
function listen() {
  var u;
  try {
    // on() returns undefined on Espruino: not chained
    u = require("dgram").createSocket("udp4");
    u.on("message", function (m) {
      var t = getTime() * 1000;
      if (("" + m).substr(0, 5) != "OTAN " || (m = ("" + m).substr(5)) && m != C.app) return;
      if (t - nt < (C.ngap || 60000) || busy) return;
      nt = t;
      later(Math.random() * 1000);
    });
    u.bind(C.nudge);
  } catch (e) { print("ota: no nudges:", e); }
}
function confirm() {
  var s = state(), o = s.c;
  if (!s.t || !trial || down) return false;
  s.c = s.t; s.t = 0; s.a = 0; s.e = 0;
  queue("confirmed", s.c.s, 0); save();
  if (o && o.f != s.c.f) S.erase(o.f);
  stop(trialT); trialT = 0;
  flush();
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

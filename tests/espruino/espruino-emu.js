'use strict';
/*
 * espruino-emu.js: a small emulation, under node, of the Espruino (2v29) APIs
 * the OTA agent uses, with the quirks measured on the real interpreter kept
 * on purpose.  It is a test fixture, not a simulator of the whole firmware.
 * Every quirk below has its own test in emu-quirks.test.js.
 *
 *   board = createBoard(opts)      one board; Storage survives power cycles
 *   board.powerOn()                run .boot0...boot3 then .bootcde (or .bootrst)
 *   board.powerCut()               stop dead: timers, sockets, callbacks all gone
 *   board.cutPowerAtOp(n)          cut power at the n-th flash operation from now
 *   board.storage                  the Storage module object (host access too)
 *   board.log                      lines printed by the board
 *
 * Quirks reproduced (opts in parentheses):
 *  - Storage: total size opts.storageSize (48 KB, the Pico's three 16 KB
 *    pages); each file costs a 32-byte header plus its size rounded up to 4,
 *    placed as the firmware does (a file runs past its page only into empty
 *    pages, small files do not straddle a boundary);
 *    names longer than 28 characters are silently cut; write(name, data,
 *    offset, size) pre-allocates `size` bytes (erased, 0xFF); a write at an
 *    offset > 0 goes into the existing file and throws unless that area is
 *    still erased ("File already written with different data"); offset 0
 *    makes a new file (the same bytes again in one go write nothing);
 *    replacing a file erases the old one first
 *    (two flash operations: a power cut between them loses both); erased files
 *    stay as trash until compact() (automatic when no place is left; getFree()
 *    counts only the space after the last file); read()
 *    returns a string mapped onto flash (no RAM), undefined when missing.
 *  - Rewriting or erasing a file the interpreter is running from (boot files,
 *    the loaded program, modules loaded from Storage) corrupts the running
 *    program: the board hangs.
 *  - http: statusCode is a string; header names keep the server's case; no
 *    timeout; no abort(); a truncated body is not an error (just 'close');
 *    redirects are not followed; body pieces are at most opts.chunk bytes
 *    (536 on GSM); a connection failure throws synchronously (opts.connFail
 *    'throw', e.g. the SIM800/ESP8266 AT drivers) or arrives as an 'error'
 *    event ('event'); board.net.blackhole: the socket never answers (no event
 *    at all, ever).
 *  - Heap: body bytes received and not yet written to Storage count as held
 *    in RAM; beyond opts.heapLimit (64 KB) the interpreter runs out of memory
 *    and hangs (board.hung).
 *  - crypto.SHA256 returns an ArrayBuffer.
 *  - load() called while boot code runs synchronously is ignored; from a
 *    timer it resets the interpreter at idle and runs .boot0-3 then the file.
 *  - uncaught exceptions print "Uncaught ..." and the interpreter carries on,
 *    unless process.on('uncaughtException') catches them.
 *  - E.ed25519verify(sig, pub, msg) exists only when opts.ed25519 is set (a
 *    firmware with the common/ verifier built in).
 */
const vm = require('vm');
const net = require('net');
const nodeCrypto = require('crypto');

const DEFAULTS = {
  storageSize: 48 * 1024, // Pico: 3 pages of 16 KB
  pageSize: 16 * 1024,
  nameMax: 28,
  chunk: 536,             // GSM modem segment
  connFail: 'event',      // or 'throw'
  heapLimit: 64 * 1024,
  ed25519: false,
  quiet: true,
};

class PowerCut extends Error { constructor() { super('power cut'); this.powerCut = true; } }
class Hang extends Error { constructor(why) { super('hang: ' + why); this.hang = true; } }

function latin1(buf) { return Buffer.from(buf).toString('latin1'); }
function toBuf(data) {
  if (typeof data === 'string') return Buffer.from(data, 'latin1');
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]')
    return Buffer.from(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Buffer.from(data);
  return Buffer.from(String(data), 'latin1');
}

function createBoard(userOpts) {
  const opts = Object.assign({}, DEFAULTS, userOpts || {});
  const board = {
    opts,
    log: [],
    hung: null,           // reason string once the interpreter hangs
    powered: false,
    session: null,
    sessions: 0,          // interpreter starts (power on + load)
    flashOps: 0,
    cutAt: 0,             // cut power when flashOps reaches this (0 = never)
    net: { down: false, blackhole: false, dropAfter: 0, requests: [] },
    heapPeak: 0,
    onPowerCut: null,
  };
  const files = new Map(); // name -> Buffer (allocated size)
  // Where files sit, as the firmware places them: each is a 32-byte header
  // plus its size rounded up to 4, after the previous one; a file may run on
  // past the end of its page only into pages that are empty; small files that
  // would straddle a page boundary start on the next page instead.  Erased
  // files stay in place (trash) until a compaction rewrites the live ones.
  let entries = [];         // {addr, len, name, live}, by creation

  function print() {
    const line = Array.prototype.map.call(arguments, String).join(' ');
    board.log.push(line);
    if (!opts.quiet) process.stdout.write('[board] ' + line + '\n');
  }
  const cost = (size) => 32 + ((size + 3) & ~3);
  const TOTAL = opts.storageSize, PAGE = opts.pageSize;
  const covers = (a) => entries.some((e) => e.addr <= a && a < e.addr + e.len);
  const pageEnd = (a) => (Math.floor(a / PAGE) + 1) * PAGE;
  function chainEnd(a) {
    for (;;) { const e = entries.find((x) => x.addr === a); if (!e) return a; a = e.addr + e.len; }
  }
  function spaceLeft(a) { let n = pageEnd(a); while (n < TOTAL && !covers(n)) n += PAGE; return Math.min(n, TOTAL) - a; }
  function place(len) {
    let a = 0;
    while (a < TOTAL) {
      a = chainEnd(a);
      if (a < TOTAL && spaceLeft(a) >= len) {
        const np = pageEnd(a);
        if (np < TOTAL && np - a < len && len < 512 && !covers(np) && spaceLeft(a) > len + (np - a)) a = np;
        return a;
      }
      a = pageEnd(a);
    }
    return -1;
  }
  function compactAll() {
    const live = entries.filter((e) => e.live);
    entries = [];
    for (const e of live) { e.addr = place(e.len); entries.push(e); }
  }
  function trashBytes() { let t = 0; for (const e of entries) if (!e.live) t += e.len; return t; }
  function dropEntry(name) { const e = entries.find((x) => x.live && x.name === name); if (e) e.live = false; }

  // One flash operation; power may be cut before it happens.
  function flashOp() {
    const s = board.session;
    if (s && s.dead) throw new PowerCut();
    board.flashOps++;
    if (board.cutAt && board.flashOps >= board.cutAt) {
      board.cutAt = 0;
      board.powerCut();
      if (board.onPowerCut) board.onPowerCut();
      throw new PowerCut();
    }
  }
  function touchRunning(name) {
    const s = board.session;
    if (s && s.running.has(name)) hang('running file ' + name + ' rewritten: code corrupted');
  }
  function cutName(name) { return String(name).substr(0, opts.nameMax); }
  function alloc(name, size) {
    let a = place(cost(size));
    if (a < 0) { compactAll(); a = place(cost(size)); }   // automatic compaction
    if (a < 0) throw new Error('Unable to find or create file');
    entries.push({ addr: a, len: cost(size), name, live: true });
  }

  const Storage = {
    write(name, data, offset, size) {
      name = cutName(name);
      const d = toBuf(data);
      offset = offset | 0;
      touchRunning(name);
      const cur = files.get(name);
      if (offset > 0) {                     // into an existing file
        if (!cur) throw new Error("Can't write to offset of a file that doesn't exist");
        if (offset + d.length > cur.length) throw new Error('Too much data for file size');
        for (let i = 0; i < d.length; i++)   // the firmware checks the area is erased
          if (cur[offset + i] !== 0xff) throw new Error('File already written with different data');
        flashOp();
        d.copy(cur, offset);
        heapRelease(d.length);
        return true;
      }
      const total = size === undefined || size === 0 ? d.length : (size | 0);
      if (d.length > total) throw new Error('Too much data for file size');
      if (total === 0) throw new Error("Can't create a zero-length file");
      // the same bytes again, all in one go: the firmware writes nothing
      if (cur && cur.length === total && d.length === total && cur.equals(d)) return true;
      if (cur) {                 // erase the old copy first: one flash op
        flashOp();
        files.delete(name); dropEntry(name);
      }
      alloc(name, total);
      flashOp();
      const b = Buffer.alloc(total, 0xff);
      d.copy(b, 0);
      files.set(name, b);
      heapRelease(d.length);
      return true;
    },
    read(name, offset, length) {
      const b = files.get(cutName(name));
      if (!b) return undefined;
      offset = offset | 0;
      const end = length === undefined ? b.length : Math.min(b.length, offset + length);
      return latin1(b.subarray(offset, end));
    },
    readArrayBuffer(name) {
      const b = files.get(cutName(name));
      if (!b) return undefined;
      return new Uint8Array(b).buffer;
    },
    readJSON(name, noExceptions) {
      const s = Storage.read(name);
      if (s === undefined) return undefined;
      try { return JSON.parse(s); } catch (e) { if (noExceptions) return undefined; throw e; }
    },
    writeJSON(name, obj) { return Storage.write(name, JSON.stringify(obj)); },
    erase(name) {
      name = cutName(name);
      const cur = files.get(name);
      if (!cur) return;
      touchRunning(name);
      flashOp();
      files.delete(name); dropEntry(name);
    },
    list(re) {
      const out = [];
      for (const n of files.keys()) if (!re || new RegExp(re).test(n)) out.push(n);
      return out;
    },
    // free bytes after the last file (trash and holes are not free)
    getFree() { let end = 0; for (const e of entries) end = Math.max(end, e.addr + e.len); return TOTAL - end; },
    getStats() {
      let fb = 0; for (const b of files.values()) fb += cost(b.length);
      return { totalBytes: TOTAL, freeBytes: Storage.getFree(),
               fileBytes: fb, fileCount: files.size, trashBytes: trashBytes() };
    },
    compact() { flashOp(); compactAll(); },
    eraseAll() { flashOp(); files.clear(); entries = []; },
  };

  // ---- heap accounting: body bytes held between arrival and Storage write --
  function heapHold(n) {
    const s = board.session;
    if (!s || !s.resp) return;
    s.resp.held += n;
    if (s.resp.held > board.heapPeak) board.heapPeak = s.resp.held;
    if (s.resp.held > opts.heapLimit) hang('out of memory holding ' + s.resp.held + ' bytes');
  }
  function heapRelease(n) {
    const s = board.session;
    if (s && s.resp) s.resp.held = Math.max(0, s.resp.held - n);
  }

  function hang(why) {
    board.hung = why;
    print('HANG: ' + why);
    endSession();
    throw new Hang(why);
  }

  // ---- sessions: one interpreter run between resets ----------------------
  function endSession() {
    const s = board.session;
    if (!s) return;
    s.dead = true;
    for (const t of s.timers) { clearTimeout(t); clearInterval(t); }
    s.timers.clear();
    for (const sock of s.sockets) sock.destroy();
    s.sockets.clear();
  }

  // Run fn(...) as the interpreter would run a callback: errors are printed
  // (or handed to process.on('uncaughtException')); power cuts and hangs stop.
  function guard(s, fn, args) {
    if (s.dead || board.session !== s) return;
    try { fn.apply(null, args || []); }
    catch (e) {
      if (e && (e.powerCut || e.hang)) return;
      if (s.dead) return;
      const h = s.uncaught;
      if (h) { try { h(e); } catch (e2) { if (!(e2 && (e2.powerCut || e2.hang))) print('Uncaught ' + e2); } }
      else print('Uncaught ' + (e && e.stack ? e.stack.split('\n')[0] : e));
    }
  }

  function makeHttp(s) {
    function request(o, cb) {
      if (typeof o === 'string') {
        const u = new URL(o);
        o = { host: u.hostname, port: u.port || 80, path: u.pathname + u.search };
      }
      const method = (o.method || 'GET').toUpperCase();
      const host = o.host || o.hostname;
      const port = +(o.port || 80);
      board.net.requests.push(method + ' ' + o.path);
      const listeners = {};
      const req = {
        on(ev, fn) { (listeners[ev] = listeners[ev] || []).push(fn); return req; },
        write(d) { body.push(toBuf(d)); return true; },
        end(d) { if (d !== undefined) body.push(toBuf(d)); ended = true; go(); },
        // no abort(), no setTimeout(): the firmware has neither
      };
      const body = [];
      let ended = false, started = false;
      function emit(ev, arg) { for (const f of listeners[ev] || []) guard(s, f, [arg]); }
      if (board.net.down) {
        if (opts.connFail === 'throw') throw new Error('Unable to connect: no network');
        started = true;   // nothing will connect
        setImmediateS(s, () => emit('error', new Error('Unable to connect')));
        return req;
      }
      function go() {
        if (started || s.dead) return;
        started = true;
        if (board.net.blackhole) return;      // nothing, ever: no timeout exists
        const sock = net.connect(port, host);
        s.sockets.add(sock);
        const hdrs0 = method + ' ' + (o.path || '/') + ' HTTP/1.0\r\nUser-Agent: Espruino 2v29\r\n' +
               'Connection: close\r\nHost: ' + host + '\r\n';
        let hdrs = hdrs0;
        const h = o.headers || {};
        const data = Buffer.concat(body);
        let hasLen = false;
        for (const k of Object.keys(h)) { hdrs += k + ': ' + h[k] + '\r\n'; if (/^content-length$/i.test(k)) hasLen = true; }
        if (data.length && !hasLen) hdrs += 'Content-Length: ' + data.length + '\r\n';
        sock.on('connect', () => { sock.write(Buffer.concat([Buffer.from(hdrs + '\r\n', 'latin1'), data])); });
        let head = Buffer.alloc(0), res = null, got = 0, closed = false;
        const resListeners = {};
        function remit(ev, arg) { for (const f of resListeners[ev] || []) guard(s, f, [arg]); }
        function deliver(buf) {
          const lim = board.net.dropAfter;
          if (lim && got + buf.length > lim) {
            buf = buf.subarray(0, Math.max(0, lim - got));
            board.net.dropAfter = 0;
            sock.destroy();
            if (buf.length) deliverPieces(buf);
            finish();
            return;
          }
          deliverPieces(buf);
        }
        function deliverPieces(buf) {
          for (let i = 0; i < buf.length && !s.dead; i += opts.chunk) {
            const piece = buf.subarray(i, i + opts.chunk);
            got += piece.length;
            s.resp = res._acct;
            try { heapHold(piece.length); } catch (e) { return; }
            remit('data', latin1(piece));
          }
        }
        function finish() {
          if (closed) return;
          closed = true;
          s.sockets.delete(sock);
          if (res) { s.resp = null; remit('close'); }
          emit('close');
        }
        sock.on('data', (chunk) => {
          if (s.dead) return;
          if (!res) {
            head = Buffer.concat([head, chunk]);
            const i = head.indexOf('\r\n\r\n');
            if (i < 0) return;
            const lines = head.subarray(0, i).toString('latin1').split('\r\n');
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
            res = {
              statusCode: m ? m[1] : '0',           // a string, as on the board
              statusMessage: lines[0].replace(/^\S+ \d+ ?/, ''),
              headers: {},
              httpVersion: lines[0].substr(5, 3),
              on(ev, fn) { (resListeners[ev] = resListeners[ev] || []).push(fn); return res; },
              _acct: { held: 0 },
            };
            for (const l of lines.slice(1)) {
              const c = l.indexOf(':');
              if (c > 0) res.headers[l.substr(0, c)] = l.substr(c + 1).trim(); // case kept
            }
            const rest = head.subarray(i + 4);
            if (cb) guard(s, cb, [res]);
            if (rest.length) deliver(rest);
            return;
          }
          deliver(chunk);
        });
        sock.on('error', (e) => { if (!closed && !res) { closed = true; s.sockets.delete(sock); emit('error', e); } });
        sock.on('close', () => { if (!s.dead) finish(); });
      }
      if (method === 'GET' || method === 'HEAD') setImmediateS(s, go);
      return req;
    }
    return {
      request,
      get(o, cb) { const r = request(o, cb); r.end(); return r; },
    };
  }

  function setImmediateS(s, fn) {
    const t = setTimeout(() => { s.timers.delete(t); guard(s, fn); }, 0);
    s.timers.add(t);
  }

  function sha256(data) {
    return new Uint8Array(nodeCrypto.createHash('sha256').update(toBuf(data)).digest()).buffer;
  }

  function newSession() {
    endSession();
    const s = {
      dead: false, timers: new Set(), sockets: new Set(), modules: {},
      running: new Set(), booting: false, uncaught: null, resp: null, id: ++board.sessions,
    };
    board.session = s;
    const http = makeHttp(s);
    const cryptoMod = { SHA256: sha256 };
    const E = {
      hwRand() { return nodeCrypto.randomBytes(4).readInt32LE(0); },
      toString() {
        let out = '';
        for (const a of arguments) {
          if (typeof a === 'string') out += a;
          else if (typeof a === 'number') out += String.fromCharCode(a & 255);
          else out += latin1(toBuf(a));
        }
        return out;
      },
      toUint8Array(x) { return new ctx.Uint8Array(toBuf(x)); },
      getSizeOf() { return 1; },
      reboot() { setImmediate(() => { board.powerCut(); board.powerOn(); }); },
    };
    if (opts.ed25519) {
      E.ed25519verify = function (sig, pub, msg) {
        try {
          const key = nodeCrypto.createPublicKey({
            key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), toBuf(pub)]),
            format: 'der', type: 'spki' });
          return nodeCrypto.verify(null, toBuf(msg), key, toBuf(sig));
        } catch (e) { return false; }
      };
    }
    function timer(fn, ms, repeat, args) {
      if (s.dead) return 0;
      if (typeof fn === 'string') { const code = fn; fn = () => vm.runInContext(code, ctx); }
      const cb = () => { if (!repeat) s.timers.delete(t); guard(s, fn, args); };
      const t = repeat ? setInterval(cb, Math.max(1, ms | 0)) : setTimeout(cb, Math.max(0, ms | 0));
      s.timers.add(t);
      return t;
    }
    // clearTimeout()/clearInterval() with no argument stop every timer
    function clear(t) {
      if (t === undefined) { for (const x of s.timers) { clearTimeout(x); clearInterval(x); } s.timers.clear(); return; }
      if (t && s.timers.has(t)) { clearTimeout(t); clearInterval(t); s.timers.delete(t); }
    }
    function load(file) {
      if (s.booting) return;                    // ignored from boot code, silently
      if (s.dead || s.loading) return;
      s.loading = true;
      setImmediate(() => { if (!s.dead && board.session === s) runSession(file === undefined ? null : String(file)); });
    }
    function requireMod(name) {
      if (name === 'Storage') return Storage;
      if (name === 'http') return http;
      if (name === 'crypto') return cryptoMod;
      if (s.modules[name]) return s.modules[name].exports;
      const src = Storage.read(name);
      if (src === undefined) throw new Error('Module ' + name + ' not found');
      const module = { exports: {} };
      s.modules[name] = module;
      s.running.add(cutName(name));
      vm.runInContext('(function(exports,module){' + src + '\n})', ctx, { filename: name })(module.exports, module);
      return module.exports;
    }
    const procObj = {
      on(ev, fn) { if (ev === 'uncaughtException') s.uncaught = fn; },
      env: { VERSION: '2v29', BOARD: 'PICO_R1_3' },
      memory() { return { free: 0, usage: 0, total: 0 }; },
    };
    const ctx = vm.createContext({
      require: requireMod,
      setTimeout(fn, ms) { return timer(fn, ms, false, Array.prototype.slice.call(arguments, 2)); },
      setInterval(fn, ms) { return timer(fn, ms, true, Array.prototype.slice.call(arguments, 2)); },
      clearTimeout: clear, clearInterval: clear,
      load, E, process: procObj,
      print, console: { log: print },
      getTime() { return Date.now() / 1000; },
      btoa(x) { return Buffer.from(String(x), 'latin1').toString('base64'); },
      atob(x) { return Buffer.from(String(x), 'base64').toString('latin1'); },
    });
    ctx.global = ctx;
    s.ctx = ctx;
    return s;
  }

  function evalFile(s, name) {
    const src = Storage.read(name);
    if (src === undefined) return false;
    s.running.add(cutName(name));
    guard(s, () => vm.runInContext(src, s.ctx, { filename: name }));
    return true;
  }

  function runSession(file) {
    const s = newSession();
    s.booting = true;
    for (let i = 0; i < 4 && !s.dead; i++) evalFile(s, '.boot' + i);
    if (!s.dead) {
      if (file !== null) evalFile(s, file);
      else if (!evalFile(s, '.bootrst')) evalFile(s, '.bootcde');
    }
    s.booting = false;
    return s;
  }

  board.storage = Storage;
  board.storageMap = () => entries.map((e) => ({ name: e.name, addr: e.addr, len: e.len, live: e.live }));
  board.files = files;
  board.powerOn = function () {
    board.hung = null;
    board.powered = true;
    return runSession(null);
  };
  board.powerCut = function () { board.powered = false; endSession(); board.session = null; };
  board.cutPowerAtOp = function (n) { board.cutAt = board.flashOps + n; };
  board.print = print;
  board.eval = function (code) {   // type at the console of the running interpreter
    const s = board.session;
    if (!s || s.dead) throw new Error('board not running');
    let r;
    guard(s, () => { r = vm.runInContext(code, s.ctx); });
    return r;
  };
  return board;
}

module.exports = { createBoard, PowerCut, Hang };

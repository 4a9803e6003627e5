'use strict';
// Keeps the emulation honest: one test per quirk of the Espruino firmware it
// claims to reproduce (see the list at the top of espruino-emu.js).
const http = require('http');
const crypto = require('crypto');
const { createBoard } = require('./espruino-emu');
const { test, ok, eq, run, sleep, until } = require('./t');

// A local server whose answers the tests script per path.
let srv, port;
const routes = {};
function serve(path, fn) { routes[path] = fn; }
async function startServer() {
  srv = http.createServer((req, res) => {
    const fn = routes[req.url.split('?')[0]];
    if (!fn) { res.writeHead(404, { 'Content-Length': 0 }); return res.end(); }
    fn(req, res);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  port = srv.address().port;
}
// Run code on a fresh board from a timer (not boot code) and collect globals.
function boardWith(opts, code) {
  const b = createBoard(opts);
  b.storage.write('.bootcde', code || ';');
  b.powerOn();
  return b;
}

test('Storage is 48 KB: a file that does not fit is refused', () => {
  const b = createBoard();
  const S = b.storage;
  eq(S.getFree(), 48 * 1024, 'free at start');
  let threw = false;
  try { S.write('big', 'x', 0, 48 * 1024); } catch (e) { threw = true; }
  ok(threw, 'a 48 KB file (plus header) cannot fit');
  S.write('big', 'x', 0, 40 * 1024);
  ok(S.getFree() < 8 * 1024, 'space used');
});

test('Storage names longer than 28 characters are silently cut', () => {
  const b = createBoard();
  const S = b.storage;
  const long = 'abcdefghijklmnopqrstuvwxyz0123456789';
  S.write(long, 'hello');
  eq(S.list().length, 1);
  eq(S.list()[0], long.substr(0, 28), 'stored name');
  eq(S.read(long.substr(0, 28)), 'hello');
  S.write(long.substr(0, 28) + 'ZZZ', 'other');     // same 28 first chars: same file
  eq(S.read(long), 'other');
  eq(S.list().length, 1);
});

test('Storage.write(name, data, offset, size) pre-allocates; pieces go at offsets', () => {
  const b = createBoard();
  const S = b.storage;
  S.write('f', 'abc', 0, 10);
  eq(S.read('f').length, 10, 'allocated size');
  eq(S.read('f'), 'abc' + '\xff'.repeat(7), 'unwritten bytes read as 0xFF');
  S.write('f', 'def', 3);
  S.write('f', 'ghij', 6);
  eq(S.read('f'), 'abcdefghij');
  let threw = 0;
  try { S.write('f', 'xy', 9); } catch (e) { threw++; }
  try { S.write('nofile', 'xy', 4); } catch (e) { threw++; }
  eq(threw, 2, 'past the end and into a missing file both throw');
  eq(S.read('f', 2, 3), 'cde', 'read(name, offset, length)');
  eq(Buffer.from(S.readArrayBuffer('f')).toString(), 'abcdefghij');
  eq(S.read('missing'), undefined);
});

test('Storage: a write at an offset into bytes already written throws', () => {
  const b = createBoard();
  const S = b.storage;
  S.write('f', 'AAAA', 0, 8);
  S.write('f', 'BB', 4);
  let msg = '';
  try { S.write('f', 'zz', 4); } catch (e) { msg = e.message; }
  eq(msg, 'File already written with different data');
  try { S.write('f', 'AA', 2); } catch (e) { msg = e.message + '!'; }
  eq(msg, 'File already written with different data!', 'even the same bytes');
  eq(S.read('f'), 'AAAABB\xff\xff', 'unchanged');
  const ops = b.flashOps;
  S.write('g', 'same'); S.write('g', 'same');
  eq(b.flashOps - ops, 1, 'rewriting a whole file with the same bytes writes nothing');
});

test('Storage: replacing a file erases the old one first (a cut between loses both)', () => {
  const b = createBoard();
  const S = b.storage;
  S.write('st', 'old');
  const before = b.flashOps;
  S.write('st', 'new');
  eq(b.flashOps - before, 2, 'erase + create');
  b.cutPowerAtOp(2);
  let cut = false;
  try { S.write('st', 'newer'); } catch (e) { cut = !!e.powerCut; }
  ok(cut, 'power cut');
  eq(S.read('st'), undefined, 'neither copy left');
});

test('Storage: erased files are trash until compact(); erase/list/getFree', () => {
  const b = createBoard();
  const S = b.storage;
  S.write('a', 'x'.repeat(1000));
  const f1 = S.getFree();
  S.write('a', 'y'.repeat(1000));
  ok(S.getFree() < f1 - 900, 'old copy still uses space');
  S.erase('a');
  eq(S.list().length, 0);
  S.compact();
  eq(S.getFree(), 48 * 1024, 'all space back');
  S.write('b1', '1'); S.write('b2', '2'); S.write('c', '3');
  eq(S.list(/^b/).join(), 'b1,b2');
});

test('Storage: files are placed by page like the firmware does', () => {
  const b = createBoard();
  const S = b.storage;
  const at = (n) => b.storageMap().find((e) => e.live && e.name === n).addr;
  S.write('a', 'x'.repeat(10000));
  S.write('b', 'y'.repeat(10000));            // runs on into the empty second page
  eq(at('a'), 0); eq(at('b'), 10032);
  const b2 = createBoard();
  const S2 = b2.storage;
  const at2 = (n) => b2.storageMap().find((e) => e.live && e.name === n).addr;
  S2.write('a', 'x'.repeat(16384 - 32 - 100));
  S2.write('s', 'z'.repeat(300));             // small: would straddle, starts on page 2
  eq(at2('s'), 16384);
  eq(S2.getFree(), 48 * 1024 - 16384 - 332, 'the hole before page 2 is not free');
  S2.erase('a');
  eq(S2.getFree(), 48 * 1024 - 16384 - 332, 'nor is trash');
  S2.compact();
  eq(at2('s'), 0, 'compaction rewrites the live files from the start');
});

test('Storage: automatic compaction when space runs out', () => {
  const b = createBoard();
  const S = b.storage;
  for (let i = 0; i < 10; i++) S.write('a', 'x'.repeat(10000));
  eq(S.read('a').length, 10000);
});

test('Storage.read maps flash: no RAM is counted for it', () => {
  const b = createBoard();
  b.storage.write('big', 'x'.repeat(40000));
  b.storage.write('.bootcde', 'var s=require("Storage").read("big"); h=require("crypto").SHA256(s);');
  b.powerOn();
  eq(b.hung, null);
});

test('crypto.SHA256 returns an ArrayBuffer with the digest', () => {
  const b = boardWith({}, 'r=require("crypto").SHA256("abc");');
  const r = b.eval('r');
  eq(Object.prototype.toString.call(r), '[object ArrayBuffer]');
  eq(Buffer.from(new Uint8Array(r)).toString('hex'), crypto.createHash('sha256').update('abc').digest('hex'));
  eq(b.eval('E.toString(r).length'), 32);
});

test('load() directly from boot code is ignored; deferred with setTimeout it runs', async () => {
  const b = createBoard();
  b.storage.write('app', 'ran=1;');
  b.storage.write('.bootcde', 'load("app");');
  b.powerOn();
  await sleep(30);
  eq(b.eval('typeof ran'), 'undefined', 'direct load ignored');
  b.powerCut();
  b.storage.write('.bootcde', 'setTimeout(function(){load("app")},1);');
  b.powerOn();
  await until(() => b.session && b.eval('typeof ran') === 'number', 1000, 'app loaded');
  eq(b.sessions, 3, 'a new interpreter session');
});

test('load(file) resets the interpreter and runs .boot0 again before the file', async () => {
  const b = createBoard();
  b.storage.write('.boot0', 'if(!global.n)n=0;n++;boot0=1;');
  b.storage.write('app', 'app=1;');
  b.storage.write('.bootcde', 'x=5;setTimeout(function(){load("app")},1);');
  b.powerOn();
  await until(() => b.session && b.eval('typeof app') === 'number', 1000);
  eq(b.eval('typeof x'), 'undefined', 'globals reset');
  eq(b.eval('n'), 1, '.boot0 ran in the new session');
});

test('power cut stops every timer and callback', async () => {
  const b = boardWith({}, 'hits=0;setInterval(function(){hits++;require("Storage").write("t",""+hits)},5);');
  await sleep(40);
  b.powerCut();
  const n = b.storage.read('t');
  await sleep(40);
  eq(b.storage.read('t'), n, 'nothing ran after the cut');
});

test('uncaught exceptions print and the interpreter carries on; process.on catches', async () => {
  const b = boardWith({}, 'setTimeout(function(){throw new Error("boom")},1);setTimeout(function(){after=1},10);');
  await sleep(40);
  ok(b.log.some((l) => /Uncaught.*boom/.test(l)), 'printed');
  eq(b.eval('after'), 1, 'still running');
  const b2 = boardWith({}, 'process.on("uncaughtException",function(e){got=""+e});throw new Error("top");');
  eq(b2.eval('got'), 'Error: top', 'top-level throw caught by the handler');
});

test('rewriting the file the interpreter runs from corrupts it: the board hangs', async () => {
  const b = createBoard();
  b.storage.write('mod', 'exports.f=function(){return 1}');
  b.storage.write('.bootcde', 'm=require("mod");setTimeout(function(){require("Storage").write("mod","x")},1);');
  b.powerOn();
  await until(() => b.hung, 1000, 'hang');
  ok(/mod/.test(b.hung));
  const b2 = createBoard();
  b2.storage.write('.bootcde', 'setTimeout(function(){require("Storage").write(".bootcde","x")},1);');
  b2.powerOn();
  await until(() => b2.hung, 1000, 'hang on rewriting the boot file');
});

test('http: statusCode is a string and header names keep the server case', async () => {
  serve('/h', (req, res) => { res.writeHead(200, { 'X-MiXeD-Case': 'v', 'Content-Length': 2 }); res.end('ok'); });
  const b = boardWith({}, `require("http").get({host:"127.0.0.1",port:${port},path:"/h"},function(r){
    code=r.statusCode; hdr=Object.keys(r.headers).join(); body="";
    r.on("data",function(d){body+=d}); r.on("close",function(){done=1});});`);
  await until(() => b.eval('typeof done') === 'number', 2000);
  eq(b.eval('typeof code'), 'string');
  eq(b.eval('code'), '200');
  ok(b.eval('hdr').includes('X-MiXeD-Case'), 'case kept: ' + b.eval('hdr'));
  eq(b.eval('body'), 'ok');
});

test('http: no timeout and no abort on the request object', async () => {
  const b = boardWith({}, `req=require("http").get({host:"127.0.0.1",port:${port},path:"/h"},function(){});`);
  eq(b.eval('typeof req.abort'), 'undefined');
  eq(b.eval('typeof req.setTimeout'), 'undefined');
  // a server that accepts and never answers: nothing happens, ever
  serve('/stall', () => {});
  b.eval(`any=0;var q=require("http").get({host:"127.0.0.1",port:${port},path:"/stall"},function(){any=1});q.on("error",function(){any=2});q.on("close",function(){any=3});`);
  await sleep(300);
  eq(b.eval('any'), 0, 'no answer, no error, no close');
  b.powerCut();
});

test('http: a truncated body is not an error, just close', async () => {
  serve('/trunc', (req, res) => {
    res.writeHead(200, { 'Content-Length': 1000 });
    res.write('x'.repeat(300));
    setTimeout(() => res.socket.destroy(), 20);
  });
  const b = boardWith({}, `n=0;err=0;var q=require("http").get({host:"127.0.0.1",port:${port},path:"/trunc"},function(r){
    r.on("data",function(d){n+=d.length}); r.on("close",function(){done=1});}); q.on("error",function(){err=1});`);
  await until(() => b.eval('typeof done') === 'number', 2000);
  eq(b.eval('n'), 300);
  eq(b.eval('err'), 0, 'no error event');
});

test('http: redirects are not followed', async () => {
  serve('/redir', (req, res) => { res.writeHead(302, { Location: '/h', 'Content-Length': 0 }); res.end(); });
  const b = boardWith({}, `require("http").get({host:"127.0.0.1",port:${port},path:"/redir"},function(r){
    code=r.statusCode; r.on("close",function(){done=1});});`);
  await until(() => b.eval('typeof done') === 'number', 2000);
  eq(b.eval('code'), '302');
});

test('http: body pieces are at most 536 bytes on a GSM board', async () => {
  serve('/big', (req, res) => { res.writeHead(200, { 'Content-Length': 5000 }); res.end('y'.repeat(5000)); });
  const b = boardWith({ chunk: 536 }, `max=0;n=0;require("http").get({host:"127.0.0.1",port:${port},path:"/big"},function(r){
    r.on("data",function(d){n+=d.length;if(d.length>max)max=d.length}); r.on("close",function(){done=1});});`);
  await until(() => b.eval('typeof done') === 'number', 2000);
  eq(b.eval('n'), 5000);
  ok(b.eval('max') <= 536, 'max piece ' + b.eval('max'));
});

test('http: connection failure throws synchronously on some boards', async () => {
  const b = boardWith({ connFail: 'throw' }, '');
  b.net.down = true;
  b.eval(`try{require("http").get({host:"127.0.0.1",port:${port},path:"/h"},function(){});thrown=0}catch(e){thrown=1}`);
  eq(b.eval('thrown'), 1);
});

test('http: connection failure arrives as an error event on other boards', async () => {
  const b = boardWith({ connFail: 'event' }, '');
  b.net.down = true;
  b.eval(`ev=0;thrown=0;try{require("http").get({host:"127.0.0.1",port:${port},path:"/h"},function(){}).on("error",function(){ev=1})}catch(e){thrown=1}`);
  await until(() => b.eval('ev') === 1, 1000);
  eq(b.eval('thrown'), 0);
  // a refused connection (nobody listening) is an error event too
  const dead = net0();
  b.net.down = false;
  b.eval(`ev2=0;require("http").get({host:"127.0.0.1",port:${dead},path:"/"},function(){}).on("error",function(){ev2=1})`);
  await until(() => b.eval('ev2') === 1, 2000);
});
function net0() { return 1; }  // port 1 on 127.0.0.1: refused

test('http: a socket that never answers gives no event at all (no timeout)', async () => {
  const b = boardWith({}, '');
  b.net.blackhole = true;
  b.eval(`any=0;var q=require("http").get({host:"127.0.0.1",port:${port},path:"/h"},function(){any=1});q.on("error",function(){any=2});q.on("close",function(){any=3});`);
  await sleep(200);
  eq(b.eval('any'), 0);
});

test('heap: a download held in RAM past 64 KB runs out of memory and hangs', async () => {
  serve('/70k', (req, res) => { res.writeHead(200, { 'Content-Length': 70000 }); res.end('z'.repeat(70000)); });
  const b = boardWith({}, `buf="";require("http").get({host:"127.0.0.1",port:${port},path:"/70k"},function(r){
    r.on("data",function(d){buf+=d}); r.on("close",function(){done=1});});`);
  await until(() => b.hung, 3000, 'hang');
  ok(/out of memory/.test(b.hung), b.hung);
});

test('heap: the same download streamed piece by piece into Storage is fine', async () => {
  serve('/40k', (req, res) => { res.writeHead(200, { 'Content-Length': 40000 }); res.end('z'.repeat(40000)); });
  const b = boardWith({}, `var S=require("Storage"),o=0;require("http").get({host:"127.0.0.1",port:${port},path:"/40k"},function(r){
    r.on("data",function(d){if(o)S.write("dl",d,o);else S.write("dl",d,0,40000);o+=d.length}); r.on("close",function(){done=1});});`);
  await until(() => b.eval('typeof done') === 'number' || b.hung, 3000);
  eq(b.hung, null);
  eq(b.storage.read('dl'), 'z'.repeat(40000));
  ok(b.heapPeak <= 536 * 8, 'peak held ' + b.heapPeak);
});

test('E.ed25519verify exists only on a firmware with the verifier built in', () => {
  const b = boardWith({}, '');
  eq(b.eval('typeof E.ed25519verify'), 'undefined');
  const kp = crypto.generateKeyPairSync('ed25519');
  const pub = kp.publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const sig = crypto.sign(null, Buffer.from('msg'), kp.privateKey);
  const b2 = boardWith({ ed25519: true }, '');
  b2.eval(`pub=atob("${pub.toString('base64')}");sig=atob("${sig.toString('base64')}")`);
  eq(b2.eval('E.ed25519verify(sig,pub,"msg")'), true);
  eq(b2.eval('E.ed25519verify(sig,pub,"msh")'), false);
});

test('E.hwRand gives 32-bit randoms; btoa/atob are byte strings', () => {
  const b = boardWith({}, '');
  ok(b.eval('E.hwRand()!=E.hwRand()'));
  eq(b.eval('atob(btoa("\\xff\\x00a"))'), '\xff\x00a');
});

startServer().then(() => run('espruino-emu', process.argv[2])).finally(() => srv && srv.close());

// Probe run on the real Espruino interpreter (script mode, in a scratch
// board directory) by agent.test.js: every built-in device/espruino/ota.js
// (and the provisioning script, boot code) calls, with the behaviour the
// agent relies on.  Each check prints "P <name> <ok|BAD> <detail>".
// ES5 only: this runs on Espruino.
var S = require("Storage");
function P(n, c, d) { print("P " + n + " " + (c ? "ok" : "BAD") + " " + (d === undefined ? "" : d)); }
function thr(f) { try { f(); return ""; } catch (e) { return "" + e; } }
// timers
var u;
P("clearTimeout(undefined) throws", thr(function () { clearTimeout(u); }).indexOf("not allowed") >= 0);
P("clearInterval(undefined) throws", thr(function () { clearInterval(u); }).indexOf("not allowed") >= 0);
var t1 = setTimeout(function () {}, 1000);
P("timer ids are numbers >= 1", typeof t1 == "number" && t1 >= 1, t1);
clearTimeout(t1);
P("clearTimeout of a gone id is silent", thr(function () { clearTimeout(t1); clearTimeout(9999); }) === "");
// strings and bytes
P("String.fromCharCode.apply", String.fromCharCode.apply(null, [65, 0, 255]) == "A\0\xff");
P("charCodeAt of byte strings", "\xff".charCodeAt(0) == 255);
P("Number#toString(16)", (255).toString(16) == "ff" && (5).toString(16) == "5");
P("parseInt(hex, 16)", parseInt("0f", 16) == 15 && parseInt("ff", 16) == 255);
P("parseInt(decimal, 10) stops at a non-digit", parseInt("123-456/789", 10) == 123);
P("substr/substring/indexOf/lastIndexOf", "abcdef".substr(2, 2) == "cd" && "abcdef".substring(1, 3) == "bc" &&
  "a/b/c".indexOf("/", 2) == 3 && "a\nb\nc".lastIndexOf("\n") == 3);
P("toLowerCase", "Content-Range".toLowerCase() == "content-range");
P("atob", atob("QUJD") == "ABC" && atob("") === "" && atob("AP8=") == "\0\xff");
P("JSON round trip", JSON.stringify(JSON.parse('{"a":[1,{"b":"c"}],"n":9007199254740991}')) == '{"a":[1,{"b":"c"}],"n":9007199254740991}');
P("JSON.stringify escapes bytes >= 0x80", /^"[ -~]*"$/.test(JSON.stringify("\xe9\xff")), JSON.stringify("\xe9\xff"));
P("JSON.stringify omits undefined members", JSON.stringify({ a: 1, b: undefined }) == '{"a":1}');
P("JSON.parse throws on bad input", thr(function () { JSON.parse("{x"); }) !== "");
// regular expressions: only what the agent uses
P("RegExp /^[0-9a-f]*$/", /^[0-9a-f]*$/.test("09af") && !/^[0-9a-f]*$/.test("0g"));
P("RegExp /^[24]/ on a number", /^[24]/.test(204) && !/^[24]/.test(500));
P("RegExp replace /[^ -~]/g", "a\x01b\xffc".replace(/[^ -~]/g, "?") == "a?b?c");
P("RegExp has no ? quantifier (why URLs are split by hand)", /a(:8)?b/.exec("a:8b") === null);
// numbers
P("u32 arithmetic", (0xff | 0xff << 8 | 0xff << 16) + 0xff * 16777216 == 4294967295);
P("Math.pow/min/max/floor/random", Math.pow(2, 10) == 1024 && Math.min(1, 2) == 1 && Math.max(1, 2) == 2 &&
  Math.floor(2.7) == 2 && Math.random() < 1);
P("getTime() is a number", typeof getTime() == "number");
var h1 = E.hwRand(), h2 = E.hwRand();
P("E.hwRand() integers", typeof h1 == "number" && h1 !== h2, h1 + "," + h2);
// crypto
var d = require("crypto").SHA256("abc");
P("crypto.SHA256 -> 32 bytes via E.toString", E.toString(d).length == 32 &&
  E.toString(d).charCodeAt(0) == 0xba && E.toString(d).charCodeAt(31) == 0xad);
// Storage
S.erase("pr.a"); S.erase("pr.b");
P("Storage.write/read", S.write("pr.a", "hello") === true && S.read("pr.a") == "hello");
P("Storage.read of no file is undefined", S.read("pr.none") === undefined);
P("Storage.readJSON(name, 1) of no file", S.readJSON("pr.none", 1) === undefined);
P("Storage.write pre-allocates, unwritten bytes 0xFF", S.write("pr.b", "ab", 0, 6) && S.read("pr.b") == "ab\xff\xff\xff\xff");
P("Storage.write at an offset", S.write("pr.b", "cd", 2) && S.read("pr.b").indexOf("\xff") == 4);
P("Storage.write over written bytes throws", thr(function () { S.write("pr.b", "zz", 0 + 2); }).indexOf("already written") >= 0);
P("Storage.write past the size throws", thr(function () { S.write("pr.b", "zzz", 5); }).indexOf("Too much data") >= 0);
P("Storage.write offset 0 recreates", S.write("pr.b", "new") && S.read("pr.b") == "new");
var big = S.getFree() + 1024;
P("Storage.write larger than free space throws", thr(function () { S.write("pr.c", "x", 0, big); }) !== "");
S.erase("pr.b");
P("Storage.erase", S.read("pr.b") === undefined);
P("Storage.list(regex)", S.list(/^pr\./).join() == "pr.a");
P("Storage.getFree/compact", typeof S.getFree() == "number" && thr(function () { S.compact(); }) === "");
P("a 28-character name is kept", S.write("ota.a9007199254740991xxxxxxx", "n") && S.list(/^ota\.a9007/).length == 1);
S.erase("ota.a9007199254740991xxxxxxx"); S.erase("pr.a");
// objects, events
var x = {}; var r = (function () { try { return require("http").get; } catch (e) {} })();
P("require('http').get/request", typeof r == "function" && typeof require("http").request == "function");
P("require('dgram').createSocket", typeof require("dgram").createSocket == "function");
var sk = require("dgram").createSocket("udp4");
P("EventEmitter.on() returns undefined (never chain it)", sk.on("message", function () {}) === undefined);
sk.close();
P("process.on uncaughtException", typeof process.on == "function");
P("load is a function", typeof load == "function");
P("E.ed25519verify (signed tier) absent on stock firmware", typeof E.ed25519verify == "undefined");
// HTTP client, against the test's server on PORT (answers 206 with a
// mixed-case header, and keeps /stall open)
var pieces = 0, got = "";
P("a refused connection throws synchronously (Linux)", thr(function () {
  require("http").get({ host: "127.0.0.1", port: 1, path: "/" }, function () {});
}) !== "");
var rq = require("http").get({ host: "127.0.0.1", port: PORT, path: "/probe?x=1", headers: { Range: "bytes=5-" } }, function (res) {
  P("statusCode is a string", res.statusCode === "206", JSON.stringify(res.statusCode));
  var k, cr;
  for (k in res.headers) if (k.toLowerCase() == "content-range") cr = k;
  P("header names keep the server's case", cr === "Content-Range", cr);
  res.on("data", function (d) { pieces++; got += d; });
  res.on("close", function () {
    P("data then close", got == "0123456789" && pieces >= 1, pieces + " pieces");
    binary();
  });
});
// The compact form (FORMAT.md 6b) sends and receives raw bytes: every byte
// value, NUL and 0xFF included, must cross both ways unchanged.
function binary() {
  var all = "", i, body = "";
  for (i = 0; i < 256; i++) all += String.fromCharCode(i);
  require("http").get({ host: "127.0.0.1", port: PORT, path: "/bin" }, function (res) {
    res.on("data", function (d) { body += d; });
    res.on("close", function () {
      P("a binary body arrives byte for byte", body === all + all, body.length + " bytes");
      var echo = "", rq2 = require("http").request({ host: "127.0.0.1", port: PORT, path: "/echo", method: "POST",
        headers: { "Content-Length": all.length } }, function (r2) {
        r2.on("data", function (d) { echo += d; });
        r2.on("close", function () {
          var h = "";
          for (i = 0; i < 256; i++) h += (i < 16 ? "0" : "") + i.toString(16);
          P("a binary request body leaves byte for byte", echo === h, echo.length + " hex chars");
          print("PROBE END");
        });
      });
      rq2.end(all);
    });
  });
}
P("req.on is there for errors", typeof rq.on == "function");

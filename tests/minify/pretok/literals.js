// literals.js: values pretokenising must keep exactly (tests/minify/espruino-pretok.mjs).
// Strings with escapes (raw where shorter), binary bytes, UTF-8, \u escapes,
// regexes, template literals with keywords and strings inside ${}, integers
// around the raw-int limits, every reserved word and operator Espruino has a
// token for.
function hex(s) { var r = []; for (var i = 0; i < s.length; i++) r.push(s.charCodeAt(i)); return r.join(','); }
var strs = ["plain", 'single \'q\'', "tab\there\nnewline\r\\", "\x00\x01\x7f\x80\xff", "\0end",
  "\b\f\v", "\1\7\101\377\08\1234", "caf\u00e9", "café", "日本", "\x41\x42", "", "a\"b", '\u0041', "line\
cont"];
for (var i = 0; i < strs.length; i++) print(i, strs[i].length, hex(strs[i]));
var long = "0123456789\n".repeat(30);
print(long.length, hex(long.substr(0, 12)));
var nums = [0, 1, 9, 10, 99, 100, 127, 128, 255, 256, 1000, 32767, 32768, 65535, 100000, 0xff, 0x7FFF,
  0b101, 0o17, 1e3, 0.5, 1.5e2, .25, 2147483648, -5, -128, -129, -32768, 007 === 7 ? 1 : 2];
print(nums.join(' '));
print((100).toString(16), 1000..toString(2).length);
var re = [/a+b/g, /[\/]x/, /\d{3}/, /it's "x"/i];
for (var i = 0; i < re.length; i++) print(re[i].source, re[i].test("aab 123 [/]x it's \"X\""));
var x = 5, y = "yes";
print(`t ${x} ${typeof x} ${x > 3 ? "big" : 'small'} ${`in${y}`} \n end`);
print(`plain template \x41`);
var o = { if: 1, default: 2, of: 3, static: 4, "a\nb": 5, undefined: 6, in: 7 };
print(o.if + o.default + o.of + o.static + o["a\nb"] + o.undefined + o.in, "in" in o);
var a = 12, b = 3;
a += 1; a -= 1; a *= 2; a /= 2; a %= 100; a <<= 2; a >>= 1; a >>>= 1; a &= 255; a |= 1; a ^= 2;
print(a, a == b, a === b, a != b, a !== b, a <= b, a >= b, a << 1, a >> 1, -a >>> 28,
  a && b, a || b, null ?? "d", b++, b--, ++b, --b, a - -b, a + +b);
var f = (p, q) => p * q;
print(f(6, 7), void 0, typeof undefined, null, true, false, this === undefined);
class C extends Array { static s() { return "st"; } constructor() { super(); this.k = 1; } }
print(C.s(), new C().k, new C() instanceof Array);
for (var k of [1, 2]) print("of", k);
do { x--; if (x == 3) continue; if (x < 2) break; } while (true);
switch (x) { case 1: print("one"); break; default: print("dflt"); }
try { throw new Error("boom"); } catch (e) { print("caught", e.message); } finally { print("fin"); }
let l = 1; const c = 2; print(l + c, delete o.if, o.if);
if (x) print("x"); else print("not x");
var img = atob("AAEC/wBB"), txt = atob("aGVsbG8=");
print(img.length, hex(img), txt, atob("QUJD") + atob("QQ=="));
print("end");

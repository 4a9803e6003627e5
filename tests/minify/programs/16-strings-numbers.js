// Literal text: escapes, octal, line continuation, numbers, unary minus, HTML-like comments.
var s1 = "\xF9\xF0", s2 = "°C", s3 = "\u00b0", s4 = "ab\
cd", s5 = "\101\0" + "1", s6 = "</script>", s7 = 'single \'q\' "d"';
console.log(s1.length, s1.charCodeAt(0), s2.length, s3 === "°", s4, s5.length, s5.charCodeAt(1), s6, s7);
var x1 = 1..toString(), x2 = 1 .toString(), x3 = 0x10.toString(), x4 = 1e3 in { 1000: 1 }, x5 = .5 + 5.;
console.log(x1, x2, x3, x4, x5, 0o17, 0b101, 017, 1e-7, 1_000, 0.1 + 0.2);
var a = 10, b = 3;
console.log(a - -b, a + +b, a - --b, b, a++ + b, a, a + ++b, b, - -a, +-a, -(-a));
var y = a < !--b;
var z = a-- > b;
console.log(y, z, a, b);
var w = 1 <!-- this is a comment in scripts
+ 1;
console.log(w);
var q = 2;
--> this whole line is a comment too
console.log(q, "\t\v\f".length, "\u{1F600}".length, 'a\
b'.length);
var big = 12345678901234567890n;
console.log(String(big * 2n), typeof big);

// Operators: typeof, instanceof, in, void, delete, comma, exponent, ?., ??.
var o = { a: 1, nested: { b: null }, fn() { return "fn"; } };
console.log(typeof o, typeof undefinedName, o instanceof Object, "a" in o, "z" in o);
console.log(void 0, (1, 2, 3), delete o.a, "a" in o);
console.log(2 ** 10, (-2) ** 3, 2 ** -1);
console.log(o?.nested?.b, o.missing?.deep, o.fn?.(), o.nofn?.(), o?.["nested"]);
console.log(null ?? "dflt", 0 ?? "dflt", 0 || "dflt", "" && "x");
var a = 5, b = 3;
a += 2; b **= 2; a >>= 1; b ^= 1; a ||= 9; b &&= 4;
var c = null; c ??= "set";
console.log(a, b, c, a >>> 1, ~a, !a, !!a, a % 2, -a % 2);
console.log(1 < 2 < 3, 3 > 2 > 1, "10" < "9", 10 < 9, [] + {}, [1] == 1, null == undefined, NaN !== NaN);
var x = 0;
var y = (x++, x++, x);
console.log(x, y, typeof typeof x, !function () {}(), +new Date(0));
var cond = a > 3 ? b > 3 ? "both" : "a" : "none";
console.log(cond, a instanceof Number, new Number(a) instanceof Number);

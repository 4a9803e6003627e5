// Regular expressions vs division.
var s = "a1b22c333", b = 10, c = 2, d = 5, re = { source: "xyz" };
var a = b / c / d;
console.log(a, /=+/g.test("=="), b / /re/.source.length);
if (s) /^a/.test(s) && console.log("starts with a");
var x = (b) / 2 / (c);
function f() {}
/foo/g.exec("foo");
console.log(x, {} / 1, /[/]/.test("/"), /[\]/]+/.exec("a]/b")[0]);
function digits(str) { return /\d+/g.exec(str)[0]; }
console.log(digits(s), s.replace(/(\d)(\d*)/g, function (m, first, rest) { return "<" + first + rest.length + ">"; }));
var y = 4, g = 2;
var r = y
/g/1;
console.log(r);
var counter = 1;
var z = counter++ / 2;
console.log(z, counter);
console.log("a.b.c".split(/\./).length, /^(?:[a-z]+)\/\*$/i.test("ab/*"), String(/a\/b/), /x/y.sticky);
var tpl = `${/re}/.source}`;
console.log(tpl, 1 /* c */ / 1, typeof /r/);

// Espruino edges (issue 11, minify-cases.md 64-78): every kind of function
// body ending in `return;`, `return value;`, a nested `return;`, a body that
// is only `return;`, other last statements, and a kept line break.  Written
// for Espruino 2v29; every function is called.
var log = [];
function g(x) { log.push(x); }
function declEnd(a) { g("declEnd" + a); return; }
function declNested(a) { if (a) return; g("declNested"); }
function declElse(a) { if (a) g("declElse"); else return; }
function declWhile(a) { while (a) return; }
function declFor(a) { for (;;) return; }
function declOnly() { return; }
function declBlock(a) { if (a) { return; } }
function declSwitch(a) { switch (a) { case 1: return; } }
function declValue(a) { g("declValue"); return a + 1; }
function declOther(a) { while (a > 0) a--; }
function declNewline(a) { g("nl" + a)
  return; }
var expr = function (a) { g("expr" + a); return; };
var named = function self(a) { if (a > 0) return self(a - 1); g("named"); return; };
var arrow = (a) => { g("arrow" + a); return; };
var arrowExpr = (a) => a * 2;
var obj = {
  m(a) { g("method" + a); return; },
  get p() { g("getter"); return; },
  set p(v) { if (v) return; g("setter"); },
  q: function (a) { g("prop" + a); return; }
};
class A {
  constructor(a) { this.a = a; g("ctor" + a); return; }
  m() { g("A.m" + this.a); return; }
  get v() { g("A.get"); return; }
  set v(x) { g("A.set" + x); return; }
  static s() { g("A.s"); return; }
}
class B extends A {
  constructor(a) { super(a + 1); g("B.ctor"); return; }
  m() { super.m(); g("B.m"); return; }
}
class C { m() { g("C.m"); }; n() { g("C.n"); return; }; }
function doWhile(a) { do a--; while (a > 0); g("doWhile" + a); }
function outer(a) {
  function inner(b) { g("inner" + b); return; }
  var innerArrow = () => { inner(a); return; };
  innerArrow();
  return;
}
declEnd(1); declNested(0); declNested(1); declElse(1); declElse(0); declWhile(1); declWhile(0);
declFor(0); declOnly(); declBlock(1); declBlock(0); declSwitch(1); declSwitch(2);
g(declValue(4)); declOther(3); declNewline(5);
expr(6); named(2); arrow(7); g(arrowExpr(8));
obj.m(9); g(obj.p); obj.p = 1; obj.p = 0; obj.q(10);
var a = new A(11); a.m(); g(a.v); a.v = 12; A.s();
var b = new B(13); b.m();
outer(14);
new C().m(); new C().n(); doWhile(3);
console.log(log.join(" "));
setTimeout(function () { console.log("timer ran"); return; }, 1);

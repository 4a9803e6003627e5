// Every kind of function body Espruino 2v29 runs, each called: nested
// closures, recursion, callbacks, IIFEs, methods, getters/setters, arrows
// (block and expression), classes with inheritance, static members and
// fields (2v22+), `this`, `arguments`, and bodies that start with `return`.
var out = [];
function say() { var s = []; for (var i = 0; i < arguments.length; i++) s.push(arguments[i]); out.push(s.join(",")); }
function counter(start) {
  var n = start;
  return {
    inc: function () { n++; return this; },
    get value() { return n; },
    set value(v) { n = v; },
    twice() { this.inc(); return this.inc(); }
  };
}
var c = counter(5);
c.inc().twice();
say("counter", c.value);
c.value = 100;
say("counter set", c.value);
function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }
say("fact", fact(6));
var fib = function f(n) { if (n < 2) return n; return f(n - 1) + f(n - 2); };
say("fib", fib(10));
var sq = [1, 2, 3].map(function (x) { return x * x; });
var tr = [1, 2, 3].map((x) => x * 3);
var su = [1, 2, 3].reduce((a, x) => { var t = a + x; return t; }, 0);
say("arrays", sq.join("+"), tr.join("+"), su);
[4, 5].forEach(function (x, i) { say("each", x, i); });
var r = (function (a, b) { return a + b; })(2, 3);
say("iife", r);
(function () { say("iife2", typeof arguments, arguments.length); })(1, 2);
function makeAdder(a) { return function (b) { return function (c) { return a + b + c; }; }; }
say("curry", makeAdder(1)(2)(3));
var self = { name: "obj", arrow: function () { var f = () => this.name; return f(); } };
say("this", self.arrow());
class Animal {
  constructor(name) { this.name = name; }
  speak() { return this.name + " makes a sound"; }
  get upper() { return this.name.toUpperCase(); }
  set rename(v) { this.name = v; }
  static kind() { return "animal"; }
}
class Dog extends Animal {
  constructor(name) { super(name); this.tricks = 0; }
  speak() { return super.speak() + " (woof)"; }
  learn() { this.tricks++; return this; }
  static kind() { return "dog"; }
}
var d = new Dog("rex");
d.learn().learn();
d.rename = "max";
say("class", d.speak(), d.upper, d.tricks, Dog.kind(), Animal.kind(), d instanceof Animal);
class WithField { x = 4; static y = 7; get sum() { return this.x + WithField.y; } }
say("fields", new WithField().sum);
function hoisted() { function later() { return "later"; } return later(); }
say("hoisted", hoisted());
function args() { var s = 0; for (var i = 0; i < arguments.length; i++) s += arguments[i]; return s; }
say("args", args(1, 2, 3, 4));
function onlyReturn() { return; }
function onlyReturnValue() { return 42; }
function returnThenMore() { return 1; }
say("returns", onlyReturn(), onlyReturnValue(), returnThenMore());
var ops = { add: (a, b) => a + b, mul: (a, b) => { return a * b; } };
say("ops", ops.add(2, 3), ops.mul(2, 3));
try { (function () { throw new Error("boom"); })(); } catch (e) { say("caught", e.message); }
var sorted = [3, 1, 2].sort(function (a, b) { return a - b; });
say("sorted", sorted.join(""));
var t = 0;
var iv = setInterval(function () { t++; if (t === 3) { clearInterval(iv); done(); } }, 1);
function done() { say("interval", t); console.log(out.join("\n")); }

// Named function expressions: recursion, immutable name, shadowing.
var fact = function factorial(n) { return n <= 1 ? 1 : n * factorial(n - 1); };
console.log(fact(10), typeof factorial);
var outerName = "outer";
var g = function outerName() { return typeof outerName; };
console.log(g(), outerName);
var h = function self() { self = 5; return typeof self; };
console.log(h());
var counter = (function tick(n) { return n > 0 ? tick(n - 1) + 1 : 0; })(7);
console.log(counter);
var shadowed = function inner(inner) { return inner; };
console.log(shadowed("param wins"));
var withVar = function named() { var named = "var wins"; return named; };
console.log(withVar());
var obj = {
  method: function method() { return typeof method; },
  arrow: () => typeof arrowName,
};
console.log(obj.method(), obj.arrow());
var fibs = [];
(function fill(i, a, b) { if (i < 10) { fibs.push(a); fill(i + 1, b, a + b); } })(0, 0, 1);
console.log(fibs.join(","));

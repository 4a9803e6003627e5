// Closures: counters, IIFEs, captured loop variables (var vs let).
var makeCounter = function (start, step) {
  var count = start;
  function next() { count += step; return count; }
  function reset() { var old = count; count = start; return old; }
  return { next: next, reset: reset, get current() { return count; } };
};
var c1 = makeCounter(10, 5), c2 = makeCounter(0, -1);
c1.next(); c1.next(); c2.next();
console.log(c1.current, c2.current, c1.reset(), c1.current);

var fns = [];
for (var i = 0; i < 3; i++) fns.push(function () { return i; });
var fns2 = [];
for (let j = 0; j < 3; j++) fns2.push(function () { return j; });
console.log(fns.map(function (f) { return f(); }).join(","), fns2.map((f) => f()).join(","));

var total = (function (a, b, c) {
  var inner = function (x) { return function (y) { return x * y + a; }; };
  return inner(b)(c);
})(1, 2, 3);
console.log("total", total);

function compose() {
  var list = Array.prototype.slice.call(arguments);
  return function (value) {
    for (var k = list.length - 1; k >= 0; k--) value = list[k](value);
    return value;
  };
}
var addOne = function (n) { return n + 1; }, twice = function (n) { return n * 2; };
console.log(compose(addOne, twice)(5), compose(twice, addOne)(5));

function memo(fn) {
  var cache = {};
  return function (n) {
    if (n in cache) return cache[n];
    var result = fn(n);
    cache[n] = result;
    return result;
  };
}
var fib = memo(function (n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); });
console.log("fib", fib(50));

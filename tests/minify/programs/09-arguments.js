// The arguments object: length, aliasing in sloppy mode, arrows.
function count() { return arguments.length; }
console.log(count(), count(1, 2, 3), count(undefined));
function alias(a, b) {
  arguments[0] = "changed";
  b = "also";
  return [a, arguments[1]].join(",");
}
console.log(alias("x", "y"));
function strictAlias(a) {
  "use strict";
  arguments[0] = "changed";
  return a;
}
console.log(strictAlias("orig"));
function outer() {
  var arrow = () => arguments[0] + arguments.length;
  return arrow("ignored");
}
console.log(outer(40, 1));
function sum() {
  var total = 0;
  for (var idx = 0; idx < arguments.length; idx++) total += arguments[idx];
  return total;
}
console.log(sum(1, 2, 3, 4), sum.apply(null, [5, 6]));
function variadic(first) {
  var rest = Array.prototype.slice.call(arguments, 1);
  return first + ":" + rest.join("+");
}
console.log(variadic("head", 1, 2, 3));
function shadowArgs(arguments) { return arguments; }
console.log(shadowArgs("param named arguments"));
function calleeLen() { return arguments.callee.length; }
console.log(calleeLen(1, 2));

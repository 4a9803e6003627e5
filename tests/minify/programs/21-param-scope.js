// Parameter scope: with default values, the body's declarations are not visible
// to the parameter list, and a body var named like a parameter starts with its value.
var b = "outer";
function f(a = b) { var b = "inner"; return a + "/" + b; }
function g(a = 1) { var a; return a; }
function h(x, { y } = { y: x }) { var x; return x + y; }
function seesOuterFn(a = typeof inner) { function inner() {} return a; }
function defaultArgs(a = arguments.length) { return a; }
function chain(a, c = a + 1, d = () => a + c) { return [a, c, d()].join(","); }
console.log(f(), g(), g(7), h(3), seesOuterFn(), defaultArgs(undefined, 2, 3), chain(1));
var c = "outerC";
var arrow = (a = c) => { var c = "innerC"; return a + c; };
var obj = { m(a = c, g = () => c) { var c = 1; return a + g() + c; } };
function argsVar(a = 0) { var arguments; return arguments.length + a; }
function usesOuterLetter(p = typeof e) { var q = 2, r = 3, s = 4; return p + q + r + s; }
var e = 5;
function fnParam(x = 1) { function x() {} return typeof x; }
console.log(arrow(), obj.m(), argsVar(undefined, 1), usesOuterLetter(), fnParam());

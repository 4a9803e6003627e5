// known-open(mangle): otasign resolves parameter default expressions in the body's scope (renames an outer name to a body var's name)
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

// Local names the mangler renames, on Espruino 2v29: many locals, nested
// closures over outer locals, shadowing, parameters named like outer
// variables, catch parameters, let/const in blocks and loops, named function
// expressions, var hoisting, globals that must keep their names, and
// `arguments`.  Every function is called.
var total = 0;
function bump(n) { total += n; return total; }
function many(alpha, beta, gamma) {
  var delta = alpha + beta, epsilon = beta * gamma, zeta = delta - epsilon;
  var eta = [alpha, beta, gamma, delta, epsilon, zeta];
  var theta = 0, iota, kappa = "k", lambda = { mu: 1, nu: 2 };
  for (var i = 0; i < eta.length; i++) theta += eta[i];
  iota = theta * 2;
  function inner(alpha) { return alpha + delta + lambda.mu + kappa.length; }
  var shadow = function (beta) { var gamma = beta * 10; return gamma + alpha; };
  return [theta, iota, inner(100), shadow(7), lambda.nu].join("/");
}
function counterFactory() {
  var count = 0;
  function incr(step) { count += step; return count; }
  function decr(step) { count -= step; return count; }
  return { up: incr, down: decr, get now() { return count; } };
}
function blocks(x) {
  let a = 1;
  const b = 2;
  {
    let a = 10;
    const c = a + b;
    x += c;
  }
  if (x > 5) {
    let d = x * a;
    x = d + b;
  }
  return x + a;
}
function loops() {
  var fns = [];
  for (let i = 0; i < 3; i++) {
    const j = i * 2;
    fns.push(function () { return j; });
  }
  var s = "";
  for (var k = 0; k < fns.length; k++) s += fns[k]();
  return s;
}
function errors(v) {
  try {
    if (v) throw new Error("bad " + v);
    return "fine";
  } catch (problem) {
    var msg = problem.message;
    return "caught:" + msg;
  } finally {
    bump(1);
  }
}
var fact = function recur(n) { return n < 2 ? 1 : n * recur(n - 1); };
function hoist() {
  early = 5;
  var result = early * 2;
  var early;
  return result;
}
function withArgs(first) {
  var rest = [];
  for (var q = 1; q < arguments.length; q++) rest.push(arguments[q]);
  return first + ":" + rest.join(",");
}
function globalsKept() {
  globalFromFunction = "set in a function";
  return typeof globalFromFunction;
}
function deep(level1) {
  return (function (level2) {
    return (function (level3) {
      return ((level4) => level1 + level2 + level3 + level4)(4);
    })(3);
  })(2);
}
var c = counterFactory();
c.up(5); c.down(2); c.up(10);
console.log(many(1, 2, 3));
console.log(c.now, blocks(1), blocks(9), loops());
console.log(errors(0), errors("x"), total);
console.log(fact(5), hoist(), withArgs("a", 1, 2, 3), globalsKept(), globalFromFunction);
console.log(deep(1), bump(0));

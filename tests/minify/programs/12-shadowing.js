// Shadowing, and globals whose names a mangler would like to use.
var a = "global a", b = "global b", e = "global e", t = "global t", n = "global n", r = "global r";
function usesGlobals(first, second, third, fourth) {
  var sum = first + second + third + fourth;
  var x1 = 1, x2 = 2, x3 = 3, x4 = 4, x5 = 5, x6 = 6;
  return [sum, x1 + x2 + x3 + x4 + x5 + x6, a, b, e, t, n, r].join(";");
}
console.log(usesGlobals(1, 2, 3, 4));
function shadow(a) {
  var result = [a];
  (function () {
    var a = "inner";
    result.push(a, b);
    (function (b) { result.push(a, b); })("param b");
  })();
  {
    let a = "block a";
    result.push(a);
  }
  result.push(a);
  return result.join(",");
}
console.log(shadow("arg"));
function deep() {
  var level = 0, names = [];
  function one() {
    var level = 1;
    function two() {
      var level = 2;
      names.push(level);
      return function () { return level + 1; };
    }
    names.push(level);
    return two();
  }
  names.push(level);
  var three = one()();
  return names.concat(three).join("");
}
console.log(deep());
var sameName = "outer";
function param(sameName) { return sameName; }
function noParam() { return sameName; }
console.log(param("param"), noParam());
function catchShadow() {
  var err = "var err";
  try { throw "thrown"; } catch (err) { var seen = err; }
  return seen + "/" + err;
}
console.log(catchShadow());
function manyLocals() {
  var alpha = 1, beta = 2, gamma = 3, delta = 4, epsilon = 5, zeta = 6, eta = 7, theta = 8;
  var iota = 9, kappa = 10, lambda = 11, mu = 12, nu = 13, xi = 14, omicron = 15, pi = 16;
  function inner(rho, sigma) { return rho * sigma + alpha + pi + a.length; }
  return inner(beta + gamma, delta + epsilon) + zeta + eta + theta + iota + kappa + lambda + mu + nu + xi + omicron;
}
console.log(manyLocals());

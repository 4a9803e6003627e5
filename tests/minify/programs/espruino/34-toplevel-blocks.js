// Top-level blocks, as Bangle.js apps wrap themselves for "fast load": their
// let/const are block scoped on Espruino 2v14+ (jsparse.c jspeStatementVar),
// so `otasign minify` renames them (target 2v29); class and function
// declarations inside them are globals on Espruino (jspeStatementFunctionDecl)
// and keep their names, as do let/const in a switch body (no block there).
// Written for Espruino 2v29; every function is called.
var out = [];
var G = 7;
{
  let counter = 0, total = 0;
  const STEP = 3;
  let draw = function (times) {
    for (let i = 0; i < times; i++) { counter++; total += STEP * i; }
    return counter + "/" + total;
  };
  let nested = function () {
    const inner = function (v) { return v + STEP + G; };
    return inner(counter);
  };
  class Shape { constructor(n) { this.n = n; } area() { return this.n * STEP; } }
  function blockFn() { return "blockFn" + counter; }
  out.push(draw(2), draw(3), nested(), new Shape(4).area(), blockFn());
  {
    let counter = 100;
    const deeper = function () { return counter + STEP; };
    out.push(deeper());
  }
  out.push(counter);
  switch (G) {
    case 7: let viaSwitch = "sw" + counter; out.push(viaSwitch); break;
    default: out.push("none");
  }
  out.push(typeof viaSwitch);
  for (let k = 0; k < 2; k++) { const sq = k * k; out.push(sq); }
  setTimeout(function () { print("LATER " + draw(1) + " " + nested()); }, 10);
}
for (let t = 0; t < 2; t++) out.push("t" + t);
print(out.join(","));
print(typeof Shape, typeof blockFn, typeof counter, typeof draw);

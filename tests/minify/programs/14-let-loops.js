// let/const in loops and blocks; switch with lexical declarations.
var fns = [];
for (let i = 0; i < 3; i++) { let sq = i * i; fns.push(() => i + ":" + sq); }
console.log(fns.map((f) => f()).join(" "));
var keys = [];
for (const k in { a: 1, b: 2, c: 3 }) keys.push(() => k);
console.log(keys.map((f) => f()).join(""));
var vals = [];
for (const [idx, v] of [[0, "x"], [1, "y"]]) vals.push(idx + v);
console.log(vals.join(","));
function siblingBlocks() {
  var out = [];
  { let first = 1; out.push(first); }
  { let second = 2; out.push(second); }
  { const third = 3; out.push(third); }
  for (let m = 0; m < 2; m++) { let inner = m * 10; out.push(inner); }
  for (let m = 5; m < 6; m++) out.push(m);
  return out.join(",");
}
console.log(siblingBlocks());
function sw(v) {
  switch (v) {
    case 1: { let msg = "one"; return msg; }
    case 2: let two = "two"; return two;
    default: { const msg = "other"; return msg + v; }
  }
}
console.log(sw(1), sw(2), sw(3));
function whileLet() {
  let n = 3, acc = [];
  while (n--) { let copy = n; acc.push(() => copy); }
  return acc.map((f) => f()).join("");
}
console.log(whileLet());
let topLet = "top";
const topConst = { v: 1 };
{ let topLet = "shadowed"; console.log(topLet); }
console.log(topLet, topConst.v);

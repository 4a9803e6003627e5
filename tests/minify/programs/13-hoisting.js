// Hoisting: functions, vars, block functions (Annex B), temporal dead zone.
console.log(typeof hoisted, typeof hoistedVar, hoisted());
function hoisted() { return "hoisted works"; }
var hoistedVar = 1;
function blockFunctions(flag) {
  var before = typeof inBlock;
  if (flag) {
    function inBlock() { return "from block"; }
  }
  return before + "," + (typeof inBlock === "function" ? inBlock() : typeof inBlock);
}
console.log(blockFunctions(true), blockFunctions(false));
function tdz() {
  try { useIt(); } catch (err) { return err instanceof ReferenceError; }
  let value = 1;
  function useIt() { return value; }
  return "no error";
}
console.log(tdz());
function varInLoop() {
  for (var k = 0; k < 2; k++) { var last = k; }
  return [k, last].join(",");
}
console.log(varInLoop());
function redeclare() {
  var r = 1;
  var r;
  function r2() {}
  var r2;
  return [r, typeof r2].join(",");
}
console.log(redeclare());
function funcInFunc() {
  return helper(2);
  function helper(v) { return v * local; }
  var local = 10;
}
console.log(funcInFunc());
var order = [];
function callLater() { order.push("later"); }
callLater();
console.log(order.join(""));

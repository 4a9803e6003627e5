// Direct eval sees (and can declare) local names; indirect eval is global.
var globalName = "global";
function useEval(code) {
  var localName = "local";
  var counter = 1;
  return eval(code);
}
console.log(useEval("localName + ':' + counter"), useEval("typeof globalName"));
function evalDeclares() {
  var before = typeof declared;
  eval("var declared = 42");
  return before + "," + declared;
}
console.log(evalDeclares());
function outerOfEval() {
  var captured = "captured";
  function inner() {
    var own = "own";
    return eval("captured + '/' + own");
  }
  return inner();
}
console.log(outerOfEval());
function indirect() {
  var localName = "should not be seen";
  var ev = eval;
  return ev("typeof localName");
}
console.log(indirect());
function notEvalScope(value) {
  var doubled = value * 2;
  var helper = function (n) { return n + doubled; };
  return helper(1);
}
console.log(notEvalScope(5));
function evalInBlock() {
  var k = 1;
  {
    let blockVar = 5;
    k = eval("blockVar + k");
  }
  return k;
}
console.log(evalInBlock());
console.log(new Function("a", "b", "return a * b")(6, 7));

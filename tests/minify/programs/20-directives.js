// Directives: "use strict" and Espruino's "jit"/"ram" must be kept, with their effect.
function sloppy() { return this === undefined ? "undefined this" : typeof this; }
function strict() { "use strict"; return this === undefined ? "undefined this" : typeof this; }
console.log(sloppy(), strict());
function jit() { "jit"; return 1 + 1; }
function ram() { 'ram'
  return "ram"; }
function notDirective() { var s = "use strict"; return this === undefined; }
console.log(jit(), ram(), notDirective());
function strictAssign() {
  "use strict";
  try { undeclaredVariable = 1; return "no error"; } catch (err) { return err.name; }
}
console.log(strictAssign());
function directiveThenCode() {
  "use strict"
  ;[1, 2].forEach(function () {})
  return (function () { return this; })() === undefined;
}
console.log(directiveThenCode());
var completion = eval("var q = 1; if (q) { 'yes' } else { 'no' }");
console.log(completion);
var calleeFn = function () { "use strict"; return typeof arguments.callee === "function"; };
console.log(calleeFn.toString().length > 0);
try { console.log("callee", calleeFn()); } catch (err) { console.log("callee threw", err.name); }

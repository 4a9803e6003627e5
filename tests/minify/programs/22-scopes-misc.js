// Scoping corners: block classes, Annex B functions, catch var, captures, method names,
// patterns, arrows and arguments, many locals (two-letter names), eval in an arrow,
// with in a nested function, loop shadowing, labels named like variables.
var out = [];
var g = "global g", m = "outer m", x2 = "outer x2";
function classes() {
  var r = [];
  { class A { static who() { return A.name2; } } A.name2 = "A1"; r.push(A.who()); }
  { class B { me() { return B; } } r.push(new B().me() === B); }
  var C = class Inner { static self() { return Inner; } };
  r.push(C.self() === C);
  return r.join(",");
}
out.push(classes());
function annexB() {
  var r = [typeof later];
  { function later() { return "later"; } }
  r.push(later());
  if (true) function single() { return "single"; }
  r.push(single());
  return r.join(",");
}
out.push(annexB());
function catchVar() {
  try { throw "t"; } catch (e) { var e = "reassigned"; var seen = e; }
  return seen + "/" + e;
}
out.push(catchVar());
function capture() {
  var x = g;
  function h() { var g = 1; return x + g; }
  return h();
}
out.push(capture());
function methodName() {
  var o = { m() { return m; }, g: function () { return g; } };
  return o.m() + "|" + o.g();
}
out.push(methodName());
function patterns(o) {
  var a, b;
  ({ a = 1, b } = o);
  var [p = a, { q = b } = {}] = [];
  return [a, b, p, q].join(",");
}
out.push(patterns({ b: 2 }));
function arrows() {
  var self = () => arguments.length;
  var nested = () => () => arguments[0];
  return self() + nested()();
}
out.push(arrows("A", "B"));
function many() {
  var v00=0,v01=1,v02=2,v03=3,v04=4,v05=5,v06=6,v07=7,v08=8,v09=9,v10=10,v11=11,v12=12,v13=13,v14=14,v15=15,v16=16,v17=17,v18=18,v19=19;
  var v20=20,v21=21,v22=22,v23=23,v24=24,v25=25,v26=26,v27=27,v28=28,v29=29,v30=30,v31=31,v32=32,v33=33,v34=34,v35=35,v36=36,v37=37,v38=38,v39=39;
  var v40=40,v41=41,v42=42,v43=43,v44=44,v45=45,v46=46,v47=47,v48=48,v49=49,v50=50,v51=51,v52=52,v53=53,v54=54,v55=55,v56=56,v57=57,v58=58,v59=59;
  var v60=60,v61=61,v62=62,v63=63,v64=64,v65=65,v66=66,v67=67,v68=68,v69=69,v70=70,v71=71,v72=72,v73=73,v74=74,v75=75,v76=76,v77=77,v78=78,v79=79;
  var w=[v00,v01,v02,v03,v04,v05,v06,v07,v08,v09,v10,v11,v12,v13,v14,v15,v16,v17,v18,v19,v20,v21,v22,v23,v24,v25,v26,v27,v28,v29,v30,v31,v32,v33,v34,v35,v36,v37,v38,v39];
  var w2=[v40,v41,v42,v43,v44,v45,v46,v47,v48,v49,v50,v51,v52,v53,v54,v55,v56,v57,v58,v59,v60,v61,v62,v63,v64,v65,v66,v67,v68,v69,v70,v71,v72,v73,v74,v75,v76,v77,v78,v79];
  return w.concat(w2).reduce(function (s, v) { return s + v; }, 0) + typeof NaN + typeof Infinity + typeof undefined;
}
out.push(many());
function evalArrow(x) { var y = 2; return (() => eval("x + y"))(); }
out.push(evalArrow(40));
function withNested(o) {
  var hidden = "hidden";
  return (function () { with (o) { return hidden; } })();
}
out.push(withNested({}), withNested({ hidden: "prop" }));
function loopShadow() {
  var r = [];
  for (let i = 0; i < 2; i++) { let i2 = i; { let i = "inner" + i2; r.push(i); } }
  return r.join(",");
}
out.push(loopShadow());
var fe = function g2() { var g2 = 1; return g2; };
out.push(fe());
function labelsAndVars() { var outer = 0; outer: for (;;) { outer++; if (outer > 2) break outer; } return outer; }
out.push(labelsAndVars());
function switchLet(v) { switch (v) { case 1: let t = "one"; return t; default: return "d"; } }
out.push(switchLet(1));
function getterParams() { var o = { set v(val) { this._v = val * 2; }, get v() { return this._v; } }; o.v = 21; return o.v; }
out.push(getterParams());
function typeofUndeclared() { var a1 = 1, a2 = 2; return typeof e + typeof t + typeof n + (a1 + a2); }
out.push(typeofUndeclared());
function blockFnOuterLet() { let f = "let f"; { function f() {} } return typeof f; }
out.push(blockFnOuterLet());
console.log(out.join("\n"));

// with statements (sloppy mode): names inside may be properties.
function area(shape) {
  var width = 100, height = 100, unused = 0;
  with (shape) {
    return width * height;
  }
}
console.log(area({ width: 2, height: 3 }), area({ width: 4 }), area({}));
function assignThrough(target) {
  var label = "local";
  with (target) {
    label = "assigned";
  }
  return label + "/" + target.label;
}
console.log(assignThrough({ label: "prop" }), assignThrough({}));
function declareInWith(o) {
  with (o) {
    var v = "through with";
  }
  return [typeof v, o.v].join(",");
}
console.log(declareInWith({ v: 1 }), declareInWith({}));
function nestedFn(o) {
  var outerVar = "outer";
  with (o) {
    var f = function (param) { var own = param + 1; return own + outerVar; };
  }
  return f(1);
}
console.log(nestedFn({}), nestedFn({ outerVar: "from object" }));
var Math2 = { PI: 3, max: function () { return "fake max"; } };
with (Math2) console.log(PI, max(1, 2));

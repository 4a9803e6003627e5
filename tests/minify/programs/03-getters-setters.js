// Accessors in object literals, get/set/static as ordinary names.
var temperature = {
  _c: 20,
  get celsius() { return this._c; },
  set celsius(v) { this._c = v; },
  get fahrenheit() { return this._c * 9 / 5 + 32; },
  set fahrenheit(f) { this._c = (f - 32) * 5 / 9; }
};
temperature.fahrenheit = 212;
console.log(temperature.celsius, temperature.fahrenheit);
var get = 1, set = 2, of = 3;
var obj = { get: get, set: set, of: of, static: 4, get get2() { return get + set; } };
console.log(obj.get, obj.set, obj.of, obj.static, obj.get2);
function withStatus() {
  var status = "idle";
  var o = { get status() { return status; }, set status(s) { status = s.toUpperCase(); } };
  o.status = "busy";
  return o.status + "/" + status;
}
console.log(withStatus());
var counter = Object.defineProperty({}, "n", {
  get: (function () { var calls = 0; return function () { return ++calls; }; })(),
  enumerable: false
});
console.log(counter.n, counter.n, Object.keys(counter).length);
var keys = { "quoted key": 1, 2: "two", 0x10: "sixteen", 1e3: "thousand", 'single': 5 };
console.log(JSON.stringify(keys));

// An Espruino-style app: constructor functions with prototype methods, event
// emitters (.on/.emit), promises, timer chains, array and string callbacks,
// JSON with a replacer, typed arrays, switch dispatch and a state machine.
// Every function is called; the output is printed when the last timer fires.
var lines = [];
function log() { var s = []; for (var i = 0; i < arguments.length; i++) s.push(arguments[i]); lines.push(s.join(" ")); }
function Sensor(name, base) {
  this.name = name;
  this.base = base;
  this.readings = [];
}
Sensor.prototype.read = function (t) {
  var v = this.base + Math.round(Math.sin(t) * 10);
  this.readings.push(v);
  this.emit("reading", v);
  return v;
};
Sensor.prototype.average = function () {
  if (!this.readings.length) return 0;
  return this.readings.reduce(function (a, b) { return a + b; }, 0) / this.readings.length;
};
Sensor.prototype.toString = function () { return "Sensor(" + this.name + ")"; };
var temp = new Sensor("temp", 20);
temp.on("reading", function (v) { if (v > 25) log("hot", v); });
for (var t = 0; t < 6; t++) temp.read(t);
log(String(temp), temp.average().toFixed(2));
var state = "idle";
function step(event) {
  switch (state) {
    case "idle": if (event === "start") state = "running"; break;
    case "running":
      if (event === "pause") state = "paused";
      else if (event === "stop") state = "idle";
      break;
    case "paused": state = event === "resume" ? "running" : state; break;
    default: state = "error";
  }
  return state;
}
log(["start", "pause", "resume", "stop", "bogus"].map(step).join(">"));
var data = JSON.parse('{"a":1,"b":[1,2,3],"c":{"d":"x"}}');
log(JSON.stringify(data), JSON.stringify(Object.keys(data).map(function (k) { return k + "=" + typeof data[k]; })));
var words = "the quick brown fox".split(" ");
log(words.filter(function (w) { return w.length > 3; }).join(","),
    words.some(function (w) { return w === "fox"; }),
    words.every(function (w) { return w.length > 2; }),
    words.find(function (w) { return w[0] === "b"; }),
    words.findIndex(function (w) { return w === "fox"; }));
log("a-b-c".replace(/-/g, function (m) { return "+" + m.length; }));
var bytes = new Uint8Array([5, 3, 9, 1]);
bytes.sort(function (x, y) { return x - y; });
log(bytes.join(""), new Uint8Array(bytes.map(function (x) { return x * 2; })).join(","));
function delay(ms, value) {
  return new Promise(function (resolve) { setTimeout(function () { resolve(value); }, ms); });
}
function fail(ms) {
  return new Promise(function (resolve, reject) { setTimeout(function () { reject(new Error("nope")); }, ms); });
}
function chain() {
  delay(2, 1)
    .then(function (v) { log("then", v); return delay(1, v + 1); })
    .then(function (v) { log("then", v); return fail(1); })
    .catch(function (e) { log("rejected", e.message); return "recovered"; })
    .then(function (v) { log(v); finish(); });
}
var ticks = 0;
function tick() { ticks++; if (ticks < 3) setTimeout(tick, 1); else { log("ticks", ticks); chain(); } }
tick();
function finish() { setTimeout(function () { console.log(lines.join("\n")); }, 10); }

// try/catch/finally, rethrow, catch parameter shadowing, finally overriding.
function risky(n) {
  if (n % 3 === 0) throw new Error("three:" + n);
  if (n % 5 === 0) throw { code: n };
  return n;
}
var log = [];
for (var i = 1; i <= 10; i++) {
  try {
    log.push(risky(i));
  } catch (e) {
    log.push(e instanceof Error ? e.message : "code" + e.code);
  } finally {
    log.push("|");
  }
}
console.log(log.join(" "));
function override() {
  try { return "try"; } finally { return "finally"; }
}
console.log(override());
var e = "outer e";
function shadow() {
  var result = [];
  try { throw "inner"; } catch (e) {
    result.push(e);
    var e = "assigned in catch";
    result.push(e);
  }
  result.push(typeof e);
  return result.join(",");
}
console.log(shadow(), e);
function nested() {
  var out = "";
  try {
    try { null.x; } catch (err) { out += err instanceof TypeError; throw new RangeError("re"); }
    finally { out += ":inner-finally"; }
  } catch (err2) { out += ":" + err2.name; }
  return out;
}
console.log(nested());
function catchNoUse() {
  try { JSON.parse("{bad"); } catch (ignored) { return "parse failed"; }
}
console.log(catchNoUse());

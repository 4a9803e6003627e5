// Destructuring and shorthand properties with local names.
function point(obj) {
  var { x, y = 10, ...rest } = obj;
  return [x, y, Object.keys(rest).join("")].join(",");
}
console.log(point({ x: 1, a: 2, b: 3 }), point({ x: 5, y: 6 }));
function pack(alpha, beta) {
  var gamma = alpha + beta;
  return { alpha, beta, gamma, sum() { return alpha + beta + gamma; } };
}
var packed = pack(1, 2);
console.log(JSON.stringify(packed), packed.sum());
function swap(pair) {
  var [first, second] = pair;
  [first, second] = [second, first];
  return first + second;
}
console.log(swap(["a", "b"]));
function params({ name, age = 30 }, [head, ...tail], ...others) {
  return `${name}:${age}:${head}:${tail.length}:${others.length}`;
}
console.log(params({ name: "n" }, [1, 2, 3], 4, 5));
function nested() {
  var { outer: { inner: deepValue }, list: [, second] } = { outer: { inner: "deep" }, list: [1, 2] };
  var value;
  ({ value = "dflt" } = {});
  return deepValue + second + value;
}
console.log(nested());
function defaults(a = 1, b = a + 1, c = (() => a + b)()) { return [a, b, c].join(""); }
console.log(defaults(), defaults(5), defaults(1, 1));
var spread = (...items) => Math.max(...items, 0);
console.log(spread(3, 9, 2), [..."abc", ...[1, 2]].join(""));
var computedKey = "dyn";
console.log(JSON.stringify({ [computedKey + "amic"]: 1, ["x" + 2]: 2 }));

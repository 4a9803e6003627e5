// Generators and async functions (deterministic ordering).
function* range(start, end) {
  for (let i = start; i < end; i++) yield i;
}
console.log([...range(2, 6)].join(","));
function* delegating() {
  yield "a";
  const received = yield* range(0, 2);
  yield "b" + received;
}
console.log(Array.from(delegating()).join(""));
function* conversation() {
  var answer = yield "question";
  yield "got " + answer;
}
var conv = conversation();
console.log(conv.next().value, conv.next(42).value, conv.next().done);
var log = [];
async function step(name, value) {
  log.push("start " + name);
  var v = await value;
  log.push("end " + name + " " + v);
  return v * 2;
}
async function main() {
  var results = await Promise.all([step("one", 1), step("two", Promise.resolve(2))]);
  log.push("results " + results.join(","));
  try { await Promise.reject(new Error("nope")); } catch (err) { log.push("caught " + err.message); }
  var arrow = async (x) => (await x) + 1;
  log.push("arrow " + (await arrow(41)));
  return log;
}
main().then(function (l) { console.log(l.join(" | ")); });
log.push("sync after main");

// Template literals: nesting, tags, raw text, escapes, multi-line.
var name = "world", n = 3;
var t1 = `hello ${name}!`;
var t2 = `a${ `b${ n + 1 }` }d`;
var t3 = `x ${ "}" } y`;
var t4 = `l1
  l2`;
var t5 = `${ /* } */ name }`;
var t6 = `a\${b}`;
console.log(t1, t2, t3, JSON.stringify(t4), t5, t6);
function tag(strings) {
  var values = Array.prototype.slice.call(arguments, 1);
  return strings.raw.map(function (r, i) { return "[" + r + "]" + (i < values.length ? "(" + values[i] + ")" : ""); }).join("");
}
console.log(tag`one${1}two\n${"v"}three`);
console.log(String.raw`\x41\u0042${n}`, `\x41\u0042`);
function nest(depth) { return depth ? `(${nest(depth - 1)})` : `*`; }
console.log(nest(4));
var obj = { toString() { return "OBJ"; } };
console.log(`${obj}${[1, 2]}${null}${undefined}`);
var fn = function (a) { return `${a}${a}`; };
console.log(fn`x`.length, `${`${`${"deep"}`}`}`);

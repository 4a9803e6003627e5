// Automatic semicolon insertion: the newlines must survive minification.
function f() {
  return
  "value"
}
console.log(f())
var a = 1, b = 2
a
++b
console.log(a, b)
var i = 5, j = 7
i
++
j
console.log(i, j)
var x = 0
do x++
while (x < 5)
console.log(x)
var c = 1
var d = 2
console.log(c + d)
var g = function (v) { return v * 2 }
var h = g
(21)
console.log(h)
var arr = [1, 2, 3]
var k = arr
[1]
console.log(k)
function thrower() {
  throw new Error("thrown")
}
try { thrower() } catch (err) { console.log(err.message) }
var m = 10
var q = m
/2/1
console.log(q)
function early(v) {
  if (v) return /*
  */ v
  return "none"
}
console.log(early(3), early(0))
var counter = 0
function loop() {
  for (;;) {
    counter++
    if (counter > 3) break
    else continue
  }
  return counter
}
console.log(loop())
var s = "str"
;[1, 2].forEach(function (n) { console.log(n + s) })
;(function () { console.log("iife") })()

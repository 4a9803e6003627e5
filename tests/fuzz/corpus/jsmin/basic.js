var x = 1;
function f(a, b) { return a + b; }
console.log(f(x, 2));

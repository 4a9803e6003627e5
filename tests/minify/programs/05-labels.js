// Labels: break/continue to outer loops, labelled blocks.
var found = [];
outer: for (var i = 0; i < 5; i++) {
  inner: for (var j = 0; j < 5; j++) {
    if (j === i) continue outer;
    if (i + j > 6) break outer;
    if (j > 3) break inner;
    found.push("" + i + j);
  }
}
console.log(found.join(" "));
function search(grid, target) {
  var pos = null;
  rows: for (var r = 0; r < grid.length; r++) {
    for (var c = 0; c < grid[r].length; c++) {
      if (grid[r][c] === target) { pos = [r, c]; break rows; }
    }
  }
  return pos;
}
console.log(search([[1, 2], [3, 4], [5, 6]], 4));
block: {
  console.log("in block");
  if (found.length) break block;
  console.log("never");
}
function loopLabels() {
  var n = 0;
  a: while (true) {
    b: do {
      n++;
      if (n < 3) continue b;
      if (n < 6) continue a;
      break a;
    } while (true);
  }
  return n;
}
console.log(loopLabels());

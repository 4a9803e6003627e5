// Classes: declarations, expressions, inheritance, super, static, accessors.
class Shape {
  constructor(name) { this.name = name; Shape.count++; }
  area() { return 0; }
  describe() { return this.name + " with area " + this.area().toFixed(2); }
  static create(kind, size) { return kind === "sq" ? new Square(size) : new Circle(size); }
  get kind() { return "shape"; }
}
Shape.count = 0;
class Square extends Shape {
  constructor(side) { super("square"); this.side = side; }
  area() { return this.side * this.side; }
  get kind() { return "square:" + super.kind; }
  set size(v) { this.side = v; }
}
const Circle = class Round extends Shape {
  constructor(radius) { super("circle"); this.radius = radius; }
  area() { return Math.PI * this.radius * this.radius; }
  clone() { return new Round(this.radius + 1); }
};
const shapes = [Shape.create("sq", 3), Shape.create("ci", 1), new Square(2)];
shapes[2].size = 5;
shapes.push(shapes[1].clone());
for (const s of shapes) console.log(s.describe(), s.kind, s instanceof Shape, s instanceof Square);
console.log("count", Shape.count);

function mixin(Base) {
  return class extends Base {
    hello() { return "hello from " + this.name; }
  };
}
class Mixed extends mixin(Square) {}
console.log(new Mixed(4).hello(), new Mixed(4).area());

class Counter {
  constructor() { this.value = 0; }
  increment(by) { var step = by === undefined ? 1 : by; this.value += step; return this; }
  static get zero() { return new Counter(); }
}
console.log(Counter.zero.increment().increment(5).value);
var Local = (function () {
  class Hidden { tag() { return Hidden === LocalRef; } }
  var LocalRef = Hidden;
  return Hidden;
})();
console.log(new Local().tag());

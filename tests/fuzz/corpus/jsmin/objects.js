var o = {a:1, "b":2, [c]:3, d() {}, get e() { return 1 }};
let {a, ...rest} = o;

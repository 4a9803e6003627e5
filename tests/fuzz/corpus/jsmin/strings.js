var s = "a\"b" + 'c';
var r = /a[/]b/g;
var t = `x${1+2}y`;

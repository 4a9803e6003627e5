// blink: the golden-vector test program (unminified source)
var on = false;
setInterval(function () {
  on = !on;
  digitalWrite(LED1, on);
}, 500);

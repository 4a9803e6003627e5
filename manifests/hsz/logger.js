// logger.js: a small data logger for Espruino, the demo release of `make run`.
// Every 10 seconds it reads the temperature and the battery voltage, keeps the
// last 24 readings in RAM and prints them.  A real deployment would upload
// them; here the console is the sink.
var LOG_EVERY_MS = 10000;
var KEEP = 24;
var readings = [];

function readSensors() {
  var t = typeof E !== "undefined" && E.getTemperature ? E.getTemperature() : 20;
  var v = typeof analogRead === "function" && typeof E !== "undefined" && E.getAnalogVRef ?
    E.getAnalogVRef() : 3.3;
  return { time: Date.now(), temp: Math.round(t * 10) / 10, vref: Math.round(v * 100) / 100 };
}

function logOnce() {
  var r = readSensors();
  readings.push(r);
  if (readings.length > KEEP) readings.shift();
  console.log("logger: " + readings.length + " readings, last " + r.temp + " C, " + r.vref + " V");
}

function start() {
  logOnce();
  setInterval(logOnce, LOG_EVERY_MS);
  // Tell the OTA agent this program works (it logged once without throwing).
  if (typeof ota !== "undefined" && ota.confirm) ota.confirm();
}

start();

// ota.gold: the golden recovery program.  It runs only when no stored
// program verifies; its one job is to keep the device reachable: the agent
// (already started by .boot0) polls at its shortest interval until a release
// installs.  A board that needs code to bring its network up (a GSM modem on
// a Pico) puts that code here, before the call (otasign device add --golden).
ota.golden();

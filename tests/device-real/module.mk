# tests/device-real/module.mk: the Espruino agent (device/espruino/) on the
# REAL Espruino interpreter (Linux build of 2v29: env ESPRUINO, else
# ../shared/espruino/bin/; without one each suite prints one "skipped" line
# and count their cases as skipped).  Node built-ins and cc only.
#   agent.test.js      built-in probe; the agent vs a scripted stub: every
#                      rejection reason, Range ignored, stall, CDN, corrupted
#                      program, no network, a power cut inside every flash
#                      operation of an update and of a revert (flashcut.c)
#   scenarios.test.js  vs the real otad and otasign (device add, release),
#                      through a recording/tampering proxy: update, confirm at
#                      top level, throw at start, never confirms, power cut
#                      mid-download, tampering, replay across a power cycle,
#                      too big, 48 KB Storage, otad down, espruino-pico, nudge;
#                      deltas (FORMAT.md 2b): an update from a delta, to a
#                      compressed release, bad deltas falling back to the
#                      bundle, power cut mid-download and mid-apply;
#                      the previous agent (agent-v1/ota.js, commit 6459932,
#                      the JSON form) beside the new one (the compact form,
#                      FORMAT.md 6b), with the wire bytes of both.
#                      OTA_PICO=1 runs every board on espruino-pico.
#   rotation.test.js   README's key rotation and revocation on a mixed fleet:
#                      espruino + espruino-pico boards and an otadev device
TEST_DEPS    += $(BIN)/otasign $(BIN)/otad $(BIN)/otadev
TEST_SCRIPTS += tests/device-real/agent.test.js tests/device-real/scenarios.test.js \
                tests/device-real/rotation.test.js

SIZE_TARGETS += size-espruino-agent
.PHONY: size-espruino-agent
# The agent's size as written and as `otasign device add` uploads it.
size-espruino-agent: $(BIN)/otasign
	@raw=$$(wc -c <device/espruino/ota.js); \
	 min=$$($(BIN)/otasign minify device/espruino/ota.js -o - | wc -c); \
	 gz=$$($(BIN)/otasign minify device/espruino/ota.js -o - | gzip -9 | wc -c); \
	 echo "espruino agent (device/espruino/ota.js): $$raw bytes as written, $$min minified ($$gz gzipped)"

BENCH_TARGETS += bench-wire
.PHONY: bench-wire
# Bytes at the wire between the real interpreter and otad, the previous agent
# form (6459932) next to the compact one, in one run, on both builds.
bench-wire: $(BIN)/otasign $(BIN)/otad
	@echo "== wire bytes (tests/device-real, the previous agent form vs the compact form, one otad per run)"
	@for p in 0 1; do OTA_PICO=$$p node tests/device-real/scenarios.test.js "previous agent" | grep -E '^(#|ok|FAIL|skip)' || true; done

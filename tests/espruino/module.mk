# tests/espruino/module.mk: the Espruino agent (device/espruino/) under node,
# on an emulation of the Espruino APIs it uses (issue 7).  Node built-ins only.
#   emu-quirks.test.js  every firmware quirk the emulation claims, one test each
#   agent.test.js       the agent against a scripted stub: each rejection reason,
#                       trial/confirm/revert, resume, power cut at every flash op
#   otad.test.js        the agent against the real otad and otasign (device add,
#                       release), with a tampering proxy in between
TEST_DEPS    += $(BIN)/otasign $(BIN)/otad
TEST_SCRIPTS += tests/espruino/emu-quirks.test.js tests/espruino/agent.test.js \
                tests/espruino/otad.test.js

SIZE_TARGETS += size-espruino-agent
.PHONY: size-espruino-agent
# The agent's size as written and as `otasign minify` uploads it.
size-espruino-agent: $(BIN)/otasign
	@raw=$$(wc -c <device/espruino/ota.js); \
	 min=$$($(BIN)/otasign minify device/espruino/ota.js -o - | wc -c); \
	 gz=$$($(BIN)/otasign minify device/espruino/ota.js -o - | gzip -9 | wc -c); \
	 echo "espruino agent (device/espruino/ota.js): $$raw bytes as written, $$min minified ($$gz gzipped)"

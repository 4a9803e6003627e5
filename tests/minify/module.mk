# tests/minify/module.mk: the minifier's fixtures, oracle and benchmark
# (issue 4).  Node scripts; the npm packages they use (acorn, terser, esbuild
# and the corpus) are installed by scripts/deps.sh from tests/js/package-lock.json.
#   minify-oracle-selftest  the oracle accepts correct and rejects known-bad outputs
#   minify-fixtures         the 63 cases of minify-cases.md, exact output, both modes
#   minify-programs         tests/minify/programs/*.js behave the same after minifying
#   minify-oracle           the whole corpus, both modes, checked by the oracle
#   minify-fuzz             seeded mutants: no crash/hang, clear errors, oracle on accepted ones
#   espruino-diff           programs run on the real Espruino interpreter before/after minifying
#                           (every function body reached; release bundles too)
#   gate-probes             every gate row probed on the real interpreter, verdicts agree
#   espruino-pretok         --pretokenise: exact bytes, round trip (detokeniser), refusals, and
#                           every program the same pretokenised on espruino and espruino-pico
#                           (script file and Storage+load()), releases --pretokenise
TEST_DEPS    += $(BIN)/otasign
TEST_SCRIPTS += tests/minify/oracle-selftest.mjs tests/minify/fixtures.mjs \
                tests/minify/programs.mjs tests/minify/oracle-corpus.mjs \
                tests/minify/fuzz.mjs tests/minify/espruino-diff.mjs \
                tests/minify/gate-probes.mjs tests/minify/espruino-pretok.mjs

BENCH_TARGETS += bench-minify
.PHONY: bench-minify
# Output bytes and MB/s of otasign minify next to terser and esbuild; pretokenised
# bytes next to EspruinoTools' pretokeniser on terser's output (pretok-bench.mjs).
bench-minify: $(BIN)/otasign $(BIN)/hsztool
	@bash tests/bench/minify-bench.sh $(BIN)
	@OTA_BIN=$(BIN) node tests/bench/minify-real.mjs
	@OTA_BIN=$(BIN) node tests/bench/pretok-bench.mjs

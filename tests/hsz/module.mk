# tests/hsz/module.mk: bundle encoding 1 (heatshrink blocks, FORMAT.md 2a):
# the encoder (cli/hsz_enc.c) against the freestanding decoder
# (common/ota_hsz.c) under ASan/UBSan, hsztool for scripts and the bench, and
# the round trip through the real interpreter's require("heatshrink").

HSZ_SAN_OBJS := $(BUILD)/san/common/ota_hsz.o $(BUILD)/san/cli/hsz_enc.o

$(BIN)/test_hsz: tests/unit/test_hsz.c $(HSZ_SAN_OBJS) tests/harness.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $< $(HSZ_SAN_OBJS) $(LDFLAGS) $(SANFLAGS)

$(BIN)/hsztool: $(OBJ)/cli/tools/hsztool.o $(OBJ)/cli/hsz_enc.o $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

TEST_PROGS   += $(BIN)/test_hsz
TEST_DEPS    += $(BIN)/test_hsz $(BIN)/hsztool
TEST_SCRIPTS += tests/hsz/test_hsz_espruino.sh

# make bench: bundle bytes per encoding (tests/bench/bundle-bench.sh)
.PHONY: bench-bundles
bench-bundles: $(BIN)/otasign $(BIN)/hsztool
	@tests/bench/bundle-bench.sh $(BIN)
BENCH_TARGETS += bench-bundles

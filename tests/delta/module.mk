# tests/delta/module.mk: deltas (FORMAT.md 2b): the encoder (cli/delta_enc.c)
# against the freestanding applier (common/ota_delta.c) under ASan/UBSan, and
# `otasign delta` from the command line; otad's D tag and /b/ for deltas
# (test_delta_otad.sh); otadev --delta end to end with power cuts
# (tests/device/test_delta_e2e.sh).

DELTA_SAN_OBJS := $(BUILD)/san/common/ota_delta.o $(BUILD)/san/cli/delta_enc.o \
                  $(BUILD)/san/common/ota_sha2.o $(BUILD)/san/common/ota_err.o

$(BIN)/test_delta: tests/unit/test_delta.c $(DELTA_SAN_OBJS) tests/harness.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $< $(DELTA_SAN_OBJS) $(LDFLAGS) $(SANFLAGS)

TEST_PROGS   += $(BIN)/test_delta
TEST_DEPS    += $(BIN)/test_delta
TEST_SCRIPTS += tests/delta/test_delta_otad.sh tests/delta/test_delta_cli.sh
TEST_SCRIPTS += tests/device/test_delta_e2e.sh

# tests/rollout/module.mk: the rollout engine's unit tests (tests/unit/test_rollout.c,
# server/rollout.c: pure functions, no I/O) and the one error table's generator.
#
#   make errtable      rewrite device/espruino/ota_err.js from common/ota_err.h

$(BIN)/ota-errtable: tests/rollout/errtable.c common/ota_err.h $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/lib/libotacommon.a

$(BIN)/test_rollout: tests/unit/test_rollout.c server/rollout.c server/rollout.h tests/harness.h $(CRYPTO_SAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iserver -Itests $(CFLAGS) $(SANFLAGS) -o $@ tests/unit/test_rollout.c server/rollout.c \
	    $(CRYPTO_SAN_OBJS) $(LDFLAGS) $(SANFLAGS) -lsodium -lm

TEST_PROGS   += $(BIN)/test_rollout
TEST_DEPS    += $(BIN)/test_rollout $(BIN)/ota-errtable
TEST_SCRIPTS += tests/rollout/test_errtable.sh

.PHONY: errtable
errtable: $(BIN)/ota-errtable
	$(BIN)/ota-errtable js >device/espruino/ota_err.js
TEST_SCRIPTS += tests/device/test_waves.sh

# make bench: otad's report rate and rollout read time at 1k/10k/100k devices
$(BIN)/bench-rollout: tests/bench/rollout_bench.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lsodium -lsqlite3 -lpthread

.PHONY: bench-rollout
bench-rollout: $(BIN)/otad $(BIN)/otad-testsign $(BIN)/bench-rollout
	@echo "== otad against the fleet size (tests/bench/rollout-bench.sh)"
	@OTA_BIN=$(BIN) OTA_ROOT=$(CURDIR) tests/bench/rollout-bench.sh

BENCH_TARGETS += bench-rollout

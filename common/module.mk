# common/module.mk: the portable crypto/format core, built into one archive
# that every other part links.  Everything in common/ is freestanding C (see
# scripts/freestanding.sh, run by `make test`).

COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(COMMON_SRCS))
COMMON_LIB  := $(BUILD)/lib/libotacommon.a

$(COMMON_LIB): $(COMMON_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

all: $(COMMON_LIB)

# ---- unit tests: always built and run under ASan + UBSan -------------------
# The crypto sources are compiled a second time with $(SANFLAGS) into
# $(BUILD)/san/, so plain `make test` exercises them sanitized.
CRYPTO_SRCS := common/ota_sha2.c common/ota_hmac.c common/ota_ed25519.c \
               common/ota_ct.c common/ota_encode.c common/ota_err.c
CRYPTO_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(CRYPTO_SRCS))

$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

COMMON_TESTS := $(BIN)/test_sha2 $(BIN)/test_ed25519 $(BIN)/test_encode

$(COMMON_TESTS): $(BIN)/test_%: tests/unit/test_%.c $(CRYPTO_SAN_OBJS) tests/harness.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $< $(CRYPTO_SAN_OBJS) $(LDFLAGS) $(SANFLAGS) -lsodium -lcjson

# test_fe25519 includes ota_ed25519.c itself (to reach its static field code).
FE_TEST_OBJS := $(filter-out %/ota_ed25519.o,$(CRYPTO_SAN_OBJS))
$(BIN)/test_fe25519: tests/unit/test_fe25519.c tests/unit/fe_check.h common/ota_ed25519.c $(FE_TEST_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $< $(FE_TEST_OBJS) $(LDFLAGS) $(SANFLAGS) -lsodium

TEST_PROGS += $(COMMON_TESTS) $(BIN)/test_fe25519
TEST_DEPS  += $(COMMON_TESTS) $(BIN)/test_fe25519

# Freestanding/Cortex-M4 build of common/ and its nm -u / ota_ prefix check;
# the Cortex-M4 build of the crypto run on qemu against libsodium verdicts.
TEST_SCRIPTS += scripts/freestanding.sh scripts/test-m4.sh

# ---- make bench / make size --------------------------------------------------
$(BIN)/bench_verify: tests/bench/bench_verify.c $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(COMMON_LIB) $(LDFLAGS) -lsodium

.PHONY: bench-crypto size-crypto
bench-crypto: $(BIN)/bench_verify
	@echo "== common/ crypto on this host (common/ built with $(OPT))"
	@$(BIN)/bench_verify
	@echo "== instructions on Cortex-M4 (qemu-system-arm -M mps2-an386 -icount shift=0)"
	@scripts/qemu-count.sh $(BUILD)

size-crypto:
	@scripts/size.sh $(BUILD)

BENCH_TARGETS += bench-crypto
SIZE_TARGETS  += size-crypto

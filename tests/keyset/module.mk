# tests/keyset/module.mk: common/ota_keyset (key-set statements and their
# power-cut-safe storage) against the golden vectors and power cuts; built
# with the sanitizers like the other common/ unit tests.
KEYSET_SAN_SRCS := common/ota_keyset.c common/ota_release.c common/ota_sha2.c common/ota_hmac.c \
                   common/ota_ed25519.c common/ota_ct.c common/ota_err.c
KEYSET_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(KEYSET_SAN_SRCS))

$(BIN)/test_keyset: tests/keyset/test_keyset.c $(KEYSET_SAN_OBJS) tests/harness.h tests/unit/emuflash.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $< $(KEYSET_SAN_OBJS) $(LDFLAGS) $(SANFLAGS) -lsodium

TEST_PROGS += $(BIN)/test_keyset
TEST_DEPS  += $(BIN)/test_keyset
TEST_SCRIPTS += tests/device/test_keyset_e2e.sh

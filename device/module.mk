# device/module.mk: the update state machine's tests (common/ota_update.c),
# the host device simulator otadev, its end-to-end tests, and the state
# machine's Cortex-M4 footprint (make size).

# ---- unit tests of the state machine: always sanitized -----------------------
UPDATE_SAN_OBJS := $(BUILD)/san/common/ota_update.o $(BUILD)/san/common/ota_sha2.o \
                   $(BUILD)/san/common/ota_ct.o $(BUILD)/san/common/ota_err.o
UPDATE_TESTS := $(BIN)/test_update $(BIN)/test_powercut

$(BIN)/test_update $(BIN)/test_powercut: $(BIN)/test_%: tests/unit/test_%.c $(UPDATE_SAN_OBJS) \
		tests/harness.h tests/unit/emuflash.h tests/unit/update_fixture.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $< $(UPDATE_SAN_OBJS) $(LDFLAGS) $(SANFLAGS)

TEST_PROGS += $(UPDATE_TESTS)
TEST_DEPS  += $(UPDATE_TESTS)

# ---- footprint: make size ----------------------------------------------------
.PHONY: size-device
size-device:
	@device/size.sh $(BUILD)
SIZE_TARGETS += size-device

# ---- otadev: the host device simulator ---------------------------------------
OTADEV_OBJS := $(OBJ)/device/otadev.o $(OBJ)/device/flashfile.o
OTADEV_LIBS := $(shell pkg-config --libs libcurl libcjson 2>/dev/null || echo -lcurl -lcjson)

$(BIN)/otadev: $(OTADEV_OBJS) $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OTADEV_OBJS) $(BUILD)/lib/libotacommon.a $(OTADEV_LIBS)

BINS      += $(BIN)/otadev
TEST_DEPS += $(BIN)/otadev

# end-to-end: otadev against the real otad with releases from the real otasign
TEST_SCRIPTS += tests/device/test_e2e.sh tests/device/test_powercut_e2e.sh tests/device/test_fleet.sh

# the state machine built for Cortex-M4 (-Os) with its power-cut enumeration, on qemu
TEST_SCRIPTS += device/test-m4.sh

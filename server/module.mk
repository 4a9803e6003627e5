# server/module.mk: otad, the update server (see server/README section in README.md).
#
#   make build/bin/otad      the daemon
#   make run                 deps, build, demo keys + release, otad on 127.0.0.1:8080
#   make bench-server        wrk: otad vs nginx (part of `make bench`)

OTAD_SRCS := $(wildcard server/*.c)
OTAD_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(OTAD_SRCS))
# The dashboard (server/ui/*) built into otad as C arrays (scripts/embed-ui.sh).
UI_FILES  := $(sort $(wildcard server/ui/*))
OTAD_OBJS += $(OBJ)/gen/ui_assets.o
# the delta encoder (FORMAT.md 2b) is shared with otasign
OTAD_OBJS += $(OBJ)/cli/delta_enc.o
$(BUILD)/gen/ui_assets.c: $(UI_FILES) scripts/embed-ui.sh
	@mkdir -p $(@D)
	scripts/embed-ui.sh $(UI_FILES) >$@.tmp && mv $@.tmp $@
$(OBJ)/gen/ui_assets.o: $(BUILD)/gen/ui_assets.c server/ui.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iserver $(CFLAGS) -c -o $@ $<
OTAD_LIBS := $(shell pkg-config --libs libsodium libmicrohttpd libcjson sqlite3 libpq 2>/dev/null) -lpthread

$(BIN)/otad: $(OTAD_OBJS) $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OTAD_OBJS) $(BUILD)/lib/libotacommon.a $(OTAD_LIBS)

# Test helper: makes signed statements with libsodium + common/ (used by the
# e2e tests when the CLI is not built, and to make bad statements on purpose).
$(BIN)/otad-testsign: tests/e2e/testsign.c $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/lib/libotacommon.a $(OTAD_LIBS)

# Test build with fault injection (srv_map_put fails on demand, see util.c).
OTAD_FAULT_OBJS := $(patsubst %.c,$(OBJ)/faults/%.o,$(OTAD_SRCS)) $(OBJ)/gen/ui_assets.o $(OBJ)/cli/delta_enc.o
$(OBJ)/faults/server/%.o: server/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DSRV_FAULT_INJECTION $(CFLAGS) -c -o $@ $<
$(BIN)/otad-faults: $(OTAD_FAULT_OBJS) $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OTAD_FAULT_OBJS) $(BUILD)/lib/libotacommon.a $(OTAD_LIBS)

BINS += $(BIN)/otad
TEST_DEPS += $(BIN)/otad $(BIN)/otad-testsign $(BIN)/otad-faults
TEST_SCRIPTS += tests/e2e/otad-api.sh tests/e2e/otad-schema.sh tests/e2e/otad-durability.sh tests/e2e/otad-hostile.sh tests/e2e/otad-hostile-load.sh tests/e2e/otad-hostile-faults.sh tests/e2e/otad-cost.sh
BENCH_TARGETS += bench-server

.PHONY: run bench-server
run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory $(BIN)/otad $(BIN)/otasign
	@BUILD=$(BUILD) examples/run-demo.sh

bench-server: $(BIN)/otad $(BIN)/otad-testsign
	@OTA_BIN=$(BIN) OTA_ROOT=$(CURDIR) tests/bench/server-bench.sh

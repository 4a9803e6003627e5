# cli/module.mk: otasign (the operator's CLI) and mkvectors (golden-vector
# generator), plus their tests.  cli/*.c and cli/jsmin/*.c (the minifier,
# another engineer's files) are picked up by wildcard.

CLI_SRCS := $(wildcard cli/*.c) $(wildcard cli/jsmin/*.c)
CLI_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(CLI_SRCS))
# `otasign device`, `publish`, `rollout`, `status` talk to otad's admin API
# with libcurl, loaded with dlopen on first use (cli/curl_dl.h: linking it
# would cost every command about 30 shared libraries at start).  Its soname
# as the build finds it:
CLI_LIBS := $(shell pkg-config --libs libsodium libcjson 2>/dev/null || echo -lsodium -lcjson)
CURL_SONAME := $(shell readelf -d "$$($(CC) -print-file-name=libcurl.so)" 2>/dev/null | \
                 sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
$(OBJ)/cli/curl_dl.o: CPPFLAGS += -DOTA_CURL_SONAME='"$(or $(CURL_SONAME),libcurl.so.4)"'

$(BIN)/otasign: $(CLI_OBJS) $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/lib/libotacommon.a $(CLI_LIBS) -lm

# mkvectors: writes manifests/vectors/ from the published test keys.
$(BIN)/mkvectors: $(OBJ)/cli/tools/mkvectors.o $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/lib/libotacommon.a $(CLI_LIBS)

$(BIN)/test_release: $(OBJ)/tests/unit/test_release.o $(BUILD)/lib/libotacommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/lib/libotacommon.a $(CLI_LIBS)

BINS         += $(BIN)/otasign
TEST_PROGS   += $(BIN)/test_release
TEST_DEPS    += $(BIN)/otasign $(BIN)/mkvectors $(BIN)/test_release
TEST_SCRIPTS += $(wildcard tests/cli/*.sh tests/cli/*.mjs)

.PHONY: vectors
# Regenerate the committed golden vectors (only needed when the format changes).
vectors: $(BIN)/mkvectors
	$(BIN)/mkvectors manifests/vectors

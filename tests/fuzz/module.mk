# tests/fuzz/module.mk: fuzz targets (issue 12).
#
#   make fuzz                      build the libFuzzer targets with clang into
#                                  $(BUILD)/fuzz/bin/ (scripts/deps.sh fuzz
#                                  installs clang and its fuzzer runtime)
#   make fuzz-run FUZZ_SECONDS=60  run each for FUZZ_SECONDS on its corpus
#                                  (new inputs go to $(BUILD)/fuzz/new/<t>/)
#   make test                      replays tests/fuzz/corpus/<t>/ through the
#                                  same targets built with gcc + ASan/UBSan,
#                                  no libFuzzer (build/bin/fuzz-replay-<t>)
#
# Targets: offer (statement + ticket decision, signatures made valid), boot
# (the update state machine from an arbitrary flash image), encode (hex,
# base64), jsmin (the minifier, idempotent), request (otad's report parser
# and %XX decoding), hsz (bundle encoding 1: decoder on any bytes, encoder
# round trip), delta (deltas, FORMAT.md 2b: applier on any ops, encoder
# round trip).

FUZZ_TARGETS := offer boot encode jsmin request hsz delta
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_DIR     := $(BUILD)/fuzz

fuzz_srcs_common  := $(COMMON_SRCS)
fuzz_srcs_offer   := $(fuzz_srcs_common)
fuzz_srcs_boot    := $(fuzz_srcs_common)
fuzz_srcs_encode  := $(fuzz_srcs_common)
fuzz_srcs_jsmin   := $(wildcard cli/jsmin/*.c)
fuzz_srcs_request := $(fuzz_srcs_common) server/request.c
fuzz_srcs_hsz     := $(fuzz_srcs_common) cli/hsz_enc.c
fuzz_srcs_delta   := $(fuzz_srcs_common) cli/delta_enc.c

# ---- replay in make test (gcc, sanitized) ---------------------------------------
FUZZ_REPLAYS := $(patsubst %,$(BIN)/fuzz-replay-%,$(FUZZ_TARGETS))
define fuzz_replay_rule
$(BIN)/fuzz-replay-$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/replay.c tests/fuzz/fuzz.h \
		$(patsubst %.c,$(BUILD)/san/%.o,$(fuzz_srcs_$(1)))
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $$(SANFLAGS) -DFUZZ_NAME=$(1) -o $$@ tests/fuzz/fuzz_$(1).c \
		tests/fuzz/replay.c $(patsubst %.c,$(BUILD)/san/%.o,$(fuzz_srcs_$(1))) $$(LDFLAGS) $$(SANFLAGS) -lsodium
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_replay_rule,$(t))))

TEST_PROGS += $(FUZZ_REPLAYS)
TEST_DEPS  += $(FUZZ_REPLAYS)

# ---- libFuzzer builds (clang) ------------------------------------------------------
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

define fuzz_rule
$(FUZZ_DIR)/bin/fuzz_$(1): $(FUZZ_DIR)/obj/tests/fuzz/fuzz_$(1).o $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(fuzz_srcs_$(1)))
	@mkdir -p $$(@D)
	$$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $$@ $$^ -lsodium
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

.PHONY: fuzz fuzz-run
fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory $(patsubst %,$(FUZZ_DIR)/bin/fuzz_%,$(FUZZ_TARGETS))

FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/new/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_DIR)/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/new/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# The program that wrote the committed seeds (run by hand, see gen_seeds.c).
$(BIN)/fuzz-gen-seeds: tests/fuzz/gen_seeds.c $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(COMMON_LIB) $(LDFLAGS)

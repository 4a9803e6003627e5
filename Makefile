# otasign: top-level build.  Each part of the tree adds its own rules in a
# module.mk (common/, cli/, server/, device/, tests/); this file holds what is
# shared: flags, directories, the dependency check and the test runner.
#
#   make            build everything (build/bin/)
#   make test       install missing Debian/npm packages, build, run every test
#   make check      the whole suite again under ASan + UBSan (build/asan/)
#   make run        start otad with a demo release (see README.md)
#   make bench      benchmarks that print figures (never pass/fail)
#   make fuzz       libFuzzer targets (clang; tests/fuzz/module.mk), make fuzz-run
#   make size       Cortex-M4 footprint of common/
#   make install    PREFIX=/usr/local DESTDIR= (programs, agent, man pages, systemd unit)
#   make clean

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD   ?= build
OBJ     := $(BUILD)/obj
BIN     := $(BUILD)/bin
PREFIX  ?= /usr/local
DESTDIR ?=

CC      ?= cc
# The one version string of every program (otasign, otad, otadev --version).
VERSION ?= 0.1.0
PKGS    := libsodium libmicrohttpd libcjson libcurl sqlite3 libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Wpedantic -Wshadow
# CI builds with -Werror; a developer may too (make WERROR=1).
ifneq ($(CI)$(WERROR),)
WARN    += -Werror
endif
OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS  += -std=c11 $(OPT) $(WARN) -MMD -MP
CPPFLAGS += -D_GNU_SOURCE -Icommon $(PKG_CFLAGS) -DOTA_VERSION='"$(VERSION)"'
LDFLAGS ?=

# make check (or SAN=1) builds everything with sanitizers into its own tree.
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

# Sanitizer flags used by targets that always run under sanitizers (common/'s
# unit tests run that way inside the plain `make test` too).
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Filled in by the module.mk files:
BINS         :=   # programs installed by `make install`
TEST_PROGS   :=   # test programs; each ends with a line "N passed, N failed"
TEST_SCRIPTS :=   # test scripts (bash/node), same contract
TEST_DEPS    :=   # anything to build before tests run
BENCH_TARGETS :=  # phony targets run by `make bench`
SIZE_TARGETS :=   # phony targets run by `make size`

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

include $(wildcard common/module.mk cli/module.mk server/module.mk device/module.mk tests/module.mk \
                   packaging/module.mk)

.PHONY: all test check run bench size deps install clean
all: $(BINS)

# Install what is missing (Debian packages; npm packages for the tests).
deps:
	@scripts/deps.sh build

test: deps
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all $(TEST_DEPS)
	@scripts/run-tests.sh $(BUILD) $(TEST_PROGS) -- $(TEST_SCRIPTS)

check: deps
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all $(subst build/,build/asan/,$(TEST_DEPS))
	@scripts/run-tests.sh build/asan $(subst build/,build/asan/,$(TEST_PROGS)) -- $(TEST_SCRIPTS)

bench: deps
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD) && rm -f $(BUILD)/bench-summary.tsv
	@OTA_BENCH_SUMMARY=$(abspath $(BUILD))/bench-summary.tsv $(MAKE) --no-print-directory -k $(BENCH_TARGETS); \
	 st=$$?; bash tests/bench/summary.sh $(BUILD)/bench-summary.tsv; exit $$st

size: deps
	@$(MAKE) --no-print-directory $(SIZE_TARGETS)

# Programs, the Espruino agent (otasign device add reads it from
# PREFIX/share/otasign/espruino), the demo logger, man pages, docs and the
# systemd unit (packaging/otad.service, with this PREFIX's path to otad).
SHARE := $(DESTDIR)$(PREFIX)/share
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/otasign/espruino $(SHARE)/otasign/examples \
	    $(SHARE)/man/man1 $(SHARE)/man/man8 $(SHARE)/doc/otasign $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(wildcard device/espruino/*.js) device/espruino/README.md $(SHARE)/otasign/espruino/
	install -m 0644 examples/logger.js $(SHARE)/otasign/examples/
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(SHARE)/man/man1/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(SHARE)/man/man8/
	install -m 0644 README.md LICENSE manifests/FORMAT.md $(SHARE)/doc/otasign/
	sed 's#@BINDIR@#$(PREFIX)/bin#g' packaging/otad.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/otad.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/otad.service

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

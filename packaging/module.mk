# packaging/module.mk: man pages (generated from man/*.md and the programs'
# own --help by scripts/mkman.sh), and what `make install` needs beyond the
# programs.  The install target itself is in the top-level Makefile.
MAN_SRCS  := $(wildcard man/*.md)
MAN_PAGES := $(patsubst man/%.md,$(BUILD)/man/%,$(MAN_SRCS))

$(BUILD)/man/%: man/%.md scripts/mkman.sh $(BINS)
	@mkdir -p $(@D)
	scripts/mkman.sh $< $(BIN) $(VERSION) >$@.tmp && mv $@.tmp $@

.PHONY: man
man: $(MAN_PAGES)
all: $(MAN_PAGES)
TEST_SCRIPTS += tests/tooling/test_install.sh tests/tooling/test_packaging.sh

# tests/jsmin/module.mk: C unit tests of the minifier and release gate
# (cli/jsmin/, issue 4).  The node-based oracle, fixtures and benchmark are in
# tests/minify/.
JSMIN_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard cli/jsmin/*.c))

$(BIN)/test_jsmin: $(OBJ)/tests/unit/test_jsmin.o $(JSMIN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

TEST_PROGS += $(BIN)/test_jsmin
TEST_DEPS  += $(BIN)/test_jsmin
TEST_SCRIPTS += tests/jsmin/cli-minify.sh

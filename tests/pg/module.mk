# tests/pg: the otad suites again with otad's state in PostgreSQL
# (OTA_STORE=pg; tests/lib/pg.sh starts a private server per suite, as an
# unprivileged user, on a unix socket in a temporary directory; a suite is
# skipped when PostgreSQL is not installed: scripts/deps.sh test installs it).
TEST_SCRIPTS += $(sort $(wildcard tests/pg/*.sh))
# two otad replicas on one PostgreSQL, one killed with kill -9 mid-rollout
TEST_SCRIPTS += tests/device/test_replicas.sh

# make bench: otad on PostgreSQL against SQLite, and a rollout across two replicas
.PHONY: bench-store
bench-store: $(BIN)/otad $(BIN)/otad-testsign $(BIN)/bench-rollout
	@echo "== otad on PostgreSQL against SQLite (tests/bench/store-bench.sh)"
	@OTA_BIN=$(BIN) OTA_ROOT=$(CURDIR) tests/bench/store-bench.sh
BENCH_TARGETS += bench-store

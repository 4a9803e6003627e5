# tests/tooling/module.mk: the operator's tooling (issue 16): otasign's
# admin commands against the real otad, the dashboard in headless Chromium,
# the installed tree, the Dockerfile and the systemd unit.
TEST_DEPS    += $(BIN)/otasign $(BIN)/otad $(BIN)/otadev
TEST_SCRIPTS += tests/tooling/test_client.sh tests/ui/test_dashboard.mjs
TEST_SCRIPTS += tests/tooling/test_run.sh

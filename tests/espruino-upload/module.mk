# tests/espruino-upload/module.mk: the provisioning script from `otasign device
# add` uploaded with EspruinoTools' CLI (npm espruino, pinned in tests/js)
# through the console of the real Espruino interpreter, then the board
# power-cycled against a real otad (issue 18).  Skipped, and counted so, when
# no interpreter is found ($ESPRUINO, else ../shared/espruino/bin/).
TEST_DEPS    += $(BIN)/otasign $(BIN)/otad
TEST_SCRIPTS += tests/espruino-upload/upload.test.js

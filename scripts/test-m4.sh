#!/usr/bin/env bash
# The Cortex-M4 build of common/'s crypto, tested on qemu (run by make test):
# tests/bench/m4/test_m4.c checks ota_ed25519_verify (one-shot and streamed),
# ota_sha256 and ota_sha512 as compiled for the device (-mcpu=cortex-m4
# -mthumb -Os, UMAAL field arithmetic) against libsodium's verdicts on the
# Wycheproof cases and on signed random messages with bit flips.
set -uo pipefail
cd "${OTA_ROOT:-$(dirname "$0")/..}"
BUILD=${OTA_BUILD:-build}
out="$BUILD/m4-test"
mkdir -p "$out"
for tool in arm-none-eabi-gcc qemu-system-arm; do
  if ! command -v $tool >/dev/null; then
    echo "test_m4: $tool missing (scripts/deps.sh test installs it)"; echo "test_m4: 0 passed, 1 failed"; exit 1
  fi
done
set -e
${CC:-cc} -O2 -o "$out/gen_cases" tests/bench/m4/gen_cases.c $(pkg-config --cflags --libs libsodium libcjson)
"$out/gen_cases" tests/data/wycheproof/wycheproof-ed25519.json > "$out/cases.h"
arm-none-eabi-gcc -std=c11 -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections \
  -ffreestanding -Wall -Wextra -Werror -Icommon -I"$out" -nostartfiles -T tests/bench/m4/link.ld \
  -Wl,--gc-sections -o "$out/test_m4.elf" tests/bench/m4/startup.c tests/bench/m4/test_m4.c \
  common/ota_sha2.c common/ota_ct.c -lc
set +e
timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$out/test_m4.elf" 2>&1
rc=$?
[ $rc = 0 ] || echo "test_m4: qemu exited with $rc"
exit $rc

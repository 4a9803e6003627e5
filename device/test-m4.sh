#!/usr/bin/env bash
# device/test-m4.sh: the update state machine compiled for the device
# (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os) and run bare-metal on qemu
# (mps2-an386): power cut at every flash operation of an install and of a
# revert (device/m4/test_update_m4.c).  Uses the bare-metal startup and
# linker script of tests/bench/m4/.  Run by `make test`.
set -uo pipefail
cd "${OTA_ROOT:-$(dirname "$0")/..}"
BUILD=${OTA_BUILD:-build}
out="$BUILD/m4-device"
mkdir -p "$out"
for tool in arm-none-eabi-gcc qemu-system-arm; do
  if ! command -v $tool >/dev/null; then
    echo "test_update_m4: $tool missing (scripts/deps.sh test installs it)"
    echo "test_update_m4: 0 passed, 1 failed"; exit 1
  fi
done
if ! arm-none-eabi-gcc -std=c11 -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections \
    -ffreestanding -Wall -Wextra -Werror -Icommon -nostartfiles -T tests/bench/m4/link.ld \
    -Wl,--gc-sections -o "$out/test_update_m4.elf" tests/bench/m4/startup.c device/m4/test_update_m4.c \
    common/ota_update.c common/ota_sha2.c common/ota_ct.c -lc 2>"$out/build.log"; then
  cat "$out/build.log"; echo "test_update_m4: 0 passed, 1 failed"; exit 1
fi
timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$out/test_update_m4.elf" >"$out/run.log" 2>&1
rc=$?
# The program's own count is of checks; the run on qemu is one test case.
sed -E 's/^test_update_m4: ([0-9]+) passed, ([0-9]+) failed/test_update_m4 on qemu: \1 checks passed, \2 failed/' "$out/run.log"
if ! grep -qE '^test_update_m4: [0-9]+ passed, 0 failed' "$out/run.log" || [ $rc != 0 ]; then
  echo "test_update_m4: qemu exit $rc"
  echo "test_update_m4: 0 passed, 1 failed"
  exit 1
fi
echo "test_update_m4: 1 passed, 0 failed"


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
# -Os is how firmware is built; -O0 with the frame pointer checks that the
# assembly leaves r7 alone and works without optimisation.
pass=0; fail=0; checks=0
for opt in "-Os" "-O0 -fno-omit-frame-pointer"; do
  tag=$(echo "$opt" | tr -d ' -')
  arm-none-eabi-gcc -std=c11 -mcpu=cortex-m4 -mthumb $opt -ffunction-sections -fdata-sections \
    -ffreestanding -Wall -Wextra -Werror -Icommon -I"$out" -nostartfiles -T tests/bench/m4/link.ld \
    -Wl,--gc-sections -o "$out/test_m4_$tag.elf" tests/bench/m4/startup.c tests/bench/m4/test_m4.c \
    common/ota_sha2.c common/ota_ct.c -lc
  set +e
  timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$out/test_m4_$tag.elf" > "$out/test_m4_$tag.log" 2>&1
  rc=$?
  set -e
  grep -v '^test_m4: [0-9]* passed' "$out/test_m4_$tag.log" || true
  line=$(grep -E '^test_m4: [0-9]+ passed, [0-9]+ failed' "$out/test_m4_$tag.log" | tail -n 1)
  p=$(sed -E 's/^test_m4: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"${line:-test_m4: 0 passed, 1 failed}")
  f=$(sed -E 's/^test_m4: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"${line:-test_m4: 0 passed, 1 failed}")
  if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; fi
  echo "cortex-m4 $opt: $p checks passed, $f failed (qemu exit $rc)"
  # one case per build (its thousands of vectors are checks, not cases)
  checks=$((checks + p + f))
  if [ "$f" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "test_m4: $pass passed, $fail failed ($checks checks)"
[ "$fail" = 0 ]

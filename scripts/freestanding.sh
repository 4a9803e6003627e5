#!/usr/bin/env bash
# Freestanding check of common/ (run by `make test`):
#   1. every common/*.c compiles with -ffreestanding -nostdlib -Werror for the
#      host and for Cortex-M4 (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os);
#   2. `nm -u` of the objects names nothing beyond memcpy memset memmove memcmp
#      (what gcc itself may emit calls to; no libgcc helper is needed today,
#      see ALLOWED_ARM to add one deliberately);
#   3. every global symbol defined there starts with ota_.
# Prints "freestanding: N passed, N failed" and exits non-zero on a failure.
set -uo pipefail
cd "${OTA_ROOT:-$(dirname "$0")/..}"
out="${OTA_BUILD:-build}/freestanding"
rm -rf "$out"; mkdir -p "$out/host" "$out/arm"

pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

ALLOWED="memcpy memset memmove memcmp"
ALLOWED_ARM="$ALLOWED"
WARN="-Wall -Wextra -Wpedantic -Wshadow -Werror"

check_objs() {   # $1 = label, $2 = nm, $3 = allowed list, rest = objects
  local label=$1 nm=$2 allowed=$3; shift 3
  local sym
  for sym in $($nm -u "$@" 2>/dev/null | awk 'NF >= 2 {print $NF} NF == 1 {print $1}' | grep -v ':$' | sort -u); do
    if [[ " $allowed " == *" $sym "* ]]; then ok; else bad "$label: common/ needs undefined symbol '$sym'"; fi
  done
  for sym in $($nm -g --defined-only "$@" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u); do
    if [[ $sym == ota_* ]]; then ok; else bad "$label: exported symbol '$sym' lacks the ota_ prefix"; fi
  done
}

srcs=(common/*.c)
host_objs=(); arm_objs=()
for src in "${srcs[@]}"; do
  base=$(basename "$src" .c)
  if ${CC:-cc} -std=c11 -Os -ffreestanding -nostdlib -fno-stack-protector $WARN -Icommon \
       -c "$src" -o "$out/host/$base.o"; then
    ok; host_objs+=("$out/host/$base.o")
  else
    bad "host freestanding build of $src"
  fi
  if command -v arm-none-eabi-gcc >/dev/null; then
    if arm-none-eabi-gcc -std=c11 -mcpu=cortex-m4 -mthumb -Os -ffreestanding -nostdlib $WARN \
         -Icommon -c "$src" -o "$out/arm/$base.o"; then
      ok; arm_objs+=("$out/arm/$base.o")
    else
      bad "Cortex-M4 build of $src"
    fi
  fi
done
command -v arm-none-eabi-gcc >/dev/null || bad "arm-none-eabi-gcc missing (scripts/deps.sh test installs it)"

# Link each set into one relocatable object so calls between common/ files
# resolve and only what the outside must provide stays undefined.
if [ ${#host_objs[@]} -gt 0 ]; then
  if ${CC:-cc} -r -nostdlib -o "$out/host/common.o" "${host_objs[@]}"; then
    ok; check_objs host nm "$ALLOWED" "$out/host/common.o"
  else bad "host: partial link of common/"; fi
fi
if [ ${#arm_objs[@]} -gt 0 ]; then
  if arm-none-eabi-gcc -r -nostdlib -o "$out/arm/common.o" "${arm_objs[@]}"; then
    ok; check_objs cortex-m4 arm-none-eabi-nm "$ALLOWED_ARM" "$out/arm/common.o"
  else bad "cortex-m4: partial link of common/"; fi
fi

echo "freestanding: ${#srcs[@]} files of common/ built for host and Cortex-M4; Cortex-M4 undefined symbols: $(arm-none-eabi-nm -u "$out/arm/common.o" 2>/dev/null | awk 'NF{print $NF}' | sort -u | tr '\n' ' ')"
echo "freestanding: $pass passed, $fail failed"
[ "$fail" = 0 ]

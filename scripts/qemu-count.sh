#!/usr/bin/env bash
# Instructions per Ed25519 verify on Cortex-M4, counted on qemu.
#
#   scripts/qemu-count.sh [BUILD]
#
# Builds tests/bench/m4/ (our vector table, linker script and semihosting;
# common/ compiled with -mcpu=cortex-m4 -mthumb -Os, newlib's mem*), runs it
# on qemu-system-arm -M mps2-an386 with -icount shift=0: the virtual clock
# then advances exactly 1 ns per executed instruction, and SysTick, clocked
# at the board's 25 MHz, ticks once per 40 instructions.  The image checks
# that relation on a loop of known length and prints counts = ticks * 40.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
out="$BUILD/m4"
mkdir -p "$out"
if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null; then
  echo "qemu-count: arm-none-eabi-gcc or qemu-system-arm missing; skipped"; exit 0
fi
M4="-mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections"
${CC:-cc} -O2 -o "$out/gen_vector" tests/bench/m4/gen_vector.c -lsodium
"$out/gen_vector" > "$out/vector.h"
arm-none-eabi-gcc -std=c11 $M4 -ffreestanding -Wall -Wextra -Icommon -I"$out" \
  -nostartfiles -T tests/bench/m4/link.ld -Wl,--gc-sections \
  -o "$out/bench_m4.elf" tests/bench/m4/startup.c tests/bench/m4/bench_m4.c \
  common/ota_sha2.c common/ota_ct.c -lc
timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0,sleep=off \
  -kernel "$out/bench_m4.elf" 2>&1 | tee "$out/qemu-count.txt"
n=$(sed -n 's/^verify (600-byte message): \([0-9]*\) instructions.*/\1/p' "$out/qemu-count.txt")
if [ -n "$n" ]; then
  echo "reference figures for peers (instructions per verify, measured elsewhere on this machine kind):"
  awk -v n="$n" 'BEGIN {
    printf "  Monocypher 4.0.3  1.75 M  -> ours/theirs %.2f\n", n / 1750000
    printf "  orlp/ed25519      1.36 M  -> ours/theirs %.2f\n", n / 1360000
    printf "qemu-count: %.2f M instructions per verify of a 600-byte message on Cortex-M4 (target <= 1.4 M)\n", n / 1e6 }'
fi

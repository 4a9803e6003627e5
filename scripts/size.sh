#!/usr/bin/env bash
# make size: Cortex-M4 footprint of the Ed25519 verify path of common/.
#
#   scripts/size.sh [BUILD]
#
# Code: arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections
# -fdata-sections, linked with --gc-sections from an entry that calls only
# ota_ed25519_verify (tests/bench/m4/size_entry.c), so what is left is the
# verify path: Ed25519, SHA-512, the constant-time compare, the base-point
# table, and byte-loop mem* functions.  Code bytes = .text + .rodata.
# Stack: per-function frames from -fstack-usage, walked over the call graph
# from -fcallgraph-info=su (the .ci files gcc writes); the worst path from
# ota_ed25519_verify is printed.  Static RAM: .data + .bss.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
out="$BUILD/size"
rm -rf "$out"; mkdir -p "$out"
if ! command -v arm-none-eabi-gcc >/dev/null; then
  echo "size: arm-none-eabi-gcc not installed (scripts/deps.sh test installs it)"; exit 0
fi
CFLAGS="-std=c11 -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -ffreestanding
        -Wall -Wextra -Werror -Icommon -fstack-usage -fcallgraph-info=su"
srcs=(common/ota_ed25519.c common/ota_sha2.c common/ota_ct.c tests/bench/m4/size_entry.c)
objs=()
for s in "${srcs[@]}"; do
  o="$out/$(basename "$s" .c).o"
  extra=""
  [[ $s == *size_entry.c ]] && extra="-fno-builtin -fno-tree-loop-distribute-patterns"
  (cd "$out" && arm-none-eabi-gcc $(echo $CFLAGS | sed "s#-Icommon#-I$OLDPWD/common#") $extra \
      -c "$OLDPWD/$s" -o "$(basename "$o")")
  objs+=("$o")
done
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -nostdlib -nostartfiles -Wl,--gc-sections \
  -Wl,-e,size_entry -Wl,-Map,"$out/verify.map" -o "$out/verify.elf" "${objs[@]}"

read -r text rodata data bss < <(arm-none-eabi-size -A "$out/verify.elf" | awk '
  $1 == ".text" {t = $2} $1 == ".rodata" {r = $2} $1 == ".data" {d = $2} $1 == ".bss" {b = $2}
  END {print t + 0, r + 0, d + 0, b + 0}')
code=$((text + rodata))
ram=$((data + bss))

# Per-part breakdown from the symbol sizes that survived gc-sections.
arm-none-eabi-nm --print-size --size-sort "$out/verify.elf" > "$out/verify.syms"
breakdown() { # $1 = object
  arm-none-eabi-nm --print-size "$out/$1.o" 2>/dev/null | awk 'NF == 4 {print $4}' | sort -u > "$out/$1.names"
  awk 'NR == FNR {want[$1] = 1; next} NF == 4 && ($4 in want) {s += strtonum("0x" $2)} END {print s + 0}' \
    "$out/$1.names" "$out/verify.syms" 2>/dev/null ||
  awk 'NR == FNR {want[$1] = 1; next} NF == 4 && ($4 in want) {cmd = "printf %d 0x" $2; cmd | getline v; close(cmd); s += v} END {print s + 0}' \
    "$out/$1.names" "$out/verify.syms"
}

# Worst-case stack: longest path in the call graph from ota_ed25519_verify.
# The Cortex-M4 multiply is an inline-assembly block that moves sp itself;
# gcc cannot see that, so its extra bytes (FE_MUL_ASM_STACK in the generated
# header) are added to fe_mul's frame.
asm_extra=$(sed -n 's/^#define FE_MUL_ASM_STACK \([0-9]*\).*/\1/p' common/ota_fe25519_m4.h 2>/dev/null)
stack_report=$(cat "$out"/*.ci | awk -v asm_extra="${asm_extra:-0}" '
  function base(t) { sub(/^.*:/, "", t); return t }
  /^node:/ {
    match($0, /title: "[^"]*"/); t = base(substr($0, RSTART + 8, RLENGTH - 9))
    if (match($0, /\\n[0-9]+ bytes/)) { s = substr($0, RSTART + 2, RLENGTH - 2); sub(/ bytes/, "", s); frame[t] = s + 0 }
    else if (!(t in frame)) frame[t] = 0
  }
  /^edge:/ {
    match($0, /sourcename: "[^"]*"/); a = base(substr($0, RSTART + 13, RLENGTH - 14))
    match($0, /targetname: "[^"]*"/); b = base(substr($0, RSTART + 13, RLENGTH - 14))
    if (!((a, b) in seen)) { seen[a, b] = 1; n[a]++; callee[a, n[a]] = b }
  }
  function worst(f,    i, w, best, bp) {
    if (f in memo) return memo[f]
    if (onpath[f]) { recursive = 1; return 0 }
    onpath[f] = 1; best = 0; bp = ""
    for (i = 1; i <= n[f]; i++) { w = worst(callee[f, i]); if (w > best) { best = w; bp = callee[f, i] } }
    onpath[f] = 0; next_on[f] = bp
    memo[f] = frame[f] + best
    return memo[f]
  }
  END {
    if ("fe_mul" in frame) frame["fe_mul"] += asm_extra
    total = worst("ota_ed25519_verify"); path = ""
    for (f = "ota_ed25519_verify"; f != ""; f = next_on[f]) path = path (path ? " > " : "") f "(" frame[f] ")"
    print total; print path; print recursive + 0
  }')
stack=$(sed -n 1p <<<"$stack_report"); path=$(sed -n 2p <<<"$stack_report"); rec=$(sed -n 3p <<<"$stack_report")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "== make size: Ed25519 verify path on Cortex-M4 (arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion), -Os -mthumb)"
printf "  code (.text+.rodata):   %6d bytes  (target <= 10240)  [.text %d, .rodata %d]\n" "$code" "$text" "$rodata"
printf "    of which ed25519 %d, sha2 %d, ct %d, mem* + entry %d (symbol sizes)\n" \
  "$(breakdown ota_ed25519)" "$(breakdown ota_sha2)" "$(breakdown ota_ct)" "$(breakdown size_entry)"
printf "  worst-case stack:       %6d bytes  (target <= 1536)  -fstack-usage frames over -fcallgraph-info graph%s\n" \
  "$stack" "$([ "$rec" = 1 ] && echo ', RECURSION FOUND' || true)"
printf "    deepest path: %s\n" "$path"
printf "  static RAM (.data+.bss): %5d bytes  (target 0)\n" "$ram"
kb() { awk -v a="$1" 'BEGIN {printf "%.2f", a / 1024}'; }
echo "  reference figures for peers' verify paths (measured elsewhere on this machine kind, not in this run):"
printf "    Monocypher 4.0.3  11.5 KB code, 1.67 KB stack -> ours/theirs: code %s, stack %s\n" \
  "$(ratio "$(kb "$code")" 11.5)" "$(ratio "$(kb "$stack")" 1.67)"
printf "    orlp/ed25519      17.8 KB code, 3.3 KB stack  -> ours/theirs: code %s, stack %s\n" \
  "$(ratio "$(kb "$code")" 17.8)" "$(ratio "$(kb "$stack")" 3.3)"
printf "size: code %s KB, stack %s KB, static RAM %d B\n" "$(kb "$code")" "$(kb "$stack")" "$ram"

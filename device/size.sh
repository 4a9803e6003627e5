#!/usr/bin/env bash
# device/size.sh BUILD: Cortex-M4 footprint of the update state machine
# (common/ota_update.c), printed by `make size` next to the verifier's.
#
# Method (the same as the verifier's figures): arm-none-eabi-gcc
# -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections, linked with
# -Wl,--gc-sections keeping the public entry points; code bytes are the sizes
# of the linked symbols, attributed to the object that defines them.  Stack:
# -fstack-usage frames combined along the call graph GCC writes with
# -fcallgraph-info=su (worst path from each entry point), not counting what
# the port's flash functions use (indirect calls).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
out="$BUILD/size/device"
mkdir -p "$out"
CC=arm-none-eabi-gcc
FLAGS=(-std=c11 -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -ffreestanding
       -fstack-usage -fcallgraph-info=su -Icommon)
srcs=(ota_update ota_sha2 ota_ct)
for f in "${srcs[@]}"; do
  "$CC" "${FLAGS[@]}" -c "common/$f.c" -o "$out/$f.o"
done
entries=(ota_boot ota_confirm ota_status_read ota_install_begin ota_install_write
         ota_install_finish ota_install_offset ota_dev_check)
keep=()
for s in "${entries[@]}"; do keep+=("-Wl,--require-defined=$s"); done
"$CC" -mcpu=cortex-m4 -mthumb --specs=nano.specs -nostartfiles -Wl,--gc-sections \
  -Wl,-e,ota_boot "${keep[@]}" "$out/ota_update.o" "$out/ota_sha2.o" "$out/ota_ct.o" \
  -o "$out/state-machine.elf"

# code bytes per object: symbols kept in the ELF, by the object defining them
sum_for() {
  arm-none-eabi-nm -S --defined-only "$out/state-machine.elf" | awk -v list="$(arm-none-eabi-nm --defined-only "$1" | awk '{print $3}' | tr '\n' ' ')" '
    BEGIN { n = split(list, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
    function hex(h,   i, v) { v = 0; h = tolower(h)
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v }
    NF == 4 && ($4 in want) { s += hex($2) }
    END { print s + 0 }'
}
sm=$(sum_for "$out/ota_update.o")
sha=$(( $(sum_for "$out/ota_sha2.o") + $(sum_for "$out/ota_ct.o") ))
total=$(arm-none-eabi-size -A "$out/state-machine.elf" | awk '$1 ~ /^\.(text|rodata)/ { s += $2 } END { print s + 0 }')

# worst-case stack per entry point from the call graphs
stack=$(cat "$out"/*.ci | awk -v entries="${entries[*]}" '
  /^node:/ {
    t = $0; sub(/.*title: "/, "", t); sub(/".*/, "", t)
    b = 0
    if (match($0, /\\n[0-9]+ bytes/)) { b = substr($0, RSTART + 2, RLENGTH - 2); sub(/ bytes/, "", b) }
    frame[t] = b + 0
  }
  /^edge:/ {
    s = $0; sub(/.*sourcename: "/, "", s); sub(/".*/, "", s)
    d = $0; sub(/.*targetname: "/, "", d); sub(/".*/, "", d)
    if (!((s, d) in seen)) { seen[s, d] = 1; nout[s]++; out[s, nout[s]] = d }
  }
  function worst(f, depth,   i, m, w) {
    if (f in memo) return memo[f]
    if (depth > 64) return 0
    m = 0
    for (i = 1; i <= nout[f]; i++) { w = worst(out[f, i], depth + 1); if (w > m) m = w }
    memo[f] = frame[f] + m
    return memo[f]
  }
  END {
    n = split(entries, e, " "); best = 0
    for (i = 1; i <= n; i++) { w = worst(e[i], 0); printf "%s=%d ", e[i], w; if (w > best) best = w }
    printf "max=%d\n", best
  }')
max=${stack##*max=}

echo "state machine (common/ota_update.c), Cortex-M4 -Os, gc-sections:"
printf '  code: %6d bytes own + %d bytes SHA-256 (shared with the verifier) = %d bytes linked with libc mem*\n' \
  "$sm" "$sha" "$total"
printf '  RAM:  0 bytes static; caller-owned ota_install context %s bytes\n' \
  "$(printf '#include "ota_update.h"\nunsigned long x = sizeof(ota_install);\n' | "$CC" -mcpu=cortex-m4 -mthumb -Os -Icommon -x c -S -o - - | awk '/\.word/ {print $2; exit}')"
printf '  stack: worst case %d bytes (excluding the port'"'"'s flash functions)\n' "$max"
echo "  per entry: ${stack% max=*}"

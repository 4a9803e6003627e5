#!/usr/bin/env bash
# The one error table: device/espruino/ota_err.js is what ota-errtable
# generates from common/ota_err.h, and every "NAME: number" / "OTA_ERR_NAME =
# number" pair naming an ota_err in device/espruino/*.js (the agent may embed
# codes as numbers) agrees with the C table.
set -u
: "${OTA_BIN:=build/bin}"
: "${OTA_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$OTA_ROOT"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
tsv=$("$OTA_BIN/ota-errtable" tsv) || { bad "ota-errtable tsv"; echo "test_errtable: $pass passed, $fail failed"; exit 1; }
if "$OTA_BIN/ota-errtable" js | cmp -s - device/espruino/ota_err.js; then ok
else bad "device/espruino/ota_err.js is not what ota-errtable js generates (make errtable)"; fi
# the new codes of the report contract
grep -qx $'80\tAPP_THREW\tprogram threw at start' <<<"$tsv" && ok || bad "80 APP_THREW missing"
grep -qx $'81\tNOT_CONFIRMED\tnot confirmed after N attempts' <<<"$tsv" && ok || bad "81 NOT_CONFIRMED missing"
# values unique
[ "$(cut -f1 <<<"$tsv" | sort | uniq -d)" = "" ] && ok || bad "duplicate values"
# every NAME: n pair in the JavaScript sources
declare -A val
while IFS=$'\t' read -r v n t; do val[$n]=$v; done <<<"$tsv"
checked=0
for f in device/espruino/*.js; do
    while read -r name num; do
        name=${name#OTA_ERR_}
        [ -n "${val[$name]+x}" ] || continue
        checked=$((checked + 1))
        if [ "${val[$name]}" = "$num" ]; then ok; else bad "$f: $name is $num, the C table says ${val[$name]}"; fi
    done < <(grep -oE '\b(OTA_ERR_)?[A-Z][A-Z_]*[A-Z]"?[[:space:]]*[:=][[:space:]]*[0-9]+' "$f" | tr -d '"' | sed -E 's/[[:space:]]*[:=][[:space:]]*/ /')
done
echo "checked $checked NAME: number pairs in device/espruino/*.js"
[ "$checked" -ge 30 ] && ok || bad "fewer pairs than the table has ($checked)"
echo "test_errtable: $pass passed, $fail failed"
[ "$fail" = 0 ]

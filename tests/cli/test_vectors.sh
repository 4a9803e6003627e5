#!/usr/bin/env bash
# The golden vectors through the CLI: `otasign verify` (libsodium-side tool,
# common/ verifier) and `otasign inspect` must reach every expected verdict of
# manifests/vectors/vectors.txt, the same ones tests/unit/test_release.c
# checks in C; and mkvectors must regenerate the committed bytes exactly.
set -uo pipefail
ROOT="${OTA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
BIN="${OTA_BIN:-$ROOT/build/bin}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
OTASIGN="$BIN/otasign"
V="$ROOT/manifests/vectors"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

# 1. Regenerating gives the same bytes.
if "$BIN/mkvectors" "$TMP/regen" >/dev/null 2>&1 && diff -r "$V" "$TMP/regen" >/dev/null; then ok
else bad "mkvectors output differs from manifests/vectors (diff -r $V <(mkvectors))"; fi

# 2. Every case.
declare -A D
n=0
while read -r first rest; do
  case "$first" in
    defaults) for kv in $rest; do D[${kv%%=*}]=${kv#*=}; done; continue ;;
    case) ;;
    *) continue ;;
  esac
  declare -A C=()
  for kv in $rest; do C[${kv%%=*}]=${kv#*=}; done
  g() { if [ -n "${C[$1]+x}" ]; then echo "${C[$1]}"; else echo "${D[$1]:-}"; fi; }
  name=$(g name); kind=$(g kind); expect=$(g expect)
  args=("$V/$(g statement)" --pub "$V/$(g pub)" --app "$(g app)" --board "$(g board)"
        --running "$(g running)" --max-size "$(g max)" --encodings identity)   # the vectors' device: ota_device.encodings 0
  [ -n "$(g bundle)" ] && args+=(--bundle "$V/$(g bundle)")
  [ -n "$(g firmware)" ] && args+=(--firmware "$(g firmware)")
  if [ "$kind" = decide ]; then
    args+=(--ticket "$V/$(g ticket)" --server-pub "$V/$(g server_pub)" --device "$(g device)"
           --nonce "$(g nonce)" --tier "$(g tier)")
    if [ "$(g tier)" = mac ]; then args+=(--secret-file "$V/$(g secret)" --mac-file "$V/$(g mac)"); fi
  fi
  out=$("$OTASIGN" verify "${args[@]}" 2>&1); rc=$?
  if [ "$expect" = OTA_OK ]; then
    if [ $rc = 0 ]; then ok; else bad "$name: verify exit $rc, expected OK: $out"; fi
  else
    if [ $rc = 1 ] && grep -q "($expect)" <<<"$out"; then ok
    else bad "$name: verify exit $rc, expected $expect: $out"; fi
  fi
  if [ "$kind" = statement ]; then
    parse=$(g parse)
    out=$("$OTASIGN" inspect --type statement "$V/$(g statement)" 2>&1); rc=$?
    if [ "$parse" = OTA_OK ]; then
      if [ $rc = 0 ] && grep -q '^  app ' <<<"$out"; then ok; else bad "$name: inspect exit $rc, expected OK: $out"; fi
    else
      if [ $rc = 1 ] && grep -q "$parse" <<<"$out"; then ok; else bad "$name: inspect exit $rc, expected $parse: $out"; fi
    fi
  fi
  n=$((n + 1))
done < "$V/vectors.txt"
[ $n -ge 80 ] && ok || bad "only $n cases read"

# 3. inspect shows tickets and keys of the vectors.
"$OTASIGN" inspect "$V/d-valid.ticket" | grep -q 'device_id *"dev-0001"' && ok || bad "inspect ticket"
"$OTASIGN" inspect "$V/release.pub" | grep -q 'key_id *65b60673d6ed884b' && ok || bad "inspect pub"

echo "test_vectors: $pass passed, $fail failed"
[ $fail = 0 ]

#!/usr/bin/env bash
# Key sets through otasign (manifests/FORMAT.md section 13): every golden
# vector of manifests/vectors/keysets.txt through `otasign keyset verify`
# (and `otasign verify FILE.ks`) and `otasign inspect`, then the operator's
# flows: keygen --root, keyset make (signed here, and --unsigned), the offline
# sign + attach with 2 of 3 roots, refusals (lower version, unknown root,
# threshold not met, tampered bytes, expired, duplicate key, existing output),
# reproducible bytes, exit codes.
set -uo pipefail
ROOT="${OTA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
BIN="${OTA_BIN:-$ROOT/build/bin}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
O="$BIN/otasign"
V="$ROOT/manifests/vectors"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() {
  local want=$1 desc=$2; shift 2
  OUT=$("$@" 2>&1); local rc=$?
  if [ "$rc" = "$want" ]; then ok; else bad "$desc: exit $rc, expected $want: $OUT"; fi
}
has() { if grep -qF -- "$1" <<<"$OUT"; then ok; else bad "$2: output lacks '$1': $OUT"; fi; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
unset OTASIGN_PASSPHRASE

# ---- 1. the vectors -----------------------------------------------------------
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
  name=$(g name); expect_=$(g expect); parse=$(g parse)
  args=("$V/$(g keyset)" --threshold "$(g threshold)" --current "$(g current)")
  IFS=, read -ra rs <<<"$(g roots)"
  for r in "${rs[@]}"; do args+=(--root "$V/$r"); done
  out=$("$O" keyset verify "${args[@]}" 2>&1); rc=$?
  if [ "$expect_" = OTA_OK ]; then
    if [ $rc = 0 ]; then ok; else bad "$name: keyset verify exit $rc, expected OK: $out"; fi
    if [ -n "$(g keys)" ]; then
      IFS=, read -ra ks <<<"$(g keys)"
      i=0; for k in "${ks[@]}"; do
        if grep -q "key $i .* $k " <<<"$out"; then ok; else bad "$name: key $i is not $k: $out"; fi
        i=$((i + 1))
      done
    fi
  else
    if [ $rc = 1 ] && grep -q "($expect_)" <<<"$out"; then ok; else bad "$name: keyset verify exit $rc, expected $expect_: $out"; fi
  fi
  out=$("$O" inspect --type keyset "$V/$(g keyset)" 2>&1); rc=$?
  if [ "$parse" = OTA_OK ]; then
    if [ $rc = 0 ] && grep -q '^  version ' <<<"$out"; then ok; else bad "$name: inspect exit $rc: $out"; fi
  else
    if [ $rc = 1 ] && grep -q "$parse" <<<"$out"; then ok; else bad "$name: inspect exit $rc, expected $parse: $out"; fi
  fi
  n=$((n + 1))
done < "$V/keysets.txt"
[ $n -ge 40 ] && ok || bad "only $n key-set cases read"
# otasign verify reaches the same code for a key set
expect 0 "otasign verify FILE.ks" "$O" verify "$V/k-valid.ks" --root "$V/root1.pub"
has "OK: key set version 1" "verify ks"
expect 1 "otasign verify FILE.ks, unknown root" "$O" verify "$V/k-valid.ks" --root "$V/root3.pub"
has "OTA_ERR_UNKNOWN_KEY" "verify ks unknown root"

# ---- 2. keys ------------------------------------------------------------------------
cd "$T"
expect 0 "keygen --root" "$O" keygen --root --out r1
has "root key" "keygen --root says so"
has "ota_root_pub" "keygen --root C array name"
expect 0 "keygen --root r2" "$O" keygen --root --out r2
printf 'correct horse battery\n' > pass.txt
expect 0 "keygen --root r3 with passphrase" "$O" keygen --root --out r3 --passphrase-file pass.txt
expect 0 "keygen rel1" "$O" keygen --out rel1
expect 0 "keygen rel2" "$O" keygen --out rel2

# ---- 3. make, signed here -----------------------------------------------------------------
export SOURCE_DATE_EPOCH=1700000000
expect 0 "make v1" "$O" keyset make --version 1 --key rel1.pub --root r1.key --out ks1.ks
has "version 1, 1 key, threshold 1" "make v1 summary"
expect 0 "verify v1" "$O" keyset verify ks1.ks --root r1.pub --root r2.pub
expect 1 "verify v1 against r2 only" "$O" keyset verify ks1.ks --root r2.pub
has "OTA_ERR_UNKNOWN_KEY" "unknown root"
expect 1 "verify v1 with device threshold 2" "$O" keyset verify ks1.ks --root r1.pub --root r2.pub --threshold 2
has "OTA_ERR_UNKNOWN_KEY" "threshold not met"
expect 1 "make refuses an existing output" "$O" keyset make --version 1 --key rel1.pub --root r1.key --out ks1.ks
has "already exists" "existing output"
cp ks1.ks ks1-copy.ks
expect 0 "make --force" "$O" keyset make --version 1 --key rel1.pub --root r1.key --out ks1.ks --force
if cmp -s ks1.ks ks1-copy.ks; then ok; else bad "same inputs + SOURCE_DATE_EPOCH gave different bytes"; fi
# rotation: v2 lists both keys; revocation: v3 lists rel2 only
expect 0 "make v2 (rotate)" "$O" keyset make --version 2 --key rel1.pub --key rel2.pub --root r1.key --out ks2.ks
expect 0 "verify v2 over v1" "$O" keyset verify ks2.ks --root r1.pub --current 1
expect 0 "make v3 (revoke rel1)" "$O" keyset make --version 3 --key rel2.pub --root r1.key --out ks3.ks
expect 1 "v2 after v3 is refused" "$O" keyset verify ks2.ks --root r1.pub --current 3
has "OTA_ERR_NOT_NEWER" "lower version"
expect 1 "equal version refused" "$O" verify ks3.ks --root r1.pub --current 3
has "OTA_ERR_NOT_NEWER" "equal version"
expect 0 "inspect v3" "$O" inspect ks3.ks
has "keys               1" "inspect key count"
rel2id=$("$O" inspect rel2.pub | awk '/key_id/ {print $2}')
has "$rel2id" "inspect lists rel2"
# tampering: one byte of the body, one of the signature
for off in 8 40 400; do
  cp ks3.ks t.ks; printf '\x55' | dd of=t.ks bs=1 seek=$off conv=notrunc 2>/dev/null
  expect 1 "tampered byte $off refused" "$O" keyset verify t.ks --root r1.pub
done
# refusals at make time
expect 1 "duplicate key" "$O" keyset make --version 4 --key rel1.pub --key rel1.pub --root r1.key --out d.ks
expect 1 "expires before created" "$O" keyset make --version 4 --key rel1.pub --expires 1600000000 --root r1.key --out d.ks
expect 0 "expired set can be made (past time)" "$O" keyset make --version 4 --key rel1.pub --expires 1700000100 --root r1.key --out exp.ks
expect 1 "verify refuses an expired set" "$O" keyset verify exp.ks --root r1.pub
has "expired" "expired message"
expect 2 "make without --version" "$O" keyset make --key rel1.pub --root r1.key --out x.ks
expect 2 "make --version 0" "$O" keyset make --version 0 --key rel1.pub --root r1.key --out x.ks
expect 2 "make --threshold 9" "$O" keyset make --version 1 --threshold 9 --key rel1.pub --root r1.key --out x.ks
expect 2 "make threshold 2 with one root" "$O" keyset make --version 1 --threshold 2 --key rel1.pub --root r1.key --out x.ks
expect 1 "make with a bad key file" "$O" keyset make --version 1 --key app.js --root r1.key --out x.ks
if [ ! -e x.ks ] && [ ! -e d.ks ]; then ok; else bad "a refused make left a file"; fi
expect 2 "unknown subcommand" "$O" keyset frob
expect 0 "keyset --help" "$O" keyset --help
expect 2 "make with 9 keys" "$O" keyset make --version 1 --key rel1.pub --key rel1.pub --key rel1.pub --key rel1.pub --key rel1.pub --key rel1.pub --key rel1.pub --key rel1.pub --key rel1.pub --root r1.key --out x.ks

# ---- 4. offline: unsigned body, two roots sign, attach (2 of 3) ----------------------------
expect 0 "make --unsigned" "$O" keyset make --version 5 --threshold 2 --key rel2.pub --unsigned --out ks5.kstbs
has "UNSIGNED" "unsigned summary"
[ "$(stat -c %s ks5.kstbs)" = 352 ] && ok || bad "body is not 352 bytes"
expect 0 "inspect body" "$O" inspect ks5.kstbs
has "UNSIGNED body" "inspect says unsigned"
expect 1 "verify refuses a bare body" "$O" keyset verify ks5.kstbs --root r1.pub
has "OTA_ERR_TRUNCATED" "bare body truncated"
expect 0 "sign with r1" "$O" keyset sign ks5.kstbs --key r1.key
r1id=$("$O" inspect r1.pub | awk '/key_id/ {print $2}')
r3id=$("$O" inspect r3.pub | awk '/key_id/ {print $2}')
[ -f "ks5.$r1id.kssig" ] && ok || bad "default signature name ks5.$r1id.kssig"
has "version            5" "sign shows what it signs"
expect 0 "sign with r3 (passphrase)" "$O" keyset sign ks5.kstbs --key r3.key --passphrase-file pass.txt
expect 1 "sign with a wrong passphrase" "$O" keyset sign ks5.kstbs --key r3.key --passphrase-file app.js --out w.kssig --force
expect 1 "attach one signature, threshold 2" "$O" keyset attach ks5.kstbs --sig "ks5.$r1id.kssig" \
  --root r1.pub --root r2.pub --root r3.pub --threshold 2 --out ks5.ks
has "OTA_ERR_UNKNOWN_KEY" "one of two"
[ ! -e ks5.ks ] && ok || bad "refused attach wrote ks5.ks"
expect 1 "attach the same signature twice" "$O" keyset attach ks5.kstbs --sig "ks5.$r1id.kssig" --sig "ks5.$r1id.kssig" \
  --root r1.pub --root r2.pub --root r3.pub --threshold 2 --out ks5.ks
has "OTA_ERR_MALFORMED" "duplicate signer"
expect 0 "attach two roots" "$O" keyset attach ks5.kstbs --sig "ks5.$r1id.kssig" --sig "ks5.$r3id.kssig" \
  --root r1.pub --root r2.pub --root r3.pub --threshold 2 --out ks5.ks
has "2 of 3 roots verified" "attach summary"
expect 0 "verify 2 of 3" "$O" keyset verify ks5.ks --root r1.pub --root r2.pub --root r3.pub --threshold 2 --current 3
expect 1 "the set's own threshold 2 is not met by a device knowing only r1" "$O" keyset verify ks5.ks --root r1.pub
has "OTA_ERR_UNKNOWN_KEY" "set threshold"
expect 1 "sign refuses a signed set" "$O" keyset sign ks5.ks --key r1.key --out y.kssig
expect 1 "attach a release statement's signature size" "$O" keyset attach ks5.kstbs --sig app.js --root r1.pub --out z.ks
# a signature over another body does not attach
expect 0 "another body" "$O" keyset make --version 6 --key rel1.pub --unsigned --out ks6.kstbs
expect 1 "attach a signature of another body" "$O" keyset attach ks6.kstbs --sig "ks5.$r1id.kssig" --root r1.pub --out ks6.ks
has "OTA_ERR_BAD_SIGNATURE" "other body"

echo "test_keyset_cli: $pass passed, $fail failed"
[ $fail = 0 ]

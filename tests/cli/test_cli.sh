#!/usr/bin/env bash
# otasign end to end: keygen, release, sign/attach, verify, inspect; every
# single-byte change caught; wrong keys, sequences, apps and boards; bad key
# files; refusal to overwrite; interrupted writes; exit codes; --help.
set -uo pipefail
ROOT="${OTA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
BIN="${OTA_BIN:-$ROOT/build/bin}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
O="$BIN/otasign"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect RC DESC CMD...: run CMD, check its exit status; output in $OUT.
expect() {
  local want=$1 desc=$2; shift 2
  OUT=$("$@" 2>&1); local rc=$?
  if [ "$rc" = "$want" ]; then ok; else bad "$desc: exit $rc, expected $want: $OUT"; fi
}
# has TEXT DESC: the last output contains TEXT.
has() { if grep -qF -- "$1" <<<"$OUT"; then ok; else bad "$2: output lacks '$1': $OUT"; fi; }

T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
export SOURCE_DATE_EPOCH=1700000000
unset OTASIGN_PASSPHRASE OTASIGN_TEST_CRASH

cat > app.js <<'JS'
// A small Espruino program.
var count = 0;
function tick() {
  count = count + 1;
  digitalWrite(LED1, count % 2);
}
setInterval(tick, 1000);
JS

# ---- usage, --help, exit codes ----------------------------------------------
expect 2 "no command" "$O"
expect 0 "--help" "$O" --help
has "keygen" "--help lists commands"
expect 2 "unknown command" "$O" frobnicate
for c in keygen release sign attach verify inspect minify; do
  expect 0 "$c --help" "$O" $c --help
  has "usage: otasign $c" "$c --help"
done
expect 2 "keygen without --out" "$O" keygen
expect 2 "unknown option" "$O" keygen --out k --bogus
expect 2 "release without --app" "$O" release app.js --key x.key
expect 2 "release bad app name" "$O" release app.js --key x.key --app "a/b"
has "--app 'a/b'" "names the bad option"
expect 2 "release bad seq" "$O" release app.js --key x.key --app demo --seq 0
expect 2 "release bad label" "$O" release app.js --key x.key --app demo --label "$(printf 'a\tb')"
expect 2 "verify without --pub" "$O" verify x
expect 2 "inspect two files" "$O" inspect a b

# ---- keygen -------------------------------------------------------------------
expect 0 "keygen" "$O" keygen --out rel
has "key id:" "keygen prints key id"
has "static const uint8_t ota_release_pub[32]" "keygen prints C array"
has 'var OTA_RELEASE_PUB = "\x' "keygen prints JS string"
[ "$(stat -c %a rel.key)" = 600 ] && ok || bad "rel.key mode $(stat -c %a rel.key)"
[ "$(stat -c %s rel.key)" = 152 ] && ok || bad "rel.key size"
grep -qE '^[0-9a-f]{64}$' rel.pub && ok || bad "rel.pub format"
grep -qF "$(cat rel.pub)" <<<"$OUT" && ok || bad "printed hex = rel.pub"
cp rel.key rel.key.orig; cp rel.pub rel.pub.orig
expect 1 "keygen refuses overwrite" "$O" keygen --out rel
has "already exists" "overwrite message"
cmp -s rel.key rel.key.orig && cmp -s rel.pub rel.pub.orig && ok || bad "refused keygen changed files"
touch lonely.pub
expect 1 "keygen refuses when only .pub exists" "$O" keygen --out lonely
[ ! -e lonely.key ] && ok || bad "keygen wrote lonely.key"
expect 0 "keygen --force" "$O" keygen --out other --force
expect 0 "keygen --force over existing" "$O" keygen --out other --force
ls other.key.tmp-* >/dev/null 2>&1 && bad "temp files left by keygen" || ok
expect 0 "inspect key" "$O" inspect rel.key
has "none" "inspect key shows protection"
grep -qF "$(cat rel.pub)" <<<"$OUT" && ok || bad "inspect key shows public key"

# Passphrase-protected keys.
OTASIGN_PASSPHRASE="correct horse" expect 0 "keygen with env passphrase" "$O" keygen --out enc
has "passphrase-protected" "keygen says protected"
echo "file secret" > pass.txt
expect 0 "keygen --passphrase-file" "$O" keygen --out enc2 --passphrase-file pass.txt
expect 0 "inspect protected key" "$O" inspect enc.key
has "argon2id" "protection shown"
OTASIGN_PASSPHRASE="correct horse" expect 0 "release with protected key" "$O" release app.js --key enc.key --app penc --out rp
OTASIGN_PASSPHRASE="wrong" expect 1 "release with wrong passphrase" "$O" release app.js --key enc.key --app penc --out rp
has "wrong passphrase" "wrong passphrase message"
expect 0 "release with --passphrase-file" "$O" release app.js --key enc2.key --app penc2 --out rp --passphrase-file pass.txt
if command -v setsid >/dev/null; then
  expect 1 "protected key without passphrase or tty" setsid -w "$O" release app.js --key enc.key --app penc --out rp
  has "passphrase" "no-passphrase message"
fi
expect 0 "verify release of protected key" "$O" verify rp/penc-1 --pub enc.pub
# The terminal prompt (a pseudo-terminal from script(1)): asked twice by keygen, once on use.
if command -v script >/dev/null; then
  tty_run() { local input="$1"; shift; printf "$input" | timeout 60 script -qec "$*" /dev/null; }
  OUT=$(tty_run 'tty pass 1\ntty pass 1\n' "$O" keygen --out ttyk --passphrase 2>&1); rc=$?
  [ $rc = 0 ] && ok || bad "keygen --passphrase on a tty: exit $rc: $OUT"
  "$O" inspect ttyk.key | grep -q argon2id && ok || bad "tty key not protected"
  OUT=$(tty_run 'one\ntwo\n' "$O" keygen --out ttyk2 --passphrase 2>&1); rc=$?
  [ $rc = 1 ] && grep -q "differ" <<<"$OUT" && [ ! -e ttyk2.key ] && ok || bad "differing tty passphrases: exit $rc: $OUT"
  OUT=$(tty_run 'tty pass 1\n' "$O" release app.js --key ttyk.key --app ptty --out rp 2>&1); rc=$?
  [ $rc = 0 ] && ok || bad "release with tty passphrase: exit $rc: $OUT"
  OUT=$(tty_run 'nope\n' "$O" release app.js --key ttyk.key --app ptty --out rp 2>&1); rc=$?
  [ $rc = 1 ] && grep -q "wrong passphrase" <<<"$OUT" && ok || bad "wrong tty passphrase: exit $rc: $OUT"
fi

# ---- release round trip --------------------------------------------------------
expect 0 "release" "$O" release app.js --key rel.key --app demo --board pico --label "first build" --out out
has "sequence   1" "first release is seq 1"
keyid=$("$O" inspect rel.pub | awk '$1 == "key_id" { print $2 }')
want_id=$(node -e 'const c=require("crypto");console.log(c.createHash("sha256").update(Buffer.from(process.argv[1],"hex")).digest("hex").slice(0,16))' "$(cat rel.pub)")
[ "$keyid" = "$want_id" ] && ok || bad "key id $keyid is not SHA-256(pub)[0..8] $want_id"
has "key id     $keyid" "summary key id"
has "bytes" "summary sizes"
[ -f out/demo-1/bundle.js ] && [ -f out/demo-1/statement.bin ] && [ -f out/demo-1/release.json ] && ok || bad "release dir layout"
[ "$(stat -c %s out/demo-1/statement.bin)" = 336 ] && ok || bad "statement size"
ls -a out | grep -q '^\.demo' && bad "temp dir left in out" || ok
node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));if(j.app!=="demo"||j.seq!==1||j.board!=="pico"||j.signed!==true||j.label!=="first build")process.exit(1)' out/demo-1/release.json && ok || bad "release.json content"
expect 0 "verify dir" "$O" verify out/demo-1 --pub rel.pub
has "signature valid" "verify says valid"
has "bundle.js" "verify checked the bundle"
expect 0 "verify file + bundle" "$O" verify out/demo-1/statement.bin --pub rel.pub --bundle out/demo-1/bundle.js
expect 0 "inspect dir" "$O" inspect out/demo-1
for f in magic version encoding key_id app board seq created size installed_size sha256 installed_sha256 source_sha256 label target signature; do
  grep -qE "^  $f " <<<"$OUT" && ok || bad "inspect lacks $f"
done
has '"first build"' "inspect label"
has "1700000000 (2023-11-14T22:13:20Z)" "inspect created from SOURCE_DATE_EPOCH"
src_sha=$(sha256sum app.js | cut -c1-64)
has "$src_sha" "source sha256 is the script's"
bundle_sha=$(sha256sum out/demo-1/bundle.js | cut -c1-64)
grep -qE "^  sha256 +$bundle_sha" <<<"$OUT" && ok || bad "sha256 is the bundle's"

# Sequences.
expect 0 "second release" "$O" release app.js --key rel.key --app demo --board pico --out out
has "sequence   2" "default seq = highest + 1"
expect 1 "equal --seq refused" "$O" release app.js --key rel.key --app demo --seq 2 --out out
has "not above" "equal seq message"
expect 1 "lower --seq refused" "$O" release app.js --key rel.key --app demo --seq 1 --out out
expect 0 "explicit --seq 10" "$O" release app.js --key rel.key --app demo --seq 10 --board pico --out out
expect 0 "next default" "$O" release app.js --key rel.key --app demo --board pico --out out
has "sequence   11" "default after 10"
expect 0 "other app starts at 1" "$O" release app.js --key rel.key --app demo2 --out out
has "sequence   1" "per-app sequence"

# Going back: re-release demo-1's bundle under a new, higher sequence.
expect 0 "release --from" "$O" release --from out/demo-1 --key rel.key --out out
has "sequence   12" "--from takes the next sequence"
cmp -s out/demo-1/bundle.js out/demo-12/bundle.js && ok || bad "--from changed the bundle"
expect 0 "verify --from release" "$O" verify out/demo-12 --pub rel.pub --running 11 --board pico
expect 0 "inspect --from release" "$O" inspect out/demo-12
has '"re-release of demo-1"' "--from default label"
has "$src_sha" "--from keeps the source hash"
expect 1 "--from with another app" "$O" release --from out/demo-1 --key rel.key --app weather --out out
cp -r out/demo-1 tampered-1; echo "x" >> tampered-1/bundle.js
expect 1 "--from with a tampered bundle" "$O" release --from tampered-1 --key rel.key --out out
has "does not match" "--from tamper message"
expect 2 "--from and a script" "$O" release app.js --from out/demo-1 --key rel.key --out out
# --from without --out: next to the release re-released (not ./APP-1), above
# every release of the app there; an explicit --seq that is not above is refused
expect 0 "release --from without --out" "$O" release --from out/demo-12 --key rel.key
has "sequence   13" "--from without --out: above every release in its directory"
test -f out/demo-13/statement.bin && ok || bad "--from without --out: not written next to the old release"
test ! -e demo-1 -a ! -e demo-13 && ok || bad "--from without --out wrote into the current directory"
expect 0 "release --from with a trailing slash" "$O" release --from out/demo-1/ --key rel.key
has "sequence   14" "--from out/demo-1/: next in out/"
expect 1 "--from with --seq not above" "$O" release --from out/demo-1 --key rel.key --seq 5
has "not above the highest release demo-14" "--from --seq message names the highest"
has "leave --seq out to get 15" "--from --seq message says what to do"
expect 0 "--from into an empty --out: above the re-released seq" "$O" release --from out/demo-12 --key rel.key --out fresh
has "sequence   13" "--from --out elsewhere: above the re-released release"

# Reproducible: same key, script and SOURCE_DATE_EPOCH give the same statement.
expect 0 "release again elsewhere" "$O" release app.js --key rel.key --app demo --board pico --label "first build" --out out2
cmp -s out/demo-1/statement.bin out2/demo-1/statement.bin && ok || bad "statement not reproducible"

# Device decisions through verify.
expect 1 "running = seq" "$O" verify out/demo-2 --pub rel.pub --running 2
has "OTA_ERR_NOT_NEWER" "equal sequence"
expect 1 "running > seq" "$O" verify out/demo-2 --pub rel.pub --running 7
has "OTA_ERR_NOT_NEWER" "lower sequence"
expect 0 "running < seq" "$O" verify out/demo-2 --pub rel.pub --running 1 --app demo --board pico
expect 1 "other app" "$O" verify out/demo-2 --pub rel.pub --app weather
has "OTA_ERR_WRONG_APP" "wrong app"
expect 1 "other board" "$O" verify out/demo-2 --pub rel.pub --board esp32
has "OTA_ERR_WRONG_BOARD" "wrong board"
expect 0 "any-board release fits every board" "$O" verify out/demo2-1 --pub rel.pub --board esp32
expect 1 "too big for slot" "$O" verify out/demo-2 --pub rel.pub --max-size 10
has "OTA_ERR_TOO_BIG" "too big"
expect 1 "wrong key" "$O" verify out/demo-1 --pub other.pub
has "OTA_ERR_UNKNOWN_KEY" "wrong key reason"
expect 0 "one of several keys" "$O" verify out/demo-1 --pub other.pub --pub rel.pub
# A key whose id collides is still checked by signature: fake a pub with rel's id? (ids are
# hashes of the key, so instead sign with other.key and claim rel's id.)

# ---- every single-byte change is caught --------------------------------------------
cp out/demo-1/statement.bin st.bin
size=$(stat -c %s st.bin)
missed=0
for ((i = 0; i < size; i++)); do
  cp st.bin t.bin
  b=$(od -An -tu1 -j$i -N1 st.bin | tr -d ' ')
  printf "$(printf '\\%03o' $(( (b ^ 0x01) & 255 )))" | dd of=t.bin bs=1 seek=$i conv=notrunc status=none
  "$O" verify t.bin --pub rel.pub --bundle out/demo-1/bundle.js >/dev/null 2>&1 && { missed=$((missed + 1)); echo "statement byte $i change accepted" >&2; }
done
[ $missed = 0 ] && ok || bad "$missed statement byte changes accepted"
cp out/demo-1/bundle.js bu.js
bsize=$(stat -c %s bu.js)
missed=0
for ((i = 0; i < bsize; i++)); do
  cp bu.js tb.js
  b=$(od -An -tu1 -j$i -N1 bu.js | tr -d ' ')
  printf "$(printf '\\%03o' $(( (b ^ 0x20) & 255 )))" | dd of=tb.js bs=1 seek=$i conv=notrunc status=none
  "$O" verify st.bin --pub rel.pub --bundle tb.js >/dev/null 2>&1 && { missed=$((missed + 1)); echo "bundle byte $i change accepted" >&2; }
done
[ $missed = 0 ] && ok || bad "$missed bundle byte changes accepted"
expect 1 "bundle hash mismatch reason" "$O" verify st.bin --pub rel.pub --bundle tb.js
has "OTA_ERR_HASH_MISMATCH" "bundle reason"
has "tb.js" "names the bundle file"
head -c -1 bu.js > short.js
expect 1 "short bundle" "$O" verify st.bin --pub rel.pub --bundle short.js
has "OTA_ERR_TRUNCATED" "short bundle reason"
head -c 100 st.bin > trunc.bin
expect 1 "truncated statement" "$O" verify trunc.bin --pub rel.pub
has "OTA_ERR_TRUNCATED" "truncated reason"
has "trunc.bin" "names the statement file"

# ---- bad key files ---------------------------------------------------------------
expect 1 "missing key" "$O" release app.js --key nope.key --app demo --out out
has "nope.key" "names missing key file"
mkdir dir.key
expect 1 "key is a directory" "$O" release app.js --key dir.key --app demo --out out
head -c 100 rel.key > short.key
expect 1 "truncated key" "$O" release app.js --key short.key --app demo --out out
has "short.key" "names truncated key"
head -c 152 /dev/urandom > random.key
expect 1 "random key file" "$O" release app.js --key random.key --app demo --out out
# flip_byte FILE OFFSET: invert one byte (always a change, whatever it held).
flip_byte() {
  local b; b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
  printf "\\x$(printf %02x $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp rel.key corrupt.key
flip_byte corrupt.key 20
expect 1 "corrupt key (pub differs)" "$O" release app.js --key corrupt.key --app demo --out out
has "corrupt" "corrupt message"
cp rel.key corrupt2.key
flip_byte corrupt2.key 110
expect 1 "corrupt key (seed differs)" "$O" release app.js --key corrupt2.key --app demo --out out
cp rel.key v2.key; printf '\x02' | dd of=v2.key bs=1 seek=4 conv=notrunc status=none
expect 1 "key version 2" "$O" release app.js --key v2.key --app demo --out out
has "version" "key version message"
expect 1 "pub given as key" "$O" release app.js --key rel.pub --app demo --out out
echo "zz" > bad.pub
expect 1 "bad pub file" "$O" verify out/demo-1 --pub bad.pub
has "bad.pub" "names bad pub"
sed 's/./g/' rel.pub > badhex.pub
expect 1 "bad hex pub" "$O" verify out/demo-1 --pub badhex.pub
expect 0 "secret key file accepted as pub" "$O" verify out/demo-1 --pub rel.key

# ---- offline signing ------------------------------------------------------------
expect 0 "release --unsigned" "$O" release app.js --unsigned --pub rel.pub --app off --board pico --out off
has "UNSIGNED" "unsigned summary"
[ "$(stat -c %s off/off-1/statement.tbs)" = 272 ] && [ ! -e off/off-1/statement.bin ] && ok || bad "unsigned layout"
expect 0 "inspect unsigned" "$O" inspect off/off-1
has "UNSIGNED body" "inspect says unsigned"
expect 1 "verify unsigned dir fails" "$O" verify off/off-1 --pub rel.pub
expect 1 "sign with the wrong key" "$O" sign off/off-1/statement.tbs --key other.key
has "names key id" "wrong key message"
[ ! -e off/off-1/statement.sig ] && ok || bad "sig written by wrong key"
expect 1 "sign refuses a signed statement" "$O" sign out/demo-1/statement.bin --key rel.key
expect 1 "sign refuses arbitrary bytes" "$O" sign app.js --key rel.key
expect 0 "sign" "$O" sign off/off-1/statement.tbs --key rel.key
[ "$(stat -c %s off/off-1/statement.sig)" = 64 ] && ok || bad "sig size"
cp off/off-1/statement.sig good.sig
flip_byte off/off-1/statement.sig 5
expect 1 "attach a bad signature" "$O" attach off/off-1 --pub rel.pub
has "OTA_ERR_BAD_SIGNATURE" "attach reason"
[ ! -e off/off-1/statement.bin ] && ok || bad "attach wrote a bad statement"
cp good.sig off/off-1/statement.sig
expect 1 "attach with the wrong pub" "$O" attach off/off-1 --pub other.pub
expect 0 "attach" "$O" attach off/off-1 --pub rel.pub
expect 0 "verify attached" "$O" verify off/off-1 --pub rel.pub --board pico --app off
node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));if(j.signed!==true||j.statement_file!=="statement.bin")process.exit(1)' off/off-1/release.json && ok || bad "release.json after attach"
expect 0 "signed = unsigned + sig" cmp off/off-1/statement.bin <(cat off/off-1/statement.tbs off/off-1/statement.sig)
# Offline sign of a file outside a release dir (--out names).
cp off/off-1/statement.tbs loose.tbs
expect 0 "sign --out" "$O" sign loose.tbs --key rel.key --out loose-sig.bin
expect 0 "attach file form" "$O" attach loose.tbs --sig loose-sig.bin --pub rel.pub --out loose.stmt
expect 0 "verify loose" "$O" verify loose.stmt --pub rel.pub
expect 1 "sign refuses overwrite of .sig" "$O" sign off/off-1/statement.tbs --key rel.key
expect 0 "sign --force" "$O" sign off/off-1/statement.tbs --key rel.key --force

# ---- interrupted writes: old or new, never a mix -------------------------------------------
cp rel.key keep.key; cp rel.pub keep.pub
OTASIGN_TEST_CRASH=before-rename expect 99 "keygen crash before rename" "$O" keygen --out keep --force
cmp -s keep.key rel.key && cmp -s keep.pub rel.pub && ok || bad "old key not intact after crash"
expect 0 "old key still loads" "$O" release app.js --key keep.key --app crash --out crash
rm -f keep.key.tmp-* keep.pub.tmp-*
OTASIGN_TEST_CRASH=before-rename expect 99 "release crash before rename" "$O" release app.js --key rel.key --app crash --out crash
[ ! -e crash/crash-2 ] && ok || bad "half release visible after crash"
expect 0 "release after a crash" "$O" release app.js --key rel.key --app crash --out crash
has "sequence   2" "crash left no sequence hole"
expect 0 "verify after crash" "$O" verify crash/crash-2 --pub rel.pub

# kill -9 at random moments during a large release: every visible release dir is complete.
# (One large string literal: big, yet trivial for the minifier's parser.)
{ printf 'var big = "'; head -c 6000000 /dev/zero | tr '\0' x; printf '";\nprint(big.length);\n'; } > big.js
for i in $(seq 12); do
  "$O" release big.js --key rel.key --app big --no-minify --out kill >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", (r % 150) / 1000 }')"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
done
incomplete=0
for d in kill/big-*; do
  [ -d "$d" ] || continue
  "$O" verify "$d" --pub rel.pub >/dev/null 2>&1 || { incomplete=$((incomplete + 1)); echo "incomplete: $d" >&2; }
  [ -f "$d/release.json" ] || incomplete=$((incomplete + 1))
done
[ $incomplete = 0 ] && ok || bad "$incomplete incomplete release dirs after kill -9"
expect 0 "release after kills" "$O" release big.js --key rel.key --app big --no-minify --out kill

# ---- misc ------------------------------------------------------------------------
: > empty.js
expect 1 "empty script refused" "$O" release empty.js --key rel.key --app e --out out
has "empty" "empty message"
expect 1 "missing script" "$O" release nope.js --key rel.key --app e --out out
has "nope.js" "names the script"
expect 1 "inspect garbage" "$O" inspect app.js
expect 1 "inspect missing" "$O" inspect nope.bin

# ---- outputs that are not regular files ----------------------------------------
# A device or pipe is written in place (never replaced by a rename); a directory
# or symlink in the way of an atomic write is refused.
mkdir -p dirkey.key
expect 1 "keygen onto a directory" "$O" keygen --out dirkey --force
has "not a regular file" "names the problem"
[ -d dirkey.key ] && ok || bad "directory in the way was replaced"
ln -s elsewhere linked.key
expect 1 "keygen onto a symlink" "$O" keygen --out linked --force
[ -L linked.key ] && ok || bad "symlink in the way was replaced"
expect 0 "minify into /dev/null" "$O" minify app.js -o /dev/null
[ -c /dev/null ] && ok || bad "/dev/null is no longer a device"
mkfifo pipe.out
( cat pipe.out > fifo.txt ) & reader=$!
expect 0 "minify into a fifo" "$O" minify app.js -o pipe.out
wait $reader
[ -p pipe.out ] && ok || bad "fifo was replaced"
grep -q "setInterval" fifo.txt && ok || bad "nothing came through the fifo"

# ---- bundle encodings (FORMAT.md 2a) --------------------------------------------
cp "$ROOT/device/espruino/ota.js" big.js
expect 0 "release --encoding auto (default) on a large script" "$O" release big.js --key rel.key --app enc --out encout
has "heatshrink blocks of 2048" "auto took heatshrink for minified code"
[ "$(stat -c %s encout/enc-1/bundle.js)" -lt "$(stat -c %s encout/enc-1/program.js)" ] && ok || bad "compressed bundle not smaller than the program"
grep -q '"encoding": "heatshrink"' encout/enc-1/release.json && grep -q '"program_file": "program.js"' encout/enc-1/release.json && ok || bad "release.json: encoding/program_file"
expect 0 "verify a heatshrink release (decodes it)" "$O" verify encout/enc-1 --pub rel.pub --app enc
has "heatshrink blocks decode to the" "verify decoded the blocks"
"$BIN/hsztool" decode encout/enc-1/bundle.js dec.out && cmp -s dec.out encout/enc-1/program.js && ok || bad "bundle.js does not decode to program.js"
expect 0 "inspect heatshrink" "$O" inspect encout/enc-1/statement.bin
has "1 (heatshrink)" "inspect names encoding 1"
expect 0 "release --encoding identity" "$O" release big.js --key rel.key --app enc --out encout --encoding identity
cmp -s encout/enc-2/bundle.js encout/enc-2/program.js && ok || bad "identity: bundle.js and program.js differ"
grep -q '"encoding": "identity"' encout/enc-2/release.json && ok || bad "identity release.json"
printf 'x=1;\n' >tiny.js
expect 0 "auto on a tiny script keeps identity" "$O" release tiny.js --key rel.key --app tiny --out encout
grep -q '"encoding": "identity"' encout/tiny-1/release.json && ok || bad "auto chose heatshrink for 4 bytes"
expect 0 "--encoding heatshrink forced on a tiny script" "$O" release tiny.js --key rel.key --app tiny --out encout --encoding heatshrink --block-size 256
grep -q '"encoding": "heatshrink"' encout/tiny-2/release.json && ok || bad "forced heatshrink not written"
expect 0 "verify the forced one" "$O" verify encout/tiny-2 --pub rel.pub
expect 2 "--encoding bogus" "$O" release tiny.js --key rel.key --app tiny --out encout --encoding gzip
expect 2 "--block-size not a power of two" "$O" release tiny.js --key rel.key --app tiny --out encout --block-size 1000
expect 2 "--block-size too large" "$O" release tiny.js --key rel.key --app tiny --out encout --block-size 65536
expect 0 "--from a heatshrink release, re-encoded with other blocks" "$O" release --from encout/enc-1 --key rel.key --block-size 512
cmp -s encout/enc-3/program.js encout/enc-1/program.js && ok || bad "--from changed the program"
expect 0 "verify the re-release" "$O" verify encout/enc-3 --pub rel.pub
cp -r encout/enc-1 encbad; printf '\x00' | dd of=encbad/bundle.js bs=1 seek=50 conv=notrunc 2>/dev/null
expect 1 "verify refuses a damaged heatshrink bundle" "$O" verify encbad --pub rel.pub
has "OTA_ERR_HASH_MISMATCH" "damaged bundle: hash mismatch"

echo "test_cli: $pass passed, $fail failed"
[ $fail = 0 ]

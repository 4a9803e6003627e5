#!/usr/bin/env bash
# `otasign delta` from the command line: make, apply (files and release
# directories, -o -), the golden vector byte for byte, refusals with their
# ota_err and exit status 1, usage errors with 2.
T_NAME=test_delta_cli
. "$(dirname "$0")/../lib/base.sh"
S="$OTA_BIN/otasign"
V="$OTA_ROOT/manifests/delta"
rc() { "$@" >/dev/null 2>"$WORK/err"; echo $?; }

case_begin "the golden vector: made byte for byte, applied back"
expect_eq "make" 0 "$(rc "$S" delta "$V/base.js" "$V/target.js" -o "$WORK/d.bin")"
check "byte for byte manifests/delta/delta.bin" cmp -s "$WORK/d.bin" "$V/delta.bin"
expect_has "summary on stderr" "delta: 95 bytes (old 75, new 83 bytes)" "$(cat "$WORK/err")"
expect_eq "apply" 0 "$(rc "$S" delta --apply "$V/base.js" "$V/delta.bin" -o "$WORK/t.js")"
check "the target" cmp -s "$WORK/t.js" "$V/target.js"
check "apply to stdout" bash -c "'$S' delta --apply '$V/base.js' '$V/delta.bin' -o - 2>/dev/null | cmp -s - '$V/target.js'"
case_end

case_begin "release directories: their program.js"
mkdir -p "$WORK/r1" "$WORK/r2"; cp "$V/base.js" "$WORK/r1/program.js"; cp "$V/target.js" "$WORK/r2/program.js"
expect_eq "make from directories" 0 "$(rc "$S" delta "$WORK/r1" "$WORK/r2" -o "$WORK/d2.bin")"
check "the same delta" cmp -s "$WORK/d2.bin" "$V/delta.bin"
case_end

case_begin "refused: another base, not a delta, a damaged delta, a missing file (exit 1)"
expect_eq "another base" 1 "$(rc "$S" delta --apply "$V/target.js" "$V/delta.bin" -o "$WORK/x.js")"
expect_has "names the reason" "delta for another program (57)" "$(cat "$WORK/err")"
expect_eq "not a delta" 1 "$(rc "$S" delta --apply "$V/base.js" "$V/base.js" -o "$WORK/x.js")"
expect_has "names the reason" "not a delta: corrupt delta (56)" "$(cat "$WORK/err")"
head -c 90 "$V/delta.bin" >"$WORK/short.bin"
expect_eq "truncated" 1 "$(rc "$S" delta --apply "$V/base.js" "$WORK/short.bin" -o "$WORK/x.js")"
expect_has "names the reason" "truncated input (2)" "$(cat "$WORK/err")"
cp "$V/delta.bin" "$WORK/bad.bin"; printf 'Z' | dd of="$WORK/bad.bin" bs=1 seek=92 conv=notrunc 2>/dev/null
expect_eq "an ADD byte changed: the target hash" 1 "$(rc "$S" delta --apply "$V/base.js" "$WORK/bad.bin" -o "$WORK/x.js")"
expect_has "names the reason" "installed hash mismatch (55)" "$(cat "$WORK/err")"
check "no output left behind" test ! -e "$WORK/x.js"
expect_eq "missing file" 1 "$(rc "$S" delta "$WORK/nope.js" "$V/target.js" -o "$WORK/x.bin")"
case_end

case_begin "usage errors (exit 2), --help (0)"
expect_eq "no arguments" 2 "$(rc "$S" delta)"
expect_eq "no -o" 2 "$(rc "$S" delta "$V/base.js" "$V/target.js")"
expect_eq "unknown option" 2 "$(rc "$S" delta --bogus "$V/base.js" "$V/target.js" -o x)"
expect_eq "--help" 0 "$(rc "$S" delta --help)"
check "listed by otasign --help" bash -c "'$S' --help | grep -q '^  delta '"
case_end

done_tests

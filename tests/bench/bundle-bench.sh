#!/usr/bin/env bash
# bundle-bench.sh: `make bench-bundles` (part of `make bench`).  Bundle bytes
# per encoding, next to each other, for the demo logger (examples/logger.js),
# the largest program of tests/minify/programs and the largest file of the
# minifier corpus (tests/minify/corpus.txt, from tests/js/node_modules):
#   program      `otasign minify` output = encoding 0 (identity), the previous design
#   heatshrink   encoding 1 (FORMAT.md 2a) as `otasign release` writes it
#                (blocks of 2048) and with blocks of 32 KB
#   espruino     the same program through the firmware's own
#                heatshrink.compress (greedy, one stream), measured on the
#                real interpreter in this run (a peer doing the same job)
#   gzip -9      for scale only: no Espruino firmware can decompress it
# Then delta bytes (FORMAT.md 2b, `otasign delta`) for a one-line change and
# a 10 % change of the same sources (tests/bench/delta-edit.js: decimal
# literals + 1) and for one added line declaring a new local, between the minified programs as `otasign release` ships
# them, beside the full bundle of the new program (identity and heatshrink,
# the previous design), the delta heatshrink-framed (2a, blocks of 2 KB: does
# compressing it pay?) and the delta between programs minified without
# mangling (if the mangler's renames cascade after a small change, this is
# much smaller than the mangled delta).
# All sizes are measured in this run; ratios are against the program bytes.
# Figures only, never pass/fail.
#   tests/bench/bundle-bench.sh [BIN]       CORPUS_DIR=... (default tests/js/node_modules)
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-${OTA_BIN:-build/bin}}"
CORPUS_DIR="${CORPUS_DIR:-tests/js/node_modules}"
E="${ESPRUINO:-../shared/espruino/bin}"
[ -f "$E" ] && E=$(dirname "$E")
[ -d "$E" ] && E=$(cd "$E" && pwd)
T=$(mktemp -d /tmp/ota-bundle-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

inputs=("examples/logger.js")
big=$(ls -S tests/minify/programs/*.js tests/minify/programs/*/*.js 2>/dev/null | head -1)
[ -n "$big" ] && inputs+=("$big")
if [ ! -d "$CORPUS_DIR" ] && [ "$CORPUS_DIR" = tests/js/node_modules ]; then
    # as bench-minify does: the corpus is the npm packages pinned in tests/js
    echo "bench-bundles: installing the npm packages (npm ci in tests/js)"
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp) ||
        echo "bench-bundles: npm ci failed"
fi
if [ -d "$CORPUS_DIR" ]; then
    best=; bs=0
    for f in $(grep -v '^#' tests/minify/corpus.txt); do
        [ -f "$CORPUS_DIR/$f" ] || continue
        s=$(wc -c <"$CORPUS_DIR/$f")
        [ "$s" -gt "$bs" ] && { bs=$s; best="$CORPUS_DIR/$f"; }
    done
    [ -n "$best" ] && inputs+=("$best")
else
    echo "bench-bundles: $CORPUS_DIR missing (npm ci in tests/js); the corpus file is left out"
fi

esp_size() {   # bytes of Espruino's heatshrink.compress of file $1, or "-"
    [ -x "$E/espruino" ] || { echo -; return; }
    local b64; b64=$(base64 -w0 "$1")
    printf 'var s=atob("%s");print("HSLEN "+require("heatshrink").compress(s).length);' "$b64" >"$T/c.js"
    local n; n=$(cd "$T" && timeout 300 "$E/espruino" "$T/c.js" </dev/null 2>&1 | sed -n 's/.*HSLEN \([0-9]*\).*/\1/p')
    echo "${n:--}"
}
ratio() { [ "$1" = - ] && { echo "    -"; return; }; awk -v a="$1" -v b="$2" 'BEGIN { printf "%5.3f", a / b }'; }
# a row of the `make bench` summary (tests/bench/summary.sh)
srow() { [ -n "${OTA_BENCH_SUMMARY:-}" ] && printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OTA_BENCH_SUMMARY"; return 0; }

echo "== bundle bytes per encoding (ratio to the program as installed = encoding 0, the previous design)"
printf '%-44s %9s %9s %6s %9s %6s %9s %6s %9s %6s %9s %6s %9s %6s\n' "program (minified by otasign)" "identity" "hs 2KB" "ratio" "hs 32KB" "ratio" \
    "espruino" "ratio" "gzip -9" "ratio" "pretok" "ratio" "pt+hs" "ratio"
for f in "${inputs[@]}"; do
    "$BIN/otasign" minify "$f" -o "$T/p.js" 2>/dev/null || cp "$f" "$T/p.js"
    p=$(wc -c <"$T/p.js")
    "$BIN/hsztool" encode 11 "$T/p.js" "$T/a.hsz"; a=$(wc -c <"$T/a.hsz")
    "$BIN/hsztool" encode 15 "$T/p.js" "$T/b.hsz"; b=$(wc -c <"$T/b.hsz")
    e=$(esp_size "$T/p.js")
    g=$(gzip -9 -c "$T/p.js" | wc -c)
    # pretokenised (FORMAT.md 2c), as `otasign release --pretokenise` installs it, and its heatshrink blocks
    if "$BIN/otasign" minify --pretokenise --target 2v29 "$f" -o "$T/pt.js" 2>/dev/null; then
        t=$(wc -c <"$T/pt.js"); "$BIN/hsztool" encode 11 "$T/pt.js" "$T/pt.hsz"; th=$(wc -c <"$T/pt.hsz")
    else t=-; th=-; fi
    name=$(echo "$f" | sed "s#^$CORPUS_DIR/#corpus: #")
    printf '%-44s %9d %9d %6s %9d %6s %9s %6s %9d %6s %9s %6s %9s %6s\n' "${name:0:44}" "$p" "$a" "$(ratio "$a" "$p")" "$b" "$(ratio "$b" "$p")" \
        "$e" "$(ratio "$e" "$p")" "$g" "$(ratio "$g" "$p")" "$t" "$(ratio "$t" "$p")" "$th" "$(ratio "$th" "$p")"
    sec="bundle bytes: $name"
    srow "$sec" "heatshrink blocks (encoding 1, 2 KB)" "identity: the previous design" "$p" "$a"
    srow "$sec" "pretokenised (--pretokenise)" "identity: the previous design" "$p" "$t"
    srow "$sec" "pretokenised + heatshrink" "identity: the previous design" "$p" "$th"
done
echo "(hs = encoding 1, FORMAT.md 2a, this project's optimal-parse encoder; espruino = the firmware's own greedy"
echo " heatshrink.compress of the whole program as one stream, on ${E}/espruino in this run; gzip only for scale;"
echo " pretok = otasign minify --pretokenise --target 2v29 (FORMAT.md 2c); pt+hs = that in heatshrink blocks of 2 KB)"

echo
echo "== delta bytes (FORMAT.md 2b) from the previous release, beside the full bundle of the new one (previous design)"
printf '%-34s %-9s %9s %9s %9s %9s %6s %9s %9s %9s\n' "program (minified by otasign)" "change" "lines" "identity" "hs 2KB" \
    "delta" "ratio" "delta+hs" "no-mangle" "hs ratio"
for f in "${inputs[@]}"; do
    name=$(echo "$f" | sed "s#^$CORPUS_DIR/#corpus: #")
    for pct in 0 var 10; do
        lines=$(node tests/bench/delta-edit.js "$f" "$T/new.js" "$pct") || continue
        "$BIN/otasign" minify "$f" -o "$T/o.js" 2>/dev/null || cp "$f" "$T/o.js"
        "$BIN/otasign" minify "$T/new.js" -o "$T/n.js" 2>/dev/null || cp "$T/new.js" "$T/n.js"
        "$BIN/otasign" minify --no-mangle "$f" -o "$T/o0.js" 2>/dev/null || cp "$f" "$T/o0.js"
        "$BIN/otasign" minify --no-mangle "$T/new.js" -o "$T/n0.js" 2>/dev/null || cp "$T/new.js" "$T/n0.js"
        p=$(wc -c <"$T/n.js")
        "$BIN/hsztool" encode 11 "$T/n.js" "$T/n.hsz"; a=$(wc -c <"$T/n.hsz")
        "$BIN/otasign" delta "$T/o.js" "$T/n.js" -o "$T/d.bin" 2>/dev/null; d=$(wc -c <"$T/d.bin")
        "$BIN/otasign" delta --apply "$T/o.js" "$T/d.bin" -o "$T/chk.js" 2>/dev/null && cmp -s "$T/chk.js" "$T/n.js" ||
            echo "bench-bundles: the delta of $f does not rebuild the program" >&2
        "$BIN/hsztool" encode 11 "$T/d.bin" "$T/d.hsz"; dh=$(wc -c <"$T/d.hsz")
        "$BIN/otasign" delta "$T/o0.js" "$T/n0.js" -o "$T/d0.bin" 2>/dev/null; d0=$(wc -c <"$T/d0.bin")
        printf '%-34s %-9s %9s %9d %9d %9d %6s %9d %9d %9s\n' "${name:0:34}" "$(case $pct in 0) echo one-line ;; var) echo new-local ;; *) echo "$pct %" ;; esac)" \
            "$lines" "$p" "$a" "$d" "$(ratio "$d" "$p")" "$dh" "$d0" "$(ratio "$d" "$a")"
        case $pct in
            0)  srow "bundle bytes: $name" "delta, one-line change" "the new program's full bundle" "$p" "$d" ;;
            10) srow "bundle bytes: $name" "delta, 10 % of the lines changed" "the new program's full bundle" "$p" "$d" ;;
        esac
    done
done
echo "(lines = source lines changed/total (10 %: of the lines, or every line with a decimal literal when fewer have one);"
echo " identity, hs 2KB = the new program's full bundle; ratio = delta/identity;"
echo " delta+hs = the delta in heatshrink blocks of 2 KB; no-mangle = the delta between programs minified without"
echo " renaming; hs ratio = delta/hs 2KB; the delta header alone is 76 bytes)"

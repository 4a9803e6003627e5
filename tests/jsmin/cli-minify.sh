#!/usr/bin/env bash
# cli-minify.sh: `otasign minify` as a command: options, exit codes (0 ok,
# 1 failure, 2 usage), stdout and atomic file output, the gate switches.
set -u
B="$OTA_BIN/otasign"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*"; fi; }
status() { local want=$1; shift; "$@" >"$T/stdout" 2>"$T/stderr"; local rc=$?
  if [ $rc = "$want" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL (rc $rc, want $want): $*"; cat "$T/stderr"; fi; }

printf 'function f(alpha) {\n  return alpha + 1 // c\n}\n' > "$T/a.js"
status 0 "$B" minify "$T/a.js"
ok test "$(cat "$T/stdout")" = "function f(e){return e+1}"
status 0 "$B" minify --no-mangle "$T/a.js" -o -
ok test "$(cat "$T/stdout")" = "function f(alpha){return alpha+1}"
status 0 "$B" minify "$T/a.js" -o "$T/out.js"
ok test "$(cat "$T/out.js")" = "function f(e){return e+1}"
ok test -z "$(ls "$T" | grep -v -e '^a.js$' -e '^out.js$' -e '^stdout$' -e '^stderr$')"   # no temp files left
status 0 "$B" minify "$T/a.js" --output="$T/out2.js"
ok cmp -s "$T/out.js" "$T/out2.js"
status 0 sh -c "cat '$T/a.js' | '$B' minify -"
ok test "$(cat "$T/stdout")" = "function f(e){return e+1}"
status 0 "$B" minify --no-minify "$T/a.js"
ok cmp -s "$T/stdout" "$T/a.js"
status 0 "$B" minify --help
ok grep -q -- '--no-mangle' "$T/stdout"
# usage errors
status 2 "$B" minify
status 2 "$B" minify "$T/a.js" "$T/a.js"
status 2 "$B" minify --bogus "$T/a.js"
status 2 "$B" minify --target 9v99 "$T/a.js"
status 2 "$B" minify --gate --gate-warn "$T/a.js"
# failures
status 1 "$B" minify "$T/missing.js"
printf 'x = "abc\n' > "$T/bad.js"
status 1 "$B" minify "$T/bad.js" -o "$T/bad.out"
ok grep -q "bad.js:1:5: error: unterminated string literal" "$T/stderr"
ok test ! -e "$T/bad.out"
# the gate: off by default, --gate rejects, --gate-warn warns
printf 'x = a ?? b\nf(...c)\n' > "$T/g.js"
status 0 "$B" minify "$T/g.js"
ok test ! -s "$T/stderr"
status 1 "$B" minify --gate "$T/g.js"
ok grep -q "g.js:2:3: error: spread" "$T/stderr"
ok grep -q "not minified" "$T/stderr"
status 1 "$B" minify --gate --target 2v13 "$T/g.js"
ok grep -q "g.js:1:7: error: the ?? operator" "$T/stderr"
status 0 "$B" minify --gate-warn "$T/g.js"
ok grep -q "g.js:2:3: warning: spread" "$T/stderr"
ok test "$(cat "$T/stdout")" = "$(printf 'x=a??b\nf(...c)')"
printf 'x = a ?? b\n' > "$T/n.js"
status 0 "$B" minify --gate --target 2v14 "$T/n.js"
# a device as output is written into, not replaced
status 0 "$B" minify "$T/a.js" -o /dev/null
ok test -c /dev/null
echo "cli-minify: $pass passed, $fail failed"
[ "$fail" = 0 ]

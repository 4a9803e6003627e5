#!/usr/bin/env bash
# tests/tooling/test_run.sh: `make run`'s script (examples/run-demo.sh) tells
# the whole story: otad starts, the demo release is published and rolled out
# in two waves to simulated devices that all end up confirmed, the output
# says where to watch (dashboard URL, otasign status --watch), the dashboard
# answers, and Ctrl-C (SIGINT to the process group, as a terminal sends it)
# stops every process it started.
T_NAME=test_run
source "$(dirname "$0")/../lib/base.sh"
cd "$OTA_ROOT" || exit 1
export BUILD=${OTA_BUILD:-build}
OTAD_LISTEN=127.0.0.1:0 OTAD_RUN_DIR="$WORK/run" RUN_DEVICES=3 RUN_POLL_SECONDS=1 \
    setsid bash examples/run-demo.sh >"$WORK/out" 2>&1 </dev/null &
PG=$!
done_ok=
for _ in $(seq 1 120); do
    grep -q 'all  *3  *0  *0  *3 ' "$WORK/out" && { done_ok=1; break; }
    kill -0 "$PG" 2>/dev/null || break
    sleep 0.5
done
out=$(cat "$WORK/out")
check "every device confirmed the demo release" test -n "$done_ok"
expect_has "published" "published logger seq" "$out"
expect_has "rolled out in waves" "waves 40% > 100%" "$out"
expect_has "the first wave, then the second" "40% (done) > 100% (now)" "$out"
expect_has "says where the dashboard is" "/ui/" "$out"
expect_has "says how to watch in a terminal" "otasign status logger --watch" "$out"
port=$(cat "$WORK/run/port" 2>/dev/null)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ui/")
expect_eq "the dashboard answers" 200 "$code"
pids=$(pgrep -g "$PG" | tr '\n' ' ')
check "otad and 3 devices running" test "$(wc -w <<<"$pids")" -ge 4
kill -INT -- -"$PG" 2>/dev/null
gone=
for _ in $(seq 1 100); do
    [ -z "$(pgrep -g "$PG")" ] && { gone=1; break; }
    sleep 0.1
done
check "Ctrl-C stopped everything it started" test -n "$gone"
[ -z "$gone" ] && { pgrep -g "$PG" -a >&2; kill -KILL -- -"$PG" 2>/dev/null; }
expect_has "says it stopped them" "stopping 4 processes" "$(cat "$WORK/out")"
done_tests

#!/usr/bin/env bash
# otad under hostile load (issue 12), loopback only, bounded in count and
# time.  Prints figures; the checks are about behaviour, never about speed:
#   - memory: 1,000 unauthenticated POST /admin/releases declaring and
#     sending 16 MB each (50 at a time): otad's peak RSS (VmHWM) is printed;
#     checked: every one was refused (401 or reset after the 401, never a
#     stored body) and otad still serves;
#   - slow clients: 1,200 connections from 127.0.0.1..127.0.0.5 trickling
#     headers a byte a second (reconnecting when closed) while a normal
#     device on 127.0.0.9 polls with Connection: close; its poll latency
#     p50/p99 is printed; checked: its polls were answered.
# HOSTILE_SECONDS (default 15) sets the slow-client run.
T_NAME=otad-hostile-load
. "$(dirname "$0")/lib.sh"

make_key
D="$WORK/data"
start_otad "$D" --quiet
check "otad starts" test -n "$PORT"
LOAD="$OTA_ROOT/tests/e2e/hostile-load.mjs"
rss() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$OTAD_PID/status"; }

# ---- memory under unauthenticated uploads ------------------------------------
R0=$(rss VmRSS)
OUT=$(timeout 300 node "$LOAD" uploads "$PORT" 1000 50 16777216)
echo "$OUT"
HWM=$(rss VmHWM); R1=$(rss VmRSS)
echo "figure: otad RSS under 1,000 unauthenticated 16 MB uploads: before ${R0} kB, peak ${HWM} kB, after ${R1} kB"
N=$(jq_ 'Object.values(j.status).reduce((a, b) => a + b, 0)' <<<"$OUT")
expect_eq "all 1,000 uploads ended" 1000 "$N"
expect_eq "none was answered other than 401 (or reset after it)" 0 \
    "$(jq_ 'Object.keys(j.status).filter(k => k !== "401" && k !== "none").length' <<<"$OUT")"
check "some answers read as 401 before the reset" test "$(jq_ 'j.status["401"] || 0' <<<"$OUT")" -gt 0
check "memory bounded: peak RSS under 64 MB (not 1,000 x 16 MB)" test "$HWM" -lt 65536
expect_eq "still serving" 200 "$(code GET /healthz)"
expect_eq "no release stored" 0 "$(admin GET /admin/releases >/dev/null; body | jq_ j.releases.length)"

# ---- a normal device among slow clients -----------------------------------------
SECS=${HOSTILE_SECONDS:-15}
OUT=$(timeout $((SECS + 60)) node "$LOAD" slowloris "$PORT" 1200 5 "$SECS" 127.0.0.9)
echo "$OUT"
P50=$(jq_ j.p50_ms <<<"$OUT"); P99=$(jq_ j.p99_ms <<<"$OUT"); POLLS=$(jq_ j.polls <<<"$OUT")
echo "figure: normal device poll latency with 1,200 slow connections from 5 addresses: p50 ${P50} ms, p99 ${P99} ms over ${POLLS} polls in ${SECS} s"
check "the normal device polled" test "$POLLS" -gt 0
expect_eq "every poll of the normal device was answered" "$POLLS" "$(jq_ j.answered <<<"$OUT")"
check "slow connections over the limits were answered 503, not dropped silently" \
    test "$(jq_ 'j.slow_conn_answers["503"] || 0' <<<"$OUT")" -gt 0
M=$(curl -s "$BASE/metrics")
echo "$M" | grep -E '^otad_connections_(refused|timed_out)_total'
expect_eq "still serving after the slow clients" 200 "$(code GET /healthz)"

done_tests

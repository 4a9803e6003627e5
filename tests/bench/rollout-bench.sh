#!/usr/bin/env bash
# otad's costs against the size of the fleet (figures, never pass/fail): for
# 1,000, 10,000 and 100,000 devices, each run a fresh otad on loopback with
# that many registered devices, every one of which has reported on a release
# under a rollout with waves [10,50,100] (so the waves are evaluated once a
# second over the whole fleet).  Then measured:
#   reports/s   2,000 more v2 reports (MAC'd, counted) over 8 keep-alive
#               connections, each one SQLite transaction; best of 3 windows
#   read ms     GET /admin/rollouts/<app> (history, wave status, per-release
#               counts, reasons), median of 50
# The data directory is on tmpfs (/dev/shm) when there is one, so the fsync
# of each report does not hide the work that could grow with the fleet.
# The peer is the same otad at 1,000 devices: the ratios are the figure
# (1.00 = flat).  Devices are registered straight into the stopped otad's
# store (bench-rollout setup; 100,000 admin calls would take minutes).
#
#   BENCH_SIZES="1000 10000 100000" tests/bench/rollout-bench.sh
set -euo pipefail
: "${OTA_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OTA_BIN:=$OTA_ROOT/build/bin}"
case "$OTA_BIN" in /*) ;; *) OTA_BIN="$OTA_ROOT/$OTA_BIN" ;; esac
SIZES=${BENCH_SIZES:-1000 10000 100000}
TOKEN=bench-token-0123456789abcdef
if [ -d /dev/shm ] && [ -w /dev/shm ]; then W=$(mktemp -d /dev/shm/otad-rbench.XXXXXX); else W=$(mktemp -d /tmp/otad-rbench.XXXXXX); fi
OTAD_PID=
cleanup() {
    if [ -n "$OTAD_PID" ]; then kill "$OTAD_PID" 2>/dev/null; wait "$OTAD_PID" 2>/dev/null || true; fi
    rm -rf "$W"
}
trap cleanup EXIT

"$OTA_BIN/otad-testsign" keygen "$W/rel" >/dev/null
printf 'var v=2;\n' >"$W/app.js"
"$OTA_BIN/otad-testsign" release "$W/rel.seed" "$W/app.js" bench 2 "$W/stmt.bin" "bench" >/dev/null
printf '{"statement":"%s","bundle":"%s"}' "$(base64 -w0 "$W/stmt.bin")" "$(base64 -w0 "$W/app.js")" >"$W/up.json"

start() {
    rm -f "$W/port"
    OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$1" --listen 127.0.0.1:0 --port-file "$W/port" \
        --release-pub "$W/rel.pub" --threads 2 --quiet >>"$W/otad.out" 2>>"$W/otad.err" &
    OTAD_PID=$!
    for _ in $(seq 400); do [ -s "$W/port" ] && break; sleep 0.05; done
    PORT=$(cat "$W/port")
}
stop() { kill -TERM "$OTAD_PID"; wait "$OTAD_PID" || true; OTAD_PID=; }
adm() { curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$@"; }

printf '%-9s %12s %12s %10s %16s %14s\n' devices "fill rep/s" "reports/s" "read ms" "reports/s vs 1k" "read vs 1k"
base_rate=; base_read=
for N in $SIZES; do
    D="$W/data-$N"
    start "$D"; stop                       # schema + secrets.key
    "$OTA_BIN/bench-rollout" setup "$D" "$N"
    start "$D"
    adm --data-binary @"$W/up.json" "http://127.0.0.1:$PORT/admin/releases"
    adm --data-binary '{"app":"bench","seq":2,"waves":[10,50,100],"wave_fraction":0.8,"error_threshold":0.9,"min_reports":1000000}' \
        "http://127.0.0.1:$PORT/admin/rollouts"
    read -r fill _ fbad < <("$OTA_BIN/bench-rollout" report "$PORT" 0 "$N" downloading 1)
    # Three windows of 2,000 more reports (each device's counter one higher
    # per pass over up to 2,000 devices); the best window is the figure (the
    # machine may be shared)
    M=$(( N < 2000 ? N : 2000 )); ctr=2; rate=0; b2=0
    for w in 1 2 3; do
        sent=0; nok=0
        t0=$(date +%s.%N)
        while [ "$sent" -lt 2000 ]; do
            st=trial; [ $((ctr % 2)) = 1 ] && st=confirmed
            read -r _ n b < <("$OTA_BIN/bench-rollout" report "$PORT" 0 "$M" "$st" "$ctr")
            nok=$((nok + n)); b2=$((b2 + b)); sent=$((sent + M)); ctr=$((ctr + 1))
        done
        t1=$(date +%s.%N)
        r=$(awk -v n=$nok -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
        [ "$r" -gt "$rate" ] && rate=$r
    done
    b1=0
    sleep 1.2   # one wave evaluation over the whole fleet
    read -r ms rbad < <("$OTA_BIN/bench-rollout" read "$PORT" "$TOKEN" bench 50)
    stop
    bad=$((fbad + b1 + b2 + rbad))
    [ -z "$base_rate" ] && base_rate=$rate && base_read=$ms
    printf '%-9s %12s %12s %10s %16s %14s%s\n' "$N" "$fill" "$rate" "$ms" \
        "$(awk -v a="$rate" -v b="$base_rate" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk -v a="$ms" -v b="$base_read" 'BEGIN { printf "%.2f", a / b }')" \
        "$([ "$bad" = 0 ] || echo "  ($bad requests failed)")"
done

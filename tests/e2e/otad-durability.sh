#!/usr/bin/env bash
# otad durability: kill -9 in the middle of a burst of reports loses no report
# that got a 2xx; SIGTERM finishes what is in flight and flushes the batched
# last-seen updates.
T_NAME=otad-durability
. "$(dirname "$0")/lib.sh"

make_key
D="$WORK/data"

# burst K SECONDS: K workers post reports with unique details; each writes the
# details that got a 2xx to $WORK/acked.<k>.
burst() {
    local k
    rm -f "$WORK"/acked.*
    for k in $(seq 1 "$1"); do dev_secret "dev-$k" >/dev/null; done   # registered first
    for k in $(seq 1 "$1"); do
        (
            i=0
            end=$((SECONDS + $2 + 2))
            sec=$(cat "$WORK/dev-secrets/dev-$k")
            while [ $SECONDS -lt $end ]; do
                i=$((i + 1))
                # report wire format v2: a counter above every earlier one, MAC'd
                printf '{"app":"demo","seq":1,"state":"downloading","code":0,"ctr":%s,"detail":"w%s-%s"}' \
                    "$(date +%s%N | cut -c1-16)" "$k" "$i" >"$WORK/burst.$k"
                c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST \
                    -H "X-OTA-MAC: $(report_mac "$sec" "dev-$k" "$WORK/burst.$k")" \
                    --data-binary @"$WORK/burst.$k" "$BASE/report/dev-$k" 2>/dev/null)
                case "$c" in 2??) echo "w$k-$i" >>"$WORK/acked.$k" ;; 000) [ -n "${STOP_ON_DOWN:-}" ] && break ;; esac
            done
        ) &
    done
}

stored_details() { dbq "$D" "SELECT detail FROM reports" | sort -u; }
# until_acked N: wait (at most 15 s) until the workers have N acknowledged
# reports, so the kill lands mid-burst however loaded the machine is
until_acked() {
    local i
    for i in $(seq 1 150); do
        [ "$(cat "$WORK"/acked.* 2>/dev/null | wc -l)" -ge "$1" ] && return 0
        sleep 0.1
    done
}

# ---- kill -9 ------------------------------------------------------------------
start_otad "$D" --quiet
check "otad up" test -n "$PORT"
STOP_ON_DOWN=1 burst 4 3
until_acked 11
kill -9 "$OTAD_PID"
wait "$OTAD_PID" 2>/dev/null
OTAD_PID=
wait   # workers notice the server is gone and stop
cat "$WORK"/acked.* 2>/dev/null | sort -u >"$WORK/acked"
ACKED=$(wc -l <"$WORK/acked")
echo "kill -9 after $ACKED acknowledged reports"
check "some reports were acknowledged before the kill" test "$ACKED" -gt 10
start_otad "$D" --quiet
check "otad restarts after kill -9" test -n "$PORT"
stored_details >"$WORK/stored"
LOST=$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)
expect_eq "acknowledged reports lost after kill -9" 0 "$LOST"
STORED=$(wc -l <"$WORK/stored")
check "stored >= acknowledged ($STORED >= $ACKED)" test "$STORED" -ge "$ACKED"
expect_eq "store answers after restart" 200 "$(admin GET /admin/devices/dev-1)"
check "device report count matches the store" test "$(body | jq_ j.report_count)" -ge "$(cat "$WORK/acked.1" 2>/dev/null | wc -l)"

# ---- SIGTERM during a burst -----------------------------------------------------
dbq "$D" "DELETE FROM reports" >/dev/null
STOP_ON_DOWN=1 burst 4 3
until_acked 11
# polls from new devices: only in memory until the batch is flushed
for i in 1 2 3; do poll "seen-$i" demo 0 >/dev/null; done
kill -TERM "$OTAD_PID"
RC=0
wait "$OTAD_PID" 2>/dev/null || RC=$?
OTAD_PID=
wait
expect_eq "SIGTERM exits 0" 0 "$RC"
cat "$WORK"/acked.* 2>/dev/null | sort -u >"$WORK/acked"
stored_details >"$WORK/stored"
expect_eq "acknowledged reports lost after SIGTERM" 0 "$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)"
if [ "$OTA_STORE" = sqlite ]; then
    check "WAL checkpointed on clean exit" bash -c "[ ! -s '$D/otad.db-wal' ]"
else
    skip "WAL checkpoint: SQLite only"
fi
expect_eq "last-seen batch flushed at shutdown" 3 "$(dbq "$D" "SELECT count(*) FROM devices WHERE id LIKE 'seen-%' AND last_seen > 0")"
if [ "$OTA_STORE" = sqlite ]; then
    check "integrity" test "$(sqlite3 "$D/otad.db" 'PRAGMA integrity_check')" = ok
else
    expect_eq "counts equal a recount" "" "$(dbq "$D" "SELECT c.app FROM release_counts c LEFT JOIN (SELECT app, seq, state, code, count(*) AS n FROM device_releases GROUP BY 1,2,3,4) r USING (app, seq, state, code) WHERE c.n <> coalesce(r.n, 0)")"
fi

# ---- SIGTERM lets a download in flight finish (sendfile path) ---------------------
start_otad "$D" --quiet --bundle-mem-max 0
# ~200 KB of valid script (the CLI minifies and gates what it releases)
head -c 150000 /dev/urandom | base64 -w 80 | awk '{ printf "var d%d=\"%s\";\n", NR, $0 }' >"$WORK/big.js"
read -r SB BB < <(make_release big 1 "big" "$WORK/big.js")
expect_eq "publish a 200 KB release" 201 "$(upload "$SB" "$BB")"
HB=$(sha256sum "$BB" | cut -c1-64)
expect_eq "sendfile path: Range" 206 "$(code GET /bundle/$HB -H 'Range: bytes=100-199')"
expect_eq "sendfile path: Range bytes" "$(tail -c +101 "$BB" | head -c 100 | hexof)" "$(hexof <"$WORK/body")"
expect_eq "sendfile path: full" 200 "$(code GET /bundle/$HB)"
check "sendfile path: bytes" cmp -s "$WORK/body" "$BB"
curl -s --limit-rate 100k -o "$WORK/dl.js" "$BASE/bundle/$HB" &
DL=$!
sleep 0.5
kill -TERM "$OTAD_PID"
RC=0; wait "$DL" || RC=$?
expect_eq "download in flight at SIGTERM completes" 0 "$RC"
check "downloaded bytes intact" cmp -s "$WORK/dl.js" "$BB"
RC=0; wait "$OTAD_PID" 2>/dev/null || RC=$?
OTAD_PID=
expect_eq "then otad exits 0" 0 "$RC"

done_tests

#!/usr/bin/env bash
# tests/device/test_replicas.sh: two otad replicas on one PostgreSQL, otadev
# devices spread over both, one replica killed with kill -9 mid-rollout.
#
#   - replica B shares A's database and key files (server.key, secrets.key)
#     and nothing else: a release published through A is served by B (its
#     bundle comes from the database), a rollout made through A reaches B's
#     devices within a bounded time (LISTEN/NOTIFY, applied once a second);
#   - N devices (otadev --fleet), half polling A, half polling B, go through
#     an automatic 10 -> 50 -> 100 % rollout (waves); after the first round
#     B is killed with kill -9 in the middle of a round, its devices move to
#     A (what a load balancer does), and the rollout completes through A;
#   - every report a device got a 200 for (otadev logs "report
#     acknowledged: BODY") is a row in the database afterwards, and each
#     wave advance is recorded once (one replica decides it);
#   - with B back, bad outcomes reported to both replicas at once cross a
#     rollout's error threshold: it is paused once (one history event).
# Needs PostgreSQL (Debian package postgresql): skipped without it.
T_NAME=test_device_replicas
OTA_STORE=pg
source "$(dirname "$0")/lib.sh"
N=${REPLICA_DEVICES:-40}

make_keys || { done_tests; exit 1; }
start_otad --threads 2 || { done_tests; exit 1; }
BASE_A=$BASE; PID_A=$OTAD_PID
DB=$(store_db "$WORK/data")
# replica B: its own directory with A's key files, the same database
mkdir -p "$WORK/data-b"
chmod 700 "$WORK/data-b"
cp -p "$WORK/data/server.key" "$WORK/data/server.pub" "$WORK/data/secrets.key" "$WORK/data-b/"
# start_b PORTFILE: replica B on the same database; PID_B, BASE_B
start_b() {
    OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$WORK/data-b" --store "$(pg_url "$DB")" \
        --listen 127.0.0.1:0 --port-file "$1" --release-pub "$WORK/rel.pub" --quiet \
        --poll-interval 60 --threads 2 >>"$WORK/otad-b.out" 2>>"$WORK/otad-b.err" &
    PID_B=$!
    for i in $(seq 1 200); do [ -s "$1" ] && break; kill -0 "$PID_B" 2>/dev/null || break; sleep 0.05; done
    BASE_B="http://127.0.0.1:$(cat "$1" 2>/dev/null)"
}
start_b "$WORK/port-b"
check "replica B starts on the same database" test -s "$WORK/port-b"
expect_eq "both replicas sign with one server key" "$(curl -s "$BASE_A/healthz" | sed -n 's/.*"server_key":"\([0-9a-f]*\)".*/\1/p')" \
    "$(curl -s "$BASE_B/healthz" | sed -n 's/.*"server_key":"\([0-9a-f]*\)".*/\1/p')"
# the cleanup of lib.sh kills A ($OTAD_PID); B is ours
trap 'kill -9 $PID_B 2>/dev/null; wait $PID_B 2>/dev/null; cleanup' EXIT

release 1 'var v=1;' && publish "$RDIR"
release 2 'var v=2; function poll(){}' && publish "$RDIR"
SHA2=$(sha256sum "$RDIR/bundle.js" | cut -c1-64)
# B never saw the upload: the bundle comes from the database
t0=$(date +%s%N); got=000
for i in $(seq 1 50); do
    got=$(curl -s -o "$WORK/b2.js" -w '%{http_code}' "$BASE_B/bundle/$SHA2")
    [ "$got" = 200 ] && break; sleep 0.1
done
echo "bundle published through A served by B after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "B serves a bundle published through A" 200 "$got"
check "the same bytes" cmp -s "$WORK/b2.js" "$RDIR/bundle.js"
check "B cached the bundle from the database in its directory" test -s "$WORK/data-b/bundles/$SHA2"

provision base --geometry uniform:1024:16
mkdir -p "$WORK/fleet"
ids=()
for i in $(seq -w 1 "$N"); do ids+=("rp-$i"); done
printf "$WORK/fleet/%s.flash\n" "${ids[@]}" >"$WORK/fleet/flashes"
printf "$WORK/fleet/%s.flash.geom\n" "${ids[@]}" >"$WORK/fleet/geoms"
xargs -a "$WORK/fleet/flashes" tee <"$WORK/base.flash" >/dev/null
xargs -a "$WORK/fleet/geoms" tee <"$WORK/base.flash.geom" >/dev/null
# registered through A; half of them will report through B (secrets reach B
# through the database and a notification)
for d in "${ids[@]}"; do
    printf 'url = "%s/admin/devices"\nheader = "Authorization: Bearer %s"\ndata = "{\\"id\\":\\"%s\\"}"\noutput = "%s"\nnext\n' \
        "$BASE_A" "$TOKEN" "$d" "$WORK/fleet/$d.reg"
done >"$WORK/fleet/register.cfg"
curl -s --max-time 120 -K "$WORK/fleet/register.cfg" >/dev/null 2>&1
nreg=0
for d in "${ids[@]}"; do
    s=$(sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p' "$WORK/fleet/$d.reg" 2>/dev/null)
    [ ${#s} = 64 ] && nreg=$((nreg + 1))
    echo "$s" >"$WORK/fleet/$d.flash.secret"
done
expect_eq "every device registered (through A)" "$N" "$nreg"
k=0
for d in "${ids[@]}"; do
    echo "$d $WORK/fleet/$d.flash" >>"$WORK/fleet/list-$((k % 2))"
    echo "$d $WORK/fleet/$d.flash" >>"$WORK/fleet/all"
    k=$((k + 1))
done
SERVER_OF=("$BASE_A" "$BASE_B")   # list-0 polls A, list-1 polls B
round() {
    local p pids=()
    for p in 0 1; do
        "$OTA_BIN/otadev" run --fleet "$WORK/fleet/list-$p" --server "${SERVER_OF[$p]}" --app "$APP" \
            --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 \
            >>"$WORK/fleet/run-$p.log" 2>&1 &
        pids+=($!)
    done
    [ -n "${KILL_B_AFTER:-}" ] && { sleep "$KILL_B_AFTER"; kill -9 "$PID_B"; wait "$PID_B" 2>/dev/null; KILL_B_AFTER=; echo "replica B killed (kill -9) mid-round"; }
    for p in "${pids[@]}"; do wait "$p"; done
}
on_seq() { "$OTA_BIN/otadev" status --fleet "$WORK/fleet/all" | grep -c "\"state\":\"confirmed\",\"running_seq\":$1,"; }

# ---- the rollout, made through A ----------------------------------------------------
BASE=$BASE_A
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":10,\"waves\":[10,50,100],\"wave_fraction\":0.8}"
# B learns it: a device polling B that A's first wave includes is offered v2
t0=$(date +%s%N); seen=0
for i in $(seq 1 100); do
    for d in "${ids[@]}"; do
        c=$(curl -s -o /dev/null -w '%{http_code}' "$BASE_B/manifest/$d?app=$APP&seq=1&nonce=00112233445566778899aabbccddeeff")
        [ "$c" = 200 ] && { seen=1; break; }
    done
    [ $seen = 1 ] && break
    sleep 0.05
done
echo "rollout made through A offered by B after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "B offers the rollout made through A (bounded: 5 s)" 1 "$seen"

rounds=0
t_all=$SECONDS
while [ "$(on_seq 2)" -lt "$N" ] && [ $rounds -lt 40 ]; do
    rounds=$((rounds + 1))
    if [ $rounds = 2 ]; then KILL_B_AFTER=0.3; fi
    round
    if [ $rounds = 2 ]; then SERVER_OF=("$BASE_A" "$BASE_A"); fi   # the load balancer fails B over
    sleep 1.2    # a second for the batched polls and the wave evaluation
    echo "round $rounds: $(on_seq 2) of $N on v2 confirmed"
done
echo "rollout across two replicas, B killed in round 2: $rounds rounds, $((SECONDS - t_all)) s"
check "B was killed" bash -c "! kill -0 $PID_B 2>/dev/null"
expect_eq "every device on v2 confirmed, through A after B died" "$N" "$(on_seq 2)"
expect_eq "rollout reached 100% through waves" "100" "$(pg_sql "$DB" "SELECT percent FROM rollouts WHERE app='$APP' AND state='active'")"
expect_eq "each wave advance recorded once (10->50, 50->100)" 2 \
    "$(pg_sql "$DB" "SELECT count(*) FROM rollout_events WHERE event='wave'")"

# ---- nothing acknowledged lost --------------------------------------------------------
cat "$WORK"/fleet/run-*.log | sed -n 's/^otadev\[\([^]]*\)\]: report acknowledged: .*"seq":\([0-9]*\),"state":"\([a-z_]*\)".*/\1 \2 \3/p' \
    | sort -u >"$WORK/acked"
pg_sql "$DB" "SELECT device || ' ' || seq || ' ' || state FROM reports" | sort -u >"$WORK/stored"
ACKED=$(cat "$WORK"/fleet/run-*.log | grep -c "report acknowledged: ")
ROWS=$(pg_sql "$DB" "SELECT count(*) FROM reports")
echo "reports acknowledged with 200: $ACKED; rows in the database: $ROWS; distinct (device, seq, state) acknowledged: $(wc -l <"$WORK/acked")"
check "reports were acknowledged" test "$ACKED" -ge "$N"
expect_eq "acknowledged reports missing from the database" 0 "$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)"
check "rows >= acknowledged ($ROWS >= $ACKED)" test "$ROWS" -ge "$ACKED"
expect_eq "counts agree with the devices" "$N" \
    "$(pg_sql "$DB" "SELECT coalesce(sum(n),0) FROM release_counts WHERE app='$APP' AND seq=2 AND state='confirmed'")"

# ---- the database restarts under A: the call in progress fails, the next reconnects ----------
pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -m fast -w -t 20 restart >/dev/null 2>&1
codes=""
for i in 1 2 3 4 5; do
    c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TOKEN" "$BASE_A/admin/devices/rp-01")
    codes="$codes $c"; [ "$c" = 200 ] && break; sleep 0.5
done
echo "answers after the PostgreSQL restart:$codes"
expect_has "after a PostgreSQL restart A answers from the database again" "200" "$codes"
printf '{"app":"%s","seq":2,"state":"confirmed","code":0,"ctr":1000,"detail":"after restart"}' "$APP" >"$WORK/late.json"
MAC=$("$OTA_BIN/otad-testsign" hmac "$(cat "$WORK/fleet/rp-01.flash.secret")" "$WORK/late.json" "OTAR"rp-01$'\n')
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-OTA-MAC: $MAC" --data-binary @"$WORK/late.json" "$BASE_A/report/rp-01")
expect_eq "a report after the restart: 200" 200 "$c"
expect_eq "and it is in the database" 1 "$(pg_sql "$DB" "SELECT count(*) FROM reports WHERE device='rp-01' AND detail='after restart'")"

# ---- the error threshold is decided once across replicas ------------------------------------
# B comes back (as after an upgrade); a rollout of v3 with an error threshold;
# bad outcomes arrive at both replicas at once: each sees the threshold crossed
# on the counts its report returned, but the pause is stored by one of them
# (rollout_cas), so the history holds one "threshold" event.
start_b "$WORK/port-b2"
check "replica B started again" test -s "$WORK/port-b2"
release 3 'var v=3; function poll(){}' && publish "$RDIR"
rollout "{\"app\":\"$APP\",\"seq\":3,\"percent\":100,\"error_threshold\":0.1,\"min_reports\":4}"
RO3=$(pg_sql "$DB" "SELECT id FROM rollouts WHERE app='$APP' AND seq=3")
for i in $(seq 1 50); do   # B has learnt of the rollout (it offers v3)
    c=$(curl -s -o /dev/null -w '%{http_code}' "$BASE_B/manifest/rp-02?app=$APP&seq=2&nonce=00112233445566778899aabbccddeeff")
    [ "$c" = 200 ] && break; sleep 0.1
done
expect_eq "B offers v3 (the rollout made through A)" 200 "$c"
: >"$WORK/thr-0.cfg"; : >"$WORK/thr-1.cfg"
k=0
for d in "${ids[@]}"; do
    [ "$d" = rp-01 ] && continue
    printf '{"app":"%s","seq":3,"state":"rolled_back","code":80,"ctr":3000,"detail":"threshold test"}' "$APP" >"$WORK/thr-$d.json"
    mac=$("$OTA_BIN/otad-testsign" hmac "$(cat "$WORK/fleet/$d.flash.secret")" "$WORK/thr-$d.json" "OTAR$d"$'\n')
    b=$BASE_A; [ $((k % 2)) = 1 ] && b=$BASE_B
    printf 'url = "%s/report/%s"\nheader = "X-OTA-MAC: %s"\ndata-binary = "@%s"\nwrite-out = "%%{http_code}\\n"\noutput = "/dev/null"\nnext\n' \
        "$b" "$d" "$mac" "$WORK/thr-$d.json" >>"$WORK/thr-$((k % 2)).cfg"
    k=$((k + 1))
done
curl -s --max-time 60 -K "$WORK/thr-0.cfg" >"$WORK/thr-0.codes" 2>/dev/null &
P0=$!
curl -s --max-time 60 -K "$WORK/thr-1.cfg" >"$WORK/thr-1.codes" 2>/dev/null &
P1=$!
wait "$P0" "$P1"
expect_eq "every bad outcome acknowledged, through A and through B" "$((N - 1))" "$(cat "$WORK"/thr-*.codes | grep -c '^200$')"
sleep 1.5   # the other replica applies the change
expect_eq "the rollout of v3 is paused" paused "$(pg_sql "$DB" "SELECT state FROM rollouts WHERE id=$RO3")"
expect_eq "the threshold decided once (one event, two replicas)" 1 \
    "$(pg_sql "$DB" "SELECT count(*) FROM rollout_events WHERE rollout=$RO3 AND event='threshold'")"
echo "threshold pause across two replicas: $(grep -c . "$WORK/thr-0.codes") reports through A, $(grep -c . "$WORK/thr-1.codes") through B, $(pg_sql "$DB" "SELECT count(*) FROM rollout_events WHERE rollout=$RO3 AND event='threshold'") threshold event"
for b in "$BASE_A" "$BASE_B"; do
    expect_eq "no replica offers v3 any more ($b)" 204 \
        "$(curl -s -o /dev/null -w '%{http_code}' "$b/manifest/rp-02?app=$APP&seq=2&nonce=00112233445566778899aabbccddeefe")"
done
done_tests

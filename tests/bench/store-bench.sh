#!/usr/bin/env bash
# otad on PostgreSQL against otad on SQLite, in the same run (figures, never
# pass/fail).  Both stores sync every commit (SQLite synchronous=FULL in a
# temporary directory on disk; PostgreSQL with fsync on, a private server
# started here, tests/lib/pg.sh, on a unix socket).  For each store, a fresh
# otad with N registered devices (default 10,000) and a rollout of v2 at 100%:
#   idle polls/s   GET /manifest for devices already on v2 (204), 8 keep-alive
#                  connections; best of 3 passes over the fleet
#   offers/s       the same for devices on v1 (200: a signed offer)
#   reports/s      MAC'd reports (trial/confirmed, each its own transaction,
#                  committed before the 200); best of 3 windows of 2,000
# Then a rollout of N devices through waves [10,50,100]: bench-rollout plays
# the devices (poll; when offered: downloading, downloaded, trial, confirmed)
# in rounds until every device confirmed; once on one otad on SQLite (the
# peer), once across two otad replicas on one PostgreSQL, even devices on
# one, odd on the other.  Prints seconds, rounds, failed requests, ratios.
#
#   BENCH_DEVICES=10000 tests/bench/store-bench.sh
set -uo pipefail
: "${OTA_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OTA_BIN:=$OTA_ROOT/build/bin}"
case "$OTA_BIN" in /*) ;; *) OTA_BIN="$OTA_ROOT/$OTA_BIN" ;; esac
N=${BENCH_DEVICES:-10000}
TOKEN=bench-token-0123456789abcdef
W=$(mktemp -d /tmp/otad-sbench.XXXXXX)
PIDS=()
OTA_PG_FSYNC=on
source "$OTA_ROOT/tests/lib/pg.sh"
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    pg_stop
    rm -rf "$W"
}
trap cleanup EXIT
if ! pg_start; then echo "store bench: PostgreSQL not available: skipped"; exit 0; fi

"$OTA_BIN/otad-testsign" keygen "$W/rel" >/dev/null
printf 'var v=1;\n' >"$W/app1.js"
printf 'var v=2;\n' >"$W/app2.js"
for s in 1 2; do
    "$OTA_BIN/otad-testsign" release "$W/rel.seed" "$W/app$s.js" bench $s "$W/stmt$s.bin" "v$s" >/dev/null
    printf '{"statement":"%s","bundle":"%s"}' "$(base64 -w0 "$W/stmt$s.bin")" "$(base64 -w0 "$W/app$s.js")" >"$W/up$s.json"
done

# start NAME DIR [--store URL]: an otad; sets PORT
start() {
    local name="$1" dir="$2"; shift 2
    rm -f "$W/port.$name"
    OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$dir" "$@" --listen 127.0.0.1:0 --port-file "$W/port.$name" \
        --release-pub "$W/rel.pub" --threads 2 --quiet --poll-interval 3600 >>"$W/otad.out" 2>>"$W/otad.err" &
    PIDS+=($!)
    eval "PID_$name=$!"
    for _ in $(seq 400); do [ -s "$W/port.$name" ] && break; sleep 0.05; done
    PORT=$(cat "$W/port.$name")
}
stopit() { local p; eval "p=\$PID_$1"; kill -TERM "$p"; wait "$p" 2>/dev/null; }
adm() { curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$@"; }

# fill STORE DIR: N devices registered in the store of DIR (otad stopped)
fill() {
    if [ "$1" = sqlite ]; then "$OTA_BIN/bench-rollout" setup "$2" "$N"
    else
        "$OTA_BIN/bench-rollout" secrets "$2" "$N" |
            pg_psql -d "$3" -c "\\copy devices(id, secret_enc, created) FROM STDIN WITH (FORMAT csv)" >/dev/null
    fi
}
best() { sort -n | tail -1; }

declare -A R
for store in sqlite pg; do
    D="$W/data-$store"; args=()
    if [ "$store" = pg ]; then pg_db bench1; args=(--store "$(pg_url bench1)"); fi
    start s "$D" "${args[@]}"; stopit s        # schema, secrets.key
    fill "$store" "$D" bench1
    start s "$D" "${args[@]}"
    adm --data-binary @"$W/up1.json" "http://127.0.0.1:$PORT/admin/releases"
    adm --data-binary @"$W/up2.json" "http://127.0.0.1:$PORT/admin/releases"
    adm --data-binary '{"app":"bench","seq":2,"percent":100,"error_threshold":null}' \
        "http://127.0.0.1:$PORT/admin/rollouts"
    bad=0
    R[$store,idle]=$(for i in 1 2 3; do read -r r _ b _ < <("$OTA_BIN/bench-rollout" poll "$PORT" 0 "$N" 2); bad=$((bad + b)); echo "$r"; done | best)
    R[$store,offer]=$(for i in 1 2 3; do read -r r _ b o < <("$OTA_BIN/bench-rollout" poll "$PORT" 0 "$N" 1)
        [ "$o" = "$N" ] || echo "offers: only $o of $N polls were offers" >&2; echo "$r"; done | best)
    M=$(( N < 2000 ? N : 2000 ))
    R[$store,report]=$(for w in 1 2 3; do
        st=trial; [ $((w % 2)) = 0 ] && st=confirmed
        read -r r _ b < <("$OTA_BIN/bench-rollout" report "$PORT" 0 "$M" "$st" "$w"); echo "$r"; done | best)
    stopit s
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "otad store bench: $N devices, 8 keep-alive connections, otad --threads 2, best of 3"
printf '%-14s %12s %12s %12s\n' "" sqlite postgresql "pg/sqlite"
for m in idle offer report; do
    case $m in idle) l="idle polls/s" ;; offer) l="offers/s" ;; report) l="reports/s" ;; esac
    printf '%-14s %12s %12s %12s\n' "$l" "${R[sqlite,$m]}" "${R[pg,$m]}" "$(ratio "${R[pg,$m]}" "${R[sqlite,$m]}")"
done

# ---- a rollout of N devices: one otad on SQLite, then two replicas on PostgreSQL ----------
# run_rollout PORT_A PORT_B: rounds until every device confirmed; prints "seconds rounds bad"
run_rollout() {
    local pa="$1" pb="$2" rounds=0 bad=0 ctr=1 done=0 t0 t1
    rm -f "$W/done"
    t0=$(date +%s.%N)
    while [ "$done" -lt "$N" ] && [ $rounds -lt 60 ]; do
        rounds=$((rounds + 1))
        read -r _ _ b done < <("$OTA_BIN/bench-rollout" rollout "$pa" "$pb" 0 "$N" "$ctr" "$W/done")
        bad=$((bad + b)); ctr=$((ctr + 4))
        [ "$done" -lt "$N" ] && sleep 1.1   # the batched polls are flushed and the waves evaluated once a second
    done
    t1=$(date +%s.%N)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') $rounds $bad $done"
}
WAVES='{"app":"bench","seq":2,"waves":[10,50,100],"wave_fraction":0.8,"error_threshold":null}'
D="$W/roll-sqlite"
start s "$D"; stopit s; fill sqlite "$D"
start s "$D"
adm --data-binary @"$W/up1.json" "http://127.0.0.1:$PORT/admin/releases"
adm --data-binary @"$W/up2.json" "http://127.0.0.1:$PORT/admin/releases"
adm --data-binary "$WAVES" "http://127.0.0.1:$PORT/admin/rollouts"
read -r sec1 rounds1 bad1 done1 < <(run_rollout "$PORT" "$PORT")
stopit s
pg_db bench2
D="$W/roll-a"
start a "$D" --store "$(pg_url bench2)"; stopit a; fill pg "$D" bench2
mkdir -p "$W/roll-b"; chmod 700 "$W/roll-b"; cp -p "$D/server.key" "$D/server.pub" "$D/secrets.key" "$W/roll-b/"
start a "$D" --store "$(pg_url bench2)"; PA=$PORT
start b "$W/roll-b" --store "$(pg_url bench2)"; PB=$PORT
adm --data-binary @"$W/up1.json" "http://127.0.0.1:$PA/admin/releases"
adm --data-binary @"$W/up2.json" "http://127.0.0.1:$PA/admin/releases"
adm --data-binary "$WAVES" "http://127.0.0.1:$PA/admin/rollouts"
sleep 1.5   # replica B learns the release and the rollout (LISTEN/NOTIFY)
read -r sec2 rounds2 bad2 done2 < <(run_rollout "$PA" "$PB")
waves=$(pg_sql bench2 "SELECT count(*) FROM rollout_events WHERE event='wave'")
rows=$(pg_sql bench2 "SELECT count(*) FROM reports")
stopit a; stopit b
echo "rollout of $N devices through waves [10,50,100] (bench-rollout plays the devices):"
printf '  %-34s %8s s %4s rounds, %s confirmed, %s failed requests\n' "1 otad, SQLite" "$sec1" "$rounds1" "$done1" "$bad1"
printf '  %-34s %8s s %4s rounds, %s confirmed, %s failed requests\n' "2 replicas, one PostgreSQL" "$sec2" "$rounds2" "$done2" "$bad2"
echo "  time, two replicas on PostgreSQL / one otad on SQLite: $(ratio "$sec2" "$sec1"); wave advances recorded: $waves (2 expected); report rows: $rows"

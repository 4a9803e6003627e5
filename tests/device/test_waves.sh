#!/usr/bin/env bash
# tests/device/test_waves.sh: automatic waves and board mix-ups, with otadev
# devices against the real otad.
#
#  1. 50 devices (otadev --fleet, 2 processes) go through an automatic
#     10 -> 50 -> 100 % rollout (waves, wave_fraction 0.8) to completion, 20
#     times under 20 different rollout ids (releases 2..21): nobody PATCHes a
#     percentage; each rollout must reach every device within a bounded
#     number of rounds (the old absolute wave_confirmed stalled for some ids).
#     Prints each rollout's rounds and seconds.
#  2. A board mix-up repaired without reprovisioning: a release signed for
#     PICO reaches devices that say pico (one rule: ASCII case-insensitive);
#     a device configured with the wrong board is never offered a release
#     for another board, and once its board is fixed it updates (same id,
#     same flash, no re-provisioning); a "wrong board" rejection by an older
#     device never blocks the release for good.
T_NAME=test_device_waves
source "$(dirname "$0")/lib.sh"
N=${WAVES_DEVICES:-50}
ROLLOUTS=${WAVES_ROLLOUTS:-20}
PAR=2

make_keys || { done_tests; exit 1; }
start_otad --threads 2 || { done_tests; exit 1; }
release 1 'var v=1;' && publish "$RDIR"
provision base --geometry uniform:1024:16
mkdir -p "$WORK/fleet"
ids=()
for i in $(seq -w 1 "$N"); do ids+=("wd-$i"); done
printf "$WORK/fleet/%s.flash\n" "${ids[@]}" >"$WORK/fleet/flashes"
printf "$WORK/fleet/%s.flash.geom\n" "${ids[@]}" >"$WORK/fleet/geoms"
xargs -a "$WORK/fleet/flashes" tee <"$WORK/base.flash" >/dev/null
xargs -a "$WORK/fleet/geoms" tee <"$WORK/base.flash.geom" >/dev/null
# every device is registered (report wire format v2): its secret is kept next
# to its flash as FLASH.secret; one curl for all of them
for d in "${ids[@]}"; do
    printf 'url = "%s/admin/devices"\nheader = "Authorization: Bearer %s"\ndata = "{\\"id\\":\\"%s\\"}"\noutput = "%s"\nnext\n' \
        "$BASE" "$TOKEN" "$d" "$WORK/fleet/$d.reg"
done >"$WORK/fleet/register.cfg"
curl -s --max-time 120 -K "$WORK/fleet/register.cfg" >/dev/null
nreg=0
for d in "${ids[@]}"; do
    s=$(sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p' "$WORK/fleet/$d.reg" 2>/dev/null)
    [ ${#s} = 64 ] && nreg=$((nreg + 1))
    echo "$s" >"$WORK/fleet/$d.flash.secret"
done
expect_eq "every device registered" "$N" "$nreg"
k=0
for d in "${ids[@]}"; do
    echo "$d $WORK/fleet/$d.flash" >>"$WORK/fleet/list-$((k % PAR))"
    echo "$d $WORK/fleet/$d.flash" >>"$WORK/fleet/all"
    k=$((k + 1))
done
round() {
    local p pids=()
    for p in $(seq 0 $((PAR - 1))); do
        "$OTA_BIN/otadev" run --fleet "$WORK/fleet/list-$p" --server "$BASE" --app "$APP" \
            --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 --board pico \
            >>"$WORK/fleet/run-$p.log" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || echo "otadev --fleet exit $?" >>"$WORK/fleet/errors"; done
}
on_seq() {   # devices confirmed on seq $1
    "$OTA_BIN/otadev" status --fleet "$WORK/fleet/all" | grep -c "\"state\":\"confirmed\",\"running_seq\":$1,"
}
mkrel() {   # mkrel SEQ BOARD: a release of APP into out-rel
    printf 'var v=%d;\n' "$1" >"$WORK/src/app-$1.js"
    "$OTA_BIN/otasign" release "$WORK/src/app-$1.js" --key "$WORK/rel.key" --app "$APP" --seq "$1" \
        --label "v$1" --board "$2" --out "$WORK/out-rel" --no-minify >/dev/null 2>"$WORK/release.err" \
        || { bad "release $1 ($2): $(cat "$WORK/release.err")"; return 1; }
}
jget() { node -e "const j=JSON.parse(require('fs').readFileSync(0,'utf8')); const v=($1); console.log(typeof v==='object'?JSON.stringify(v):String(v))"; }

# ---- 1. twenty automatic rollouts --------------------------------------------------
t_all=$SECONDS
ids_seen=""
stalled=0
max_rounds=0
for r in $(seq 1 "$ROLLOUTS"); do
    seq=$((r + 1))
    # signed for board PICO on purpose: the devices say pico
    mkrel "$seq" PICO && publish "$WORK/out-rel/$APP-$seq"
    rollout "{\"app\":\"$APP\",\"seq\":$seq,\"waves\":[10,50,100],\"wave_fraction\":0.8,\"replace\":true}"
    rid=$(jget j.id <"$WORK/abody")
    ids_seen="$ids_seen $rid"
    t0=$SECONDS
    done_at=""
    for n in $(seq 1 40); do
        round
        c=$(on_seq "$seq")
        if [ "$c" = "$N" ]; then done_at=$n; break; fi
        sleep 0.6   # the batched polls are flushed and the wave evaluated once a second
    done
    admin GET "/admin/rollouts/$APP" >/dev/null
    pct=$(jget j.current.percent <"$WORK/abody")
    waves=$(jget 'j.current.history.filter(e => e.event === "wave").length' <"$WORK/abody")
    if [ -n "$done_at" ]; then
        echo "rollout $r (id $rid, seq $seq): all $N devices confirmed in $done_at rounds, $((SECONDS - t0)) s; waves advanced $waves times, now at $pct%"
        [ "$done_at" -gt "$max_rounds" ] && max_rounds=$done_at
    else
        stalled=$((stalled + 1))
        echo "rollout $r (id $rid, seq $seq): STALLED: $(on_seq "$seq") of $N; waiting: $(jget j.current.waiting <"$WORK/abody")"
    fi
done
expect_eq "rollouts that did not reach every device" 0 "$stalled"
expect_eq "20 different rollout ids" "$ROLLOUTS" "$(tr ' ' '\n' <<<"$ids_seen" | sed '/^$/d' | sort -u | wc -l)"
expect_eq "otadev runs that failed" "" "$(head -5 "$WORK/fleet/errors" 2>/dev/null)"
admin GET "/admin/rollouts/$APP" >/dev/null
expect_eq "last rollout: waves advanced automatically to 100%" 100 "$(jget j.current.percent <"$WORK/abody")"
expect_eq "last rollout: two wave advances in its history" 2 "$(jget 'j.current.history.filter(e => e.event === "wave" && e.by === "otad").length' <"$WORK/abody")"
check "wave advances logged" grep -q "wave 2 -> 100%" "$WORK/otad.err"
echo "waves: $ROLLOUTS rollouts x $N devices, 10 -> 50 -> 100 %, at most $max_rounds rounds each, $((SECONDS - t_all)) s in all"

# ---- 2. a board mix-up, repaired without reprovisioning --------------------------------
t_b=$SECONDS
B=$((ROLLOUTS + 2))
mkrel "$B" PICO && publish "$WORK/out-rel/$APP-$B"
rollout "{\"app\":\"$APP\",\"seq\":$B,\"replace\":true}"
# wd-01 is configured as a puck by mistake: never offered the pico release
dev_run() { "$OTA_BIN/otadev" run --flash "$WORK/fleet/$1.flash" --server "$BASE" --id "$1" --app "$APP" \
    --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 --board "$2" >"$WORK/$1.log" 2>&1; }
dev_run wd-01 puck
expect_has "wrong board: nothing offered" "poll: nothing new" "$(cat "$WORK/wd-01.log")"
expect_eq "wrong board: still on the old release" 0 "$("$OTA_BIN/otadev" status --flash "$WORK/fleet/wd-01.flash" | grep -c "\"running_seq\":$B,")"
# an older device that does not send its board gets the offer and rejects it
# as the wrong board: that never blocks the release
printf '{"app":"%s","seq":%d,"state":"rejected","code":45,"ctr":999999,"detail":"wrong board"}' "$APP" "$B" >"$WORK/wb.json"
expect_eq "wrong-board rejection stored" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/report/wd-02" \
    -H 'Content-Type: application/json' --data-binary @"$WORK/wb.json" \
    -H "X-OTA-MAC: $("$OTA_BIN/otad-testsign" hmac "$(cat "$WORK/fleet/wd-02.flash.secret")" "$WORK/wb.json" "OTAR"wd-02$'\n')")"
expect_eq "wrong-board rejection: no block" 0 "$(admin GET /admin/devices/wd-02/blocks | jget j.blocks.length)"
# the fix: the same device, the same flash, now saying pico (any case)
dev_run wd-01 Pico
dev_run wd-01 Pico
expect_eq "board fixed: updated without reprovisioning" 1 "$("$OTA_BIN/otadev" status --flash "$WORK/fleet/wd-01.flash" | grep -c "\"state\":\"confirmed\",\"running_seq\":$B,")"
round; round
expect_eq "every device (pico, release PICO) on the new release" "$N" "$(on_seq "$B")"
admin GET "/admin/devices?app=$APP&limit=1" >/dev/null
expect_eq "device list shows the board sent" pico "$(jget 'j.devices[0].apps[0].board' <"$WORK/abody")"
echo "board repair: $((SECONDS - t_b)) s"

# ---- 3. a poll and a confirmed report in one second: the wave still counts it ------------------
# Polls are batched and flushed once a second; a poll sent just before the
# confirmed report of the same second is flushed after it.  The store keeps
# the report's sequence (seen_flush); the in-memory fleet the waves are
# evaluated over must too, or the device counts as not confirmed until it
# polls again (waves lag a poll interval).
APP0=$APP; APP=race
release 1 'var r=1;' && publish "$RDIR"
release 2 'var r=2;' && publish "$RDIR"
rollout "{\"app\":\"race\",\"seq\":2,\"percent\":100,\"waves\":[100],\"wave_fraction\":1}"
RS=$(secret_for rc-1)
curl -s -o /dev/null "$BASE/manifest/rc-1?app=race&seq=1&nonce=000102030405060708090a0b0c0d0e0f"
sleep 1.2
admin GET /admin/rollouts/race >/dev/null   # the wave status loads the app's fleet
same=0
for try in 1 2 3 4 5; do
    printf '{"app":"race","seq":2,"state":"confirmed","code":0,"ctr":%d}' "$try" >"$WORK/race.json"
    MAC=$("$OTA_BIN/otad-testsign" hmac "$RS" "$WORK/race.json" "OTAR"rc-1$'\n')
    t0=$(date +%s)
    curl -s -o /dev/null "$BASE/manifest/rc-1?app=race&seq=1&nonce=1$try""0102030405060708090a0b0c0d0e0f"
    c=$(curl -s -o /dev/null -w '%{http_code}' -H "X-OTA-MAC: $MAC" --data-binary @"$WORK/race.json" "$BASE/report/rc-1")
    [ "$(date +%s)" = "$t0" ] && [ "$c" = 200 ] && { same=1; break; }
    sleep 0.3
done
expect_eq "a poll and a confirmed report within one second" 1 "$same"
sleep 1.5   # the batched poll is flushed after the report
admin GET /admin/rollouts/race >/dev/null
expect_eq "the wave counts the device confirmed (the flushed poll does not undo the report)" 1 \
    "$(jget 'j.current.wave.confirmed' <"$WORK/abody")"
expect_eq "the store agrees: running seq 2" 2 "$(admin GET /admin/devices/rc-1 | jget 'j.apps[0].seq')"
APP=$APP0
done_tests

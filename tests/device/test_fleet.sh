#!/usr/bin/env bash
# tests/device/test_fleet.sh: 1,000 simulated devices (otadev, one process
# per poll, 4 at a time) polling one real otad through a staged rollout
# 10% -> 50% -> 100% of v2, with every 20th device scripted to throw at
# start.  Checks after each stage: the share of devices updated matches the
# percentage, a second poll at the same percentage updates nobody new (a
# device's bucket is stable), failing devices are back on v1 with rolled_back
# reported and are never offered v2 again; at the end every healthy device
# runs v2 confirmed, every failing one v1, and otad's counts agree.
T_NAME=test_device_fleet
source "$(dirname "$0")/lib.sh"
N=${FLEET_DEVICES:-1000}
PAR=${FLEET_PARALLEL:-4}

make_keys || { done_tests; exit 1; }
start_otad --threads 4 || { done_tests; exit 1; }
release 1 'var v=1;' && publish "$RDIR"
release 2 'var v=2; function poll(){}' && publish "$RDIR"
provision base --geometry uniform:1024:16
mkdir -p "$WORK/fleet"
ids=()
for i in $(seq -w 1 "$N"); do
    cp "$WORK/base.flash" "$WORK/fleet/dev-$i.flash"
    cp "$WORK/base.flash.geom" "$WORK/fleet/dev-$i.flash.geom"
    ids+=("dev-$i")
done
failing() { [ $((10#${1#dev-} % 20)) = 7 ]; }
n_fail=0
for d in "${ids[@]}"; do failing "$d" && n_fail=$((n_fail + 1)); done
n_ok=$((N - n_fail))

export OTA_BIN WORK BASE APP SERVER_PUB
poll_one() {
    local d="$1" extra=()
    [ $((10#${d#dev-} % 20)) = 7 ] && extra=(--behave 2=throws)
    "$OTA_BIN/otadev" run --flash "$WORK/fleet/$d.flash" --server "$BASE" --id "$d" --app "$APP" \
        --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 --quiet "${extra[@]}" \
        >>"$WORK/fleet/$d.log" 2>&1 || echo "$d exit $?" >>"$WORK/fleet/errors"
}
export -f poll_one
round() { printf '%s\n' "${ids[@]}" | xargs -P "$PAR" -n 1 bash -c 'poll_one "$0"'; }
# census: counts of "state/running_seq" over the fleet
status_of() {   # status_of DEV...: "DEV state/running_seq" per line
    local d st
    for d in "$@"; do
        st=$("$OTA_BIN/otadev" status --flash "$WORK/fleet/$d.flash")
        echo "$d $(field "$st" state)/$(field "$st" running_seq)"
    done
}
export -f status_of field
fleet_status() { printf '%s\n' "${ids[@]}" | xargs -P "$PAR" -n 50 bash -c 'status_of "$@"' _ | sort; }
census() { fleet_status | awk '{print $2}' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}'; }
count_of() { local v; v=$(tr ' ' '\n' <<<"$2" | sed -n "s|^$1=\([0-9]*\)$|\1|p" | head -1); echo "${v:-0}"; }
in_range() { [ "$2" -ge "$1" ] && [ "$2" -le "$3" ]; }

start=$SECONDS
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":10,\"error_threshold\":0.25,\"min_reports\":20}"
prev=0
for pct in 10 50 100; do
    admin PATCH "/admin/rollouts/$APP" "{\"percent\":$pct}" >/dev/null
    expect_eq "stage $pct% set" 200 "$(cat "$WORK/status")"
    round
    c=$(census)
    updated=$(( $(count_of confirmed/2 "$c") + $(count_of rolled_back/1 "$c") ))
    echo "stage $pct%: $c(updated or tried: $updated of $N, $((SECONDS - start)) s)"
    lo=$(( N * pct / 100 - N * 5 / 100 )); hi=$(( N * pct / 100 + N * 5 / 100 ))
    [ "$pct" = 100 ] && lo=$N
    if in_range "$lo" "$updated" "$hi"; then ok; else bad "stage $pct%: $updated devices took v2 (expected $lo..$hi)"; fi
    if [ "$updated" -ge "$prev" ]; then ok; else bad "stage $pct%: fewer devices than before"; fi
    prev=$updated
    if [ "$pct" = 10 ]; then
        round       # the same 10% again: nobody new
        c2=$(census)
        u2=$(( $(count_of confirmed/2 "$c2") + $(count_of rolled_back/1 "$c2") ))
        expect_eq "a second poll at 10% updates nobody new" "$updated" "$u2"
    fi
done
expect_eq "otadev runs that failed" "" "$(cat "$WORK/fleet/errors" 2>/dev/null | head -5)"

# where every device must end
c=$(census)
expect_eq "healthy devices on v2 confirmed" "$n_ok" "$(count_of confirmed/2 "$c")"
expect_eq "failing devices back on v1, rolled back" "$n_fail" "$(count_of rolled_back/1 "$c")"
wrong=0
while read -r d got; do
    if failing "$d"; then want="rolled_back/1"; else want="confirmed/2"; fi
    [ "$got" = "$want" ] || wrong=$((wrong + 1))
done < <(fleet_status)
expect_eq "devices not where the rules say" 0 "$wrong"
round   # one more poll: failing devices are not offered v2 again
nt=$(grep -c "report trial seq 2" "$WORK"/fleet/*.log | awk -F: '{s += $2} END {print s}')
expect_eq "trial starts (healthy once, failing 3 boots but one report each)" "$N" "$nt"
ro=$(admin GET "/admin/rollouts/$APP")
expect_has "otad counts confirmed" "\"confirmed\":$n_ok," "$ro"
expect_has "otad counts rolled back" "\"rolled_back\":$n_fail," "$ro"
expect_has "rollout still active (5% < 25% threshold)" '"state":"active"' "$ro"
echo "fleet: $N devices, $n_fail scripted to fail, $((SECONDS - start)) s"
done_tests

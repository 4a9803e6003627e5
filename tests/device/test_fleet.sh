#!/usr/bin/env bash
# tests/device/test_fleet.sh: 1,000 simulated devices (otadev --fleet: 4
# processes, each polling its share of the devices in turn) polling one real otad through a staged rollout
# 10% -> 50% -> 100% of v2, with every 20th device scripted to throw at
# start.  Checks after each stage: the share of devices updated matches the
# percentage, a second poll at the same percentage updates nobody new (a
# device's bucket is stable), failing devices are back on v1 with rolled_back
# reported and are never offered v2 again; at the end every healthy device
# runs v2 confirmed, every failing one v1, and otad's counts agree.
T_NAME=test_device_fleet
source "$(dirname "$0")/lib.sh"
N=${FLEET_DEVICES:-1000}
PAR=${FLEET_PROCS:-4}

make_keys || { done_tests; exit 1; }
start_otad --threads 4 || { done_tests; exit 1; }
release 1 'var v=1;' && publish "$RDIR"
release 2 'var v=2; function poll(){}' && publish "$RDIR"
provision base --geometry uniform:1024:16
mkdir -p "$WORK/fleet"
ids=()
for i in $(seq -w 1 "$N"); do ids+=("dev-$i"); done
# every device starts from the same provisioned image (tee: one process)
printf "$WORK/fleet/%s.flash\n" "${ids[@]}" >"$WORK/fleet/flashes"
printf "$WORK/fleet/%s.flash.geom\n" "${ids[@]}" >"$WORK/fleet/geoms"
xargs -a "$WORK/fleet/flashes" tee <"$WORK/base.flash" >/dev/null
xargs -a "$WORK/fleet/geoms" tee <"$WORK/base.flash.geom" >/dev/null
# every device is registered (report wire format v2: each has its own
# secret, kept next to its flash as FLASH.secret); one curl for all of them
for d in "${ids[@]}"; do
    printf 'url = "%s/admin/devices"\nheader = "Authorization: Bearer %s"\ndata = "{\\"id\\":\\"%s\\"}"\noutput = "%s"\nnext\n' \
        "$BASE" "$TOKEN" "$d" "$WORK/fleet/$d.reg"
done >"$WORK/fleet/register.cfg"
curl -s --max-time 300 -K "$WORK/fleet/register.cfg" >/dev/null
nreg=0
for d in "${ids[@]}"; do
    s=$(sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p' "$WORK/fleet/$d.reg" 2>/dev/null)
    [ ${#s} = 64 ] && nreg=$((nreg + 1))
    echo "$s" >"$WORK/fleet/$d.flash.secret"
done
expect_eq "every device registered with its own secret" "$N" "$nreg"
failing() { [ $((10#${1#dev-} % 20)) = 7 ]; }
n_fail=0
for d in "${ids[@]}"; do failing "$d" && n_fail=$((n_fail + 1)); done
n_ok=$((N - n_fail))

# the fleet, split in $PAR lists: "ID FLASH [BEHAVIOUR]" per line; one
# otadev process per list polls each of its devices once per round
rm -f "$WORK"/fleet/list-*
k=0
for d in "${ids[@]}"; do
    beh=""; failing "$d" && beh="2=throws"
    echo "$d $WORK/fleet/$d.flash $beh" >>"$WORK/fleet/list-$((k % PAR))"
    echo "$d $WORK/fleet/$d.flash" >>"$WORK/fleet/all"
    k=$((k + 1))
done
round() {
    local p pids=()
    for p in $(seq 0 $((PAR - 1))); do
        "$OTA_BIN/otadev" run --fleet "$WORK/fleet/list-$p" --server "$BASE" --app "$APP" \
            --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 \
            >>"$WORK/fleet/run-$p.log" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || echo "otadev --fleet exit $?" >>"$WORK/fleet/errors"; done
}
# "ID state/running_seq" per device, sorted
fleet_status() {
    "$OTA_BIN/otadev" status --fleet "$WORK/fleet/all" |
        sed -n 's/^{"id":"\([^"]*\)","state":"\([^"]*\)","running_seq":\([0-9]*\).*/\1 \2\/\3/p' | sort
}
census() { fleet_status | awk '{print $2}' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}'; }
count_of() { local v; v=$(tr ' ' '\n' <<<"$2" | sed -n "s|^$1=\\([0-9]*\\)$|\\1|p" | head -1); echo "${v:-0}"; }
in_range() { [ "$2" -ge "$1" ] && [ "$2" -le "$3" ]; }

start=$SECONDS
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":10,\"error_threshold\":0.25,\"min_reports\":20}"
prev=0
for pct in 10 50 100; do
    admin PATCH "/admin/rollouts/$APP" "{\"percent\":$pct}" >/dev/null
    expect_eq "stage $pct% set" 200 "$(cat "$WORK/status")"
    t0=$SECONDS; round; echo "round at $pct%: $((SECONDS - t0)) s"
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
nt=$(cat "$WORK"/fleet/run-*.log | grep -c "report trial seq 2")
expect_eq "trial starts (healthy once, failing 3 boots but one report each)" "$N" "$nt"
ro=$(admin GET "/admin/rollouts/$APP")
expect_has "otad counts confirmed" "\"confirmed\":$n_ok," "$ro"
expect_has "otad counts rolled back" "\"rolled_back\":$n_fail," "$ro"
expect_has "rollout still active (5% < 25% threshold)" '"state":"active"' "$ro"
echo "fleet: $N devices, $n_fail scripted to fail, $((SECONDS - start)) s"
done_tests

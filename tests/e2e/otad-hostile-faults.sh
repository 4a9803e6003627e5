#!/usr/bin/env bash
# otad fails closed when an in-memory insert fails (issue 12, point 5).
# Runs build/bin/otad-faults: otad built with SRV_FAULT_INJECTION, where an
# insert into any of its maps of a new key containing $OTAD_FAIL_MAP_PUT
# fails as if memory ran out.  Every such failure must reach the admin as a
# 5xx JSON error (never 201/200) and must never let a device have what it
# should not: no offer outside an allow list, none past a pin to 0, no
# report stored without its block.
T_NAME=otad-hostile-faults
. "$(dirname "$0")/lib.sh"

if [ ! -x "$OTA_BIN/otad-faults" ]; then
    echo "skipped: $OTA_BIN/otad-faults not built (make $OTA_BIN/otad-faults)"
    echo "$T_NAME: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
make_key
D="$WORK/data"
launch() {   # launch SUBSTRING
    rm -f "$WORK/port"
    OTAD_FAIL_MAP_PUT="$1" OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad-faults" --data "$D" $(store_args "$D") --listen 127.0.0.1:0 \
        --port-file "$WORK/port" --release-pub "$WORK/rel.pub" --poll-interval 60 \
        >>"$WORK/otad.out" 2>>"$WORK/otad.err" &
    OTAD_PID=$!
    for i in $(seq 1 200); do [ -s "$WORK/port" ] && break; kill -0 "$OTAD_PID" 2>/dev/null || break; sleep 0.05; done
    PORT=$(cat "$WORK/port" 2>/dev/null); BASE="http://127.0.0.1:$PORT"
    [ -n "$PORT" ]
}
launch victim
check "otad-faults starts" test -n "$PORT"
printf 'var n=1;\n' >"$WORK/app1.js"; printf 'var n=2;\n' >"$WORK/app2.js"
read -r S1 B1 < <(make_release demo 1 "first" "$WORK/app1.js")
read -r S2 B2 < <(make_release demo 2 "second" "$WORK/app2.js")
expect_eq "upload v1" 201 "$(upload "$S1" "$B1")"
expect_eq "upload v2" 201 "$(upload "$S2" "$B2")"

# an allow list whose entry cannot be inserted: not 201, and nobody offered
expect_eq "rollout with an allow entry that fails to insert: 500" 500 \
    "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"percent":100,"allow":["a-1","victim-1","b-1"]}')"
expect_eq "the 500 is JSON" snapshot "$(body | jq_ j.error)"
expect_eq "a device outside the allow list is not offered (fail closed)" 204 "$(poll other-1 demo 1)"
expect_eq "nor the listed one" 204 "$(poll victim-1 demo 1)"
expect_eq "bundles not served while closed" 404 "$(code GET "/bundle/$(sha256sum "$B2" | cut -c1-64)")"
expect_eq "a rollout that can be applied: 201" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"percent":100}')"
expect_eq "then offers again" 200 "$(poll other-1 demo 1)"

# a pin to 0 (hold) that cannot be inserted: not 200, and the device not offered
expect_eq "pin that fails to insert: 500" 500 \
    "$(admin PATCH /admin/rollouts/demo --data-binary '{"pins":{"victim-2":0}}')"
expect_eq "the pinned device is not offered (fail closed)" 204 "$(poll victim-2 demo 1)"
# (PATCH reads the current rollout from the snapshot, closed now: a new
# rollout is the way back)
expect_eq "a new rollout without the pin: 201" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"percent":100}')"
expect_eq "offers again" 200 "$(poll other-1 demo 1)"

# a device whose secret cannot be loaded: not 201
expect_eq "device registration whose secret fails to load: 500" 500 \
    "$(admin POST /admin/devices --data-binary '{"id":"victim-3"}')"
expect_eq "the 500 is JSON" memory "$(body | jq_ j.error)"
expect_eq "and it cannot report" 401 "$(rep victim-3 '{"app":"demo","seq":2,"state":"trial"}')"

# a report whose block cannot be taken: not acknowledged, nothing stored
stop_otad
launch "blockme/"
check "otad-faults restarts" test -n "$PORT"
expect_eq "register dev-blockme" 201 "$(admin POST /admin/devices --data-binary '{"id":"dev-blockme"}')"
mkdir -p "$WORK/dev-secrets"; body | jq_ j.secret >"$WORK/dev-secrets/dev-blockme"
expect_eq "a blocking report whose block fails: 503" 503 \
    "$(rep dev-blockme '{"app":"demo","seq":2,"state":"rolled_back","code":80,"detail":"Error: boom"}')"
expect_eq "nothing stored" 0 "$(dbq "$D" "SELECT count(*) FROM reports WHERE device='dev-blockme'")"
expect_eq "its counter not consumed" 0 "$(dbq "$D" "SELECT report_ctr FROM devices WHERE id='dev-blockme'")"
expect_eq "a report that blocks nothing still goes in" 200 \
    "$(rep dev-blockme '{"app":"demo","seq":2,"state":"downloading"}')"

done_tests

#!/usr/bin/env bash
# tests/device/test_e2e.sh: simulated devices (otadev) against the real otad
# with releases made by the real otasign:
#   v1 -> v2 healthy (installed, trial, confirmed, reported), with the link
#   dropped mid-download and resumed with Range; a power cut mid-download
#   resumed from the durable offset; v3 throws at start -> back to v2 by
#   itself, rolled_back reported, rollout paused by the error threshold;
#   tampered statement, tampered bundle, a ticket for another device, a
#   replayed manifest (old nonce), a lower sequence, an unknown key: each
#   rejected with its reason reported while the device keeps its program;
#   the stock-firmware tier (offer checked by HMAC, reports MAC'd).
T_NAME=test_device_e2e
source "$(dirname "$0")/lib.sh"

make_keys || { done_tests; exit 1; }
start_otad --release-pub "$WORK/other.pub" || { done_tests; exit 1; }

# releases: v1, v2 (6 KB, so a resume is visible), v3 throws at start
pad=$(head -c 3000 /dev/zero | tr '\0' 'x')
release 1 'var v=1; function poll(){ /* v1 */ }' && R1=$RDIR
release 2 "var v=2; var pad=\"$pad$pad\"; function poll(){}" && R2=$RDIR
release 3 'var v=3; var mark="otadev:throws"; throw new Error("boom");' && R3=$RDIR
for r in "$R1" "$R2" "$R3"; do publish "$r"; done
provision d1
for d in d2 d-stmt d-bundle d-other d-replay d-key d3; do cp "$WORK/d1.flash" "$WORK/$d.flash"; cp "$WORK/d1.flash.geom" "$WORK/$d.flash.geom"; done

# ---- v1 -> v2, link dropped at 2000 bytes, resumed with Range ----------------
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":100}"
dev d1 --drop-after 2000; rc=$?
log=$(cat "$WORK/d1.log")
expect_eq "v2 run exit" 0 "$rc"
expect_has "link dropped" "download dropped at byte 2000" "$log"
expect_has "resumed with Range" "Range: bytes=2000-" "$log"
expect_has "downloading reported" "report downloading seq 2" "$log"
expect_has "downloaded reported" "report downloaded seq 2" "$log"
expect_has "trial reported" "report trial seq 2" "$log"
expect_has "confirmed reported" "report confirmed seq 2" "$log"
st=$(status d1)
expect_eq "d1 state" confirmed "$(field "$st" state)"
expect_eq "d1 runs v2" 2 "$(field "$st" running_seq)"
admin GET "/admin/devices/d1" >/dev/null
expect_has "server has d1 confirmed" '"confirmed"' "$(cat "$WORK/abody")"
dev d1; expect_has "then nothing new" "nothing new (running seq 2)" "$(cat "$WORK/d1.log")"
dev d1 --polls 3 --interval 0.05
expect_eq "a polling loop: 3 polls" 3 "$(grep -c 'poll: nothing new' "$WORK/d1.log")"
t0=$(date +%s%N)
"$OTA_BIN/otadev" run --flash "$WORK/d1.flash" --server http://127.0.0.1:9 --id d1 --app "$APP" \
    --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --polls 2 >"$WORK/down.log" 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "server down: both polls fail" 2 "$(grep -c 'poll failed' "$WORK/down.log")"
if [ "$ms" -ge 800 ]; then ok; else bad "no backoff after a failed poll (${ms} ms)"; fi
expect_eq "server down: the device keeps v2" 2 "$(field "$(status d1)" running_seq)"

# ---- scripted behaviours: a release that hangs, one that never confirms ------
for b in hangs noconfirm; do
    cp "$WORK/d-key.flash" "$WORK/d-$b.flash"; cp "$WORK/d-key.flash.geom" "$WORK/d-$b.flash.geom"
    dev "d-$b" --behave "2=$b"
    log=$(cat "$WORK/d-$b.log")
    expect_eq "$b: three trial boots" 3 "$(grep -c ', trial boot ' "$WORK/d-$b.log")"
    expect_has "$b: rolled back and reported" "report rolled_back seq 2" "$log"
    expect_eq "$b: back on v1" "rolled_back 1" "$(st=$(status "d-$b"); echo "$(field "$st" state) $(field "$st" running_seq)")"
done
expect_has "hangs: watchdog resets" "hangs (watchdog)" "$(cat "$WORK/d-hangs.log")"
expect_has "noconfirm: never confirms" "never confirms" "$(cat "$WORK/d-noconfirm.log")"

# ---- a power cut mid-download: resume from the durable offset -------------
dev d3 --cut-power-at 12; rc=$?
expect_eq "power cut exit status" 3 "$rc"
expect_has "power cut happened" "power cut at flash operation 12" "$(cat "$WORK/d3.log")"
st=$(status d3)
expect_eq "after the cut d3 still runs v1" 1 "$(field "$st" running_seq)"
expect_eq "after the cut d3 reports downloading" "downloading 2" "$(field "$st" state) $(field "$st" pending_seq)"
pb=$(field "$st" pending_bytes)
if [ "${pb:-0}" -ge 256 ] && [ $((pb % 256)) = 0 ]; then ok; else bad "durable bytes after the cut: '$pb'"; fi
dev d3; rc=$?
log=$(cat "$WORK/d3.log")
expect_eq "d3 second run" 0 "$rc"
expect_has "install resumed after the cut" "resuming the install at byte" "$log"
expect_has "resume uses Range" "Range: bytes=" "$log"
expect_eq "d3 on v2" 2 "$(field "$(status d3)" running_seq)"

# ---- v3 throws at start: back to v2 by itself, rollout paused --------------
rollout "{\"app\":\"$APP\",\"seq\":3,\"percent\":100,\"error_threshold\":0.5,\"min_reports\":1}"
dev d1; rc=$?
log=$(cat "$WORK/d1.log")
expect_eq "v3 run exit" 0 "$rc"
expect_has "v3 throws" "program seq 3 throws at start" "$log"
expect_has "back to v2" "back on B seq 2" "$log"
expect_has "rolled_back reported" "report rolled_back seq 3" "$log"
st=$(status d1)
expect_eq "d1 state after v3" rolled_back "$(field "$st" state)"
expect_eq "d1 runs v2 again" 2 "$(field "$st" running_seq)"
ro=$(admin GET "/admin/rollouts/$APP")
expect_has "rollout paused" '"state":"paused"' "$ro"
expect_has "pause reason" "error threshold" "$ro"
dev d1; expect_has "v3 not offered again" "nothing new (running seq 2)" "$(cat "$WORK/d1.log")"

# ---- an attacker on the network ---------------------------------------------
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":100}"
node "$OTA_ROOT/tests/device/mitm.mjs" "$PORT" "$WORK/mode" >"$WORK/mitm.port" 2>"$WORK/mitm.err" &
MITM_PID=$!
for i in $(seq 1 100); do [ -s "$WORK/mitm.port" ] && break; sleep 0.05; done
MPORT=$(head -1 "$WORK/mitm.port")
via() {   # via MODE DEV [args]: one run of DEV through the attacker
    local m="$1" d="$2"; shift 2
    echo "$m" >"$WORK/mode"
    "$OTA_BIN/otadev" run --flash "$WORK/$d.flash" --server "http://127.0.0.1:$MPORT" --id "$d" --app "$APP" \
        --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 $(secret_args "$d") "$@" \
        >"$WORK/$d.log" 2>&1
}
rejected() {   # rejected WHAT DEV REASON: the reason was reported and DEV still runs v1
    local log; log=$(cat "$WORK/$2.log")
    expect_has "$1: rejected with its reason" "report rejected seq 2: $3" "$log"
    expect_eq "$1: device keeps v1" "1 confirmed" \
        "$(st=$(status "$2"); echo "$(field "$st" running_seq) $(field "$st" state)")"
    expect_not "$1: nothing installed" "report downloaded" "$log"
}
if [ -n "$MPORT" ]; then
    via statement d-stmt; rejected "tampered statement" d-stmt "ticket for another statement"
    via bundle d-bundle; rejected "tampered bundle" d-bundle "bundle: hash mismatch"
    via other-device d-other; rejected "ticket for another device" d-other "wrong device"
    via "record" d2 >/dev/null   # d2 installs v2 for real; its manifest is kept
    expect_eq "d2 on v2" 2 "$(field "$(status d2)" running_seq)"
    via replay d-replay; rejected "replayed manifest (old nonce)" d-replay "wrong device"
    # the same replay aimed at the device it was made for: the nonce is stale
    cp "$WORK/d-key.flash" "$WORK/d2b.flash"; cp "$WORK/d-key.flash.geom" "$WORK/d2b.flash.geom"
    echo replay >"$WORK/mode"
    "$OTA_BIN/otadev" run --flash "$WORK/d2b.flash" --server "http://127.0.0.1:$MPORT" --id d2 --app "$APP" \
        --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 $(secret_args d2) \
        >"$WORK/d2b.log" 2>&1
    rejected "replayed ticket (old nonce)" d2b "stale nonce"
    via lower d1; log=$(cat "$WORK/d1.log")
    expect_has "lower sequence rejected" "report rejected seq 2: not newer" "$log"
    expect_eq "d1 keeps v2" 2 "$(field "$(status d1)" running_seq)"
    # reports that cannot go out wait in FLASH.outbox, in order, and go out
    # before anything else once the server answers again
    cp "$WORK/d-key.flash" "$WORK/d-q.flash"; cp "$WORK/d-key.flash.geom" "$WORK/d-q.flash.geom"
    via no-reports d-q; log=$(cat "$WORK/d-q.log")
    expect_eq "reports down: v2 installed anyway" 2 "$(field "$(status d-q)" running_seq)"
    expect_has "reports down: queued" "report queued until the server can be reached" "$log"
    expect_eq "reports down: 4 reports wait in order" "downloading downloaded trial confirmed" \
        "$(sed -n 's/.*"state":"\([a-z_]*\)".*/\1/p' "$WORK/d-q.flash.outbox" | tr '\n' ' ' | sed 's/ $//')"
    admin GET /admin/devices/d-q >/dev/null
    expect_not "reports down: otad has none yet" '"confirmed"' "$(cat "$WORK/abody")"
    via pass d-q; log=$(cat "$WORK/d-q.log")
    expect_has "reports back: queued reports sent" "sending a queued report" "$log"
    [ ! -e "$WORK/d-q.flash.outbox" ] && ok || bad "outbox not emptied: $(cat "$WORK/d-q.flash.outbox")"
    admin GET /admin/devices/d-q >/dev/null
    expect_has "reports back: otad has d-q confirmed" '"confirmed"' "$(cat "$WORK/abody")"
else
    bad "the network attacker (node mitm.mjs) did not start: $(cat "$WORK/mitm.err")"
fi
kill "$MITM_PID" 2>/dev/null; wait "$MITM_PID" 2>/dev/null

# ---- stock-firmware tier: the ticket's HMAC under the device secret ---------
for d in d-mac d-mac2; do cp "$WORK/d-key.flash" "$WORK/$d.flash"; cp "$WORK/d-key.flash.geom" "$WORK/$d.flash.geom"; done
secret=$(admin POST /admin/devices '{"id":"d-mac","secret":true}' | sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p')
admin POST /admin/devices '{"id":"d-mac2","secret":true}' >/dev/null
expect_eq "device secret issued" 64 "${#secret}"
dev d-mac --tier mac --secret "$secret"
log=$(cat "$WORK/d-mac.log")
expect_has "MAC tier: v2 installed and confirmed" "report confirmed seq 2" "$log"
expect_not "MAC tier: reports accepted (X-OTA-MAC)" "report failed" "$log"
expect_eq "MAC tier: d-mac on v2" 2 "$(field "$(status d-mac)" running_seq)"
admin GET /admin/devices/d-mac >/dev/null
expect_has "server stored the MAC'd reports" '"confirmed"' "$(cat "$WORK/abody")"
wrong=$(printf '%064d' 7)
dev d-mac2 --tier mac --secret "$wrong"
log=$(cat "$WORK/d-mac2.log")
expect_has "MAC tier: wrong secret rejected" "rejected: bad mac" "$log"
expect_has "MAC tier: reports with a wrong MAC refused by otad" "HTTP 401" "$log"
expect_eq "MAC tier: d-mac2 keeps v1" 1 "$(field "$(status d-mac2)" running_seq)"

# ---- its program corrupted in flash: the golden program runs and recovers --
cp "$WORK/d-key.flash" "$WORK/d-gold.flash"; cp "$WORK/d-key.flash.geom" "$WORK/d-gold.flash.geom"
printf '\x00' | dd of="$WORK/d-gold.flash" bs=1 seek=$((32768 + 128 + 5)) conv=notrunc 2>/dev/null
dev d-gold
log=$(cat "$WORK/d-gold.log")
expect_has "corrupt v1: golden runs" "boot: running golden" "$log"
expect_has "golden polls with seq 0 and installs v2" "report confirmed seq 2" "$log"
expect_eq "d-gold recovered on v2" "confirmed 2" "$(st=$(status d-gold); echo "$(field "$st" state) $(field "$st" running_seq)")"

# ---- a release signed by a key the device does not trust ---------------------
release 4 'var v=4;' other && publish "$RDIR"
rollout "{\"app\":\"$APP\",\"seq\":4,\"percent\":100}"
dev d-key
log=$(cat "$WORK/d-key.log")
expect_has "unknown key rejected" "report rejected seq 4: unknown key" "$log"
expect_eq "d-key keeps v1" 1 "$(field "$(status d-key)" running_seq)"
ro=$(admin GET "/admin/rollouts/$APP")
expect_has "server counted the rejection" '"rejected":1' "$ro"

# ---- encoding 1 (heatshrink blocks, FORMAT.md 2a): a compressed v5 ----------
# decoded as it arrives; the link dropped mid-transfer resumes with Range at
# the transferred byte; a power cut resumes the install; a flipped byte in
# transit is refused and the device keeps its program
body=$(for i in $(seq 1 200); do printf 'function f%d(a){return a*%d+"%d";}\n' "$i" "$i" $((i * 7919 % 1000)); done)
ENCODING=heatshrink release 5 "var v=5; $body function poll(){}" && R5=$RDIR && publish "$R5"
expect_has "v5 is encoding 1" '"encoding": "heatshrink"' "$(cat "$R5/release.json")"
xs=$(wc -c <"$R5/bundle.js"); is=$(wc -c <"$R5/program.js")
if [ "$xs" -gt 2000 ] && [ "$xs" -lt "$is" ]; then ok; else bad "v5: $xs bytes transferred for $is installed"; fi
rollout "{\"app\":\"$APP\",\"seq\":5,\"percent\":100}"
for d in d-hs d-hs-cut d-hs-bad; do cp "$WORK/d-key.flash" "$WORK/$d.flash"; cp "$WORK/d-key.flash.geom" "$WORK/$d.flash.geom"; done
dev d-hs --drop-after 1500; rc=$?
log=$(cat "$WORK/d-hs.log")
expect_eq "heatshrink: run exit" 0 "$rc"
expect_has "heatshrink: link dropped" "download dropped at byte 1500" "$log"
expect_has "heatshrink: resumed with Range at the transferred byte" "Range: bytes=1500-" "$log"
expect_has "heatshrink: confirmed" "report confirmed seq 5" "$log"
expect_eq "heatshrink: d-hs runs v5" "confirmed 5" "$(st=$(status d-hs); echo "$(field "$st" state) $(field "$st" running_seq)")"
dev d-hs-cut --cut-power-at 30; rc=$?
expect_eq "heatshrink: power cut exit status" 3 "$rc"
expect_eq "heatshrink: after the cut still v1, downloading" "1 downloading" \
    "$(st=$(status d-hs-cut); echo "$(field "$st" running_seq) $(field "$st" state)")"
dev d-hs-cut; log=$(cat "$WORK/d-hs-cut.log")
expect_has "heatshrink: install resumed after the cut" "resuming the install at byte" "$log"
expect_has "heatshrink: transfer resumed at a checkpointed block" "resuming the transfer at byte" "$log"
expect_has "heatshrink: ... with Range" "Range: bytes=" "$log"
[ ! -e "$WORK/d-hs-cut.flash.hsz" ] && ok || bad "heatshrink: checkpoint left after the install"
expect_eq "heatshrink: d-hs-cut runs v5" "confirmed 5" "$(st=$(status d-hs-cut); echo "$(field "$st" state) $(field "$st" running_seq)")"
node "$OTA_ROOT/tests/device/mitm.mjs" "$PORT" "$WORK/mode" >"$WORK/mitm.port" 2>"$WORK/mitm.err" &
MITM_PID=$!
for i in $(seq 1 100); do [ -s "$WORK/mitm.port" ] && break; sleep 0.05; done
MPORT=$(head -1 "$WORK/mitm.port")
if [ -n "$MPORT" ]; then
    via bundle d-hs-bad; log=$(cat "$WORK/d-hs-bad.log")
    expect_has "heatshrink: flipped byte refused by the transferred hash" "report rejected seq 5: bundle: hash mismatch" "$log"
    expect_not "heatshrink: flipped byte: nothing installed" "report downloaded" "$log"
    expect_eq "heatshrink: d-hs-bad keeps v1, slot erased" "1 confirmed" \
        "$(st=$(status d-hs-bad); echo "$(field "$st" running_seq) $(field "$st" state)")"
else
    bad "the network attacker (node mitm.mjs) did not start: $(cat "$WORK/mitm.err")"
fi
kill "$MITM_PID" 2>/dev/null; wait "$MITM_PID" 2>/dev/null

done_tests

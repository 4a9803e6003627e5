#!/usr/bin/env bash
# tests/device/test_keyset_e2e.sh: rotating and revoking the release key of a
# running fleet (manifests/FORMAT.md section 13), with the real otasign, the
# real otad and otadev devices provisioned with a root key:
#   - key set v1 (old key) reaches devices with their first offer;
#   - rotation: key set v2 (old + new) published with POST /admin/keysets; a
#     release signed by the new key, refused at upload before, now rolls out;
#   - revocation: key set v3 (new key only) put in place and otad sent SIGHUP;
#     a release signed by the old key is no longer offered (also after a
#     restart with the old key still on the command line, and not MAC'd for
#     the stock-firmware tier); an idle device gets the key set on its own;
#   - a rogue server holding the fleet's server key offers the old-key
#     release with a valid ticket: the device refuses it (unknown key);
#   - key sets with a lower version, a bad signature or an unknown root,
#     injected on the network, are refused by the device; a 2-of-2 device
#     refuses one root's signature and takes a set signed offline by both;
#   - a power cut at every flash operation of the device's key-set update
#     leaves the old set or the new one;
#   - the new key rolls out to everyone after the revocation, a stock-firmware
#     (MAC tier) otadev included: for it the server relays trust.
T_NAME=test_keyset_e2e
source "$(dirname "$0")/lib.sh"
O="$OTA_BIN/otasign"

make_keys || { done_tests; exit 1; }
"$O" keygen --root --out "$WORK/root1" >/dev/null 2>&1 || bad "keygen --root"
"$O" keygen --root --out "$WORK/root9" >/dev/null 2>&1 || bad "keygen --root (foreign)"
"$O" keygen --out "$WORK/new" >/dev/null 2>&1 || bad "keygen new"
relid=$("$O" inspect "$WORK/rel.pub" | awk '/key_id/ {print $2}')
newid=$("$O" inspect "$WORK/new.pub" | awk '/key_id/ {print $2}')
ROOTS=(--root-pub "$WORK/root1.pub")
"$O" keyset make --version 1 --key "$WORK/rel.pub" --root "$WORK/root1.key" --out "$WORK/fleet.ks" >/dev/null \
    || bad "keyset make v1"
start_otad --keyset "$WORK/fleet.ks" "${ROOTS[@]}" || { done_tests; exit 1; }
expect_has "otad announces the key set" "key set version 1 in force" "$(cat "$WORK/otad.err")"
kso() { "$OTA_BIN/otadev" keyset --flash "$WORK/$1.flash" "${ROOTS[@]}" 2>/dev/null; }
# publish_status DIR: POST a release, expecting it may be refused; status in $WORK/status
publish_status() {
    admin POST /admin/releases "{\"statement\":\"$(base64 -w0 <"$1/statement.bin")\",\"bundle\":\"$(base64 -w0 <"$1/bundle.js")\"}" >/dev/null
}
# manifest DEV SEQ [KS]: status code of a raw poll; body in $WORK/mbody
manifest() {
    local q="app=$APP&seq=$2&nonce=000102030405060708090a0b0c0d0e0f"
    [ -n "${3:-}" ] && q="$q&ks=$3"
    curl -s -o "$WORK/mbody" -w '%{http_code}' --max-time 10 "$BASE/manifest/$1?$q"
}

release 1 'var v=1; function poll(){}' && R1=$RDIR
release 2 'var v=2; function poll(){}' && R2=$RDIR
publish "$R1"; publish "$R2"
provision d1
for d in d2 d4 d5 d-mac; do cp "$WORK/d1.flash" "$WORK/$d.flash"; cp "$WORK/d1.flash.geom" "$WORK/$d.flash.geom"; done

# ---- key set v1 arrives with the first offer -------------------------------------
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":100}"
dev d1 "${ROOTS[@]}"
log=$(cat "$WORK/d1.log")
expect_has "d1 stores key set v1" "accepted and stored key set version 1: trusts release key(s) $relid" "$log"
expect_has "d1 confirms v2" "report confirmed seq 2" "$log"
expect_eq "d1 key set" "{\"keyset\":1,\"keys\":[\"$relid\"]}" "$(kso d1)"
dev d1 "${ROOTS[@]}"
expect_not "no key set again once it has it" "key set version" "$(cat "$WORK/d1.log")"

# ---- rotation: v2 lists old + new; published through the admin API -----------------
release 3 'var v=3; function poll(){}' new && R3=$RDIR
publish_status "$R3"
expect_eq "new-key release refused before the rotation" 422 "$(cat "$WORK/status")"
"$O" keyset make --version 2 --key "$WORK/rel.pub" --key "$WORK/new.pub" --root "$WORK/root1.key" \
    --out "$WORK/ks2.ks" >/dev/null || bad "keyset make v2"
# exactly the README's command
(cd "$WORK" && curl -s -o "$WORK/abody" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "{\"keyset\":\"$(base64 -w0 ks2.ks)\"}" \
    "$BASE/admin/keysets" >"$WORK/status")
expect_eq "publish key set v2" 200 "$(cat "$WORK/status")"
expect_has "GET /admin/keysets" '"version":2' "$(admin GET /admin/keysets)"
admin POST /admin/keysets "{\"keyset\":\"$(base64 -w0 <"$WORK/fleet.ks")\"}" >/dev/null
expect_eq "publishing an older key set is refused" 422 "$(cat "$WORK/status")"
expect_has "...because it is not newer" "not newer" "$(cat "$WORK/abody")"
"$O" keyset make --version 9 --key "$WORK/new.pub" --root "$WORK/root9.key" --out "$WORK/foreign.ks" >/dev/null
admin POST /admin/keysets "{\"keyset\":\"$(base64 -w0 <"$WORK/foreign.ks")\"}" >/dev/null
expect_eq "a key set by a foreign root is refused by otad" 422 "$(cat "$WORK/status")"
publish "$R3"
rollout "{\"app\":\"$APP\",\"seq\":3,\"percent\":100}"
dev d1 "${ROOTS[@]}"
log=$(cat "$WORK/d1.log")
expect_has "d1 stores key set v2" "accepted and stored key set version 2" "$log"
expect_has "d1 confirms v3 (new key)" "report confirmed seq 3" "$log"
expect_eq "d1 key set v2" "{\"keyset\":2,\"keys\":[\"$relid\",\"$newid\"]}" "$(kso d1)"

# a release by the old key, published while the old key is still trusted
release 4 'var v=4; function poll(){}' && R4=$RDIR
publish "$R4"

# ---- revocation: v3 lists the new key only; the file is replaced and otad gets SIGHUP
"$O" keyset make --version 3 --key "$WORK/new.pub" --root "$WORK/root1.key" --out "$WORK/ks3.ks" >/dev/null \
    || bad "keyset make v3"
cp "$WORK/ks3.ks" "$WORK/fleet.ks.tmp" && mv "$WORK/fleet.ks.tmp" "$WORK/fleet.ks"
kill -HUP "$OTAD_PID"
for i in $(seq 1 50); do admin GET /admin/keysets | grep -q '"version":3' && break; sleep 0.1; done
expect_has "SIGHUP: key set v3 in force" '"version":3' "$(admin GET /admin/keysets)"
expect_has "otad logs the reload" "SIGHUP: key set version 3 in force" "$(cat "$WORK/otad.err")"
rollout "{\"app\":\"$APP\",\"seq\":4,\"percent\":100}"   # the engine knows nothing of key sets
expect_eq "old-key release not offered (no ks)" 204 "$(manifest d2 1)"
expect_eq "old-key release not offered (ks=3)" 204 "$(manifest d2 1 3)"
expect_eq "an older device gets the key set alone" 200 "$(manifest d2 1 1)"
expect_has "...as {keyset, poll}" '"keyset":"' "$(cat "$WORK/mbody")"
expect_not "...and no statement" '"statement"' "$(cat "$WORK/mbody")"
expect_eq "bad ks parameter" 400 "$(manifest d2 1 x)"
publish_status "$R4"
expect_eq "old-key upload refused after the revocation" 422 "$(cat "$WORK/status")"
# stock-firmware tier: otad relays trust and MACs nothing signed by the old key
expect_eq "MAC-tier device registered" 64 "$(secret_for d-mac | tr -d '\n' | wc -c)"
expect_eq "MAC-tier device: nothing offered" 204 "$(manifest d-mac 1)"
dev d-mac --tier mac
expect_has "MAC-tier otadev: nothing new" "nothing new (running seq 1)" "$(cat "$WORK/d-mac.log")"

# ---- an idle device gets the key set on its own ---------------------------------------
dev d2 "${ROOTS[@]}"
log=$(cat "$WORK/d2.log")
expect_has "idle d2 gets key set v3 on its own" "accepted and stored key set version 3: trusts release key(s) $newid" "$log"
expect_not "d2 is not offered the old-key release" "offer accepted" "$log"
expect_eq "d2 still on v1" 1 "$(field "$(status d2)" running_seq)"

# ---- a rogue server with the fleet's server key offers the old-key release ----------
MAIN_PID=$OTAD_PID; MAIN_BASE=$BASE; MAIN_PORT=$PORT
mkdir -p "$WORK/rogue"; cp "$WORK/data/server.key" "$WORK/rogue/"
if otad_launch "$WORK/rogue" --quiet --poll-interval 60; then
    ROGUE_PID=$OTAD_PID
    publish "$R1"; publish "$R4"
    rollout "{\"app\":\"$APP\",\"seq\":4,\"percent\":100}"
    dev d2 "${ROOTS[@]}"
    log=$(cat "$WORK/d2.log")
    expect_has "rogue offer of the old-key release refused" "offer of seq 4 rejected: unknown key" "$log"
    expect_eq "d2 keeps v1" 1 "$(field "$(status d2)" running_seq)"
    # contrast: a device without key sets (it trusts the old key for ever) takes it
    dev d5
    expect_has "contrast: a device without key sets installs it" "report confirmed seq 4" "$(cat "$WORK/d5.log")"
    kill -TERM "$ROGUE_PID"; wait "$ROGUE_PID" 2>/dev/null
else
    bad "rogue otad did not start: $(tail -3 "$WORK/otad.err")"
fi
OTAD_PID=$MAIN_PID; BASE=$MAIN_BASE; PORT=$MAIN_PORT

# ---- SIGHUP never goes back: a damaged or older key-set file keeps v3 in force ----------
cp "$WORK/fleet.ks" "$WORK/ks3-good.ks"
head -c 100 "$WORK/ks3-good.ks" >"$WORK/fleet.ks"
kill -HUP "$OTAD_PID"
for i in $(seq 1 50); do grep -q "reload failed" "$WORK/otad.err" && break; sleep 0.1; done
expect_has "SIGHUP with a damaged file: reload refused" "SIGHUP: reload failed, keys unchanged" "$(cat "$WORK/otad.err")"
expect_has "...v3 still in force" '"version":3' "$(admin GET /admin/keysets)"
cp "$WORK/ks2.ks" "$WORK/fleet.ks"
n0=$(grep -c "SIGHUP: key set version 3 in force" "$WORK/otad.err")
kill -HUP "$OTAD_PID"
for i in $(seq 1 50); do [ "$(grep -c "SIGHUP: key set version 3 in force" "$WORK/otad.err")" -gt "$n0" ] && break; sleep 0.1; done
expect_has "SIGHUP with an older file: v3 kept" '"version":3' "$(admin GET /admin/keysets)"
cp "$WORK/ks3-good.ks" "$WORK/fleet.ks"

# ---- otad refuses to start with a key set it cannot trust ------------------------------
SOURCE_DATE_EPOCH=1700000000 "$O" keyset make --version 7 --key "$WORK/new.pub" --expires 1700000100 \
    --root "$WORK/root1.key" --out "$WORK/expired.ks" --force >/dev/null || bad "make an expired set"
try_start() {   # try_start ARGS...: otad's exit status within 10 s (it must refuse)
    timeout 10 "$OTA_BIN/otad" --data "$WORK/try" --listen 127.0.0.1:0 --quiet "$@" >"$WORK/try.out" 2>&1
}
try_start --keyset "$WORK/expired.ks" "${ROOTS[@]}"
expect_eq "otad refuses an expired key set" 1 "$?"
expect_has "...saying so" "expired" "$(cat "$WORK/try.out")"
try_start --keyset "$WORK/fleet.ks"
expect_eq "otad refuses --keyset without --root-pub" 1 "$?"
expect_has "...saying so" "no --root-pub" "$(cat "$WORK/try.out")"
try_start --keyset "$WORK/fleet.ks" --root-pub "$WORK/root9.pub"
expect_eq "otad refuses a key set by another root" 1 "$?"
try_start --keyset "$WORK/fleet.ks" "${ROOTS[@]}" --root-pub "$WORK/root9.pub" --root-threshold 2
expect_eq "otad refuses a key set below its root threshold" 1 "$?"
try_start --keyset "$WORK/fleet.ks" "${ROOTS[@]}" --root-threshold 9
expect_eq "otad: --root-threshold 9 is a usage error" 2 "$?"

# ---- restart with the old key still on the command line: still not offered ----------
stop_otad || bad "otad exit status"
start_otad --keyset "$WORK/fleet.ks" "${ROOTS[@]}" || { done_tests; exit 1; }
expect_eq "after a restart: old-key release still not offered" 204 "$(manifest d4 1)"
expect_eq "after a restart: ks=3 gets nothing" 204 "$(manifest d4 1 3)"
stop_otad || bad "otad exit status"
cp "$WORK/ks2.ks" "$WORK/fleet.ks"
start_otad --keyset "$WORK/fleet.ks" "${ROOTS[@]}" || { done_tests; exit 1; }
expect_has "restart with an older --keyset file: v3 stays in force" '"version":3' "$(admin GET /admin/keysets)"
expect_eq "...and the old-key release is still not offered" 204 "$(manifest d4 1)"
cp "$WORK/ks3-good.ks" "$WORK/fleet.ks"

# ---- key sets injected on the network: lower version, bad signature, unknown root -----
node "$OTA_ROOT/tests/device/keyset-mitm.mjs" "$PORT" "$WORK/ksmode" >"$WORK/mitm.port" 2>"$WORK/mitm.err" &
MITM_PID=$!
for i in $(seq 1 100); do [ -s "$WORK/mitm.port" ] && break; sleep 0.05; done
MPORT=$(head -1 "$WORK/mitm.port" 2>/dev/null)
if [ -n "$MPORT" ]; then
    cp "$WORK/ks3.ks" "$WORK/ks4-badsig.ks"
    "$O" keyset make --version 4 --key "$WORK/new.pub" --key "$WORK/rel.pub" --root "$WORK/root1.key" \
        --out "$WORK/ks4-badsig.ks" --force >/dev/null
    printf '\x01' | dd of="$WORK/ks4-badsig.ks" bs=1 seek=400 conv=notrunc 2>/dev/null
    "$O" keyset make --version 4 --key "$WORK/new.pub" --key "$WORK/rel.pub" --root "$WORK/root9.key" \
        --out "$WORK/ks4-foreign.ks" >/dev/null
    for c in "ks2.ks:not newer" "ks4-badsig.ks:bad signature" "ks4-foreign.ks:unknown key"; do
        f=${c%%:*}; why=${c#*:}
        echo "$WORK/$f" >"$WORK/ksmode"
        SAVE=$BASE; BASE="http://127.0.0.1:$MPORT"; dev d2 "${ROOTS[@]}"; BASE=$SAVE
        expect_has "device refuses $f" "key set refused: $why" "$(cat "$WORK/d2.log")"
        expect_eq "d2 keeps key set v3 after $f" "{\"keyset\":3,\"keys\":[\"$newid\"]}" "$(kso d2)"
    done
    # a 2-of-2 device (root1 + root9): one root's signature is not enough
    cp "$WORK/d1.flash" "$WORK/dk.flash"; cp "$WORK/d1.flash.geom" "$WORK/dk.flash.geom"
    K2=(--root-pub "$WORK/root1.pub" --root-pub "$WORK/root9.pub" --root-threshold 2)
    echo pass >"$WORK/ksmode"
    SAVE=$BASE; BASE="http://127.0.0.1:$MPORT"; dev dk "${K2[@]}"; BASE=$SAVE
    expect_has "2-of-2 device refuses a set signed by one root" "key set refused: unknown key" "$(cat "$WORK/dk.log")"
    "$O" keyset make --version 5 --threshold 2 --key "$WORK/new.pub" --unsigned --out "$WORK/ks5.kstbs" >/dev/null
    "$O" keyset sign "$WORK/ks5.kstbs" --key "$WORK/root1.key" --out "$WORK/ks5.r1.kssig" >/dev/null
    "$O" keyset sign "$WORK/ks5.kstbs" --key "$WORK/root9.key" --out "$WORK/ks5.r9.kssig" >/dev/null
    "$O" keyset attach "$WORK/ks5.kstbs" --sig "$WORK/ks5.r1.kssig" --sig "$WORK/ks5.r9.kssig" \
        --root "$WORK/root1.pub" --root "$WORK/root9.pub" --threshold 2 --out "$WORK/ks5.ks" >/dev/null \
        || bad "offline 2-of-2 key set"
    echo "$WORK/ks5.ks" >"$WORK/ksmode"
    SAVE=$BASE; BASE="http://127.0.0.1:$MPORT"; dev dk "${K2[@]}"; BASE=$SAVE
    expect_has "2-of-2 device accepts a set signed by both roots (offline sign + attach)" \
        "accepted and stored key set version 5" "$(cat "$WORK/dk.log")"
    expect_eq "dk key set" "{\"keyset\":5,\"keys\":[\"$newid\"]}" \
        "$("$OTA_BIN/otadev" keyset --flash "$WORK/dk.flash" "${K2[@]}" 2>/dev/null)"
    echo pass >"$WORK/ksmode"
    kill "$MITM_PID" 2>/dev/null; wait "$MITM_PID" 2>/dev/null
else
    bad "keyset-mitm (node) did not start: $(cat "$WORK/mitm.err")"
fi

# ---- power cut at every flash operation of the device's key-set update -----------------
cuts=0
for n in 1 2 3 4 5 6; do
    cp "$WORK/d4.flash" "$WORK/dc.flash"; cp "$WORK/d4.flash.geom" "$WORK/dc.flash.geom"; rm -f "$WORK/dc.flash.ks"*
    dev dc "${ROOTS[@]}" --cut-keyset-power-at "$n"; rc=$?
    if [ "$rc" != 3 ]; then
        expect_eq "cut $n beyond the update: a clean run" 0 "$rc"
        break
    fi
    cuts=$((cuts + 1))
    k=$(kso dc)
    case "$k" in
        '{"keyset":0,'*|"{\"keyset\":3,\"keys\":[\"$newid\"]}") ok ;;
        *) bad "power cut at key-set operation $n left: $k" ;;
    esac
    dev dc "${ROOTS[@]}"
    expect_eq "after cut $n the update completes" "{\"keyset\":3,\"keys\":[\"$newid\"]}" "$(kso dc)"
done
expect_eq "power cuts during the device's key-set update" 3 "$cuts"
echo "test_keyset_e2e: power cut at each of $cuts flash operations of the key-set update: old or new set"

# ---- the new key rolls out to everyone -------------------------------------------------------
release 5 'var v=5; function poll(){}' new && R5=$RDIR
publish "$R5"
rollout "{\"app\":\"$APP\",\"seq\":5,\"percent\":100}"
dev d-mac --tier mac
expect_has "MAC tier: the new-key release is offered and MAC'd" "report confirmed seq 5" "$(cat "$WORK/d-mac.log")"
expect_eq "MAC-tier device ends on v5 (new key)" 5 "$(field "$(status d-mac)" running_seq)"
for d in d1 d2 d4; do
    dev "$d" "${ROOTS[@]}"
    expect_eq "$d on v5 (new key)" 5 "$(field "$(status "$d")" running_seq)"
    expect_eq "$d trusts the new key only" "{\"keyset\":3,\"keys\":[\"$newid\"]}" "$(kso "$d")"
done
done_tests

#!/usr/bin/env bash
# tests/tooling/test_client.sh: an operator's day with otasign alone (no
# curl): publish -> staged rollout -> watch -> pause -> resume -> abort,
# against the real otad on 127.0.0.1:0 with real releases and otadev devices.
# Also: where server and token come from (flags > environment > config
# file), --json, errors that say what to do next, --version, and the live
# display (redrawn on a terminal, plain blocks in a pipe).
T_NAME=test_client
source "$(dirname "$0")/../device/lib.sh"
S="$OTA_BIN/otasign"

make_keys || { done_tests; exit 1; }
start_otad || { done_tests; exit 1; }
echo "$TOKEN" >"$WORK/token"
export OTASIGN_CONFIG="$WORK/no-config"     # never the user's own config
unset OTASIGN_SERVER OTASIGN_TOKEN OTASIGN_TOKEN_FILE OTASIGN_ADMIN_TOKEN
C=(--server "$BASE" --token-file "$WORK/token")

# ---- --version: one version string for every program ----------------------------
v1=$("$S" --version); v2=$("$OTA_BIN/otad" --version); v3=$("$OTA_BIN/otadev" --version)
ver=$(sed -n 's/^otasign \([^ ]*\).*/\1/p' <<<"$v1")
check "otasign --version names a version" test -n "$ver"
expect_has "otad --version" "otad $ver" "$v2"
expect_has "otadev --version" "otadev $ver" "$v3"

# ---- where the server and the token come from ------------------------------------
out=$("$S" status 2>&1); rc=$?
expect_eq "no server: usage error" 2 "$rc"
expect_has "no server: says how" "--server" "$out"
out=$("$S" status --server "$BASE" 2>&1); rc=$?
expect_eq "no token: usage error" 2 "$rc"
expect_has "no token: says where it is" "admin.token" "$out"
mkdir -p "$WORK/cfg"
printf '# otasign config\nserver = %s\ntoken-file = ../token\n' "$BASE" >"$WORK/cfg/config"
out=$(OTASIGN_CONFIG="$WORK/cfg/config" "$S" status 2>&1); rc=$?
expect_eq "config file alone works (token-file relative to it)" 0 "$rc"
mkdir -p "$WORK/home/.config/otasign"
cp "$WORK/cfg/config" "$WORK/home/.config/otasign/config"
sed -i "s#\.\./token#$WORK/token#" "$WORK/home/.config/otasign/config"
out=$(env -u OTASIGN_CONFIG HOME="$WORK/home" XDG_CONFIG_HOME= "$S" status 2>&1); rc=$?
expect_eq "~/.config/otasign/config is read" 0 "$rc"
out=$(OTASIGN_CONFIG="$WORK/cfg/config" OTASIGN_SERVER=http://127.0.0.1:1 "$S" status 2>&1); rc=$?
expect_eq "environment beats the config file" 1 "$rc"
expect_has "unreachable server: says what to check" "cannot reach otad at http://127.0.0.1:1" "$out"
out=$(OTASIGN_CONFIG="$WORK/cfg/config" OTASIGN_SERVER=http://127.0.0.1:1 "$S" status --server "$BASE" 2>&1); rc=$?
expect_eq "a flag beats the environment" 0 "$rc"
echo wrong-token-wrong-token >"$WORK/bad-token"
out=$(OTASIGN_CONFIG="$WORK/cfg/config" OTASIGN_TOKEN_FILE="$WORK/bad-token" "$S" status 2>&1); rc=$?
expect_eq "wrong token: failure" 1 "$rc"
expect_has "wrong token: 401 says check --token-file" "check --token-file" "$out"
out=$(OTASIGN_TOKEN="$TOKEN" "$S" status --server "$BASE" 2>&1); rc=$?
expect_eq "OTASIGN_TOKEN works" 0 "$rc"
expect_has "no releases yet: says what to do" "otasign publish" "$out"

# ---- publish -------------------------------------------------------------------------
release 1 'var v=1;' && R1=$RDIR
release 2 'var v=2; function poll(){}' && R2=$RDIR
release 3 'var v=3; function poll(){}' && R3=$RDIR
out=$("$S" publish "$R1" "${C[@]}" 2>&1); rc=$?
expect_eq "publish v1" 0 "$rc"
expect_has "publish v1 says so" "published logger seq 1" "$out"
expect_has "publish says what next" "otasign rollout start logger 1" "$out"
out=$("$S" publish "$R2" "${C[@]}" --json); rc=$?
expect_eq "publish v2 --json" 0 "$rc"
check "publish --json is the release record" grep -q "\"sha256\":\"$(sha256sum "$R2/bundle.js" | cut -c1-64)\"" <<<"$out"
out=$("$S" publish "$R2" "${C[@]}" 2>&1); rc=$?
expect_eq "publish again: fine" 0 "$rc"
expect_has "publish again: already published" "already published" "$out"
cp -r "$R3" "$WORK/damaged"; echo '// more' >>"$WORK/damaged/bundle.js"
out=$("$S" publish "$WORK/damaged" "${C[@]}" 2>&1); rc=$?
expect_eq "damaged release refused locally" 1 "$rc"
expect_has "damaged release: the reason" "does not match" "$out"
release 4 'var v=4;' other && RO=$RDIR
out=$("$S" publish "$RO" "${C[@]}" 2>&1); rc=$?
expect_eq "release by an untrusted key: refused" 1 "$rc"
expect_has "untrusted key: says to check --release-pub" "--release-pub" "$out"
out=$("$S" publish "$WORK/nowhere" "${C[@]}" 2>&1); rc=$?
expect_eq "no such directory" 1 "$rc"

# ---- devices on v1 -------------------------------------------------------------------
# Eight devices, chosen so that exactly two fall in the first wave (25%) of
# rollout #1 (otad's bucket, server/README.md); a wave opens once all the
# devices of the one before confirmed (--wave-fraction 1).
DEVS=($(node -e '
const c = require("crypto"); const b = Buffer.alloc(8); b.writeBigUInt64LE(1n);
const bucket = (id) => Number(c.createHash("sha256").update(Buffer.concat([Buffer.from("otad-bucket-v1\0"), b, Buffer.from(id)])).digest().readBigUInt64LE(0) % 10000n);
const first = [], rest = [];
for (let i = 1; first.length < 2 || rest.length < 6; i++) { const id = "dev-" + i; if (bucket(id) < 2500) { if (first.length < 2) first.push(id); } else if (rest.length < 6) rest.push(id); }
console.log([...first, ...rest].join(" "));'))
check "eight devices chosen" test ${#DEVS[@]} = 8
for d in "${DEVS[@]}"; do provision "$d"; done
# two polls each: a device confirms during the first; otad counts it in its
# wave from the running sequence its next poll reports
round() { local d; for d in "$@"; do dev "$d" --polls 2; done; }
round "${DEVS[@]}"

# ---- rollout start ------------------------------------------------------------------
out=$("$S" rollout start logger 9 "${C[@]}" 2>&1); rc=$?
expect_eq "rollout of an unpublished release" 1 "$rc"
expect_has "unpublished: says publish first" "publish it first" "$out"
out=$("$S" rollout start logger 2 --waves 25,100 --wave-fraction 1 --error-threshold 50% --min-reports 4 "${C[@]}" 2>&1); rc=$?
expect_eq "rollout start" 0 "$rc"
expect_has "starts at its first wave" "active at 25% of devices" "$out"
expect_has "says how to watch" "otasign status logger --watch" "$out"
out=$("$S" rollout start logger 2 --waves 50,20 "${C[@]}" 2>&1); rc=$?
expect_eq "waves not ascending: usage" 2 "$rc"
out=$("$S" rollout set logger "${C[@]}" 2>&1); rc=$?
expect_eq "set with nothing to change: usage" 2 "$rc"

# A watch in the background (a pipe: plain blocks, printed on change only),
# until the second wave opens.
"$S" status logger --watch --interval 0.2 --until percent=100 --timeout 60 "${C[@]}" >"$WORK/watch.txt" 2>&1 &
WATCH=$!
sleep 0.5
round "${DEVS[@]:2}"          # the second wave's devices: nothing offered yet
n2=0; for d in "${DEVS[@]:2}"; do [ "$(field "$(status "$d")" running_seq)" = 2 ] && n2=$((n2 + 1)); done
expect_eq "second wave waits at 25%" 0 "$n2"
round "${DEVS[@]:0:2}"        # the first wave's two update and confirm
wait $WATCH; rc=$?
expect_eq "watch ended by --until percent=100" 0 "$rc"
w=$(cat "$WORK/watch.txt")
blocks=$(grep -c '^\[[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\]$' "$WORK/watch.txt")
check "watch printed more than one block (it changed)" test "$blocks" -ge 2
check "watch printed few blocks (only on change)" test "$blocks" -le 40
expect_not "no terminal codes in a pipe" $'\033[' "$w"
expect_has "watch shows the waves" "waves: 25%" "$w"
expect_has "watch has the per-wave table" "targeted downloading" "$w"
echo "--- otasign status logger --watch (pipe) transcript:"; cat "$WORK/watch.txt"; echo "---"

st=$("$S" status logger "${C[@]}")
expect_has "status: second wave opened" "100% of devices" "$st"
expect_has "status: first wave done" "25% (done)" "$st"
js=$("$S" status logger --json "${C[@]}")
check "status --json parses" node -e 'const j=JSON.parse(process.argv[1]); if(j.current.percent!==100) process.exit(1)' "$js"

# ---- pause: nobody new gets it; resume: they do ---------------------------------------
out=$("$S" rollout pause logger --reason "battery drain on dev-1" "${C[@]}" 2>&1); rc=$?
expect_eq "pause" 0 "$rc"
expect_has "pause: state and reason" "paused at 100%" "$out"
expect_has "pause: reason kept" "battery drain" "$out"
js=$("$S" status logger --json "${C[@]}")
check "status --json: paused" node -e 'const j=JSON.parse(process.argv[1]); if(j.current.state!=="paused") process.exit(1)' "$js"
waiting=()
for d in "${DEVS[@]}"; do
    [ "$(field "$(status "$d")" running_seq)" = 1 ] && waiting+=("$d")
done
expect_eq "the second wave's six devices still wait for v2" 6 "${#waiting[@]}"
dev "${waiting[0]}" --polls 1
expect_has "paused: nothing offered" "nothing new (running seq 1)" "$(cat "$WORK/${waiting[0]}.log")"
out=$("$S" rollout resume logger "${C[@]}" 2>&1); rc=$?
expect_eq "resume" 0 "$rc"
expect_has "resume: active again" "is active" "$out"
round "${DEVS[@]}"
n2=0; for d in "${DEVS[@]}"; do [ "$(field "$(status "$d")" running_seq)" = 2 ] && n2=$((n2 + 1)); done
expect_eq "after resume: all 8 devices on v2" 8 "$n2"
out=$("$S" status logger --until done --timeout 10 --interval 0.2 "${C[@]}" 2>&1); rc=$?
expect_eq "--until done holds" 0 "$rc"

# ---- devices ---------------------------------------------------------------------------
out=$("$S" devices --app logger "${C[@]}" 2>&1); rc=$?
expect_eq "devices" 0 "$rc"
expect_has "devices: 8 listed" "8 devices" "$out"
expect_has "devices: state column" "confirmed" "$out"
out=$("$S" devices --app logger --state rolled_back "${C[@]}" 2>&1)
expect_has "devices --state filters" "0 devices" "$out"
js=$("$S" devices --app logger --json "${C[@]}")
check "devices --json: 8 devices" node -e 'const j=JSON.parse(process.argv[1]); if(j.devices.length!==8) process.exit(1)' "$js"
out=$("$S" devices dev-3 "${C[@]}" 2>&1); rc=$?
expect_eq "one device" 0 "$rc"
expect_has "device: what it runs" "runs logger seq 2" "$out"
expect_has "device: history" "confirmed" "$out"
expect_has "device: history with downloading" "downloading" "$out"
out=$("$S" devices no-such-dev "${C[@]}" 2>&1); rc=$?
expect_eq "unknown device" 1 "$rc"
expect_has "unknown device: says how to add" "otasign device add" "$out"

# ---- a bad release: the threshold pauses it; set, abort ----------------------------------
release 5 'var v=5; // otadev:throws' && R5=$RDIR
"$S" publish "$R5" "${C[@]}" >/dev/null
out=$("$S" rollout start logger 5 --percent 100 --error-threshold 0.3 --min-reports 2 "${C[@]}" 2>&1); rc=$?
expect_eq "a second rollout while one is active: refused" 1 "$rc"
expect_has "refused: says --replace" "--replace" "$out"
out=$("$S" rollout start logger 5 --percent 100 --error-threshold 0.3 --min-reports 2 --replace "${C[@]}" 2>&1); rc=$?
expect_eq "start the bad release (--replace)" 0 "$rc"
round dev-1 dev-2 dev-3
out=$("$S" status logger "${C[@]}")
expect_has "threshold paused it" "paused" "$out"
expect_has "status: why paused" "why paused" "$out"
expect_has "status: rolled back reason listed" "rolled_back:" "$out"
out=$("$S" rollout set logger --percent 10 --error-threshold none "${C[@]}" 2>&1); rc=$?
expect_eq "rollout set" 0 "$rc"
expect_has "set: new percentage" "at 10% of devices" "$out"
out=$("$S" rollout abort logger --reason "throws at start" "${C[@]}" 2>&1); rc=$?
expect_eq "abort" 0 "$rc"
out=$("$S" status logger "${C[@]}")
expect_has "after abort: no rollout running" "no rollout running" "$out"
out=$("$S" rollout pause logger "${C[@]}" 2>&1); rc=$?
expect_eq "pause with no rollout" 1 "$rc"
expect_has "pause with no rollout: says start one" "otasign rollout start logger" "$out"
# recovery: the devices still run v2; an older bundle under a new number
"$S" release --from "$R2" --key "$WORK/rel.key" --out "$WORK/out-rel" >/dev/null 2>&1
check "recovery release made (otasign release --from)" test -d "$WORK/out-rel/logger-6"
"$S" publish "$WORK/out-rel/logger-6" "${C[@]}" >/dev/null
out=$("$S" rollout start logger 6 --percent 100 "${C[@]}" 2>&1); rc=$?
expect_eq "roll the good code out again" 0 "$rc"
round dev-1 dev-2
expect_eq "dev-1 on the recovery release" 6 "$(field "$(status dev-1)" running_seq)"

out=$("$S" rollout set logger --allow dev-1,dev-2 --pin dev-3=6 "${C[@]}" 2>&1); rc=$?
expect_eq "set --allow --pin" 0 "$rc"
js=$("$S" status logger --json "${C[@]}")
check "allow list and pin stored" node -e 'const c=JSON.parse(process.argv[1]).current; if(c.allow.join()!=="dev-1,dev-2"||c.pins["dev-3"]!==6) process.exit(1)' "$js"
out=$("$S" rollout set logger --allow "" "${C[@]}" 2>&1); rc=$?
expect_eq "set --allow '' (everybody)" 0 "$rc"
js=$("$S" status logger --json "${C[@]}")
check "allow list emptied" node -e 'if(JSON.parse(process.argv[1]).current.allow.length!==0) process.exit(1)' "$js"

# ---- a terminal: redrawn in place ---------------------------------------------------------
if command -v script >/dev/null; then
    script -qfec "$S status logger --watch --interval 0.2 --timeout 1 --server $BASE --token-file $WORK/token" \
        "$WORK/tty.txt" >/dev/null 2>&1
    t=$(cat "$WORK/tty.txt")
    expect_has "terminal: redraws in place" $'\033[' "$t"
    expect_has "terminal: says how to stop" "Ctrl-C to stop" "$t"
else
    skip "no script(1) to give the watch a terminal (apt-get install util-linux)"
fi

# ---- usage ---------------------------------------------------------------------------------
case_begin "publish, rollout, status, devices --help: exit 0, name --json"
for c in publish rollout status devices; do
    out=$("$S" "$c" --help 2>&1); rc=$?
    expect_eq "$c --help" 0 "$rc"
    expect_has "$c --help names --json" "--json" "$out"
done
case_end
out=$("$S" rollout explode logger "${C[@]}" 2>&1); rc=$?
expect_eq "unknown rollout action" 2 "$rc"
done_tests

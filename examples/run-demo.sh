#!/usr/bin/env bash
# examples/run-demo.sh: what `make run` does after building: the whole story.
#
#   1. a demo release key and a signed release of examples/logger.js (kept in
#      run-data/ between runs);
#   2. otad on 127.0.0.1:8080 (OTAD_LISTEN to change it), from an empty
#      state directory run-data/data each time;
#   3. the release published and rolled out in two waves with otasign;
#   4. a few simulated devices (otadev, RUN_DEVICES, default 5) that start
#      with only their golden recovery program and poll every few seconds:
#      the first wave updates, confirms, the second wave opens, the rest follow;
#   5. where to watch: the dashboard URL and `otasign status logger --watch`.
#
# Ctrl-C stops otad and every device this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD:-build}/bin
LISTEN=${OTAD_LISTEN:-127.0.0.1:8080}
RUN=${OTAD_RUN_DIR:-run-data}
NDEV=${RUN_DEVICES:-5}
POLL=${RUN_POLL_SECONDS:-4}
mkdir -p "$RUN/keys" "$RUN/releases"
RUN=$(cd "$RUN" && pwd)

if [ ! -f "$RUN/keys/demo.key" ]; then
    "$BIN/otasign" keygen --out "$RUN/keys/demo" >/dev/null
    echo "run: made the demo release key $RUN/keys/demo.key (in real use it stays offline)"
fi
REL=$(ls -d "$RUN"/releases/logger-* 2>/dev/null | sort -t- -k2 -n | tail -n 1 || true)
if [ -z "$REL" ]; then
    "$BIN/otasign" release examples/logger.js --key "$RUN/keys/demo.key" --app logger \
        --label "demo logger" --out "$RUN/releases" | sed 's/^/run: /'
    REL=$(ls -d "$RUN"/releases/logger-* | sort -t- -k2 -n | tail -n 1)
fi
SEQ=${REL##*-}

HOSTPART=${LISTEN%:*}; PORTPART=${LISTEN##*:}
if (exec 3<>"/dev/tcp/${HOSTPART#[}/$PORTPART") 2>/dev/null; then
    echo "run: something already listens on $LISTEN (stop it, or OTAD_LISTEN=127.0.0.1:8081 make run)" >&2
    exit 1
fi

# A fresh server state and fresh devices each time: the story starts over.
rm -rf "$RUN/data" "$RUN/devices" "$RUN/port"
mkdir -p "$RUN/devices"
PIDS=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "run: stopping ${#PIDS[@]} processes (otad and the devices)"
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    exit 0
}
trap stop INT TERM EXIT

"$BIN/otad" --data "$RUN/data" --listen "$LISTEN" --release-pub "$RUN/keys/demo.pub" \
    --port-file "$RUN/port" --poll-interval 60 --quiet 2>"$RUN/otad.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$RUN/port" ] && [ -s "$RUN/data/admin.token" ] && break; sleep 0.05; done
[ -s "$RUN/port" ] || { echo "run: otad did not start:" >&2; cat "$RUN/otad.log" >&2; exit 1; }
BASE="http://${HOSTPART}:$(cat "$RUN/port")"
export OTASIGN_SERVER=$BASE OTASIGN_TOKEN_FILE=$RUN/data/admin.token

echo "run: otad on $BASE (data in $RUN/data, log in $RUN/otad.log)"
"$BIN/otasign" publish "$REL" | head -1 | sed 's/^/run: /'
# Two waves: 40% of the devices first; the rest once all of those confirmed.
"$BIN/otasign" rollout start logger "$SEQ" --waves 40,100 --wave-fraction 1 \
    --error-threshold 0.5 --min-reports 3 | head -1 | sed 's/^/run: /'

# The devices: each registered with otad (POST /admin/devices: otad makes
# its secret and shows it once; a real board gets it inside the script
# `otasign device add` writes), then a flash with only the golden recovery
# program (device/espruino/golden.js, the agent's: it keeps the board
# reachable until a release installs), no app yet.
SERVER_PUB=$(cat "$RUN/data/server.pub")
for i in $(seq 1 "$NDEV"); do
    id=pico-$i
    secret=$(curl -s -H "Authorization: Bearer $(cat "$RUN/data/admin.token")" \
        -H 'Content-Type: application/json' --data-binary "{\"id\":\"$id\",\"secret\":true}" \
        "$BASE/admin/devices" | sed -n 's/.*"secret":"\([0-9a-f]\{64\}\)".*/\1/p')
    [ -n "$secret" ] || { echo "run: could not register $id with otad" >&2; exit 1; }
    "$BIN/otadev" provision --flash "$RUN/devices/$id.flash" --golden device/espruino/golden.js >/dev/null
    # switched on one after the other, a second or two apart
    (sleep $((i * (POLL + 1) / 2)); exec "$BIN/otadev" run --flash "$RUN/devices/$id.flash" \
        --server "$BASE" --id "$id" --app logger --release-pub "$RUN/keys/demo.pub" \
        --server-pub "$SERVER_PUB" --secret "$secret" --polls 0 --interval "$POLL") >"$RUN/devices/$id.log" 2>&1 &
    PIDS+=($!)
done
echo "run: $NDEV devices registered and simulated (otadev), polling every ${POLL}s; logs: $RUN/devices/"

cat <<EOF

Watch the rollout:
  dashboard:  $BASE/ui/     (sign in with the admin token: $(cat "$RUN/data/admin.token"))
  terminal:   export OTASIGN_SERVER=$BASE OTASIGN_TOKEN_FILE=$RUN/data/admin.token
              $BIN/otasign status logger --watch
              $BIN/otasign devices --app logger

Then try, in that terminal:
  $BIN/otasign rollout pause logger --reason "looking at the logs"
  $BIN/otasign rollout resume logger
  # a new version: edit examples/logger.js, then
  $BIN/otasign release examples/logger.js --key $RUN/keys/demo.key --app logger --out $RUN/releases
  $BIN/otasign publish $RUN/releases/logger-$((SEQ + 1))
  $BIN/otasign rollout start logger $((SEQ + 1)) --waves 40,100 --wave-fraction 1 --replace

Devices trust the release key $(cat "$RUN/keys/demo.pub")
and the server key $SERVER_PUB.
Ctrl-C stops otad and the devices (every acknowledged report is already on disk).

EOF
# Follow the rollout here until Ctrl-C (plain lines when not on a terminal).
"$BIN/otasign" status logger --watch --interval 2 || true
wait "${PIDS[0]}"

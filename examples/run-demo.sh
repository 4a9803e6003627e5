#!/usr/bin/env bash
# examples/run-demo.sh: what `make run` does after building.
#
# Makes a demo release key and a release of examples/logger.js (once), starts
# otad on 127.0.0.1:8080 (OTAD_LISTEN to change it) with its data in
# ./run-data/, publishes the release, starts a 100% rollout, prints what to
# try next, and keeps otad in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD:-build}/bin
LISTEN=${OTAD_LISTEN:-127.0.0.1:8080}
RUN=${OTAD_RUN_DIR:-run-data}
mkdir -p "$RUN/keys" "$RUN/releases"

if [ ! -f "$RUN/keys/demo.key" ]; then
    "$BIN/otasign" keygen --out "$RUN/keys/demo" >/dev/null
    echo "run: made the demo release key $RUN/keys/demo.key (keep .key files offline in real use)"
fi
REL=$(ls -d "$RUN"/releases/logger-* 2>/dev/null | sort -t- -k2 -n | tail -n 1 || true)
if [ -z "$REL" ]; then
    "$BIN/otasign" release examples/logger.js --key "$RUN/keys/demo.key" --app logger \
        --label "demo logger" --out "$RUN/releases"
    REL=$(ls -d "$RUN"/releases/logger-* | sort -t- -k2 -n | tail -n 1)
fi
SEQ=${REL##*-}

# Port free?
HOSTPART=${LISTEN%:*}; PORTPART=${LISTEN##*:}
if (exec 3<>"/dev/tcp/${HOSTPART#[}/$PORTPART") 2>/dev/null; then
    echo "run: something already listens on $LISTEN (stop it, or OTAD_LISTEN=127.0.0.1:8081 make run)" >&2
    exit 1
fi

"$BIN/otad" --data "$RUN/data" --listen "$LISTEN" --release-pub "$RUN/keys/demo.pub" \
    --port-file "$RUN/port" --poll-interval 60 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; exit 0' INT TERM
for _ in $(seq 100); do [ -s "$RUN/port" ] && [ -s "$RUN/data/admin.token" ] && break; sleep 0.05; done
PORT=$(cat "$RUN/port")
BASE="http://${HOSTPART}:$PORT"
TOKEN=$(cat "$RUN/data/admin.token")
AUTH="Authorization: Bearer $TOKEN"

printf '{"statement":"%s","bundle":"%s"}' "$(base64 -w0 "$REL/statement.bin")" \
    "$(base64 -w0 "$REL/bundle.js")" >"$RUN/upload.json"
curl -s -o /dev/null -w 'run: publish logger seq %{http_code}\n' -H "$AUTH" \
    --data-binary @"$RUN/upload.json" "$BASE/admin/releases" | sed "s/seq /seq $SEQ: HTTP /"
# A rollout exists after the first run; create one only when there is none.
if ! curl -sf -H "$AUTH" "$BASE/admin/rollouts/logger" | grep -q "\"current\":{"; then
    curl -s -o /dev/null -w 'run: rollout to 100%%: HTTP %{http_code}\n' -H "$AUTH" \
        --data-binary "{\"app\":\"logger\",\"seq\":$SEQ,\"percent\":100}" "$BASE/admin/rollouts"
fi

cat <<EOF

otad is running on $BASE (data in $RUN/data, log below).  Try, in another terminal:

  # a device on nothing asks for work: 200 with a signed offer
  curl -s "$BASE/manifest/dev-1?app=logger&seq=0&nonce=00112233445566778899aabbccddeeff"
  # a device already on seq $SEQ: 204, nothing to do
  curl -si "$BASE/manifest/dev-1?app=logger&seq=$SEQ&nonce=00112233445566778899aabbccddeeff"
  # the bundle (Range works too: -H 'Range: bytes=0-99')
  curl -s "$BASE/bundle/$(sha256sum "$REL/bundle.js" | cut -c1-64)"
  # the device reports
  curl -s -X POST "$BASE/report/dev-1" -d '{"app":"logger","seq":$SEQ,"state":"confirmed"}'
  # admin: rollout state, device record (token in $RUN/data/admin.token)
  curl -s -H "Authorization: Bearer \$(cat $RUN/data/admin.token)" $BASE/admin/rollouts/logger
  curl -s -H "Authorization: Bearer \$(cat $RUN/data/admin.token)" $BASE/admin/devices/dev-1
  # a new version: edit examples/logger.js, then release, publish and roll it out to 50%
  $BIN/otasign release examples/logger.js --key $RUN/keys/demo.key --app logger --out $RUN/releases
  R=$RUN/releases/logger-$((SEQ + 1))
  printf '{"statement":"%s","bundle":"%s"}' "\$(base64 -w0 \$R/statement.bin)" "\$(base64 -w0 \$R/bundle.js)" |
    curl -s -H "Authorization: Bearer \$(cat $RUN/data/admin.token)" --data-binary @- $BASE/admin/releases
  curl -s -H "Authorization: Bearer \$(cat $RUN/data/admin.token)" $BASE/admin/rollouts \\
    --data-binary '{"app":"logger","seq":$((SEQ + 1)),"percent":50}'

Devices must trust the release key $(cat "$RUN/keys/demo.pub")
and the server key $(cat "$RUN/data/server.pub").
Ctrl-C stops otad (every acknowledged report is already on disk).
EOF
wait $PID

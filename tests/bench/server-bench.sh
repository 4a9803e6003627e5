#!/usr/bin/env bash
# otad vs nginx, side by side in one run (figures, never pass/fail).
#
# Both serve on loopback; wrk (2 threads, 64 connections) measures:
#   204 poll           otad GET /manifest/<id> answered 204   vs  nginx static 600-byte file
#   offer              otad 200 offer (one Ed25519 ticket)    vs  nginx static 600-byte file
#   Connection: close  otad 204 poll, new connection each     vs  nginx static file, same
#   200 KB bundle      otad GET /bundle/<sha> (sendfile)      vs  nginx sendfile of the same file
#
#   BENCH_SECONDS=5 BENCH_CONNS=64 BENCH_THREADS=2 OTAD_THREADS=2 tests/bench/server-bench.sh
set -euo pipefail
: "${OTA_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OTA_BIN:=$OTA_ROOT/build/bin}"
case "$OTA_BIN" in /*) ;; *) OTA_BIN="$OTA_ROOT/$OTA_BIN" ;; esac
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-64}
WT=${BENCH_THREADS:-2}
OT=${OTAD_THREADS:-2}

for tool in wrk nginx; do
    command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "server-bench: $tool missing (scripts/deps.sh bench)"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

W=$(mktemp -d /tmp/otad-bench.XXXXXX)
chmod 755 "$W"
OTAD_PID=; NGINX_PID=
cleanup() {
    [ -n "$OTAD_PID" ] && kill "$OTAD_PID" 2>/dev/null && wait "$OTAD_PID" 2>/dev/null
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

# ---- content: a 200 KB bundle and a release of it ----------------------------
mkdir -p "$W/www"
i=0
while [ "$(stat -c %s "$W/www/bundle.js" 2>/dev/null || echo 0)" -lt 204800 ]; do
    printf 'function f%d(a,b){return a*%d+b;}\n' $i $i >>"$W/www/bundle.js"; i=$((i + 1))
done
truncate -s 204800 "$W/www/bundle.js"
"$OTA_BIN/otad-testsign" keygen "$W/rel"
"$OTA_BIN/otad-testsign" release "$W/rel.seed" "$W/www/bundle.js" bench 1 "$W/stmt.bin" "bench"
TOKEN=bench-token-0123456789abcdef
NONCE=00112233445566778899aabbccddeeff

# ---- otad -----------------------------------------------------------------------
OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" \
    --release-pub "$W/rel.pub" --threads "$OT" --max-per-ip 4096 --max-connections 4000 ${OTAD_ARGS:-} \
    >"$W/otad.out" 2>/dev/null &
OTAD_PID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
OP=$(cat "$W/port")
printf '{"statement":"%s","bundle":"%s"}' "$(base64 -w0 "$W/stmt.bin")" "$(base64 -w0 "$W/www/bundle.js")" >"$W/up.json"
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" --data-binary @"$W/up.json" "http://127.0.0.1:$OP/admin/releases"
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" --data-binary '{"app":"bench","seq":1}' "http://127.0.0.1:$OP/admin/rollouts"
SHA=$(sha256sum "$W/www/bundle.js" | cut -c1-64)
# The nginx peer serves an offer-sized JSON file (600 bytes, as a manifest).
curl -s "http://127.0.0.1:$OP/manifest/bench-0?app=bench&seq=0&nonce=$NONCE" | head -c 600 >"$W/www/manifest.json"
while [ "$(stat -c %s "$W/www/manifest.json")" -lt 600 ]; do printf ' ' >>"$W/www/manifest.json"; done

# ---- nginx (Debian nginx-light), temp config, sendfile on ------------------------
NP=$((20000 + RANDOM % 20000))
mkdir -p "$W/ng"
cat >"$W/ng/nginx.conf" <<EOF
worker_processes 2;
pid $W/ng/nginx.pid;
error_log $W/ng/error.log;
daemon off;
user root;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 30;
    client_body_temp_path $W/ng/tmp;
    proxy_temp_path $W/ng/tmp;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$NP;
        root $W/www;
        etag on;
    }
}
EOF
mkdir -p "$W/ng/tmp"
"$NGINX" -p "$W/ng" -c "$W/ng/nginx.conf" 2>"$W/ng/start.log" &
NGINX_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$NP/manifest.json" && break; sleep 0.05; done

rps() {  # rps URL [wrk args...]: requests per second
    local url="$1"; shift
    wrk -t"$WT" -c"$CONNS" -d"${SECS}s" "$@" "$url" 2>/dev/null | awk '/^Requests\/sec:/ {print $2}'
}
check_status() {  # sanity: the URL answers what we think
    curl -s -o /dev/null -w '%{http_code}' "$1"
}
O204="http://127.0.0.1:$OP/manifest/bench-1?app=bench&seq=1&nonce=$NONCE"
OOFF="http://127.0.0.1:$OP/manifest/bench-2?app=bench&seq=0&nonce=$NONCE"
OBUN="http://127.0.0.1:$OP/bundle/$SHA"
NMAN="http://127.0.0.1:$NP/manifest.json"
NBUN="http://127.0.0.1:$NP/bundle.js"
echo "server-bench: otad ($OT threads, epoll) vs nginx (2 workers, sendfile), wrk -t$WT -c$CONNS -d${SECS}s, $(nproc) cores"
echo "  sanity: otad poll $(check_status "$O204"), offer $(check_status "$OOFF"), bundle $(check_status "$OBUN"); nginx $(check_status "$NMAN") $(check_status "$NBUN")"

# Warm up both.
wrk -t1 -c8 -d1s "$O204" >/dev/null 2>&1 || true
wrk -t1 -c8 -d1s "$NMAN" >/dev/null 2>&1 || true

row() {  # row NAME OTAD_RPS NGINX_RPS TARGET
    awk -v n="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
        r = (b > 0) ? a / b : 0;
        printf "  %-22s otad %10.0f req/s   nginx %10.0f req/s   ratio %5.2fx   (target >= %s)\n", n, a, b, r, t }'
}
# The machine may be shared: alternate otad and nginx runs and keep each
# side's best of ROUNDS, so background load hurts both alike.
ROUNDS=${BENCH_ROUNDS:-3}
pair() {  # pair NAME TARGET OTAD_URL NGINX_URL [wrk args...]
    local name="$1" target="$2" ou="$3" nu="$4"; shift 4
    local a=0 b=0 x r
    for r in $(seq "$ROUNDS"); do
        x=$(rps "$ou" "$@"); a=$(awk -v p="$a" -v q="${x:-0}" 'BEGIN { print (q > p) ? q : p }')
        x=$(rps "$nu" "$@"); b=$(awk -v p="$b" -v q="${x:-0}" 'BEGIN { print (q > p) ? q : p }')
    done
    row "$name" "$a" "$b" "$target"
}
echo "  (best of $ROUNDS alternating runs each)"
ONLY=${BENCH_ONLY:-poll,offer,close,bundle}
case ",$ONLY," in *,poll,*) pair "204 poll" 1.2 "$O204" "$NMAN" ;; esac
case ",$ONLY," in *,offer,*) pair "offer (1 signature)" 0.35 "$OOFF" "$NMAN" ;; esac
case ",$ONLY," in *,close,*) pair "Connection: close poll" 0.95 "$O204" "$NMAN" -H 'Connection: close' ;; esac
case ",$ONLY," in *,bundle,*) pair "200 KB bundle" 0.9 "$OBUN" "$NBUN" ;; esac
M=$(curl -s "http://127.0.0.1:$OP/metrics")
echo "  otad metrics: $(grep -E '^otad_(polls_total|offers_total|connections_accepted_total) ' <<<"$M" | tr '\n' ' ')"

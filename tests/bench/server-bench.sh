#!/usr/bin/env bash
# otad vs nginx, side by side in one run (figures, never pass/fail).
#
# Each peer does the same work as otad, and every peer figure is measured in
# this run (no constants from elsewhere).  wrk (2 threads, 64 connections):
#   204 poll           otad GET /manifest/<id> answered 204   vs  nginx `return 204` with the
#                                                                 same response headers
#   compact 204 poll   otad GET /m/<id> answered 204          vs  nginx `return 204` with the
#                      (FORMAT.md 6b: no nonce, no Date)          same headers (nginx adds its
#                                                                 Date and Server: it has no
#                                                                 switch to drop them)
#   offer              otad 200 offer (one Ed25519 ticket)    vs  libsodium's raw signing rate
#                                                                 on one core (otad-testsign
#                                                                 signrate), the work an offer
#                                                                 cannot avoid
#   Connection: close  otad 204 poll, new connection each     vs  nginx `return 204`, same
#   200 KB bundle      otad GET /bundle/<sha> (sendfile)      vs  nginx sendfile of the same file
# Beside requests per second each side's CPU time per request is printed
# (utime+stime from /proc of otad, or of nginx's master and workers, over the
# measured run), so a ratio bought with more CPU shows.
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
# The nginx peer answers a poll the way otad does: 204 with the same headers.
POLL_HDRS=$(curl -s -D - -o /dev/null "http://127.0.0.1:$OP/manifest/bench-1?app=bench&seq=1&nonce=$NONCE" | tr -d '\r')
POLL_IVL=$(awk -F': ' 'tolower($1) == "x-poll-interval" {print $2}' <<<"$POLL_HDRS")

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
        server_tokens off;
        location = /cpoll {
            add_header Cache-Control no-store;
            return 204;
        }
        location = /poll {
            add_header X-Poll-Interval "$POLL_IVL";
            add_header Cache-Control no-store;
            return 204;
        }
    }
}
EOF
mkdir -p "$W/ng/tmp"
"$NGINX" -p "$W/ng" -c "$W/ng/nginx.conf" 2>"$W/ng/start.log" &
NGINX_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$NP/bundle.js" && break; sleep 0.05; done

HZ=$(getconf CLK_TCK)
cpu_ticks() {  # cpu_ticks PID...: utime+stime of those processes, in clock ticks
    local t=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
    done
    echo "$t"
}
pids_of() {  # pids_of URL: the server processes behind URL (otad, or nginx's master + workers)
    case "$1" in
        *:"$OP"/*) echo "$OTAD_PID" ;;
        *) echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
    esac
}
rps() {  # rps URL [wrk args...]: "requests/s CPU-us-per-request"
    local url="$1"; shift
    local pids c0 c1 out n r
    pids=$(pids_of "$url")
    c0=$(cpu_ticks $pids)
    out=$(wrk -t"$WT" -c"$CONNS" -d"${SECS}s" "$@" "$url" 2>/dev/null)
    c1=$(cpu_ticks $pids)
    r=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    awk -v r="${r:-0}" -v n="${n:-0}" -v d=$((c1 - c0)) -v hz="$HZ" \
        'BEGIN { printf "%s %.1f\n", r, (n > 0) ? d * 1e6 / hz / n : 0 }'
}
check_status() {  # sanity: the URL answers what we think
    curl -s -o /dev/null -w '%{http_code}' "$1"
}
O204="http://127.0.0.1:$OP/manifest/bench-1?app=bench&seq=1&nonce=$NONCE"
OOFF="http://127.0.0.1:$OP/manifest/bench-2?app=bench&seq=0&nonce=$NONCE"
OC204="http://127.0.0.1:$OP/m/bench-1?a=bench&s=1"
NCPOLL="http://127.0.0.1:$NP/cpoll"
OBUN="http://127.0.0.1:$OP/bundle/$SHA"
NPOLL="http://127.0.0.1:$NP/poll"
NBUN="http://127.0.0.1:$NP/bundle.js"
echo "server-bench: otad ($OT threads, epoll) vs nginx (2 workers, sendfile), wrk -t$WT -c$CONNS -d${SECS}s, $(nproc) cores"
echo "  sanity: otad poll $(check_status "$O204"), compact poll $(check_status "$OC204"), offer $(check_status "$OOFF"), bundle $(check_status "$OBUN"); nginx poll $(check_status "$NPOLL"), bundle $(check_status "$NBUN")"
echo "  peer 204 headers (otad's, copied into nginx): $(grep -iE '^(x-poll-interval|cache-control):' <<<"$POLL_HDRS" | tr '\n' ' ')"

# Warm up both.
wrk -t1 -c8 -d1s "$O204" >/dev/null 2>&1 || true
wrk -t1 -c8 -d1s "$NPOLL" >/dev/null 2>&1 || true

srow() { [ -n "${OTA_BENCH_SUMMARY:-}" ] && printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OTA_BENCH_SUMMARY"; return 0; }
row() {  # row NAME "OTAD_RPS OTAD_US" "PEER_RPS PEER_US" PEER_NAME TARGET
    local sec="otad speed (wrk -c$CONNS, $(nproc) cores, best of ${ROUNDS:-3})"
    srow "$sec" "$1: requests/s (goal >= $5x)" "$4" "${3%% *}" "${2%% *}"
    srow "$sec" "$1: CPU us per request" "$4" "${3##* }" "${2##* }"
    awk -v n="$1" -v a="$2" -v b="$3" -v p="$4" -v t="$5" 'BEGIN {
        split(a, x, " "); split(b, y, " ");
        r = (y[1] > 0) ? x[1] / y[1] : 0;
        printf "  %-22s otad %9.0f req/s %6.1f us CPU/req   %-13s %9.0f /s %6.1f us CPU   ratio %5.2fx  (goal >= %s)\n",
               n, x[1], x[2], p, y[1], y[2], r, t }'
}
best() {  # best "RPS US" "RPS US": the pair with more requests per second
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); print ((y[1] + 0 > x[1] + 0) ? b : a) }'
}
# The machine may be shared: alternate otad and peer runs and keep each
# side's best of ROUNDS, so background load hurts both alike.
ROUNDS=${BENCH_ROUNDS:-3}
pair() {  # pair NAME TARGET OTAD_URL NGINX_URL [wrk args...]
    local name="$1" target="$2" ou="$3" nu="$4"; shift 4
    local a="0 0" b="0 0" r
    for r in $(seq "$ROUNDS"); do
        a=$(best "$a" "$(rps "$ou" "$@")")
        b=$(best "$b" "$(rps "$nu" "$@")")
    done
    row "$name" "$a" "$b" "nginx" "$target"
}
sign_pair() {  # offers against libsodium signing on one core, alternating likewise
    local a="0 0" b="0 0" r
    for r in $(seq "$ROUNDS"); do
        a=$(best "$a" "$(rps "$OOFF")")
        b=$(best "$b" "$("$OTA_BIN/otad-testsign" signrate "$SECS")")
    done
    row "offer (1 signature)" "$a" "$b" "sign, 1 core" 0.7
}
echo "  (best of $ROUNDS alternating runs each; every peer figure is measured in this run)"
ONLY=${BENCH_ONLY:-poll,cpoll,offer,close,bundle}
case ",$ONLY," in *,poll,*) pair "204 poll" 1.2 "$O204" "$NPOLL" ;; esac
case ",$ONLY," in *,cpoll,*) pair "compact 204 poll" 1.2 "$OC204" "$NCPOLL" ;; esac
case ",$ONLY," in *,offer,*) sign_pair ;; esac
case ",$ONLY," in *,close,*) pair "Connection: close poll" 0.95 "$O204" "$NPOLL" -H 'Connection: close' ;; esac
case ",$ONLY," in *,bundle,*) pair "200 KB bundle" 0.9 "$OBUN" "$NBUN" ;; esac
M=$(curl -s "http://127.0.0.1:$OP/metrics")
echo "  otad metrics: $(grep -E '^otad_(polls_total|offers_total|connections_accepted_total) ' <<<"$M" | tr '\n' ' ')"

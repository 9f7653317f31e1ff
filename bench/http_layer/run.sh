#!/bin/sh
# bench/http_layer/run.sh — requests/s of the HTTP layer on a trivial JSON route (GET /health) with
# wrk -t2 -c64, against FastAPI+uvicorn serving the same route, runs interleaved.
# Usage: bench/http_layer/run.sh [seconds per run, default 5] [rounds, default 3]
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-5}
ROUNDS=${2:-3}
PY=/usr/bin/python3
make -s -j2 build/librodeo.a >/dev/null
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -pthread -Isrc $(pkg-config --cflags jansson) bench/http_layer/http_server.c \
   build/librodeo.a -o build/bench_http_server $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lm
PORT_C=18401; PORT_L=18402; PORT_P=18403
# C server, access log on (to /dev/null: the formatting and write are counted) and a
# rate-limited copy (every request does a kv_incr_window).
LOG_LEVEL=info build/bench_http_server $PORT_C 2 >/dev/null 2>&1 & C_PID=$!
LOG_LEVEL=info build/bench_http_server $PORT_L 2 100000000 >/dev/null 2>&1 & L_PID=$!
(cd bench/http_layer && $PY -m uvicorn http_peer:app --port $PORT_P --log-level warning --no-access-log) >/dev/null 2>&1 & P_PID=$!
trap 'kill $C_PID $L_PID $P_PID 2>/dev/null' EXIT
sleep 2
# run PORT PID -> "rps cpu_us_per_request": the server's own CPU time per request is the
# steadier figure on a shared machine (wrk and other tenants compete for the same cores).
TCK=$(getconf CLK_TCK)
run() {
  t0=$(awk '{print $14+$15}' /proc/$2/stat)
  out=$(wrk -t2 -c64 -d${SECS}s "http://127.0.0.1:$1/health")
  t1=$(awk '{print $14+$15}' /proc/$2/stat)
  echo "$out" | awk -v t="$((t1 - t0))" -v k="$TCK" '
    /requests in/ {n=$1} /Requests\/sec/ {r=$2}
    END {printf "%s %.1f", r, (n ? t * 1e6 / k / n : 0)}'
}
echo "round c_rps c_us/req c_ratelimited_rps c_rl_us/req fastapi_rps fastapi_us/req"
for i in $(seq 1 "$ROUNDS"); do
  c=$(run $PORT_C $C_PID); l=$(run $PORT_L $L_PID); p=$(run $PORT_P $P_PID)
  echo "$i $c $l $p"
done

#!/bin/sh
# bench/billing/run.sh — plan/quota check cost and webhook throughput on SQLite
# (bench/billing/billing_bench.c) against the same work in Python + sqlite3
# (bench/billing/billing_peer.py), rounds interleaved. Targets (issue 8): quota check < 50 us,
# webhooks >= 2000 events/s.
# Usage: bench/billing/run.sh [rounds, default 3] [quota iterations, default 20000] [events, default 4000]
set -eu
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}; ITERS=${2:-20000}; EVENTS=${3:-4000}
PY=/usr/bin/python3
make -s -j2 build/librodeo.a >/dev/null
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -pthread -Isrc $(pkg-config --cflags jansson) bench/billing/billing_bench.c \
   build/librodeo.a -o build/billing_bench $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lm
lscpu | grep 'Model name' || true
for i in $(seq 1 "$ROUNDS"); do
  d=$(mktemp -d /tmp/rodeo-billing-bench-XXXXXX)
  echo "== round $i: rodeo"; build/billing_bench "$d" "$ITERS" "$EVENTS"
  echo "== round $i: python peer"; $PY bench/billing/billing_peer.py "$d" "$ITERS" "$EVENTS"
  rm -rf "$d"
done

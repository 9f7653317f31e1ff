#!/usr/bin/env bash
# Store benchmark: C store calls (bench/store/store_bench.c) against two Python peers doing the same
# work on the same kind of SQLite file (bench/store/store_peer.py: the original's SQLAlchemy ORM,
# and the stdlib sqlite3 module with our SQL). Rounds are interleaved; see
# bench/results/store.md. Usage: bench/store/run.sh [ops-per-round] [rounds]
#   DATABASE_URL=postgresql://... also runs the C bench against PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000}; rounds=${2:-3}
make -s build/librodeo.a
cc -O2 -g -std=c11 -D_GNU_SOURCE -pthread -Isrc $(pkg-config --cflags jansson) bench/store/store_bench.c \
  build/librodeo.a $(pkg-config --libs jansson sqlite3 libpq openssl) -lm -o build/store_bench
lscpu | grep -m1 'Model name'
for r in $(seq "$rounds"); do
  echo "--- round $r"
  env -u DATABASE_URL build/store_bench "$n"
  /usr/bin/python3 bench/store/store_peer.py "$n"
done
if [ -n "${DATABASE_URL:-}" ]; then
  echo "--- postgres"
  build/store_bench "$n"
fi

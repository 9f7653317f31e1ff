#!/usr/bin/env bash
# run.sh — generated recognition benchmark: renders N products x Q queries (default the
# issue's 500 x 5) with tests/tools/recog_make_benchmark.py, then bench/recog/eval prints
# top-1/top-5 for the classic features.  usage: bench/recog/run.sh [N] [Q] [eval flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-500}; Q=${2:-5}; shift 2 2>/dev/null || true
make -s -j2 build/librodeo.a
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o build/recog_eval bench/recog/eval.c tests/unit/recog_jpeg.c \
   build/librodeo.a $(pkg-config --libs openssl 2>/dev/null) -ljpeg -lm -lpthread
DIR=${RECOG_BENCH_DIR:-/tmp/rodeo-recog-bench-$N-$Q}
if [ ! -f "$DIR/queries.csv" ]; then
  /usr/bin/python3 tests/tools/recog_make_benchmark.py "$DIR" --products "$N" --queries "$Q"
fi
build/recog_eval "$DIR" "$@"

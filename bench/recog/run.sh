#!/usr/bin/env bash
# run.sh — generated recognition benchmark: renders N products x Q queries (default the
# issue's 500 x 5) with tests/tools/recog_make_benchmark.py, then bench/recog/eval prints
# top-1/top-5 for the classic features.  usage: [RECOG_SEED=S] bench/recog/run.sh [N] [Q] [eval flags...]
# The engine itself: --engine (the figure bench/results/recog.md reports); the older grid
# --local 100 --local-lambda 0.25 --local-vtop 12 (row mu 0.40 half 10) scores the same way.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-500}; Q=${2:-5}; shift 2 2>/dev/null || true
make -s -j2 build/librodeo.a
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o build/recog_eval bench/recog/eval.c tests/unit/recog_jpeg.c \
   build/librodeo.a $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lm -lpthread
SEED=${RECOG_SEED:-7}
SUFFIX=""; [ "$SEED" = 7 ] || SUFFIX="-s$SEED"
DIR=${RECOG_BENCH_DIR:-/tmp/rodeo-recog-bench-$N-$Q$SUFFIX}
if [ ! -f "$DIR/queries.csv" ]; then
  /usr/bin/python3 tests/tools/recog_make_benchmark.py "$DIR" --products "$N" --queries "$Q" --seed "$SEED"
fi
build/recog_eval "$DIR" "$@"

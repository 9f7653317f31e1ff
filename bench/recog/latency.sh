#!/usr/bin/env bash
# latency.sh — recognition latency (bench/recog/latency.c) on a 12 MP JPEG against an
# N-image index (default 100000), and the original Python pipeline on the same photo.
# usage: bench/recog/latency.sh [N] [ITER]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}; ITER=${2:-30}
make -s -j2 build/librodeo.a
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags jansson) -o build/recog_latency bench/recog/latency.c \
   tests/unit/recog_jpeg.c build/librodeo.a $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lpthread -lm
DIR=${RECOG_BENCH_DIR:-/tmp/rodeo-recog-bench-500-5}
[ -f "$DIR/queries.csv" ] || /usr/bin/python3 tests/tools/recog_make_benchmark.py "$DIR" --products 500 --queries 5
PHOTO=${RECOG_PHOTO:-/tmp/rodeo-recog-12mp.jpg}
[ -f "$PHOTO" ] || /usr/bin/python3 bench/recog/make_photo.py "$PHOTO"
lscpu | grep -i 'model name'
build/recog_latency "$DIR" "$PHOTO" "$N" "$ITER"
echo "original Python pipeline (same photo):"
/usr/bin/python3 bench/recog/original_pipeline.py "$PHOTO" 10

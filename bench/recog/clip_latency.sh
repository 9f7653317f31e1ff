#!/usr/bin/env bash
# clip_latency.sh — recognition latency on the CLIP path (bench/recog/clip_latency.c) with a
# random-weight full-size CLIP ViT-B/32 (written by bench/ml/bench.py's generator, text tower
# included) on a 12 MP JPEG against N entries (default 100000).
# usage: bench/recog/clip_latency.sh [N] [ITER] [bf16|int8]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}; ITER=${2:-20}; PREC=${3:-fp32}
make -s -j2 build/librodeo.a
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags jansson) -o build/recog_clip_latency \
   bench/recog/clip_latency.c build/librodeo.a $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lpthread -lm
export ML_BENCH_DIR=${ML_BENCH_DIR:-/tmp/rodeo-bench-ml}
# the ml benchmark's generator only (its main() runs the whole benchmark)
/usr/bin/python3 -c "
src = open('bench/ml/bench.py').read().rsplit('\nmain()', 1)[0]
g = {'__file__': 'bench/ml/bench.py', '__name__': 'gen'}
exec(compile(src, 'bench/ml/bench.py', 'exec'), g)
g['write_model']()"
PHOTO=${RECOG_PHOTO:-/tmp/rodeo-recog-12mp.jpg}
[ -f "$PHOTO" ] || /usr/bin/python3 bench/recog/make_photo.py "$PHOTO"
lscpu | grep -i 'model name'
build/recog_clip_latency "$ML_BENCH_DIR/clip-vit-base-patch32" "$PHOTO" "$N" "$ITER" "$PREC"

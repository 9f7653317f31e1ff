#!/usr/bin/env bash
# throughput.sh — sustained recognitions/s of `rodeo serve` over HTTP with N concurrent
# clients uploading distinct 12 MP photos (bench/recog/throughput.py), CLIP ViT-B/32 with
# random full-size weights (bench/ml/bench.py's generator, as clip_latency.sh), against a
# data dir of PRODUCTS products with CLIP vectors (throughput_seed.c).
# usage: bench/recog/throughput.sh [PRECISION=fp32] [CONCURRENCY=1,2,4,8] [REQUESTS=40] [PRODUCTS=100000] [NAME=VALUE ...]
#   extra NAME=VALUE pairs go to the server (RECOG_BATCH=1 turns batching off, RECOG_WORKERS, ...)
#   RECOG_CACHED=1: measure the byte-identical re-upload path instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
PREC=${1:-fp32}; CONC=${2:-1,2,4,8}; REQ=${3:-40}; N=${4:-100000}
shift $(( $# < 4 ? $# : 4 ))
make -s -j2 build/rodeo build/librodeo.a
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags jansson) -o build/recog_throughput_seed \
   bench/recog/throughput_seed.c build/librodeo.a $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lpthread -lm
export ML_BENCH_DIR=${ML_BENCH_DIR:-/tmp/rodeo-bench-ml}
MODEL="$ML_BENCH_DIR/clip-vit-base-patch32"
[ -f "$MODEL/model.safetensors" ] || /usr/bin/python3 -c "
src = open('bench/ml/bench.py').read().rsplit('\nmain()', 1)[0]
g = {'__file__': 'bench/ml/bench.py', '__name__': 'gen'}
exec(compile(src, 'bench/ml/bench.py', 'exec'), g)
g['write_model']()"
WORK=${RECOG_BENCH_DIR:-/tmp/rodeo-recog-throughput}
SEED="$WORK/seed-$N"
[ -f "$SEED/.seeded" ] || { rm -rf "$SEED"; build/recog_throughput_seed "$SEED" "$MODEL" "$N" && touch "$SEED/.seeded"; }
PHOTOS="$WORK/photos"
/usr/bin/python3 bench/recog/throughput_photos.py "$PHOTOS" $(( REQ + 2 ))
lscpu | grep -i 'model name'
ENVS=()
for kv in "$@"; do ENVS+=(--env "$kv"); done
if [ "${RECOG_CACHED:-0}" = 1 ]; then
  /usr/bin/python3 bench/recog/throughput.py --seed-dir "$SEED" --model "$MODEL" --photos "$PHOTOS" --cached \
    --precision "$PREC" ${ENVS[@]+"${ENVS[@]}"}
else
  /usr/bin/python3 bench/recog/throughput.py --seed-dir "$SEED" --model "$MODEL" --photos "$PHOTOS" \
    --concurrency "$CONC" --requests "$REQ" --precision "$PREC" ${ENVS[@]+"${ENVS[@]}"}
fi

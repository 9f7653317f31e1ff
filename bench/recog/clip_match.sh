#!/usr/bin/env bash
# clip_match.sh — the CLIP matcher stage alone (bench/recog/clip_match.c), thread CPU time per
# query over N entries. usage: bench/recog/clip_match.sh [N] [ITER] [KINDS]  (model: clip_latency.sh's)
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -j2 build/librodeo.a
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags jansson) -o ${CLIP_MATCH_BIN:-build/recog_clip_match} \
   bench/recog/clip_match.c build/librodeo.a $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lpthread -lm
export ML_BENCH_DIR=${ML_BENCH_DIR:-/tmp/rodeo-bench-ml}
[ -d "$ML_BENCH_DIR/clip-vit-base-patch32" ] || { echo "run bench/recog/clip_latency.sh once first (writes the model)"; exit 1; }
${CLIP_MATCH_BIN:-build/recog_clip_match} "$ML_BENCH_DIR/clip-vit-base-patch32" "${1:-100000}" "${2:-200}" "${3:-7}"

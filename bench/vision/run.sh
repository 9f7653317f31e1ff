#!/usr/bin/env bash
# bench/vision/run.sh [ROUNDS] [ITERS] — image intake vs PIL / OpenCV, one thread each
# (pinned to one CPU), same machine, interleaved: in every iteration the C intake and each
# Python peer run back to back, so machine noise hits all of them alike; medians of the
# times and of the per-iteration ratios. Prints the summary (see bench/results/vision.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}; ITERS=${2:-10}
PY=/usr/bin/python3
OUT=${BENCH_OUT:-/tmp/rodeo-bench-vision}
mkdir -p "$OUT"
make -s -j2 build/librodeo.a >/dev/null
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -g -std=c11 -D_GNU_SOURCE -Isrc bench/vision/bench_intake.c build/librodeo.a \
   $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lpthread -lm -o build/bench_intake
[ -f "$OUT/photo_12mp.jpg" ] || $PY bench/vision/gen_images.py "$OUT" >/dev/null
: > "$OUT/samples.jsonl"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for img in photo_12mp photo_1mp; do
  for r in $(seq "$ROUNDS"); do
    OMP_NUM_THREADS=1 taskset -c 0 build/bench_intake "$OUT/$img.jpg" "$ITERS" \
      | sed "s/^{/{\"image\":\"$img\",\"method\":\"stages\",/" >> "$OUT/samples.jsonl"
    OMP_NUM_THREADS=1 taskset -c 0 $PY bench/vision/peers.py "$OUT/$img.jpg" "$ITERS" build/bench_intake \
      | sed "s/^{/{\"image\":\"$img\",\"round\":$r,/" >> "$OUT/samples.jsonl"
  done
  build/bench_intake --mem "$OUT/$img.jpg" | sed "s/^{/{\"image\":\"$img\",\"method\":\"mem\",/" >> "$OUT/samples.jsonl"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
$PY bench/vision/summarise.py "$OUT/samples.jsonl"

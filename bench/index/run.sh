#!/usr/bin/env bash
# run.sh — the vector index benchmark: Rodeo (fp32 and int8) vs native hnswlib (-O3
# -march=native), python3-hnswlib and python3-faiss on the same clustered data, same
# parameters (M, ef_construction), same build threads, single-thread search; engines are
# interleaved over ROUNDS so machine noise hits all of them alike. Raw JSON lines go to
# $OUT/results.jsonl; summarise.py turns them into bench/results/index.md.
# usage: bench/index/run.sh [N=100000] [ROUNDS=2]   (env: DATA, OUT, THREADS, EFS, SKIP_PY=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}; ROUNDS=${2:-2}
THREADS=${THREADS:-2}; EFS=${EFS:-10,16,24,32,48,64,96,128}
DATA=${DATA:-/tmp/rodeo-bench-index/$N}
OUT=${OUT:-/tmp/rodeo-bench-index/out-$N}
mkdir -p "$DATA" "$OUT"
[ -f "$DATA/gt.ivecs" ] || /usr/bin/python3 bench/index/gen_data.py "$DATA" "$N" 512 1000 1000
make -s -j2 build/librodeo.a
gcc -std=c11 -D_GNU_SOURCE -O2 -pthread -Isrc bench/index/vbench.c build/librodeo.a \
    $(pkg-config --libs openblas) -lm -o "$OUT/vbench"
g++ -O3 -march=native -std=c++17 -pthread bench/index/hnswlib_peer.cpp -o "$OUT/hnswlib_peer"
R="$OUT/results.jsonl"; : > "$R"
lscpu | grep 'Model name' | sed 's/^/# /' >> "$R"
# Round 1 builds (and saves) every index; later rounds reload the saved indexes and repeat
# only the search sweeps, interleaved, so QPS medians come from alternating runs.
rm -f "$OUT"/hnswlib.bin "$OUT"/rodeo.rvx "$OUT"/rodeo-int8.rvx
for r in $(seq 1 "$ROUNDS"); do
  "$OUT/hnswlib_peer" "$DATA/base.fvecs" "$DATA/query.fvecs" "$DATA/gt.ivecs" 16 200 "$THREADS" "$EFS" 1 "$OUT/hnswlib.bin" >> "$R"
  if [ "$r" = 1 ]; then
    "$OUT/vbench" "$DATA" --threads "$THREADS" --efs "$EFS" --snapshot "$OUT/rodeo.rvx" >> "$R"
    "$OUT/vbench" "$DATA" --quant int8 --threads "$THREADS" --efs "$EFS" --snapshot "$OUT/rodeo-int8.rvx" >> "$R"
    [ -n "${SKIP_PY:-}" ] || /usr/bin/python3 bench/index/py_peers.py "$DATA" 16 200 "$THREADS" "$EFS" 1 >> "$R"
  else
    "$OUT/vbench" "$DATA" --efs "$EFS" --skip-extra --load "$OUT/rodeo.rvx" >> "$R"
    "$OUT/vbench" "$DATA" --efs "$EFS" --skip-extra --load "$OUT/rodeo-int8.rvx" >> "$R"
  fi
done
/usr/bin/python3 bench/index/summarise.py "$R"

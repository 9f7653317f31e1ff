#!/usr/bin/env bash
# run1m.sh — the 1M x 512 recall/QPS curves, one engine at a time (each needs ~4-5 GB: the
# 2 GB data set plus its index), niced, so it can run in the background on a shared machine.
# Same data generator, parameters and peers as run.sh; one build per engine, then one ef sweep
# (single-thread search). Results: $OUT/results.jsonl (JSON lines, summarise.py reads them).
# usage: bench/index/run1m.sh [ENGINES=hnswlib,rodeo,rodeo-int8,pyhnswlib,faiss]
#        env: N (1000000), DATA, OUT, THREADS (2), EFS, PEER_TIMEOUT (seconds per engine)
set -uo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}; ENGINES=${1:-hnswlib,rodeo,rodeo-int8,pyhnswlib,faiss}
THREADS=${THREADS:-2}; EFS=${EFS:-10,16,24,32,48,64,96,128,192,256}
DATA=${DATA:-/tmp/rodeo-bench-index/$N}
OUT=${OUT:-/tmp/rodeo-bench-index/out-$N}
TO=${PEER_TIMEOUT:-7200}
mkdir -p "$DATA" "$OUT"
[ -f "$DATA/gt.ivecs" ] || nice /usr/bin/python3 bench/index/gen_data.py "$DATA" "$N" 512 1000 1000
R="$OUT/results.jsonl"
[ -f "$OUT/vbench" ] || { make -s -j2 build/librodeo.a && gcc -std=c11 -D_GNU_SOURCE -O2 -pthread -Isrc \
    bench/index/vbench.c build/librodeo.a $(pkg-config --libs openblas) -lm -o "$OUT/vbench"; }
[ -f "$OUT/hnswlib_peer" ] || g++ -O3 -march=native -std=c++17 -pthread bench/index/hnswlib_peer.cpp -o "$OUT/hnswlib_peer"
run() { echo "# $(date -u +%H:%M:%S) start $1 load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R"; }
for e in ${ENGINES//,/ }; do
  run "$e"
  case $e in
    hnswlib) timeout "$TO" nice "$OUT/hnswlib_peer" "$DATA/base.fvecs" "$DATA/query.fvecs" "$DATA/gt.ivecs" 16 200 "$THREADS" "$EFS" 1 "$OUT/hnswlib.bin" >> "$R" ;;
    rodeo) timeout "$TO" nice "$OUT/vbench" "$DATA" --threads "$THREADS" --efs "$EFS" --skip-extra --snapshot "$OUT/rodeo.rvx" >> "$R" ;;
    rodeo-int8) timeout "$TO" nice "$OUT/vbench" "$DATA" --quant int8 --threads "$THREADS" --efs "$EFS" --skip-extra --snapshot "$OUT/rodeo-int8.rvx" >> "$R" ;;
    pyhnswlib) timeout "$TO" nice /usr/bin/python3 bench/index/py_peers.py "$DATA" 16 200 "$THREADS" "$EFS" 1 hnswlib >> "$R" ;;
    faiss) timeout "$TO" nice /usr/bin/python3 bench/index/py_peers.py "$DATA" 16 200 "$THREADS" "$EFS" 1 faiss >> "$R" ;;
  esac
  echo "# $(date -u +%H:%M:%S) end $e rc $? load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R"
done

#!/usr/bin/env bash
# ab.sh — interleaved single-thread search rounds on saved 100k indexes: native hnswlib vs
# one or more Rodeo vbench binaries (A/B of code versions), ROUNDS times each, alternating.
# usage: bench/index/ab.sh OUT.jsonl ROUNDS EFS HNSWLIB_INDEX RODEO_SNAPSHOT VBENCH[=SNAPSHOT] ...
# (VBENCH=SNAPSHOT: that binary searches that snapshot instead of RODEO_SNAPSHOT)
# env: DATA (default /tmp/rodeo-bench-index/100000), HP (hnswlib_peer binary)
set -uo pipefail
R=$1; ROUNDS=$2; EFS=$3; HIDX=$4; SNAP=$5; shift 5
DATA=${DATA:-/tmp/rodeo-bench-index/100000}; HP=${HP:-/tmp/rodeo-bench-index/hp_cpu}
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R"
  "$HP" "$DATA/base.fvecs" "$DATA/query.fvecs" "$DATA/gt.ivecs" 16 200 1 "$EFS" 1 "$HIDX" | sed "s/^{/{\"r\": $r, /" >> "$R"
  for arg in "$@"; do
    vb=${arg%%=*}; snap=$SNAP; [ "$arg" = "$vb" ] || snap=${arg#*=}
    "$vb" "$DATA" --efs "$EFS" --skip-extra --load "$snap" | grep '"ef"' | sed "s|^{|{\"r\": $r, \"bin\": \"$(basename "$vb")\", |" >> "$R"
  done
done

#!/usr/bin/env bash
# bench/ml/run.sh — builds bench/ml/clip_bench against build/librodeo.a and runs bench.py
# (ours vs PyTorch, interleaved). Slow (a few minutes); not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -j2 build/librodeo.a >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags jansson openblas) bench/ml/clip_bench.c \
   build/librodeo.a $(pkg-config --libs jansson openblas) -lpthread -lm -o build/clip_bench
exec /usr/bin/python3 bench/ml/bench.py "$@"

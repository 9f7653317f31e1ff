#!/usr/bin/env bash
# Chat engine benchmarks (issue 3): knowledge-base ingest and BM25 search against SQLite FTS5
# (bench/chat/kb_bench.c), then the streaming relay and 200 concurrent chats against the fake
# OpenAI upstream (bench/chat/stream_bench.py). Rounds are interleaved inside each program;
# this script runs each 3 times and keeps every RESULT line in bench/out/chat.log.
# Figures are summarised by hand in bench/results/chat.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/out
make -s build/rodeo build/librodeo.a
cc -O2 -g -std=c11 -D_GNU_SOURCE -pthread -Isrc $(pkg-config --cflags jansson) bench/chat/kb_bench.c \
  build/librodeo.a $(pkg-config --libs libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 \
  libpng libwebp libexif openblas) -ljpeg -lhpdf -lgumbo -lpthread -lm -o build/kb_bench
{
  lscpu | grep -m1 'Model name'
  for r in 1 2 3; do
    echo "--- round $r"
    build/kb_bench "${CHUNKS:-10000}" "${QUERIES:-10000}"
    /usr/bin/python3 bench/chat/stream_bench.py --binary build/rodeo --streams "${STREAMS:-200}" --rounds "${ROUNDS:-10}"
  done
} 2>&1 | tee bench/out/chat.log

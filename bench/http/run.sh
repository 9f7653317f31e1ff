#!/usr/bin/env bash
# HTTP API benchmark (issue 2): wrk -t2 -c64 against rodeo serve on SQLite and PostgreSQL,
# seeded with USERS x CONVS x MSGS, and a FastAPI hello world measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench-http; mkdir -p $B
cc -O2 -g -std=c11 -D_GNU_SOURCE -pthread -Isrc $(pkg-config --cflags jansson libpq) \
   bench/http/seed.c build/librodeo.a -o $B/seed \
   $(pkg-config --libs libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas) -ljpeg -lhpdf -lgumbo -lpthread -lm
exec /usr/bin/python3 bench/http/run.py "$@"

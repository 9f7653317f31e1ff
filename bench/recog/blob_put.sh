#!/usr/bin/env bash
# blob_put.sh — storing a recognised upload: copy (blob_put_file) vs link (blob_put_file_hashed),
# bench/recog/blob_put.c. usage: bench/recog/blob_put.sh [MB] [ROUNDS]  (data dir under /tmp)
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -j2 build/librodeo.a
PKGS="libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas"
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags jansson) -o build/blob_put bench/recog/blob_put.c \
   build/librodeo.a $(pkg-config --libs $PKGS) -ljpeg -lhpdf -lgumbo -lpthread -lm
DIR=$(mktemp -d /tmp/rodeo-blob-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
uptime
build/blob_put "$DIR" "${1:-2}" "${2:-40}"

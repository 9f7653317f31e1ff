#!/usr/bin/env bash
# Installs the Debian packages Rodeo needs. Usage: scripts/deps.sh [build|run|test|bench]
#   build: compilers and -dev libraries for `make`
#   run:   build + what `rodeo serve` uses at first start (python3-pil renders the starter
#          catalog's product pictures)
#   test:  build + servers and tools the test suite starts (PostgreSQL, Python peers, poppler)
#   bench: test + load generators and the benchmark peers
# Only packages that are missing are installed, so a second run is a fast no-op.
set -euo pipefail
level=${1:-build}

build_pkgs=(build-essential pkg-config
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libhiredis-dev
  libcurl4-openssl-dev libssl-dev libargon2-dev
  libjpeg62-turbo-dev libpng-dev libwebp-dev libexif-dev
  libopenblas-dev libhpdf-dev libgumbo-dev
  fonts-dejavu-core)   # TrueType font for UTF-8 text in PDF exports (src/export/pdf.c)
run_pkgs=(python3 python3-pil)
test_pkgs=(postgresql sqlite3 curl python3 python3-numpy python3-pil python3-torch
  python3-cryptography poppler-utils procps)
bench_pkgs=(wrk python3-fastapi python3-uvicorn python3-hnswlib python3-faiss
  libhnswlib-dev python3-opencv)
bench_pkgs+=(python3-sqlalchemy)   # bench/store_peer.py: the original service's ORM as the store peer

pkgs=("${build_pkgs[@]}")
[ "$level" = build ] || pkgs+=("${run_pkgs[@]}")
[ "$level" = test ] || [ "$level" = bench ] && pkgs+=("${test_pkgs[@]}")
[ "$level" = bench ] && pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

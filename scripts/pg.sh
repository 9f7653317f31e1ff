#!/usr/bin/env bash
# Throwaway PostgreSQL server for tests: initdb into a temp dir, listen on a loopback port,
# no password (trust on 127.0.0.1 only). Usage:
#   eval "$(scripts/pg.sh start)"   -> exports PG_TEST_DIR, PG_TEST_PORT, PG_TEST_URL
#   scripts/pg.sh stop "$PG_TEST_DIR"
# Runs the server as the 'postgres' user when invoked as root (initdb refuses root).
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "pg.sh: PostgreSQL server not installed (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/rodeo-pg-XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  port=${PG_TEST_PORT:-$(( 20000 + RANDOM % 20000 ))}
  as_pg "$bindir/initdb" -D "$dir/data" -U rodeo --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U rodeo rodeo
  echo "export PG_TEST_DIR=$dir PG_TEST_PORT=$port PG_TEST_URL=postgresql://rodeo@127.0.0.1:$port/rodeo"
  ;;
reset)
  # Drop and recreate the database (between suites).
  port=$2
  as_pg "$bindir/dropdb" -h 127.0.0.1 -p "$port" -U rodeo --if-exists rodeo
  as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U rodeo rodeo
  ;;
stop)
  dir=${2:?usage: pg.sh stop DIR}
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*) echo "usage: pg.sh start | reset PORT | stop DIR" >&2; exit 2 ;;
esac

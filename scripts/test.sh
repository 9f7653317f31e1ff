#!/usr/bin/env bash
# The whole test run behind `make test` (after both builds exist):
#   0. tree hygiene (scripts/lint_tree.sh: no conflict markers, no unfinished-work words)
#   1. unit tests (release build), SQLite store
#   2. end-to-end API suite against a real `rodeo serve` on loopback, SQLite
#   3. a throwaway PostgreSQL server: unit store tests + the same API suite on it
#   4. unit tests + end-to-end suite again under ASan+UBSan (SQLite)
# Prints a summary line "N passed, N failed" over all suites and fails if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHON=/usr/bin/python3      # Debian's python: apt-installed modules live there
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}

total_pass=0; total_fail=0; failed_suites=()
run_suite() {   # name, command...
  local name=$1; shift
  echo "=== $name"
  local log; log=$(mktemp)
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line; line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  local p f
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
  total_pass=$(( total_pass + ${p:-0} )); total_fail=$(( total_fail + ${f:-0} ))
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    failed_suites+=("$name"); [ "${f:-0}" -eq 0 ] && total_fail=$(( total_fail + 1 ))
  fi
  rm -f "$log"
}

run_suite "tree hygiene" scripts/lint_tree.sh
run_suite "unit (sqlite)" build/unit_tests
run_suite "e2e (sqlite)" $PYTHON tests/e2e/run.py --binary build/rodeo

eval "$(scripts/pg.sh start)"
trap 'scripts/pg.sh stop "$PG_TEST_DIR"' EXIT
run_suite "unit store (postgres)" env TEST_DATABASE_URL="$PG_TEST_URL" build/unit_tests store_
scripts/pg.sh reset "$PG_TEST_PORT"
run_suite "e2e (postgres)" $PYTHON tests/e2e/run.py --binary build/rodeo --database-url "$PG_TEST_URL"

run_suite "unit (asan+ubsan)" build/asan/unit_tests
run_suite "e2e (asan+ubsan, sqlite)" $PYTHON tests/e2e/run.py --binary build/asan/rodeo --quick

echo
[ ${#failed_suites[@]} -eq 0 ] || echo "failed suites: ${failed_suites[*]}"
echo "all: $total_pass passed, $total_fail failed"
[ ${#failed_suites[@]} -eq 0 ]

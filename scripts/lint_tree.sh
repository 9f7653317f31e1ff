#!/usr/bin/env bash
# Tree hygiene checks over tracked files, run by scripts/test.sh:
#   - no merge-conflict markers left in any text file
#   - no unfinished-work words in src/ (the standards forbid shipping them)
# Prints "N passed, N failed" like the other suites.
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0; fail=0
check() {   # name, command printing offending lines (empty output: pass)
  local name=$1; shift
  local out; out=$("$@")
  if [ -z "$out" ]; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; echo "$out" | head -20; fi
}
check "no merge-conflict markers" git grep -n -I -E '^(<<<<<<< |>>>>>>> |=======$)' -- . ':!*.jsonl'
check "no unfinished-work words in src/" \
      git grep -n -I -i -E '\b(TODO|FIXME|XXX|stub|placeholder|mock)\b' -- src
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

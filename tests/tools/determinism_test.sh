#!/usr/bin/env bash
# Same input, same result (issue 21): every catalog reproducer and every
# regression replays byte-identically N times in one process and in N
# processes of its own (replay --repeat N), on the writer it names and on
# entry-sync.
# usage: determinism_test.sh <vtdfuzz-cli> <source dir> [N]
set -u
cli=$1 root=$2 n=${3:-3}
export VTDFUZZ_ROOT=$root
fail=0 files=0
for f in "$root"/corpus/catalog/*.txt "$root"/corpus/regress/*.txt; do
  files=$((files + 1))
  for w in "" entry-sync; do
    args=("$f" --repeat "$n")
    [ -n "$w" ] && args+=(--writer "$w")
    # The program's own writer: regressions name none, so entry-sync alone.
    [ -z "$w" ] && ! grep -q '^writer [a-z]' "$f" && continue
    out=$("$cli" replay "${args[@]}" 2>&1)
    rc=$?
    if [ $rc -gt 1 ] || ! grep -q "identical in $n runs in this process and $n processes" <<<"$out"; then
      echo "FAIL: replay ${args[*]} (exit $rc):"
      grep "vtdfuzz:" <<<"$out" | head -3
      fail=1
    fi
  done
done
echo "$files files, $n runs each in one process and in $n processes"
exit $fail

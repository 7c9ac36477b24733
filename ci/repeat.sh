#!/usr/bin/env bash
# ci/repeat.sh N SCRIPT [ARGS...]: run a CI script N times in a row and say
# how many runs passed (issue 21: a check that flakes once in 20 is a bug).
# Exit 0 only when all N pass; the log of each failed run is kept.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: ci/repeat.sh N SCRIPT [ARGS...]" >&2; exit 2; }
n=$1
shift
case "$n" in '' | *[!0-9]*) echo "ci/repeat.sh: N must be a number, got '$n'" >&2; exit 2 ;; esac
logs=$(mktemp -d)
pass=0
for i in $(seq 1 "$n"); do
  start=$SECONDS
  if "$@" >"$logs/run-$i.log" 2>&1; then
    pass=$((pass + 1))
    rm -f "$logs/run-$i.log"
    echo "run $i: ok ($((SECONDS - start)) s)"
  else
    echo "run $i: FAILED ($((SECONDS - start)) s), log: $logs/run-$i.log"
  fi
done
echo "$(basename "$1"): $pass/$n green in a row"
[ "$pass" -eq "$n" ]

#!/usr/bin/env bash
# race.sh <build-dir> --writer W --time S [--threads N] [--seed X] [--repeat K]
#         [--walkers N] [--cpu64] [--quantum 64|128]
#
# Runs the race harness (build/tsan/race/vtdfuzz-race) under
# ThreadSanitizer: K times with seeds X, X+1, ... when --repeat is given.
# ThreadSanitizer reports and continues (halt_on_error=0); no suppressions
# are used (the harness's own code is race-free by construction). Prints the
# ThreadSanitizer reports (count, the first one trimmed), the torn entries
# observed, the translations checked per second and, with --repeat, how many
# runs reproduced the finding (a data race or a torn entry).
#
# Exit status: 0 clean, 1 a data race or a violation, 2 bad arguments.
# Logs of the last runs: <build-dir>/race/runs/.
set -u

die() {
  echo "vtdfuzz: $*" >&2
  exit 2
}

[ $# -ge 1 ] || die "race.sh needs the build directory"
build=$1
shift
bin=$build/race/vtdfuzz-race
[ -x "$bin" ] || die "no race harness at $bin (build the tsan preset)"

writer="" secs="" threads=2 seed=1 repeat="" extra=()
need() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --writer) need "$@"; writer=$2; shift 2 ;;
    --time) need "$@"; secs=$2; shift 2 ;;
    --threads) need "$@"; threads=$2; shift 2 ;;
    --seed) need "$@"; seed=$2; shift 2 ;;
    --repeat) need "$@"; repeat=$2; shift 2 ;;
    --walkers | --quantum) need "$@"; extra+=("$1" "$2"); shift 2 ;;
    --cpu64) extra+=("$1"); shift ;;
    *) die "unknown race option '$1'" ;;
  esac
done
[ -n "$writer" ] || die "race needs --writer W"
[ -n "$secs" ] || die "race needs --time S"
[[ $secs =~ ^[0-9]+([.][0-9]+)?$ ]] && awk "BEGIN{exit !($secs > 0)}" || die "--time needs a positive number of seconds"
[[ $threads =~ ^[0-9]+$ ]] && [ "$threads" -ge 1 ] || die "--threads needs a positive count"
[[ $seed =~ ^[0-9]+$ ]] || die "--seed needs a non-negative integer"
if [ -n "$repeat" ]; then
  [[ $repeat =~ ^[0-9]+$ ]] && [ "$repeat" -ge 1 ] || die "--repeat needs a positive count"
fi
runs=${repeat:-1}

# Arguments the harness itself rejects (unknown writer, ...): one line, status 2.
msg=$("$bin" --check --writer "$writer" --time "$secs" --threads "$threads" --seed "$seed" \
  ${extra[@]+"${extra[@]}"} 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
  echo "${msg:-vtdfuzz: the race harness rejected the arguments}" | head -n 1 >&2
  exit 2
fi

logs=$build/race/runs
mkdir -p "$logs"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TSAN_OPTIONS="halt_on_error=0 exitcode=0 history_size=7 second_deadlock_stack=1 strip_path_prefix=$root/ ${TSAN_OPTIONS:-}"

# A report without the frames of the thread plumbing (libstdc++'s
# std::thread / std::invoke) and without build ids, trimmed to 25 lines.
first_report_of() {
  awk '/WARNING: ThreadSanitizer:/{p=1} p' "$1" |
    grep -v -e '/include/c++/' -e '<null> <null>' |
    sed -E 's/ \(BuildId: [0-9a-f]+\)//; s/ \([a-z_.-]+\+0x[0-9a-f]+\)//' |
    awk '/^SUMMARY: ThreadSanitizer/{exit} {print; n++} n>=25{exit}'
}

echo "race: writer $writer, $secs s per run, $threads CPU threads, seed $seed${repeat:+, $runs runs}${extra[*]+ (${extra[*]})}"

total_races=0 total_other=0 total_torn=0 violations=0 repro=0 crashed=0
first_report="" first_torn="" first_other_finding="" tps_sum=0
for ((r = 0; r < runs; r++)); do
  s=$((seed + r))
  tag=$writer$(printf '%s' "${extra[*]+${extra[*]}}" | tr -c 'a-z0-9' '-' | tr -s '-' | sed 's/^-*/-/; s/-*$//; s/^-$//')
  out=$logs/$tag-seed$s.out
  err=$logs/$tag-seed$s.tsan
  "$bin" --writer "$writer" --time "$secs" --threads "$threads" --seed "$s" \
    ${extra[@]+"${extra[@]}"} >"$out" 2>"$err"
  rc=$?
  if [ $rc -eq 2 ]; then  # the harness refused to run (its one line is on stderr)
    grep -m1 '^vtdfuzz: ' "$err" >&2 || echo "vtdfuzz: the race harness refused to run (see $err)" >&2
    exit 2
  fi
  races=$(grep -c 'WARNING: ThreadSanitizer: data race' "$err")
  other=$(grep 'WARNING: ThreadSanitizer:' "$err" | grep -vc 'data race')
  summary=$(grep '^summary ' "$out" | tail -n 1)
  field() { echo "$summary" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  torn=$(field torn)
  tps=$(field tps)
  note=""
  if [ -z "$summary" ] || { [ $rc -ne 0 ] && [ $rc -ne 1 ]; }; then
    crashed=$((crashed + 1))
    note=" (the harness exited with status $rc; see $out and $err)"
    torn=${torn:-0} tps=${tps:-0}
  fi
  total_races=$((total_races + races))
  total_other=$((total_other + other))
  total_torn=$((total_torn + torn))
  tps_sum=$(awk "BEGIN{print $tps_sum + $tps}")
  [ $rc -eq 1 ] && violations=$((violations + 1))
  found=clean
  if [ "$races" -gt 0 ] || [ "$torn" -gt 0 ]; then
    repro=$((repro + 1))
    found=FOUND
  elif [ $rc -ne 0 ] || [ "$other" -gt 0 ]; then
    found=FOUND
  fi
  echo "run $((r + 1)) (seed $s): $races data races, $other other TSan reports, $torn torn entries," \
    "$tps translations/s, harness: $(grep '^result: ' "$out" | sed 's/result: //')$note -> $found"
  if [ -z "$first_report" ] && [ "$races$other" != "00" ]; then
    first_report=$(first_report_of "$err")
  fi
  if [ -z "$first_torn" ] && [ "$torn" -gt 0 ]; then
    first_torn=$(awk '/^P1 torn entry/{if (p) exit; p=1; print; next} p && /^    /{print; next} p{exit}' "$out")
  fi
  if [ -z "$first_other_finding" ]; then
    first_other_finding=$(awk '/^(P2 |P6 |P7 |op failed|illegal)/{p=1; print; next} p && /^    /{print; next} {p=0}' "$out" | head -n 12)
  fi
done

echo "TSan reports: $total_races data races, $total_other other"
if [ -n "$first_report" ]; then
  echo "first report (trimmed):"
  echo "$first_report" | sed 's/^/  /'
fi
echo "torn entries observed: $total_torn"
[ -n "$first_torn" ] && echo "$first_torn" | sed 's/^/  /'
[ -n "$first_other_finding" ] && {
  echo "other violations:"
  echo "$first_other_finding" | sed 's/^/  /'
}
echo "translations checked per second: $(awk "BEGIN{printf \"%.1f\", $tps_sum / $runs}")"
[ -n "$repeat" ] && echo "reproduced: $repro of $runs runs (a data race or a torn entry)"
echo "logs: $logs"
if [ "$total_races" -gt 0 ] || [ "$total_other" -gt 0 ] || [ "$violations" -gt 0 ] || [ "$crashed" -gt 0 ]; then
  what=()
  [ "$total_races" -gt 0 ] && what+=("data race")
  [ "$total_torn" -gt 0 ] && what+=("torn entries")
  [ "$total_other" -gt 0 ] && what+=("other TSan reports")
  [ "$violations" -gt 0 ] && [ "$total_torn" -eq 0 ] && what+=("violations")
  [ "$crashed" -gt 0 ] && what+=("harness crashed")
  joined=$(printf '%s, ' "${what[@]}")
  echo "verdict: FOUND (${joined%, })"
  exit 1
fi
echo "verdict: clean"
exit 0

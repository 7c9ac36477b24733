#!/usr/bin/env bash
# cli_test.sh <vtdfuzz-cli> <repo root>
#
# Also the ./vtdfuzz script's own argument checks and its help, which must
# name every command it dispatches.
# The command line's contract (README, "Standards"): bad input gets one line
# on stderr naming the problem and exit status 2; a violation exit status 1
# with the report on stdout; a clean run 0. Cases that would build or fuzz
# are left out: only argument checking and replaying run here.
set -u
cli=$1 root=$2
export VTDFUZZ_ROOT=$root
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 cases=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect RC WORD CMD... : exit status RC; for 2, one stderr line containing
# WORD and nothing on stdout; for 1, WORD on stdout.
expect() {
  local rc=$1 word=$2
  shift 2
  cases=$((cases + 1))
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local what="${*#"$cli "}"
  [ "$got" -eq "$rc" ] || { fail "$what: exit $got, want $rc ($(head -c 300 "$tmp/err"))"; return; }
  case $rc in
    2)
      [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$what: stderr has $(wc -l <"$tmp/err") lines, want 1"
      grep -qF -- "$word" "$tmp/err" || fail "$what: stderr does not name '$word': $(cat "$tmp/err")"
      [ ! -s "$tmp/out" ] || fail "$what: printed on stdout"
      ;;
    1) grep -qF -- "$word" "$tmp/out" || fail "$what: stdout lacks '$word'" ;;
  esac
}

B01=$root/corpus/catalog/B01-context-halves-reordered.txt
B05=$root/corpus/catalog/B05-fs-pointer-before-did.txt
B15=$root/corpus/catalog/B15-restore-fresh-root.txt
printf 'writer legacy\nfrobnicate 1\n' >"$tmp/bad-op.txt"
printf 'writer legacy\nmap 1 iova=zz pa=0x80000 rw\n' >"$tmp/bad-arg.txt"
printf '\377\000\023\067\102\231\000\001\002' >"$tmp/bytes.bin"

# Arguments.
expect 2 "missing command" "$cli"
expect 2 "frobnicate" "$cli" frobnicate
expect 2 "FILE" "$cli" replay
expect 2 "/nonexistent" "$cli" replay /nonexistent
expect 2 "a directory" "$cli" replay "$tmp"
expect 2 "a directory" "$cli" convert --to-text "$tmp" "$tmp/x"
expect 2 "nosuch" "$cli" replay "$B01" --writer nosuch
# soak: its options are checked before anything is fuzzed.
expect 2 "--raw" "$cli" soak --runs 5
expect 2 "--time" "$cli" soak --time 0
expect 2 "nosuch" "$cli" soak --writers entry-sync,nosuch
expect 2 "--writers" "$cli" soak --raw --writers entry-sync
expect 2 "--lu" "$cli" soak --raw --lu reference
expect 2 "nosuch" "$cli" soak --lu nosuch
expect 2 "nosuch" "$cli" soak --viommu nosuch
expect 2 "--targets" "$cli" soak --targets queue
expect 2 "--writer" "$cli" replay --writer
expect 2 "--frob" "$cli" replay "$B01" --frob
expect 2 "FILE" "$cli" explain
expect 2 "/nonexistent" "$cli" explain /nonexistent
expect 2 "--to-text" "$cli" convert --to-json "$B01" "$tmp/x"
expect 2 "--to-text" "$cli" convert --to-text
expect 2 "abc" "$cli" hunt --target ops --writer legacy --time abc
expect 2 "nope" "$cli" hunt --target nope --writer legacy --time 1
expect 2 "'x'" "$cli" hunt --target ops --writer legacy --time 1 --engine x
expect 2 "-1" "$cli" campaign --time -1
expect 2 "nosuch" "$cli" campaign --writers nosuch
expect 2 "'0'" "$cli" campaign --jobs 0
expect 2 "fuzz_queue" "$cli" campaign --targets queue
expect 2 "fuzz_queue" "$cli" hunt --target queue --writer legacy --time 1
expect 2 "nosuch" "$cli" transitions --writer nosuch
expect 2 "bad" "$cli" transitions --writer legacy --kind bad
expect 2 "FILE" "$cli" minimize
expect 2 "OUT_DIR" "$cli" merge
expect 2 "/nonexistent" "$cli" merge "$tmp/m" /nonexistent
expect 2 "/nonexistent" "$cli" coverage /nonexistent
expect 2 "extra" "$cli" bench extra
expect 2 "writers" "$cli" writers extra
expect 2 "--writer" "$cli" explain "$B01" --writer
expect 2 "explain" "$cli" explain "$B01" "$B05"
expect 2 "--to-text" "$cli" convert --to-text --to-binary "$B01" "$tmp/x"
expect 2 "'P99'" "$cli" hunt --writer legacy --time 1 --property P99
expect 2 "--writer" "$cli" hunt --time 1
expect 2 "--time" "$cli" hunt --writer legacy
expect 2 "nosuch" "$cli" campaign --writers catalog,nosuch
expect 2 "'32'" "$cli" transitions --writer legacy --quantum 32
expect 2 "'0'" "$cli" bench --iterations 0
expect 2 "-1" "$cli" bench --fuzz-time -1
expect 2 "'0'" "$cli" timetobug --runs 0
expect 2 "nosuch" "$cli" timetobug --writers nosuch
expect 2 "'x'" "$cli" timetobug --engine x
expect 2 "dict" "$cli" dict extra
expect 2 "flows" "$cli" flows extra
expect 2 "nosuch" "$cli" replay "$B15" --lu nosuch
# A program naming a flow or propagator that does not exist is a usage
# error before any file runs: nothing printed for the good file before it.
sed 's/^lu .*/lu nosuch-flow/' "$B15" >"$tmp/lu-nosuch.txt"
expect 2 "lu-nosuch.txt: unknown live-update flow 'nosuch-flow'" "$cli" replay "$B15" "$tmp/lu-nosuch.txt"
sed 's/^viommu .*/viommu nosuch-prop/' "$(grep -l '^viommu ' "$root"/corpus/catalog/* | head -1)" >"$tmp/viommu-nosuch.txt"
expect 2 "viommu-nosuch.txt: unknown propagator 'nosuch-prop'" "$cli" replay "$B15" "$tmp/viommu-nosuch.txt"
expect 2 "nosuch" "$cli" hunt --lu nosuch --time 1
expect 2 "nosuch" "$cli" campaign --lu catalog,nosuch
expect 2 "nosuch" "$cli" help nosuch
expect 2 "--frob" "$cli" --frob
# Without a fuzzing build, hunt and campaign stop before they print anything.
mkdir -p "$tmp/bare"
expect 2 "no libfuzzer build" env VTDFUZZ_ROOT="$tmp/bare" "$cli" campaign --time 1
expect 2 "no libfuzzer build" env VTDFUZZ_ROOT="$tmp/bare" "$cli" hunt --writer legacy --time 1
expect 2 "no libfuzzer build" env VTDFUZZ_ROOT="$tmp/bare" "$cli" timetobug --runs 1
# soak runs the asan preset's targets (the tool's own code checked too).
expect 2 "no asan build" env VTDFUZZ_ROOT="$tmp/bare" "$cli" soak --time 1
# soak --raw goes on past a violation (findings mode) and names each one with
# the command that prints its input; a stand-in engine keeps one and stops.
mkdir -p "$tmp/eng/build/asan/targets"
cat >"$tmp/eng/build/asan/targets/fuzz_ops" <<'ENGINE'
#!/bin/sh
[ -n "${VTDFUZZ_FINDINGS:-}" ] || { echo "vtdfuzz: VIOLATION P1 stand-in aborted"; exit 1; }
printf 'x' >"$VTDFUZZ_FINDINGS/P1-00000000000000ab"
echo "vtdfuzz: found $VTDFUZZ_FINDINGS/P1-00000000000000ab VIOLATION P1 sig=00000000000000ab stand-in"
echo "stat::number_of_executed_units: 7"
ENGINE
chmod +x "$tmp/eng/build/asan/targets/fuzz_ops"
expect 1 "VIOLATION P1 sig=00000000000000ab stand-in" env VTDFUZZ_ROOT="$tmp/eng" "$cli" soak --raw --targets ops --runs 7 --time 1
grep -qF "convert --to-text $tmp/eng/out/soak/raw-ops/findings/P1-00000000000000ab" "$tmp/out" ||
  fail "soak --raw: no convert line for the kept input: $(cat "$tmp/out")"
grep -qE "^ops +7 " "$tmp/out" || fail "soak --raw: the row does not count 7 execs: $(cat "$tmp/out")"
# --resume goes on from there: the earlier run's 7 execs count toward --runs
# (the engine is asked for the 13 left), a killed run counts its last "#N",
# its finding still counts, and once --runs is reached nothing runs.
cat >"$tmp/eng/build/asan/targets/fuzz_ops" <<ENGINE
#!/bin/sh
echo "\$@" >>"$tmp/args.log"
printf '#2\tINITED\n#5\tpulse\n    #9 0x1 in a stack frame\n'
ENGINE
expect 1 "VIOLATION P1 sig=00000000000000ab stand-in" env VTDFUZZ_ROOT="$tmp/eng" "$cli" soak --raw --targets ops --runs 20 --time 1 --resume
grep -q -- "-runs=13 " "$tmp/args.log" || fail "soak --resume: the engine ran with: $(cat "$tmp/args.log")"
grep -qE "^ops +12 " "$tmp/out" || fail "soak --resume: the row does not count 7+5 execs: $(cat "$tmp/out")"
expect 1 "resumed: 12 of the execs in 2 earlier" env VTDFUZZ_ROOT="$tmp/eng" "$cli" soak --raw --targets ops --runs 12 --time 1 --resume
[ "$(wc -l <"$tmp/args.log")" = 1 ] || fail "soak --resume: the engine ran past --runs: $(cat "$tmp/args.log")"
expect 2 "--resume" "$cli" soak --resume
# A run stopped by SIGINT is neither a sanitizer report nor clean.
cat >"$tmp/eng/build/asan/targets/fuzz_ops" <<'ENGINE'
#!/bin/sh
printf '#4\tpulse\n==1== libFuzzer: run interrupted; exiting\nstat::number_of_executed_units: 4\n'
exit 72
ENGINE
rm -rf "$tmp/eng/out/soak/raw-ops"
expect 1 "verdict interrupted" env VTDFUZZ_ROOT="$tmp/eng" "$cli" soak --raw --targets ops --runs 20 --time 1
grep -qE "^ops +4 +[0-9]+ +0 +0" "$tmp/out" || fail "soak: an interrupted run counted as a finding: $(cat "$tmp/out")"
# A crash artifact is a violation or a sanitizer report by the log of the
# run that wrote it: a resumed run's ASan report is not counted as the
# earlier run's violation again (a target without findings mode aborts).
cat >"$tmp/eng/build/asan/targets/fuzz_queue" <<ENGINE
#!/bin/sh
for a in "\$@"; do case \$a in -artifact_prefix=*) out=\${a#-artifact_prefix=} ;; esac; done
if [ -e "$tmp/queue-ran" ]; then
  echo "==1==ERROR: AddressSanitizer: heap-use-after-free"; f=crash-bb
else
  echo "vtdfuzz: VIOLATION P1 stand-in aborted"; f=crash-aa
fi
touch "$tmp/queue-ran" "\$out\$f"
echo "Test unit written to \$out\$f"
exit 1
ENGINE
chmod +x "$tmp/eng/build/asan/targets/fuzz_queue"
expect 1 "1 violations, 0 sanitizer" env VTDFUZZ_ROOT="$tmp/eng" "$cli" soak --raw --targets queue --time 1
expect 1 "1 violations, 1 sanitizer" env VTDFUZZ_ROOT="$tmp/eng" "$cli" soak --raw --targets queue --time 1 --resume
rm -f "$tmp/eng/build/asan/targets/fuzz_queue"
# A writer's row runs every program with the reference flow, whatever flow
# a program's `lu` line names (a catalog flow's bug is not the writer's);
# a flow's row runs its flow.
cat >"$tmp/eng/build/asan/targets/fuzz_ops" <<ENGINE
#!/bin/sh
echo "\$VTDFUZZ_WRITER \$VTDFUZZ_LU" >>"$tmp/flows.log"
echo "stat::number_of_executed_units: 3"
ENGINE
expect 0 "verdict clean" env VTDFUZZ_ROOT="$tmp/eng" "$cli" soak --writers teardown-replace --lu fresh-root --time 1
printf 'teardown-replace reference\nentry-sync fresh-root\n' | cmp -s - "$tmp/flows.log" ||
  fail "soak: the rows ran the targets with: $(cat "$tmp/flows.log")"
# Programs: a text error names the file and the line; bytes always decode.
expect 2 "line 2" "$cli" replay "$tmp/bad-op.txt"
expect 2 "line 2" "$cli" replay "$tmp/bad-arg.txt"
expect 2 "--writer" "$cli" replay "$tmp/bytes.bin"
cases=$((cases + 1))
"$cli" replay "$tmp/bytes.bin" --writer entry-sync >/dev/null 2>&1
rc=$?
[ $rc -le 1 ] || fail "replay of arbitrary bytes: exit $rc, want 0 or 1"
# Verdicts.
expect 1 "VIOLATION P1" "$cli" replay "$B01"
expect 1 "VIOLATION P1" "$cli" replay "$B05"
expect 0 "" "$cli" replay "$B01" --writer entry-sync
expect 1 "VIOLATION P1" "$cli" replay "$B01" "$B05" --writer legacy
expect 1 "VIOLATION" "$cli" explain "$B01"
# Live update: a reproducer names its flow; --lu overrides it.
expect 1 "VIOLATION P9 writer=entry-sync lu=fresh-root" "$cli" replay "$B15"
expect 0 "" "$cli" replay "$B15" --lu reference
expect 1 "restore: the new kernel" "$cli" explain "$B15"
# Pictures: --svg writes the timeline (the text is the same), or says why not.
expect 2 "/nonexistent/t.svg" "$cli" explain "$B01" --svg /nonexistent/t.svg
expect 2 "--emit" "$cli" transitions --writer legacy --svg
expect 1 "VIOLATION" "$cli" explain "$B01" --svg "$tmp/b01.svg"
cases=$((cases + 1))
head -c 5 "$tmp/b01.svg" | grep -q '<?xml' || fail "explain --svg: no SVG written"
"$cli" explain "$B01" >"$tmp/e1" 2>&1
"$cli" explain "$B01" --svg "$tmp/b01.svg" >"$tmp/e2" 2>&1
cmp -s "$tmp/e1" "$tmp/e2" || fail "explain prints differently with --svg"
# Binary and text forms are the same program.
expect 0 "" "$cli" convert --to-binary "$B01" "$tmp/b01.bin"
expect 0 "" "$cli" convert --to-text "$tmp/b01.bin" "$tmp/b01.txt"
expect 1 "VIOLATION P1" "$cli" replay "$tmp/b01.bin"
expect 1 "VIOLATION P1" "$cli" replay "$tmp/b01.txt"
# A twolevel target's bytes read as that target reads them, named propagator and all.
TL="$root/corpus/twolevel/01-scalable-attach-dma.bin"
expect 0 "" "$cli" convert --to-text --target twolevel "$TL" "$tmp/tl.txt"
expect 0 "viommu reference" cat "$tmp/tl.txt"
expect 0 "clean (writer entry-sync, viommu reference" "$cli" replay "$tmp/tl.txt"
expect 2 "goes with --to-text" "$cli" convert --to-binary --target viommu "$TL" "$tmp/x"
expect 2 "unknown propagator 'nope'" "$cli" convert --to-text --target viommu --viommu nope "$TL" "$tmp/x"
cases=$((cases + 1))
"$cli" replay "$B01" >"$tmp/r1" 2>&1
"$cli" replay "$tmp/b01.bin" >"$tmp/r2" 2>&1
sed -i "s#$tmp/b01.bin#FILE#; s#$B01#FILE#" "$tmp/r1" "$tmp/r2"
cmp -s "$tmp/r1" "$tmp/r2" || fail "text and binary forms of B01 report differently"

# Writers as they declare themselves: name, catalog ids, expected verdict, summary.
cases=$((cases + 1))
"$cli" writers >"$tmp/writers" 2>&1 || fail "writers: exit $?"
grep -qE '^legacy +B1 B2 B3 B9 +P1 +before' "$tmp/writers" || fail "writers: no catalog ids and verdict for legacy"
grep -qE '^entry-sync +- +clean ' "$tmp/writers" || fail "writers: entry-sync is not declared clean"
cases=$((cases + 1))
"$cli" flows >"$tmp/flows" 2>&1 || fail "flows: exit $?"
grep -qE '^reference +- +clean ' "$tmp/flows" || fail "flows: reference is not declared clean"
grep -qE '^fresh-root +B15 +P9 ' "$tmp/flows" || fail "flows: no catalog id and verdict for fresh-root"

# Help is generated from the options: exit 0, on stdout, for every command;
# the README's table (command and what it does) is the same text.
cases=$((cases + 1))
"$cli" help >"$tmp/help" 2>"$tmp/err" || fail "help: exit $?"
[ ! -s "$tmp/err" ] || fail "help: printed on stderr"
"$cli" --help | cmp -s - "$tmp/help" || fail "--help differs from help"
awk '/^Commands:/ { on = 1; next }
     on && /^      / { sub(/^ +/, ""); desc = desc " " $0; next }
     on && /^  [a-z]/ { if (row) print row " |" desc " |"; sub(/^  /, ""); row = "| ./vtdfuzz " $0; desc = ""; next }
     END { if (row) print row " |" desc " |" }' "$tmp/help" | grep -v '^| ./vtdfuzz help' >"$tmp/help-rows"
sed -n 's/^| `\(\.\/vtdfuzz [^`]*\)` | /| \1 | /p' "$root/README.md" | tr -d '`' | sed 's/\\|/|/g' >"$tmp/readme-rows"
[ "$(wc -l <"$tmp/help-rows")" -ge 12 ] || fail "help lists $(wc -l <"$tmp/help-rows") commands"
while IFS= read -r row; do
  cmd=$(cut -d' ' -f3 <<<"$row")
  grep -qxF -- "$row" "$tmp/readme-rows" || fail "README's row for '$cmd' is not the help's: $row"
  cases=$((cases + 1))
  "$cli" "$cmd" --help >"$tmp/out" 2>"$tmp/err" || fail "$cmd --help: exit $?"
  grep -q "^usage: vtdfuzz-cli $cmd" "$tmp/out" || fail "$cmd --help: no usage line"
  [ ! -s "$tmp/err" ] || fail "$cmd --help: printed on stderr"
done <"$tmp/help-rows"

# The ./vtdfuzz script: the checks it makes before setup or a build.
script=$root/vtdfuzz
expect 2 "missing command" "$script"
expect 2 "frobnicate" "$script" frobnicate
expect 2 "nope" "$script" build nope
expect 2 "at most one" "$script" build release fuzz
expect 2 "setup" "$script" setup now
expect 2 "test" "$script" test now
cases=$((cases + 1))
help=$("$script" help) || fail "./vtdfuzz help: exit $?"
for cmd in $(sed -n '/^case "$sub" in/,/^esac/p' "$script" | grep -oE '^  [a-z|]+\)' | tr -d ' )' | tr '|' ' '); do
  [ "$cmd" = help ] && continue
  grep -qE "^  $cmd( |$)" <<<"$help" || fail "./vtdfuzz help does not list '$cmd'"
done

echo "$cases cases, $failures failed"
[ $failures -eq 0 ]

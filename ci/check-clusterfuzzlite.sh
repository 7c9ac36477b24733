#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh locally with the variables OSS-Fuzz sets for
# an address-sanitizer libFuzzer build, then checks what lands in $OUT: each
# target, its seed corpus zip and dictionary, and that each target runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# CFLITE_WORK=DIR keeps the build directory across runs, as the builder's
# cache does (ci/repeat.sh runs this check 20 times in a row); by default
# every run builds from nothing.
# The source path is part of CMake's cache, so it lives there too.
export WORK="${CFLITE_WORK:-$TMP/work}" OUT="$TMP/out"
export SRC="$WORK/src"
mkdir -p "$SRC" "$OUT" "$WORK"
ln -sfn "$ROOT" "$SRC/vtdfuzz"
export CC=clang CXX=clang++
export SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"

bash -eu "$ROOT/.clusterfuzzlite/build.sh" > "$TMP/build.log" 2>&1 || {
  tail -30 "$TMP/build.log"
  echo "check-clusterfuzzlite: build.sh failed" >&2
  exit 1
}

fail=0
# No `producer | grep -q` under pipefail: grep -q exits at its first match,
# the producer dies of SIGPIPE and the pipeline fails at random (issue 21).
# Listings are read whole into a variable first.
has_bin() { local listing; listing=$(unzip -Z1 "$1") && grep -q '\.bin$' <<<"$listing"; }
check() { if ! eval "$2"; then echo "check-clusterfuzzlite: FAIL: $1" >&2; fail=1; else echo "ok: $1"; fi; }
targets=$(cd "$OUT" && find . -maxdepth 1 -type f -perm -u+x ! -name '*.*' -printf '%f\n' | sort)
check "at least the ops target in \$OUT" '[ -x "$OUT/ops" ]'
for t in $targets; do
  if [ -d "$ROOT/corpus/$t" ]; then
    check "$t: seed corpus zip" '[ -s "$OUT/${t}_seed_corpus.zip" ] && has_bin "$OUT/${t}_seed_corpus.zip"'
  fi
  if [ -f "$ROOT/corpus/$t.dict" ]; then
    check "$t: dictionary" 'cmp -s "$OUT/$t.dict" "$ROOT/corpus/$t.dict"'
  fi
  if [ -f "$ROOT/corpus/$t.options" ]; then
    check "$t: options" 'cmp -s "$OUT/$t.options" "$ROOT/corpus/$t.options"'
  fi
  mkdir -p "$TMP/run-$t"
  [ -s "$OUT/${t}_seed_corpus.zip" ] && unzip -q "$OUT/${t}_seed_corpus.zip" -d "$TMP/run-$t"
  dict=""
  [ -f "$OUT/$t.dict" ] && dict="-dict=$OUT/$t.dict"
  check "$t: runs its seeds and 2000 mutations" \
    '"$OUT/$t" -runs=2000 $dict "$TMP/run-$t" > "$TMP/run-$t.log" 2>&1'
done
[ $fail -eq 0 ] && echo "check-clusterfuzzlite: ok ($(echo $targets | wc -w) targets)"
exit $fail

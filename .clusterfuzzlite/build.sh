#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: every fuzz target of vtdfuzz, built with
# the builder's $CC $CXX $CFLAGS $CXXFLAGS and linked with
# $LIB_FUZZING_ENGINE, into $OUT with its seed corpus and dictionary:
#   $OUT/<target>  $OUT/<target>_seed_corpus.zip  $OUT/<target>.dict
#   $OUT/<target>.options (libFuzzer flags: max_len, use_counters, print_funcs)
# The ops target fuzzes the writer named by $VTDFUZZ_WRITER (entry-sync by
# default): CI fuzzing keeps the correct writer clean.
set -eu  # also when run as `bash build.sh` (the shebang's flags are then ignored)
SRC_DIR=${VTDFUZZ_SRC:-$SRC/vtdfuzz}
BUILD=${WORK:-/tmp}/vtdfuzz-build

cmake -S "$SRC_DIR" -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DVTDFUZZ_LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE"
cmake --build "$BUILD"

for bin in "$BUILD"/targets/fuzz_*; do
  [ -x "$bin" ] || continue
  target=$(basename "$bin")
  target=${target#fuzz_}
  cp "$bin" "$OUT/$target"
  if [ -d "$SRC_DIR/corpus/$target" ]; then
    rm -f "$OUT/${target}_seed_corpus.zip"
    (cd "$SRC_DIR/corpus/$target" && zip -q -j "$OUT/${target}_seed_corpus.zip" ./*)
  fi
  for ext in dict options; do
    if [ -f "$SRC_DIR/corpus/$target.$ext" ]; then
      cp "$SRC_DIR/corpus/$target.$ext" "$OUT/$target.$ext"
    fi
  done
done

#!/bin/sh
# Regenerates the binary seed corpora from their readable sources:
#   corpus/ops-src/<name>.txt   -> corpus/ops/<name>.bin    (vtdfuzz-cli convert)
#   corpus/queue-src/<name>.hex -> corpus/queue/<name>.bin  (hex bytes, # comments)
#
#   corpus/build-seeds.sh PATH/TO/vtdfuzz-cli
#
# Run it after editing a source; tests/catalog (OpsSeed.*, QueueSeed.*)
# fails while a .bin is missing or stale.
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 PATH/TO/vtdfuzz-cli" >&2
  exit 2
fi
cli=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$here/ops-src
out=$here/ops

mkdir -p "$out"
n=0
for txt in "$src"/*.txt; do
  [ -e "$txt" ] || continue
  name=$(basename "$txt" .txt)
  "$cli" convert --to-binary "$txt" "$out/$name.bin"
  n=$((n + 1))
done
# Binaries whose source is gone would otherwise linger in the corpus.
for bin in "$out"/*.bin; do
  [ -e "$bin" ] || continue
  name=$(basename "$bin" .bin)
  if [ ! -e "$src/$name.txt" ]; then
    rm -f "$bin"
    echo "removed $bin (no source)"
  fi
done
echo "built $n seeds in $out"

# The queue target's seeds: hex bytes, anything after # a comment.
qsrc=$here/queue-src
qout=$here/queue
mkdir -p "$qout"
rm -f "$qout"/*.bin
q=0
for hex in "$qsrc"/*.hex; do
  [ -e "$hex" ] || continue
  bin=$qout/$(basename "$hex" .hex).bin
  : >"$bin"
  for byte in $(sed 's/#.*//' "$hex"); do
    # shellcheck disable=SC2059 # the format is the byte, as an octal escape
    printf "\\$(printf '%03o' "0x$byte")" >>"$bin"
  done
  q=$((q + 1))
done
echo "built $q seeds in $qout"

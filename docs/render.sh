#!/usr/bin/env bash
# docs/render.sh: the pictures in docs/, made again.
#  - timeline-B01/B05/B06.{svg,png}: `vtdfuzz explain --svg` of those catalog
#    reproducers, turned into PNG by rsvg-convert (Debian librsvg2-bin);
#  - campaign-report.png: headless Chromium's screenshot of the last
#    campaign's out/campaign/report.html (make one first, e.g.
#    ./vtdfuzz campaign --time 60 --writers legacy,entry-sync,cache-tag-late).
# Needs the release build (./vtdfuzz build).
set -euo pipefail
cd "$(dirname "$0")/.."
cli=build/release/tools/vtdfuzz-cli
export VTDFUZZ_ROOT=$PWD
command -v rsvg-convert >/dev/null || { echo "docs/render.sh: needs rsvg-convert (apt-get install librsvg2-bin)" >&2; exit 2; }
for b in B01 B05 B06; do
  f=$(ls corpus/catalog/"$b"-*.txt)
  "$cli" explain "$f" --svg "docs/timeline-$b.svg" >/dev/null || [ $? -eq 1 ]
  rsvg-convert -w 1280 "docs/timeline-$b.svg" -o "docs/timeline-$b.png"
done
if [ -f out/campaign/report.html ] && command -v chromium >/dev/null; then
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,1700 \
    --screenshot="$PWD/docs/campaign-report.png" "file://$PWD/out/campaign/report.html" >/dev/null 2>&1
  rm -rf "$profile"
else
  echo "docs/render.sh: no out/campaign/report.html or no chromium: campaign-report.png left as it is" >&2
fi

#!/usr/bin/env bash
# browser_test.sh <render_sample_report> <repo root>
#
# The campaign report as a person opens it: headless Chromium loads
# report.html from disk (no network) and takes a screenshot, which must not
# be blank (png_check.py). Skipped, with a message, where Chromium is not
# installed: only this test needs it (Debian package chromium; ./vtdfuzz
# test and CI do not install it).
set -u
render=$1 root=$2
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
  echo "SKIPPED: chromium is not installed (apt-get install chromium to run the browser test)"
  exit 77
fi
if ! command -v python3 >/dev/null; then
  echo "SKIPPED: python3 is not installed (the screenshot check needs it)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$render" "$root" "$tmp/report.html" || { echo "FAIL: report.html not written"; exit 1; }
# The flags of a closed machine: no sandbox as root, no GPU, nothing on the network.
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$tmp/profile" --hide-scrollbars --window-size=1280,1600 \
  --screenshot="$tmp/shot.png" "file://$tmp/report.html" >"$tmp/log" 2>&1
if [ ! -s "$tmp/shot.png" ]; then
  echo "FAIL: chromium wrote no screenshot"
  tail -5 "$tmp/log"
  exit 1
fi
[ -z "${VTDFUZZ_SHOT:-}" ] || cp "$tmp/shot.png" "$VTDFUZZ_SHOT"
python3 "$(dirname "$0")/png_check.py" "$tmp/shot.png"

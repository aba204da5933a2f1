#!/usr/bin/env bash
# Renders a mixdq report page to PNG with headless Chromium, to look at it as a browser shows it.
# usage: tools/render-report.sh report.html [screenshot.png] [width,height]
set -euo pipefail
html="${1:?usage: render-report.sh report.html [out.png] [width,height]}"
png="${2:-${html%.html}.png}"
size="${3:-1400,3000}"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$browser" ] || { echo "chromium not found: apt-get install -y chromium" >&2; exit 1; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$(realpath -m "$png")" \
  --window-size="$size" "file://$(realpath "$html")" 2>/dev/null
echo "wrote $png"

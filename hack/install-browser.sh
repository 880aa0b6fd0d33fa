#!/usr/bin/env bash
# Installs what the browser test of internal/report needs, when missing:
# headless Chromium (driven by chromedp) and the Noto CJK fonts the report's
# Chinese labels are set in. Debian packages; `make test` runs this first.
set -euo pipefail
have_browser() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have_fonts() { [ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; }
if have_browser && have_fonts; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk

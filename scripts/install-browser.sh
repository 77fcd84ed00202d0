#!/usr/bin/env bash
# Headless Chromium and its WebDriver, for the browser test of `backprop serve`
# (tests/it/serve_browser.rs). Debian's packages; does nothing if chromedriver is already there.
set -euo pipefail
if [ -x /usr/bin/chromedriver ] && [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium chromium-driver

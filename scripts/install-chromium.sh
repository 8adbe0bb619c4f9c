#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests (console/run-tests.sh). Idempotent: does nothing
# when /usr/bin/chromium already runs. Needs root (CI and the dev machines run as root).
set -euo pipefail
if [ -x /usr/bin/chromium ] && /usr/bin/chromium --version >/dev/null 2>&1; then
  echo "chromium present: $(/usr/bin/chromium --version)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# fonts-liberation: screenshots need real glyphs (a bare container has no fonts)
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
/usr/bin/chromium --version

#!/usr/bin/env bash
# Runs every test of the project. Installs what a fresh machine lacks (Python venv from PyPI), generates the
# test bundles and fixtures, then runs the exporter's pytest suite and the Maven build with both parity tiers.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scripts/prepare-test-assets.sh

echo "== exporter tests (pytest)"
(cd tools/export && "$root/build/venv/bin/python" -m pytest -q tests)

echo "== server build and tests (tiny tier, then the full-size tier)"
export DJL_OFFLINE=true
./mvnw -B verify

echo "== admin console: browser tests (headless chromium against the server just built)"
CONSOLE_SKIP_BUILD=1 INCTRL_BUNDLE="$root/build/assets/tiny" console/run-tests.sh

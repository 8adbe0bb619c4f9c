#!/usr/bin/env bash
# Create (or reuse) the exporter's Python venv: ./setup-venv.sh [VENV_DIR]  (default <repo>/build/venv)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${1:-$REPO/build/venv}"
REQ="$HERE/requirements.txt"
PY="${PYTHON:-python3}"

hash_of() { sha256sum "$1" | cut -d' ' -f1; }
WANT="$(hash_of "$REQ")"
STAMP="$VENV/.inctrl-export-requirements.sha256"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "venv $VENV already satisfies $REQ (stamp matches)" >&2
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating venv at $VENV" >&2
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -r "$REQ" >&2
# The stamp is written only after a successful install so a failed run is retried next time.
echo "$WANT" > "$STAMP"
echo "venv ready: $VENV" >&2

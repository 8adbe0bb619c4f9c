#!/usr/bin/env bash
# Builds what the tests compare against, all generated here (no weights can be downloaded):
#   build/venv                  exporter venv (tools/export/requirements.txt, pinned, from PyPI)
#   build/assets/tiny           tiny random-init bundle + plain-Python reference fixtures
#   build/assets/residual-heads-tiny  kind residual-heads: random InceptionV3 trunk + random heads + fixtures (seconds)
#   build/assets/full           full-size ViT-B-16-plus-240 random-init bundle + fixtures (slow tier)
#   build/assets/preprocess     Pillow/torchvision preprocessing fixtures for the Java image pipeline
#   tools/export/nsfwjs_parity/node_modules   TF.js + nsfwjs@4.4.0 (npm ci) for the nsfwjs port's parity test
# Each step is skipped when its inputs (exporter sources) have not changed since it last ran.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
data="${INCTRL_DATA_DIR:-$root/../shared/data}"
venv="$root/build/venv"
assets="$root/build/assets"
mkdir -p "$assets"

bash tools/export/setup-venv.sh "$venv"
py="$venv/bin/python"

src_hash() { find tools/export/inctrl_export "$@" -type f -name '*.py' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }
stamp_ok() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }

export_bundle() { # name, extra args...
  local name="$1"; shift
  local h; h="$(src_hash)-$*"
  # the stamp lives beside the bundle, not in it: the bundle's SHA256SUMS must cover every file inside
  local stamp="$assets/.$name.stamp"
  if [ -f "$assets/$name/manifest.json" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$h" ]; then
    echo "== $name bundle up to date"; return
  fi
  echo "== exporting $name bundle"
  rm -rf "$assets/$name" "$stamp"
  (cd tools/export && "$py" -m inctrl_export "$@" --seed 7 --out "$assets/$name" --fixtures-data "$data")
  echo "$h" > "$stamp"
}

export_bundle tiny --tiny --random-init
export_bundle residual-heads-tiny --kind residual-heads --tiny --random-init --no-optimize

# Original TF.js model of nsfwjs@4.4.0 for the exporter's parity test (tests/test_nsfwjs.py; npm registry only).
parity=tools/export/nsfwjs_parity
h="$(sha256sum "$parity/package-lock.json" | cut -c1-16)"
if ! stamp_ok "$parity/node_modules" "$h"; then
  echo "== npm ci ($parity)"
  (cd "$parity" && npm ci --no-audit --no-fund)
  echo "$h" > "$parity/node_modules/.stamp"
fi
if [ "${INCTRL_SKIP_FULL_SIZE:-0}" != "1" ]; then
  export_bundle full --random-init --no-optimize  # a frozen ViT copy measured no faster and adds 469 MB
fi

if [ -f server/src/test/python/make_preprocess_fixtures.py ]; then
  # the script and the spec's transform it imports (tools/export/inctrl_export/spec.py)
  h="$(cat server/src/test/python/make_preprocess_fixtures.py tools/export/inctrl_export/spec.py | sha256sum | cut -c1-16)"
  if ! stamp_ok "$assets/preprocess" "$h"; then
    echo "== preprocessing fixtures"
    rm -rf "$assets/preprocess"
    "$py" server/src/test/python/make_preprocess_fixtures.py "$assets" --data "$data"
    echo "$h" > "$assets/preprocess/.stamp"
  fi
fi

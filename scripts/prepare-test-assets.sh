#!/usr/bin/env bash
# Builds what the tests compare against, all generated here (no weights can be downloaded):
#   build/venv                  exporter venv (tools/export/requirements.txt, pinned, from PyPI)
#   build/assets/tiny           tiny random-init bundle + plain-Python reference fixtures
#   build/assets/residual-heads-tiny  kind residual-heads: random InceptionV3 trunk + random heads + fixtures (seconds)
#   build/assets/full           full-size ViT-B-16-plus-240 random-init bundle + fixtures (slow tier)
#   build/assets/preprocess     Pillow/torchvision preprocessing fixtures for the Java image pipeline
#   + precision variants        bf16 in tiny and full, bf16 + int8 in residual-heads-tiny, added to the exported
#                               bundles by inctrl_export.precision (docs/bundle-format.md, "Precision variants")
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

# The export stamp leaves out the precision modules: they never run during an export, and a change to them must
# not re-export the full-size bundle (~13 min); the variants have their own stamp below.
src_hash() { find tools/export/inctrl_export "$@" -type f -name '*.py' ! -name 'precision*.py' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }
variants_hash() { find tools/export/inctrl_export -type f -name 'precision*.py' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }
train="${INCTRL_TRAIN_DIR:-$root/../shared/train}"
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

# Reduced-precision variants inside an exported bundle, measured against its fp32 files on the bundle's fixture cases
# plus a few data cases (cheap: no re-export; for the full-size bundle ~1-2 min, mostly the fp32 text tower).
add_variants() { # name, inctrl_export.precision args...
  local name="$1"; shift
  # beside the bundle like the export stamp; a new export removes it (the bundle's files changed)
  local stamp="$assets/.$name.variants-stamp"
  local h; h="$(variants_hash)-$(cat "$assets/.$name.stamp")-$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$h" ]; then
    echo "== $name variants up to date"; return
  fi
  echo "== precision variants of $name: $*"
  (cd tools/export && "$py" -m inctrl_export.precision --bundle "$assets/$name" --image-set "$data" "$@")
  echo "$h" > "$stamp"
}
# int8 calibrates on normal images: the auxiliary training set (disjoint from the evaluation data) when present,
# else the evaluation data's shots/ (never its test images).
calibration="$train"; [ -d "$calibration" ] || calibration="$data"

export_bundle tiny --tiny --random-init
add_variants tiny --precisions bf16 --max-queries 4
export_bundle residual-heads-tiny --kind residual-heads --tiny --random-init --no-optimize
add_variants residual-heads-tiny --precisions bf16 int8 --max-queries 4 --calibration "$calibration"

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
  add_variants full --precisions bf16 --k 8 --max-queries 2  # the fixture cases carry the bound; text dominates
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

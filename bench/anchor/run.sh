#!/usr/bin/env bash
# One command for the outside CPU anchor:
#   bench/anchor/run.sh BUNDLE OUT.json [extra anchor.py args, e.g. --batches 1,4,8 --seconds 60]
# Builds build/venv-anchor on first use: a venv whose own site-packages hold only onnxruntime/openvino/onnx
# (bench/anchor/requirements.txt, --no-deps) and which sees build/venv (torch 2.7.1 etc.) through a .pth
# file, so torch is neither downloaded twice nor touched. build/venv must exist (tools/export/setup-venv.sh).
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 BUNDLE OUT.json [anchor.py args]" >&2; exit 2; fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base="$root/build/venv"
venv="$root/build/venv-anchor"
req="$here/requirements.txt"

if [ ! -x "$base/bin/python" ]; then echo "missing $base (run tools/export/setup-venv.sh)" >&2; exit 1; fi
# Rebuild when the pins change: the stamp is a copy of the requirements the venv was made from.
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.anchor-requirements"; then
  rm -rf "$venv"
  "$base/bin/python" -m venv "$venv"
  base_site="$("$base/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  own_site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  # A .pth line is appended after the venv's own site-packages, so the anchor's pins win over build/venv.
  echo "$base_site" > "$own_site/zz_build_venv.pth"
  # The venv's own old setuptools would shadow build/venv's and fail pip check; nothing here needs it.
  "$venv/bin/python" -m pip uninstall -q -y --disable-pip-version-check setuptools
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$req"
  "$venv/bin/python" -m pip check --disable-pip-version-check
  cp "$req" "$venv/.anchor-requirements"
fi
bundle="$1"; out="$2"; shift 2
exec "$venv/bin/python" "$here/anchor.py" --bundle "$bundle" --out "$out" "$@"

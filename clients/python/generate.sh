#!/usr/bin/env bash
# Generates the Python stubs (package `inctrl.v1`) into src/ from proto/src/main/proto, the single source.
# The generated code keeps the proto package path so its own imports (`from inctrl.v1 import ...`) resolve.
# The output is committed (so `pip install` works from the folder, an sdist or a wheel, with no protoc);
# clients/run-tests.sh regenerates it and fails when it differs from the committed files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -rf src/inctrl && mkdir -p src/inctrl/v1
../tools/protoc.sh --python_out=src --pyi_out=src --grpc_python_out=src \
  inctrl/v1/scoring.proto inctrl/v1/registry.proto
touch src/inctrl/__init__.py src/inctrl/v1/__init__.py src/inctrl/py.typed

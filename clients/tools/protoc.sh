#!/usr/bin/env bash
# One pinned protoc for Python, Go and TypeScript: the one bundled in grpcio-tools (PyPI, pinned in
# clients/python/requirements-dev.txt). It also ships the well-known types (google/protobuf/timestamp.proto).
# Usage: clients/tools/protoc.sh [protoc args...]  (-I for the project's proto root is added for you)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clients="$(dirname "$here")"
root="$(dirname "$clients")"
venv="$clients/python/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import grpc_tools' 2>/dev/null; then
  "$venv/bin/pip" install -q -r "$clients/python/requirements-dev.txt"
fi
wkt="$("$venv/bin/python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
exec "$venv/bin/python" -m grpc_tools.protoc -I "$root/proto/src/main/proto" -I "$wkt" "$@"

#!/usr/bin/env bash
# End-to-end checks against a real server process (the built runner jar):
#   1. the four client suites (live tests on) against the tiny InCTRL test bundle with security on;
#   2. the default-bundle quality gate: mean K=8 image AUROC of the default bundle, measured through the server's gRPC API.
# Expects scripts/prepare-test-assets.sh and a built server (./mvnw install) to have run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
data="${INCTRL_DATA_DIR:-$root/../shared/data}"
jar=server/target/quarkus-app/quarkus-run.jar
export DJL_OFFLINE=true DJL_CACHE_DIR="${DJL_CACHE_DIR:-$root/.djl-cache}"
pid=""
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap stop_server EXIT

# shellcheck source=lib/wait-ready.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/wait-ready.sh"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

start_server() { # bundle, log, extra -D args...
  local bundle="$1" log="$2"; shift 2
  port="$(free_port)"; http_port="$(free_port)"; mgmt_port="$(free_port)"   # port = gRPC, what clients dial
  datadir="$(mktemp -d)"
  java -Dquarkus.http.port="$http_port" -Dquarkus.http.host=127.0.0.1 -Dinctrl.model.bundle="$bundle" \
       -Dquarkus.grpc.server.port="$port" -Dquarkus.grpc.server.host=127.0.0.1 \
       -Dquarkus.management.port="$mgmt_port" -Dquarkus.management.host=127.0.0.1 \
       -Dinctrl.registry.data-dir="$datadir" "$@" -jar "$jar" > "$log" 2>&1 &
  pid=$!
  if wait_ready "$pid" "$log" "http://127.0.0.1:$mgmt_port/q/health/ready"; then
    echo "server up on $port ($bundle)"; return 0
  fi
  echo "server did not become ready:"; tail -50 "$log"; return 1
}

mkdir -p build/logs
echo "== client suites against a live server (tiny InCTRL bundle, security on)"
tenant_key="live-tenant-$(date +%s%N)"
start_server "$root/build/assets/tiny" build/logs/live-clients.log \
  -Dinctrl.security.enabled=true -Dinctrl.security.admin-key="live-admin-$RANDOM$RANDOM" \
  -Dinctrl.security.bootstrap-tenant-key="$tenant_key"
INCTRL_ADDR="127.0.0.1:$port" INCTRL_API_KEY="$tenant_key" INCTRL_DATA="$data" clients/run-tests.sh
stop_server

echo "== quality gate: default bundle, mean K=8 image AUROC through the server >= 0.84"
start_server "$root/models/nsfwjs-inception-v3" build/logs/live-eval.log -Dinctrl.security.enabled=false
(cd tools/export && "$root/build/venv/bin/python" -m inctrl_export.evaluate --server "127.0.0.1:$port" \
   --data "$data" --k 8 --min-mean-auroc 0.84)
stop_server

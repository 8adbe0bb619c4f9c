#!/usr/bin/env bash
# End-to-end tests of the admin console in headless Chromium against the REAL server:
# builds the server (unless CONSOLE_SKIP_BUILD=1), starts three servers on free ports, each with an admin key and a
# temporary data dir: one with the tiny InCTRL test bundle, one with the committed vision-only default bundle, one on a
# temporary model repository holding two versions of one model (copies of the tiny bundle, the second under another
# bundle id); waits for /q/health/ready, runs node's test runner on tests/*.test.mjs, stops the servers. Exits non-zero
# when anything fails. Screenshots land in console/test-artifacts/.
#   INCTRL_BUNDLE  bundle dir (default: build/assets/tiny, else /tmp/bundles/tiny)
#   INCTRL_DATA    shared real-image data (default: ../shared/data relative to the repo root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

bundle="${INCTRL_BUNDLE:-$root/build/assets/tiny}"
if [ -z "${INCTRL_BUNDLE:-}" ] && [ ! -f "$bundle/manifest.json" ] && [ -f /tmp/bundles/tiny/manifest.json ]; then
  bundle=/tmp/bundles/tiny
fi
data="${INCTRL_DATA:-$root/../shared/data}"
[ -f "$bundle/manifest.json" ] || { echo "no model bundle at $bundle (set INCTRL_BUNDLE or run scripts/prepare-test-assets.sh)" >&2; exit 2; }
[ -d "$data" ] || { echo "no test images at $data (set INCTRL_DATA)" >&2; exit 2; }

[ -x /usr/bin/chromium ] || bash "$root/scripts/install-chromium.sh"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

jar="$root/server/target/quarkus-app/quarkus-run.jar"
if [ "${CONSOLE_SKIP_BUILD:-0}" != "1" ] || [ ! -f "$jar" ]; then
  echo "== building the server"
  ./mvnw -B -o -q install -DskipTests
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d "${TMPDIR:-/tmp}/inctrl-console.XXXXXX")"
admin_key="console-test-admin-$RANDOM$RANDOM"
mkdir -p "$here/test-artifacts"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_server NAME BUNDLE [JAVA_OPTION...]: a server on free ports with its own data dir; sets $base and $ready
start_server() {
  local name="$1" bundle_dir="$2" port grpc_port mgmt_port log="$here/test-artifacts/server-$1.log"
  shift 2
  port="$(free_port)"; grpc_port="$(free_port)"; mgmt_port="$(free_port)"
  echo "== starting the $name server on port $port (bundle $bundle_dir, data dir $work/$name)"
  DJL_OFFLINE=true DJL_CACHE_DIR="${DJL_CACHE_DIR:-$root/.djl-cache}" java \
    -Dquarkus.http.port="$port" -Dquarkus.http.host=127.0.0.1 \
    -Dquarkus.grpc.server.port="$grpc_port" -Dquarkus.grpc.server.host=127.0.0.1 \
    -Dquarkus.management.port="$mgmt_port" -Dquarkus.management.host=127.0.0.1 \
    -Dinctrl.model.bundle="$bundle_dir" \
    -Dinctrl.security.admin-key="$admin_key" \
    -Dinctrl.registry.data-dir="$work/$name" \
    "$@" \
    -jar "$jar" >"$log" 2>&1 &
  pids+=("$!")
  base="http://127.0.0.1:$port"
  ready="http://127.0.0.1:$mgmt_port/q/health/ready"
}

wait_ready() { # URL LOG PID
  for _ in $(seq 1 180); do
    if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then echo "server exited; log:" >&2; tail -50 "$2" >&2; exit 1; fi
    sleep 1
  done
  curl -fsS "$1" >/dev/null || { echo "server not ready after 180 s; log:" >&2; tail -50 "$2" >&2; exit 1; }
}

# the tiny InCTRL test bundle (random weights, text tower) for the main flow
start_server inctrl "$bundle"; inctrl_base="$base"
wait_ready "$ready" "$here/test-artifacts/server-inctrl.log" "${pids[0]}"
# the committed default bundle (vision-only, kind patch-residual): banner, template warning, absolute heatmap scale.
# Started once the first is up, so a fresh DJL cache is extracted by one process only.
start_server vision "$root/models/nsfwjs-inception-v3"; vision_base="$base"
wait_ready "$ready" "$here/test-artifacts/server-vision.log" "${pids[1]}"
# a model repository of two versions of one model: version 1 a copy of the tiny bundle, version 2 a copy under another
# bundle id (same weights, separate encodings), for the Models page
repo="$work/repository"
mkdir -p "$repo/tiny"
for v in 1 2; do
  mkdir "$repo/tiny/$v"
  for f in "$bundle"/*; do [ "$(basename "$f")" = fixtures ] || cp -r "$f" "$repo/tiny/$v/"; done
done
python3 - "$repo/tiny/2/manifest.json" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["bundle_id"] += "-v2"
json.dump(m, open(p, "w"), indent=2)
PY
# both versions' checksums again (fixtures left out, a manifest changed); both versions served
for v in 1 2; do
  rm -f "$repo/tiny/$v/.stamp"
  [ -f "$repo/tiny/$v/SHA256SUMS" ] && PYTHONPATH="$root/tools/export" python3 -m inctrl_export.checksums "$repo/tiny/$v" >/dev/null
done
echo '{"version_policy": {"all": {}}}' > "$repo/tiny/config.json"
start_server models "$repo" -Dinctrl.models.repository="$repo"; models_base="$base"
wait_ready "$ready" "$here/test-artifacts/server-models.log" "${pids[2]}"
echo "== servers ready; running the browser tests"

cd "$here"
status=0
CONSOLE_URL="$inctrl_base" CONSOLE_VISION_URL="$vision_base" CONSOLE_MODELS_URL="$models_base" \
  CONSOLE_ADMIN_KEY="$admin_key" INCTRL_DATA="$data" \
  node --test --test-concurrency=1 ${CONSOLE_TESTS:-tests/*.test.mjs} || status=$?
echo "== screenshots: $(ls "$here/test-artifacts"/*.png 2>/dev/null | wc -l) in console/test-artifacts/"
exit $status

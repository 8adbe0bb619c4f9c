#!/usr/bin/env bash
# InCTRL serve benchmark driver: bench/run.sh [tiny|full] [a|b|c|d|all]
# Builds what it needs (offline Maven), runs the chosen benchmarks on one machine and prints a table of ratios.
# Env: BENCH_BUNDLE (bundle dir, default build/assets/<size>), BENCH_DATA (real images, default ../shared/data),
#      BENCH_REBUILD=1 (force the full install), BENCH_PORT (server port for d, default 18931), BENCH_XMX (default 6g),
#      BENCH_JAVA_OPTS (extra JVM options, e.g. -Dai.djl.pytorch.graph_optimizer=false),
#      BENCH_ARGS (extra "--key value" options passed to the bench, e.g. "--a.official-queries 5").
set -euo pipefail

size=${1:-tiny}
which=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bundle=${BENCH_BUNDLE:-$ROOT/build/assets/$size}
data=${BENCH_DATA:-$ROOT/../shared/data}
port=${BENCH_PORT:-18931}
[ -f "$bundle/manifest.json" ] || { echo "no bundle at $bundle (run scripts/prepare-test-assets.sh or set BENCH_BUNDLE)" >&2; exit 2; }
[ -d "$data" ] || { echo "no image data at $data (set BENCH_DATA)" >&2; exit 2; }

export DJL_OFFLINE=true
export DJL_CACHE_DIR=${DJL_CACHE_DIR:-$ROOT/.djl-cache}

if [ ! -f server/target/quarkus-app/quarkus-run.jar ] || [ "${BENCH_REBUILD:-0}" = 1 ]; then
  ./mvnw -B -o -q install -DskipTests
fi
./mvnw -B -o -q compile -pl bench
cp="bench/target/classes:server/target/inctrl-server-0.1.0-SNAPSHOT.jar:server/target/quarkus-app/lib/main/*"

# Query counts and time bounds per bundle: the full-size model takes seconds per official query on 2 cores.
case "$size" in
  tiny) params=(--a.official-queries 5 --a.official-seconds 40 --a.served-queries 200 --a.served-seconds 20
                --b.streams 4,8 --b.served-queries 300 --b.served-seconds 15 --b.raw-batches 1,4,8 --b.raw-iters 30 --b.raw-seconds 5
                --c.requests 150 --c.seconds 10 --c.unloaded-requests 20 --d.sets 1000) ;;
  full) params=(--a.official-queries 2 --a.official-seconds 150 --a.served-queries 24 --a.served-seconds 60
                --b.streams 1,4 --b.served-queries 24 --b.served-seconds 60 --b.raw-batches 8 --b.raw-warmup 2 --b.raw-iters 3
                --c.requests 16 --c.seconds 40 --c.unloaded-requests 3 --d.sets 50) ;;
  *) echo "usage: bench/run.sh [tiny|full] [a|b|c|d|all]" >&2; exit 2 ;;
esac
case "$which" in
  all) model="a,b,c"; mem=1 ;;
  d) model=""; mem=1 ;;
  a|b|c|a,b|b,c|a,b,c) model="$which"; mem=0 ;;
  *) echo "unknown benchmark '$which'" >&2; exit 2 ;;
esac

bench() {
  # shellcheck disable=SC2086
  # shellcheck disable=SC2086
  java -Xmx"${BENCH_XMX:-6g}" ${BENCH_JAVA_OPTS:-} -cp "$cp" io.inctrl.serve.bench.Bench --bundle "$bundle" --data "$data" \
    "${params[@]}" ${BENCH_ARGS:-} "$@"
}

echo "# bench/run.sh $size $which  $(date -u +%FT%TZ)  commit $(git rev-parse --short HEAD)"
if [ -n "$model" ]; then
  bench --only "$model"
fi

if [ "$mem" = 1 ]; then
  # d) needs the idle server's RSS: start the real server on this bundle, wait until it is ready (model loaded and
  # warmed up), then measure the per-set footprint in a separate JVM and project the server with 1,000 sets.
  log=$(mktemp)
  mport=$((port + 1)); gport=$((port + 2))
  java -Dinctrl.model.bundle="$bundle" -Dquarkus.http.port="$port" -Dquarkus.management.port="$mport" \
       -Dquarkus.grpc.server.port="$gport" \
       -jar server/target/quarkus-app/quarkus-run.jar >"$log" 2>&1 &
  spid=$!
  trap 'kill $spid 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 1 240); do
    if curl -fs "http://localhost:$mport/q/health/ready" >/dev/null 2>&1; then break; fi
    kill -0 $spid 2>/dev/null || { echo "server exited:"; tail -30 "$log"; exit 1; }
    sleep 1
  done
  curl -fs "http://localhost:$mport/q/health/ready" >/dev/null || { echo "server not ready after 240 s"; tail -30 "$log"; exit 1; }
  sleep 2
  bench --only d --server-pid "$spid"
fi

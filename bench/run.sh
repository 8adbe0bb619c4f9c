#!/usr/bin/env bash
# InCTRL serve benchmarks against the started server:
#   bench/run.sh <default|full|tiny|BUNDLE_DIR> [a,b,c,d,e,f|all] [fp32,bf16,int8|all]
# (all = a,b,c,d; e and f, the bounded memory bank and a set grown to 128 shots, are asked for by name)
# The third argument runs the chosen benchmarks once per precision (default fp32; "all" = fp32 and every variant
# the bundle's manifest lists), each against a server started at that precision, and ends with a table of the
# precisions side by side (served throughput of each ÷ fp32's, measured in this one run).
# Builds what it needs (offline Maven), starts the real server (quarkus-run.jar, embedded H2 store in a temp dir,
# free localhost ports), creates a tenant and its API key through the admin REST API, then runs the Java driver,
# which registers the K=8 prompt set through the registry API and drives gRPC ScoreStream. Prints a table of ratios
# and writes the whole log to bench/results/<bundle>-<date>[-N].txt.
# Env: BENCH_DATA (real images, default ../shared/data), BENCH_REBUILD=1 (force the full build),
#      BENCH_XMX (bench JVM heap, default 4g), BENCH_SERVER_XMX (server heap, default 6g),
#      BENCH_JAVA_OPTS / BENCH_SERVER_OPTS (extra JVM options for the bench / the server),
#      BENCH_ARGS (extra "--key value" options for the driver, e.g. "--a.official-queries 5"),
#      BENCH_NO_SAVE=1 (print only, write nothing under bench/results),
#      BENCH_MAX_SHOTS (the server's inctrl.limits.max-shots and f)'s shots per AddShots call, default 32).
set -euo pipefail

target=${1:-default}
which=${2:-all}
precisions=${3:-fp32}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case "$target" in
  default) bundle=$ROOT/models/nsfwjs-inception-v3; name=default ;;
  full|tiny) bundle=$ROOT/build/assets/$target; name=$target ;;
  *) bundle=$(cd "$target" 2>/dev/null && pwd) || { echo "no bundle directory $target" >&2; exit 2; }
     name=$(basename "$bundle") ;;
esac
data=${BENCH_DATA:-$ROOT/../shared/data}
[ -f "$bundle/manifest.json" ] || { echo "no bundle at $bundle (scripts/prepare-test-assets.sh writes build/assets)" >&2; exit 2; }
[ -d "$data" ] || { echo "no image data at $data (set BENCH_DATA)" >&2; exit 2; }
[ "$which" = all ] && which=a,b,c,d
[[ "$which" =~ ^[a-f](,[a-f])*$ ]] || { echo "usage: bench/run.sh <default|full|tiny|DIR> [a,b,c,d,e,f|all] [fp32,bf16,int8|all]" >&2; exit 2; }
if [ "$precisions" = all ]; then
  precisions=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(",".join(["fp32"]+[p for p in ("bf16","int8") if p in (m.get("variants") or {})]))' "$bundle/manifest.json")
fi
[[ "$precisions" =~ ^(fp32|bf16|int8)(,(fp32|bf16|int8))*$ ]] || { echo "precisions: comma-separated fp32, bf16, int8 (or all)" >&2; exit 2; }

export DJL_OFFLINE=true
export DJL_CACHE_DIR=${DJL_CACHE_DIR:-$ROOT/.djl-cache}
# libtorch's OpenMP threads sleep instead of spinning when idle (the server's own default; spinning threads
# steal the CPU from the decode threads and the bench client on a small machine)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

# package, not install: the reactor resolves the server and client jars from this checkout, and nothing is written
# to the local repository that other checkouts (worktrees) read
if [ ! -f server/target/quarkus-app/quarkus-run.jar ] || [ ! -f clients/java/target/inctrl-client-0.1.0-SNAPSHOT.jar ] \
   || [ "${BENCH_REBUILD:-0}" = 1 ]; then
  ./mvnw -B -o -q package -DskipTests -pl bench -am
fi
./mvnw -B -o -q compile -pl bench -am
cp="bench/target/classes:clients/java/target/inctrl-client-0.1.0-SNAPSHOT.jar:server/target/inctrl-server-0.1.0-SNAPSHOT.jar:server/target/quarkus-app/lib/main/*:server/target/quarkus-app/lib/boot/*"

# Counts and time bounds per bundle (every loop stops at whichever comes first); a full-size official query takes
# over a minute on 2 cores. d.sets: prompt sets registered for d).
case "$name" in
  full) params=(--a.target 60 --a.official-queries 2 --a.official-seconds 150 --a.served-queries 48 --a.served-seconds 60
                --b.streams 1,4 --b.served-queries 48 --b.served-seconds 60 --b.raw-batches 8 --b.raw-warmup 2 --b.raw-iters 3
                --c.requests 32 --c.seconds 40 --c.unloaded-requests 3 --d.sets 20 --d.seconds 600) ;;
  tiny) params=(--a.official-queries 5 --a.official-seconds 40 --a.served-queries 200 --a.served-seconds 20
                --b.streams 4,8 --b.served-queries 300 --b.served-seconds 15 --b.raw-batches 1,4,8 --b.raw-iters 30 --b.raw-seconds 5
                --c.requests 150 --c.seconds 10 --c.unloaded-requests 20 --d.sets 200 --d.seconds 300) ;;
  *)    params=(--a.official-queries 10 --a.official-seconds 30 --a.served-queries 200 --a.served-seconds 20
                --b.streams 2,4 --b.served-queries 200 --b.served-seconds 15 --b.raw-batches 1,4,8 --b.raw-iters 20 --b.raw-seconds 5
                --c.requests 120 --c.seconds 15 --c.unloaded-requests 15 --d.sets 200 --d.seconds 300) ;;
esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/inctrl-bench.XXXXXX)
max_shots=${BENCH_MAX_SHOTS:-32}
spid=""
stop_server() { [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; spid=""; }
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT

# One server per precision, each with a fresh registry, ports and tenant; the driver runs the in-JVM references at
# the same precision. Prints the driver's output.
run_precision() {
  local precision=$1
  local http_port grpc_port mgmt_port admin_key created
  http_port=$(free_port); grpc_port=$(free_port); mgmt_port=$(free_port)
  admin_key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  rm -rf "$work/data"
  # d) fills the registry far past the default 1 GiB feature cache: the bound is raised so every set stays resident
  # (d reports the cache misses seen when scoring each set once, 0 = all resident). f) grows a set to 128 shots with
  # AddShots calls of at most max_shots shots each (the server's per-request limit, passed to both); the tenant's
  # maxShotsPerSet quota is raised for it (a set may grow to inctrl.registry.max-set-shots, 1024 by default).
  # shellcheck disable=SC2086
  INCTRL_SECURITY_ADMIN_KEY=$admin_key java -Xmx"${BENCH_SERVER_XMX:-6g}" -XX:+ExitOnOutOfMemoryError \
    -Dinctrl.model.bundle="$bundle" -Dinctrl.model.precision="$precision" -Dinctrl.registry.data-dir="$work/data" \
    -Dinctrl.registry.cache.max-bytes=$((16 << 30)) -Dinctrl.limits.max-shots="$max_shots" \
    -Dquarkus.http.port="$http_port" -Dquarkus.http.host=127.0.0.1 \
    -Dquarkus.grpc.server.port="$grpc_port" -Dquarkus.grpc.server.host=127.0.0.1 \
    -Dquarkus.management.port="$mgmt_port" -Dquarkus.management.host=127.0.0.1 \
    ${BENCH_SERVER_OPTS:-} -jar server/target/quarkus-app/quarkus-run.jar >"$work/server-$precision.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$mgmt_port/q/health/ready" >/dev/null 2>&1 && break
    kill -0 "$spid" 2>/dev/null || { echo "server exited:"; tail -30 "$work/server-$precision.log"; spid=""; return 1; }
    sleep 1
  done
  curl -fs "http://127.0.0.1:$mgmt_port/q/health/ready" >/dev/null || { echo "server not ready after 300 s"; tail -30 "$work/server-$precision.log"; stop_server; return 1; }

  # a tenant whose quotas do not throttle the benchmark (sets, shots, requests/s); its first key is returned once
  created=$(curl -fsS -X POST "http://127.0.0.1:$http_port/v1/admin/tenants" -H "X-API-Key: $admin_key" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench","quotas":{"maxPromptSets":100000,"maxShotsPerSet":512,"requestsPerSecond":100000}}')
  BENCH_API_KEY=$(printf '%s' "$created" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
  [ -n "$BENCH_API_KEY" ] || { echo "tenant creation answered: $created"; stop_server; return 1; }
  export BENCH_API_KEY

  echo "# === precision $precision: server pid $spid (bundle $bundle, -Xmx${BENCH_SERVER_XMX:-6g}, feature cache bound raised to 16 GiB) ${BENCH_SERVER_OPTS:-}"
  grep -h "loaded .* module from\|precision:" "$work/server-$precision.log" | sed 's/^/# server: /'
  # shellcheck disable=SC2086
  java -Xmx"${BENCH_XMX:-4g}" ${BENCH_JAVA_OPTS:-} -cp "$cp" io.inctrl.serve.bench.Bench --bundle "$bundle" --data "$data" \
    --grpc "127.0.0.1:$grpc_port" --server-pid "$spid" --management-port "$mgmt_port" --only "$which" \
    --precision "$precision" --f.shots-per-call "$max_shots" "${params[@]}" ${BENCH_ARGS:-}
  local rc=$?
  stop_server
  return $rc
}

out=/dev/null
if [ "${BENCH_NO_SAVE:-0}" != 1 ]; then
  mkdir -p bench/results
  out=bench/results/$name-$(date -u +%F).txt
  n=2; while [ -e "$out" ]; do out=bench/results/$name-$(date -u +%F)-$n.txt; n=$((n + 1)); done
fi
set +e
{
  trap stop_server EXIT  # this block is a subshell (| tee): the server it started is its own to stop
  echo "# bench/run.sh $target $which $precisions  $(date -u +%FT%TZ)  commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo '+dirty')"
  status=0
  for precision in ${precisions//,/ }; do
    run_precision "$precision" > >(tee "$work/run-$precision.txt") || status=1
    wait $! 2>/dev/null  # let tee finish before the next server starts
  done
  # the precisions of this run side by side (from each driver's PRECISION line)
  cat "$work"/run-*.txt | python3 bench/precision_table.py
  exit $status
} 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
[ "$out" != /dev/null ] && echo "# written to $out"
exit "$status"

#!/usr/bin/env bash
# Starts the server on its embedded defaults (default bundle in models/, H2 registry in ./data): REST and the console
# at http://localhost:8080 (/console), gRPC on localhost:9000, health and metrics on :9090 (management interface);
# all three listen on every interface (0.0.0.0); QUARKUS_{HTTP,GRPC_SERVER,MANAGEMENT}_{PORT,HOST} change that.
# Builds the server first if needed. Extra arguments are passed to java, e.g. -Dinctrl.model.bundle=/path/to/bundle
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jar=server/target/quarkus-app/quarkus-run.jar

# Builds the server jar, showing progress: Maven's module and plugin steps and a running count of downloaded
# artifacts (a first build fetches ~700 MB and takes minutes), not its whole output; on failure the log's tail.
build() {
  local log; log="$(mktemp "${TMPDIR:-/tmp}/inctrl-build.XXXXXX")"
  echo "== building the server: ./mvnw -B -pl server -am package -DskipTests (full log: $log)"
  [ -d "${HOME}/.m2/repository/io/quarkus" ] ||
    echo "   first build: downloads about 560 MB of Maven artifacts, then compiles; several minutes"
  # pipefail (set above): the pipeline fails when Maven does
  if ! ./mvnw -B -pl server -am package -DskipTests 2>&1 | tee "$log" | awk '
    /^\[INFO\] Building .*\[[0-9]+\/[0-9]+\]$/ { sub(/^\[INFO\] /, ""); print "   " $0; fflush(); next }
    /^\[INFO\] --- / { sub(/^\[INFO\] --- /, ""); sub(/ ---$/, ""); print "     " $0; fflush(); next }
    /^\[INFO\] Downloaded from / { n++; if (n % 50 == 0) { printf "     ... %d artifacts downloaded\n", n; fflush() } }
    /^\[ERROR\]/ { print; fflush() }'; then
    echo "build failed; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  echo "== built $jar in ${SECONDS}s"
  rm -f "$log"
}
if [ ! -f "$jar" ] || [ -n "$(find proto/src batching/src console/src server/src proto/pom.xml batching/pom.xml \
    console/pom.xml server/pom.xml pom.xml -newer "$jar" -print -quit 2>/dev/null)" ]; then
  build
fi
# Tenant management needs an admin credential: keep one per checkout (data/admin-key, mode 600) unless given.
if [ -z "${INCTRL_SECURITY_ADMIN_KEY:-}" ]; then
  mkdir -p data
  [ -s data/admin-key ] || (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > data/admin-key)
  INCTRL_SECURITY_ADMIN_KEY="$(cat data/admin-key)"
  echo "admin key (X-API-Key for /v1/admin and the console): $INCTRL_SECURITY_ADMIN_KEY  [data/admin-key]"
fi
export INCTRL_SECURITY_ADMIN_KEY
export DJL_OFFLINE=true
# libtorch's OpenMP threads sleep between ops instead of spinning (shared CPUs; numbers in bench/README.md)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$root/.djl-cache}"
exec java -XX:+ExitOnOutOfMemoryError "$@" -jar "$jar"

#!/usr/bin/env bash
# Starts the server on its embedded defaults (default bundle in models/, H2 registry in ./data): REST and the console
# at http://localhost:8080 (/console), gRPC on localhost:9000, health and metrics on :9090 (management interface);
# all three listen on every interface (0.0.0.0); QUARKUS_{HTTP,GRPC_SERVER,MANAGEMENT}_{PORT,HOST} change that.
# Builds the server first if needed. Extra arguments are passed to java, e.g. -Dinctrl.model.bundle=/path/to/bundle
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jar=server/target/quarkus-app/quarkus-run.jar
if [ ! -f "$jar" ] || [ -n "$(find proto/src server/src server/pom.xml pom.xml -newer "$jar" -print -quit 2>/dev/null)" ]; then
  ./mvnw -B -q install -DskipTests
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

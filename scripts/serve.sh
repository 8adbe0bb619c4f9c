#!/usr/bin/env bash
# Starts the server on its embedded defaults (demo bundle in models/demo) at http://localhost:8080 (gRPC + REST).
# Builds the server first if needed. Extra arguments are passed to java, e.g. -Dinctrl.model.bundle=/path/to/bundle
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jar=server/target/quarkus-app/quarkus-run.jar
if [ ! -f "$jar" ] || [ -n "$(find proto/src server/src server/pom.xml pom.xml -newer "$jar" -print -quit 2>/dev/null)" ]; then
  ./mvnw -B -q install -DskipTests
fi
export DJL_OFFLINE=true
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$root/.djl-cache}"
exec java "$@" -jar "$jar"

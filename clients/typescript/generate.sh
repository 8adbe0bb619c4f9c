#!/usr/bin/env bash
# Generates src/gen/ (TypeScript messages + @grpc/grpc-js clients) from proto/src/main/proto, the single source,
# with ts-proto (npm, pinned in package-lock.json) run by the pinned protoc (clients/tools/protoc.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
[[ -x node_modules/.bin/protoc-gen-ts_proto ]] || npm ci --ignore-scripts
rm -rf src/gen && mkdir -p src/gen
../tools/protoc.sh --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto --ts_proto_out=src/gen \
  --ts_proto_opt=outputServices=grpc-js,env=node,esModuleInterop=true,useExactTypes=false,forceLong=number,importSuffix=.js \
  inctrl/v1/scoring.proto inctrl/v1/registry.proto

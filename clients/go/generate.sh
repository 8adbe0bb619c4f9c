#!/usr/bin/env bash
# Regenerates inctrlv1/ from proto/src/main/proto (the single source). Plugins are pinned Go modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export GOBIN="$PWD/.bin"
go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
mkdir -p inctrlv1
../tools/protoc.sh \
  --plugin=protoc-gen-go="$GOBIN/protoc-gen-go" --plugin=protoc-gen-go-grpc="$GOBIN/protoc-gen-go-grpc" \
  --go_out=. --go_opt=module=github.com/inctrl-serve/inctrl-serve/clients/go \
  --go-grpc_out=. --go-grpc_opt=module=github.com/inctrl-serve/inctrl-serve/clients/go \
  inctrl/v1/scoring.proto inctrl/v1/registry.proto

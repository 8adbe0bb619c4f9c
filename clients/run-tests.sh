#!/usr/bin/env bash
# Generates the stubs from proto/src/main/proto, installs pinned dependencies and runs the four client suites.
#   clients/run-tests.sh                 # all: python typescript go java
#   clients/run-tests.sh python go       # a subset
# Live tests run when INCTRL_ADDR (and INCTRL_API_KEY) are set and FAIL if that server is unreachable;
# without INCTRL_ADDR they are skipped with a message and only the offline (fake-server) tests run.
# Exits non-zero if any suite fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
langs=("$@")
[[ ${#langs[@]} -eq 0 ]] && langs=(python typescript go java)
declare -A result

banner() { printf '\n==== %s ====\n' "$*"; }

run_python() (
  set -e
  cd "$here/python"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install -q -r requirements-dev.txt
  ./generate.sh
  .venv/bin/pip install -q --no-build-isolation --no-deps -e .   # proves the pyproject package installs
  .venv/bin/python -m pytest -rs
)

run_typescript() (
  set -e
  cd "$here/typescript"
  npm ci --ignore-scripts --no-audit --no-fund
  npm test   # generate.sh + tsc + node --test
)

run_go() (
  set -e
  cd "$here/go"
  go mod download
  ./generate.sh
  # the generated package is committed (so `go get` works); warn when it no longer matches the proto
  if ! git -C "$root" diff --quiet -- clients/go/inctrlv1; then
    echo "WARNING: clients/go/inctrlv1 differs from the proto; commit the regenerated files" >&2
  fi
  go vet ./...
  race=()
  # the stream wrapper is concurrent code: use the race detector where cgo is available
  [[ "$(go env CGO_ENABLED)" == 1 ]] && command -v gcc >/dev/null && race=(-race)
  go test -v -count=1 "${race[@]}" ./...
)

run_java() (
  set -e
  cd "$root"
  # -am builds inctrl-proto from this checkout, so the stubs come from the same .proto
  ./mvnw -B -ntp -pl clients/java -am test -Dsurefire.failIfNoSpecifiedTests=false
)

for lang in "${langs[@]}"; do
  banner "$lang"
  if declare -F "run_$lang" >/dev/null; then
    if "run_$lang"; then result[$lang]=PASS; else result[$lang]=FAIL; fi
  else
    echo "unknown suite: $lang (python|typescript|go|java)"; result[$lang]=FAIL
  fi
done

banner "summary${INCTRL_ADDR:+ (live server: $INCTRL_ADDR)}"
rc=0
for lang in "${langs[@]}"; do
  printf '%-11s %s\n' "$lang" "${result[$lang]}"
  [[ ${result[$lang]} == PASS ]] || rc=1
done
[[ -z "${INCTRL_ADDR:-}" ]] && echo "(INCTRL_ADDR unset: live tests skipped, offline tests only)"
exit $rc

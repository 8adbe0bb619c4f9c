#!/usr/bin/env bash
# Generates the stubs from proto/src/main/proto, installs pinned dependencies and runs the four client suites,
# then the publish checks: the package as a user installs it (fresh venv / npm tarball) imports and scores.
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

# Committed generated code (Python and Go stubs) must be what the proto generates now (checked against git's
# index, so freshly staged stubs pass before their commit).
check_committed() {
  local changed
  changed="$(git -C "$root" diff --name-only -- "$@"; git -C "$root" ls-files --others --exclude-standard -- "$@")"
  if [[ -n "$changed" ]]; then
    echo "$changed" >&2
    echo "FAIL: generated stubs differ from proto/src/main/proto; run the generate.sh and commit the result" >&2
    return 1
  fi
}

run_python() (
  set -e
  cd "$here/python"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install -q -r requirements-dev.txt
  ./generate.sh
  check_committed clients/python/src/inctrl
  .venv/bin/pip install -q --no-build-isolation --no-deps -e .
  .venv/bin/python -m pytest -rs
  # publish check: `pip install clients/python` into a fresh venv (a wheel built with build isolation), then
  # import it from outside the source tree and score against the fake server
  local tmp; tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  python3 -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install -q "$here/python"
  (cd "$tmp" && "$tmp/venv/bin/python" "$here/python/tests/smoke_installed.py")
)

run_typescript() (
  set -e
  cd "$here/typescript"
  npm ci --ignore-scripts --no-audit --no-fund
  npm test   # build.sh (generate.sh, tsc to dist/cjs and dist/esm) + tsc of the tests + node --test
  ./pack-check.sh   # publish check: npm pack, install into fresh ESM and CJS projects, type-check, score
)

run_go() (
  set -e
  cd "$here/go"
  go mod download
  ./generate.sh
  check_committed clients/go/inctrlv1   # committed so that `go get` works
  # a published module's go.mod must be tidy (direct requirements not marked `// indirect`)
  go mod tidy -diff || { echo "FAIL: go.mod/go.sum are not tidy; run go mod tidy in clients/go" >&2; exit 1; }
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
    # a plain call, not `if run_x`: inside an if condition bash ignores the suite's `set -e`, so only its last
    # command would count
    "run_$lang"
    if [[ $? -eq 0 ]]; then result[$lang]=PASS; else result[$lang]=FAIL; fi
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

#!/usr/bin/env bash
# Linters of every language CI builds; exits non-zero on any finding. Cheap (about a minute once the tools are
# installed), so scripts/test.sh runs it first, before the long Maven phase.
#   Python      ruff                            ruff.toml (root): tools/, clients/python, tests/system, bench,
#                                               server/src/test/python, k8s/validate
#   TypeScript  tsc --strict --noEmit + eslint   clients/typescript (eslint.config.mjs there)
#   JavaScript  eslint                           console: the browser modules and the browser tests
#   Go          go vet + staticcheck             clients/go
#   Java        Spotless (palantir-java-format)  every Maven module (also bound to `verify`)
# Versions are pinned: ruff and staticcheck below (installed from PyPI / the Go module proxy into
# $INCTRL_LINT_TOOLS_DIR, default build/tools), eslint and typescript-eslint in the package-lock.json of
# clients/typescript and console (npm ci), Spotless in the root pom.xml. Reruns reuse what is installed.
#   scripts/lint.sh                 # all
#   scripts/lint.sh python go       # a subset: python typescript console go java
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUFF_VERSION=0.17.6
STATICCHECK_VERSION=v0.8.2   # staticcheck 2026.2.2

TOOLS=${INCTRL_LINT_TOOLS_DIR:-$ROOT/build/tools}
mkdir -p "$TOOLS/bin"
TOOLS=$(cd "$TOOLS" && pwd)

langs=("$@")
[[ ${#langs[@]} -eq 0 ]] && langs=(python typescript console go java)

# npm ci unless node_modules was installed from this very package-lock.json (stamp = its sha256)
npm_ready() (
  cd "$1"
  local want; want="$(sha256sum package-lock.json | cut -c1-64)"
  if [[ "$(cat node_modules/.inctrl-lock-sha256 2>/dev/null)" != "$want" ]]; then
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.inctrl-lock-sha256
  fi
)

lint_python() (
  set -e
  local venv=$TOOLS/venv-lint
  if [[ "$("$venv/bin/ruff" --version 2>/dev/null)" != "ruff $RUFF_VERSION" ]]; then
    echo "installing ruff==$RUFF_VERSION"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "ruff==$RUFF_VERSION"
  fi
  "$venv/bin/ruff" check --no-cache tools clients/python tests/system bench server/src/test/python k8s/validate
)

lint_typescript() (
  set -e
  npm_ready clients/typescript
  cd clients/typescript
  bash generate.sh   # src/gen (git-ignored) is imported by the sources tsc checks
  node_modules/.bin/tsc -p . --noEmit --strict
  node_modules/.bin/eslint --max-warnings 0 .
)

lint_console() (
  set -e
  npm_ready console
  cd console
  node_modules/.bin/eslint --max-warnings 0 .
)

lint_go() (
  set -e
  local stamp="honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  if [[ ! -x $TOOLS/bin/staticcheck || "$(cat "$TOOLS/bin/.staticcheck.version" 2>/dev/null)" != "$stamp" ]]; then
    echo "installing $stamp"
    GOBIN=$TOOLS/bin GOFLAGS=-buildvcs=false go install "$stamp"
    echo "$stamp" > "$TOOLS/bin/.staticcheck.version"
  fi
  cd clients/go
  go vet ./...
  "$TOOLS/bin/staticcheck" ./...
)

lint_java() (
  set -e
  ./mvnw -B -ntp -q spotless:check
)

failed=()
for lang in "${langs[@]}"; do
  if ! declare -F "lint_$lang" > /dev/null; then
    echo "lint: unknown language '$lang' (python typescript console go java)" >&2
    exit 2
  fi
  echo "== lint: $lang"
  start=$SECONDS
  # a plain call, not `if lint_x`: inside an if condition bash ignores the function's `set -e`
  lint_"$lang"
  rc=$?
  if [[ $rc -ne 0 ]]; then failed+=("$lang"); fi
  echo "   $lang: $([[ $rc -eq 0 ]] && echo clean || echo "FINDINGS (exit $rc)") in $((SECONDS - start)) s"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "lint: findings in ${failed[*]}; fix them (or, where a rule is wrong for us, a per-line ignore with a reason)" >&2
  exit 1
fi
echo "lint: all clean"

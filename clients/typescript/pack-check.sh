#!/usr/bin/env bash
# Publish check: `npm pack` the built package, install the tarball into a fresh ESM project and a fresh CommonJS
# project (dependencies from the npm registry), type-check a consumer against the shipped .d.ts in each, and
# import/require it and score once against the fake server (dist/dev/test/fake.js). Run after `npm test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$here"
tgz="$tmp/$(npm pack --ignore-scripts --silent --pack-destination "$tmp" | tail -n1)"
listing="$(tar -tzf "$tgz")"
for f in dist/esm/index.js dist/esm/index.d.ts dist/esm/package.json dist/cjs/index.js dist/cjs/index.d.ts; do
  grep -qx "package/$f" <<<"$listing" || { echo "tarball lacks $f" >&2; exit 1; }
done
if grep -qE '^package/(src|test|dist/dev)/' <<<"$listing"; then echo "tarball ships sources or tests" >&2; exit 1; fi
export INCTRL_FAKE="$here/dist/dev/test/fake.js"
for format in esm cjs; do
  app="$tmp/$format"
  mkdir -p "$app"
  type=module; [[ $format == cjs ]] && type=commonjs
  printf '{ "name": "smoke-%s", "private": true, "type": "%s" }\n' "$format" "$type" > "$app/package.json"
  (cd "$app" && npm install --no-audit --no-fund --silent "$tgz")
  cp "$here/test/pack/smoke.js" "$app/smoke.cjs"
  cp "$here/test/pack/types-check.ts" "$app/types-check.ts"
  if [[ $format == esm ]]; then
    printf '%s\n' 'import * as lib from "@inctrl/client";' 'import smoke from "./smoke.cjs";' \
      'await smoke(lib, import.meta.resolve("@inctrl/client"), "esm");' > "$app/main.js"
  else
    printf '%s\n' 'const smoke = require("./smoke.cjs");' \
      'smoke(require("@inctrl/client"), require.resolve("@inctrl/client"), "cjs").catch((e) => { console.error(e); process.exit(1); });' \
      > "$app/main.js"
  fi
  (cd "$app" && "$here/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck --module nodenext --moduleResolution nodenext \
    --target es2022 --types node --typeRoots "$here/node_modules/@types" types-check.ts)
  (cd "$app" && node main.js)
done

#!/usr/bin/env bash
# Builds the published package: dist/cjs (CommonJS, for require) and dist/esm (ES modules, for import), each with
# its .d.ts; a package.json in each folder tells Node (and TypeScript) which module format the .js/.d.ts there are.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash generate.sh
rm -rf dist/cjs dist/esm
node_modules/.bin/tsc -p tsconfig.cjs.json
node_modules/.bin/tsc -p tsconfig.esm.json
echo '{ "type": "commonjs" }' > dist/cjs/package.json
echo '{ "type": "module" }' > dist/esm/package.json

#!/usr/bin/env bash
# The project's test command (README: `npm test`): installs what the tests need, builds dist/, type-checks,
# checks the layering, then runs every test file with Node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-test-deps.sh
# The CLI tests run ./bin/easd, which runs the build in dist/: built from the sources under test.
node scripts/build.mjs
npx tsc --noEmit -p .
# The folders of src/ form layers that import one way, with no cycle (docs/ARCHITECTURE.md "Layers").
node --import tsx scripts/check-layers.ts
# Node 20's runner does not expand quoted globs, so the files are listed here.
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 "$@" "${files[@]}"

#!/usr/bin/env bash
# The UI's own checks: the API types generated from docs/openapi.json (itself generated from
# the agent's response types and drift-tested by `cargo test`) are what is committed, then
# type-check, Vitest, and a rebuild compared byte for byte with the committed bundle in
# ui/dist (which rust-embed puts in the binary, so `cargo build` needs no Node.js). A
# difference means ui/ sources changed without `npm run build`: rebuild and commit.
set -euo pipefail
cd "$(dirname "$0")/../ui"
[ -d node_modules ] || npm ci --no-audit --no-fund
types=$(mktemp --suffix=.ts)
npx openapi-typescript ../docs/openapi.json -o "$types" >/dev/null
if ! diff -u src/api-types.ts "$types"; then
  rm -f "$types"
  echo "ui/src/api-types.ts is out of date with docs/openapi.json: run 'npm run generate-types' in ui/ and commit it" >&2
  exit 1
fi
rm -f "$types"
npx tsc --noEmit
npx vitest run
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
npx vite build --outDir "$fresh" --emptyOutDir >/dev/null
if ! diff -r "$fresh" dist; then
  echo "ui/dist is out of date with ui/src: run 'npm run build' in ui/ and commit ui/dist" >&2
  exit 1
fi
echo "ui/dist matches a fresh build of ui/src"

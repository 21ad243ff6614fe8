#!/usr/bin/env bash
# The UI's own checks: type-check, Vitest, and a rebuild compared byte for byte with the
# committed bundle in ui/dist (which rust-embed puts in the binary, so `cargo build` needs no
# Node.js). A difference means ui/ sources changed without `npm run build`: rebuild and commit.
set -euo pipefail
cd "$(dirname "$0")/../ui"
[ -d node_modules ] || npm ci --no-audit --no-fund
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

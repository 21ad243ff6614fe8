#!/usr/bin/env bash
# The whole test suite: formatting, lints, promtool, the UI's checks, the operations files
# (hadolint, docker-compose config), unit tests, then the integration tests against real
# throwaway PostgreSQL clusters (started by the tests themselves, promtool on /metrics) for
# every supported major version: Debian's packaged version first, then each other of 12-18
# (binaries from scripts/pg-provision.sh). PGMON_TEST_VERSIONS="15 18" narrows the matrix.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
promtool check rules docs/prometheus/pgmon-rules.yaml
(cd docs/prometheus && promtool test rules pgmon-rules.test.yaml)
./scripts/ui-check.sh
./scripts/lint-ops.sh
threads=${PGMON_TEST_THREADS:-4}
cargo test --locked --all-targets -- --test-threads="$threads"

debian_major=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
versions=${PGMON_TEST_VERSIONS:-12 13 14 15 16 17 18}
summary=()
for major in $versions; do
  [ "$major" = "$debian_major" ] && { summary+=("PostgreSQL $major: covered above"); continue; }
  bindir=$(./scripts/pg-provision.sh "$major")
  echo "== integration tests on PostgreSQL $major ($bindir)"
  start=$(date +%s)
  # The browser suite (tests/ui.rs) runs once, above: the panels read the same API on every version.
  PGMON_TEST_PG_BINDIR=$bindir cargo test --locked --tests --no-fail-fast -- --test-threads="$threads" \
    --skip every_panel_renders_seeded_data_in_chromium
  summary+=("PostgreSQL $major: passed in $(( $(date +%s) - start ))s")
done
# The Dockerfile's build step, as the image runs it (the release profile with LTO).
cargo build --release --locked
summary+=("release build: $(./target/release/pgmon --version)")
printf '%s\n' "${summary[@]}"

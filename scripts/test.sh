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
debian_major=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
summary=()
failed=0
# Each version's run is recorded whatever its outcome, and the summary is printed even when a
# run fails, so a failure always names the PostgreSQL version it ran on.
run_suite() {
  local label=$1; shift
  local start
  start=$(date +%s)
  echo "== $label"
  if "$@"; then
    summary+=("$label: passed in $(( $(date +%s) - start ))s")
  else
    summary+=("$label: FAILED after $(( $(date +%s) - start ))s")
    failed=1
  fi
}
report() {
  echo "== summary"
  printf '%s\n' "${summary[@]}"
}
trap report EXIT

run_suite "PostgreSQL $debian_major (Debian package): unit, integration, UI end to end" \
  cargo test --locked --all-targets -- --test-threads="$threads"

versions=${PGMON_TEST_VERSIONS:-12 13 14 15 16 17 18}
for major in $versions; do
  [ "$major" = "$debian_major" ] && continue
  if ! bindir=$(./scripts/pg-provision.sh "$major"); then
    summary+=("PostgreSQL $major: FAILED to provision the binaries")
    failed=1
    continue
  fi
  # Tests that do not depend on the server's version run once, above: the browser suite (the
  # panels read the same API on every version) and the HTTP floods (they test the listener).
  run_suite "PostgreSQL $major ($bindir): integration" \
    env PGMON_TEST_PG_BINDIR="$bindir" cargo test --locked --tests --no-fail-fast -- --test-threads="$threads" \
    --skip every_panel_renders_seeded_data_in_chromium \
    --skip repeated_idle_connection_floods_leave_rss_bounded_and_metrics_available \
    --skip idle_connection_flood_at_the_open_file_limit_neither_spins_nor_stops_the_agent \
    --skip api_flood_causes_no_loop_overrun_or_error
done
# The Dockerfile's build step, as the image runs it (the release profile with LTO).
run_suite "release build" cargo build --release --locked
[ "$failed" = 0 ] && summary+=("release: $(./target/release/pgmon --version)")
exit "$failed"

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

# The other versions run only what can differ between them: the integration test binaries that
# start a PostgreSQL (tests/*.rs naming TestPostgres), without the unit tests and without the
# tests whose subject does not depend on the server's version. Those ran above, once: the CLI,
# docs and config checks; supervision (a stub job on a live connection); the HTTP listener's
# TLS, auth and floods; the UI bundle and the browser suite (the panels read the same API on
# every version); the anonymous /healthz; the rules subcommand and bad-input checks.
version_independent_binaries=(supervision ui flood health_disclosure)
version_independent_tests=(
  api_flood_causes_no_loop_overrun_or_error
  https_listener_serves_the_test_certificate_and_healthcheck_speaks_tls
  auth_scopes_refuse_missing_and_wrong_credentials_and_accept_the_right_ones
  auth_password_from_the_environment_is_taken_verbatim
  bad_http_tls_files_are_bad_input_naming_key_and_file
  missing_password_file_is_bad_input_naming_key_and_file
  unreadable_sslrootcert_is_bad_input_naming_it
  check_config_without_a_dsn_is_bad_input
  check_config_names_an_unreadable_certificate_file
  rules_follow_the_configured_thresholds_and_pass_promtool
)
per_version_args=()
for file in $(grep -l TestPostgres tests/*.rs); do
  name=$(basename "$file" .rs)
  [[ " ${version_independent_binaries[*]} " == *" $name "* ]] && continue
  per_version_args+=(--test "$name")
done
skips=()
for t in "${version_independent_tests[@]}"; do skips+=(--skip "$t"); done

versions=${PGMON_TEST_VERSIONS:-12 13 14 15 16 17 18}
for major in $versions; do
  [ "$major" = "$debian_major" ] && continue
  if ! bindir=$(./scripts/pg-provision.sh "$major"); then
    summary+=("PostgreSQL $major: FAILED to provision the binaries")
    failed=1
    continue
  fi
  run_suite "PostgreSQL $major ($bindir): integration" \
    env PGMON_TEST_PG_BINDIR="$bindir" cargo test --locked --no-fail-fast "${per_version_args[@]}" -- \
    --test-threads="$threads" --exact "${skips[@]}"
done
# The Dockerfile's build step, as the image runs it (the release profile with LTO).
run_suite "release build" cargo build --release --locked
[ "$failed" = 0 ] && summary+=("release: $(./target/release/pgmon --version)")
exit "$failed"

#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and integration tests against real
# throwaway PostgreSQL clusters (started by the tests themselves), promtool on /metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --all-targets -- --test-threads="${PGMON_TEST_THREADS:-4}"

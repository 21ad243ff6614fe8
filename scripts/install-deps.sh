#!/usr/bin/env bash
# Installs what pgmon's tests need on Debian/Ubuntu: PostgreSQL with contrib
# (pg_stat_statements, pgstattuple, pg_freespacemap), pgbench, promtool (package prometheus),
# Chromium and Node.js for the UI tests, and the UI's npm packages (npm ci in ui/). With
# --demo, only what the demo needs: PostgreSQL with contrib (the UI bundle is committed, so the
# demo needs no Node.js). Skips what is present.
set -euo pipefail

demo=false
[ "${1:-}" = "--demo" ] && demo=true

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
ls /usr/share/postgresql/*/extension/pg_stat_statements.control >/dev/null 2>&1 || missing+=(postgresql-contrib)
if ! $demo; then
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
fi
install_ui_packages() {
  $demo && return 0
  # The lockfile pins every package; node_modules is rebuilt only when it is missing.
  local ui
  ui="$(dirname "$0")/../ui"
  [ -d "$ui/node_modules" ] || (cd "$ui" && npm ci --no-audit --no-fund)
}
if [ ${#missing[@]} -eq 0 ]; then
  install_ui_packages
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a cluster of its own on install; pgmon's tests and demo run their own.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do $sudo pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done
fi
install_ui_packages

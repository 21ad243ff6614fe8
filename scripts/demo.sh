#!/usr/bin/env bash
# Brings pgmon up against a throwaway local PostgreSQL with live data: a pgbench workload, an
# idle-in-transaction session holding a lock and a session blocked behind it. The agent serves
# http://127.0.0.1:8181 (/healthz, /metrics, /api/v1/overview, /). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --release

port=${PGMON_DEMO_PG_PORT:-55432}
bind=${PGMON_DEMO_BIND:-127.0.0.1:8181}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/pgmon-demo.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  trap - EXIT INT TERM
  exec 3>&- 2>/dev/null || true
  # Every client started here names $dir (its socket directory) on its command line.
  pkill -f -- "-h $dir" 2>/dev/null || true
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_stat_statements'
track_io_timing = on
pg_stat_statements.track = 'all'
CONF
"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
psql=("${as_pg[@]}" "$bindir/psql" -X -q -h "$dir" -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE demo"
"${psql[@]}" -d demo -c "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pgstattuple;
  CREATE ROLE pgmon_monitor LOGIN PASSWORD 'demo'; GRANT pg_monitor TO pgmon_monitor;
  REVOKE CREATE ON SCHEMA public FROM PUBLIC; CREATE TABLE demo_lock (id int);"
"${as_pg[@]}" "$bindir/pgbench" -q -i -s 2 -h "$dir" -p "$port" -U postgres demo >/dev/null 2>&1

# Live data: a rate-limited pgbench, a lock held idle in transaction, a session blocked on it.
"${as_pg[@]}" "$bindir/pgbench" -n -c 2 -R 20 -T 86400 -h "$dir" -p "$port" -U postgres demo >/dev/null 2>&1 &
# The lock holder reads its SQL from a fifo this script keeps open: it stays idle in
# transaction until the script exits.
mkfifo "$dir/holder"
"${psql[@]}" -d demo <"$dir/holder" >/dev/null 2>&1 &
exec 3>"$dir/holder"
echo "BEGIN; LOCK TABLE demo_lock IN EXCLUSIVE MODE;" >&3
sleep 1
"${psql[@]}" -d demo -c "SELECT * FROM demo_lock FOR UPDATE" >/dev/null 2>&1 &

echo "PostgreSQL $("${psql[@]}" -d demo -A -t -c 'SHOW server_version') on 127.0.0.1:$port; pgmon on http://$bind" >&2
PGMON_DSN="postgres://pgmon_monitor:demo@127.0.0.1:$port/demo" \
PGMON_CLUSTER=demo PGMON_HTTP__BIND="$bind" PGMON_LOG__FORMAT=pretty \
  ./target/release/pgmon --config config.pgmon.sample.yaml

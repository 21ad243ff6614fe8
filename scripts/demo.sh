#!/usr/bin/env bash
# Brings pgmon up against a throwaway local PostgreSQL with live data: a pgbench workload, an
# idle-in-transaction session holding a lock and a session blocked behind it, a daily-partitioned
# table that runs out tomorrow, an unused index, a table 90 % empty after VACUUM (bloat the
# free-space map sees). The agent serves http://127.0.0.1:8181 (/healthz, /metrics,
# /api/v1/overview, /). Ctrl-C stops everything.
#
# PGMON_DEMO_PG_PORT (55432) and PGMON_DEMO_BIND (127.0.0.1:8181) move the two ports.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --demo
# The first build compiles every dependency: about 2½ minutes on 2 cores, 613 MB under target/.
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
  CREATE EXTENSION pg_freespacemap;
  CREATE ROLE pgmon_monitor LOGIN PASSWORD 'demo'; GRANT pg_monitor TO pgmon_monitor;
  REVOKE CREATE ON SCHEMA public FROM PUBLIC; CREATE TABLE demo_lock (id int);"
"${as_pg[@]}" "$bindir/pgbench" -q -i -s 2 -h "$dir" -p "$port" -U postgres demo >/dev/null 2>&1
# What a DBA should see: daily partitions that run out tomorrow, an index nothing uses, and a
# table whose pages VACUUM left 90 % empty (one statement per call: VACUUM needs its own).
"${psql[@]}" -d demo -c "CREATE TABLE events (at date NOT NULL, payload text) PARTITION BY RANGE (at);
  DO \$\$ BEGIN FOR i IN -2..1 LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                   'events_' || to_char(current_date + i, 'YYYYMMDD'), current_date + i, current_date + i + 1);
  END LOOP; END \$\$;
  INSERT INTO events SELECT current_date - 2 + (g % 4), md5(g::text) FROM generate_series(1, 20000) g;
  CREATE INDEX pgbench_accounts_filler_idx ON pgbench_accounts (filler);
  CREATE TABLE audit_log (id int PRIMARY KEY, payload text);
  INSERT INTO audit_log SELECT g, rpad(md5(g::text), 200, 'x') FROM generate_series(1, 100000) g;
  DELETE FROM audit_log WHERE id % 10 <> 0;"
"${psql[@]}" -d demo -c "VACUUM ANALYZE audit_log"

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
# The database is throwaway: statement text is shown (security.redact_sql_text off), the
# unused-index threshold fits its size, and the storage and hourly loops run every minute and
# every five, so their panels follow the workload instead of showing the agent's first minute.
PGMON_DSN="postgres://pgmon_monitor:demo@127.0.0.1:$port/demo" \
PGMON_CLUSTER=demo PGMON_HTTP__BIND="$bind" PGMON_LOG__FORMAT=pretty \
PGMON_SECURITY__REDACT_SQL_TEXT=false PGMON_LIMITS__UNUSED_INDEX_MIN_BYTES=1048576 \
PGMON_SAMPLE_INTERVALS__STORAGE=1m PGMON_SAMPLE_INTERVALS__HOURLY=5m \
  ./target/release/pgmon --config config.pgmon.sample.yaml

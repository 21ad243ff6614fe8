#!/usr/bin/env bash
# pgmon benchmark on a large catalog, side by side with postgres_exporter when it is installed.
#   bench/run.sh quick   # 1/10 scale: 1,000 tables, 100 partitions, 500 statements, 50 sessions (~5 min)
#   bench/run.sh full    # 10,000 tables, 1,000 partitions, 5,000 statements, 500 sessions (~20 min)
#   bench/run.sh huge    # 33,000 tables and 1,000 partitions: 100k relations with their indexes (~25 min)
#   bench/run.sh soak    # the full catalog, the agent at its default intervals for an hour (BENCH_SECONDS)
# Builds the release binary, creates a throwaway PostgreSQL with that catalog and a pgbench
# workload running throughout, then runs bench/measure.py, which prints a table and writes
# bench/out/<scale>-<time>.json. Everything listens on 127.0.0.1 and is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-quick}
case $scale in
  quick) tables=1000 parts=100 statements=500 sessions=50 duration=${BENCH_SECONDS:-180} ;;
  full) tables=10000 parts=1000 statements=5000 sessions=500 duration=${BENCH_SECONDS:-600} ;;
  huge) tables=33000 parts=1000 statements=5000 sessions=500 duration=${BENCH_SECONDS:-600} ;;
  soak) tables=10000 parts=1000 statements=5000 sessions=500 duration=${BENCH_SECONDS:-3600} ;;
  *) echo "usage: $0 quick|full|huge|soak" >&2; exit 2 ;;
esac

./scripts/install-deps.sh
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v prometheus-postgres-exporter >/dev/null || need+=(prometheus-postgres-exporter)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" != 0 ] && sudo=sudo
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || echo "could not install ${need[*]}: measuring without them" >&2
  # Debian starts the exporter as a service; the bench runs its own.
  $sudo systemctl stop prometheus-postgres-exporter 2>/dev/null || pkill -f '^/usr/bin/prometheus-postgres-exporter' 2>/dev/null || true
fi
cargo build --release --locked
soak=""; [ "$scale" = soak ] && soak=1

port=${BENCH_PG_PORT:-56543}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/pgmon-bench.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as_pg=(runuser -u postgres --); fi
cleanup() {
  trap - EXIT INT TERM
  exec 3>&- 2>/dev/null || true
  pkill -f -- "-h $dir" 2>/dev/null || true
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

echo "== PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') in $dir: $tables tables, $parts partitions, $statements statements, $sessions sessions" >&2
"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 20000
pg_stat_statements.track = 'all'
track_io_timing = on
max_connections = $((sessions + 100))
max_locks_per_transaction = 256
fsync = off
synchronous_commit = off
CONF
"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
psql=("${as_pg[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE bench"
"${psql[@]}" -d bench -c "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pgstattuple;
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;
  CREATE ROLE pgmon_bench LOGIN PASSWORD 'bench'; GRANT pg_monitor TO pgmon_bench;
  CREATE ROLE exporter_bench LOGIN PASSWORD 'bench'; GRANT pg_monitor TO exporter_bench;"

start=$(date +%s)
for ((from = 1; from <= tables; from += 500)); do
  to=$((from + 499 < tables ? from + 499 : tables))
  "${psql[@]}" -d bench -c "DO \$\$ BEGIN FOR i IN $from..$to LOOP
      EXECUTE format('CREATE TABLE t_%s (id int PRIMARY KEY, v text, n int)', i);
      EXECUTE format('CREATE INDEX t_%s_n ON t_%s (n)', i, i);
      EXECUTE format('INSERT INTO t_%s SELECT g, md5(g::text), g %% 7 FROM generate_series(1, 20) g', i);
    END LOOP; END \$\$;"
done
"${psql[@]}" -d bench -c "CREATE TABLE events (at date NOT NULL, v int) PARTITION BY RANGE (at)"
for ((from = 0; from < parts; from += 250)); do
  to=$((from + 249 < parts - 1 ? from + 249 : parts - 1))
  "${psql[@]}" -d bench -c "DO \$\$ DECLARE d date; BEGIN FOR i IN $from..$to LOOP d := current_date - $parts + 30 + i;
      EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', 'events_' || to_char(d, 'YYYYMMDD'), d, d + 1);
    END LOOP; END \$\$;"
done
# Building the catalog left tens of thousands of one-off DDL entries: start from the
# statements the bench claims (pg_stat_statements.max is 20,000).
"${psql[@]}" -d bench -c "SELECT pg_stat_statements_reset()" >/dev/null
"${psql[@]}" -d bench -c "DO \$\$ DECLARE r int; BEGIN FOR i IN 1..$statements LOOP
    EXECUTE format('SELECT count(*) FROM t_%s WHERE n = 3', ((i - 1) % $tables) + 1) INTO r;
  END LOOP; END \$\$;"
"${as_pg[@]}" "$bindir/pgbench" -q -i -s 5 -h "$dir" -p "$port" -U postgres bench >/dev/null 2>&1
echo "== catalog built in $(( $(date +%s) - start ))s" >&2

# Load throughout: pgbench traffic, mostly-idle sessions, idle-in-transaction holders and
# sessions blocked behind one of them.
run_for=$((duration + 600))
"${as_pg[@]}" "$bindir/pgbench" -n -c 4 -j 2 -R 50 -T "$run_for" -h "$dir" -p "$port" -U postgres bench >/dev/null 2>&1 &
printf 'SELECT 1;\n' > "$dir/idle.sql"; chmod a+r "$dir/idle.sql"
idle=$((sessions - 20 > 1 ? sessions - 20 : 1))
"${as_pg[@]}" "$bindir/pgbench" -n -c "$idle" -j 4 -R 5 -T "$run_for" -f "$dir/idle.sql" -h "$dir" -p "$port" -U postgres bench >/dev/null 2>&1 &
mkfifo "$dir/holders"
"${psql[@]}" -d bench -c "CREATE TABLE lock_me (id int)"
for i in $(seq 1 10); do
  (echo "BEGIN; SELECT count(*) FROM t_$i;"; [ "$i" = 1 ] && echo "LOCK TABLE lock_me IN EXCLUSIVE MODE;"; sleep "$run_for") | "${psql[@]}" -d bench >/dev/null 2>&1 &
done
sleep 2
for i in $(seq 1 9); do "${psql[@]}" -d bench -c "SELECT * FROM lock_me FOR UPDATE" >/dev/null 2>&1 & done

python3 bench/measure.py --scale "$scale" --duration "$duration" ${soak:+--soak} --port "$port" --socket-dir "$dir" \
  --psql "$bindir/psql" ${as_pg:+--as-postgres} \
  --tables "$tables" --partitions "$parts" --statements "$statements" --sessions "$sessions"

//! Every metric pgmon exports, described once: name, type, unit, help and labels. The
//! recorders are described from this list, and tests check every emitted family is here.

use metrics::Unit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Base name; `pg_*` and `alerts_total` families get `metrics.prefix` prepended.
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Option<Unit>,
    pub help: &'static str,
    /// Labels besides `cluster` (always present).
    pub labels: &'static [&'static str],
    /// PostgreSQL view the value comes from, or "agent".
    pub source: &'static str,
}

impl MetricDef {
    /// Whether `metrics.prefix` applies (data families, not the agent's own `pgmon_*`).
    pub fn prefixed(&self) -> bool {
        !self.name.starts_with("pgmon_")
    }

    pub fn full_name(&self, prefix: &str) -> String {
        if self.prefixed() {
            format!("{prefix}{}", self.name)
        } else {
            self.name.to_string()
        }
    }
}

const fn def(
    name: &'static str,
    kind: Kind,
    unit: Option<Unit>,
    labels: &'static [&'static str],
    source: &'static str,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        unit,
        help,
        labels,
        source,
    }
}

use Kind::*;

pub const CATALOG: &[MetricDef] = &[
    // Hot path (15 s).
    def(
        "pg_connections",
        Gauge,
        Some(Unit::Count),
        &["db"],
        "pg_stat_activity",
        "Client backend connections.",
    ),
    def(
        "pg_max_connections",
        Gauge,
        Some(Unit::Count),
        &["db"],
        "pg_settings",
        "The max_connections setting.",
    ),
    def(
        "pg_idle_in_transaction_sessions",
        Gauge,
        Some(Unit::Count),
        &["db"],
        "pg_stat_activity",
        "Client sessions idle in a transaction.",
    ),
    def(
        "pg_longest_transaction_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "pg_stat_activity",
        "Age of the oldest open client transaction (0 when none).",
    ),
    def(
        "pg_longest_idle_in_transaction_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "pg_stat_activity",
        "How long the longest idle-in-transaction session has been idle (0 when none).",
    ),
    def(
        "pg_lock_waiting_sessions",
        Gauge,
        Some(Unit::Count),
        &["db"],
        "pg_stat_activity",
        "Sessions waiting on a heavyweight lock right now.",
    ),
    def(
        "pg_blocked_sessions_total",
        Counter,
        Some(Unit::Count),
        &["db"],
        "pg_stat_activity",
        "Lock waits seen starting since the agent started (each wait episode counted once).",
    ),
    def(
        "pg_longest_blocked_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "pg_locks",
        "The longest current lock wait (0 when nobody waits).",
    ),
    def(
        "pg_autovacuum_jobs",
        Gauge,
        Some(Unit::Count),
        &["db", "phase"],
        "pg_stat_progress_vacuum",
        "Autovacuum workers in progress, by phase.",
    ),
    def(
        "pg_temp_bytes_total",
        Counter,
        Some(Unit::Bytes),
        &["db"],
        "pg_stat_database",
        "Bytes written to temp files by queries in this database (PostgreSQL's counter).",
    ),
    def(
        "pg_temp_files_total",
        Counter,
        Some(Unit::Count),
        &["db"],
        "pg_stat_database",
        "Temp files created by queries in this database (PostgreSQL's counter).",
    ),
    def(
        "pg_temp_bytes_written_per_second",
        Gauge,
        None,
        &["db"],
        "pg_stat_database",
        "Temp bytes written per second since the previous hot-path tick.",
    ),
    def(
        "pgmon_canary_latency_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "SELECT 1",
        "Round trip of SELECT 1 from the agent, each hot-path tick.",
    ),
    def(
        "pgmon_canary_explain_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "EXPLAIN ANALYZE",
        "Execution time of the configured canary.explain_query.",
    ),
    // Workload (60 s).
    def(
        "pg_tps",
        Gauge,
        None,
        &["db"],
        "pg_stat_database",
        "Transactions (commits + rollbacks) per second over the workload interval, all databases.",
    ),
    def(
        "pg_qps",
        Gauge,
        None,
        &["db"],
        "pg_stat_statements",
        "Statements executed per second over the workload interval.",
    ),
    def(
        "pg_query_latency_seconds_mean",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "pg_stat_statements",
        "Calls-weighted mean statement execution time over the workload interval.",
    ),
    def(
        "pg_query_latency_seconds_p95",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "pg_stat_monitor",
        "95th percentile statement latency from pg_stat_monitor's histogram (absent without it).",
    ),
    def(
        "pg_query_latency_seconds_p99",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "pg_stat_monitor",
        "99th percentile statement latency from pg_stat_monitor's histogram (absent without it).",
    ),
    def(
        "pg_stmt_calls_total",
        Counter,
        Some(Unit::Count),
        &["db", "queryid"],
        "pg_stat_statements",
        "Calls of a Top-N statement (by time, calls or blocks read).",
    ),
    def(
        "pg_stmt_time_seconds_total",
        Counter,
        Some(Unit::Seconds),
        &["db", "queryid"],
        "pg_stat_statements",
        "Planning plus execution time of a Top-N statement.",
    ),
    def(
        "pg_stmt_shared_blks_read_total",
        Counter,
        Some(Unit::Count),
        &["db", "queryid"],
        "pg_stat_statements",
        "Shared blocks read from outside shared buffers by a Top-N statement.",
    ),
    def(
        "pg_wal_bytes_written_total",
        Counter,
        Some(Unit::Bytes),
        &["db"],
        "pg_stat_wal / pg_current_wal_lsn()",
        "WAL bytes generated (pg_stat_wal on 14+, the WAL position before).",
    ),
    def(
        "pg_wal_bytes_written_per_second",
        Gauge,
        None,
        &["db"],
        "pg_stat_wal / pg_current_wal_lsn()",
        "WAL bytes generated per second over the workload interval.",
    ),
    def(
        "pg_checkpoints_timed_total",
        Counter,
        Some(Unit::Count),
        &["db"],
        "pg_stat_bgwriter / pg_stat_checkpointer",
        "Scheduled checkpoints.",
    ),
    def(
        "pg_checkpoints_requested_total",
        Counter,
        Some(Unit::Count),
        &["db"],
        "pg_stat_bgwriter / pg_stat_checkpointer",
        "Requested (forced) checkpoints.",
    ),
    def(
        "pg_database_deadlocks_total",
        Counter,
        Some(Unit::Count),
        &["db", "database"],
        "pg_stat_database",
        "Deadlocks detected in each database since its statistics reset (each one killed a transaction).",
    ),
    def(
        "pg_database_conflicts_total",
        Counter,
        Some(Unit::Count),
        &["db", "database"],
        "pg_stat_database",
        "Queries a standby cancelled in each database to keep replaying (recovery conflicts), since the reset.",
    ),
    def(
        "pg_checkpoints_requested_ratio",
        Gauge,
        None,
        &["db"],
        "pg_stat_bgwriter / pg_stat_checkpointer",
        "Requested / (timed + requested) checkpoints over the last hour (since stats reset while younger).",
    ),
    def(
        "pg_checkpoints_mean_interval_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db"],
        "pg_stat_bgwriter / pg_stat_checkpointer",
        "Mean time between checkpoints over the last hour (since stats reset while younger).",
    ),
    def(
        "pg_replication_lag_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db", "replica"],
        "pg_stat_replication / pg_last_xact_replay_timestamp()",
        "Replay lag of a replica (replica=\"self\" on a standby: its own lag; 0 when caught up).",
    ),
    def(
        "pg_replication_lag_bytes",
        Gauge,
        Some(Unit::Bytes),
        &["db", "replica"],
        "pg_stat_replication / pg_last_wal_receive_lsn()",
        "WAL bytes sent but not replayed by a replica (on a standby: received but not replayed).",
    ),
    def(
        "pg_table_dead_tuples",
        Gauge,
        Some(Unit::Count),
        &["db", "relation"],
        "pg_stat_user_tables",
        "Dead tuples of a Top-N table by dead tuples.",
    ),
    def(
        "pg_table_pct_dead",
        Gauge,
        None,
        &["db", "relation"],
        "pg_stat_user_tables",
        "Dead tuples as a percentage of live + dead.",
    ),
    def(
        "pg_table_last_autovacuum_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db", "relation"],
        "pg_stat_user_tables",
        "Seconds since the table was last autovacuumed (absent if never).",
    ),
    def(
        "pg_table_last_autoanalyze_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db", "relation"],
        "pg_stat_user_tables",
        "Seconds since the table was last autoanalyzed (absent if never).",
    ),
    // Storage (10 min).
    def("pg_relation_size_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_total_relation_size()", "Total bytes of a Top-N relation (heap, indexes, TOAST)."),
    def("pg_relation_table_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_table_size()", "Heap bytes (with free space and visibility maps) of a Top-N relation."),
    def("pg_relation_index_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_indexes_size()", "Bytes of all indexes of a Top-N relation."),
    def("pg_relation_toast_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_total_relation_size(reltoastrelid)", "TOAST bytes of a Top-N relation."),
    def("pg_relation_bloat_estimated_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_stat_user_tables", "Bloat estimate of a Top-N table: free-space map free bytes plus heap bytes x dead / (live + dead), at most the heap; dead tuples only without pg_freespacemap (see bloat_estimate_basis in the API)."),
    def("pg_relation_fsm_free_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_freespace()", "Free bytes the free-space map records in a Top-N table's heap (what VACUUM found reusable); needs pg_freespacemap."),
    def("pg_relation_fsm_free_ratio", Gauge, None, &["db", "relation", "relkind"], "pg_freespace()", "Free-space map free bytes over heap bytes (0-1) of a Top-N table; needs pg_freespacemap."),
    def("pg_index_scans_total", Counter, Some(Unit::Count), &["db", "relation", "index"], "pg_stat_user_indexes", "Index scans of a Top-N index by size."),
    def("pg_unused_index_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "index"], "pg_stat_user_indexes", "Bytes of an index never scanned since stats reset (not backing a constraint, at least limits.unused_index_min_bytes)."),
    def("pg_partition_missing_future", Gauge, None, &["db", "parent"], "pg_partitioned_table", "1 when the newest partition ends within limits.partition_horizon_days, else 0."),
    def("pg_partition_future_gap_seconds", Gauge, Some(Unit::Seconds), &["db", "parent"], "pg_partitioned_table", "Newest partition upper bound minus now (negative when already past)."),
    // Hourly.
    def("pg_wraparound_database_tx_age", Gauge, Some(Unit::Count), &["db", "database"], "pg_database", "age(datfrozenxid): transactions since the database was last fully frozen (limit 2^31)."),
    def("pg_wraparound_relation_tx_age", Gauge, Some(Unit::Count), &["db", "relation"], "pg_class", "age(relfrozenxid) of the worst relations."),
    def("pg_table_stats_stale_seconds", Gauge, Some(Unit::Seconds), &["db", "relation"], "pg_stat_user_tables", "Seconds since the last (auto)analyze of the Top-N stalest modified tables, stale or not (no analyze recorded: since first seen modified, a lower bound)."),
    def("pg_relation_bloat_sample_free_bytes", Gauge, Some(Unit::Bytes), &["db", "relation"], "pgstattuple_approx()", "Free bytes found by pgstattuple_approx in a Top-N table."),
    def("pg_relation_bloat_sample_free_percent", Gauge, None, &["db", "relation"], "pgstattuple_approx()", "Free space percentage found by pgstattuple_approx in a Top-N table."),
    def("pg_index_bloat_sample_leaf_density_percent", Gauge, None, &["db", "relation", "index"], "pgstatindex()", "Average leaf page density (percent, about 90 fresh) of a Top-N B-tree index, sampled hourly by pgstatindex."),
    def("pg_index_bloat_sample_leaf_fragmentation_percent", Gauge, None, &["db", "relation", "index"], "pgstatindex()", "Leaf pages out of physical order (percent) of a Top-N B-tree index, sampled hourly by pgstatindex."),
    // Alerts.
    def("alerts_total", Counter, Some(Unit::Count), &["kind", "severity"], "agent", "Alerts that started firing (or escalated), by kind and severity."),
    def("pg_dead_tuple_backlog_alert", Gauge, None, &["db", "relation", "severity"], "pg_stat_user_tables", "A firing dead-tuple backlog alert: 1 = warn, 2 = crit."),
    def("pgmon_alerts_firing", Gauge, Some(Unit::Count), &["kind", "severity"], "agent", "Alerts firing now, by kind and severity."),
    def("pgmon_notifications_sent_total", Counter, Some(Unit::Count), &[], "agent", "Alert notifications delivered to webhooks."),
    def("pgmon_notifications_failed_total", Counter, Some(Unit::Count), &[], "agent", "Alert notifications dropped (queue full) or failed after every retry."),
    // The agent itself.
    def(
        "pgmon_scrape_duration_seconds",
        Histogram,
        Some(Unit::Seconds),
        &["db", "loop"],
        "agent",
        "Wall time of each loop run.",
    ),
    def(
        "pgmon_last_scrape_success",
        Gauge,
        None,
        &["db", "loop"],
        "agent",
        "1 when the loop's last run produced every section, else 0.",
    ),
    def(
        "pgmon_errors_total",
        Counter,
        Some(Unit::Count),
        &["db", "loop"],
        "agent",
        "Failed loop runs plus failed sections of completed runs.",
    ),
    def(
        "pgmon_loop_restarts_total",
        Counter,
        Some(Unit::Count),
        &["db", "loop"],
        "agent",
        "Times the supervisor restarted the loop.",
    ),
    def(
        "pgmon_loop_skipped_ticks_total",
        Counter,
        Some(Unit::Count),
        &["db", "loop"],
        "agent",
        "Ticks skipped because the previous run was still going.",
    ),
    def(
        "pgmon_loop_budget_overruns_total",
        Counter,
        Some(Unit::Count),
        &["db", "loop"],
        "agent",
        "Runs that took longer than the loop's budget.",
    ),
    def(
        "pgmon_loop_last_run_timestamp_seconds",
        Gauge,
        Some(Unit::Seconds),
        &["db", "loop"],
        "agent",
        "Unix time the loop's last run finished.",
    ),
    def(
        "pgmon_database_up",
        Gauge,
        None,
        &["db"],
        "agent",
        "1 when the agent's latest evidence is that the database answers (a run connected and completed), 0 when connecting, the canary or the session itself failed. A busy pool or a slow run does not change it.",
    ),
    def(
        "pgmon_pool_busy_total",
        Counter,
        Some(Unit::Count),
        &["db", "loop"],
        "agent",
        "Runs that got no connection because the loop's own connection was still held by its previous run (not a database outage).",
    ),
    def(
        "pgmon_build_info",
        Gauge,
        None,
        &["version"],
        "agent",
        "Always 1; the version label says which pgmon runs.",
    ),
];

pub fn find(name: &str, prefix: &str) -> Option<&'static MetricDef> {
    CATALOG.iter().find(|d| d.full_name(prefix) == name)
}

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

// Hot path (15 s).
pub const PG_CONNECTIONS: MetricDef = def(
    "pg_connections",
    Gauge,
    Some(Unit::Count),
    &["db"],
    "pg_stat_activity",
    "Client backend connections.",
);

pub const PG_MAX_CONNECTIONS: MetricDef = def(
    "pg_max_connections",
    Gauge,
    Some(Unit::Count),
    &["db"],
    "pg_settings",
    "The max_connections setting.",
);

pub const PG_IDLE_IN_TRANSACTION_SESSIONS: MetricDef = def(
    "pg_idle_in_transaction_sessions",
    Gauge,
    Some(Unit::Count),
    &["db"],
    "pg_stat_activity",
    "Client sessions idle in a transaction.",
);

pub const PG_LONGEST_TRANSACTION_SECONDS: MetricDef = def(
    "pg_longest_transaction_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_stat_activity",
    "Age of the oldest open client transaction (0 when none).",
);

pub const PG_LONGEST_IDLE_IN_TRANSACTION_SECONDS: MetricDef = def(
    "pg_longest_idle_in_transaction_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_stat_activity",
    "How long the longest idle-in-transaction session has been idle (0 when none).",
);

pub const PG_LOCK_WAITING_SESSIONS: MetricDef = def(
    "pg_lock_waiting_sessions",
    Gauge,
    Some(Unit::Count),
    &["db"],
    "pg_stat_activity",
    "Sessions waiting on a heavyweight lock right now.",
);

pub const PG_BLOCKED_SESSIONS_TOTAL: MetricDef = def(
    "pg_blocked_sessions_total",
    Counter,
    Some(Unit::Count),
    &["db"],
    "pg_stat_activity",
    "Lock waits seen starting since the agent started (each wait episode counted once).",
);

pub const PG_LONGEST_BLOCKED_SECONDS: MetricDef = def(
    "pg_longest_blocked_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_locks",
    "The longest current lock wait (0 when nobody waits).",
);

pub const PG_AUTOVACUUM_JOBS: MetricDef = def(
    "pg_autovacuum_jobs",
    Gauge,
    Some(Unit::Count),
    &["db", "phase"],
    "pg_stat_progress_vacuum",
    "Autovacuum workers in progress, by phase.",
);

pub const PG_TEMP_BYTES_TOTAL: MetricDef = def(
    "pg_temp_bytes_total",
    Counter,
    Some(Unit::Bytes),
    &["db"],
    "pg_stat_database",
    "Bytes written to temp files by queries in this database (PostgreSQL's counter).",
);

pub const PG_TEMP_FILES_TOTAL: MetricDef = def(
    "pg_temp_files_total",
    Counter,
    Some(Unit::Count),
    &["db"],
    "pg_stat_database",
    "Temp files created by queries in this database (PostgreSQL's counter).",
);

pub const PG_TEMP_BYTES_WRITTEN_PER_SECOND: MetricDef = def(
    "pg_temp_bytes_written_per_second",
    Gauge,
    None,
    &["db"],
    "pg_stat_database",
    "Temp bytes written per second since the previous hot-path tick.",
);

pub const PGMON_CANARY_LATENCY_SECONDS: MetricDef = def(
    "pgmon_canary_latency_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "SELECT 1",
    "Round trip of SELECT 1 from the agent, each hot-path tick.",
);

pub const PGMON_CANARY_EXPLAIN_SECONDS: MetricDef = def(
    "pgmon_canary_explain_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "EXPLAIN ANALYZE",
    "Execution time of the configured canary.explain_query.",
);

// Workload (60 s).
pub const PG_TPS: MetricDef = def(
    "pg_tps",
    Gauge,
    None,
    &["db"],
    "pg_stat_database",
    "Transactions (commits + rollbacks) per second over the workload interval, all databases.",
);

pub const PG_QPS: MetricDef = def(
    "pg_qps",
    Gauge,
    None,
    &["db"],
    "pg_stat_statements",
    "Statements executed per second over the workload interval.",
);

pub const PG_QUERY_LATENCY_SECONDS_MEAN: MetricDef = def(
    "pg_query_latency_seconds_mean",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_stat_statements",
    "Calls-weighted mean statement execution time over the workload interval.",
);

pub const PG_QUERY_LATENCY_SECONDS_P95: MetricDef = def(
    "pg_query_latency_seconds_p95",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_stat_monitor",
    "95th percentile statement latency from pg_stat_monitor's histogram (absent without it).",
);

pub const PG_QUERY_LATENCY_SECONDS_P99: MetricDef = def(
    "pg_query_latency_seconds_p99",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_stat_monitor",
    "99th percentile statement latency from pg_stat_monitor's histogram (absent without it).",
);

pub const PG_STMT_CALLS_TOTAL: MetricDef = def(
    "pg_stmt_calls_total",
    Counter,
    Some(Unit::Count),
    &["db", "queryid"],
    "pg_stat_statements",
    "Calls of a Top-N statement (by time, calls or blocks read).",
);

pub const PG_STMT_TIME_SECONDS_TOTAL: MetricDef = def(
    "pg_stmt_time_seconds_total",
    Counter,
    Some(Unit::Seconds),
    &["db", "queryid"],
    "pg_stat_statements",
    "Planning plus execution time of a Top-N statement.",
);

pub const PG_STMT_SHARED_BLKS_READ_TOTAL: MetricDef = def(
    "pg_stmt_shared_blks_read_total",
    Counter,
    Some(Unit::Count),
    &["db", "queryid"],
    "pg_stat_statements",
    "Shared blocks read from outside shared buffers by a Top-N statement.",
);

pub const PG_WAL_BYTES_WRITTEN_TOTAL: MetricDef = def(
    "pg_wal_bytes_written_total",
    Counter,
    Some(Unit::Bytes),
    &["db"],
    "pg_stat_wal / pg_current_wal_lsn()",
    "WAL bytes generated (pg_stat_wal on 14+, the WAL position before).",
);

pub const PG_WAL_BYTES_WRITTEN_PER_SECOND: MetricDef = def(
    "pg_wal_bytes_written_per_second",
    Gauge,
    None,
    &["db"],
    "pg_stat_wal / pg_current_wal_lsn()",
    "WAL bytes generated per second over the workload interval.",
);

pub const PG_CHECKPOINTS_TIMED_TOTAL: MetricDef = def(
    "pg_checkpoints_timed_total",
    Counter,
    Some(Unit::Count),
    &["db"],
    "pg_stat_bgwriter / pg_stat_checkpointer",
    "Scheduled checkpoints.",
);

pub const PG_CHECKPOINTS_REQUESTED_TOTAL: MetricDef = def(
    "pg_checkpoints_requested_total",
    Counter,
    Some(Unit::Count),
    &["db"],
    "pg_stat_bgwriter / pg_stat_checkpointer",
    "Requested (forced) checkpoints.",
);

pub const PG_DATABASE_DEADLOCKS_TOTAL: MetricDef = def(
    "pg_database_deadlocks_total",
    Counter,
    Some(Unit::Count),
    &["db", "database"],
    "pg_stat_database",
    "Deadlocks detected in each database since its statistics reset (each one killed a transaction).",
);

pub const PG_DATABASE_CONFLICTS_TOTAL: MetricDef = def(
    "pg_database_conflicts_total",
    Counter,
    Some(Unit::Count),
    &["db", "database"],
    "pg_stat_database",
    "Queries a standby cancelled in each database to keep replaying (recovery conflicts), since the reset.",
);

pub const PG_REPLICATION_SLOT_RETAINED_BYTES: MetricDef = def(
    "pg_replication_slot_retained_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "slot", "slot_type"],
    "pg_replication_slots",
    "WAL a replication slot keeps from being recycled: from the current (on a standby, replayed) WAL position back to its restart_lsn.",
);

pub const PG_REPLICATION_SLOT_ACTIVE: MetricDef = def(
    "pg_replication_slot_active",
    Gauge,
    None,
    &["db", "slot", "slot_type"],
    "pg_replication_slots",
    "1 while a consumer streams from the slot, 0 when it is inactive (and retains WAL for nobody).",
);

pub const PG_REPLICATION_SLOT_SAFE_WAL_SIZE_BYTES: MetricDef = def(
    "pg_replication_slot_safe_wal_size_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "slot", "slot_type"],
    "pg_replication_slots",
    "PostgreSQL 13+: bytes that can still be written before the slot's WAL is at risk under max_slot_wal_keep_size (absent when unlimited).",
);

pub const PG_REPLICATION_SLOT_WAL_STATUS: MetricDef = def(
    "pg_replication_slot_wal_status",
    Gauge,
    None,
    &["db", "slot", "slot_type", "wal_status"],
    "pg_replication_slots",
    "PostgreSQL 13+: always 1, the wal_status label says reserved, extended, unreserved (WAL about to be removed) or lost.",
);

pub const PG_REPLICATION_SLOT_XMIN_AGE: MetricDef = def(
    "pg_replication_slot_xmin_age",
    Gauge,
    Some(Unit::Count),
    &["db", "slot", "slot_type"],
    "pg_replication_slots",
    "Transactions since the xmin (or, for a logical slot, the catalog_xmin) the slot holds back; vacuum cannot remove newer rows.",
);

pub const PG_WAL_ARCHIVING_ENABLED: MetricDef = def(
    "pg_wal_archiving_enabled",
    Gauge,
    None,
    &["db"],
    "pg_settings",
    "1 when archive_mode is on or always, 0 when off.",
);

pub const PG_WAL_ARCHIVED_TOTAL: MetricDef = def(
    "pg_wal_archived_total",
    Counter,
    Some(Unit::Count),
    &["db"],
    "pg_stat_archiver",
    "WAL segments archived successfully since the statistics reset.",
);

pub const PG_WAL_ARCHIVE_FAILED_TOTAL: MetricDef = def(
    "pg_wal_archive_failed_total",
    Counter,
    Some(Unit::Count),
    &["db"],
    "pg_stat_archiver",
    "Failed archive_command attempts since the statistics reset.",
);

pub const PG_WAL_LAST_ARCHIVE_AGE_SECONDS: MetricDef = def(
    "pg_wal_last_archive_age_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_stat_archiver",
    "Seconds since the last successful archive (absent when none since the reset).",
);

pub const PG_WAL_ARCHIVE_READY_SEGMENTS: MetricDef = def(
    "pg_wal_archive_ready_segments",
    Gauge,
    Some(Unit::Count),
    &["db"],
    "pg_ls_archive_statusdir()",
    "Completed WAL segments waiting for archive_command (.ready files).",
);

pub const PG_WAL_ARCHIVE_OLDEST_READY_SECONDS: MetricDef = def(
    "pg_wal_archive_oldest_ready_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_ls_archive_statusdir()",
    "Seconds the oldest segment waiting for archive_command has waited (absent when none waits).",
);

pub const PG_WAL_DIRECTORY_BYTES: MetricDef = def(
    "pg_wal_directory_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db"],
    "pg_ls_waldir()",
    "Bytes of every file in pg_wal.",
);

pub const PG_WAL_DIRECTORY_SEGMENTS: MetricDef = def(
    "pg_wal_directory_segments",
    Gauge,
    Some(Unit::Count),
    &["db"],
    "pg_ls_waldir()",
    "WAL segment files in pg_wal.",
);

pub const PG_STAT_IO_READS_TOTAL: MetricDef = def(
    "pg_stat_io_reads_total",
    Counter,
    Some(Unit::Count),
    &["db", "backend_type", "object", "context"],
    "pg_stat_io",
    "PostgreSQL 16+: Reads (blocks read from the kernel or storage) by backend type, object and context, since the statistics reset (rows with no activity are left out).",
);

pub const PG_STAT_IO_WRITES_TOTAL: MetricDef = def(
    "pg_stat_io_writes_total",
    Counter,
    Some(Unit::Count),
    &["db", "backend_type", "object", "context"],
    "pg_stat_io",
    "PostgreSQL 16+: Writes (blocks written out) by backend type, object and context, since the statistics reset (rows with no activity are left out).",
);

pub const PG_STAT_IO_EXTENDS_TOTAL: MetricDef = def(
    "pg_stat_io_extends_total",
    Counter,
    Some(Unit::Count),
    &["db", "backend_type", "object", "context"],
    "pg_stat_io",
    "PostgreSQL 16+: Relation extends (blocks added) by backend type, object and context, since the statistics reset (rows with no activity are left out).",
);

pub const PG_STAT_IO_FSYNCS_TOTAL: MetricDef = def(
    "pg_stat_io_fsyncs_total",
    Counter,
    Some(Unit::Count),
    &["db", "backend_type", "object", "context"],
    "pg_stat_io",
    "PostgreSQL 16+: fsync calls by backend type, object and context, since the statistics reset (rows with no activity are left out).",
);

pub const PG_STAT_IO_HITS_TOTAL: MetricDef = def(
    "pg_stat_io_hits_total",
    Counter,
    Some(Unit::Count),
    &["db", "backend_type", "object", "context"],
    "pg_stat_io",
    "PostgreSQL 16+: Shared buffer hits by backend type, object and context, since the statistics reset (rows with no activity are left out).",
);

pub const PG_SETTINGS_PENDING_RESTART: MetricDef = def(
    "pg_settings_pending_restart",
    Gauge,
    Some(Unit::Count),
    &["db"],
    "pg_settings",
    "Settings changed in the configuration whose new value waits for a restart (pending_restart).",
);

pub const PG_SETTINGS_CHANGES_TOTAL: MetricDef = def(
    "pg_settings_changes_total",
    Counter,
    Some(Unit::Count),
    &["db"],
    "pg_settings",
    "Setting changes (value or source) the agent observed since it started; the list is at /api/v1/settings.",
);

pub const PG_MAX_WAL_SIZE_BYTES: MetricDef = def(
    "pg_max_wal_size_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db"],
    "pg_settings",
    "The max_wal_size setting in bytes: the soft limit checkpoints keep pg_wal under; a pg_wal above it is being held back.",
);

pub const PG_CHECKPOINTS_REQUESTED_RATIO: MetricDef = def(
    "pg_checkpoints_requested_ratio",
    Gauge,
    None,
    &["db"],
    "pg_stat_bgwriter / pg_stat_checkpointer",
    "Requested / (timed + requested) checkpoints over the last hour (since stats reset while younger).",
);

pub const PG_CHECKPOINTS_MEAN_INTERVAL_SECONDS: MetricDef = def(
    "pg_checkpoints_mean_interval_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db"],
    "pg_stat_bgwriter / pg_stat_checkpointer",
    "Mean time between checkpoints over the last hour (since stats reset while younger).",
);

pub const PG_REPLICATION_LAG_SECONDS: MetricDef = def(
    "pg_replication_lag_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db", "replica"],
    "pg_stat_replication / pg_last_xact_replay_timestamp()",
    "Replay lag of a replica (replica=\"self\" on a standby: its own lag; 0 when caught up).",
);

pub const PG_REPLICATION_LAG_BYTES: MetricDef = def(
    "pg_replication_lag_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "replica"],
    "pg_stat_replication / pg_last_wal_receive_lsn()",
    "WAL bytes sent but not replayed by a replica (on a standby: received but not replayed).",
);

pub const PG_TABLE_DEAD_TUPLES: MetricDef = def(
    "pg_table_dead_tuples",
    Gauge,
    Some(Unit::Count),
    &["db", "relation"],
    "pg_stat_user_tables",
    "Dead tuples of a Top-N table by dead tuples.",
);

pub const PG_TABLE_PCT_DEAD: MetricDef = def(
    "pg_table_pct_dead",
    Gauge,
    None,
    &["db", "relation"],
    "pg_stat_user_tables",
    "Dead tuples as a percentage of live + dead.",
);

pub const PG_TABLE_LAST_AUTOVACUUM_SECONDS: MetricDef = def(
    "pg_table_last_autovacuum_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db", "relation"],
    "pg_stat_user_tables",
    "Seconds since the table was last autovacuumed (absent if never).",
);

pub const PG_TABLE_LAST_AUTOANALYZE_SECONDS: MetricDef = def(
    "pg_table_last_autoanalyze_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db", "relation"],
    "pg_stat_user_tables",
    "Seconds since the table was last autoanalyzed (absent if never).",
);

// Storage (10 min).
pub const PG_RELATION_SIZE_BYTES: MetricDef = def(
    "pg_relation_size_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "relation", "relkind"],
    "pg_total_relation_size()",
    "Total bytes of a Top-N relation (heap, indexes, TOAST).",
);

pub const PG_RELATION_TABLE_BYTES: MetricDef = def(
    "pg_relation_table_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "relation", "relkind"],
    "pg_table_size()",
    "Heap bytes (with free space and visibility maps) of a Top-N relation.",
);

pub const PG_RELATION_INDEX_BYTES: MetricDef = def(
    "pg_relation_index_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "relation", "relkind"],
    "pg_indexes_size()",
    "Bytes of all indexes of a Top-N relation.",
);

pub const PG_RELATION_TOAST_BYTES: MetricDef = def(
    "pg_relation_toast_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "relation", "relkind"],
    "pg_total_relation_size(reltoastrelid)",
    "TOAST bytes of a Top-N relation.",
);

pub const PG_RELATION_BLOAT_ESTIMATED_BYTES: MetricDef = def("pg_relation_bloat_estimated_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_stat_user_tables", "Bloat estimate of a Top-N table: free-space map free bytes plus heap bytes x dead / (live + dead), at most the heap; dead tuples only without pg_freespacemap (see bloat_estimate_basis in the API).");

pub const PG_RELATION_FSM_FREE_BYTES: MetricDef = def("pg_relation_fsm_free_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "relkind"], "pg_freespace()", "Free bytes the free-space map records in a Top-N table's heap (what VACUUM found reusable); needs pg_freespacemap.");

pub const PG_RELATION_FSM_FREE_RATIO: MetricDef = def(
    "pg_relation_fsm_free_ratio",
    Gauge,
    None,
    &["db", "relation", "relkind"],
    "pg_freespace()",
    "Free-space map free bytes over heap bytes (0-1) of a Top-N table; needs pg_freespacemap.",
);

pub const PG_INDEX_SCANS_TOTAL: MetricDef = def(
    "pg_index_scans_total",
    Counter,
    Some(Unit::Count),
    &["db", "relation", "index"],
    "pg_stat_user_indexes",
    "Index scans of a Top-N index by size.",
);

pub const PG_UNUSED_INDEX_BYTES: MetricDef = def("pg_unused_index_bytes", Gauge, Some(Unit::Bytes), &["db", "relation", "index"], "pg_stat_user_indexes", "Bytes of an index never scanned since stats reset (not backing a constraint, at least limits.unused_index_min_bytes).");

pub const PG_PARTITION_MISSING_FUTURE: MetricDef = def(
    "pg_partition_missing_future",
    Gauge,
    None,
    &["db", "parent"],
    "pg_partitioned_table",
    "1 when the newest partition ends within limits.partition_horizon_days, else 0.",
);

pub const PG_PARTITION_FUTURE_GAP_SECONDS: MetricDef = def(
    "pg_partition_future_gap_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db", "parent"],
    "pg_partitioned_table",
    "Newest partition upper bound minus now (negative when already past).",
);

// Hourly.
pub const PG_WRAPAROUND_DATABASE_TX_AGE: MetricDef = def(
    "pg_wraparound_database_tx_age",
    Gauge,
    Some(Unit::Count),
    &["db", "database"],
    "pg_database",
    "age(datfrozenxid): transactions since the database was last fully frozen (limit 2^31).",
);

pub const PG_WRAPAROUND_RELATION_TX_AGE: MetricDef = def(
    "pg_wraparound_relation_tx_age",
    Gauge,
    Some(Unit::Count),
    &["db", "relation"],
    "pg_class",
    "age(relfrozenxid) of the worst relations.",
);

pub const PG_TABLE_STATS_STALE_SECONDS: MetricDef = def("pg_table_stats_stale_seconds", Gauge, Some(Unit::Seconds), &["db", "relation"], "pg_stat_user_tables", "Seconds since the last (auto)analyze of the Top-N stalest modified tables, stale or not (no analyze recorded: since first seen modified, a lower bound).");

pub const PG_RELATION_BLOAT_SAMPLE_FREE_BYTES: MetricDef = def(
    "pg_relation_bloat_sample_free_bytes",
    Gauge,
    Some(Unit::Bytes),
    &["db", "relation"],
    "pgstattuple_approx()",
    "Free bytes found by pgstattuple_approx in a Top-N table.",
);

pub const PG_RELATION_BLOAT_SAMPLE_FREE_PERCENT: MetricDef = def(
    "pg_relation_bloat_sample_free_percent",
    Gauge,
    None,
    &["db", "relation"],
    "pgstattuple_approx()",
    "Free space percentage found by pgstattuple_approx in a Top-N table.",
);

pub const PG_INDEX_BLOAT_SAMPLE_LEAF_DENSITY_PERCENT: MetricDef = def(
    "pg_index_bloat_sample_leaf_density_percent",
    Gauge,
    None,
    &["db", "relation", "index"],
    "pgstatindex()",
    "Average leaf page density (percent, about 90 fresh) of a Top-N B-tree index, sampled hourly by pgstatindex.",
);

pub const PG_INDEX_BLOAT_SAMPLE_LEAF_FRAGMENTATION_PERCENT: MetricDef = def(
    "pg_index_bloat_sample_leaf_fragmentation_percent",
    Gauge,
    None,
    &["db", "relation", "index"],
    "pgstatindex()",
    "Leaf pages out of physical order (percent) of a Top-N B-tree index, sampled hourly by pgstatindex.",
);

// Alerts.
pub const ALERTS_TOTAL: MetricDef = def(
    "alerts_total",
    Counter,
    Some(Unit::Count),
    &["kind", "severity"],
    "agent",
    "Alerts that started firing (or escalated), by kind and severity.",
);

pub const PG_DEAD_TUPLE_BACKLOG_ALERT: MetricDef = def(
    "pg_dead_tuple_backlog_alert",
    Gauge,
    None,
    &["db", "relation", "severity"],
    "pg_stat_user_tables",
    "A firing dead-tuple backlog alert: 1 = warn, 2 = crit.",
);

pub const PGMON_ALERTS_FIRING: MetricDef = def(
    "pgmon_alerts_firing",
    Gauge,
    Some(Unit::Count),
    &["kind", "severity"],
    "agent",
    "Alerts firing now, by kind and severity.",
);

pub const PGMON_NOTIFICATIONS_SENT_TOTAL: MetricDef = def(
    "pgmon_notifications_sent_total",
    Counter,
    Some(Unit::Count),
    &[],
    "agent",
    "Alert notifications delivered to webhooks.",
);

pub const PGMON_NOTIFICATIONS_FAILED_TOTAL: MetricDef = def(
    "pgmon_notifications_failed_total",
    Counter,
    Some(Unit::Count),
    &[],
    "agent",
    "Alert notifications dropped (queue full) or failed after every retry.",
);

// The agent itself.
pub const PGMON_SCRAPE_DURATION_SECONDS: MetricDef = def(
    "pgmon_scrape_duration_seconds",
    Histogram,
    Some(Unit::Seconds),
    &["db", "loop"],
    "agent",
    "Wall time of each loop run.",
);

pub const PGMON_LAST_SCRAPE_SUCCESS: MetricDef = def(
    "pgmon_last_scrape_success",
    Gauge,
    None,
    &["db", "loop"],
    "agent",
    "1 when the loop's last run produced every section, else 0.",
);

pub const PGMON_ERRORS_TOTAL: MetricDef = def(
    "pgmon_errors_total",
    Counter,
    Some(Unit::Count),
    &["db", "loop"],
    "agent",
    "Failed loop runs plus failed sections of completed runs.",
);

pub const PGMON_LOOP_RESTARTS_TOTAL: MetricDef = def(
    "pgmon_loop_restarts_total",
    Counter,
    Some(Unit::Count),
    &["db", "loop"],
    "agent",
    "Times the supervisor restarted the loop.",
);

pub const PGMON_LOOP_SKIPPED_TICKS_TOTAL: MetricDef = def(
    "pgmon_loop_skipped_ticks_total",
    Counter,
    Some(Unit::Count),
    &["db", "loop"],
    "agent",
    "Ticks skipped because the previous run was still going.",
);

pub const PGMON_LOOP_BUDGET_OVERRUNS_TOTAL: MetricDef = def(
    "pgmon_loop_budget_overruns_total",
    Counter,
    Some(Unit::Count),
    &["db", "loop"],
    "agent",
    "Runs that took longer than the loop's budget.",
);

pub const PGMON_LOOP_LAST_RUN_TIMESTAMP_SECONDS: MetricDef = def(
    "pgmon_loop_last_run_timestamp_seconds",
    Gauge,
    Some(Unit::Seconds),
    &["db", "loop"],
    "agent",
    "Unix time the loop's last run finished.",
);

pub const PGMON_DATABASE_UP: MetricDef = def(
        "pgmon_database_up",
        Gauge,
        None,
        &["db"],
        "agent",
        "1 when the agent's latest evidence is that the database answers (a run connected and completed), 0 when connecting, the canary or the session itself failed. A busy pool or a slow run does not change it.",
    );

pub const PGMON_POOL_BUSY_TOTAL: MetricDef = def(
        "pgmon_pool_busy_total",
        Counter,
        Some(Unit::Count),
        &["db", "loop"],
        "agent",
        "Runs that got no connection because the loop's own connection was still held by its previous run (not a database outage).",
    );

pub const PGMON_BUILD_INFO: MetricDef = def(
    "pgmon_build_info",
    Gauge,
    None,
    &["version"],
    "agent",
    "Always 1; the version label says which pgmon runs.",
);

/// Every family, in the order docs/metrics.md lists them.
pub const CATALOG: &[MetricDef] = &[
    PG_CONNECTIONS,
    PG_MAX_CONNECTIONS,
    PG_IDLE_IN_TRANSACTION_SESSIONS,
    PG_LONGEST_TRANSACTION_SECONDS,
    PG_LONGEST_IDLE_IN_TRANSACTION_SECONDS,
    PG_LOCK_WAITING_SESSIONS,
    PG_BLOCKED_SESSIONS_TOTAL,
    PG_LONGEST_BLOCKED_SECONDS,
    PG_AUTOVACUUM_JOBS,
    PG_TEMP_BYTES_TOTAL,
    PG_TEMP_FILES_TOTAL,
    PG_TEMP_BYTES_WRITTEN_PER_SECOND,
    PGMON_CANARY_LATENCY_SECONDS,
    PGMON_CANARY_EXPLAIN_SECONDS,
    PG_TPS,
    PG_QPS,
    PG_QUERY_LATENCY_SECONDS_MEAN,
    PG_QUERY_LATENCY_SECONDS_P95,
    PG_QUERY_LATENCY_SECONDS_P99,
    PG_STMT_CALLS_TOTAL,
    PG_STMT_TIME_SECONDS_TOTAL,
    PG_STMT_SHARED_BLKS_READ_TOTAL,
    PG_WAL_BYTES_WRITTEN_TOTAL,
    PG_WAL_BYTES_WRITTEN_PER_SECOND,
    PG_CHECKPOINTS_TIMED_TOTAL,
    PG_CHECKPOINTS_REQUESTED_TOTAL,
    PG_DATABASE_DEADLOCKS_TOTAL,
    PG_DATABASE_CONFLICTS_TOTAL,
    PG_REPLICATION_SLOT_RETAINED_BYTES,
    PG_REPLICATION_SLOT_ACTIVE,
    PG_REPLICATION_SLOT_SAFE_WAL_SIZE_BYTES,
    PG_REPLICATION_SLOT_WAL_STATUS,
    PG_REPLICATION_SLOT_XMIN_AGE,
    PG_WAL_ARCHIVING_ENABLED,
    PG_WAL_ARCHIVED_TOTAL,
    PG_WAL_ARCHIVE_FAILED_TOTAL,
    PG_WAL_LAST_ARCHIVE_AGE_SECONDS,
    PG_WAL_ARCHIVE_READY_SEGMENTS,
    PG_WAL_ARCHIVE_OLDEST_READY_SECONDS,
    PG_WAL_DIRECTORY_BYTES,
    PG_WAL_DIRECTORY_SEGMENTS,
    PG_MAX_WAL_SIZE_BYTES,
    PG_STAT_IO_READS_TOTAL,
    PG_STAT_IO_WRITES_TOTAL,
    PG_STAT_IO_EXTENDS_TOTAL,
    PG_STAT_IO_FSYNCS_TOTAL,
    PG_STAT_IO_HITS_TOTAL,
    PG_SETTINGS_PENDING_RESTART,
    PG_SETTINGS_CHANGES_TOTAL,
    PG_CHECKPOINTS_REQUESTED_RATIO,
    PG_CHECKPOINTS_MEAN_INTERVAL_SECONDS,
    PG_REPLICATION_LAG_SECONDS,
    PG_REPLICATION_LAG_BYTES,
    PG_TABLE_DEAD_TUPLES,
    PG_TABLE_PCT_DEAD,
    PG_TABLE_LAST_AUTOVACUUM_SECONDS,
    PG_TABLE_LAST_AUTOANALYZE_SECONDS,
    PG_RELATION_SIZE_BYTES,
    PG_RELATION_TABLE_BYTES,
    PG_RELATION_INDEX_BYTES,
    PG_RELATION_TOAST_BYTES,
    PG_RELATION_BLOAT_ESTIMATED_BYTES,
    PG_RELATION_FSM_FREE_BYTES,
    PG_RELATION_FSM_FREE_RATIO,
    PG_INDEX_SCANS_TOTAL,
    PG_UNUSED_INDEX_BYTES,
    PG_PARTITION_MISSING_FUTURE,
    PG_PARTITION_FUTURE_GAP_SECONDS,
    PG_WRAPAROUND_DATABASE_TX_AGE,
    PG_WRAPAROUND_RELATION_TX_AGE,
    PG_TABLE_STATS_STALE_SECONDS,
    PG_RELATION_BLOAT_SAMPLE_FREE_BYTES,
    PG_RELATION_BLOAT_SAMPLE_FREE_PERCENT,
    PG_INDEX_BLOAT_SAMPLE_LEAF_DENSITY_PERCENT,
    PG_INDEX_BLOAT_SAMPLE_LEAF_FRAGMENTATION_PERCENT,
    ALERTS_TOTAL,
    PG_DEAD_TUPLE_BACKLOG_ALERT,
    PGMON_ALERTS_FIRING,
    PGMON_NOTIFICATIONS_SENT_TOTAL,
    PGMON_NOTIFICATIONS_FAILED_TOTAL,
    PGMON_SCRAPE_DURATION_SECONDS,
    PGMON_LAST_SCRAPE_SUCCESS,
    PGMON_ERRORS_TOTAL,
    PGMON_LOOP_RESTARTS_TOTAL,
    PGMON_LOOP_SKIPPED_TICKS_TOTAL,
    PGMON_LOOP_BUDGET_OVERRUNS_TOTAL,
    PGMON_LOOP_LAST_RUN_TIMESTAMP_SECONDS,
    PGMON_DATABASE_UP,
    PGMON_POOL_BUSY_TOTAL,
    PGMON_BUILD_INFO,
];

pub fn find(name: &str, prefix: &str) -> Option<&'static MetricDef> {
    CATALOG.iter().find(|d| d.full_name(prefix) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_listed_once_under_its_own_constant_name() {
        let mut names: Vec<&str> = CATALOG.iter().map(|d| d.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a family is listed twice");
        // The constants are named after their families (PG_CONNECTIONS is "pg_connections").
        let source = include_str!("catalog.rs");
        for def in CATALOG {
            let declared = format!("pub const {}: MetricDef = def(", def.name.to_ascii_uppercase());
            assert!(source.contains(&declared), "no constant {declared}");
        }
    }
}

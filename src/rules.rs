//! Prometheus alerting rules equivalent to the internal alert catalog (spec §6), rendered from
//! the thresholds in effect (`alerts.*`, `limits.unused_index_min_bytes`, `metrics.prefix`), for
//! users who alert from Prometheus. `pgmon rules` prints them; the shipped
//! `docs/prometheus/pgmon-rules.yaml` is this output for the default configuration (a test
//! fails when they drift) and is unit-tested with `promtool test rules`.

use crate::config::Config;
use std::fmt::Write;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Bytes as PromQL arithmetic a reader can check at a glance: `100 * 1024 * 1024`.
fn bytes_expr(n: u64) -> String {
    if n > 0 && n.is_multiple_of(GIB) {
        format!("{} * 1024 * 1024 * 1024", n / GIB)
    } else if n > 0 && n.is_multiple_of(MIB) {
        format!("{} * 1024 * 1024", n / MIB)
    } else {
        n.to_string()
    }
}

/// A float threshold without trailing noise: 0.8 -> "0.80", 1.5e9 stays exact.
fn ratio_expr(v: f64) -> String {
    format!("{v:.2}")
}

/// Prometheus durations: whole hours, minutes or seconds.
fn for_expr(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

struct Rule {
    name: &'static str,
    expr: String,
    r#for: Option<String>,
    severity: &'static str,
    summary: &'static str,
}

/// The rules document for `config`, as YAML text.
pub fn prometheus_rules(config: &Config) -> String {
    let a = &config.alerts;
    let prefix = config.metrics.prefix.as_str();
    let m = |name: &str| format!("{prefix}{name}");
    let connections = format!("{} / {}", m("pg_connections"), m("pg_max_connections"));
    let txn_summary = "Oldest transaction on {{ $labels.cluster }} is {{ $value | humanizeDuration }} old";
    let lock_summary = "A session on {{ $labels.cluster }} has waited {{ $value | humanizeDuration }} for a lock";
    let conn_summary = "Connections at {{ $value | humanizePercentage }} of max on {{ $labels.cluster }}";
    let dead_summary = "{{ $labels.relation }}: {{ $value | printf \\\"%.1f\\\" }}% dead tuples";
    let stale_summary = "{{ $labels.relation }}: statistics stale for {{ $value | humanizeDuration }}";
    let deadlock_summary =
        "{{ $value | printf \\\"%.0f\\\" }} deadlocks in {{ $labels.database }} over 5m on {{ $labels.cluster }}";
    let checkpoint_summary = "Checkpoint thrash on {{ $labels.cluster }}: consider raising max_wal_size";
    let repl_summary = "Replica {{ $labels.replica }} lagging on {{ $labels.cluster }}";
    let wrap_summary = "Wraparound database {{ $labels.database }} age {{ $value }}";
    let slot_summary =
        "Inactive slot {{ $labels.slot }} retains {{ $value | humanize1024 }}B of WAL on {{ $labels.cluster }}";
    let archive_failing_summary = "WAL archiving on {{ $labels.cluster }} fails with no success in 5m";
    // An inactive slot: an active one is streaming, and its lag is replication_lag's.
    let slot_retained = |bytes: u64| {
        format!(
            "{} >= {} and on (cluster, db, slot, slot_type) {} == 0",
            m("pg_replication_slot_retained_bytes"),
            bytes_expr(bytes),
            m("pg_replication_slot_active")
        )
    };
    let archiving_failing = format!(
        "increase({}[5m]) > 0 and on (cluster, db) increase({}[5m]) == 0",
        m("pg_wal_archive_failed_total"),
        m("pg_wal_archived_total")
    );
    let unused_warn = config.limits.unused_index_min_bytes;
    let dead = |pct: f64| {
        format!(
            "{} > {} and on (cluster, db, relation) {} > {}",
            m("pg_table_pct_dead"),
            pct,
            m("pg_table_dead_tuples"),
            a.dead_tuples_min
        )
    };
    let checkpoint = |ratio: f64, interval: u64| {
        format!(
            "{} > {} or {} < {}",
            m("pg_checkpoints_requested_ratio"),
            ratio,
            m("pg_checkpoints_mean_interval_seconds"),
            interval
        )
    };
    let repl = |seconds: u64, bytes: u64| {
        format!(
            "{} > {} or {} > {}",
            m("pg_replication_lag_seconds"),
            seconds,
            m("pg_replication_lag_bytes"),
            bytes_expr(bytes)
        )
    };
    let rule = |name, expr: String, r#for: Option<String>, severity, summary| Rule {
        name,
        expr,
        r#for,
        severity,
        summary,
    };
    let connections_for = Some(for_expr(a.connections_for));
    let rules = vec![
        rule(
            "PgmonConnectionSaturationWarn",
            format!("{connections} > {}", ratio_expr(a.connections_warn)),
            connections_for.clone(),
            "warn",
            conn_summary,
        ),
        rule(
            "PgmonConnectionSaturationCrit",
            format!("{connections} > {}", ratio_expr(a.connections_crit)),
            connections_for,
            "crit",
            conn_summary,
        ),
        rule(
            "PgmonLongTransactionWarn",
            format!("{} > {}", m("pg_longest_transaction_seconds"), a.long_txn_warn_s),
            None,
            "warn",
            txn_summary,
        ),
        rule(
            "PgmonLongTransactionCrit",
            format!("{} > {}", m("pg_longest_transaction_seconds"), a.long_txn_crit_s),
            None,
            "crit",
            txn_summary,
        ),
        rule(
            "PgmonBlockingLocksWarn",
            format!("{} > {}", m("pg_longest_blocked_seconds"), a.blocked_warn_s),
            None,
            "warn",
            lock_summary,
        ),
        rule(
            "PgmonBlockingLocksCrit",
            format!("{} > {}", m("pg_longest_blocked_seconds"), a.blocked_crit_s),
            None,
            "crit",
            lock_summary,
        ),
        rule(
            "PgmonDeadTuplesBacklog",
            dead(a.dead_tuples_warn_pct),
            Some(for_expr(a.dead_tuples_for)),
            "warn",
            dead_summary,
        ),
        rule(
            "PgmonDeadTuplesBacklogCrit",
            dead(a.dead_tuples_crit_pct),
            Some(for_expr(a.dead_tuples_for)),
            "crit",
            dead_summary,
        ),
        rule(
            "PgmonStaleStatsWarn",
            format!(
                "{} > {} * 3600",
                m("pg_table_stats_stale_seconds"),
                a.stats_stale_warn_hours
            ),
            None,
            "warn",
            stale_summary,
        ),
        rule(
            "PgmonStaleStatsCrit",
            format!(
                "{} > {} * 3600",
                m("pg_table_stats_stale_seconds"),
                a.stats_stale_crit_hours
            ),
            None,
            "crit",
            stale_summary,
        ),
        rule(
            "PgmonCheckpointThrash",
            checkpoint(a.checkpoint_ratio_warn, a.checkpoint_interval_warn_seconds),
            None,
            "warn",
            checkpoint_summary,
        ),
        rule(
            "PgmonCheckpointThrashCrit",
            checkpoint(a.checkpoint_ratio_crit, a.checkpoint_interval_crit_seconds),
            None,
            "crit",
            checkpoint_summary,
        ),
        rule(
            "PgmonWalSurge",
            format!(
                "{} > {}",
                m("pg_wal_bytes_written_per_second"),
                bytes_expr(a.wal_surge_warn_bytes_per_sec)
            ),
            Some(for_expr(a.wal_surge_for)),
            "warn",
            "WAL at {{ $value | humanize1024 }}B/s on {{ $labels.cluster }}",
        ),
        rule(
            "PgmonTempSurge",
            format!(
                "{} > {}",
                m("pg_temp_bytes_written_per_second"),
                bytes_expr(a.temp_surge_warn_bytes_per_sec)
            ),
            Some(for_expr(a.temp_surge_for)),
            "warn",
            "Temp files at {{ $value | humanize1024 }}B/s in {{ $labels.db }}",
        ),
        rule(
            "PgmonReplicationLagWarn",
            repl(a.repl_warn_s, a.repl_warn_bytes),
            None,
            "warn",
            repl_summary,
        ),
        rule(
            "PgmonReplicationLagCrit",
            repl(a.repl_crit_s, a.repl_crit_bytes),
            None,
            "crit",
            repl_summary,
        ),
        rule(
            "PgmonDeadlocksWarn",
            format!(
                "increase({}[5m]) >= {}",
                m("pg_database_deadlocks_total"),
                a.deadlocks_warn
            ),
            None,
            "warn",
            deadlock_summary,
        ),
        rule(
            "PgmonDeadlocksCrit",
            format!(
                "increase({}[5m]) >= {}",
                m("pg_database_deadlocks_total"),
                a.deadlocks_crit
            ),
            None,
            "crit",
            deadlock_summary,
        ),
        rule(
            "PgmonReplicationSlotRetentionWarn",
            slot_retained(a.slot_retained_warn_bytes),
            None,
            "warn",
            slot_summary,
        ),
        rule(
            "PgmonReplicationSlotRetentionCrit",
            slot_retained(a.slot_retained_crit_bytes),
            None,
            "crit",
            slot_summary,
        ),
        rule(
            "PgmonReplicationSlotWalUnreserved",
            format!("{}{{wal_status=\"unreserved\"}} == 1", m("pg_replication_slot_wal_status")),
            None,
            "warn",
            "Slot {{ $labels.slot }} on {{ $labels.cluster }}: its WAL is past max_slot_wal_keep_size and may be removed",
        ),
        rule(
            "PgmonReplicationSlotLost",
            format!("{}{{wal_status=\"lost\"}} == 1", m("pg_replication_slot_wal_status")),
            None,
            "crit",
            "Slot {{ $labels.slot }} on {{ $labels.cluster }} lost the WAL it needed and can no longer be used",
        ),
        rule(
            "PgmonWalArchivingFailingWarn",
            archiving_failing.clone(),
            None,
            "warn",
            archive_failing_summary,
        ),
        rule(
            "PgmonWalArchivingFailingCrit",
            archiving_failing,
            Some(for_expr(a.archive_failing_crit_after)),
            "crit",
            archive_failing_summary,
        ),
        rule(
            "PgmonWalArchivingStalled",
            format!(
                "{} > {}",
                m("pg_wal_archive_oldest_ready_seconds"),
                a.archive_stalled_after.as_secs()
            ),
            None,
            "warn",
            "A WAL segment on {{ $labels.cluster }} has waited {{ $value | humanizeDuration }} to be archived",
        ),
        rule(
            "PgmonSettingPendingRestart",
            format!("{} > 0", m("pg_settings_pending_restart")),
            Some(for_expr(a.pending_restart_after)),
            "warn",
            "{{ $value }} setting(s) on {{ $labels.cluster }} changed and wait for a restart: see /api/v1/settings",
        ),
        rule(
            "PgmonWraparoundWarn",
            format!("{} > {}", m("pg_wraparound_database_tx_age"), a.wraparound_warn_tx_age),
            None,
            "warn",
            wrap_summary,
        ),
        rule(
            "PgmonWraparoundCrit",
            format!("{} > {}", m("pg_wraparound_database_tx_age"), a.wraparound_crit_tx_age),
            None,
            "crit",
            wrap_summary,
        ),
        rule(
            "PgmonPartitionHorizon",
            format!("{} == 1", m("pg_partition_missing_future")),
            None,
            "warn",
            "{{ $labels.parent }}: newest partition ends within the horizon",
        ),
        rule(
            "PgmonUnusedIndexWarn",
            format!("{} > {}", m("pg_unused_index_bytes"), bytes_expr(unused_warn)),
            Some("6h".into()),
            "warn",
            "Unused index {{ $labels.relation }} -> {{ $labels.index }} ({{ $value | humanize1024 }})",
        ),
        rule(
            "PgmonUnusedIndexCrit",
            format!("{} > {}", m("pg_unused_index_bytes"), bytes_expr(unused_warn * 5)),
            Some("6h".into()),
            "crit",
            "Unused index critical {{ $labels.relation }} -> {{ $labels.index }} ({{ $value | humanize1024 }})",
        ),
        rule(
            "PgmonAgentDegraded",
            "pgmon_last_scrape_success == 0".into(),
            Some("5m".into()),
            "warn",
            "pgmon loop {{ $labels.loop }} on {{ $labels.cluster }} is failing: see /healthz",
        ),
        rule(
            "PgmonDatabaseUnreachable",
            "pgmon_database_up == 0".into(),
            Some("1m".into()),
            "crit",
            "pgmon cannot reach the database of {{ $labels.cluster }}",
        ),
    ];

    let mut out = String::from(
        "# Prometheus alerting rules equivalent to pgmon's internal alert catalog (spec §6), for users\n\
         # who alert from Prometheus. Generated by `pgmon rules` from the thresholds in effect\n\
         # (alerts.*, limits.unused_index_min_bytes, metrics.prefix); docs/prometheus/pgmon-rules.yaml\n\
         # is the output for the default configuration, checked by `promtool check rules` and\n\
         # unit-tested by pgmon-rules.test.yaml (`promtool test rules`) in scripts/test.sh.\n\
         groups:\n  - name: pgmon\n    rules:\n",
    );
    for r in rules {
        let _ = writeln!(out, "      - alert: {}", r.name);
        let _ = writeln!(out, "        expr: {}", r.expr);
        if let Some(f) = r.r#for {
            let _ = writeln!(out, "        for: {f}");
        }
        let _ = writeln!(out, "        labels: {{severity: {}}}", r.severity);
        let _ = writeln!(out, "        annotations:");
        let _ = writeln!(out, "          summary: \"{}\"", r.summary);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_are_the_output_for_the_default_config() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/prometheus/pgmon-rules.yaml");
        let rendered = prometheus_rules(&Config::default());
        if std::env::var_os("PGMON_UPDATE_DOCS").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let shipped = std::fs::read_to_string(path).unwrap();
        assert!(
            shipped == rendered,
            "docs/prometheus/pgmon-rules.yaml is out of date: PGMON_UPDATE_DOCS=1 cargo test --lib shipped_rules"
        );
    }

    #[test]
    fn thresholds_and_prefix_come_from_the_config() {
        let mut config = Config::default();
        config.alerts.long_txn_warn_s = 42;
        config.alerts.connections_for = std::time::Duration::from_secs(90);
        config.alerts.repl_crit_bytes = 3 * GIB;
        config.limits.unused_index_min_bytes = 8192;
        config.metrics.prefix = "pgmon_".into();
        let rules = prometheus_rules(&config);
        assert!(
            rules.contains("expr: pgmon_pg_longest_transaction_seconds > 42\n"),
            "{rules}"
        );
        assert!(rules.contains("for: 90s\n"));
        assert!(rules.contains("pgmon_pg_replication_lag_bytes > 3 * 1024 * 1024 * 1024\n"));
        assert!(rules.contains("expr: pgmon_pg_unused_index_bytes > 8192\n"));
        assert!(rules.contains("expr: pgmon_pg_unused_index_bytes > 40960\n"));
        // Self-metrics are never prefixed.
        assert!(rules.contains("expr: pgmon_database_up == 0\n"));
        assert!(!rules.contains("pgmon_pgmon_"));
    }

    #[test]
    fn durations_and_bytes_read_naturally() {
        assert_eq!(for_expr(std::time::Duration::from_secs(600)), "10m");
        assert_eq!(for_expr(std::time::Duration::from_secs(7200)), "2h");
        assert_eq!(for_expr(std::time::Duration::from_secs(45)), "45s");
        assert_eq!(bytes_expr(100 * MIB), "100 * 1024 * 1024");
        assert_eq!(bytes_expr(GIB), "1 * 1024 * 1024 * 1024");
        assert_eq!(bytes_expr(1000), "1000");
    }
}

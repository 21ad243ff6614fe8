//! Workload snapshot → series (spec §5 names). Per-statement series carry the statement's
//! database and queryid (never its text); per-table series the sanitized `schema.table`.

use super::{catalog, FloatCounter, SeriesNaming};
use crate::collectors::workload::WorkloadSnapshot;
use metrics::{counter, gauge};

/// Records the snapshot's series; returns the float-valued counters (which the `metrics`
/// crate cannot hold) for the caller to render.
pub fn record(n: &SeriesNaming, s: &WorkloadSnapshot) -> Vec<FloatCounter> {
    let mut stmt_time = FloatCounter::new(n, &catalog::PG_STMT_TIME_SECONDS_TOTAL);
    let db = n.labels(&[]);
    if let Ok(t) = &s.throughput {
        let gauges = [
            (&catalog::PG_TPS, t.tps),
            (&catalog::PG_QPS, t.qps),
            (&catalog::PG_QUERY_LATENCY_SECONDS_MEAN, t.latency_mean_seconds),
            (&catalog::PG_QUERY_LATENCY_SECONDS_P95, t.latency_p95_seconds),
            (&catalog::PG_QUERY_LATENCY_SECONDS_P99, t.latency_p99_seconds),
        ];
        for (name, value) in gauges {
            if let Some(v) = value {
                gauge!(n.name(name), db.clone()).set(v);
            }
        }
    }
    if let Ok(statements) = &s.statements {
        for st in &statements.top {
            let labels = n.labels_for_db(st.database.as_deref().unwrap_or(""), &[("queryid", st.queryid.clone())]);
            counter!(n.name(&catalog::PG_STMT_CALLS_TOTAL), labels.clone()).absolute(st.calls.max(0) as u64);
            counter!(n.name(&catalog::PG_STMT_SHARED_BLKS_READ_TOTAL), labels.clone())
                .absolute(st.shared_blks_read.max(0) as u64);
            stmt_time.push(labels, st.total_time_seconds);
        }
    }
    if let Ok(w) = &s.wal {
        if let Some(total) = w.bytes_total {
            counter!(n.name(&catalog::PG_WAL_BYTES_WRITTEN_TOTAL), db.clone()).absolute(total.max(0.0) as u64);
        }
        if let Some(rate) = w.bytes_per_second {
            gauge!(n.name(&catalog::PG_WAL_BYTES_WRITTEN_PER_SECOND), db.clone()).set(rate);
        }
    }
    if let Ok(c) = &s.checkpoints {
        counter!(n.name(&catalog::PG_CHECKPOINTS_TIMED_TOTAL), db.clone()).absolute(c.timed_total.max(0) as u64);
        counter!(n.name(&catalog::PG_CHECKPOINTS_REQUESTED_TOTAL), db.clone())
            .absolute(c.requested_total.max(0) as u64);
        if let Some(ratio) = c.requested_ratio {
            gauge!(n.name(&catalog::PG_CHECKPOINTS_REQUESTED_RATIO), db.clone()).set(ratio);
        }
        if let Some(interval) = c.mean_interval_seconds {
            gauge!(n.name(&catalog::PG_CHECKPOINTS_MEAN_INTERVAL_SECONDS), db.clone()).set(interval);
        }
    }
    if let Ok(r) = &s.replication {
        let lags = r
            .replicas
            .iter()
            .map(|rep| (rep.replica.as_str(), rep.replay_lag_seconds, rep.lag_bytes));
        let own = r.standby.iter().map(|sb| {
            (
                crate::collectors::replication::OWN_LAG,
                sb.replay_lag_seconds,
                sb.receive_replay_lag_bytes,
            )
        });
        for (replica, seconds, bytes) in lags.chain(own) {
            let labels = n.labels(&[("replica", replica.to_string())]);
            if let Some(seconds) = seconds {
                gauge!(n.name(&catalog::PG_REPLICATION_LAG_SECONDS), labels.clone()).set(seconds);
            }
            if let Some(bytes) = bytes {
                gauge!(n.name(&catalog::PG_REPLICATION_LAG_BYTES), labels).set(bytes);
            }
        }
    }
    for slot in s.slots.iter().flatten() {
        let labels = n.labels(&[("slot", slot.slot.clone()), ("slot_type", slot.slot_type.clone())]);
        gauge!(n.name(&catalog::PG_REPLICATION_SLOT_RETAINED_BYTES), labels.clone()).set(slot.retained_bytes);
        gauge!(n.name(&catalog::PG_REPLICATION_SLOT_ACTIVE), labels.clone()).set(if slot.active { 1.0 } else { 0.0 });
        if let Some(safe) = slot.safe_wal_size_bytes {
            gauge!(
                n.name(&catalog::PG_REPLICATION_SLOT_SAFE_WAL_SIZE_BYTES),
                labels.clone()
            )
            .set(safe);
        }
        if let Some(status) = &slot.wal_status {
            let with_status = n.labels(&[
                ("slot", slot.slot.clone()),
                ("slot_type", slot.slot_type.clone()),
                ("wal_status", status.clone()),
            ]);
            gauge!(n.name(&catalog::PG_REPLICATION_SLOT_WAL_STATUS), with_status).set(1.0);
        }
        if let Some(age) = slot.xmin_age.max(slot.catalog_xmin_age) {
            gauge!(n.name(&catalog::PG_REPLICATION_SLOT_XMIN_AGE), labels).set(age as f64);
        }
    }
    if let Ok(a) = &s.archiving {
        gauge!(n.name(&catalog::PG_WAL_ARCHIVING_ENABLED), db.clone()).set(if a.enabled { 1.0 } else { 0.0 });
        counter!(n.name(&catalog::PG_WAL_ARCHIVED_TOTAL), db.clone()).absolute(a.archived_total.max(0) as u64);
        counter!(n.name(&catalog::PG_WAL_ARCHIVE_FAILED_TOTAL), db.clone()).absolute(a.failed_total.max(0) as u64);
        if let Some(age) = a.last_archived_seconds {
            gauge!(n.name(&catalog::PG_WAL_LAST_ARCHIVE_AGE_SECONDS), db.clone()).set(age);
        }
        if let Some(ready) = a.ready_segments {
            gauge!(n.name(&catalog::PG_WAL_ARCHIVE_READY_SEGMENTS), db.clone()).set(ready as f64);
        }
        if let Some(age) = a.oldest_ready_seconds {
            gauge!(n.name(&catalog::PG_WAL_ARCHIVE_OLDEST_READY_SECONDS), db.clone()).set(age);
        }
    }
    if let Ok(d) = &s.wal_directory {
        if let (Some(bytes), Some(segments)) = (d.bytes, d.segments) {
            gauge!(n.name(&catalog::PG_WAL_DIRECTORY_BYTES), db.clone()).set(bytes);
            gauge!(n.name(&catalog::PG_WAL_DIRECTORY_SEGMENTS), db.clone()).set(segments as f64);
        }
        gauge!(n.name(&catalog::PG_MAX_WAL_SIZE_BYTES), db.clone()).set(d.max_wal_size_bytes);
    }
    for r in s.io.iter().flat_map(|io| &io.rows) {
        let labels = n.labels(&[
            ("backend_type", r.backend_type.clone()),
            ("object", r.object.clone()),
            ("context", r.context.clone()),
        ]);
        for (def, value) in [
            (&catalog::PG_STAT_IO_READS_TOTAL, r.reads),
            (&catalog::PG_STAT_IO_WRITES_TOTAL, r.writes),
            (&catalog::PG_STAT_IO_EXTENDS_TOTAL, r.extends),
            (&catalog::PG_STAT_IO_FSYNCS_TOTAL, r.fsyncs),
            (&catalog::PG_STAT_IO_HITS_TOTAL, r.hits),
        ] {
            counter!(n.name(def), labels.clone()).absolute(value.max(0) as u64);
        }
    }
    if let Ok(drift) = &s.settings {
        gauge!(n.name(&catalog::PG_SETTINGS_PENDING_RESTART), db.clone()).set(drift.pending_restart.len() as f64);
        counter!(n.name(&catalog::PG_SETTINGS_CHANGES_TOTAL), db.clone()).absolute(drift.changes_observed_total);
    }
    for d in s.deadlocks.iter().flatten() {
        let labels = n.labels(&[("database", d.database.clone())]);
        counter!(n.name(&catalog::PG_DATABASE_DEADLOCKS_TOTAL), labels.clone())
            .absolute(d.deadlocks_total.max(0) as u64);
        counter!(n.name(&catalog::PG_DATABASE_CONFLICTS_TOTAL), labels).absolute(d.conflicts_total.max(0) as u64);
    }
    if let Ok(tables) = &s.freshness {
        for t in tables {
            let labels = n.labels(&[("relation", t.relation.clone())]);
            gauge!(n.name(&catalog::PG_TABLE_DEAD_TUPLES), labels.clone()).set(t.dead_tuples as f64);
            gauge!(n.name(&catalog::PG_TABLE_PCT_DEAD), labels.clone()).set(t.pct_dead);
            if let Some(age) = t.last_autovacuum_seconds {
                gauge!(n.name(&catalog::PG_TABLE_LAST_AUTOVACUUM_SECONDS), labels.clone()).set(age);
            }
            if let Some(age) = t.last_autoanalyze_seconds {
                gauge!(n.name(&catalog::PG_TABLE_LAST_AUTOANALYZE_SECONDS), labels).set(age);
            }
        }
    }
    vec![stmt_time]
}

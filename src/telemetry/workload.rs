//! Workload snapshot → series (spec §5 names). Per-statement series carry the statement's
//! database and queryid (never its text); per-table series the sanitized `schema.table`.

use super::{FloatCounter, SeriesNaming};
use crate::collectors::workload::WorkloadSnapshot;
use metrics::{counter, gauge};

/// Records the snapshot's series; returns the float-valued counters (which the `metrics`
/// crate cannot hold) for the caller to render.
pub fn record(n: &SeriesNaming, s: &WorkloadSnapshot) -> Vec<FloatCounter> {
    let mut stmt_time = FloatCounter::new(n.name("pg_stmt_time_seconds_total"), "pg_stmt_time_seconds_total");
    let db = n.labels(&[]);
    if let Ok(t) = &s.throughput {
        let gauges = [
            ("pg_tps", t.tps),
            ("pg_qps", t.qps),
            ("pg_query_latency_seconds_mean", t.latency_mean_seconds),
            ("pg_query_latency_seconds_p95", t.latency_p95_seconds),
            ("pg_query_latency_seconds_p99", t.latency_p99_seconds),
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
            counter!(n.name("pg_stmt_calls_total"), labels.clone()).absolute(st.calls.max(0) as u64);
            counter!(n.name("pg_stmt_shared_blks_read_total"), labels.clone())
                .absolute(st.shared_blks_read.max(0) as u64);
            stmt_time.push(labels, st.total_time_seconds);
        }
    }
    if let Ok(w) = &s.wal {
        if let Some(total) = w.bytes_total {
            counter!(n.name("pg_wal_bytes_written_total"), db.clone()).absolute(total.max(0.0) as u64);
        }
        if let Some(rate) = w.bytes_per_second {
            gauge!(n.name("pg_wal_bytes_written_per_second"), db.clone()).set(rate);
        }
    }
    if let Ok(c) = &s.checkpoints {
        counter!(n.name("pg_checkpoints_timed_total"), db.clone()).absolute(c.timed_total.max(0) as u64);
        counter!(n.name("pg_checkpoints_requested_total"), db.clone()).absolute(c.requested_total.max(0) as u64);
        if let Some(ratio) = c.requested_ratio {
            gauge!(n.name("pg_checkpoints_requested_ratio"), db.clone()).set(ratio);
        }
        if let Some(interval) = c.mean_interval_seconds {
            gauge!(n.name("pg_checkpoints_mean_interval_seconds"), db.clone()).set(interval);
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
                gauge!(n.name("pg_replication_lag_seconds"), labels.clone()).set(seconds);
            }
            if let Some(bytes) = bytes {
                gauge!(n.name("pg_replication_lag_bytes"), labels).set(bytes);
            }
        }
    }
    for d in s.deadlocks.iter().flatten() {
        let labels = n.labels(&[("database", d.database.clone())]);
        counter!(n.name("pg_database_deadlocks_total"), labels.clone()).absolute(d.deadlocks_total.max(0) as u64);
        counter!(n.name("pg_database_conflicts_total"), labels).absolute(d.conflicts_total.max(0) as u64);
    }
    if let Ok(tables) = &s.freshness {
        for t in tables {
            let labels = n.labels(&[("relation", t.relation.clone())]);
            gauge!(n.name("pg_table_dead_tuples"), labels.clone()).set(t.dead_tuples as f64);
            gauge!(n.name("pg_table_pct_dead"), labels.clone()).set(t.pct_dead);
            if let Some(age) = t.last_autovacuum_seconds {
                gauge!(n.name("pg_table_last_autovacuum_seconds"), labels.clone()).set(age);
            }
            if let Some(age) = t.last_autoanalyze_seconds {
                gauge!(n.name("pg_table_last_autoanalyze_seconds"), labels).set(age);
            }
        }
    }
    vec![stmt_time]
}

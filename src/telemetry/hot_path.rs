//! Hot-path snapshot → series (spec §5 names). Only sections that were read this run export.

use super::SeriesNaming;
use crate::collectors::hot_path::HotPathSnapshot;
use metrics::{counter, gauge};

pub fn record(n: &SeriesNaming, s: &HotPathSnapshot) {
    let db = n.labels(&[]);
    if let Ok(c) = &s.connections {
        gauge!(n.name("pg_connections"), db.clone()).set(c.connections as f64);
        gauge!(n.name("pg_max_connections"), db.clone()).set(c.max_connections as f64);
        gauge!(n.name("pg_idle_in_transaction_sessions"), db.clone()).set(c.idle_in_transaction as f64);
    }
    if let Ok(t) = &s.transactions {
        gauge!(n.name("pg_longest_transaction_seconds"), db.clone()).set(t.longest_transaction_seconds);
        gauge!(n.name("pg_longest_idle_in_transaction_seconds"), db.clone()).set(t.longest_idle_in_transaction_seconds);
    }
    if let Ok(b) = &s.blocking {
        gauge!(n.name("pg_lock_waiting_sessions"), db.clone()).set(b.blocked_sessions as f64);
        counter!(n.name("pg_blocked_sessions_total"), db.clone()).absolute(b.blocked_episodes_total);
        gauge!(n.name("pg_longest_blocked_seconds"), db.clone()).set(b.longest_blocked_seconds);
    }
    if let Ok(a) = &s.autovacuum {
        for (phase, workers) in &a.workers_by_phase {
            gauge!(n.name("pg_autovacuum_jobs"), n.labels(&[("phase", phase.clone())])).set(*workers as f64);
        }
    }
    if let Ok(spills) = &s.temp {
        for t in spills {
            let labels = n.labels_for_db(&t.database, &[]);
            counter!(n.name("pg_temp_bytes_total"), labels.clone()).absolute(t.temp_bytes.max(0) as u64);
            counter!(n.name("pg_temp_files_total"), labels.clone()).absolute(t.temp_files.max(0) as u64);
            if let Some(rate) = t.temp_bytes_per_second {
                gauge!(n.name("pg_temp_bytes_written_per_second"), labels).set(rate);
            }
        }
    }
    if let Ok(c) = &s.canary {
        gauge!("pgmon_canary_latency_seconds", db.clone()).set(c.round_trip_seconds);
        if let Some(explain) = c.explain_execution_seconds {
            gauge!("pgmon_canary_explain_seconds", db).set(explain);
        }
    }
}

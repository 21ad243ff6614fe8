//! Hot-path snapshot → series (spec §5 names). Only sections that were read this run export.

use super::{catalog, SeriesNaming};
use crate::collectors::hot_path::HotPathSnapshot;
use metrics::{counter, gauge};

pub fn record(n: &SeriesNaming, s: &HotPathSnapshot) {
    let db = n.labels(&[]);
    if let Ok(c) = &s.connections {
        gauge!(n.name(&catalog::PG_CONNECTIONS), db.clone()).set(c.connections as f64);
        gauge!(n.name(&catalog::PG_MAX_CONNECTIONS), db.clone()).set(c.max_connections as f64);
        gauge!(n.name(&catalog::PG_IDLE_IN_TRANSACTION_SESSIONS), db.clone()).set(c.idle_in_transaction as f64);
    }
    if let Ok(t) = &s.transactions {
        gauge!(n.name(&catalog::PG_LONGEST_TRANSACTION_SECONDS), db.clone()).set(t.longest_transaction_seconds);
        gauge!(n.name(&catalog::PG_LONGEST_IDLE_IN_TRANSACTION_SECONDS), db.clone())
            .set(t.longest_idle_in_transaction_seconds);
    }
    if let Ok(b) = &s.blocking {
        gauge!(n.name(&catalog::PG_LOCK_WAITING_SESSIONS), db.clone()).set(b.blocked_sessions as f64);
        counter!(n.name(&catalog::PG_BLOCKED_SESSIONS_TOTAL), db.clone()).absolute(b.blocked_episodes_total);
        gauge!(n.name(&catalog::PG_LONGEST_BLOCKED_SECONDS), db.clone()).set(b.longest_blocked_seconds);
    }
    if let Ok(a) = &s.autovacuum {
        for (phase, workers) in &a.workers_by_phase {
            gauge!(
                n.name(&catalog::PG_AUTOVACUUM_JOBS),
                n.labels(&[("phase", phase.clone())])
            )
            .set(*workers as f64);
        }
    }
    if let Ok(spills) = &s.temp {
        for t in spills {
            let labels = n.labels_for_db(&t.database, &[]);
            counter!(n.name(&catalog::PG_TEMP_BYTES_TOTAL), labels.clone()).absolute(t.temp_bytes.max(0) as u64);
            counter!(n.name(&catalog::PG_TEMP_FILES_TOTAL), labels.clone()).absolute(t.temp_files.max(0) as u64);
            if let Some(rate) = t.temp_bytes_per_second {
                gauge!(n.name(&catalog::PG_TEMP_BYTES_WRITTEN_PER_SECOND), labels).set(rate);
            }
        }
    }
    if let Ok(c) = &s.canary {
        gauge!(catalog::PGMON_CANARY_LATENCY_SECONDS.name, db.clone()).set(c.round_trip_seconds);
        if let Some(explain) = c.explain_execution_seconds {
            gauge!(catalog::PGMON_CANARY_EXPLAIN_SECONDS.name, db).set(explain);
        }
    }
}

//! Deadlocks and recovery conflicts per database (`pg_stat_database.deadlocks`, `.conflicts`):
//! the counters since the statistics reset, and how many are new since the previous workload
//! run. A deadlock means PostgreSQL killed a transaction; a conflict means a standby cancelled
//! a query to keep replaying. Neither leaves a trace in the other views once it is over.

use serde::Serialize;
use std::collections::HashMap;
use tokio_postgres::Client;

/// One row per database; `stats_reset` (or the postmaster start when it was never reset) tells
/// a reset counter from a quiet one.
pub const DEADLOCKS_SQL: &str = "\
SELECT datname,
       deadlocks,
       conflicts,
       EXTRACT(EPOCH FROM COALESCE(stats_reset, pg_postmaster_start_time()))::float8 AS reset_at
  FROM pg_stat_database
 WHERE datname IS NOT NULL
 ORDER BY datname";

#[derive(Debug, Clone, PartialEq)]
pub struct DeadlockRow {
    pub database: String,
    pub deadlocks: i64,
    pub conflicts: i64,
    pub reset_at: f64,
}

/// A database's deadlocks and recovery conflicts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DatabaseIncidents {
    pub database: String,
    /// Deadlocks detected since the statistics reset.
    pub deadlocks_total: i64,
    /// Queries a standby cancelled to keep replaying (0 on a primary), since the reset.
    pub conflicts_total: i64,
    /// Deadlocks since the previous workload run; null on the first run and after a reset.
    pub new_deadlocks: Option<i64>,
    /// Recovery conflicts since the previous workload run; null as above.
    pub new_conflicts: Option<i64>,
}

/// The counters of the previous run, by database.
pub type Previous = HashMap<String, DeadlockRow>;

/// Maps rows to per-database incidents, counting what is new since `previous` (nothing is
/// "new" across a reset or for a database seen for the first time).
pub fn assess(rows: &[DeadlockRow], previous: &Previous) -> Vec<DatabaseIncidents> {
    rows.iter()
        .map(|r| {
            let before = previous
                .get(&r.database)
                .filter(|p| p.reset_at == r.reset_at && p.deadlocks <= r.deadlocks && p.conflicts <= r.conflicts);
            DatabaseIncidents {
                database: r.database.clone(),
                deadlocks_total: r.deadlocks,
                conflicts_total: r.conflicts,
                new_deadlocks: before.map(|p| r.deadlocks - p.deadlocks),
                new_conflicts: before.map(|p| r.conflicts - p.conflicts),
            }
        })
        .collect()
}

pub async fn collect(client: &Client) -> Result<Vec<DeadlockRow>, tokio_postgres::Error> {
    let rows = client.query(DEADLOCKS_SQL, &[]).await?;
    rows.iter()
        .map(|row| {
            Ok(DeadlockRow {
                database: row.try_get("datname")?,
                deadlocks: row.try_get("deadlocks")?,
                conflicts: row.try_get("conflicts")?,
                reset_at: row.try_get("reset_at")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(database: &str, deadlocks: i64, conflicts: i64, reset_at: f64) -> DeadlockRow {
        DeadlockRow {
            database: database.into(),
            deadlocks,
            conflicts,
            reset_at,
        }
    }

    fn previous(rows: &[DeadlockRow]) -> Previous {
        rows.iter().map(|r| (r.database.clone(), r.clone())).collect()
    }

    #[test]
    fn new_deadlocks_are_the_growth_since_the_previous_run() {
        let before = previous(&[row("app", 3, 0, 100.0), row("other", 0, 7, 100.0)]);
        let now = assess(&[row("app", 5, 0, 100.0), row("other", 0, 7, 100.0)], &before);
        assert_eq!(now[0].new_deadlocks, Some(2));
        assert_eq!(now[0].deadlocks_total, 5);
        assert_eq!((now[1].new_deadlocks, now[1].new_conflicts), (Some(0), Some(0)));
    }

    #[test]
    fn first_sight_and_resets_count_nothing_as_new() {
        assert_eq!(
            assess(&[row("app", 9, 0, 100.0)], &Previous::new())[0].new_deadlocks,
            None
        );
        let before = previous(&[row("app", 9, 0, 100.0)]);
        assert_eq!(
            assess(&[row("app", 1, 0, 200.0)], &before)[0].new_deadlocks,
            None,
            "reset"
        );
        assert_eq!(
            assess(&[row("app", 1, 0, 100.0)], &before)[0].new_deadlocks,
            None,
            "counter fell"
        );
    }
}

//! Cluster-wide transaction and temp counters (`pg_stat_database`) for TPS and the temp-surge
//! rate over the workload interval.

use super::counter_rate;
use serde::Serialize;
use tokio_postgres::Client;

/// The fingerprint changes when any database's statistics are reset or the server restarts,
/// so a rate is never computed across either.
pub const DATABASE_TOTALS_SQL: &str = "\
SELECT COALESCE(sum(xact_commit + xact_rollback), 0)::int8 AS xacts,
       COALESCE(sum(temp_bytes), 0)::int8 AS temp_bytes,
       (COALESCE(sum(EXTRACT(EPOCH FROM stats_reset)), 0) + EXTRACT(EPOCH FROM pg_postmaster_start_time()))::float8 AS reset_fingerprint
  FROM pg_stat_database
 WHERE datname IS NOT NULL";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatabaseTotals {
    pub xacts: i64,
    pub temp_bytes: i64,
    pub reset_fingerprint: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DatabaseRates {
    /// Committed + rolled back transactions per second, all databases.
    pub tps: Option<f64>,
    /// Temp bytes written per second over the workload interval, all databases.
    pub temp_bytes_per_second: Option<f64>,
}

pub fn rates(previous: Option<&DatabaseTotals>, current: &DatabaseTotals, elapsed_seconds: f64) -> DatabaseRates {
    match previous.filter(|p| p.reset_fingerprint == current.reset_fingerprint) {
        Some(p) => DatabaseRates {
            tps: counter_rate(p.xacts, current.xacts, elapsed_seconds),
            temp_bytes_per_second: counter_rate(p.temp_bytes, current.temp_bytes, elapsed_seconds),
        },
        None => DatabaseRates {
            tps: None,
            temp_bytes_per_second: None,
        },
    }
}

pub async fn collect(client: &Client) -> Result<DatabaseTotals, tokio_postgres::Error> {
    let row = client.query_one(DATABASE_TOTALS_SQL, &[]).await?;
    Ok(DatabaseTotals {
        xacts: row.try_get("xacts")?,
        temp_bytes: row.try_get("temp_bytes")?,
        reset_fingerprint: row.try_get("reset_fingerprint")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(xacts: i64, reset: f64) -> DatabaseTotals {
        DatabaseTotals {
            xacts,
            temp_bytes: 0,
            reset_fingerprint: reset,
        }
    }

    #[test]
    fn tps_is_transaction_delta_over_time() {
        assert_eq!(rates(Some(&totals(100, 1.0)), &totals(700, 1.0), 60.0).tps, Some(10.0));
    }

    #[test]
    fn reset_or_restart_gives_no_rate() {
        assert_eq!(rates(Some(&totals(100, 1.0)), &totals(90_000, 2.0), 60.0).tps, None);
        assert_eq!(rates(Some(&totals(100, 1.0)), &totals(50, 1.0), 60.0).tps, None);
        assert_eq!(rates(None, &totals(50, 1.0), 60.0).tps, None);
    }
}

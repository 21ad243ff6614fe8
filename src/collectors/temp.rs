//! Temp spill pulse: temp files and bytes per database (`pg_stat_database`), as the raw
//! counters and as a per-second rate since the previous hot-path tick.

use super::counter_rate;
use serde::Serialize;
use std::collections::HashMap;
use tokio_postgres::Client;

pub const TEMP_SPILL_SQL: &str = "\
SELECT d.datname::text AS database,
       s.temp_files,
       s.temp_bytes,
       COALESCE(EXTRACT(EPOCH FROM s.stats_reset), 0)::float8 AS stats_reset_epoch
  FROM pg_stat_database s
  JOIN pg_database d ON d.oid = s.datid
 WHERE d.datallowconn AND NOT d.datistemplate
 ORDER BY d.datname";

#[derive(Debug, Clone, PartialEq)]
pub struct TempCounters {
    pub database: String,
    pub temp_files: i64,
    pub temp_bytes: i64,
    pub stats_reset_epoch: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TempSpill {
    pub database: String,
    pub temp_files: i64,
    pub temp_bytes: i64,
    /// Bytes written to temp files per second since the previous tick; absent on the first
    /// tick and after a statistics reset.
    pub temp_bytes_per_second: Option<f64>,
    pub temp_files_per_second: Option<f64>,
}

/// Per-database rates against the previous sample (taken `elapsed_seconds` ago).
pub fn with_rates(
    current: &[TempCounters],
    previous: &HashMap<String, TempCounters>,
    elapsed_seconds: Option<f64>,
) -> Vec<TempSpill> {
    current
        .iter()
        .map(|c| {
            // Before PostgreSQL 15 a database's stats_reset is NULL (0 here) until its first
            // statistics arrive; NULL -> a time is that arrival, not a reset.
            let prev = previous
                .get(&c.database)
                .filter(|p| p.stats_reset_epoch == c.stats_reset_epoch || p.stats_reset_epoch == 0.0);
            let rate = |pick: fn(&TempCounters) -> i64| {
                prev.zip(elapsed_seconds)
                    .and_then(|(p, elapsed)| counter_rate(pick(p), pick(c), elapsed))
            };
            TempSpill {
                database: c.database.clone(),
                temp_files: c.temp_files,
                temp_bytes: c.temp_bytes,
                temp_bytes_per_second: rate(|t| t.temp_bytes),
                temp_files_per_second: rate(|t| t.temp_files),
            }
        })
        .collect()
}

pub async fn collect(client: &Client) -> Result<Vec<TempCounters>, tokio_postgres::Error> {
    let rows = client.query(TEMP_SPILL_SQL, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(TempCounters {
                database: r.try_get("database")?,
                temp_files: r.try_get("temp_files")?,
                temp_bytes: r.try_get("temp_bytes")?,
                stats_reset_epoch: r.try_get("stats_reset_epoch")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(db: &str, files: i64, bytes: i64, reset: f64) -> TempCounters {
        TempCounters {
            database: db.into(),
            temp_files: files,
            temp_bytes: bytes,
            stats_reset_epoch: reset,
        }
    }

    #[test]
    fn first_sample_has_no_rate() {
        let out = with_rates(&[counters("app", 1, 100, 0.0)], &HashMap::new(), None);
        assert_eq!(out[0].temp_bytes_per_second, None);
    }

    #[test]
    fn rate_is_bytes_delta_over_elapsed() {
        let prev = HashMap::from([("app".to_string(), counters("app", 1, 1000, 0.0))]);
        let out = with_rates(&[counters("app", 3, 16000, 0.0)], &prev, Some(15.0));
        assert_eq!(out[0].temp_bytes_per_second, Some(1000.0));
        assert!((out[0].temp_files_per_second.unwrap() - 2.0 / 15.0).abs() < 1e-9);
    }

    #[test]
    fn first_statistics_arriving_is_not_a_reset() {
        let prev = HashMap::from([("app".to_string(), counters("app", 0, 0, 0.0))]);
        let out = with_rates(&[counters("app", 2, 30000, 1_795_984_225.0)], &prev, Some(15.0));
        assert_eq!(out[0].temp_bytes_per_second, Some(2000.0));
    }

    #[test]
    fn stats_reset_gives_no_rate_even_if_counter_grew() {
        let prev = HashMap::from([("app".to_string(), counters("app", 1, 1000, 10.0))]);
        let out = with_rates(&[counters("app", 5, 90000, 20.0)], &prev, Some(15.0));
        assert_eq!(out[0].temp_bytes_per_second, None);
    }
}

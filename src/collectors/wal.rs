//! WAL volume: `pg_stat_wal.wal_bytes` on PostgreSQL 14+, the current WAL position before.
//! On a standby `pg_current_wal_lsn()` would fail, so the pre-14 query asks for it only when
//! the server is not in recovery (the CASE is evaluated at run time).

use super::counter_rate;
use serde::Serialize;
use tokio_postgres::Client;

pub const WAL_SQL_14: &str = "\
SELECT wal_bytes::float8 AS wal_bytes,
       EXTRACT(EPOCH FROM stats_reset)::float8 AS stats_reset_epoch
  FROM pg_stat_wal";

pub const WAL_SQL_12: &str = "\
SELECT CASE WHEN pg_is_in_recovery() THEN NULL
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 END AS wal_bytes,
       NULL::float8 AS stats_reset_epoch";

pub fn wal_sql(server_version_num: i32) -> &'static str {
    if server_version_num >= 140000 {
        WAL_SQL_14
    } else {
        WAL_SQL_12
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalCounters {
    /// `None` on a pre-14 standby, where no WAL is written locally.
    pub bytes: Option<f64>,
    pub stats_reset_epoch: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WalStats {
    pub bytes_total: Option<f64>,
    pub bytes_per_second: Option<f64>,
}

pub fn stats(previous: Option<&WalCounters>, current: &WalCounters, elapsed_seconds: f64) -> WalStats {
    let bytes_per_second = previous
        .filter(|p| p.stats_reset_epoch == current.stats_reset_epoch)
        .and_then(|p| Some((p.bytes?, current.bytes?)))
        .and_then(|(prev, cur)| counter_rate(prev as i64, cur as i64, elapsed_seconds));
    WalStats {
        bytes_total: current.bytes,
        bytes_per_second,
    }
}

pub async fn collect(client: &Client, server_version_num: i32) -> Result<WalCounters, tokio_postgres::Error> {
    let row = client.query_one(wal_sql(server_version_num), &[]).await?;
    Ok(WalCounters {
        bytes: row.try_get("wal_bytes")?,
        stats_reset_epoch: row.try_get("stats_reset_epoch")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal(bytes: Option<f64>, reset: Option<f64>) -> WalCounters {
        WalCounters {
            bytes,
            stats_reset_epoch: reset,
        }
    }

    #[test]
    fn rate_from_consecutive_samples() {
        let s = stats(Some(&wal(Some(1e6), Some(5.0))), &wal(Some(7e6), Some(5.0)), 60.0);
        assert_eq!(s.bytes_per_second, Some(100_000.0));
        assert_eq!(s.bytes_total, Some(7e6));
    }

    #[test]
    fn reset_standby_and_first_sample_have_no_rate() {
        assert_eq!(
            stats(Some(&wal(Some(9e6), Some(5.0))), &wal(Some(1e3), Some(6.0)), 60.0).bytes_per_second,
            None
        );
        assert_eq!(
            stats(Some(&wal(None, None)), &wal(None, None), 60.0).bytes_per_second,
            None
        );
        assert_eq!(stats(None, &wal(Some(1.0), None), 60.0).bytes_per_second, None);
    }

    #[test]
    fn sql_variant_follows_server_version() {
        assert_eq!(wal_sql(170000), WAL_SQL_14);
        assert_eq!(wal_sql(130000), WAL_SQL_12);
    }
}

//! Stale planner statistics: tables modified since their last (auto)analyze whose last analyze
//! is older than `stats_stale_warn_hours`.
//!
//! `pg_stat_reset()` (or a crash) forgets every analyze time, so a table without one is judged
//! on how long it has been *observed* without an analyze: since the later of the database's
//! `stats_reset` and the server start, a lower bound of its real age. It is stale only once
//! that reaches the threshold, and it is `never_analyzed` only when `pg_class` shows no planner
//! statistics either (`reltuples = -1` from PostgreSQL 14, `reltuples = 0 AND relpages = 0`
//! before). So a statistics reset raises no alert for tables whose statistics are intact.

use super::freshness::Severity;
use serde::Serialize;
use tokio_postgres::Client;

/// PostgreSQL 14+: `reltuples` is -1 until the first VACUUM, ANALYZE or CREATE INDEX.
pub const STALE_STATS_SQL_14: &str = "\
SELECT s.schemaname::text AS schema,
       s.relname::text AS name,
       s.n_mod_since_analyze,
       EXTRACT(EPOCH FROM (now() - GREATEST(s.last_analyze, s.last_autoanalyze)))::float8 AS analyze_age,
       EXTRACT(EPOCH FROM (now() - o.since))::float8 AS observed_seconds,
       c.reltuples >= 0 AS has_planner_stats
  FROM pg_stat_user_tables s
  JOIN pg_class c ON c.oid = s.relid
 CROSS JOIN (SELECT GREATEST(stats_reset, pg_postmaster_start_time()) AS since
               FROM pg_stat_database WHERE datname = current_database()) o
 WHERE s.n_mod_since_analyze > 0
   -- the last analyze, or when watching for one began (reset, server start): a lower bound
   AND COALESCE(GREATEST(s.last_analyze, s.last_autoanalyze), o.since) < now() - make_interval(hours => $1)
 ORDER BY s.n_mod_since_analyze DESC, s.relid
 LIMIT $2";

/// PostgreSQL 12–13: `reltuples` is 0 before the first VACUUM, ANALYZE or CREATE INDEX (and
/// for an empty table after one); `relpages > 0` tells a table that has data.
pub const STALE_STATS_SQL_12: &str = "\
SELECT s.schemaname::text AS schema,
       s.relname::text AS name,
       s.n_mod_since_analyze,
       EXTRACT(EPOCH FROM (now() - GREATEST(s.last_analyze, s.last_autoanalyze)))::float8 AS analyze_age,
       EXTRACT(EPOCH FROM (now() - o.since))::float8 AS observed_seconds,
       c.reltuples > 0 OR c.relpages > 0 AS has_planner_stats
  FROM pg_stat_user_tables s
  JOIN pg_class c ON c.oid = s.relid
 CROSS JOIN (SELECT GREATEST(stats_reset, pg_postmaster_start_time()) AS since
               FROM pg_stat_database WHERE datname = current_database()) o
 WHERE s.n_mod_since_analyze > 0
   -- the last analyze, or when watching for one began (reset, server start): a lower bound
   AND COALESCE(GREATEST(s.last_analyze, s.last_autoanalyze), o.since) < now() - make_interval(hours => $1)
 ORDER BY s.n_mod_since_analyze DESC, s.relid
 LIMIT $2";

pub fn stale_stats_sql(server_version_num: i32) -> &'static str {
    if server_version_num >= 140000 {
        STALE_STATS_SQL_14
    } else {
        STALE_STATS_SQL_12
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StaleRow {
    pub schema: String,
    pub name: String,
    pub modified_since_analyze: i64,
    /// Seconds since the last (auto)analyze; `None` when none is recorded.
    pub analyze_age: Option<f64>,
    /// Seconds since the later of the statistics reset and the server start.
    pub observed_seconds: f64,
    pub has_planner_stats: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleTable {
    pub relation: String,
    pub modified_since_analyze: i64,
    /// Seconds since the last (auto)analyze; without a recorded analyze, how long the table has
    /// been watched without one (since the statistics reset or server start): a lower bound.
    pub stale_seconds: f64,
    /// `stale_seconds` is that lower bound: no analyze is recorded since the statistics reset
    /// (or server start).
    pub stale_seconds_lower_bound: bool,
    /// No analyze recorded and no planner statistics in `pg_class` either.
    pub never_analyzed: bool,
    pub severity: Severity,
    pub fix: String,
}

/// The verdict for one row: stale when modified since an analyze that is older than
/// `warn_hours`, or, with no analyze recorded, watched without one for `warn_hours`.
pub fn assess(row: StaleRow, warn_hours: u64, crit_hours: u64) -> Option<StaleTable> {
    let stale_seconds = row.analyze_age.unwrap_or(row.observed_seconds);
    if row.modified_since_analyze <= 0 || stale_seconds < warn_hours as f64 * 3600.0 {
        return None;
    }
    let relation = crate::db::capabilities::qualified_name(&row.schema, &row.name);
    Some(StaleTable {
        fix: format!("ANALYZE {relation};"),
        relation,
        modified_since_analyze: row.modified_since_analyze,
        stale_seconds,
        stale_seconds_lower_bound: row.analyze_age.is_none(),
        never_analyzed: row.analyze_age.is_none() && !row.has_planner_stats,
        severity: if stale_seconds >= crit_hours as f64 * 3600.0 {
            Severity::Crit
        } else {
            Severity::Warn
        },
    })
}

pub async fn collect(
    client: &Client,
    server_version_num: i32,
    warn_hours: u64,
    crit_hours: u64,
    limit: u32,
) -> Result<Vec<StaleTable>, tokio_postgres::Error> {
    let hours = i32::try_from(warn_hours).unwrap_or(i32::MAX);
    let rows = client
        .query(stale_stats_sql(server_version_num), &[&hours, &i64::from(limit)])
        .await?;
    let mut stale = Vec::with_capacity(rows.len());
    for r in &rows {
        let row = StaleRow {
            schema: r.try_get("schema")?,
            name: r.try_get("name")?,
            modified_since_analyze: r.try_get("n_mod_since_analyze")?,
            analyze_age: r.try_get("analyze_age")?,
            observed_seconds: r.try_get("observed_seconds")?,
            has_planner_stats: r.try_get("has_planner_stats")?,
        };
        stale.extend(assess(row, warn_hours, crit_hours));
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: f64 = 3600.0;

    fn row(analyze_age: Option<f64>, observed_hours: f64, has_planner_stats: bool) -> StaleRow {
        StaleRow {
            schema: "public".into(),
            name: "orders".into(),
            modified_since_analyze: 500,
            analyze_age,
            observed_seconds: observed_hours * HOUR,
            has_planner_stats,
        }
    }

    #[test]
    fn analyzed_long_ago_and_modified_is_stale() {
        let t = assess(row(Some(13.0 * HOUR), 1.0, true), 12, 72).expect("stale");
        assert_eq!(
            (
                t.stale_seconds,
                t.stale_seconds_lower_bound,
                t.never_analyzed,
                t.severity
            ),
            (13.0 * HOUR, false, false, Severity::Warn)
        );
        assert_eq!(t.fix, "ANALYZE public.orders;");
        let t = assess(row(Some(80.0 * HOUR), 1.0, true), 12, 72).expect("stale");
        assert_eq!(t.severity, Severity::Crit);
    }

    #[test]
    fn recently_analyzed_or_unmodified_is_not_stale() {
        assert_eq!(assess(row(Some(HOUR), 100.0, true), 12, 72), None);
        let unmodified = StaleRow {
            modified_since_analyze: 0,
            ..row(Some(13.0 * HOUR), 1.0, true)
        };
        assert_eq!(assess(unmodified, 12, 72), None);
    }

    #[test]
    fn minutes_after_a_stats_reset_nothing_is_stale() {
        // pg_stat_reset() forgot the analyze times of tables whose statistics are intact.
        assert_eq!(assess(row(None, 0.1, true), 12, 72), None);
        // Even a table that was never analyzed has not been watched long enough.
        assert_eq!(assess(row(None, 0.1, false), 12, 72), None);
    }

    #[test]
    fn watched_past_the_threshold_without_analyze_is_stale_with_a_lower_bound() {
        let t = assess(row(None, 13.0, true), 12, 72).expect("stale");
        assert_eq!(
            (t.stale_seconds, t.stale_seconds_lower_bound, t.never_analyzed),
            (13.0 * HOUR, true, false),
            "planner statistics exist: analyzed before the reset, not never"
        );
        let t = assess(row(None, 13.0, false), 12, 72).expect("stale");
        assert!(t.never_analyzed && t.stale_seconds_lower_bound);
    }

    #[test]
    fn each_version_reads_its_own_planner_statistics_signal() {
        assert!(stale_stats_sql(180000).contains("c.reltuples >= 0 AS has_planner_stats"));
        assert!(stale_stats_sql(140000).contains("c.reltuples >= 0 AS has_planner_stats"));
        assert!(stale_stats_sql(130000).contains("c.reltuples > 0 OR c.relpages > 0 AS has_planner_stats"));
    }
}

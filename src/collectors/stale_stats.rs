//! Stale planner statistics: tables modified since their last (auto)analyze whose last analyze
//! is older than `stats_stale_warn_hours` (or that were never analyzed).

use super::freshness::Severity;
use serde::Serialize;
use tokio_postgres::Client;

pub const STALE_STATS_SQL: &str = "\
SELECT s.schemaname::text AS schema,
       s.relname::text AS name,
       s.n_mod_since_analyze,
       EXTRACT(EPOCH FROM (now() - GREATEST(s.last_analyze, s.last_autoanalyze)))::float8 AS analyze_age,
       EXTRACT(EPOCH FROM (now() - COALESCE(d.stats_reset, pg_postmaster_start_time())))::float8 AS observed_seconds
  FROM pg_stat_user_tables s
 CROSS JOIN (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) d
 WHERE s.n_mod_since_analyze > 0
   AND (GREATEST(s.last_analyze, s.last_autoanalyze) IS NULL
        OR GREATEST(s.last_analyze, s.last_autoanalyze) < now() - make_interval(hours => $1))
 ORDER BY s.n_mod_since_analyze DESC, s.relid
 LIMIT $2";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleTable {
    pub relation: String,
    pub modified_since_analyze: i64,
    /// Seconds since the last (auto)analyze; for a never-analyzed table, how long statistics
    /// have been collected (a lower bound).
    pub stale_seconds: f64,
    pub never_analyzed: bool,
    pub severity: Severity,
    pub fix: String,
}

pub async fn collect(
    client: &Client,
    warn_hours: u64,
    crit_hours: u64,
    limit: u32,
) -> Result<Vec<StaleTable>, tokio_postgres::Error> {
    let hours = i32::try_from(warn_hours).unwrap_or(i32::MAX);
    let rows = client.query(STALE_STATS_SQL, &[&hours, &i64::from(limit)]).await?;
    rows.iter()
        .map(|r| {
            let (schema, name): (String, String) = (r.try_get("schema")?, r.try_get("name")?);
            let analyze_age: Option<f64> = r.try_get("analyze_age")?;
            let observed: f64 = r.try_get("observed_seconds")?;
            let stale_seconds = analyze_age.unwrap_or(observed);
            let quote = crate::db::capabilities::quote_ident;
            Ok(StaleTable {
                relation: super::sanitize_label(&format!("{schema}.{name}")),
                modified_since_analyze: r.try_get("n_mod_since_analyze")?,
                stale_seconds,
                never_analyzed: analyze_age.is_none(),
                severity: if stale_seconds >= crit_hours as f64 * 3600.0 {
                    Severity::Crit
                } else {
                    Severity::Warn
                },
                fix: format!("ANALYZE {}.{};", quote(&schema), quote(&name)),
            })
        })
        .collect()
}

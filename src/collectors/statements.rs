//! Top statements and cluster-wide QPS / mean latency from `pg_stat_statements`.
//!
//! The numbers are read with `pg_stat_statements(false)`: no query text, because loading the
//! text file on every poll is what spilled huge temp files and OOM-killed backends under other
//! exporters. Rows are summed per (database, queryid) across users and top-level flags, ranked
//! three ways in SQL, and only the union of the three Top-N leaves the server. Normalized text
//! is fetched only for Top-N ids not seen before, only when `redact_sql_text` is false.

use super::counter_rate;
use serde::Serialize;
use std::collections::HashMap;
use tokio_postgres::Client;

/// `$top` marks the rows whose calls count toward QPS and mean latency: with
/// `pg_stat_statements.track = all`, nested statements would otherwise count twice.
macro_rules! statements_sql {
    ($exec:literal, $plan:literal, $reset:literal, $top:literal) => {
        concat!(
            "WITH s AS (
  SELECT dbid, queryid,
         sum(calls)::int8 AS calls,
         sum(",
            $exec,
            ")::float8 AS exec_ms,
         sum(",
            $plan,
            ")::float8 AS plan_ms,
         sum(rows)::int8 AS rows,
         sum(shared_blks_hit)::int8 AS shared_blks_hit,
         sum(shared_blks_read)::int8 AS shared_blks_read,
         COALESCE(sum(calls) FILTER (WHERE ",
            $top,
            "), 0)::int8 AS top_calls,
         COALESCE(sum(",
            $exec,
            ") FILTER (WHERE ",
            $top,
            "), 0)::float8 AS top_exec_ms
    FROM pg_stat_statements(false)
   WHERE queryid IS NOT NULL
   GROUP BY dbid, queryid
), ranked AS (
  SELECT s.*,
         sum(top_calls) OVER ()::int8 AS all_calls,
         sum(top_exec_ms) OVER ()::float8 AS all_exec_ms,
         count(*) OVER ()::int8 AS all_statements,
         row_number() OVER (ORDER BY exec_ms + plan_ms DESC, dbid, queryid) AS rank_by_time,
         row_number() OVER (ORDER BY calls DESC, dbid, queryid) AS rank_by_calls,
         row_number() OVER (ORDER BY shared_blks_read DESC, dbid, queryid) AS rank_by_read
    FROM s
)
SELECT r.queryid, d.datname::text AS database, r.calls, r.exec_ms, r.plan_ms, r.rows,
       r.shared_blks_hit, r.shared_blks_read, r.all_calls, r.all_exec_ms, r.all_statements,
       r.rank_by_time, r.rank_by_calls, r.rank_by_read,
       ",
            $reset,
            " AS stats_reset_epoch
  FROM ranked r
  LEFT JOIN pg_database d ON d.oid = r.dbid
 WHERE r.rank_by_time <= $1 OR r.rank_by_calls <= $1 OR (r.rank_by_read <= $1 AND r.shared_blks_read > 0)
 ORDER BY r.rank_by_time"
        )
    };
}

/// pg_stat_statements 1.9+ (PostgreSQL 14+): exec and plan time, and `pg_stat_statements_info`
/// says when it was last reset.
pub const STATEMENTS_SQL_V1_9: &str = statements_sql!(
    "total_exec_time",
    "total_plan_time",
    "(SELECT EXTRACT(EPOCH FROM stats_reset)::float8 FROM pg_stat_statements_info)",
    "toplevel"
);
/// pg_stat_statements 1.8 (PostgreSQL 13): exec and plan time, no reset time.
pub const STATEMENTS_SQL_V1_8: &str = statements_sql!("total_exec_time", "total_plan_time", "NULL::float8", "true");
/// pg_stat_statements up to 1.7 (PostgreSQL 12): one `total_time`.
pub const STATEMENTS_SQL_V1_7: &str = statements_sql!("total_time", "0", "NULL::float8", "true");

/// Normalized text for the given ids only (this does load the text file, hence the cache).
pub const STATEMENT_TEXT_SQL: &str = "\
SELECT DISTINCT ON (queryid) queryid, left(query, 4096) AS query
  FROM pg_stat_statements(true)
 WHERE queryid = ANY($1)
 ORDER BY queryid";

pub fn statements_sql(version: Option<(u32, u32)>) -> &'static str {
    match version {
        Some(v) if v >= (1, 9) => STATEMENTS_SQL_V1_9,
        Some(v) if v >= (1, 8) => STATEMENTS_SQL_V1_8,
        _ => STATEMENTS_SQL_V1_7,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementRow {
    pub queryid: i64,
    pub database: Option<String>,
    pub calls: i64,
    pub exec_ms: f64,
    pub plan_ms: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    pub rank_by_time: i64,
    pub rank_by_calls: i64,
    pub rank_by_read: i64,
}

/// Sums over every statement, for QPS and mean latency.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StatementTotals {
    pub calls: i64,
    pub exec_ms: f64,
    pub statements: i64,
    pub stats_reset_epoch: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatementsSample {
    pub totals: StatementTotals,
    pub top: Vec<StatementRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopStatement {
    /// As a string: JSON numbers lose precision past 2^53 and queryids are 64-bit.
    pub queryid: String,
    pub database: Option<String>,
    pub calls: i64,
    pub total_time_seconds: f64,
    pub exec_time_seconds: f64,
    pub plan_time_seconds: f64,
    pub mean_time_seconds: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    pub rank_by_time: i64,
    pub rank_by_calls: i64,
    pub rank_by_read: i64,
    /// Normalized text, only when `security.redact_sql_text` is false.
    pub query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopStatements {
    /// False when pg_stat_statements cannot be read; `unavailable_reason` says why and how to fix.
    pub available: bool,
    pub unavailable_reason: Option<String>,
    pub statements_tracked: i64,
    /// `limits.top_queries`: `top` is the union of the three Top-N rankings.
    pub top_n: u32,
    pub top: Vec<TopStatement>,
}

impl TopStatements {
    pub fn unavailable(reason: String) -> Self {
        Self {
            available: false,
            unavailable_reason: Some(reason),
            statements_tracked: 0,
            top_n: 0,
            top: Vec::new(),
        }
    }
}

pub fn top_statements(sample: &StatementsSample, texts: &HashMap<i64, String>, top_n: u32) -> TopStatements {
    let top = sample
        .top
        .iter()
        .map(|r| TopStatement {
            queryid: r.queryid.to_string(),
            database: r.database.clone(),
            calls: r.calls,
            total_time_seconds: (r.exec_ms + r.plan_ms) / 1000.0,
            exec_time_seconds: r.exec_ms / 1000.0,
            plan_time_seconds: r.plan_ms / 1000.0,
            mean_time_seconds: if r.calls > 0 {
                r.exec_ms / 1000.0 / r.calls as f64
            } else {
                0.0
            },
            rows: r.rows,
            shared_blks_hit: r.shared_blks_hit,
            shared_blks_read: r.shared_blks_read,
            rank_by_time: r.rank_by_time,
            rank_by_calls: r.rank_by_calls,
            rank_by_read: r.rank_by_read,
            query: texts.get(&r.queryid).cloned(),
        })
        .collect();
    TopStatements {
        available: true,
        unavailable_reason: None,
        statements_tracked: sample.totals.statements,
        top_n,
        top,
    }
}

/// Statements per second and calls-weighted mean execution time over the interval.
/// `None` on the first sample and across a reset (the totals went down or the reset time moved).
pub fn qps_and_mean_latency(
    previous: Option<&StatementTotals>,
    current: &StatementTotals,
    elapsed_seconds: f64,
) -> (Option<f64>, Option<f64>) {
    let Some(prev) = previous else { return (None, None) };
    if prev.stats_reset_epoch != current.stats_reset_epoch || current.exec_ms < prev.exec_ms {
        return (None, None);
    }
    let qps = counter_rate(prev.calls, current.calls, elapsed_seconds);
    let calls = current.calls - prev.calls;
    let latency = match qps {
        Some(_) if calls > 0 => Some((current.exec_ms - prev.exec_ms) / 1000.0 / calls as f64),
        _ => None,
    };
    (qps, latency)
}

/// The sample, or `Ok(None)` when the server says the library is not preloaded.
pub async fn collect(
    client: &Client,
    version: Option<(u32, u32)>,
    top_n: u32,
) -> Result<Option<StatementsSample>, tokio_postgres::Error> {
    let rows = match client.query(statements_sql(version), &[&i64::from(top_n)]).await {
        Ok(rows) => rows,
        // 55000 object_not_in_prerequisite_state: "must be loaded via shared_preload_libraries".
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let mut sample = StatementsSample::default();
    for r in &rows {
        sample.totals = StatementTotals {
            calls: r.try_get("all_calls")?,
            exec_ms: r.try_get("all_exec_ms")?,
            statements: r.try_get("all_statements")?,
            stats_reset_epoch: r.try_get("stats_reset_epoch")?,
        };
        sample.top.push(StatementRow {
            queryid: r.try_get("queryid")?,
            database: r.try_get("database")?,
            calls: r.try_get("calls")?,
            exec_ms: r.try_get("exec_ms")?,
            plan_ms: r.try_get("plan_ms")?,
            rows: r.try_get("rows")?,
            shared_blks_hit: r.try_get("shared_blks_hit")?,
            shared_blks_read: r.try_get("shared_blks_read")?,
            rank_by_time: r.try_get("rank_by_time")?,
            rank_by_calls: r.try_get("rank_by_calls")?,
            rank_by_read: r.try_get("rank_by_read")?,
        });
    }
    Ok(Some(sample))
}

pub async fn collect_texts(client: &Client, queryids: &[i64]) -> Result<HashMap<i64, String>, tokio_postgres::Error> {
    if queryids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client.query(STATEMENT_TEXT_SQL, &[&queryids]).await?;
    // The text can be NULL (not visible to this role, or the text file was garbage-collected).
    let mut texts = HashMap::new();
    for r in &rows {
        if let Some(text) = r.try_get::<_, Option<String>>("query")? {
            texts.insert(r.try_get("queryid")?, text);
        }
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(calls: i64, exec_ms: f64, reset: Option<f64>) -> StatementTotals {
        StatementTotals {
            calls,
            exec_ms,
            statements: 10,
            stats_reset_epoch: reset,
        }
    }

    #[test]
    fn qps_and_latency_are_interval_deltas() {
        let (qps, latency) =
            qps_and_mean_latency(Some(&totals(1000, 5000.0, None)), &totals(7000, 35000.0, None), 60.0);
        assert_eq!(qps, Some(100.0));
        assert_eq!(latency, Some(0.005), "30 s of execution over 6000 calls");
    }

    #[test]
    fn first_sample_and_resets_give_no_rate() {
        assert_eq!(qps_and_mean_latency(None, &totals(5, 1.0, None), 60.0), (None, None));
        // pg_stat_statements_reset(): totals drop.
        assert_eq!(
            qps_and_mean_latency(Some(&totals(9000, 9e5, None)), &totals(12, 3.0, None), 60.0),
            (None, None)
        );
        // Reset then more calls than before within one interval: the reset time gives it away.
        assert_eq!(
            qps_and_mean_latency(Some(&totals(10, 10.0, Some(1.0))), &totals(500, 900.0, Some(2.0)), 60.0),
            (None, None)
        );
    }

    #[test]
    fn idle_interval_has_zero_qps_and_no_latency() {
        assert_eq!(
            qps_and_mean_latency(Some(&totals(10, 10.0, None)), &totals(10, 10.0, None), 60.0),
            (Some(0.0), None)
        );
    }

    #[test]
    fn sql_variant_follows_extension_version() {
        assert!(statements_sql(Some((1, 10))).contains("pg_stat_statements_info"));
        assert!(statements_sql(Some((1, 8))).contains("total_exec_time"));
        assert!(!statements_sql(Some((1, 8))).contains("pg_stat_statements_info"));
        assert!(statements_sql(Some((1, 7))).contains("sum(total_time)"));
        for v in [(1, 7), (1, 8), (1, 11)] {
            assert!(
                statements_sql(Some(v)).contains("pg_stat_statements(false)"),
                "never reads query text"
            );
        }
    }

    #[test]
    fn top_statement_mean_and_text() {
        let row = StatementRow {
            queryid: -4_611_686_018_427_387_904,
            database: Some("app".into()),
            calls: 4,
            exec_ms: 200.0,
            plan_ms: 40.0,
            rows: 4,
            shared_blks_hit: 10,
            shared_blks_read: 2,
            rank_by_time: 1,
            rank_by_calls: 3,
            rank_by_read: 2,
        };
        let sample = StatementsSample {
            totals: totals(4, 200.0, None),
            top: vec![row],
        };
        let texts = HashMap::from([(-4_611_686_018_427_387_904, "SELECT $1".to_string())]);
        let top = top_statements(&sample, &texts, 50);
        assert_eq!(top.top[0].queryid, "-4611686018427387904");
        assert_eq!(top.top[0].mean_time_seconds, 0.05);
        assert!((top.top[0].total_time_seconds - 0.24).abs() < 1e-12);
        assert_eq!(top.top[0].query.as_deref(), Some("SELECT $1"));
    }
}

//! Top statements and cluster-wide QPS / mean latency from `pg_stat_statements`.
//!
//! The numbers are read with `pg_stat_statements(false)`: no query text, because loading the
//! text file on every poll is what spilled huge temp files and OOM-killed backends under other
//! exporters. Rows are summed per (database, queryid) across users and top-level flags in SQL,
//! streamed to the agent and ranked three ways there ([`rank`]); only the union of the three
//! Top-N is kept. Normalized text
//! is fetched only for Top-N ids not seen before. With `redact_sql_text: true` (the default) a
//! text is shown only when [`shown_text`] finds it safe: a planned statement whose constants
//! pg_stat_statements has all replaced (no quoted literal left), with its comments removed.

use super::counter_rate;
use serde::Serialize;
use std::collections::HashMap;
use tokio_postgres::Client;

/// One row per (database, queryid), summed across users and top-level flags; ranked in the
/// agent ([`rank`]), not in SQL: three window sorts over every entry cost the server twice the
/// read itself (85 ms against 20 ms on 19k entries), while the agent ranks the same rows in
/// about a millisecond. Sums are float8 (exact to 2^53, far above any call or block count):
/// numeric sums of the int8 counters cost a third of the aggregation.
///
/// `$top` marks the rows whose calls count toward QPS and mean latency: with
/// `pg_stat_statements.track = all`, nested statements would otherwise count twice.
macro_rules! statements_sql {
    ($exec:literal, $plan:literal, $reset:literal, $top:literal) => {
        concat!(
            "SELECT s.dbid::int8 AS dbid, s.queryid, d.datname::text AS database, s.calls, s.exec_ms, s.plan_ms,
       s.rows, s.shared_blks_hit, s.shared_blks_read, s.top_calls, s.top_exec_ms,
       ",
            $reset,
            " AS stats_reset_epoch
  FROM (SELECT dbid, queryid,
               sum(calls::float8)::int8 AS calls,
               sum(",
            $exec,
            ")::float8 AS exec_ms,
               sum(",
            $plan,
            ")::float8 AS plan_ms,
               sum(rows::float8)::int8 AS rows,
               sum(shared_blks_hit::float8)::int8 AS shared_blks_hit,
               sum(shared_blks_read::float8)::int8 AS shared_blks_read,
               COALESCE(sum(calls::float8) FILTER (WHERE ",
            $top,
            "), 0)::int8 AS top_calls,
               COALESCE(sum(",
            $exec,
            ") FILTER (WHERE ",
            $top,
            "), 0)::float8 AS top_exec_ms
          FROM pg_stat_statements(false)
         WHERE queryid IS NOT NULL
         GROUP BY dbid, queryid) s
  LEFT JOIN pg_database d ON d.oid = s.dbid"
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

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
    /// Normalized text: every text when `security.redact_sql_text` is false, else only what
    /// [`shown_text`] lets through. `None` when redacted or not available.
    pub query: Option<String>,
    /// Why `query` is `None` although the text was read (`redact_sql_text: true` only).
    pub query_redacted: Option<Redacted>,
}

/// Why [`shown_text`] keeps a statement's text back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Redacted {
    /// Not a planned statement (`ALTER ROLE … PASSWORD …`, `SET`, `COPY`, `EXPLAIN`, …):
    /// pg_stat_statements does not replace the constants of most utility statements.
    UtilityStatement,
    /// A single-quoted (`'…'`, `E'…'`, `U&'…'`, …) or dollar-quoted (`$$…$$`, `$tag$…$tag$`)
    /// literal is still in the text.
    QuotedLiteral,
    /// More than one statement in the text: only the first would have been checked.
    MultipleStatements,
}

/// The first keyword of a planned (optimizable) statement: the only ones whose constants
/// pg_stat_statements replaces with `$n`.
const PLANNED_KEYWORDS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "VALUES", "TABLE",
];

/// A statement text as the API may show it when `security.redact_sql_text` is true: `Ok` with
/// the text, comments removed (a comment can carry anything, secrets included), when the first
/// keyword after whitespace, comments and opening parentheses is one of SELECT, INSERT, UPDATE,
/// DELETE, WITH, MERGE, VALUES or TABLE, no quoted literal is left (no `'` outside comments and
/// quoted identifiers, so no `'…'`, `E'…'`, `U&'…'`, `B'…'`, `X'…'`; no dollar quote: a `$`
/// outside an identifier must be a `$n` parameter), and it is one statement. Else `Err` with
/// why. Comments are read as PostgreSQL's lexer reads them: `--` to the end of the line, and
/// `/* */` nested; inside a `"quoted identifier"` nothing is a comment or a literal.
pub fn shown_text(text: &str) -> Result<String, Redacted> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let ident_start = |c: char| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii();
    let ident_cont = |c: char| ident_start(c) || c.is_ascii_digit() || c == '$';
    // A comment separates tokens: it becomes one space.
    let space = |out: &mut String| {
        if !out.ends_with(char::is_whitespace) {
            out.push(' ');
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut ended = false;
    // What is wrong with the text after its first keyword, once it is found.
    let mut unsafe_text = None;
    let mut i = 0;
    while let Some(c) = at(i) {
        if c == '-' && at(i + 1) == Some('-') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
            space(&mut out);
            continue;
        }
        if c == '/' && at(i + 1) == Some('*') {
            let mut depth = 0;
            while at(i).is_some() {
                if at(i) == Some('/') && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if at(i) == Some('*') && at(i + 1) == Some('/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            space(&mut out);
            continue;
        }
        if ended && !c.is_whitespace() && c != ';' {
            unsafe_text = Some(Redacted::MultipleStatements);
            break;
        }
        match c {
            '\'' => {
                unsafe_text = Some(Redacted::QuotedLiteral);
                break;
            }
            '$' if !at(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                unsafe_text = Some(Redacted::QuotedLiteral);
                break;
            }
            '"' => {
                // A quoted identifier, `""` inside it being one quote: copied as is.
                out.push(c);
                i += 1;
                while let Some(q) = at(i) {
                    out.push(q);
                    i += 1;
                    if q == '"' {
                        if at(i) == Some('"') {
                            out.push('"');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
                continue;
            }
            c if ident_start(c) => {
                // A word: `$` inside it (`a$b`) opens no dollar quote.
                while let Some(w) = at(i).filter(|w| ident_cont(*w)) {
                    out.push(w);
                    i += 1;
                }
                continue;
            }
            ';' => ended = true,
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    let first = out
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    if !PLANNED_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(first)) {
        return Err(Redacted::UtilityStatement);
    }
    match unsafe_text {
        Some(why) => Err(why),
        None => Ok(out.trim().to_string()),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopStatements {
    /// False when pg_stat_statements cannot be read; `unavailable_reason` says why and how to fix.
    pub available: bool,
    /// `security.redact_sql_text`: when true, only texts [`shown_text`] lets through are shown.
    pub redact_sql_text: bool,
    pub unavailable_reason: Option<String>,
    pub statements_tracked: i64,
    /// `limits.top_queries`: `top` is the union of the three Top-N rankings.
    pub top_n: u32,
    pub top: Vec<TopStatement>,
}

impl TopStatements {
    pub fn unavailable(reason: String, redact_sql_text: bool) -> Self {
        Self {
            available: false,
            redact_sql_text,
            unavailable_reason: Some(reason),
            statements_tracked: 0,
            top_n: 0,
            top: Vec::new(),
        }
    }
}

/// The Top-N with their texts: `texts` holds, per queryid, the text as it may be shown (or why
/// not), as [`texts_to_show`] made it.
pub fn top_statements(
    sample: &StatementsSample,
    texts: &HashMap<i64, Result<String, Redacted>>,
    top_n: u32,
    redact_sql_text: bool,
) -> TopStatements {
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
            query: texts.get(&r.queryid).and_then(|t| t.clone().ok()),
            query_redacted: texts.get(&r.queryid).and_then(|t| t.clone().err()),
        })
        .collect();
    TopStatements {
        available: true,
        redact_sql_text,
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

/// One (database, queryid) as the server sums it, before ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementSums {
    pub dbid: i64,
    pub queryid: i64,
    pub database: Option<String>,
    pub calls: i64,
    pub exec_ms: f64,
    pub plan_ms: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    /// Calls and execution time of top-level statements only (QPS and mean latency).
    pub top_calls: i64,
    pub top_exec_ms: f64,
}

/// The totals over every statement, and the union of the Top-`top_n` by total time, by calls
/// and by shared blocks read (those with any), each with its rank among all statements in all
/// three orders (ties by dbid, then queryid), ordered by time rank.
pub fn rank(all: Vec<StatementSums>, top_n: u32, stats_reset_epoch: Option<f64>) -> StatementsSample {
    let n = all.len();
    if n == 0 {
        return StatementsSample::default();
    }
    let totals = StatementTotals {
        calls: all.iter().map(|s| s.top_calls).sum(),
        exec_ms: all.iter().map(|s| s.top_exec_ms).sum(),
        statements: n as i64,
        stats_reset_epoch,
    };
    let ranks_by = |key: &dyn Fn(&StatementSums, &StatementSums) -> std::cmp::Ordering| {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by(|&a, &b| {
            key(&all[a], &all[b])
                .then(all[a].dbid.cmp(&all[b].dbid))
                .then(all[a].queryid.cmp(&all[b].queryid))
        });
        let mut rank = vec![0i64; n];
        for (position, index) in order.into_iter().enumerate() {
            rank[index] = position as i64 + 1;
        }
        rank
    };
    let by_time = ranks_by(&|a, b| (b.exec_ms + b.plan_ms).total_cmp(&(a.exec_ms + a.plan_ms)));
    let by_calls = ranks_by(&|a, b| b.calls.cmp(&a.calls));
    let by_read = ranks_by(&|a, b| b.shared_blks_read.cmp(&a.shared_blks_read));
    let top_n = i64::from(top_n);
    let mut top: Vec<StatementRow> = all
        .into_iter()
        .enumerate()
        .filter(|(i, s)| {
            by_time[*i] <= top_n || by_calls[*i] <= top_n || (by_read[*i] <= top_n && s.shared_blks_read > 0)
        })
        .map(|(i, s)| StatementRow {
            queryid: s.queryid,
            database: s.database,
            calls: s.calls,
            exec_ms: s.exec_ms,
            plan_ms: s.plan_ms,
            rows: s.rows,
            shared_blks_hit: s.shared_blks_hit,
            shared_blks_read: s.shared_blks_read,
            rank_by_time: by_time[i],
            rank_by_calls: by_calls[i],
            rank_by_read: by_read[i],
        })
        .collect();
    top.sort_by_key(|r| r.rank_by_time);
    StatementsSample { totals, top }
}

/// The sample, or `Ok(None)` when the server says the library is not preloaded. Rows are
/// streamed and kept as plain sums (~100 bytes each), not as driver rows.
pub async fn collect(
    client: &Client,
    version: Option<(u32, u32)>,
    top_n: u32,
) -> Result<Option<StatementsSample>, tokio_postgres::Error> {
    use futures::TryStreamExt;
    let stream = match client
        .query_raw(statements_sql(version), std::iter::empty::<i64>())
        .await
    {
        Ok(stream) => stream,
        // 55000 object_not_in_prerequisite_state: "must be loaded via shared_preload_libraries".
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    futures::pin_mut!(stream);
    let mut all = Vec::new();
    let mut stats_reset_epoch = None;
    while let Some(r) = stream.try_next().await? {
        stats_reset_epoch = r.try_get("stats_reset_epoch")?;
        all.push(StatementSums {
            dbid: r.try_get("dbid")?,
            queryid: r.try_get("queryid")?,
            database: r.try_get("database")?,
            calls: r.try_get("calls")?,
            exec_ms: r.try_get("exec_ms")?,
            plan_ms: r.try_get("plan_ms")?,
            rows: r.try_get("rows")?,
            shared_blks_hit: r.try_get("shared_blks_hit")?,
            shared_blks_read: r.try_get("shared_blks_read")?,
            top_calls: r.try_get("top_calls")?,
            top_exec_ms: r.try_get("top_exec_ms")?,
        });
    }
    Ok(Some(rank(all, top_n, stats_reset_epoch)))
}

/// Texts read from pg_stat_statements, each as it may leave the agent: all of them when
/// `redact_sql_text` is false, else through [`shown_text`]. The raw text goes no further.
pub fn texts_to_show(texts: HashMap<i64, String>, redact_sql_text: bool) -> HashMap<i64, Result<String, Redacted>> {
    texts
        .into_iter()
        .map(|(id, text)| (id, if redact_sql_text { shown_text(&text) } else { Ok(text) }))
        .collect()
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

    fn sums(dbid: i64, queryid: i64, calls: i64, ms: f64, read: i64) -> StatementSums {
        StatementSums {
            dbid,
            queryid,
            database: Some("app".into()),
            calls,
            exec_ms: ms,
            plan_ms: 0.0,
            rows: calls,
            shared_blks_hit: 0,
            shared_blks_read: read,
            top_calls: calls,
            top_exec_ms: ms,
        }
    }

    #[test]
    fn ranks_are_global_in_each_order_and_only_the_union_of_the_top_n_is_kept() {
        let all = vec![
            sums(1, 10, 5, 900.0, 0),   // slowest
            sums(1, 11, 9000, 10.0, 0), // most called
            sums(1, 12, 3, 5.0, 700),   // reads most
            sums(1, 13, 8000, 800.0, 0),
            sums(1, 14, 1, 1.0, 0), // in no Top-2
            sums(2, 10, 2, 2.0, 0), // same queryid, another database
        ];
        let sample = rank(all, 2, Some(42.0));
        assert_eq!(sample.totals.statements, 6);
        assert_eq!(sample.totals.calls, 5 + 9000 + 3 + 8000 + 1 + 2);
        assert_eq!(sample.totals.exec_ms, 900.0 + 10.0 + 5.0 + 800.0 + 1.0 + 2.0);
        assert_eq!(sample.totals.stats_reset_epoch, Some(42.0));
        let ids: Vec<(i64, i64, i64, i64)> = sample
            .top
            .iter()
            .map(|r| (r.queryid, r.rank_by_time, r.rank_by_calls, r.rank_by_read))
            .collect();
        // Ordered by time rank; each rank is among all six. The five that read nothing tie at 0
        // reads, so their read ranks follow dbid, then queryid.
        assert_eq!(ids, vec![(10, 1, 3, 2), (13, 2, 2, 4), (11, 3, 1, 3), (12, 4, 4, 1)]);
    }

    #[test]
    fn the_read_order_counts_only_statements_that_read() {
        let sample = rank(
            vec![sums(1, 3, 10, 10.0, 0), sums(1, 2, 5, 5.0, 0), sums(1, 1, 1, 1.0, 0)],
            1,
            None,
        );
        // Query 1 is first by reads only through the tie at 0 blocks read: not kept for it.
        assert_eq!(sample.top.iter().map(|r| r.queryid).collect::<Vec<_>>(), vec![3]);
        assert_eq!(rank(Vec::new(), 5, Some(1.0)), StatementsSample::default());
    }

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
        let texts = texts_to_show(
            HashMap::from([(-4_611_686_018_427_387_904, "SELECT $1 /* app: checkout */".to_string())]),
            true,
        );
        let top = top_statements(&sample, &texts, 50, true);
        assert_eq!(top.top[0].queryid, "-4611686018427387904");
        assert_eq!(top.top[0].mean_time_seconds, 0.05);
        assert!((top.top[0].total_time_seconds - 0.24).abs() < 1e-12);
        assert_eq!(top.top[0].query.as_deref(), Some("SELECT $1"));
        assert_eq!(top.top[0].query_redacted, None);

        let password = HashMap::from([(
            -4_611_686_018_427_387_904,
            "ALTER ROLE app PASSWORD 'hunter2'".to_string(),
        )]);
        let redacted = top_statements(&sample, &texts_to_show(password.clone(), true), 50, true);
        assert_eq!(redacted.top[0].query, None);
        assert_eq!(redacted.top[0].query_redacted, Some(Redacted::UtilityStatement));
        let shown = top_statements(&sample, &texts_to_show(password, false), 50, false);
        assert_eq!(
            shown.top[0].query.as_deref(),
            Some("ALTER ROLE app PASSWORD 'hunter2'"),
            "redact_sql_text: false shows every text as before"
        );
    }

    #[test]
    fn only_planned_statements_without_literals_are_shown_without_comments() {
        use Redacted::*;
        let cases: &[(&str, Result<&str, Redacted>)] = &[
            ("SELECT * FROM t WHERE id = $1", Ok("SELECT * FROM t WHERE id = $1")),
            ("select a from t", Ok("select a from t")),
            ("  \n\tSELECT $1", Ok("SELECT $1")),
            (
                "INSERT INTO t (a, b) VALUES ($1, $2)",
                Ok("INSERT INTO t (a, b) VALUES ($1, $2)"),
            ),
            (
                "UPDATE t SET v = $1 WHERE id = $2",
                Ok("UPDATE t SET v = $1 WHERE id = $2"),
            ),
            ("DELETE FROM t WHERE id = $1", Ok("DELETE FROM t WHERE id = $1")),
            ("VALUES ($1), ($2)", Ok("VALUES ($1), ($2)")),
            ("TABLE t", Ok("TABLE t")),
            (
                "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = $1",
                Ok("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = $1"),
            ),
            (
                "WITH x AS (SELECT $1 AS a) SELECT a FROM x",
                Ok("WITH x AS (SELECT $1 AS a) SELECT a FROM x"),
            ),
            ("((SELECT $1)) UNION (SELECT $2)", Ok("((SELECT $1)) UNION (SELECT $2)")),
            // Comments go, whatever they hold, nested ones whole.
            ("/* MARKER */ SELECT $1", Ok("SELECT $1")),
            ("-- app=checkout\nSELECT $1", Ok("SELECT $1")),
            ("SELECT $1 -- it's a secret", Ok("SELECT $1")),
            ("SELECT /* it's */ $1", Ok("SELECT  $1")),
            ("/* outer /* inner */ still 'comment' */ SELECT $1", Ok("SELECT $1")),
            ("/* /* */ SELECT 'x' */ DELETE FROM t", Ok("DELETE FROM t")),
            ("SELECT $1 /* unterminated 'x'", Ok("SELECT $1")),
            ("(/* c */ SELECT $1)", Ok("(  SELECT $1)")),
            ("SELECT $1;", Ok("SELECT $1;")),
            ("SELECT $1; -- done", Ok("SELECT $1;")),
            // Quoted identifiers are neither literals nor comments, `$` inside a word no quote.
            ("SELECT \"it's\" FROM \"a--b\"", Ok("SELECT \"it's\" FROM \"a--b\"")),
            ("SELECT \"x\"\"/*\" FROM t", Ok("SELECT \"x\"\"/*\" FROM t")),
            ("SELECT a$b, c$$ FROM t$1", Ok("SELECT a$b, c$$ FROM t$1")),
            ("SELECT * FROM U&\"d\\0061t\"", Ok("SELECT * FROM U&\"d\\0061t\"")),
            // Literals left in the text.
            ("SELECT * FROM t WHERE secret = 'MARKER-1'", Err(QuotedLiteral)),
            ("SELECT E'\\x41'", Err(QuotedLiteral)),
            ("SELECT U&'d\\0061t'", Err(QuotedLiteral)),
            ("SELECT B'1010', X'1F'", Err(QuotedLiteral)),
            ("SELECT $$secret$$", Err(QuotedLiteral)),
            ("SELECT $tag$secret$tag$", Err(QuotedLiteral)),
            ("SELECT $1, $$x$$", Err(QuotedLiteral)),
            ("SELECT 'a -- not a comment'", Err(QuotedLiteral)),
            ("WITH x AS (SELECT 'k') SELECT * FROM x", Err(QuotedLiteral)),
            ("/* ok */ SELECT interval '1 day'", Err(QuotedLiteral)),
            // Utility statements, whatever they hold.
            ("ALTER ROLE r PASSWORD 'MARKER-2'", Err(UtilityStatement)),
            ("ALTER ROLE r PASSWORD $p$MARKER$p$", Err(UtilityStatement)),
            ("('x')", Err(UtilityStatement)),
            ("CREATE USER u", Err(UtilityStatement)),
            ("SET search_path = app", Err(UtilityStatement)),
            ("EXPLAIN SELECT $1", Err(UtilityStatement)),
            ("COPY (SELECT $1) TO STDOUT", Err(UtilityStatement)),
            ("/* SELECT */ VACUUM t", Err(UtilityStatement)),
            ("SELECTED", Err(UtilityStatement)),
            ("<insufficient privilege>", Err(UtilityStatement)),
            ("", Err(UtilityStatement)),
            ("-- only a comment", Err(UtilityStatement)),
            // Two statements: the second is not what was checked.
            ("SELECT $1; VACUUM t", Err(MultipleStatements)),
            ("SELECT $1; /* c */ SELECT $2", Err(MultipleStatements)),
        ];
        for (text, want) in cases {
            assert_eq!(shown_text(text).as_deref(), want.as_deref(), "{text:?}");
        }
    }
}

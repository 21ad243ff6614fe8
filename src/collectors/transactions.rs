//! Long and idle-in-transaction sessions: the oldest open transactions first
//! (`pg_stat_activity.xact_start`). PIDs and user names stay in the API, never in labels.

use serde::Serialize;
use tokio_postgres::Client;

pub const LONG_TRANSACTIONS_SQL: &str = "\
SELECT pid,
       COALESCE(state, 'unknown') AS state,
       datname::text AS database,
       usename::text AS username,
       -- now() is this statement's transaction start: a session that began a moment later
       -- would get a negative age.
       GREATEST(EXTRACT(EPOCH FROM (now() - xact_start)), 0)::float8 AS xact_age_seconds,
       GREATEST(EXTRACT(EPOCH FROM (now() - state_change)), 0)::float8 AS state_age_seconds,
       wait_event_type,
       CASE WHEN $1 THEN left(query, 256) END AS query,
       -- Over every session, not just the listed ones (a window is computed before LIMIT).
       max(EXTRACT(EPOCH FROM (now() - state_change))) FILTER (WHERE state LIKE 'idle in transaction%') OVER ()::float8
         AS longest_idle_in_transaction_seconds
  FROM pg_stat_activity
 WHERE xact_start IS NOT NULL
   AND backend_type = 'client backend'
   AND pid <> pg_backend_pid()
 ORDER BY xact_start ASC
 LIMIT $2";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OpenTransaction {
    pub pid: i32,
    pub state: String,
    pub database: Option<String>,
    pub username: Option<String>,
    pub xact_age_seconds: f64,
    pub state_age_seconds: Option<f64>,
    pub wait_event_type: Option<String>,
    pub query: Option<String>,
}

impl OpenTransaction {
    pub fn is_idle_in_transaction(&self) -> bool {
        self.state.starts_with("idle in transaction")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LongTransactions {
    /// Age of the oldest open transaction, 0 when none is open.
    pub longest_transaction_seconds: f64,
    /// How long the longest idle-in-transaction session has been idle, 0 when none.
    pub longest_idle_in_transaction_seconds: f64,
    /// Oldest first, capped at `limits.top_sessions`.
    pub sessions: Vec<OpenTransaction>,
}

/// `longest_idle` is measured over every session by the query; the listed sessions (oldest
/// transactions first) give the longest transaction and a floor for the idle time.
pub fn summarize(sessions: Vec<OpenTransaction>, longest_idle: Option<f64>) -> LongTransactions {
    let longest_transaction_seconds = sessions.iter().map(|s| s.xact_age_seconds).fold(0.0, f64::max);
    let longest_idle_in_transaction_seconds = sessions
        .iter()
        .filter(|s| s.is_idle_in_transaction())
        .filter_map(|s| s.state_age_seconds)
        .chain(longest_idle)
        .fold(0.0, f64::max);
    LongTransactions {
        longest_transaction_seconds,
        longest_idle_in_transaction_seconds,
        sessions,
    }
}

pub async fn collect(
    client: &Client,
    with_query_text: bool,
    limit: u32,
) -> Result<LongTransactions, tokio_postgres::Error> {
    let rows = client
        .query(LONG_TRANSACTIONS_SQL, &[&with_query_text, &i64::from(limit)])
        .await?;
    let longest_idle = match rows.first() {
        Some(r) => r.try_get("longest_idle_in_transaction_seconds")?,
        None => None,
    };
    let sessions = rows
        .iter()
        .map(|r| {
            Ok(OpenTransaction {
                pid: r.try_get("pid")?,
                state: r.try_get("state")?,
                database: r.try_get("database")?,
                username: r.try_get("username")?,
                xact_age_seconds: r.try_get::<_, Option<f64>>("xact_age_seconds")?.unwrap_or(0.0),
                state_age_seconds: r.try_get("state_age_seconds")?,
                wait_event_type: r.try_get("wait_event_type")?,
                query: r.try_get("query")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(summarize(sessions, longest_idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(state: &str, age: f64, idle: f64) -> OpenTransaction {
        OpenTransaction {
            pid: 1,
            state: state.into(),
            database: None,
            username: None,
            xact_age_seconds: age,
            state_age_seconds: Some(idle),
            wait_event_type: None,
            query: None,
        }
    }

    #[test]
    fn longest_ages_come_from_oldest_and_idle_sessions() {
        let s = summarize(
            vec![
                txn("active", 900.0, 1.0),
                txn("idle in transaction", 400.0, 350.0),
                txn("idle in transaction (aborted)", 30.0, 20.0),
            ],
            Some(350.0),
        );
        assert_eq!(s.longest_transaction_seconds, 900.0);
        assert_eq!(s.longest_idle_in_transaction_seconds, 350.0);
    }

    #[test]
    fn idle_session_beyond_the_list_still_counts() {
        let s = summarize(vec![txn("active", 900.0, 1.0)], Some(1200.0));
        assert_eq!(s.longest_idle_in_transaction_seconds, 1200.0);
    }

    #[test]
    fn no_open_transaction_reads_zero() {
        let s = summarize(vec![], None);
        assert_eq!(
            (s.longest_transaction_seconds, s.longest_idle_in_transaction_seconds),
            (0.0, 0.0)
        );
    }
}

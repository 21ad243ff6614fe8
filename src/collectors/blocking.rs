//! Blocking chains: every session waiting on a heavyweight lock, and for the longest waiters
//! the sessions blocking them (`pg_blocking_pids`, which follows the lock queue exactly, unlike
//! a self-join of `pg_locks`). The pairs query runs only when someone is waiting.

use serde::Serialize;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Client;

/// PG14+: the lock wait started at `pg_locks.waitstart`. An episode is identified by the
/// statement start, which (unlike `waitstart`, set a moment after the wait begins) is stable.
pub const BLOCKED_SESSIONS_SQL_14: &str = "\
SELECT a.pid,
       EXTRACT(EPOCH FROM (now() - COALESCE(l.waitstart, a.query_start)))::float8 AS wait_seconds,
       (EXTRACT(EPOCH FROM a.query_start) * 1000000)::int8 AS wait_started_us
  FROM pg_stat_activity a
  LEFT JOIN (SELECT pid, min(waitstart) AS waitstart FROM pg_locks WHERE NOT granted GROUP BY pid) l
         ON l.pid = a.pid
 WHERE a.wait_event_type = 'Lock'
   AND a.pid <> pg_backend_pid()";

/// PG12–13 have no `waitstart`: the blocked statement's start bounds the wait.
pub const BLOCKED_SESSIONS_SQL_12: &str = "\
SELECT a.pid,
       EXTRACT(EPOCH FROM (now() - a.query_start))::float8 AS wait_seconds,
       (EXTRACT(EPOCH FROM a.query_start) * 1000000)::int8 AS wait_started_us
  FROM pg_stat_activity a
 WHERE a.wait_event_type = 'Lock'
   AND a.pid <> pg_backend_pid()";

pub const BLOCKING_PAIRS_SQL: &str = "\
SELECT a.pid AS blocked_pid,
       b.pid AS blocker_pid,
       a.datname::text AS database,
       a.usename::text AS blocked_user,
       b.usename::text AS blocker_user,
       a.wait_event AS wait_event,
       COALESCE(b.state, 'unknown') AS blocker_state,
       EXTRACT(EPOCH FROM (now() - b.xact_start))::float8 AS blocker_xact_seconds,
       CASE WHEN $1 THEN left(a.query, 256) END AS blocked_query,
       CASE WHEN $1 THEN left(b.query, 256) END AS blocker_query
  FROM pg_stat_activity a
 CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS bp(pid)
  JOIN pg_stat_activity b ON b.pid = bp.pid
 WHERE a.wait_event_type = 'Lock'
 ORDER BY a.query_start ASC NULLS LAST, a.pid, b.pid
 LIMIT $2";

pub fn blocked_sessions_sql(server_version_num: i32) -> &'static str {
    if server_version_num >= 140000 {
        BLOCKED_SESSIONS_SQL_14
    } else {
        BLOCKED_SESSIONS_SQL_12
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlockedSession {
    pub pid: i32,
    pub wait_seconds: f64,
    /// Identifies one wait episode: the same pid waiting again is a new episode.
    pub wait_started_us: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BlockingEvent {
    pub blocked_pid: i32,
    pub blocker_pid: i32,
    pub database: Option<String>,
    pub blocked_user: Option<String>,
    pub blocker_user: Option<String>,
    pub wait_event: Option<String>,
    pub blocked_wait_seconds: f64,
    pub blocker_state: String,
    pub blocker_xact_seconds: Option<f64>,
    /// Only when `security.redact_sql_text` is false.
    pub blocked_query: Option<String>,
    pub blocker_query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BlockingSummary {
    /// Sessions waiting on a lock right now.
    pub blocked_sessions: i64,
    /// Lock waits seen starting since the agent started (a counter).
    pub blocked_episodes_total: u64,
    /// The longest current lock wait, 0 when nobody waits.
    pub longest_blocked_seconds: f64,
    /// Blocked↔blocker pairs, longest waits first, capped at `limits.blocking_events`.
    pub events: Vec<BlockingEvent>,
}

/// Wait episodes seen on the previous tick, to count new ones exactly once.
#[derive(Debug, Default)]
pub struct EpisodeTracker {
    seen: HashSet<(i32, i64)>,
    total: u64,
}

impl EpisodeTracker {
    /// Counts the episodes in `blocked` not seen last tick; returns the running total.
    pub fn observe(&mut self, blocked: &[BlockedSession]) -> u64 {
        let current: HashSet<(i32, i64)> = blocked.iter().map(|b| (b.pid, b.wait_started_us)).collect();
        self.total += current.difference(&self.seen).count() as u64;
        self.seen = current;
        self.total
    }
}

/// Joins the complete blocked list with the (capped) pairs: wait times come from the blocked
/// list so both agree, and the pairs are ordered longest wait first.
pub fn summarize(blocked: &[BlockedSession], mut events: Vec<BlockingEvent>, episodes_total: u64) -> BlockingSummary {
    let waits: HashMap<i32, f64> = blocked.iter().map(|b| (b.pid, b.wait_seconds)).collect();
    for e in &mut events {
        e.blocked_wait_seconds = waits.get(&e.blocked_pid).copied().unwrap_or(e.blocked_wait_seconds);
    }
    events.sort_by(|a, b| {
        b.blocked_wait_seconds
            .total_cmp(&a.blocked_wait_seconds)
            .then(a.blocked_pid.cmp(&b.blocked_pid))
    });
    BlockingSummary {
        blocked_sessions: blocked.len() as i64,
        blocked_episodes_total: episodes_total,
        longest_blocked_seconds: blocked.iter().map(|b| b.wait_seconds).fold(0.0, f64::max),
        events,
    }
}

pub async fn collect_blocked(
    client: &Client,
    server_version_num: i32,
) -> Result<Vec<BlockedSession>, tokio_postgres::Error> {
    let rows = client.query(blocked_sessions_sql(server_version_num), &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(BlockedSession {
                pid: r.try_get("pid")?,
                wait_seconds: r.try_get::<_, Option<f64>>("wait_seconds")?.unwrap_or(0.0),
                wait_started_us: r.try_get::<_, Option<i64>>("wait_started_us")?.unwrap_or(0),
            })
        })
        .collect()
}

pub async fn collect_pairs(
    client: &Client,
    with_query_text: bool,
    limit: u32,
) -> Result<Vec<BlockingEvent>, tokio_postgres::Error> {
    let rows = client
        .query(BLOCKING_PAIRS_SQL, &[&with_query_text, &i64::from(limit)])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BlockingEvent {
                blocked_pid: r.try_get("blocked_pid")?,
                blocker_pid: r.try_get("blocker_pid")?,
                database: r.try_get("database")?,
                blocked_user: r.try_get("blocked_user")?,
                blocker_user: r.try_get("blocker_user")?,
                wait_event: r.try_get("wait_event")?,
                blocked_wait_seconds: 0.0,
                blocker_state: r.try_get("blocker_state")?,
                blocker_xact_seconds: r.try_get("blocker_xact_seconds")?,
                blocked_query: r.try_get("blocked_query")?,
                blocker_query: r.try_get("blocker_query")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(pid: i32, wait: f64, started: i64) -> BlockedSession {
        BlockedSession {
            pid,
            wait_seconds: wait,
            wait_started_us: started,
        }
    }

    fn pair(blocked_pid: i32, blocker_pid: i32) -> BlockingEvent {
        BlockingEvent {
            blocked_pid,
            blocker_pid,
            database: Some("app".into()),
            blocked_user: None,
            blocker_user: None,
            wait_event: Some("transactionid".into()),
            blocked_wait_seconds: 0.0,
            blocker_state: "idle in transaction".into(),
            blocker_xact_seconds: Some(100.0),
            blocked_query: None,
            blocker_query: None,
        }
    }

    #[test]
    fn pairs_take_wait_from_blocked_list_longest_first() {
        let s = summarize(
            &[blocked(10, 5.0, 1), blocked(11, 42.0, 2)],
            vec![pair(10, 7), pair(11, 10)],
            2,
        );
        assert_eq!(s.blocked_sessions, 2);
        assert_eq!(s.longest_blocked_seconds, 42.0);
        assert_eq!(
            (
                s.events[0].blocked_pid,
                s.events[0].blocker_pid,
                s.events[0].blocked_wait_seconds
            ),
            (11, 10, 42.0)
        );
        assert_eq!(s.events[1].blocked_wait_seconds, 5.0);
    }

    #[test]
    fn nobody_waiting_reads_zero() {
        let s = summarize(&[], vec![], 0);
        assert_eq!(
            (s.blocked_sessions, s.longest_blocked_seconds, s.events.len()),
            (0, 0.0, 0)
        );
    }

    #[test]
    fn each_wait_episode_counts_once() {
        let mut t = EpisodeTracker::default();
        assert_eq!(t.observe(&[blocked(10, 1.0, 100)]), 1);
        assert_eq!(t.observe(&[blocked(10, 16.0, 100)]), 1, "same wait seen again");
        assert_eq!(
            t.observe(&[blocked(10, 1.0, 900), blocked(11, 1.0, 901)]),
            3,
            "pid 10 waits again, 11 is new"
        );
        assert_eq!(t.observe(&[]), 3);
    }

    #[test]
    fn sql_variant_follows_server_version() {
        assert!(blocked_sessions_sql(140000).contains("waitstart"));
        assert!(!blocked_sessions_sql(130011).contains("waitstart"));
    }
}

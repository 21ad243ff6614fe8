//! WAL archiving (`pg_stat_archiver` and the archive status directory): how many segments were
//! archived and failed, when the last of each happened, and how many completed segments wait
//! for `archive_command` (`.ready` files, via `pg_ls_archive_statusdir()`, granted to
//! `pg_monitor`) and since when. A failing or stalled archiver leaves no backups and fills the
//! disk; whether it is failing or stalled is decided in `alerts::verdicts` from these facts.

use serde::Serialize;
use tokio_postgres::Client;

/// Ages are computed by the server (`now() - …`), so the agent's clock plays no part.
macro_rules! archiver_sql {
    ($ready:literal) => {
        concat!(
            "\
SELECT current_setting('archive_mode') AS archive_mode,
       a.archived_count,
       a.failed_count,
       a.last_archived_wal,
       EXTRACT(EPOCH FROM (now() - a.last_archived_time))::float8 AS last_archived_age,
       a.last_failed_wal,
       EXTRACT(EPOCH FROM (now() - a.last_failed_time))::float8 AS last_failed_age,
       EXTRACT(EPOCH FROM now())::float8 AS now_epoch,
       r.ready_segments,
       EXTRACT(EPOCH FROM (now() - r.oldest_ready))::float8 AS oldest_ready_age
  FROM pg_stat_archiver a
 CROSS JOIN ",
            $ready,
            " r"
        )
    };
}

/// With the right to list `pg_wal/archive_status` (pg_monitor): the segments waiting.
pub const ARCHIVER_SQL: &str = archiver_sql!(
    "(SELECT count(*)::int8 AS ready_segments, min(modification) AS oldest_ready
               FROM pg_ls_archive_statusdir()
              WHERE name LIKE '%.ready')"
);

/// Without it: the counters only.
pub const ARCHIVER_COUNTERS_SQL: &str =
    archiver_sql!("(SELECT NULL::int8 AS ready_segments, NULL::timestamptz AS oldest_ready)");

#[derive(Debug, Clone, PartialEq)]
pub struct ArchiverRow {
    pub archive_mode: String,
    pub archived_count: i64,
    pub failed_count: i64,
    pub last_archived_wal: Option<String>,
    pub last_archived_age: Option<f64>,
    pub last_failed_wal: Option<String>,
    pub last_failed_age: Option<f64>,
    pub now_epoch: f64,
    pub ready_segments: Option<i64>,
    pub oldest_ready_age: Option<f64>,
}

/// The archiver's state this run: the counters and ages PostgreSQL reports, and what the
/// agent observed across runs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Archiving {
    /// `off`, `on` or `always`.
    pub archive_mode: String,
    /// `archive_mode` is not `off`.
    pub enabled: bool,
    pub archived_total: i64,
    pub failed_total: i64,
    /// Failed attempts since the previous run; null on the first run or after a reset.
    pub new_failures: Option<i64>,
    pub last_archived_wal: Option<String>,
    /// Seconds since the last successful archive; null when none since the statistics reset.
    pub last_archived_seconds: Option<f64>,
    pub last_failed_wal: Option<String>,
    /// Seconds since the last failed attempt.
    pub last_failed_seconds: Option<f64>,
    /// The last attempt failed: the last failure is newer than the last success.
    pub failing_now: bool,
    /// How long the agent has watched the archiver failing without a success in between (a
    /// lower bound: it may have failed before the agent looked); null when not failing.
    pub failing_seconds: Option<f64>,
    /// Completed WAL segments waiting for `archive_command` (`.ready` files); null when the
    /// role may not list `pg_wal/archive_status` (then `stalled` cannot be judged).
    pub ready_segments: Option<i64>,
    /// Seconds the oldest of them has waited.
    pub oldest_ready_seconds: Option<f64>,
}

/// What the job keeps between runs: the previous failure counter and when it first saw the
/// archiver failing (server clock, seconds since the epoch).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ArchiverHistory {
    previous_failed: Option<i64>,
    failing_since: Option<f64>,
}

/// The archiver's facts from this run's row and the history (which it updates).
pub fn observe(row: &ArchiverRow, history: &mut ArchiverHistory) -> Archiving {
    let failing_now = match (row.last_failed_age, row.last_archived_age) {
        (Some(failed), Some(archived)) => failed < archived,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let new_failures = history
        .previous_failed
        .filter(|previous| row.failed_count >= *previous)
        .map(|previous| row.failed_count - previous);
    history.previous_failed = Some(row.failed_count);
    history.failing_since = if failing_now {
        Some(history.failing_since.unwrap_or(row.now_epoch))
    } else {
        None
    };
    // A lower bound: the failures may have begun before the agent saw them (any time after
    // the last success), but claiming more than was watched would overstate them.
    let failing_seconds = history.failing_since.map(|since| (row.now_epoch - since).max(0.0));
    Archiving {
        enabled: row.archive_mode != "off",
        archive_mode: row.archive_mode.clone(),
        archived_total: row.archived_count,
        failed_total: row.failed_count,
        new_failures,
        last_archived_wal: row.last_archived_wal.clone(),
        last_archived_seconds: row.last_archived_age,
        last_failed_wal: row.last_failed_wal.clone(),
        last_failed_seconds: row.last_failed_age,
        failing_now,
        failing_seconds,
        ready_segments: row.ready_segments,
        oldest_ready_seconds: row.oldest_ready_age,
    }
}

pub fn archiver_sql(may_list_archive_status: bool) -> &'static str {
    if may_list_archive_status {
        ARCHIVER_SQL
    } else {
        ARCHIVER_COUNTERS_SQL
    }
}

pub async fn collect(client: &Client, may_list_archive_status: bool) -> Result<ArchiverRow, tokio_postgres::Error> {
    let r = client.query_one(archiver_sql(may_list_archive_status), &[]).await?;
    Ok(ArchiverRow {
        archive_mode: r.try_get("archive_mode")?,
        archived_count: r.try_get("archived_count")?,
        failed_count: r.try_get("failed_count")?,
        last_archived_wal: r.try_get("last_archived_wal")?,
        last_archived_age: r.try_get("last_archived_age")?,
        last_failed_wal: r.try_get("last_failed_wal")?,
        last_failed_age: r.try_get("last_failed_age")?,
        now_epoch: r.try_get("now_epoch")?,
        ready_segments: r.try_get("ready_segments")?,
        oldest_ready_age: r.try_get("oldest_ready_age")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_800_000_000.0;

    fn row(at: f64, failed: i64, last_failed: Option<f64>, last_archived: Option<f64>) -> ArchiverRow {
        ArchiverRow {
            archive_mode: "on".into(),
            archived_count: 10,
            failed_count: failed,
            last_archived_wal: Some("000000010000000000000003".into()),
            last_archived_age: last_archived,
            last_failed_wal: last_failed.map(|_| "000000010000000000000004".into()),
            last_failed_age: last_failed,
            now_epoch: at,
            ready_segments: Some(2),
            oldest_ready_age: Some(120.0),
        }
    }

    #[test]
    fn a_failure_newer_than_the_last_success_is_failing_and_the_agent_times_it() {
        let mut h = ArchiverHistory::default();
        let a = observe(&row(T0, 3, Some(5.0), Some(600.0)), &mut h);
        assert!(a.failing_now);
        assert_eq!((a.new_failures, a.failing_seconds), (None, Some(0.0)), "first sight");
        let a = observe(&row(T0 + 60.0, 6, Some(2.0), Some(660.0)), &mut h);
        assert_eq!((a.new_failures, a.failing_seconds), (Some(3), Some(60.0)));
    }

    #[test]
    fn a_success_after_the_last_failure_is_not_failing_and_resets_the_timer() {
        let mut h = ArchiverHistory::default();
        observe(&row(T0, 3, Some(5.0), Some(600.0)), &mut h);
        let a = observe(&row(T0 + 60.0, 3, Some(65.0), Some(1.0)), &mut h);
        assert!(!a.failing_now);
        assert_eq!((a.new_failures, a.failing_seconds), (Some(0), None));
        assert_eq!(h.failing_since, None);
    }

    #[test]
    fn a_reset_counter_gives_no_new_failure_count() {
        let mut h = ArchiverHistory::default();
        observe(&row(T0, 30, Some(5.0), None), &mut h);
        let a = observe(&row(T0 + 60.0, 2, Some(1.0), None), &mut h);
        assert_eq!(a.new_failures, None);
        assert!(a.failing_now, "never archived, failed since");
    }

    #[test]
    fn archiving_off_is_reported_as_disabled() {
        let off = ArchiverRow {
            archive_mode: "off".into(),
            ..row(T0, 0, None, None)
        };
        let a = observe(&off, &mut ArchiverHistory::default());
        assert!(!a.enabled && !a.failing_now);
    }
}

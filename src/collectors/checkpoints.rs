//! Checkpoints: timed vs requested counters from `pg_stat_bgwriter` before PostgreSQL 17 and
//! `pg_stat_checkpointer` from 17 on, with the requested ratio and mean interval over a
//! sliding window of up to an hour (since the last stats reset while the window is young).
//! Neither is reported over less than ten minutes of history: a fresh cluster's first minutes
//! hold a few requested checkpoints that are not thrash (CREATE DATABASE before PostgreSQL 15
//! requests two, a base backup one), and over seconds they read as a ratio of 1 every 0 s.

use serde::Serialize;
use std::collections::VecDeque;
use tokio_postgres::Client;

pub const CHECKPOINTS_SQL_12: &str = "\
SELECT checkpoints_timed AS timed,
       checkpoints_req AS requested,
       checkpoint_write_time AS write_ms,
       checkpoint_sync_time AS sync_ms,
       buffers_checkpoint AS buffers_written,
       EXTRACT(EPOCH FROM stats_reset)::float8 AS stats_reset_epoch,
       EXTRACT(EPOCH FROM now())::float8 AS now_epoch
  FROM pg_stat_bgwriter";

pub const CHECKPOINTS_SQL_17: &str = "\
SELECT num_timed AS timed,
       num_requested AS requested,
       write_time AS write_ms,
       sync_time AS sync_ms,
       buffers_written,
       EXTRACT(EPOCH FROM stats_reset)::float8 AS stats_reset_epoch,
       EXTRACT(EPOCH FROM now())::float8 AS now_epoch
  FROM pg_stat_checkpointer";

pub fn checkpoints_sql(server_version_num: i32) -> &'static str {
    if server_version_num >= 170000 {
        CHECKPOINTS_SQL_17
    } else {
        CHECKPOINTS_SQL_12
    }
}

/// The window used for the ratio and interval, and the youngest window trusted on its own.
pub const WINDOW_SECONDS: f64 = 3600.0;
pub const MIN_WINDOW_SECONDS: f64 = 600.0;
/// Checkpoints needed in the window before a ratio or interval is reported.
pub const MIN_CHECKPOINTS: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckpointCounters {
    pub timed: i64,
    pub requested: i64,
    pub write_ms: f64,
    pub sync_ms: f64,
    pub buffers_written: i64,
    pub stats_reset_epoch: Option<f64>,
    pub now_epoch: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CheckpointStats {
    pub timed_total: i64,
    pub requested_total: i64,
    pub buffers_written_total: i64,
    pub write_time_seconds_total: f64,
    pub sync_time_seconds_total: f64,
    /// requested / (timed + requested); `None` when no checkpoint happened in the window.
    pub requested_ratio: Option<f64>,
    pub mean_interval_seconds: Option<f64>,
    /// Seconds the ratio and interval were measured over.
    pub window_seconds: Option<f64>,
}

/// Samples kept for the sliding window.
#[derive(Debug, Default)]
pub struct CheckpointWindow {
    samples: VecDeque<CheckpointCounters>,
}

impl CheckpointWindow {
    pub fn observe(&mut self, current: CheckpointCounters) -> CheckpointStats {
        if let Some(last) = self.samples.back() {
            let reset = last.stats_reset_epoch != current.stats_reset_epoch
                || current.timed < last.timed
                || current.requested < last.requested;
            if reset {
                self.samples.clear();
            }
        }
        self.samples.push_back(current);
        while self.samples.len() > 1 && current.now_epoch - self.samples[0].now_epoch > WINDOW_SECONDS {
            self.samples.pop_front();
        }
        let oldest = self.samples[0];
        let span = current.now_epoch - oldest.now_epoch;
        let (count, requested, seconds) = if span >= MIN_WINDOW_SECONDS {
            (
                (current.timed - oldest.timed) + (current.requested - oldest.requested),
                current.requested - oldest.requested,
                Some(span),
            )
        } else {
            // Young window: since the last reset, which PostgreSQL records.
            (
                current.timed + current.requested,
                current.requested,
                current.stats_reset_epoch.map(|r| current.now_epoch - r),
            )
        };
        // A ratio over one or two checkpoints, or over minutes of history (just after a reset,
        // or in a fresh cluster), says nothing.
        let enough_history = seconds.is_some_and(|s| s >= MIN_WINDOW_SECONDS);
        let (requested_ratio, mean_interval_seconds) = if count >= MIN_CHECKPOINTS && enough_history {
            (Some(requested as f64 / count as f64), seconds.map(|s| s / count as f64))
        } else {
            (None, None)
        };
        CheckpointStats {
            timed_total: current.timed,
            requested_total: current.requested,
            buffers_written_total: current.buffers_written,
            write_time_seconds_total: current.write_ms / 1000.0,
            sync_time_seconds_total: current.sync_ms / 1000.0,
            requested_ratio,
            mean_interval_seconds,
            window_seconds: seconds,
        }
    }
}

pub async fn collect(client: &Client, server_version_num: i32) -> Result<CheckpointCounters, tokio_postgres::Error> {
    let row = client.query_one(checkpoints_sql(server_version_num), &[]).await?;
    Ok(CheckpointCounters {
        timed: row.try_get("timed")?,
        requested: row.try_get("requested")?,
        write_ms: row.try_get("write_ms")?,
        sync_ms: row.try_get("sync_ms")?,
        buffers_written: row.try_get("buffers_written")?,
        stats_reset_epoch: row.try_get("stats_reset_epoch")?,
        now_epoch: row.try_get("now_epoch")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: f64, timed: i64, requested: i64) -> CheckpointCounters {
        CheckpointCounters {
            timed,
            requested,
            write_ms: 0.0,
            sync_ms: 0.0,
            buffers_written: 0,
            stats_reset_epoch: Some(0.0),
            now_epoch: now,
        }
    }

    #[test]
    fn young_window_uses_totals_since_reset() {
        let mut w = CheckpointWindow::default();
        assert_eq!(
            w.observe(at(36_000.0, 1, 1)).requested_ratio,
            None,
            "two checkpoints are not a ratio"
        );
        let mut w = CheckpointWindow::default();
        let s = w.observe(at(36_000.0, 100, 20));
        assert_eq!(s.requested_ratio, Some(20.0 / 120.0));
        assert_eq!(s.mean_interval_seconds, Some(300.0));
    }

    #[test]
    fn full_window_uses_deltas() {
        let mut w = CheckpointWindow::default();
        w.observe(at(36_000.0, 100, 0));
        for minute in 1..=60 {
            // 10 requested checkpoints per minute now: thrashing.
            let s = w.observe(at(36_000.0 + 60.0 * minute as f64, 100 + minute, 10 * minute));
            if minute == 60 {
                assert_eq!(s.window_seconds, Some(3600.0));
                assert!((s.requested_ratio.unwrap() - 600.0 / 660.0).abs() < 1e-9);
                assert!((s.mean_interval_seconds.unwrap() - 3600.0 / 660.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn reset_restarts_the_window_and_quiet_window_has_no_ratio() {
        let mut w = CheckpointWindow::default();
        w.observe(at(0.0, 500, 500));
        let mut after = at(700.0, 0, 0);
        after.stats_reset_epoch = Some(650.0);
        let s = w.observe(after);
        assert_eq!((s.requested_ratio, s.mean_interval_seconds), (None, None));
        assert_eq!(s.window_seconds, Some(50.0));
    }

    #[test]
    fn a_fresh_clusters_first_requested_checkpoints_are_not_thrash() {
        // Reset (initdb) 40 s ago; CREATE DATABASE twice and a base backup since: four
        // requested checkpoints, none timed. Over 40 s that is no verdict.
        let mut w = CheckpointWindow::default();
        let s = w.observe(at(40.0, 0, 4));
        assert_eq!((s.requested_ratio, s.mean_interval_seconds), (None, None));
        assert_eq!(s.window_seconds, Some(40.0));
        // Nor is it without a recorded reset time.
        let mut w = CheckpointWindow::default();
        let s = w.observe(CheckpointCounters {
            stats_reset_epoch: None,
            ..at(40.0, 0, 4)
        });
        assert_eq!(s.requested_ratio, None);
        // Ten minutes on, the same four are a ratio (1.0) and an interval (150 s).
        let s = w.observe(CheckpointCounters {
            stats_reset_epoch: None,
            ..at(640.0, 0, 8)
        });
        assert_eq!((s.requested_ratio, s.mean_interval_seconds), (Some(1.0), Some(150.0)));
    }

    #[test]
    fn sql_variant_follows_server_version() {
        assert_eq!(checkpoints_sql(170000), CHECKPOINTS_SQL_17);
        assert_eq!(checkpoints_sql(160004), CHECKPOINTS_SQL_12);
    }
}

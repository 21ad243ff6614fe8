//! A short, bounded in-memory history of the headline figures the UI charts (connections,
//! blocked sessions, TPS/QPS, WAL rate, mean latency), owned by the StateActor and appended
//! from each hot-path and workload snapshot. It is not a TSDB: points older than the window
//! (`ui.history_window`, default 1 h) are dropped, and each series holds at most
//! `MAX_POINTS`, so memory stays bounded whatever the intervals. Prometheus keeps long history.

use crate::collectors::{hot_path::HotPathSnapshot, workload::WorkloadSnapshot};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Cap per series: a 1 s hot-path interval over an hour would otherwise keep 3,600 points.
pub const MAX_POINTS: usize = 720;

/// One hot-path sample. A section that failed that run is `None` (a gap in the chart).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HotPathPoint {
    /// Seconds since the Unix epoch.
    pub at: f64,
    pub connections: Option<i64>,
    pub max_connections: Option<i64>,
    pub blocked_sessions: Option<i64>,
    pub longest_blocked_seconds: Option<f64>,
}

/// One workload sample. Rates are `None` on the first sample and across a stats reset.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkloadPoint {
    pub at: f64,
    pub tps: Option<f64>,
    pub qps: Option<f64>,
    pub latency_mean_seconds: Option<f64>,
    pub wal_bytes_per_second: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct History {
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub window: Duration,
    #[schema(value_type = Vec<HotPathPoint>)]
    pub hot_path: VecDeque<HotPathPoint>,
    #[schema(value_type = Vec<WorkloadPoint>)]
    pub workload: VecDeque<WorkloadPoint>,
}

fn epoch_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Appends `point` and drops what fell out of the window or over the cap.
fn push_bounded<P>(series: &mut VecDeque<P>, point: P, at: fn(&P) -> f64, window: Duration) {
    series.push_back(point);
    let newest = series.back().map_or(0.0, at);
    let oldest_kept = newest - window.as_secs_f64();
    while series.front().is_some_and(|p| at(p) < oldest_kept) || series.len() > MAX_POINTS {
        series.pop_front();
    }
}

impl History {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            hot_path: VecDeque::new(),
            workload: VecDeque::new(),
        }
    }

    pub fn record_hot_path(&mut self, at: SystemTime, snapshot: &HotPathSnapshot) {
        let connections = snapshot.connections.as_ref().ok();
        let blocking = snapshot.blocking.as_ref().ok();
        let point = HotPathPoint {
            at: epoch_seconds(at),
            connections: connections.map(|c| c.connections),
            max_connections: connections.map(|c| c.max_connections),
            blocked_sessions: blocking.map(|b| b.blocked_sessions),
            longest_blocked_seconds: blocking.map(|b| b.longest_blocked_seconds),
        };
        push_bounded(&mut self.hot_path, point, |p| p.at, self.window);
    }

    pub fn record_workload(&mut self, at: SystemTime, snapshot: &WorkloadSnapshot) {
        let throughput = snapshot.throughput.as_ref().ok();
        let point = WorkloadPoint {
            at: epoch_seconds(at),
            tps: throughput.and_then(|t| t.tps),
            qps: throughput.and_then(|t| t.qps),
            latency_mean_seconds: throughput.and_then(|t| t.latency_mean_seconds),
            wal_bytes_per_second: snapshot.wal.as_ref().ok().and_then(|w| w.bytes_per_second),
        };
        push_bounded(&mut self.workload, point, |p| p.at, self.window);
    }

    /// A run that could not reach the database leaves a gap rather than nothing, so a chart
    /// shows when the agent was blind.
    pub fn record_hot_path_gap(&mut self, at: SystemTime) {
        let point = HotPathPoint {
            at: epoch_seconds(at),
            connections: None,
            max_connections: None,
            blocked_sessions: None,
            longest_blocked_seconds: None,
        };
        push_bounded(&mut self.hot_path, point, |p| p.at, self.window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at: f64) -> WorkloadPoint {
        WorkloadPoint {
            at,
            tps: Some(at),
            qps: None,
            latency_mean_seconds: None,
            wal_bytes_per_second: None,
        }
    }

    #[test]
    fn points_older_than_the_window_are_dropped() {
        let mut series = VecDeque::new();
        for at in [0.0, 1000.0, 2000.0, 3000.0, 3700.0] {
            push_bounded(&mut series, point(at), |p| p.at, Duration::from_secs(3600));
        }
        let kept: Vec<f64> = series.iter().map(|p| p.at).collect();
        assert_eq!(kept, vec![1000.0, 2000.0, 3000.0, 3700.0]);
    }

    #[test]
    fn a_series_never_exceeds_the_cap() {
        let mut series = VecDeque::new();
        for i in 0..(MAX_POINTS + 50) {
            push_bounded(&mut series, point(i as f64), |p| p.at, Duration::from_secs(86_400));
        }
        assert_eq!(series.len(), MAX_POINTS);
        assert_eq!(series.front().unwrap().at, 50.0);
        assert_eq!(series.back().unwrap().at, (MAX_POINTS + 49) as f64);
    }

    #[test]
    fn a_gap_is_a_point_without_values() {
        let mut history = History::new(Duration::from_secs(3600));
        history.record_hot_path_gap(UNIX_EPOCH + Duration::from_secs(100));
        assert_eq!(
            history.hot_path.back(),
            Some(&HotPathPoint {
                at: 100.0,
                connections: None,
                max_connections: None,
                blocked_sessions: None,
                longest_blocked_seconds: None,
            })
        );
    }
}

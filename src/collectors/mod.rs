//! Collectors: plain async functions `(client, capabilities, settings) -> typed rows`, one file
//! per view or topic, each with its SQL as named consts first. They know nothing of actors,
//! HTTP or Prometheus. The loop files (`hot_path.rs`, …) list which collectors a loop runs.

pub mod archiver;
pub mod autovacuum;
pub mod bloat;
pub mod blocking;
pub mod canary;
pub mod checkpoints;
pub mod connections;
pub mod database_stats;
pub mod deadlocks;
pub mod freshness;
pub mod hot_path;
pub mod hourly;
pub mod partitions;
pub mod relation_locks;
pub mod replication;
pub mod settings;
pub mod sizes;
pub mod slots;
pub mod stale_stats;
pub mod stat_io;
pub mod stat_monitor;
pub mod statements;
pub mod storage;
pub mod temp;
pub mod transactions;
pub mod wal;
pub mod wal_dir;
pub mod workload;
pub mod wraparound;

use crate::config::{Config, Limits};
use serde::Serialize;
use std::sync::Arc;

/// What collectors need from the configuration, copied once per loop.
#[derive(Debug, Clone)]
pub struct CollectSettings {
    pub limits: Limits,
    pub redact_sql_text: bool,
    pub canary_explain_query: Option<String>,
    pub workload_interval: std::time::Duration,
}

impl CollectSettings {
    pub fn from_config(config: &Config) -> Self {
        let query = config.canary.explain_query.trim();
        Self {
            limits: config.limits.clone(),
            redact_sql_text: config.security.redact_sql_text,
            canary_explain_query: (!query.is_empty()).then(|| query.to_string()),
            workload_interval: config.sample_intervals.workload,
        }
    }
}

/// One section of a snapshot: its data, or why it is missing this time.
pub type Section<T> = Result<T, CollectError>;

/// Why a section is missing this run, typed so `/healthz`, the API and the UI can say why
/// without parsing text. The `Display` text is what the API's `errors` maps carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CollectError {
    /// The loop's budget ran out before the collector answered.
    #[error("did not finish within the loop budget")]
    Timeout,
    /// The server failed the statement: a missing privilege (`42501`), a statement timeout
    /// (`57014`), a lock timeout (`55P03`), an undefined object (`42P01`, `42883`)...
    #[error("{message} (SQLSTATE {sqlstate})")]
    Query { sqlstate: String, message: String },
    /// The session broke during the statement: closed socket, I/O error, the server shutting
    /// down (class `08`, `57P01`–`57P03`).
    #[error("{detail}")]
    ConnectionLost { detail: String },
    /// The server answered in a shape the agent could not read (a type or decode error).
    #[error("{detail}")]
    Client { detail: String },
}

impl CollectError {
    /// The SQLSTATE the server gave, if it gave one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            CollectError::Query { sqlstate, .. } => Some(sqlstate),
            _ => None,
        }
    }
}

/// Fixtures: a section that failed for a reason the test does not care about.
#[cfg(test)]
impl From<&str> for CollectError {
    fn from(detail: &str) -> Self {
        CollectError::Client { detail: detail.into() }
    }
}

impl From<&tokio_postgres::Error> for CollectError {
    fn from(e: &tokio_postgres::Error) -> Self {
        if crate::db::connection_lost(e) {
            return CollectError::ConnectionLost {
                detail: crate::db::describe_pg_error(e),
            };
        }
        match e.as_db_error() {
            Some(db) => CollectError::Query {
                sqlstate: db.code().code().to_string(),
                message: db.message().to_string(),
            },
            None => CollectError::Client {
                detail: crate::db::describe_pg_error(e),
            },
        }
    }
}

/// The SQL a panel's numbers came from, shown verbatim in the UI's "SQL used".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SqlUsed {
    pub collector: &'static str,
    pub sql: &'static str,
}

/// A counter's per-second rate between two samples; `None` when there is no honest answer:
/// the counter went backwards (stats reset, server restart) or no time passed.
pub fn counter_rate(previous: i64, current: i64, elapsed_seconds: f64) -> Option<f64> {
    if current < previous || elapsed_seconds <= 0.0 {
        return None;
    }
    Some((current - previous) as f64 / elapsed_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_delta_over_time() {
        assert_eq!(counter_rate(1000, 4000, 15.0), Some(200.0));
        assert_eq!(counter_rate(5, 5, 15.0), Some(0.0));
    }

    #[test]
    fn a_collect_error_reads_as_the_text_the_api_always_gave() {
        assert_eq!(
            CollectError::Timeout.to_string(),
            "did not finish within the loop budget"
        );
        let denied = CollectError::Query {
            sqlstate: "42501".into(),
            message: "permission denied for table orders".into(),
        };
        assert_eq!(
            denied.to_string(),
            "permission denied for table orders (SQLSTATE 42501)"
        );
        assert_eq!(denied.sqlstate(), Some("42501"));
        assert_eq!(
            serde_json::to_value(&denied).unwrap(),
            serde_json::json!({"kind": "query", "sqlstate": "42501", "message": "permission denied for table orders"})
        );
    }

    #[test]
    fn reset_or_no_elapsed_time_gives_no_rate() {
        assert_eq!(counter_rate(4000, 10, 15.0), None);
        assert_eq!(counter_rate(1, 2, 0.0), None);
    }
}

/// What one loop run produced, by loop.
#[derive(Debug, Clone)]
pub enum LoopSnapshot {
    HotPath(Arc<hot_path::HotPathSnapshot>),
    Workload(Arc<workload::WorkloadSnapshot>),
    Storage(Arc<storage::StorageSnapshot>),
    Hourly(Arc<hourly::HourlySnapshot>),
    /// A run with no sections but a round trip (loops under test use it).
    Empty {
        round_trip: Section<()>,
    },
}

impl LoopSnapshot {
    /// How many sections the snapshot has.
    pub fn section_count(&self) -> usize {
        match self {
            LoopSnapshot::HotPath(s) => s.sections().len(),
            LoopSnapshot::Workload(s) => s.sections().len(),
            LoopSnapshot::Storage(s) => s.sections().len(),
            LoopSnapshot::Hourly(s) => s.sections().len(),
            LoopSnapshot::Empty { .. } => 1,
        }
    }

    /// Sections that failed this run, with their errors.
    pub fn section_errors(&self) -> Vec<(&'static str, CollectError)> {
        match self {
            LoopSnapshot::HotPath(s) => s.section_errors(),
            LoopSnapshot::Workload(s) => s.section_errors(),
            LoopSnapshot::Storage(s) => s.section_errors(),
            LoopSnapshot::Hourly(s) => s.section_errors(),
            LoopSnapshot::Empty { round_trip } => round_trip
                .as_ref()
                .err()
                .map(|e| vec![("round_trip", e.clone())])
                .unwrap_or_default(),
        }
    }
}

/// A loop's collectors and the state they carry between ticks (previous counters for rates).
/// The loop actor moves the job into a spawned task for each run and gets it back after.
pub trait LoopJob: Send + 'static {
    fn run<'a>(
        &'a mut self,
        client: &'a tokio_postgres::Client,
        caps: &'a crate::db::capabilities::Capabilities,
        deadline: tokio::time::Instant,
    ) -> futures::future::BoxFuture<'a, LoopSnapshot>;
}

/// Runs one collector within the loop's deadline, turning its failure into the section's error.
pub async fn within<T>(
    deadline: tokio::time::Instant,
    collector: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Section<T> {
    match tokio::time::timeout_at(deadline, collector).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CollectError::from(&e)),
        Err(_) => Err(CollectError::Timeout),
    }
}

/// The sections of a snapshot that failed this run, with their errors.
pub fn failed_sections(sections: Vec<(&'static str, Option<&CollectError>)>) -> Vec<(&'static str, CollectError)> {
    sections
        .into_iter()
        .filter_map(|(name, err)| err.map(|e| (name, e.clone())))
        .collect()
}

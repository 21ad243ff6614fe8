//! `GET /api/v1/*`: JSON views of the latest snapshots, one file per loop's endpoints. Every
//! body carries `cluster`, `db`, `collected_at`, `age_seconds`, `stale` (why the snapshot is
//! not current — the database is unreachable, the loop's last run failed or is late — or
//! null), `database_reachable` and the `sql` its numbers came from. A section
//! that failed its run is `null`, with the reason under `error` (or `errors` by section); an
//! endpoint whose loop has not completed a run yet answers 503 with the loops' health.

pub mod alerts;
pub mod history;
pub mod hourly;
pub mod overview;
pub mod storage;
pub mod workload;

pub use alerts::alerts;
pub use history::{history, sql};
pub use hourly::{bloat, stale_stats, wraparound};
pub use overview::overview;
pub use storage::{partitions, storage, unused_indexes};
pub use workload::{autovacuum, replication, top_queries};

use super::AppState;
use crate::actors::state::{LoopHealth, LoopSlot, StateView};
use crate::collectors::{Section, SqlUsed};
use crate::loops::LoopName;
use actix_web::HttpResponse;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::SystemTime;
use utoipa::ToSchema;

/// Failed sections by name, each with why.
pub type SectionErrors = BTreeMap<String, String>;

/// What every loop endpoint's body starts with.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope {
    pub cluster: String,
    pub db: String,
    /// When the run behind these figures started (RFC 3339).
    pub collected_at: String,
    /// Seconds since `collected_at`.
    pub age_seconds: u64,
    /// Why this snapshot is not current (the database is unreachable, the loop's last run
    /// failed or is late), or null.
    pub stale: Option<String>,
    /// Whether the database answers (null before the first try).
    pub database_reachable: Option<bool>,
}

/// A loop endpoint before its loop has completed a run (HTTP 503).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoSnapshotYet {
    pub error: String,
    pub loops: Vec<LoopHealth>,
}

/// A section's data, or null with its error recorded under `name` in `errors`.
fn section<T: Clone>(name: &str, section: &Section<T>, errors: &mut SectionErrors) -> Option<T> {
    match section {
        Ok(data) => Some(data.clone()),
        Err(e) => {
            errors.insert(name.to_string(), e.to_string());
            None
        }
    }
}

/// A single-section endpoint's data and its error (one of them null).
fn split<T: Clone>(section: &Section<T>) -> (Option<T>, Option<String>) {
    match section {
        Ok(data) => (Some(data.clone()), None),
        Err(e) => (None, Some(e.to_string())),
    }
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The age of a loop's snapshot taken at `at`, and why it is stale, if it is.
fn freshness(view: &StateView, loop_name: LoopName, at: SystemTime) -> (u64, Option<String>) {
    let now = SystemTime::now();
    let age = now.duration_since(at).unwrap_or_default().as_secs();
    (age, view.stale_reason(loop_name, now))
}

/// The age of loop `S`'s latest snapshot and why it is stale, if it is; `(None, None)` before
/// the loop's first run.
fn snapshot_age<S: LoopSlot>(view: &StateView) -> (Option<u64>, Option<String>) {
    match view.snapshots.get::<S>() {
        Some(published) => {
            let (age, stale) = freshness(view, S::LOOP, published.at);
            (Some(age), stale)
        }
        None => (None, None),
    }
}

fn sql_named(all: Vec<SqlUsed>, names: &[&str]) -> Vec<SqlUsed> {
    all.into_iter().filter(|s| names.contains(&s.collector)).collect()
}

/// Answers from the latest snapshot of loop `S` (its type names the loop); `build` makes the
/// body from the view, the snapshot and the envelope.
fn respond<S: LoopSlot, B: Serialize>(
    app: &AppState,
    build: impl FnOnce(&StateView, &S, Envelope) -> B,
) -> HttpResponse {
    let loop_name = S::LOOP;
    let view = app.view();
    let Some(published) = view.snapshots.get::<S>() else {
        return HttpResponse::ServiceUnavailable().json(NoSnapshotYet {
            error: format!("no {loop_name} snapshot yet: the {loop_name} loop has not completed a run"),
            loops: view.loops.clone(),
        });
    };
    let (age_seconds, stale) = freshness(&view, loop_name, published.at);
    let envelope = Envelope {
        cluster: view.cluster.clone(),
        db: view.db.clone(),
        collected_at: rfc3339(published.at),
        age_seconds,
        stale,
        database_reachable: view.database.reachable,
    };
    HttpResponse::Ok().json(build(&view, &published.snapshot, envelope))
}

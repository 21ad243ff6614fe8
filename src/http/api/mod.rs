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
pub use workload::{autovacuum, replication, settings, top_queries};

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

#[cfg(test)]
mod tests {
    //! Section and SQL names are strings that link a snapshot, the API and the UI; these tests
    //! read the sources so a renamed or misspelt one fails here, not as a silent `null`.

    use regex_lite::Regex;
    use std::collections::BTreeSet;

    const SNAPSHOTS: &[&str] = &[
        include_str!("../../collectors/hot_path.rs"),
        include_str!("../../collectors/workload.rs"),
        include_str!("../../collectors/storage.rs"),
        include_str!("../../collectors/hourly.rs"),
    ];
    const HANDLERS: &[&str] = &[
        include_str!("overview.rs"),
        include_str!("workload.rs"),
        include_str!("hourly.rs"),
        include_str!("storage.rs"),
        include_str!("mod.rs"),
    ];

    /// The names each snapshot's `sections()` lists, each checked against its field.
    fn snapshot_sections() -> BTreeSet<String> {
        let listed = Regex::new(r#"\("([a-z_]+)", self\.([a-z_]+)\.as_ref\(\)\.err\(\)\)"#).unwrap();
        let mut names = BTreeSet::new();
        for source in SNAPSHOTS {
            for c in listed.captures_iter(source) {
                assert_eq!(&c[1], &c[2], "section {:?} is listed under another field's name", &c[1]);
                names.insert(c[1].to_string());
            }
        }
        assert!(names.len() >= 15, "the scan found too few sections: {names:?}");
        names
    }

    #[test]
    fn every_section_the_api_reports_is_a_snapshot_section_of_that_name() {
        let sections = snapshot_sections();
        let reported = Regex::new(r#"section\(\s*"([a-z_]+)",\s*&[a-z_]+(?:\.snapshot)?\.([a-z_]+)"#).unwrap();
        let mut seen = 0;
        for source in HANDLERS {
            for c in reported.captures_iter(source) {
                assert_eq!(
                    &c[1], &c[2],
                    "the API reports field {:?} under the name {:?}",
                    &c[2], &c[1]
                );
                assert!(sections.contains(&c[1]), "{:?} is no snapshot section", &c[1]);
                seen += 1;
            }
        }
        assert!(seen >= 10, "the scan found too few section() calls");
    }

    #[test]
    fn every_sql_an_endpoint_picks_by_name_is_a_collector_statement() {
        let mut collectors = BTreeSet::new();
        let declared = Regex::new(r#"collector: "([a-z_]+)""#).unwrap();
        for source in SNAPSHOTS {
            collectors.extend(declared.captures_iter(source).map(|c| c[1].to_string()));
        }
        let picked = Regex::new(r#"sql_named\([^&]*&\[([^\]]*)\]"#).unwrap();
        let name = Regex::new(r#""([a-z_]+)""#).unwrap();
        let mut seen = 0;
        for source in HANDLERS {
            for c in picked.captures_iter(source) {
                for n in name.captures_iter(&c[1]) {
                    assert!(
                        collectors.contains(&n[1]),
                        "no collector statement is named {:?}",
                        &n[1]
                    );
                    seen += 1;
                }
            }
        }
        assert!(seen >= 5, "the scan found too few sql_named() names");
    }
}

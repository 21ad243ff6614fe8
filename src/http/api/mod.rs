//! `GET /api/v1/*`: JSON views of the latest snapshots, one file per loop's endpoints. Every
//! body carries `cluster`, `db`, `collected_at`, `age_seconds`, `stale` (why the snapshot is
//! not current — the database is unreachable, the loop's last run failed or is late — or
//! null), `database_reachable` and the `sql` its numbers came from. A section
//! that failed its run is `null`, with the reason under `error` (or `errors` by section); an
//! endpoint whose loop has not completed a run yet answers 503 with the loops' health.

mod alerts;
mod history;
mod hourly;
mod overview;
mod storage;
mod workload;

pub use alerts::alerts;
pub use history::{history, sql};
pub use hourly::{bloat, stale_stats, wraparound};
pub use overview::overview;
pub use storage::{partitions, storage, unused_indexes};
pub use workload::{autovacuum, replication, top_queries};

use super::AppState;
use crate::actors::state::{LoopSlot, StateView};
use crate::collectors::{Section, SqlUsed};
use crate::loops::LoopName;
use actix_web::HttpResponse;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// The section's data as JSON, or `null` with its error recorded under `name` in `errors`.
fn section<T: Serialize>(name: &str, section: &Section<T>, errors: &mut Map<String, Value>) -> Value {
    match section {
        Ok(data) => serde_json::to_value(data).unwrap_or(Value::Null),
        Err(e) => {
            errors.insert(name.to_string(), json!(e));
            Value::Null
        }
    }
}

/// A single-section endpoint: the data under `key`, its error (or null) under `error`.
fn put<T: Serialize>(obj: &mut Map<String, Value>, key: &str, data: &Section<T>) {
    let mut errors = Map::new();
    obj.insert(key.into(), section(key, data, &mut errors));
    obj.insert("error".into(), errors.remove(key).unwrap_or(Value::Null));
}

fn rfc3339(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `{prefix}age_seconds` and `{prefix}stale` of a loop's snapshot taken at `at`.
fn put_freshness(
    obj: &mut Map<String, Value>,
    prefix: &str,
    view: &StateView,
    loop_name: LoopName,
    at: Option<std::time::SystemTime>,
) {
    let now = std::time::SystemTime::now();
    let age = at.map(|at| now.duration_since(at).unwrap_or_default().as_secs());
    let stale = at.and_then(|_| view.stale_reason(loop_name, now));
    obj.insert(format!("{prefix}age_seconds"), json!(age));
    obj.insert(format!("{prefix}stale"), json!(stale));
}

fn sql_named(all: Vec<SqlUsed>, names: &[&str]) -> Value {
    json!(all
        .into_iter()
        .filter(|s| names.contains(&s.collector))
        .collect::<Vec<_>>())
}

/// Answers from the latest snapshot of loop `S` (its type names the loop); `build` fills the body.
async fn respond<S: LoopSlot>(
    app: &AppState,
    build: impl FnOnce(&StateView, &S, &mut Map<String, Value>),
) -> HttpResponse {
    let loop_name = S::LOOP;
    let view = app.view();
    let Some((at, snapshot)) = view.snapshots.get::<S>().map(|p| (p.at, &*p.snapshot)) else {
        return HttpResponse::ServiceUnavailable().json(json!({
            "error": format!("no {loop_name} snapshot yet: the {loop_name} loop has not completed a run"),
            "loops": view.loops,
        }));
    };
    let mut obj = Map::new();
    obj.insert("cluster".into(), json!(view.cluster));
    obj.insert("db".into(), json!(view.db));
    obj.insert("collected_at".into(), json!(rfc3339(at)));
    put_freshness(&mut obj, "", &view, loop_name, Some(at));
    obj.insert("database_reachable".into(), json!(view.database.reachable));
    build(&view, snapshot, &mut obj);
    HttpResponse::Ok().json(Value::Object(obj))
}

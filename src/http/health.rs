//! `GET /healthz` (readiness): 200 when the database answers and every loop is on schedule;
//! 503 naming each degraded part and why otherwise: the database (unreachable, with the
//! reason), each degraded loop (failed, late, over budget, pool busy), `read_only` (the role
//! could write) and `privileges` (pg_monitor lost while running). Evaluated at request time, so
//! a loop that has gone quiet shows as late even if nothing new was reported. `/livez` is the
//! liveness probe.

use super::AppState;
use crate::actors::state::{LoopStatus, StateView};
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};
use std::time::SystemTime;

pub async fn healthz(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    let (healthy, body) = health_report(&view, SystemTime::now());
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub fn health_report(view: &StateView, now: SystemTime) -> (bool, Value) {
    let mut loops = Map::new();
    let mut degraded = Vec::new();
    // Ready once the hot path has read the database and no loop is degraded: a slower loop
    // still waiting for its first run (not late) is on schedule.
    let mut starting = !view
        .loops
        .iter()
        .any(|h| h.name == crate::actors::messages::LoopName::HotPath);
    for health in &view.loops {
        let (status, reason) = match health.status(now) {
            LoopStatus::Ok => ("ok", None),
            LoopStatus::Starting => {
                starting |= health.name == crate::actors::messages::LoopName::HotPath;
                ("starting", Some("waiting for the first run".to_string()))
            }
            LoopStatus::Degraded(reason) => {
                degraded.push(format!("{}: {}", health.name, reason));
                ("degraded", Some(reason))
            }
        };
        let mut entry = serde_json::to_value(health).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut entry {
            map.insert("status".into(), json!(status));
            map.insert("reason".into(), json!(reason));
        }
        loops.insert(health.name.as_str().to_string(), entry);
    }
    let database = &view.database;
    if let Some(error) = database.error.as_deref().filter(|_| database.is_down()) {
        degraded.insert(0, format!("database: {error}"));
    }
    if let Some(reason) = &view.write_access {
        degraded.push(format!("read_only: {reason}"));
    }
    if let Some(reason) = &view.privileges_lost {
        degraded.push(format!("privileges: {reason}"));
    }
    let status = if !degraded.is_empty() {
        "degraded"
    } else if starting || view.loops.is_empty() {
        "starting"
    } else {
        "ok"
    };
    let body = json!({
        "status": status,
        "cluster": view.cluster,
        "db": view.db,
        "database": {
            "reachable": database.reachable == Some(true) && view.capabilities.is_some(),
            "error": database.error.as_deref().filter(|_| database.is_down()),
            "since": database.since.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "failed_runs": database.failed_runs,
            "server_version": view.capabilities.as_ref().map(|c| c.server_version.clone()),
        },
        "degraded": degraded,
        "advisories": view.advisories,
        "loops": loops,
        "uptime_seconds": now.duration_since(view.started_at).map(|d| d.as_secs()).unwrap_or(0),
    });
    (status == "ok", body)
}

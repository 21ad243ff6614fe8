//! `GET /healthz`: 200 when the database answers and every loop is on schedule; 503 naming
//! each degraded loop and why otherwise. Evaluated at request time, so a loop that has gone
//! quiet shows as late even if nothing new was reported.

use super::AppState;
use crate::actors::state::{LoopStatus, StateView};
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};
use std::time::SystemTime;

pub async fn healthz(app: web::Data<AppState>) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
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
    // The most recent run of any loop says whether the database answers now.
    let unreachable = view
        .loops
        .iter()
        .filter(|h| h.last_run_at.is_some())
        .max_by_key(|h| h.last_run_at)
        .and_then(|h| h.database_unreachable());
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
            "reachable": unreachable.is_none() && view.capabilities.is_some(),
            "error": unreachable,
            "server_version": view.capabilities.as_ref().map(|c| c.server_version.clone()),
        },
        "degraded": degraded,
        "loops": loops,
        "uptime_seconds": now.duration_since(view.started_at).map(|d| d.as_secs()).unwrap_or(0),
    });
    (status == "ok", body)
}

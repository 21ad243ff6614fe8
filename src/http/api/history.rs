//! `GET /api/v1/history`: the bounded in-memory history behind the UI's charts (connections,
//! blocked sessions, TPS/QPS, WAL rate, mean latency) over `ui.history_window`, with the SQL the
//! figures came from. `GET /api/v1/sql`: every statement the agent runs, by loop, in the variant
//! chosen for the connected server.

use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn history(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    let charted = [
        "connections",
        "blocked_sessions",
        "database_totals",
        "statements",
        "wal",
    ];
    let sql: Vec<_> = view
        .hot_path_sql()
        .into_iter()
        .chain(view.workload_sql())
        .filter(|s| charted.contains(&s.collector))
        .collect();
    HttpResponse::Ok().json(json!({
        "cluster": view.cluster,
        "db": view.db,
        "window": humantime::format_duration(view.history.window).to_string(),
        "max_points": crate::actors::history::MAX_POINTS,
        "hot_path": view.history.hot_path,
        "workload": view.history.workload,
        "sql": sql,
    }))
}

pub async fn sql(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    HttpResponse::Ok().json(json!({
        "cluster": view.cluster,
        "server_version_num": view.capabilities.as_ref().map(|c| c.server_version_num),
        "loops": {
            "hot_path": view.hot_path_sql(),
            "workload": view.workload_sql(),
            "storage": crate::collectors::storage::sql_used(),
            "hourly": crate::collectors::hourly::sql_used(
                view.capabilities.as_ref().map_or(140000, |c| c.server_version_num)
            ),
        },
    }))
}

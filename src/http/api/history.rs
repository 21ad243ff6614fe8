//! `GET /api/v1/history`: the bounded in-memory history behind the UI's charts (connections,
//! blocked sessions, TPS/QPS, WAL rate, mean latency) over `ui.history_window`, with the SQL the
//! figures came from. `GET /api/v1/sql`: every statement the agent runs, by loop, in the variant
//! chosen for the connected server.

use crate::actors::history::{HotPathPoint, WorkloadPoint, MAX_POINTS};
use crate::collectors::SqlUsed;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /api/v1/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    pub cluster: String,
    pub db: String,
    /// `ui.history_window`, e.g. `1h`.
    pub window: String,
    /// The most points kept per series.
    pub max_points: usize,
    pub hot_path: Vec<HotPathPoint>,
    pub workload: Vec<WorkloadPoint>,
    pub sql: Vec<SqlUsed>,
}

/// The in-memory history behind the UI's charts over `ui.history_window`.
#[utoipa::path(get, path = "/api/v1/history", tag = "overview", responses((status = 200, body = HistoryResponse)))]
pub async fn history(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    let charted = [
        "connections",
        "blocked_sessions",
        "database_totals",
        "statements",
        "wal",
    ];
    let sql = view
        .hot_path_sql()
        .into_iter()
        .chain(view.workload_sql())
        .filter(|s| charted.contains(&s.collector))
        .collect();
    HttpResponse::Ok().json(HistoryResponse {
        cluster: view.cluster.clone(),
        db: view.db.clone(),
        window: humantime::format_duration(view.history.window).to_string(),
        max_points: MAX_POINTS,
        hot_path: view.history.hot_path.iter().cloned().collect(),
        workload: view.history.workload.iter().cloned().collect(),
        sql,
    })
}

/// Every statement of each loop.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlByLoop {
    pub hot_path: Vec<SqlUsed>,
    pub workload: Vec<SqlUsed>,
    pub storage: Vec<SqlUsed>,
    pub hourly: Vec<SqlUsed>,
}

/// `GET /api/v1/sql`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlResponse {
    pub cluster: String,
    /// The connected server's `server_version_num`; null before the first connection.
    pub server_version_num: Option<i32>,
    pub loops: SqlByLoop,
}

/// Every statement the agent runs, by loop, in the variant for the connected server.
#[utoipa::path(get, path = "/api/v1/sql", tag = "overview", responses((status = 200, body = SqlResponse)))]
pub async fn sql(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    let version = view.capabilities.as_ref().map(|c| c.server_version_num);
    HttpResponse::Ok().json(SqlResponse {
        cluster: view.cluster.clone(),
        server_version_num: version,
        loops: SqlByLoop {
            hot_path: view.hot_path_sql(),
            workload: view.workload_sql(),
            storage: crate::collectors::storage::sql_used(),
            hourly: crate::collectors::hourly::sql_used(version.unwrap_or(140000)),
        },
    })
}

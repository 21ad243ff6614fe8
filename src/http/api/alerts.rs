//! `GET /api/v1/alerts`: open alerts (pending and firing, with kind, severity, message, since
//! and dedupe key) and the recently resolved ones (with start and end), newest first.

use crate::alerts::engine::{Alert, ResolvedAlert};
use crate::alerts::{AlertKind, CATALOG};
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /api/v1/alerts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertsResponse {
    pub cluster: String,
    pub db: String,
    /// Pending and firing alerts.
    pub open: Vec<Alert>,
    /// Recently resolved alerts, newest first.
    pub recent: Vec<ResolvedAlert>,
    /// Every alert kind the agent can raise.
    pub kinds: Vec<AlertKind>,
}

/// Open alerts (pending and firing) and the recently resolved ones, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", responses((status = 200, body = AlertsResponse)))]
pub async fn alerts(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    HttpResponse::Ok().json(AlertsResponse {
        cluster: view.cluster.clone(),
        db: view.db.clone(),
        open: view.open_alerts.clone(),
        recent: view.alert_history.clone(),
        kinds: CATALOG.iter().map(|(kind, _)| *kind).collect(),
    })
}

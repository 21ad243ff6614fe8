//! `GET /api/v1/alerts`: open alerts (pending and firing, with kind, severity, message, since
//! and dedupe key) and the recently resolved ones (with start and end), newest first.

use crate::alerts::CATALOG;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn alerts(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    let catalog: Vec<_> = CATALOG.iter().map(|(kind, _)| kind).collect();
    HttpResponse::Ok().json(json!({
        "cluster": view.cluster,
        "db": view.db,
        "open": view.open_alerts,
        "recent": view.alert_history,
        "kinds": catalog,
    }))
}

//! The HTTP side (actix-web): `/healthz`, `/metrics`, `/api/v1/*` and the UI at `/`. Handlers
//! read the StateActor's immutable view; none touches the database or runs a collector.
//! Optional HTTPS and per-scope credentials ([`auth`]) are wired in by `app`.

mod api;
pub mod auth;
mod health;
pub mod limits;
mod openapi;
mod ui;

use crate::actors::messages::GetView;
use crate::actors::state::{StateActor, StateView};
use actix::Addr;
use actix_web::{web, HttpResponse};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub state: Addr<StateActor>,
    pub static_dir: Option<PathBuf>,
    /// `ui.hide_postgres_defaults`: leave postgres/template* out of wraparound listings.
    pub hide_postgres_defaults: bool,
}

impl AppState {
    async fn view(&self) -> Result<Arc<StateView>, HttpResponse> {
        self.state.send(GetView).await.map_err(|e| {
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "error": format!("state unavailable: {e}") }))
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // HEAD too, for probes that use it: otherwise it would fall through to the UI's 200 page.
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/healthz", web::head().to(health::healthz))
        .route("/metrics", web::get().to(metrics))
        .route("/metrics", web::head().to(metrics))
        .route("/api/v1/overview", web::get().to(api::overview))
        .route("/api/v1/alerts", web::get().to(api::alerts))
        .route("/api/v1/top-queries", web::get().to(api::top_queries))
        .route("/api/v1/autovacuum", web::get().to(api::autovacuum))
        .route("/api/v1/replication", web::get().to(api::replication))
        .route("/api/v1/storage", web::get().to(api::storage))
        .route("/api/v1/unused-indexes", web::get().to(api::unused_indexes))
        .route("/api/v1/partitions", web::get().to(api::partitions))
        .route("/api/v1/bloat", web::get().to(api::bloat))
        .route("/api/v1/wraparound", web::get().to(api::wraparound))
        .route("/api/v1/stale-stats", web::get().to(api::stale_stats))
        .route("/api/v1/history", web::get().to(api::history))
        .route("/api/v1/sql", web::get().to(api::sql))
        .route("/api/v1/openapi.json", web::get().to(openapi::document))
        .default_service(web::to(ui::serve));
}

async fn metrics(app: web::Data<AppState>) -> HttpResponse {
    match app.view().await {
        Ok(view) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(view.metrics_text.clone()),
        Err(resp) => resp,
    }
}

//! The HTTP side (actix-web): `/livez`, `/healthz`, `/metrics`, `/api/v1/*` and the UI at `/`.
//! Handlers read the latest immutable view the StateActor published on its watch channel, so
//! they never queue behind its mailbox (nor delay a loop); none touches the database or runs a
//! collector. `/livez` reads the StateActor's heartbeat, also without a message.
//! Optional HTTPS and per-scope credentials ([`auth`]) are wired in by `app`.

pub mod api;
pub mod auth;
pub mod health;
pub mod limits;
pub mod openapi;
mod ui;

use crate::actors::state::{Heartbeat, StateView};
use actix_web::{web, HttpResponse};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    /// The StateActor's latest view (`StateActor::subscribe`).
    pub views: tokio::sync::watch::Receiver<Arc<StateView>>,
    /// The StateActor's pulse, for `/livez`.
    pub heartbeat: Heartbeat,
    pub static_dir: Option<PathBuf>,
    /// `ui.hide_postgres_defaults`: leave postgres/template* out of wraparound listings.
    pub hide_postgres_defaults: bool,
}

impl AppState {
    /// The latest published view; never waits.
    fn view(&self) -> Arc<StateView> {
        self.views.borrow().clone()
    }
}

/// How old the StateActor's heartbeat may be before `/livez` calls the agent dead.
const LIVENESS_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

pub fn configure(cfg: &mut web::ServiceConfig) {
    // HEAD too, for probes that use it: otherwise it would fall through to the UI's 200 page.
    cfg.route("/livez", web::get().to(livez))
        .route("/livez", web::head().to(livez))
        .route("/healthz", web::get().to(health::healthz))
        .route("/healthz", web::head().to(health::healthz))
        .route("/metrics", web::get().to(metrics))
        .route("/metrics", web::head().to(metrics))
        .route("/api/v1/health", web::get().to(health::api_health))
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

/// Prometheus text exposition rendered from the last snapshots; never queries the database.
/// Every family is listed in docs/metrics.md.
#[utoipa::path(get, path = "/metrics", tag = "agent", responses(
    (status = 200, description = "Prometheus text format 0.0.4.", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")))]
async fn metrics(app: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(app.view().metrics_text.clone())
}

/// `GET /livez`: 200 while the process and its actor system answer, whatever the database does
/// (a liveness probe must not restart the agent during a database outage); 503 when the
/// StateActor's heartbeat has stopped for `LIVENESS_LIMIT`. Reads an atomic: no mailbox.
#[utoipa::path(get, path = "/livez", tag = "agent", security(()), responses(
    (status = 200, description = "The agent's actors answer.", body = openapi::Liveness),
    (status = 503, description = "The actors have not answered for 10 s.", body = openapi::Liveness)))]
async fn livez(app: web::Data<AppState>) -> HttpResponse {
    let silent = app.heartbeat.age();
    let uptime = std::time::SystemTime::now()
        .duration_since(app.view().started_at)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if silent <= LIVENESS_LIMIT {
        HttpResponse::Ok().json(openapi::Liveness {
            status: "alive",
            uptime_seconds: Some(uptime),
            error: None,
        })
    } else {
        HttpResponse::ServiceUnavailable().json(openapi::Liveness {
            status: "dead",
            uptime_seconds: None,
            error: Some(format!(
                "the agent's actors have not answered for {}s",
                silent.as_secs()
            )),
        })
    }
}

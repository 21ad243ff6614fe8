//! The HTTP side (actix-web): `/livez`, `/healthz`, `/metrics`, `/api/v1/*` and the UI at `/`.
//! Handlers read the latest immutable view the StateActor published on its watch channel, so
//! they never queue behind its mailbox (nor delay a loop); none touches the database or runs a
//! collector. `/livez` reads the StateActor's heartbeat, also without a message.
//! Each group of routes carries its own credentials ([`auth::require`]): the `/api` scope, the
//! `/metrics` resource, and the UI's catch-all scope; `/healthz` and `/livez` stay open.
//! Optional HTTPS is wired in by `app`.

pub mod api;
pub mod auth;
pub mod health;
pub mod limits;
pub mod openapi;
mod ui;

use crate::actors::state::{Heartbeat, StateView};
use actix_web::{web, HttpResponse};
use auth::{require, AuthPolicy, Scope};
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
    /// The credentials per scope; `/healthz` gives the full report to valid `api` credentials.
    pub auth: Arc<AuthPolicy>,
}

impl AppState {
    /// The latest published view; never waits.
    fn view(&self) -> Arc<StateView> {
        self.views.borrow().clone()
    }
}

/// How old the StateActor's heartbeat may be before `/livez` calls the agent dead.
const LIVENESS_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The route table. The router picks the handler and, with it, the credentials: a path the
/// router sends to `/metrics` (`/%6Detrics` too) meets the `metrics` scope's, whatever its
/// spelling. Under `/api`, routes are written relative to the scope (`/v1/overview` is
/// `/api/v1/overview`).
pub fn configure(policy: Arc<AuthPolicy>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        // HEAD too, for probes that use it: otherwise it would fall through to the UI's 200 page.
        cfg.route("/livez", web::get().to(livez))
            .route("/livez", web::head().to(livez))
            .route("/healthz", web::get().to(health::healthz))
            .route("/healthz", web::head().to(health::healthz))
            .service(
                web::resource("/metrics")
                    .wrap(require(Scope::Metrics, policy.clone()))
                    .route(web::get().to(metrics))
                    .route(web::head().to(metrics)),
            )
            .service(
                web::scope("/api")
                    .wrap(require(Scope::Api, policy.clone()))
                    .route("/v1/health", web::get().to(health::api_health))
                    .route("/v1/overview", web::get().to(api::overview))
                    .route("/v1/alerts", web::get().to(api::alerts))
                    .route("/v1/top-queries", web::get().to(api::top_queries))
                    .route("/v1/autovacuum", web::get().to(api::autovacuum))
                    .route("/v1/replication", web::get().to(api::replication))
                    .route("/v1/settings", web::get().to(api::settings))
                    .route("/v1/storage", web::get().to(api::storage))
                    .route("/v1/unused-indexes", web::get().to(api::unused_indexes))
                    .route("/v1/partitions", web::get().to(api::partitions))
                    .route("/v1/bloat", web::get().to(api::bloat))
                    .route("/v1/wraparound", web::get().to(api::wraparound))
                    .route("/v1/stale-stats", web::get().to(api::stale_stats))
                    .route("/v1/history", web::get().to(api::history))
                    .route("/v1/sql", web::get().to(api::sql))
                    .route("/v1/openapi.json", web::get().to(openapi::document))
                    // An unknown API path: the JSON 404, behind the API's credentials.
                    .default_service(web::to(ui::serve)),
            )
            .service(
                web::scope("")
                    .wrap(require(Scope::Ui, policy))
                    .default_service(web::to(ui::serve)),
            );
    }
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

#[cfg(test)]
mod tests {
    use super::auth::ScopeCredentials;
    use super::*;
    use actix_web::{test, App};

    /// Every scope with its own token, so a request's status says which scope guarded it.
    fn distinct_tokens() -> Arc<AuthPolicy> {
        Arc::new(AuthPolicy {
            api: ScopeCredentials::bearer("api-token"),
            ui: ScopeCredentials::bearer("ui-token"),
            metrics: ScopeCredentials::bearer("metrics-token"),
        })
    }

    /// The router chooses the credentials: each path, however spelled, meets the scope of the
    /// handler the router sends it to, and only that scope's token opens it.
    #[actix_web::test]
    async fn each_path_meets_the_credentials_of_the_scope_the_router_sends_it_to() {
        let app = test::init_service(App::new().configure(configure(distinct_tokens()))).await;
        let cases = [
            ("/healthz", None),
            ("/livez", None),
            ("/metrics", Some(Scope::Metrics)),
            ("/%6Detrics", Some(Scope::Metrics)),
            ("/api", Some(Scope::Api)),
            ("/api/v1/overview", Some(Scope::Api)),
            ("/%61pi/v1/overview", Some(Scope::Api)),
            ("/api/v1/no-such-endpoint", Some(Scope::Api)),
            ("/", Some(Scope::Ui)),
            ("/assets/app.js", Some(Scope::Ui)),
            ("/apix", Some(Scope::Ui)),
            ("/healthz/extra", Some(Scope::Ui)),
        ];
        for (path, scope) in cases {
            let status = |token: Option<&'static str>| {
                let mut req = test::TestRequest::get().uri(path);
                if let Some(token) = token {
                    req = req.insert_header(("Authorization", format!("Bearer {token}")));
                }
                let app = &app;
                async move { test::call_service(app, req.to_request()).await.status().as_u16() }
            };
            match scope {
                None => assert_ne!(status(None).await, 401, "{path} must stay open"),
                Some(scope) => {
                    let own = match scope {
                        Scope::Api => "api-token",
                        Scope::Metrics => "metrics-token",
                        Scope::Ui => "ui-token",
                    };
                    assert_eq!(status(None).await, 401, "{path} without credentials");
                    assert_ne!(status(Some(own)).await, 401, "{path} with the {own}");
                    for other in ["api-token", "metrics-token", "ui-token"]
                        .into_iter()
                        .filter(|t| *t != own)
                    {
                        assert_eq!(status(Some(other)).await, 401, "{path} with the {other}");
                    }
                }
            }
        }
    }

    #[actix_web::test]
    async fn a_refusal_names_the_scope_and_its_challenge() {
        let app = test::init_service(App::new().configure(configure(distinct_tokens()))).await;
        let resp = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.headers().get("www-authenticate").unwrap(),
            r#"Bearer realm="pgmon""#
        );
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(
            body,
            serde_json::json!({"error": "authentication required", "scope": "metrics"})
        );
    }
}

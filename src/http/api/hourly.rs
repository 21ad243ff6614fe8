//! Hourly-loop endpoints: `/api/v1/bloat`, `/api/v1/stale-stats`, `/api/v1/wraparound`.

use super::{put, respond, sql_named};
use crate::actors::messages::LoopName;
use crate::actors::state::Published;
use crate::actors::state::StateView;
use crate::collectors::hourly;
use crate::collectors::wraparound::{visible, XID_LIMIT};
use crate::collectors::SqlUsed;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// The hourly SQL in the variant for the connected server (PostgreSQL 14+ before it is known).
fn sql_used(view: &StateView) -> Vec<SqlUsed> {
    hourly::sql_used(view.capabilities.as_ref().map_or(140000, |c| c.server_version_num))
}

/// pgstattuple_approx samples of the Top-N tables, or why there are none.
pub async fn bloat(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, LoopName::Hourly, Published::hourly, |view, h, obj| {
        put(obj, "bloat", &h.bloat);
        obj.insert(
            "sql".into(),
            sql_named(
                sql_used(view),
                &[
                    "blocked_relations",
                    "bloat_candidates",
                    "relation_candidates",
                    "relation_size",
                    "bloat_sample",
                ],
            ),
        );
    })
    .await
}

/// Tables modified since an analyze older than the threshold (or never analyzed).
pub async fn stale_stats(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, LoopName::Hourly, Published::hourly, |view, h, obj| {
        put(obj, "tables", &h.stale_stats);
        obj.insert("sql".into(), sql_named(sql_used(view), &["stale_stats"]));
    })
    .await
}

/// Worst database and relation XID ages; postgres/template* hidden per `ui.hide_postgres_defaults`.
pub async fn wraparound(app: web::Data<AppState>) -> HttpResponse {
    let hide = app.hide_postgres_defaults;
    respond(&app, LoopName::Hourly, Published::hourly, |view, h, obj| {
        match &h.wraparound {
            Ok(w) => {
                obj.insert("databases".into(), json!(visible(&w.databases, hide)));
                obj.insert("relations".into(), json!(w.relations));
                obj.insert("error".into(), Value::Null);
            }
            Err(e) => {
                obj.insert("databases".into(), Value::Null);
                obj.insert("relations".into(), Value::Null);
                obj.insert("error".into(), json!(e));
            }
        }
        obj.insert("xid_limit".into(), json!(XID_LIMIT));
        obj.insert("hide_postgres_defaults".into(), json!(hide));
        obj.insert(
            "sql".into(),
            sql_named(sql_used(view), &["wraparound_databases", "wraparound_relations"]),
        );
    })
    .await
}

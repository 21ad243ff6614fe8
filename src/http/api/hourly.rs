//! Hourly-loop endpoints: `/api/v1/bloat`, `/api/v1/stale-stats`, `/api/v1/wraparound`.

use super::{put, respond, sql_named};
use crate::actors::state::StateView;
use crate::collectors::hourly;
use crate::collectors::hourly::HourlySnapshot;
use crate::collectors::stale_stats::{StaleStats, StaleTable, CHANGE_WINDOW_SECONDS};
use crate::collectors::storage::sql_used as storage_sql;
use crate::collectors::wraparound::{visible, XID_LIMIT};
use crate::collectors::SqlUsed;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// The hourly SQL in the variant for the connected server (PostgreSQL 14+ before it is known).
fn sql_used(view: &StateView) -> Vec<SqlUsed> {
    hourly::sql_used(view.capabilities.as_ref().map_or(140000, |c| c.server_version_num))
}

/// pgstattuple_approx samples of the Top-N tables and pgstatindex samples of the Top-N B-tree
/// indexes (hourly), or why there are none; and the storage loop's free-space map figures.
pub async fn bloat(app: web::Data<AppState>) -> HttpResponse {
    respond::<HourlySnapshot>(&app, |view, h, obj| {
        put(obj, "bloat", &h.bloat);
        let storage = view.storage().map(|p| &*p.snapshot);
        let free_space: Vec<Value> = storage
            .and_then(|s| s.relations.as_ref().ok())
            .into_iter()
            .flatten()
            .map(|r| {
                json!({
                    "relation": r.relation,
                    "table_bytes": r.table_bytes,
                    "fsm_free_bytes": r.fsm_free_bytes,
                    "fsm_free_ratio": r.fsm_free_ratio,
                    "bloat_estimated_bytes": r.bloat_estimated_bytes,
                    "bloat_estimate_basis": r.bloat_estimate_basis,
                })
            })
            .collect();
        obj.insert("free_space_map".into(), json!(free_space));
        obj.insert(
            "free_space_map_status".into(),
            match storage.map(|s| &s.free_space) {
                Some(Ok(f)) => json!(f),
                Some(Err(e)) => json!({ "available": false, "unavailable_reason": e, "skipped_relations": [] }),
                None => json!({ "available": false, "unavailable_reason": "the storage loop has not completed a run yet", "skipped_relations": [] }),
            },
        );
        obj.insert(
            "sql".into(),
            sql_named(
                sql_used(view)
                    .into_iter()
                    .chain(storage_sql().into_iter().filter(|s| s.collector == "free_space"))
                    .collect(),
                &[
                    "free_space",
                    "blocked_relations",
                    "bloat_candidates",
                    "relation_candidates",
                    "relation_size",
                    "bloat_sample",
                    "index_candidates",
                    "index_sample",
                ],
            ),
        );
    })
    .await
}

/// `tables`: stale per spec §6 (changed in the last hour, past the autoanalyze trigger, last
/// analyze older than the threshold); `stalest`: the Top-N stalest modified tables, stale or not.
pub async fn stale_stats(app: web::Data<AppState>) -> HttpResponse {
    respond::<HourlySnapshot>(&app, |view, h, obj| {
        let section =
            |pick: fn(&StaleStats) -> &Vec<StaleTable>| h.stale_stats.as_ref().map(pick).map_err(Clone::clone);
        put(obj, "stalest", &section(|s| &s.stalest));
        put(obj, "tables", &section(|s| &s.tables));
        obj.insert("change_window_seconds".into(), json!(CHANGE_WINDOW_SECONDS));
        obj.insert("sql".into(), sql_named(sql_used(view), &["stale_stats"]));
    })
    .await
}

/// Worst database and relation XID ages; postgres/template* hidden per `ui.hide_postgres_defaults`.
pub async fn wraparound(app: web::Data<AppState>) -> HttpResponse {
    let hide = app.hide_postgres_defaults;
    respond::<HourlySnapshot>(&app, |view, h, obj| {
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

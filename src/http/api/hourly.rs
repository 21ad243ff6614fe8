//! Hourly-loop endpoints: `/api/v1/bloat`, `/api/v1/stale-stats`, `/api/v1/wraparound`.

use super::{respond, split, sql_named, Envelope};
use crate::actors::state::StateView;
use crate::alerts::verdicts::{self, StaleTable};
use crate::collectors::bloat::BloatSamples;
use crate::collectors::hourly::{self, HourlySnapshot};
use crate::collectors::sizes::FreeSpaceMap;
use crate::collectors::stale_stats::CHANGE_WINDOW_SECONDS;
use crate::collectors::storage::sql_used as storage_sql;
use crate::collectors::wraparound::{visible, DatabaseAge, RelationAge, XID_LIMIT};
use crate::collectors::SqlUsed;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// The hourly SQL in the variant for the connected server (PostgreSQL 14+ before it is known).
fn sql_used(view: &StateView) -> Vec<SqlUsed> {
    hourly::sql_used(view.capabilities.as_ref().map_or(140000, |c| c.server_version_num))
}

/// One table's free-space map figures and the bloat estimate they give (storage loop).
#[derive(Debug, Serialize, ToSchema)]
pub struct FreeSpaceRow {
    pub relation: String,
    pub table_bytes: i64,
    /// Free bytes the free-space map records (sampled on large tables); null when unread.
    pub fsm_free_bytes: Option<i64>,
    /// `fsm_free_bytes / table_bytes`.
    pub fsm_free_ratio: Option<f64>,
    pub bloat_estimated_bytes: i64,
    /// What the estimate rests on: `free_space_map` or `dead_tuples`.
    pub bloat_estimate_basis: &'static str,
}

/// `GET /api/v1/bloat`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BloatResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// pgstattuple samples of tables and indexes, or why there are none.
    pub bloat: Option<BloatSamples>,
    /// Why `bloat` is null.
    pub error: Option<String>,
    /// The storage loop's free-space figures of its Top-N tables.
    pub free_space_map: Vec<FreeSpaceRow>,
    /// Whether the free-space map could be read, and the tables it could not read.
    pub free_space_map_status: FreeSpaceMap,
    pub sql: Vec<SqlUsed>,
}

/// pgstattuple_approx samples of the Top-N tables and pgstatindex samples of the Top-N B-tree
/// indexes (hourly), or why there are none; and the storage loop's free-space map figures.
#[utoipa::path(get, path = "/api/v1/bloat", tag = "hourly",
    responses((status = 200, body = BloatResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn bloat(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |view, h: &HourlySnapshot, envelope| {
        let (bloat, error) = split(&h.bloat);
        let storage = view.storage().map(|p| &*p.snapshot);
        let free_space_map = storage
            .and_then(|s| s.relations.as_ref().ok())
            .into_iter()
            .flatten()
            .map(|r| FreeSpaceRow {
                relation: r.relation.clone(),
                table_bytes: r.table_bytes,
                fsm_free_bytes: r.fsm_free_bytes,
                fsm_free_ratio: r.fsm_free_ratio,
                bloat_estimated_bytes: r.bloat_estimated_bytes,
                bloat_estimate_basis: r.bloat_estimate_basis,
            })
            .collect();
        let free_space_map_status = match storage.map(|s| &s.free_space) {
            Some(Ok(f)) => f.clone(),
            Some(Err(e)) => FreeSpaceMap::unavailable(e.to_string()),
            None => FreeSpaceMap::unavailable("the storage loop has not completed a run yet".into()),
        };
        let sql = sql_used(view)
            .into_iter()
            .chain(storage_sql().into_iter().filter(|s| s.collector == "free_space"))
            .collect();
        BloatResponse {
            envelope,
            bloat,
            error,
            free_space_map,
            free_space_map_status,
            sql: sql_named(
                sql,
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
        }
    })
}

/// `GET /api/v1/stale-stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaleStatsResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The Top-N stalest modified tables, stale or not, each with its verdict.
    pub stalest: Option<Vec<StaleTable>>,
    /// The tables stale per spec §6, worst first: what `stale_stats` alerts on.
    pub tables: Option<Vec<StaleTable>>,
    /// Why the section failed.
    pub error: Option<String>,
    /// How far back "changed in the last hour" looks.
    pub change_window_seconds: f64,
    pub sql: Vec<SqlUsed>,
}

/// `tables`: stale per spec §6 (changed in the last hour, past the autoanalyze trigger, last
/// analyze older than the threshold); `stalest`: the Top-N stalest modified tables, stale or not.
#[utoipa::path(get, path = "/api/v1/stale-stats", tag = "hourly",
    responses((status = 200, body = StaleStatsResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn stale_stats(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |view, h: &HourlySnapshot, envelope| {
        let (observed, error) = split(&h.stale_stats);
        let (stalest, tables) = match observed.map(|o| verdicts::stale_stats(&o, &view.thresholds)) {
            Some(s) => (Some(s.stalest), Some(s.tables)),
            None => (None, None),
        };
        StaleStatsResponse {
            envelope,
            stalest,
            tables,
            error,
            change_window_seconds: CHANGE_WINDOW_SECONDS,
            sql: sql_named(sql_used(view), &["stale_stats"]),
        }
    })
}

/// `GET /api/v1/wraparound`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WraparoundResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Each database's XID age, worst first (postgres/template* hidden per
    /// `ui.hide_postgres_defaults`).
    pub databases: Option<Vec<DatabaseAge>>,
    /// The oldest relations of the connected database.
    pub relations: Option<Vec<RelationAge>>,
    /// Why the section failed.
    pub error: Option<String>,
    /// The XID age at which PostgreSQL stops assigning XIDs.
    pub xid_limit: f64,
    pub hide_postgres_defaults: bool,
    pub sql: Vec<SqlUsed>,
}

/// Worst database and relation XID ages; postgres/template* hidden per `ui.hide_postgres_defaults`.
#[utoipa::path(get, path = "/api/v1/wraparound", tag = "hourly",
    responses((status = 200, body = WraparoundResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn wraparound(app: web::Data<AppState>) -> HttpResponse {
    let hide = app.hide_postgres_defaults;
    respond(&app, |view, h: &HourlySnapshot, envelope| {
        let (databases, relations, error) = match &h.wraparound {
            Ok(w) => (Some(visible(&w.databases, hide)), Some(w.relations.clone()), None),
            Err(e) => (None, None, Some(e.to_string())),
        };
        WraparoundResponse {
            envelope,
            databases,
            relations,
            error,
            xid_limit: XID_LIMIT,
            hide_postgres_defaults: hide,
            sql: sql_named(sql_used(view), &["wraparound_databases", "wraparound_relations"]),
        }
    })
}

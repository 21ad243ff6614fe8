//! Storage-loop endpoints: `/api/v1/storage`, `/api/v1/unused-indexes`, `/api/v1/partitions`.

use super::{respond, section, split, sql_named, Envelope, SectionErrors};
use crate::collectors::partitions::PartitionedParent;
use crate::collectors::relation_locks::SkippedRelation;
use crate::collectors::sizes::{FreeSpaceMap, IndexSize, RelationSize, UnusedIndexes};
use crate::collectors::storage::{sql_used, StorageSnapshot};
use crate::collectors::SqlUsed;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /api/v1/storage`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorageResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Top-N tables by total bytes (null when the `relations` section failed).
    pub tables: Option<Vec<RelationSize>>,
    /// Whether the free-space map could be read, and the tables it could not read.
    pub free_space: Option<FreeSpaceMap>,
    /// Top-N indexes by bytes.
    pub indexes: Option<Vec<IndexSize>>,
    /// Tables and indexes left out of this snapshot (a lock, their own error).
    pub skipped_relations: Vec<SkippedRelation>,
    pub errors: std::collections::BTreeMap<String, String>,
    pub sql: Vec<SqlUsed>,
}

/// Top-N tables and indexes by bytes, with growth since the previous snapshot, and the
/// relations a lock kept out of them.
#[utoipa::path(get, path = "/api/v1/storage", tag = "storage",
    responses((status = 200, body = StorageResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn storage(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |_, s: &StorageSnapshot, envelope| {
        let mut errors = SectionErrors::new();
        StorageResponse {
            envelope,
            tables: section("relations", &s.relations, &mut errors),
            free_space: section("free_space", &s.free_space, &mut errors),
            indexes: section("indexes", &s.indexes, &mut errors),
            skipped_relations: s.skipped_relations.clone(),
            errors,
            sql: sql_named(
                sql_used(),
                &[
                    "blocked_relations",
                    "relation_sizes",
                    "relation_candidates",
                    "relation_size",
                    "free_space",
                    "index_sizes",
                ],
            ),
        }
    })
}

/// `GET /api/v1/unused-indexes`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnusedIndexesResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub unused_indexes: Option<UnusedIndexes>,
    /// Why `unused_indexes` is null.
    pub error: Option<String>,
    pub sql: Vec<SqlUsed>,
}

/// Never-scanned indexes over the size threshold; constraint-backing ones apart.
#[utoipa::path(get, path = "/api/v1/unused-indexes", tag = "storage",
    responses((status = 200, body = UnusedIndexesResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn unused_indexes(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |_, s: &StorageSnapshot, envelope| {
        let (unused_indexes, error) = split(&s.unused_indexes);
        UnusedIndexesResponse {
            envelope,
            unused_indexes,
            error,
            sql: sql_named(sql_used(), &["index_sizes"]),
        }
    })
}

/// `GET /api/v1/partitions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionsResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Every partitioned parent with its inventory and horizon.
    pub parents: Option<Vec<PartitionedParent>>,
    /// Why `parents` is null.
    pub error: Option<String>,
    pub sql: Vec<SqlUsed>,
}

/// Inventory and horizon per partitioned parent.
#[utoipa::path(get, path = "/api/v1/partitions", tag = "storage",
    responses((status = 200, body = PartitionsResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn partitions(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |_, s: &StorageSnapshot, envelope| {
        let (parents, error) = split(&s.partitions);
        PartitionsResponse {
            envelope,
            parents,
            error,
            sql: sql_named(sql_used(), &["partitions", "inheritance", "server_time_zone"]),
        }
    })
}

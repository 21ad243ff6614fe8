//! Storage-loop endpoints: `/api/v1/storage`, `/api/v1/unused-indexes`, `/api/v1/partitions`.

use super::{put, respond, section, sql_named};
use crate::collectors::storage::sql_used;
use crate::collectors::storage::StorageSnapshot;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

/// Top-N tables and indexes by bytes, with growth since the previous snapshot, and the
/// relations a lock kept out of them.
pub async fn storage(app: web::Data<AppState>) -> HttpResponse {
    respond::<StorageSnapshot>(&app, |_, s, obj| {
        let mut errors = Map::new();
        obj.insert("tables".into(), section("relations", &s.relations, &mut errors));
        obj.insert("free_space".into(), section("free_space", &s.free_space, &mut errors));
        obj.insert("indexes".into(), section("indexes", &s.indexes, &mut errors));
        obj.insert("skipped_relations".into(), json!(s.skipped_relations));
        obj.insert("errors".into(), Value::Object(errors));
        let names = [
            "blocked_relations",
            "relation_sizes",
            "relation_candidates",
            "relation_size",
            "free_space",
            "index_sizes",
        ];
        obj.insert("sql".into(), sql_named(sql_used(), &names));
    })
    .await
}

/// Never-scanned indexes over the size threshold; constraint-backing ones apart.
pub async fn unused_indexes(app: web::Data<AppState>) -> HttpResponse {
    respond::<StorageSnapshot>(&app, |_, s, obj| {
        put(obj, "unused_indexes", &s.unused_indexes);
        obj.insert("sql".into(), sql_named(sql_used(), &["unused_indexes"]));
    })
    .await
}

/// Inventory and horizon per partitioned parent.
pub async fn partitions(app: web::Data<AppState>) -> HttpResponse {
    respond::<StorageSnapshot>(&app, |_, s, obj| {
        put(obj, "parents", &s.partitions);
        obj.insert(
            "sql".into(),
            sql_named(sql_used(), &["partitions", "inheritance", "server_time_zone"]),
        );
    })
    .await
}

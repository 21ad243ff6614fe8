//! `GET /api/v1/*`: JSON views of the latest snapshots. A section that failed this run is
//! `null` with its error under `errors`; fields of loops not built yet are `null`.

use super::AppState;
use crate::actors::state::StateView;
use crate::collectors::{Section, SqlUsed};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::{json, Map, Value};

fn section<T: Serialize>(name: &str, section: &Section<T>, errors: &mut Map<String, Value>) -> Value {
    match section {
        Ok(data) => serde_json::to_value(data).unwrap_or(Value::Null),
        Err(e) => {
            errors.insert(name.to_string(), json!(e));
            Value::Null
        }
    }
}

pub async fn overview(app: web::Data<AppState>) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    let mut errors = Map::new();
    let mut body = json!({
        "cluster": view.cluster,
        "db": view.db,
        "server": view.capabilities.as_ref().map(|c| json!({
            "version": c.server_version,
            "version_num": c.server_version_num,
            "in_recovery": c.in_recovery,
            "role": c.role,
            "extensions": c.extensions,
        })),
        "advisories": view.advisories,
        "loops": view.loops,
        // Filled by the alert evaluator (a later issue).
        "open_alerts": [],
        "sql": view.hot_path_sql().into_iter().chain(view.workload_sql()).collect::<Vec<_>>(),
    });
    let obj = body.as_object_mut().expect("json! object");
    match view.hot_path() {
        Some((published, hp)) => {
            obj.insert(
                "collected_at".into(),
                json!(humantime::format_rfc3339_seconds(published.at).to_string()),
            );
            obj.insert(
                "connections".into(),
                section("connections", &hp.connections, &mut errors),
            );
            let blocking = section("blocking", &hp.blocking, &mut errors);
            obj.insert(
                "blocked_sessions".into(),
                blocking.get("blocked_sessions").cloned().unwrap_or(Value::Null),
            );
            obj.insert(
                "longest_blocked_seconds".into(),
                blocking.get("longest_blocked_seconds").cloned().unwrap_or(Value::Null),
            );
            obj.insert(
                "blocking_events".into(),
                blocking.get("events").cloned().unwrap_or(Value::Null),
            );
            let transactions = section("transactions", &hp.transactions, &mut errors);
            obj.insert(
                "longest_transaction_seconds".into(),
                transactions
                    .get("longest_transaction_seconds")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            obj.insert(
                "longest_idle_in_transaction_seconds".into(),
                transactions
                    .get("longest_idle_in_transaction_seconds")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            obj.insert(
                "long_transactions".into(),
                transactions.get("sessions").cloned().unwrap_or(Value::Null),
            );
            obj.insert("autovacuum".into(), section("autovacuum", &hp.autovacuum, &mut errors));
            obj.insert("temp_spill".into(), section("temp", &hp.temp, &mut errors));
            obj.insert("canary".into(), section("canary", &hp.canary, &mut errors));
        }
        None => {
            for key in [
                "collected_at",
                "connections",
                "blocked_sessions",
                "longest_blocked_seconds",
                "blocking_events",
                "longest_transaction_seconds",
                "longest_idle_in_transaction_seconds",
                "long_transactions",
                "autovacuum",
                "temp_spill",
                "canary",
            ] {
                obj.insert(key.into(), Value::Null);
            }
        }
    }
    match view.workload() {
        Some((published, w)) => {
            obj.insert("workload_collected_at".into(), json!(rfc3339(published.at)));
            let throughput = section("throughput", &w.throughput, &mut errors);
            obj.insert("tps".into(), throughput.get("tps").cloned().unwrap_or(Value::Null));
            obj.insert("qps".into(), throughput.get("qps").cloned().unwrap_or(Value::Null));
            obj.insert(
                "latency".into(),
                match &w.throughput {
                    Ok(t) => json!({
                        "mean_seconds": t.latency_mean_seconds,
                        "p95_seconds": t.latency_p95_seconds,
                        "p99_seconds": t.latency_p99_seconds,
                        "percentiles_error": t.percentiles_error,
                    }),
                    Err(_) => Value::Null,
                },
            );
            let mut wal = section("wal", &w.wal, &mut errors);
            let mb = wal
                .get("bytes_per_second")
                .and_then(Value::as_f64)
                .map(|b| b / 1_048_576.0);
            if let Value::Object(map) = &mut wal {
                map.insert("mb_per_second".into(), json!(mb));
            }
            obj.insert("wal".into(), wal);
            obj.insert(
                "checkpoints".into(),
                section("checkpoints", &w.checkpoints, &mut errors),
            );
            obj.insert("surges".into(), json!(w.surges));
            if let Ok(statements) = &w.statements {
                obj.insert("statements_available".into(), json!(statements.available));
                obj.insert(
                    "statements_unavailable_reason".into(),
                    json!(statements.unavailable_reason),
                );
            }
        }
        None => {
            for key in [
                "workload_collected_at",
                "tps",
                "qps",
                "latency",
                "wal",
                "checkpoints",
                "surges",
            ] {
                obj.insert(key.into(), Value::Null);
            }
        }
    }
    obj.insert("errors".into(), Value::Object(errors));
    HttpResponse::Ok().json(body)
}

fn rfc3339(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The workload snapshot's header fields, or the body to return when there is none yet.
fn workload_header(
    view: &crate::actors::state::StateView,
) -> Result<(Map<String, Value>, &crate::collectors::workload::WorkloadSnapshot), Box<HttpResponse>> {
    match view.workload() {
        Some((published, w)) => {
            let mut obj = Map::new();
            obj.insert("cluster".into(), json!(view.cluster));
            obj.insert("db".into(), json!(view.db));
            obj.insert("collected_at".into(), json!(rfc3339(published.at)));
            Ok((obj, w))
        }
        None => Err(Box::new(HttpResponse::ServiceUnavailable().json(json!({
            "error": "no workload snapshot yet: the workload loop has not completed a run",
            "loops": view.loops,
        })))),
    }
}

fn sql_for(view: &crate::actors::state::StateView, collectors: &[&str]) -> Value {
    json!(view
        .workload_sql()
        .into_iter()
        .filter(|s| collectors.contains(&s.collector))
        .collect::<Vec<_>>())
}

/// `GET /api/v1/top-queries`: the Top-N statements by total time, by calls and by blocks read.
pub async fn top_queries(app: web::Data<AppState>) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    let (mut obj, w) = match workload_header(&view) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    match &w.statements {
        Ok(st) => {
            let ranked = |rank: fn(&crate::collectors::statements::TopStatement) -> i64| {
                let mut list: Vec<_> = st.top.iter().filter(|s| rank(s) <= i64::from(st.top_n)).collect();
                list.sort_by_key(|s| rank(s));
                json!(list)
            };
            obj.insert("available".into(), json!(st.available));
            obj.insert("unavailable_reason".into(), json!(st.unavailable_reason));
            obj.insert("statements_tracked".into(), json!(st.statements_tracked));
            obj.insert("by_total_time".into(), ranked(|s| s.rank_by_time));
            obj.insert("by_calls".into(), ranked(|s| s.rank_by_calls));
            obj.insert(
                "by_shared_blks_read".into(),
                ranked(|s| {
                    if s.shared_blks_read > 0 {
                        s.rank_by_read
                    } else {
                        i64::MAX
                    }
                }),
            );
            obj.insert("error".into(), Value::Null);
        }
        Err(e) => {
            obj.insert("available".into(), json!(false));
            obj.insert("error".into(), json!(e));
        }
    }
    obj.insert(
        "sql".into(),
        sql_for(
            &view,
            &[
                "statements",
                "statement_text",
                "latency_histogram_settings",
                "latency_histogram",
            ],
        ),
    );
    HttpResponse::Ok().json(Value::Object(obj))
}

/// `GET /api/v1/autovacuum`: per-table freshness (Top-N by dead tuples) with hints, and the
/// vacuums running now (from the hot path).
pub async fn autovacuum(app: web::Data<AppState>) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    let (mut obj, w) = match workload_header(&view) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut errors = Map::new();
    obj.insert("tables".into(), section("freshness", &w.freshness, &mut errors));
    let in_progress = view
        .hot_path()
        .map(|(_, hp)| section("autovacuum", &hp.autovacuum, &mut errors))
        .unwrap_or(Value::Null);
    obj.insert("in_progress".into(), in_progress);
    obj.insert("errors".into(), Value::Object(errors));
    let mut sql = vec![json!({ "collector": "freshness", "sql": crate::collectors::freshness::FRESHNESS_SQL })];
    sql.push(json!({ "collector": "autovacuum", "sql": crate::collectors::autovacuum::VACUUM_PROGRESS_SQL }));
    obj.insert("sql".into(), json!(sql));
    HttpResponse::Ok().json(Value::Object(obj))
}

/// `GET /api/v1/replication`: per-replica lag on a primary, own lag on a standby.
pub async fn replication(app: web::Data<AppState>) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    let (mut obj, w) = match workload_header(&view) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    match &w.replication {
        Ok(r) => {
            obj.insert("role".into(), json!(r.role));
            obj.insert("replicas".into(), json!(r.replicas));
            obj.insert("standby".into(), json!(r.standby));
            obj.insert("error".into(), Value::Null);
        }
        Err(e) => {
            obj.insert("error".into(), json!(e));
        }
    }
    obj.insert("sql".into(), sql_for(&view, &["replicas", "standby"]));
    HttpResponse::Ok().json(Value::Object(obj))
}

/// Header fields of a storage/hourly endpoint, or 503 while that loop has no snapshot yet.
fn header(
    view: &StateView,
    loop_name: &str,
    at: Option<std::time::SystemTime>,
) -> Result<Map<String, Value>, Box<HttpResponse>> {
    match at {
        Some(at) => {
            let mut obj = Map::new();
            obj.insert("cluster".into(), json!(view.cluster));
            obj.insert("db".into(), json!(view.db));
            obj.insert("collected_at".into(), json!(rfc3339(at)));
            Ok(obj)
        }
        None => Err(Box::new(HttpResponse::ServiceUnavailable().json(json!({
            "error": format!("no {loop_name} snapshot yet: the {loop_name} loop has not completed a run"),
            "loops": view.loops,
        })))),
    }
}

/// Inserts a section under `key` (null + `error` when it failed).
fn put_section<T: Serialize>(obj: &mut Map<String, Value>, key: &str, data: &Section<T>) {
    match data {
        Ok(v) => {
            obj.insert(key.into(), serde_json::to_value(v).unwrap_or(Value::Null));
            obj.insert("error".into(), Value::Null);
        }
        Err(e) => {
            obj.insert(key.into(), Value::Null);
            obj.insert("error".into(), json!(e));
        }
    }
}

fn sql_named(all: Vec<SqlUsed>, names: &[&str]) -> Vec<SqlUsed> {
    all.into_iter().filter(|s| names.contains(&s.collector)).collect()
}

/// `GET /api/v1/storage`: Top-N tables and indexes by bytes, with growth since the previous snapshot.
pub async fn storage(app: web::Data<AppState>) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    let (mut obj, s) = match view.storage() {
        Some((p, s)) => match header(&view, "storage", Some(p.at)) {
            Ok(obj) => (obj, s),
            Err(resp) => return *resp,
        },
        None => return *header(&view, "storage", None).unwrap_err(),
    };
    let sql = crate::collectors::storage::sql_used();
    let mut errors = Map::new();
    obj.insert("tables".into(), section("relations", &s.relations, &mut errors));
    obj.insert("indexes".into(), section("indexes", &s.indexes, &mut errors));
    obj.insert("errors".into(), Value::Object(errors));
    obj.insert("sql".into(), json!(sql_named(sql, &["relation_sizes", "index_sizes"])));
    HttpResponse::Ok().json(Value::Object(obj))
}

/// `GET /api/v1/unused-indexes`: never-scanned indexes over the size threshold.
pub async fn unused_indexes(app: web::Data<AppState>) -> HttpResponse {
    storage_section(
        app,
        |s| serde_json::to_value(s.unused_indexes.as_ref().ok()).unwrap_or(Value::Null),
        |s| s.unused_indexes.as_ref().err().cloned(),
        "unused_indexes",
        &["unused_indexes"],
    )
    .await
}

/// `GET /api/v1/partitions`: inventory and horizon per partitioned parent.
pub async fn partitions(app: web::Data<AppState>) -> HttpResponse {
    storage_section(
        app,
        |s| serde_json::to_value(s.partitions.as_ref().ok()).unwrap_or(Value::Null),
        |s| s.partitions.as_ref().err().cloned(),
        "parents",
        &["partitions", "inheritance"],
    )
    .await
}

async fn storage_section(
    app: web::Data<AppState>,
    data: fn(&crate::collectors::storage::StorageSnapshot) -> Value,
    error: fn(&crate::collectors::storage::StorageSnapshot) -> Option<String>,
    key: &str,
    sql: &[&str],
) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    let Some((published, s)) = view.storage() else {
        return *header(&view, "storage", None).unwrap_err();
    };
    let mut obj = match header(&view, "storage", Some(published.at)) {
        Ok(obj) => obj,
        Err(resp) => return *resp,
    };
    obj.insert(key.into(), data(s));
    obj.insert("error".into(), json!(error(s)));
    obj.insert(
        "sql".into(),
        json!(sql_named(crate::collectors::storage::sql_used(), sql)),
    );
    HttpResponse::Ok().json(Value::Object(obj))
}

async fn hourly_section(
    app: web::Data<AppState>,
    fill: impl FnOnce(&crate::collectors::hourly::HourlySnapshot, &mut Map<String, Value>, bool),
    sql: &[&str],
) -> HttpResponse {
    let view = match app.view().await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    let Some((published, s)) = view.hourly() else {
        return *header(&view, "hourly", None).unwrap_err();
    };
    let mut obj = match header(&view, "hourly", Some(published.at)) {
        Ok(obj) => obj,
        Err(resp) => return *resp,
    };
    fill(s, &mut obj, app.hide_postgres_defaults);
    put_sql(&mut obj, sql_named(crate::collectors::hourly::sql_used(), sql));
    HttpResponse::Ok().json(Value::Object(obj))
}

fn put_sql(obj: &mut Map<String, Value>, sql: Vec<SqlUsed>) {
    obj.insert("sql".into(), json!(sql));
}

/// `GET /api/v1/bloat`: pgstattuple_approx samples of the Top-N tables (or why there are none).
pub async fn bloat(app: web::Data<AppState>) -> HttpResponse {
    hourly_section(
        app,
        |s, obj, _| put_section(obj, "bloat", &s.bloat),
        &["bloat_candidates", "bloat_sample"],
    )
    .await
}

/// `GET /api/v1/stale-stats`: tables modified since an analyze older than the threshold.
pub async fn stale_stats(app: web::Data<AppState>) -> HttpResponse {
    hourly_section(
        app,
        |s, obj, _| put_section(obj, "tables", &s.stale_stats),
        &["stale_stats"],
    )
    .await
}

/// `GET /api/v1/wraparound`: worst database and relation XID ages.
pub async fn wraparound(app: web::Data<AppState>) -> HttpResponse {
    hourly_section(
        app,
        |s, obj, hide| match &s.wraparound {
            Ok(w) => {
                obj.insert(
                    "databases".into(),
                    json!(crate::collectors::wraparound::visible(&w.databases, hide)),
                );
                obj.insert("relations".into(), json!(w.relations));
                obj.insert("xid_limit".into(), json!(crate::collectors::wraparound::XID_LIMIT));
                obj.insert("hide_postgres_defaults".into(), json!(hide));
                obj.insert("error".into(), Value::Null);
            }
            Err(e) => {
                obj.insert("error".into(), json!(e));
            }
        },
        &["wraparound_databases", "wraparound_relations"],
    )
    .await
}

//! Workload-loop endpoints: `/api/v1/top-queries`, `/api/v1/autovacuum`, `/api/v1/replication`.

use super::{put, respond, section, sql_named};
use crate::collectors::statements::TopStatement;
use crate::collectors::workload::WorkloadSnapshot;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

/// Top-N statements by total time, by calls and by shared blocks read.
pub async fn top_queries(app: web::Data<AppState>) -> HttpResponse {
    respond::<WorkloadSnapshot>(&app, |view, w, obj| {
        match &w.statements {
            Ok(st) => {
                let ranked = |rank: fn(&TopStatement) -> Option<i64>| {
                    let mut list: Vec<(i64, &TopStatement)> = st
                        .top
                        .iter()
                        .filter_map(|s| rank(s).filter(|r| *r <= i64::from(st.top_n)).map(|r| (r, s)))
                        .collect();
                    list.sort_by_key(|(r, _)| *r);
                    json!(list.into_iter().map(|(_, s)| s).collect::<Vec<_>>())
                };
                obj.insert("available".into(), json!(st.available));
                obj.insert("unavailable_reason".into(), json!(st.unavailable_reason));
                obj.insert("statements_tracked".into(), json!(st.statements_tracked));
                obj.insert("redact_sql_text".into(), json!(st.redact_sql_text));
                obj.insert("by_total_time".into(), ranked(|s| Some(s.rank_by_time)));
                obj.insert("by_calls".into(), ranked(|s| Some(s.rank_by_calls)));
                obj.insert(
                    "by_shared_blks_read".into(),
                    ranked(|s| (s.shared_blks_read > 0).then_some(s.rank_by_read)),
                );
                obj.insert("error".into(), Value::Null);
            }
            Err(e) => {
                obj.insert("available".into(), json!(false));
                obj.insert("error".into(), json!(e));
            }
        }
        let names = [
            "statements",
            "statement_text",
            "latency_histogram_settings",
            "latency_histogram",
        ];
        obj.insert("sql".into(), sql_named(view.workload_sql(), &names));
    })
    .await
}

/// Per-table freshness (Top-N by dead tuples) with hints, and the vacuums running now.
pub async fn autovacuum(app: web::Data<AppState>) -> HttpResponse {
    respond::<WorkloadSnapshot>(&app, |view, w, obj| {
        let mut errors = Map::new();
        obj.insert("tables".into(), section("freshness", &w.freshness, &mut errors));
        let running = view.hot_path().map_or(Value::Null, |p| {
            let hp = &p.snapshot;
            section("autovacuum", &hp.autovacuum, &mut errors)
        });
        obj.insert("in_progress".into(), running);
        obj.insert("errors".into(), Value::Object(errors));
        let sql = view.workload_sql().into_iter().chain(view.hot_path_sql()).collect();
        obj.insert("sql".into(), sql_named(sql, &["freshness", "autovacuum"]));
    })
    .await
}

/// Per-replica lag on a primary, own lag on a standby.
pub async fn replication(app: web::Data<AppState>) -> HttpResponse {
    respond::<WorkloadSnapshot>(&app, |view, w, obj| {
        put(obj, "replication", &w.replication);
        if let Some(Value::Object(r)) = obj.remove("replication") {
            obj.extend(r);
        }
        obj.insert("sql".into(), sql_named(view.workload_sql(), &["replicas", "standby"]));
    })
    .await
}

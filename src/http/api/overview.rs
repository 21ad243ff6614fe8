//! `GET /api/v1/overview`: the hot path (connections, blocking, transactions, vacuum, temp,
//! canary) and the workload headline figures (TPS/QPS, latency, WAL, checkpoints), loop
//! health and advisories. Fields of a loop with no snapshot yet are `null`.

use super::{put_freshness, rfc3339, section};
use crate::http::AppState;
use crate::loops::LoopName;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

fn field(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or(Value::Null)
}

pub async fn overview(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    let mut errors = Map::new();
    let mut obj = Map::new();
    obj.insert("cluster".into(), json!(view.cluster));
    obj.insert("db".into(), json!(view.db));
    obj.insert(
        "server".into(),
        json!(view.capabilities.as_ref().map(|c| json!({
            "version": c.server_version,
            "version_num": c.server_version_num,
            "in_recovery": c.in_recovery,
            "role": c.role,
            "extensions": c.extensions,
        }))),
    );
    obj.insert("advisories".into(), json!(view.advisories));
    obj.insert("privileges_lost".into(), json!(view.privileges_lost));
    obj.insert("write_access".into(), json!(view.write_access));
    obj.insert(
        "database".into(),
        json!({
            "reachable": view.database.reachable,
            "error": view.database.error.as_deref().filter(|_| view.database.is_down()),
            "since": view.database.since.map(rfc3339),
        }),
    );
    obj.insert("loops".into(), json!(view.loops));
    obj.insert("open_alerts".into(), json!(view.open_alerts));
    obj.insert(
        "sql".into(),
        json!(view
            .hot_path_sql()
            .into_iter()
            .chain(view.workload_sql())
            .collect::<Vec<_>>()),
    );

    let hot = view.hot_path().map(|p| (p, &*p.snapshot));
    let blocking = hot.map_or(Value::Null, |(_, hp)| section("blocking", &hp.blocking, &mut errors));
    let transactions = hot.map_or(Value::Null, |(_, hp)| {
        section("transactions", &hp.transactions, &mut errors)
    });
    obj.insert("collected_at".into(), json!(hot.map(|(p, _)| rfc3339(p.at))));
    put_freshness(&mut obj, "", &view, LoopName::HotPath, hot.map(|(p, _)| p.at));
    obj.insert(
        "connections".into(),
        hot.map_or(Value::Null, |(_, hp)| {
            section("connections", &hp.connections, &mut errors)
        }),
    );
    obj.insert("blocked_sessions".into(), field(&blocking, "blocked_sessions"));
    obj.insert(
        "longest_blocked_seconds".into(),
        field(&blocking, "longest_blocked_seconds"),
    );
    obj.insert("blocking_events".into(), field(&blocking, "events"));
    obj.insert(
        "longest_transaction_seconds".into(),
        field(&transactions, "longest_transaction_seconds"),
    );
    obj.insert(
        "longest_idle_in_transaction_seconds".into(),
        field(&transactions, "longest_idle_in_transaction_seconds"),
    );
    obj.insert("long_transactions".into(), field(&transactions, "sessions"));
    obj.insert(
        "autovacuum".into(),
        hot.map_or(Value::Null, |(_, hp)| {
            section("autovacuum", &hp.autovacuum, &mut errors)
        }),
    );
    obj.insert(
        "temp_spill".into(),
        hot.map_or(Value::Null, |(_, hp)| section("temp", &hp.temp, &mut errors)),
    );
    obj.insert(
        "canary".into(),
        hot.map_or(Value::Null, |(_, hp)| section("canary", &hp.canary, &mut errors)),
    );

    let work = view.workload().map(|p| (p, &*p.snapshot));
    let throughput = work.map_or(Value::Null, |(_, w)| section("throughput", &w.throughput, &mut errors));
    let mut wal = work.map_or(Value::Null, |(_, w)| section("wal", &w.wal, &mut errors));
    if let Value::Object(map) = &mut wal {
        let mb = map
            .get("bytes_per_second")
            .and_then(Value::as_f64)
            .map(|b| b / 1_048_576.0);
        map.insert("mb_per_second".into(), json!(mb));
    }
    obj.insert("workload_collected_at".into(), json!(work.map(|(p, _)| rfc3339(p.at))));
    put_freshness(
        &mut obj,
        "workload_",
        &view,
        LoopName::Workload,
        work.map(|(p, _)| p.at),
    );
    obj.insert("tps".into(), field(&throughput, "tps"));
    obj.insert("qps".into(), field(&throughput, "qps"));
    obj.insert(
        "latency".into(),
        if throughput.is_null() {
            Value::Null
        } else {
            json!({
                "mean_seconds": field(&throughput, "latency_mean_seconds"),
                "p95_seconds": field(&throughput, "latency_p95_seconds"),
                "p99_seconds": field(&throughput, "latency_p99_seconds"),
                "percentiles_error": field(&throughput, "percentiles_error"),
            })
        },
    );
    obj.insert("wal".into(), wal);
    obj.insert(
        "checkpoints".into(),
        work.map_or(Value::Null, |(_, w)| {
            section("checkpoints", &w.checkpoints, &mut errors)
        }),
    );
    obj.insert("surges".into(), work.map_or(Value::Null, |(_, w)| json!(w.surges)));
    let statements = work.and_then(|(_, w)| w.statements.as_ref().ok());
    obj.insert("statements_available".into(), json!(statements.map(|s| s.available)));
    obj.insert(
        "statements_unavailable_reason".into(),
        json!(statements.and_then(|s| s.unavailable_reason.clone())),
    );
    obj.insert("errors".into(), Value::Object(errors));
    HttpResponse::Ok().json(Value::Object(obj))
}

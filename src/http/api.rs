//! `GET /api/v1/*`: JSON views of the latest snapshots. A section that failed this run is
//! `null` with its error under `errors`; fields of loops not built yet are `null`.

use super::AppState;
use crate::collectors::Section;
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
        // Filled by the workload loop and the alert evaluator (later issues).
        "tps": null,
        "qps": null,
        "latency": null,
        "wal": null,
        "checkpoints": null,
        "open_alerts": [],
        "sql": view.hot_path_sql(),
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
    obj.insert("errors".into(), Value::Object(errors));
    HttpResponse::Ok().json(body)
}

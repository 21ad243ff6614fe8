//! Alerts end to end against a real PostgreSQL: seeded conditions fire, show in
//! `/api/v1/alerts` and `alerts_total`, resolve when the condition clears, and a local webhook
//! receiver gets exactly one firing and one resolved payload per alert.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::agent::{metric_value, test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(40);

/// A minimal HTTP receiver on loopback recording every JSON body it is POSTed.
fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                if let Ok(json) = serde_json::from_slice(&body) {
                    sink.lock().unwrap().push(json);
                }
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, received)
}

fn open_kinds(body: &Value) -> Vec<String> {
    body["open"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["phase"] == "firing")
        .map(|a| a["dedupe_key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_conditions_fire_resolve_and_notify_once_each() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    pg.psql(
        "app",
        "CREATE TABLE churn (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO churn SELECT g, 'x' FROM generate_series(1, 200000) g;
         DELETE FROM churn WHERE id <= 60000;
         CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 0);
         CREATE TABLE events (at date NOT NULL) PARTITION BY RANGE (at);
         CREATE TABLE events_today PARTITION OF events FOR VALUES FROM (current_date) TO (current_date + 1);",
    );
    let (url, received) = webhook_receiver();
    let config = test_config(&format!(
        "alerts:\n  long_txn_warn_s: 1\n  blocked_warn_s: 1\n  dead_tuples_min: 1000\n  dead_tuples_for: 0s\n  resolve_after: 2s\nnotifiers:\n  webhook_url: \"{url}\"\n"
    ));
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &config);

    let (holder, waiter) = pg.blocked_session("app").await;

    let wanted = [
        "long_transaction",
        "blocking_locks",
        "dead_tuples:public.churn",
        "partition_horizon:public.events",
    ];
    let alerts = tokio::task::block_in_place(|| {
        agent.wait_json("/api/v1/alerts", WAIT, "the seeded alerts firing", |_, body| {
            let open = open_kinds(body);
            wanted.iter().all(|w| open.iter().any(|o| o == w)).then(|| body.clone())
        })
    });
    let txn = alerts["open"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "long_transaction")
        .unwrap();
    assert_eq!(txn["severity"], "warn");
    assert!(txn["message"].as_str().unwrap().starts_with("Txn "), "{txn}");
    let (_, overview) = tokio::task::block_in_place(|| agent.get_json("/api/v1/overview"));
    assert!(overview["open_alerts"].as_array().unwrap().len() >= 4);

    let metrics = tokio::task::block_in_place(|| agent.get("/metrics").1);
    assert_eq!(
        metric_value(&metrics, "alerts_total", "kind=\"long_transaction\",severity=\"warn\""),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&metrics, "alerts_total", "kind=\"dead_tuples\",severity=\"warn\""),
        Some(1.0)
    );
    assert_eq!(
        metric_value(
            &metrics,
            "pg_dead_tuple_backlog_alert",
            "relation=\"public.churn\",severity=\"warn\""
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&metrics, "pgmon_alerts_firing", "kind=\"partition_horizon\""),
        Some(1.0)
    );
    assert!(!metrics.contains("pid="), "no PIDs in labels");
    support::promtool_check(&metrics);

    // Clear every condition: end the transaction, vacuum, create the missing partitions.
    holder.batch_execute("ROLLBACK").await.unwrap();
    waiter.await.unwrap().unwrap();
    pg.psql("app", "VACUUM churn");
    pg.psql(
        "app",
        "DO $$ BEGIN FOR i IN 1..10 LOOP
           EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', 'events_' || i, current_date + i, current_date + i + 1);
         END LOOP; END $$;",
    );
    let history = tokio::task::block_in_place(|| {
        agent.wait_json("/api/v1/alerts", WAIT, "the seeded alerts resolved", |_, body| {
            let recent: Vec<&str> = body["recent"]
                .as_array()?
                .iter()
                .filter_map(|r| r["dedupe_key"].as_str())
                .collect();
            wanted.iter().all(|w| recent.contains(w)).then(|| body.clone())
        })
    });
    assert!(
        open_kinds(&history).iter().all(|k| !wanted.contains(&k.as_str())),
        "{history}"
    );
    let resolved = history["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dedupe_key"] == "long_transaction")
        .unwrap();
    assert!(resolved["started"].is_string() && resolved["ended"].is_string());
    assert_eq!(
        metric_value(
            &tokio::task::block_in_place(|| agent.get("/metrics").1),
            "pg_dead_tuple_backlog_alert",
            "relation=\"public.churn\""
        ),
        None
    );

    // The webhook: exactly one firing and one resolved payload per alert.
    let payloads = support::eventually(WAIT, "webhook payloads", || {
        let got = received.lock().unwrap().clone();
        let resolved = got.iter().filter(|p| p["status"] == "resolved").count();
        (resolved >= wanted.len()).then_some(got)
    });
    for key in wanted {
        for status in ["firing", "resolved"] {
            let n = payloads
                .iter()
                .filter(|p| p["dedupe_key"] == key && p["status"] == status)
                .count();
            assert_eq!(n, 1, "{key} {status}: {payloads:?}");
        }
    }
    assert!(payloads.iter().all(|p| p["cluster"] == "test-cluster"));
}

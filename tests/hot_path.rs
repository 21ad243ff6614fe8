//! The hot-path loop against a real PostgreSQL: each test seeds the condition it detects.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::agent::{metric_value, test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(20);

fn pid_of(v: &Value) -> i64 {
    v.as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_session_behind_idle_in_transaction_holder_shows_in_blocking_events() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 100);",
    );
    pg.create_monitor_role("monitor", "monitor-pw", "app");
    let dsn = pg.url("monitor", "monitor-pw", "app");
    let agent = Agent::start(&dsn, &test_config(""));
    let with_text = Agent::start(&dsn, &test_config("security:\n  redact_sql_text: false\n"));

    let holder = pg.client("app").await;
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    holder
        .batch_execute("BEGIN; UPDATE accounts SET balance = balance + 1 WHERE id = 1;")
        .await
        .unwrap();
    let blocked = pg.client("app").await;
    let blocked_pid: i32 = blocked.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let waiter = tokio::spawn(async move {
        blocked
            .execute("UPDATE accounts SET balance = balance + 10 WHERE id = 1", &[])
            .await
    });

    let event = agent.wait_json(
        "/api/v1/overview",
        WAIT,
        "a blocking event with a wait of 2s",
        |_, body| {
            let event = body["blocking_events"].as_array()?.first()?.clone();
            (event["blocked_wait_seconds"].as_f64()? >= 2.0).then_some((event, body.clone()))
        },
    );
    let (event, overview) = event;
    assert_eq!(pid_of(&event["blocked_pid"]), i64::from(blocked_pid));
    assert_eq!(pid_of(&event["blocker_pid"]), i64::from(holder_pid));
    assert_eq!(event["blocker_state"], "idle in transaction");
    assert_eq!(event["database"], "app");
    assert_eq!(event["blocked_query"], Value::Null, "query text is redacted by default");
    assert_eq!(overview["blocked_sessions"], 1);
    assert!(overview["longest_blocked_seconds"].as_f64().unwrap() >= 2.0);
    let holder_row = overview["long_transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| pid_of(&s["pid"]) == i64::from(holder_pid))
        .expect("holder listed among open transactions")
        .clone();
    assert_eq!(holder_row["state"], "idle in transaction");
    assert!(overview["longest_transaction_seconds"].as_f64().unwrap() >= 2.0);
    assert!(overview["longest_idle_in_transaction_seconds"].as_f64().unwrap() >= 2.0);
    assert_eq!(overview["errors"], serde_json::json!({}));

    let (status, metrics) = agent.get("/metrics");
    assert_eq!(status, 200);
    assert_eq!(
        metric_value(&metrics, "pg_lock_waiting_sessions", "db=\"app\""),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&metrics, "pg_blocked_sessions_total", "db=\"app\""),
        Some(1.0)
    );
    assert!(metric_value(&metrics, "pg_longest_blocked_seconds", "db=\"app\"").unwrap() >= 2.0);
    assert!(metric_value(&metrics, "pg_longest_transaction_seconds", "cluster=\"test-cluster\"").unwrap() >= 2.0);
    assert!(metric_value(&metrics, "pg_idle_in_transaction_sessions", "db=\"app\"").unwrap() >= 1.0);
    assert!(!metrics.contains(&format!("\"{holder_pid}\"")), "no PIDs in labels");
    assert!(!metrics.contains("monitor\""), "no user names in labels");
    support::promtool_check(&metrics);

    let snippet = with_text.wait_json("/api/v1/overview", WAIT, "blocking event with query text", |_, body| {
        body["blocking_events"].as_array()?.first()?["blocked_query"]
            .as_str()
            .map(String::from)
    });
    assert_eq!(snippet, "UPDATE accounts SET balance = balance + 10 WHERE id = 1");

    holder.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
    agent.wait_json("/api/v1/overview", WAIT, "the block to clear", |_, body| {
        (body["blocked_sessions"] == 0).then_some(())
    });
    let cleared = agent.get("/metrics").1;
    assert_eq!(
        metric_value(&cleared, "pg_lock_waiting_sessions", "db=\"app\""),
        Some(0.0)
    );
    assert_eq!(
        metric_value(&cleared, "pg_blocked_sessions_total", "db=\"app\""),
        Some(1.0),
        "the episode stays counted"
    );
    assert_eq!(
        metric_value(&cleared, "pg_longest_blocked_seconds", "db=\"app\""),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_spill_shows_in_temp_counters_and_rate() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "monitor-pw", "app");
    let agent = Agent::start(
        &pg.url("monitor", "monitor-pw", "app"),
        &test_config("canary:\n  explain_query: \"SELECT count(*) FROM pg_class\"\n"),
    );
    // A baseline sample first, so the spill shows up as a rate.
    support::eventually(WAIT, "a first temp sample", || {
        agent.metric("pg_temp_files_total", "db=\"app\"")
    });
    let before = agent.metric("pg_temp_bytes_total", "db=\"app\"").unwrap();

    let client = pg.client("app").await;
    client
        .batch_execute("SET work_mem = '64kB'; SELECT count(*) FROM (SELECT g FROM generate_series(1, 300000) g ORDER BY g DESC) s;")
        .await
        .unwrap();

    let rate = support::eventually(WAIT, "a temp spill rate", || {
        agent
            .metric("pg_temp_bytes_written_per_second", "db=\"app\"")
            .filter(|r| *r > 0.0)
    });
    let after = agent.metric("pg_temp_bytes_total", "db=\"app\"").unwrap();
    assert!(
        after - before > 1_000_000.0,
        "sorting 300k ints in 64kB spills megabytes: {before} -> {after}"
    );
    assert!(rate > 0.0);
    assert!(agent.metric("pg_temp_files_total", "db=\"app\"").unwrap() >= 1.0);

    let (_, overview) = agent.get_json("/api/v1/overview");
    let app = overview["temp_spill"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["database"] == "app")
        .unwrap()
        .clone();
    assert!(app["temp_bytes"].as_f64().unwrap() >= after);

    // The canary: a real round trip and the configured EXPLAIN ANALYZE.
    let canary = agent.metric("pgmon_canary_latency_seconds", "db=\"app\"").unwrap();
    assert!(canary > 0.0 && canary < 1.0, "{canary}");
    assert!(agent.metric("pgmon_canary_explain_seconds", "db=\"app\"").unwrap() > 0.0);
    // Every vacuum phase is exported, idle ones as 0.
    assert_eq!(agent.metric("pg_autovacuum_jobs", "phase=\"scanning heap\""), Some(0.0));
}

//! Statement text against a real PostgreSQL with pg_stat_statements: with
//! `security.redact_sql_text: true` (the default) Top queries shows the normalized text of
//! planned statements, comments removed, and keeps back utility statements; no literal the
//! workload used reaches any output. With `redact_sql_text: false` every text is shown as before.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(40);
const CONFIG: &str = "limits:\n  top_queries: 1000\n";

fn statement<'a>(top: &'a Value, queryid: &str) -> Option<&'a Value> {
    top["by_calls"].as_array()?.iter().find(|s| s["queryid"] == queryid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_queries_show_normalized_planned_statements_and_no_literal_anywhere() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE EXTENSION pg_stat_statements; CREATE ROLE r; CREATE TABLE t (id int, secret text);",
    );
    pg.create_monitor_role("monitor", "pw", "app");
    let client = pg.client("app").await;
    client
        .batch_execute("SELECT * FROM t WHERE secret = 'MARKER-1'")
        .await
        .unwrap();
    client.batch_execute("ALTER ROLE r PASSWORD 'MARKER-2'").await.unwrap();
    client
        .batch_execute("/* MARKER-3 */ SELECT count(*) FROM t WHERE id > 5 -- MARKER-4")
        .await
        .unwrap();
    client.batch_execute("SELECT $$MARKER-5$$ AS dollar").await.unwrap();
    // A session left idle in a transaction: its live text stays inside PostgreSQL.
    let holder = pg.client("app").await;
    holder
        .batch_execute("BEGIN; SELECT * FROM t WHERE secret = 'MARKER-6'")
        .await
        .unwrap();
    let queryid = |pattern: &str| {
        pg.psql(
            "app",
            &format!(
                "SELECT queryid FROM pg_stat_statements WHERE query LIKE {} ORDER BY calls DESC LIMIT 1",
                support::literal(pattern)
            ),
        )
    };
    let (select, alter, counted, dollar) = (
        queryid("SELECT * FROM t WHERE secret = $1"),
        queryid("ALTER ROLE r PASSWORD %"),
        queryid("%SELECT count(*) FROM t WHERE id > $1%"),
        queryid("SELECT $1 AS dollar"),
    );
    for id in [&select, &alter, &counted, &dollar] {
        assert!(!id.is_empty(), "pg_stat_statements holds every statement");
    }

    let dsn = pg.url("monitor", "pw", "app");
    let agent = Agent::start(&dsn, &test_config(CONFIG));
    let with_text = Agent::start(
        &dsn,
        &test_config(&format!("{CONFIG}security:\n  redact_sql_text: false\n")),
    );

    let top = agent.wait_json("/api/v1/top-queries", WAIT, "the seeded statements ranked", |_, b| {
        [&select, &alter, &counted, &dollar]
            .iter()
            .all(|id| statement(b, id).is_some())
            .then(|| b.clone())
    });
    assert_eq!(top["redact_sql_text"], true);
    let shown = |id: &str| statement(&top, id).unwrap().clone();
    assert_eq!(shown(&select)["query"], "SELECT * FROM t WHERE secret = $1");
    assert_eq!(shown(&select)["query_redacted"], Value::Null);
    assert_eq!(
        shown(&counted)["query"],
        "SELECT count(*) FROM t WHERE id > $1",
        "comments removed"
    );
    assert_eq!(shown(&dollar)["query"], "SELECT $1 AS dollar");
    assert_eq!(shown(&alter)["query"], Value::Null);
    assert_eq!(shown(&alter)["query_redacted"], "utility_statement");

    let overview = agent.wait_json("/api/v1/overview", WAIT, "the idle-in-transaction session", |_, b| {
        b["long_transactions"]
            .as_array()?
            .iter()
            .any(|t| t["state"] == "idle in transaction")
            .then(|| b.clone())
    });
    for session in overview["long_transactions"].as_array().unwrap() {
        assert_eq!(session["query"], Value::Null, "live text stays redacted: {session}");
    }

    // No literal, nor a comment, of the workload reaches any output, once every loop has run.
    agent.wait_json("/api/v1/wraparound", WAIT, "an hourly snapshot", |s, _| {
        (s == 200).then_some(())
    });
    let (_, openapi) = agent.get_json("/api/v1/openapi.json");
    let mut paths: Vec<String> = openapi["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| p.starts_with("/api/"))
        .cloned()
        .collect();
    assert!(paths.len() > 10, "{paths:?}");
    paths.extend(["/metrics", "/healthz", "/livez", "/"].map(String::from));
    for path in &paths {
        let (_, body) = agent.get(path);
        assert!(!body.contains("MARKER"), "{path} leaks a literal or comment:\n{body}");
    }
    support::promtool_check(&agent.get("/metrics").1);
    assert!(!agent.logs().contains("MARKER"), "the log leaks a literal");

    // redact_sql_text: false shows every text, as before: the utility statement with its
    // literal, and the live session text.
    let all = with_text.wait_json("/api/v1/top-queries", WAIT, "the utility statement's text", |_, b| {
        statement(b, &alter)?["query"].as_str().map(|_| b.clone())
    });
    assert_eq!(all["redact_sql_text"], false);
    assert_eq!(
        statement(&all, &alter).unwrap()["query"],
        "ALTER ROLE r PASSWORD 'MARKER-2'"
    );
    assert_eq!(statement(&all, &alter).unwrap()["query_redacted"], Value::Null);
    with_text.wait_json("/api/v1/overview", WAIT, "the live session text", |_, b| {
        b["long_transactions"]
            .as_array()?
            .iter()
            .any(|t| t["query"].as_str().is_some_and(|q| q.contains("MARKER-6")))
            .then_some(())
    });
    holder.batch_execute("ROLLBACK").await.unwrap();
}

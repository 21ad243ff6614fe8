//! A statement timeout in one collector, for real: the canary's EXPLAIN ANALYZE of an
//! operator query that sleeps past `timeouts.statement_timeout_ms` while a flag row says so.
//! The hot path publishes every other section, /healthz names the failed section and the
//! server's reason, and the agent recovers by itself when the query is fast again.

mod support;

use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn statement_timeout_in_a_collector_degrades_that_section_only_and_recovers() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    pg.psql(
        "app",
        "CREATE TABLE slow_flag (slow bool); INSERT INTO slow_flag VALUES (true);
         GRANT SELECT ON slow_flag TO monitor;",
    );
    let config = test_config(
        "timeouts:\n  statement_timeout_ms: 300\ncanary:\n  explain_query: \"SELECT pg_sleep(CASE WHEN (SELECT bool_or(slow) FROM slow_flag) THEN 2 ELSE 0 END)\"\n",
    );
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &config);

    // On a loaded machine a run can also overrun its whole budget ("did not finish within the
    // loop budget" for every section): wait for a run that reached the server's timeout.
    let reason = agent.wait_json("/healthz", WAIT, "the canary section failing on its timeout", |s, b| {
        let reason = b["loops"]["hot_path"]["reason"].as_str()?.to_string();
        (s == 503 && reason.contains("canceling statement due to statement timeout")).then_some(reason)
    });
    assert!(reason.contains("canary") && reason.contains("57014"), "{reason}");
    // The same failure, typed: a client reads the kind and the SQLSTATE without parsing text.
    let failure = agent.wait_json("/api/v1/health", WAIT, "the canary's typed failure", |_, b| {
        let canary = &b["loops"]["hot_path"]["section_failures"]["canary"];
        (canary["sqlstate"] == "57014").then(|| canary.clone())
    });
    assert_eq!(failure["kind"], "query", "{failure}");
    assert!(
        failure["message"].as_str().unwrap().contains("statement timeout"),
        "{failure}"
    );
    let overview = agent.wait_json(
        "/api/v1/overview",
        WAIT,
        "the canary's error and the other sections",
        |_, o| {
            let canary_timed_out = o["errors"]["canary"].as_str()?.contains("statement timeout");
            (canary_timed_out && o["connections"]["connections"].as_i64()? >= 1).then(|| o.clone())
        },
    );
    assert!(overview["canary"].is_null());
    assert!(agent.metric("pg_connections", "db=\"app\"").unwrap() >= 1.0);
    assert_eq!(
        agent.metric("pgmon_last_scrape_success", "loop=\"hot_path\""),
        Some(0.0)
    );

    pg.psql("app", "UPDATE slow_flag SET slow = false");
    agent.wait_json("/healthz", WAIT, "healthy once the query is fast again", |s, _| {
        (s == 200).then_some(())
    });
    let (_, overview) = agent.get_json("/api/v1/overview");
    assert!(
        overview["canary"]["explain_execution_seconds"].as_f64().unwrap() < 0.3,
        "{overview}"
    );
    assert_eq!(
        agent.metric("pgmon_last_scrape_success", "loop=\"hot_path\""),
        Some(1.0)
    );
}

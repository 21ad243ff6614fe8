//! Degraded mode against a real PostgreSQL that goes away and comes back.

mod support;

use std::time::{Duration, Instant};
use support::agent::{test_config, Agent};
use support::TestPostgres;

#[test]
fn database_stopped_under_running_agent_degrades_then_recovers() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    let mut agent = Agent::start(&pg.url("monitor", "pw", "postgres"), &test_config(""));
    agent.wait_json("/healthz", Duration::from_secs(20), "healthy", |s, _| {
        (s == 200).then_some(())
    });
    assert_eq!(agent.metric("pgmon_database_up", "db=\"postgres\""), Some(1.0));

    pg.stop_server();
    let stopped = Instant::now();
    // Hot-path interval is 1s in the test config: a few intervals plus the budget. A run that
    // was mid-flight when the server went down may first fail section by section; the next
    // run finds no connection and names the database as unreachable.
    let body = agent.wait_json(
        "/healthz",
        Duration::from_secs(5),
        "503 naming the hot path and an unreachable database",
        |s, body| {
            let reason = body["loops"]["hot_path"]["reason"].as_str().unwrap_or_default();
            (s == 503
                && body["loops"]["hot_path"]["status"] == "degraded"
                && reason.starts_with("database unreachable"))
            .then(|| body.clone())
        },
    );
    eprintln!("degraded after {:?}", stopped.elapsed());
    let reason = body["loops"]["hot_path"]["reason"].as_str().unwrap();
    let degraded: Vec<&str> = body["degraded"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(degraded.contains(&format!("hot_path: {reason}").as_str()), "{body}");
    assert_eq!(body["database"]["reachable"], false);
    assert!(agent.is_running());
    assert_eq!(healthcheck(&agent.addr), 1, "pgmon --healthcheck on a degraded agent");
    let metrics = agent.get("/metrics").1;
    assert_eq!(
        support::agent::metric_value(&metrics, "pgmon_database_up", "db=\"postgres\""),
        Some(0.0)
    );
    assert_eq!(
        support::agent::metric_value(&metrics, "pg_connections", ""),
        None,
        "no stale data series"
    );
    assert!(support::agent::metric_value(&metrics, "pgmon_errors_total", "loop=\"hot_path\"").unwrap() >= 1.0);

    // Let failures pile up past the restart threshold so the supervisor restarts the loop.
    agent.wait_json(
        "/healthz",
        Duration::from_secs(20),
        "a supervised restart",
        |_, body| (body["loops"]["hot_path"]["restarts"].as_u64()? >= 1).then_some(()),
    );
    assert!(agent.metric("pgmon_loop_restarts_total", "loop=\"hot_path\"").unwrap() >= 1.0);

    pg.start_server();
    let started = Instant::now();
    agent.wait_json("/healthz", Duration::from_secs(30), "healthy again", |s, _| {
        (s == 200).then_some(())
    });
    eprintln!("recovered after {:?}", started.elapsed());
    assert!(agent.metric("pg_connections", "db=\"postgres\"").unwrap() >= 1.0);
    assert_eq!(agent.terminate(), Some(0), "graceful shutdown on SIGTERM");
}

#[test]
fn database_down_at_start_is_not_fatal() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    pg.stop_server();
    let agent = Agent::start(&pg.url("monitor", "pw", "postgres"), &test_config(""));
    let body = agent.wait_json(
        "/healthz",
        Duration::from_secs(10),
        "503 while the database is down",
        |s, body| (s == 503 && body["database"]["error"].is_string()).then(|| body.clone()),
    );
    assert!(
        body["database"]["error"]
            .as_str()
            .unwrap()
            .contains("database unreachable"),
        "{body}"
    );
    let (_, overview) = agent.get_json("/api/v1/overview");
    assert_eq!(overview["connections"], serde_json::Value::Null);

    pg.start_server();
    agent.wait_json(
        "/healthz",
        Duration::from_secs(30),
        "healthy once the database is up",
        |s, _| (s == 200).then_some(()),
    );
    let (_, overview) = agent.get_json("/api/v1/overview");
    assert!(overview["server"]["version_num"].as_i64().unwrap() >= 120000);
}

/// Runs `pgmon --healthcheck` against the agent at `addr`; returns its exit code.
fn healthcheck(addr: &str) -> i32 {
    std::process::Command::new(env!("CARGO_BIN_EXE_pgmon"))
        .arg("--healthcheck")
        .env("PGMON_HTTP__BIND", addr)
        .env_remove("PGMON_CONFIG")
        .env_remove("PGMON_DSN")
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

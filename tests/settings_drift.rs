//! Configuration drift on a real cluster: a reloaded `work_mem` shows with its old and new
//! value, a changed `shared_buffers` waits for a restart (and alerts once it has waited long
//! enough), a broken configuration line is reported, and each is exported.

mod support;

use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn a_reloaded_change_and_a_pending_restart_are_seen_with_their_values() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    let agent = Agent::start(
        &pg.url("monitor", "pw", "app"),
        &test_config("alerts:\n  pending_restart_after: 0s\n"),
    );
    let baseline = agent.wait_json("/api/v1/settings", WAIT, "the baseline", |s, b| {
        (s == 200 && b["changes"].is_array()).then(|| b.clone())
    });
    assert_eq!(
        baseline["changes"],
        serde_json::json!([]),
        "the first run is the baseline"
    );
    assert!(
        baseline["file_errors_unavailable_reason"]
            .as_str()
            .unwrap()
            .contains("GRANT SELECT ON pg_file_settings TO monitor;"),
        "{baseline}"
    );
    let old_work_mem = pg.psql("app", "SHOW work_mem");

    pg.psql("postgres", "ALTER SYSTEM SET work_mem = '64MB'");
    pg.psql("postgres", "ALTER SYSTEM SET shared_buffers = '256MB'");
    pg.psql("postgres", "SELECT pg_reload_conf()");

    let change = agent.wait_json("/api/v1/settings", WAIT, "the work_mem change", |_, b| {
        b["changes"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == "work_mem")
            .cloned()
    });
    assert_eq!(change["old"].as_str(), Some(old_work_mem.trim()), "{change}");
    assert_eq!(change["new"], "64MB", "{change}");
    assert_eq!(change["source"], "configuration file", "{change}");
    assert!(change["seen_at"].as_str().unwrap().ends_with('Z'), "{change}");

    let body = agent.wait_json("/api/v1/settings", WAIT, "shared_buffers pending", |_, b| {
        b["pending_restart"]
            .as_array()?
            .iter()
            .any(|p| p["name"] == "shared_buffers")
            .then(|| b.clone())
    });
    let pending = body["pending_restart"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "shared_buffers")
        .unwrap();
    assert_eq!(pending["running"], "128MB", "{pending}");
    assert!(
        pending["pending"].is_null(),
        "pg_file_settings is not readable: {pending}"
    );
    assert!(
        !body["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "shared_buffers"),
        "a value waiting for a restart is not a change yet: {body}"
    );
    let recommended = body["recommended"].as_array().unwrap();
    assert!(recommended.iter().any(|r| r["name"] == "track_io_timing"), "{body}");

    let alert = agent.wait_json("/api/v1/alerts", WAIT, "the pending-restart alert", |_, b| {
        b["open"]
            .as_array()?
            .iter()
            .find(|a| a["dedupe_key"] == "setting_pending_restart:shared_buffers")
            .cloned()
    });
    assert_eq!(alert["severity"], "warn");
    let message = alert["message"].as_str().unwrap();
    assert!(
        message.contains("shared_buffers") && message.contains("128MB"),
        "{message}"
    );

    assert_eq!(agent.metric("pg_settings_pending_restart", "db=\"app\""), Some(1.0));
    assert!(agent.metric("pg_settings_changes_total", "db=\"app\"").unwrap() >= 1.0);
    support::promtool_check(&agent.get("/metrics").1);
}

#[test]
fn with_pg_file_settings_granted_the_waiting_value_and_broken_lines_are_shown() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    // Catalog views are per database: the grant is made where the agent connects.
    pg.psql(
        "app",
        "GRANT SELECT ON pg_file_settings TO monitor; GRANT EXECUTE ON FUNCTION pg_show_all_file_settings() TO monitor;",
    );
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    agent.wait_json("/api/v1/settings", WAIT, "the baseline", |s, b| {
        (s == 200 && b["file_errors"].is_array()).then_some(())
    });
    pg.psql("postgres", "ALTER SYSTEM SET shared_buffers = '256MB'");
    pg.psql("postgres", "SELECT pg_reload_conf()");
    agent.wait_json("/api/v1/settings", WAIT, "the waiting value", |_, b| {
        b["pending_restart"]
            .as_array()?
            .iter()
            .any(|p| p["name"] == "shared_buffers" && p["pending"] == "256MB")
            .then_some(())
    });
    // A line PostgreSQL cannot apply, appended to the configuration file by hand. (A reload
    // with an error in the files applies only what the error does not affect.)
    let conf = pg.data_dir().join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nshared_bufers = 1GB\n");
    std::fs::write(&conf, text).unwrap();
    pg.psql("postgres", "SELECT pg_reload_conf()");
    let body = agent.wait_json("/api/v1/settings", WAIT, "the broken line", |_, b| {
        b["file_errors"]
            .as_array()?
            .iter()
            .any(|e| e["name"] == "shared_bufers")
            .then(|| b.clone())
    });
    let error = body["file_errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "shared_bufers")
        .unwrap();
    assert!(
        error["sourcefile"].as_str().unwrap().ends_with("postgresql.conf"),
        "{error}"
    );
    assert!(error["sourceline"].as_i64().unwrap() > 0, "{error}");
    assert!(body["file_errors_unavailable_reason"].is_null(), "{body}");
}

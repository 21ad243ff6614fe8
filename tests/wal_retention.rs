//! What takes a database down at 3 a.m., seeded for real on a throwaway cluster: an inactive
//! replication slot retaining WAL, an `archive_command` that fails, and the WAL directory they
//! fill. Each must reach the API, `/metrics` and the alerts with the slot or segment named.

mod support;

use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(60);
const MIB: f64 = 1024.0 * 1024.0;

fn app_cluster(extra_conf: &[&str]) -> TestPostgres {
    let pg = TestPostgres::start_with(extra_conf);
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    pg
}

/// About `mib` MiB of WAL: rows of incompressible-enough text, inserted and then deleted.
fn write_wal(pg: &TestPostgres, mib: u32) {
    pg.psql(
        "app",
        &format!(
            "CREATE TABLE IF NOT EXISTS ballast (v text);
             INSERT INTO ballast SELECT md5(g::text) || repeat(md5((g + 1)::text), 30)
               FROM generate_series(1, {rows}) g;
             TRUNCATE ballast;",
            // ~1 KiB per row, plus its WAL record overhead.
            rows = mib * 1024
        ),
    );
}

#[test]
fn an_inactive_slot_retaining_wal_is_measured_and_alerted_by_name() {
    let pg = app_cluster(&[]);
    pg.psql(
        "app",
        "SELECT pg_create_physical_replication_slot('abandoned_standby', true)",
    );
    let agent = Agent::start(
        &pg.url("monitor", "pw", "app"),
        &test_config("alerts:\n  slot_retained_warn_bytes: 67108864\n  slot_retained_crit_bytes: 10737418240\n"),
    );
    write_wal(&pg, 120);

    let slot = agent.wait_json("/api/v1/replication", WAIT, "the slot retaining WAL", |_, b| {
        let slot = b["slots"]
            .as_array()?
            .iter()
            .find(|s| s["slot"] == "abandoned_standby")?;
        (slot["retained_bytes"].as_f64()? >= 64.0 * MIB).then(|| slot.clone())
    });
    assert_eq!(slot["slot_type"], "physical", "{slot}");
    assert_eq!(slot["active"], false, "{slot}");
    assert_eq!(slot["severity"], "warn", "{slot}");
    let retained = slot["retained_bytes"].as_f64().unwrap();
    assert!(retained < 1024.0 * MIB, "about the WAL written, not more: {retained}");

    let alert = agent.wait_json("/api/v1/alerts", WAIT, "the slot retention alert", |_, b| {
        b["open"]
            .as_array()?
            .iter()
            .find(|a| a["dedupe_key"] == "replication_slot_retention:abandoned_standby")
            .cloned()
    });
    assert_eq!(
        (alert["kind"].as_str(), alert["severity"].as_str()),
        (Some("replication_slot_retention"), Some("warn"))
    );
    let message = alert["message"].as_str().unwrap();
    assert!(
        message.contains("abandoned_standby") && message.contains("MiB of WAL"),
        "{message}"
    );

    let exported = agent
        .metric("pg_replication_slot_retained_bytes", "slot=\"abandoned_standby\"")
        .expect("the slot's retained bytes are exported");
    assert!(exported >= 64.0 * MIB, "{exported}");
    assert_eq!(
        agent.metric("pg_replication_slot_active", "slot=\"abandoned_standby\""),
        Some(0.0)
    );
    support::promtool_check(&agent.get("/metrics").1);

    // Dropping the slot ends the retention: the alert resolves once a run no longer sees it.
    pg.psql("app", "SELECT pg_drop_replication_slot('abandoned_standby')");
    agent.wait_json("/api/v1/alerts", WAIT, "the slot alert resolved", |_, b| {
        let open = b["open"].as_array()?;
        (!open.iter().any(|a| a["kind"] == "replication_slot_retention")).then_some(())
    });
}

#[test]
fn a_failing_archive_command_is_reported_and_alerted_and_the_wal_directory_is_measured() {
    let pg = app_cluster(&["archive_mode = on", "archive_command = 'false'"]);
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    // A completed segment to archive: archive_command fails on it, again and again.
    write_wal(&pg, 2);
    pg.psql("app", "SELECT pg_switch_wal()");

    let archiving = agent.wait_json("/api/v1/replication", WAIT, "the archiver failing", |_, b| {
        let a = &b["archiving"];
        (a["failed_total"].as_i64()? >= 1 && a["failing"].is_string()).then(|| a.clone())
    });
    assert_eq!(archiving["archive_mode"], "on", "{archiving}");
    assert_eq!(archiving["enabled"], true);
    assert_eq!(archiving["archived_total"], 0);
    let failed_wal = archiving["last_failed_wal"]
        .as_str()
        .expect("the failed segment is named");
    assert_eq!(failed_wal.len(), 24, "{failed_wal}");
    assert!(archiving["ready_segments"].as_i64().unwrap() >= 1, "{archiving}");

    let alert = agent.wait_json("/api/v1/alerts", WAIT, "the archiving alert", |_, b| {
        b["open"]
            .as_array()?
            .iter()
            .find(|a| a["kind"] == "wal_archiving_failing")
            .cloned()
    });
    assert_eq!(
        alert["severity"], "warn",
        "crit only after alerts.archive_failing_crit_after"
    );
    let message = alert["message"].as_str().unwrap();
    assert!(message.contains("archive_command fails"), "{message}");
    assert!(
        !message.is_empty() && message.contains("0000000"),
        "names the segment: {message}"
    );
    assert!(agent.metric("pg_wal_archive_failed_total", "db=\"app\"").unwrap() >= 1.0);
    assert_eq!(agent.metric("pg_wal_archiving_enabled", "db=\"app\""), Some(1.0));

    // The WAL directory holds at least the segment waiting to be archived.
    let (_, body) = agent.get_json("/api/v1/replication");
    let dir = &body["wal_directory"];
    assert!(dir["segments"].as_i64().unwrap() >= 1, "{dir}");
    assert!(dir["bytes"].as_f64().unwrap() >= 16.0 * MIB, "{dir}");
    assert!(dir["max_wal_size_bytes"].as_f64().unwrap() > 0.0, "{dir}");
    assert!(agent.metric("pg_wal_directory_bytes", "db=\"app\"").unwrap() >= 16.0 * MIB);
    support::promtool_check(&agent.get("/metrics").1);
}

#[test]
fn archiving_off_judges_nothing_and_a_role_without_pg_monitor_says_why_the_directory_is_unlisted() {
    let pg = app_cluster(&[]);
    pg.psql(
        "postgres",
        "CREATE ROLE plain LOGIN PASSWORD 'pw'; GRANT CONNECT ON DATABASE app TO plain;",
    );
    let agent = Agent::start(&pg.url("plain", "pw", "app"), &test_config(""));
    let body = agent.wait_json("/api/v1/replication", WAIT, "the archiving section", |_, b| {
        b["archiving"].is_object().then(|| b.clone())
    });
    let archiving = &body["archiving"];
    assert_eq!(archiving["enabled"], false, "{archiving}");
    assert!(
        archiving["failing"].is_null() && archiving["stalled"].is_null(),
        "{archiving}"
    );
    assert!(
        archiving["ready_segments"].is_null(),
        "not listed without pg_monitor: {archiving}"
    );
    let dir = &body["wal_directory"];
    assert!(dir["bytes"].is_null(), "no size rather than a zero: {dir}");
    assert!(
        dir["unavailable_reason"]
            .as_str()
            .unwrap()
            .contains("GRANT pg_monitor TO plain;"),
        "{dir}"
    );
    assert!(body["errors"].as_object().unwrap().is_empty(), "nothing failed: {body}");
    assert_eq!(agent.metric("pg_wal_directory_bytes", "db=\"app\""), None);
}

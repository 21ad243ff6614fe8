//! Start-up against a real PostgreSQL: the read-only refusal, missing-privilege advisories,
//! DSNs with special-character passwords over SCRAM, and read-only sessions.

mod support;

use std::time::Duration;
use support::agent::{run_to_exit, test_config, Agent};
use support::{literal, TestPostgres, SUPERUSER_PASSWORD};

const WAIT: Duration = Duration::from_secs(20);

fn healthy(agent: &Agent) -> serde_json::Value {
    agent.wait_json("/healthz", WAIT, "healthz 200", |status, body| {
        (status == 200).then(|| body.clone())
    })
}

#[test]
fn superuser_dsn_is_refused_naming_superuser() {
    let pg = TestPostgres::start();
    let (code, output) = run_to_exit(&pg.superuser_url(), &test_config(""), WAIT);
    assert_eq!(code, 3, "{output}");
    assert!(
        output.contains("refusing to start: role postgres could write"),
        "{output}"
    );
    assert!(output.contains("SUPERUSER on role postgres"), "{output}");
    assert!(output.contains("GRANT pg_monitor"), "the fix is named: {output}");
    assert!(!output.contains(SUPERUSER_PASSWORD), "password leaked: {output}");
}

#[test]
fn role_with_insert_on_a_table_is_refused_naming_the_privilege() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE orders (id int)");
    pg.create_monitor_role("monitor", "pw-1", "app");
    pg.psql("app", "GRANT SELECT, INSERT ON orders TO monitor");
    let (code, output) = run_to_exit(&pg.url("monitor", "pw-1", "app"), &test_config(""), WAIT);
    assert_eq!(code, 3, "{output}");
    assert!(output.contains("INSERT on table public.orders"), "{output}");
    assert!(
        output.contains("REVOKE INSERT ON TABLE public.orders FROM monitor;"),
        "{output}"
    );
    assert!(
        !output.contains("SELECT on"),
        "SELECT is not a write privilege: {output}"
    );
}

#[test]
fn role_that_can_create_in_a_schema_is_refused() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw-1", "app");
    pg.psql(
        "app",
        "CREATE SCHEMA scratch; GRANT CREATE ON SCHEMA scratch TO monitor;",
    );
    let (code, output) = run_to_exit(&pg.url("monitor", "pw-1", "app"), &test_config(""), WAIT);
    assert_eq!(code, 3, "{output}");
    assert!(output.contains("CREATE on schema scratch"), "{output}");
}

#[test]
fn role_without_pg_monitor_runs_and_reports_the_fix() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE ROLE plain LOGIN PASSWORD 'plain-pw'; REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
    );
    let agent = Agent::start(&pg.url("plain", "plain-pw", "app"), &test_config(""));
    healthy(&agent);
    let (_, overview) = agent.get_json("/api/v1/overview");
    let advisories = overview["advisories"].as_array().unwrap();
    let missing = advisories
        .iter()
        .find(|a| a["code"] == "missing_pg_monitor")
        .expect("pg_monitor advisory");
    assert_eq!(missing["fix"], "GRANT pg_monitor TO plain;");
    assert!(
        advisories.iter().any(|a| a["code"] == "settings_unreadable"),
        "{advisories:?}"
    );
    assert!(
        agent.logs().contains("GRANT pg_monitor TO plain;"),
        "advisory logged with its fix"
    );
    assert_eq!(overview["connections"]["max_connections"], 60);
}

#[test]
fn missing_extension_is_reported_with_its_fix() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw-1", "app");
    let agent = Agent::start(&pg.url("monitor", "pw-1", "app"), &test_config(""));
    healthy(&agent);
    let (_, overview) = agent.get_json("/api/v1/overview");
    let codes: Vec<&str> = overview["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"pg_stat_statements_not_installed"), "{codes:?}");
    assert!(
        !codes.contains(&"pg_stat_statements_not_preloaded"),
        "the harness preloads it: {codes:?}"
    );
    assert!(!codes.contains(&"missing_pg_monitor"), "{codes:?}");
}

#[test]
fn special_character_password_works_over_scram_as_url_and_key_value() {
    let password = "p@ss:w/rd?#%&=' \"x;\\ü";
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", password, "app");
    let stored = pg.psql(
        "postgres",
        "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'monitor'",
    );
    assert_eq!(stored, "SCRAM-SHA-256");

    let url = Agent::start(&pg.url("monitor", password, "app"), &test_config(""));
    healthy(&url);
    let escaped = password.replace('\\', "\\\\").replace('\'', "\\'");
    let kv = format!(
        "host=127.0.0.1 port={} user=monitor dbname=app password='{escaped}' sslmode=disable",
        pg.port
    );
    let key_value = Agent::start(&kv, &test_config(""));
    healthy(&key_value);
    for agent in [&url, &key_value] {
        assert!(!agent.logs().contains("p@ss"), "password in logs: {}", agent.logs());
        assert!(
            agent.logs().contains("monitor@127.0.0.1"),
            "target named without credentials"
        );
    }
}

#[test]
fn wrong_password_is_a_clear_degraded_reason_without_the_password() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "right-pw", "postgres");
    let agent = Agent::start(&pg.url("monitor", "wrong-pw-123", "postgres"), &test_config(""));
    // An open /healthz gives the kind of failure; the server's words (which name the role)
    // are in the full report.
    let reason = agent.wait_json("/healthz", WAIT, "a degraded hot path", |status, body| {
        (status == 503 && body["loops"]["hot_path"]["status"] == "degraded")
            .then(|| body["loops"]["hot_path"]["reason"].as_str().map(String::from))
            .flatten()
    });
    assert!(reason.contains("authentication failed (SQLSTATE 28P01)"), "{reason}");
    assert!(!reason.contains("monitor"), "{reason}");
    let (_, full) = agent.get_json("/api/v1/health");
    let reason = full["loops"]["hot_path"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("password authentication failed for user \"monitor\""),
        "{full}"
    );
    assert!(!agent.logs().contains("wrong-pw-123"));
    assert!(!agent.get("/healthz").1.contains("wrong-pw-123"));
    assert!(!agent.get("/api/v1/health").1.contains("wrong-pw-123"));
}

#[test]
fn sessions_are_read_only_even_when_enforcement_is_off() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE TABLE canary_target (id int)");
    let write = "INSERT INTO canary_target VALUES (1)";
    let agent = Agent::start(
        &pg.superuser_url(),
        &test_config(&format!(
            "security:\n  read_only_enforce: false\ncanary:\n  explain_query: {}\n",
            literal(write).replace('\'', "\"")
        )),
    );
    let error = agent.wait_json("/api/v1/overview", WAIT, "the canary's write to fail", |_, body| {
        body["errors"]["canary"].as_str().map(String::from)
    });
    assert!(error.contains("read-only transaction"), "{error}");
    assert_eq!(pg.psql("postgres", "SELECT count(*) FROM canary_target"), "0");
    let app = pg.psql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgmon'",
    );
    assert!(app.parse::<i32>().unwrap() >= 1, "sessions are named pgmon");
}

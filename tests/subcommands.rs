//! `pgmon check-config` against a real PostgreSQL (healthy role, superuser refused, database
//! down) and `pgmon rules` rendering the thresholds in effect, checked by promtool.

mod support;

use std::process::Command;
use support::TestPostgres;

/// Runs `pgmon <args>` with `yaml` as its config and `dsn` (if any); exit code and stdout+stderr.
fn pgmon(args: &[&str], yaml: &str, dsn: Option<&str>) -> (i32, String) {
    let (mut cmd, _dir) = support::agent::command(dsn.unwrap_or_default(), yaml);
    cmd.args(args);
    if dsn.is_none() {
        cmd.env_remove("PGMON_DSN");
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

#[test]
fn check_config_reports_what_would_be_monitored() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "Pw-w1th:sp@ce", "app");
    let dsn = pg.url("monitor", "Pw-w1th:sp@ce", "app");
    let (code, out) = pgmon(&["check-config"], "cluster: prod-eu\n", Some(&dsn));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("configuration: OK"), "{out}");
    assert!(out.contains("cluster:    prod-eu"), "{out}");
    assert!(
        out.contains(&format!("target:     monitor@127.0.0.1:{}/app", pg.port)),
        "{out}"
    );
    assert!(out.contains("database: reachable: PostgreSQL"), "{out}");
    assert!(out.contains("role monitor (pg_monitor)"), "{out}");
    // pg_stat_statements is preloaded but not created in `app`: the advisory names the fix.
    assert!(out.contains("fix: CREATE EXTENSION pg_stat_statements;"), "{out}");
    assert!(out.contains("read-only check: passed"), "{out}");
    assert!(out.contains("would monitor:"), "{out}");
    assert!(!out.contains("Pw-w1th"), "the password never appears: {out}");
}

#[test]
fn check_config_refuses_a_role_that_could_write() {
    let pg = TestPostgres::start();
    let (code, out) = pgmon(&["check-config"], "", Some(&pg.superuser_url()));
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("read-only check: REFUSED") && out.contains("SUPERUSER"),
        "{out}"
    );
}

#[test]
fn check_config_on_a_stopped_database_exits_1_saying_why() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    pg.stop_server();
    let (code, out) = pgmon(&["check-config"], "", Some(&pg.url("monitor", "pw", "postgres")));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("database: UNREACHABLE"), "{out}");
}

#[test]
fn check_config_without_a_dsn_is_bad_input() {
    let (code, out) = pgmon(&["check-config"], "", None);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("PGMON_DSN"), "{out}");
}

#[test]
fn rules_follow_the_configured_thresholds_and_pass_promtool() {
    let yaml = "alerts:\n  long_txn_warn_s: 42\n  blocked_crit_s: 600\n  connections_for: 5m\nmetrics:\n  prefix: \"pgmon_\"\n";
    let (code, rules) = pgmon(&["rules"], yaml, None);
    assert_eq!(code, 0, "{rules}");
    assert!(
        rules.contains("expr: pgmon_pg_longest_transaction_seconds > 42\n"),
        "{rules}"
    );
    assert!(
        rules.contains("expr: pgmon_pg_longest_blocked_seconds > 600\n"),
        "{rules}"
    );
    assert!(rules.contains("for: 5m\n"), "{rules}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, &rules).unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("promtool (Debian package prometheus) must be installed");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    // promtool loads every rule the command wrote (25 at this writing: one or two per alert).
    let written = rules.matches("- alert: ").count();
    assert!(written >= 25, "{rules}");
    assert!(text.contains(&format!("SUCCESS: {written} rules found")), "{text}");
}

#[test]
fn check_config_names_an_unreadable_certificate_file() {
    let yaml = "http:\n  tls:\n    cert_file: \"/nonexistent/cert.pem\"\n    key_file: \"/nonexistent/key.pem\"\n";
    let (code, out) = pgmon(&["check-config"], yaml, Some("postgres://monitor:pw@127.0.0.1:1/app"));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("security files:") && out.contains("/nonexistent/cert.pem"),
        "{out}"
    );
}

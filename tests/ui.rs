//! The web UI end to end: a real pgmon monitoring a real PostgreSQL seeded with what every
//! panel shows (dead tuples, an unused index, a daily-partitioned table about to run out, stale
//! statistics, a streaming replica, an idle-in-transaction lock holder with a session blocked
//! behind it, pgbench traffic, pgstattuple), then `ui/e2e/panels.mjs` drives Debian's Chromium
//! through each panel with playwright-core, expands its SQL, takes a screenshot, and fails on any
//! console error; the database is stopped and the degraded banner must appear.
//!
//! Needs `ui/node_modules` (`npm ci` in `ui/`) and `/usr/bin/chromium`; scripts/test.sh installs
//! both. Screenshots land in `target/ui-screenshots/`. `PGMON_UI_E2E_HOLD=<seconds>` keeps the
//! seeded agent up that long before the browser runs, for looking at it by hand.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(60);

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui")
}

/// Runs one phase of the browser suite against the agent; panics with its output on failure.
fn run_browser(addr: &str, phase: &str) {
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let out = Command::new("node")
        .arg("e2e/panels.mjs")
        .current_dir(ui_dir())
        .env("PGMON_URL", format!("http://{addr}"))
        .env("PGMON_E2E_PHASE", phase)
        .env("PGMON_E2E_SCREENSHOTS", &screenshots)
        .output()
        .expect("node must be installed to run the UI end-to-end suite");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "UI e2e phase {phase} failed:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_renders_seeded_data_in_chromium_and_degraded_mode_shows() {
    assert!(
        ui_dir().join("node_modules/playwright-core").is_dir(),
        "run `npm ci` in ui/ first (scripts/test.sh does)"
    );
    // An archive_command that always fails: the Replication panel shows archiving failing.
    let pg = TestPostgres::start_with(&["archive_mode = on", "archive_command = 'false'"]);
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    pg.psql(
        "app",
        "CREATE EXTENSION pgstattuple; CREATE EXTENSION pg_stat_statements;
         CREATE TABLE churn (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO churn SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
         DELETE FROM churn WHERE id <= 20000;
         CREATE INDEX churn_pad_idx ON churn (pad);
         CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 0);
         CREATE TABLE events (at date NOT NULL, v int) PARTITION BY RANGE (at);
         CREATE TABLE stale_t (id int) WITH (autovacuum_enabled = false); INSERT INTO stale_t SELECT generate_series(1, 1000);",
    );
    pg.psql("app", "ANALYZE stale_t");
    pg.psql("app", "INSERT INTO stale_t SELECT generate_series(1, 500)");
    pg.psql(
        "app",
        "DO $$ DECLARE d date; BEGIN FOR i IN -2..1 LOOP d := current_date + i;
           EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', 'events_' || to_char(d, 'YYYYMMDD'), d, d + 1);
         END LOOP; END $$;",
    );
    // An abandoned slot: the Replication panel lists it with the WAL it retains and a verdict.
    pg.psql(
        "app",
        "SELECT pg_create_physical_replication_slot('ui_abandoned', true)",
    );
    let out = pg.pgbench("app", &["-i", "-q", "-s", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let standby = pg.start_standby();

    let config = test_config(
        "security:\n  redact_sql_text: false\nlimits:\n  unused_index_min_bytes: 8192\nalerts:\n  long_txn_warn_s: 1\n  blocked_warn_s: 1\n  dead_tuples_min: 1000\n  dead_tuples_for: 0s\n  stats_stale_warn_hours: 0\n  slot_retained_warn_bytes: 1\n",
    );
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &config);

    let traffic = pg.pgbench("app", &["-n", "-c", "2", "-T", "8", "-R", "50"]);
    assert!(traffic.status.success(), "{}", String::from_utf8_lossy(&traffic.stderr));
    let (holder, waiter) = pg.blocked_session("app").await;

    tokio::task::block_in_place(|| {
        agent.wait_json("/api/v1/alerts", WAIT, "the blocking alert firing", |_, body| {
            body["open"]
                .as_array()?
                .iter()
                .any(|a| a["kind"] == "blocking_locks" && a["phase"] == "firing")
                .then_some(())
        });
        agent.wait_json("/api/v1/storage", WAIT, "churn's dead tuples in storage", |s, b| {
            let churn = b["tables"]
                .as_array()?
                .iter()
                .find(|t| t["relation"] == "public.churn")?
                .clone();
            (s == 200 && churn["dead_tuples"].as_i64()? > 0).then_some(())
        });
        // Stale per spec §6 once it changes while the agent watches (it has an earlier sample).
        agent.wait_json("/api/v1/stale-stats", WAIT, "stale_t sampled", |s, b| {
            (s == 200
                && b["stalest"]
                    .as_array()?
                    .iter()
                    .any(|t| t["relation"] == "public.stale_t"))
            .then_some(())
        });
        pg.psql("app", "INSERT INTO stale_t SELECT generate_series(1, 500)");
        agent.wait_json("/api/v1/stale-stats", WAIT, "stale_t stale", |s, b| {
            (s == 200
                && b["tables"]
                    .as_array()?
                    .iter()
                    .any(|t| t["relation"] == "public.stale_t"))
            .then_some(())
        });
        agent.wait_json("/api/v1/replication", WAIT, "the replica listed", |s, b| {
            (s == 200 && !b["replicas"].as_array()?.is_empty()).then_some(())
        });
        pg.psql("app", "SELECT pg_switch_wal()");
        agent.wait_json("/api/v1/replication", WAIT, "archiving failing", |s, b| {
            (s == 200 && b["archiving"]["failing"].is_string()).then_some(())
        });
        agent.wait_json("/api/v1/history", WAIT, "a TPS point in the history", |_, b| {
            b["workload"]
                .as_array()?
                .iter()
                .any(|p| p["tps"].is_number())
                .then_some(())
        });
        agent.wait_json("/api/v1/top-queries", WAIT, "pgbench statements ranked", |s, b| {
            let top = b["by_total_time"].as_array()?;
            (s == 200
                && top
                    .iter()
                    .any(|q| q["query"].as_str().is_some_and(|t| t.contains("pgbench_accounts"))))
            .then_some(())
        });
        agent.wait_json("/api/v1/bloat", WAIT, "a bloat sample", |s, b| {
            (s == 200 && b["bloat"]["samples"].as_array().is_some_and(|a| !a.is_empty())).then_some(())
        });
        // Drift after the baseline run: a reloaded work_mem, a shared_buffers waiting for a restart.
        agent.wait_json("/api/v1/settings", WAIT, "the settings baseline", |s, b| {
            (s == 200 && b["changes"].is_array()).then_some(())
        });
        pg.psql("postgres", "ALTER SYSTEM SET work_mem = '64MB'");
        pg.psql("postgres", "ALTER SYSTEM SET shared_buffers = '256MB'");
        pg.psql("postgres", "SELECT pg_reload_conf()");
        agent.wait_json("/api/v1/settings", WAIT, "the drift seen", |_, b| {
            let changed = b["changes"].as_array()?.iter().any(|c| c["name"] == "work_mem");
            let pending = b["pending_restart"]
                .as_array()?
                .iter()
                .any(|p| p["name"] == "shared_buffers");
            (changed && pending).then_some(())
        });
        if let Some(hold) = std::env::var("PGMON_UI_E2E_HOLD").ok().and_then(|s| s.parse().ok()) {
            eprintln!("holding the seeded agent at http://{} for {hold}s", agent.addr);
            std::thread::sleep(Duration::from_secs(hold));
        }
        run_browser(&agent.addr, "panels");
    });

    holder.batch_execute("ROLLBACK").await.unwrap();
    waiter.await.unwrap().unwrap();
    drop(standby);
    pg.stop_server();
    tokio::task::block_in_place(|| {
        agent.wait_json("/healthz", WAIT, "503 after the database stopped", |s, _| {
            (s == 503).then_some(())
        });
        run_browser(&agent.addr, "degraded");
    });
}

#[test]
fn the_embedded_bundle_is_served_with_no_node_and_no_database() {
    // Nothing listens on port 1: the agent starts degraded and still serves its UI.
    let agent = Agent::start("postgres://monitor:pw@127.0.0.1:1/app", &test_config(""));
    let (status, content_type, index) = agent.get_typed("/");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(
        index.contains("assets/app.js") && index.contains("assets/index.css"),
        "{index}"
    );
    let bundle = std::fs::read_to_string(ui_dir().join("dist/assets/app.js")).unwrap();
    let (status, content_type, js) = agent.get_typed("/assets/app.js");
    assert_eq!(status, 200);
    assert!(content_type.contains("javascript"), "{content_type}");
    assert_eq!(js, bundle, "the binary serves the committed bundle");
    let (status, content_type, _) = agent.get_typed("/assets/index.css");
    assert_eq!(
        (status, content_type.starts_with("text/css")),
        (200, true),
        "{content_type}"
    );
    // Client-side routes get index.html; a missing asset is a 404, not the page.
    assert_eq!(agent.get_typed("/storage").2, index);
    assert_eq!(agent.get_typed("/assets/missing.js").0, 404);
    assert_eq!(agent.get_typed("/api/v1/nope").0, 404);
    // HEAD probes get the health answer, not the UI page.
    let http: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let head = http.head(format!("http://{}/healthz", agent.addr)).call().unwrap();
    assert_eq!(head.status().as_u16(), 503, "degraded: the database is down");
}

#[test]
fn static_dir_overrides_the_embedded_bundle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<html>custom build</html>").unwrap();
    let yaml = test_config("").replace(
        "static_dir: \"/nonexistent\"",
        &format!("static_dir: \"{}\"", dir.path().display()),
    );
    let agent = Agent::start("postgres://monitor:pw@127.0.0.1:1/app", &yaml);
    let (status, _, body) = agent.get_typed("/");
    assert_eq!((status, body.as_str()), (200, "<html>custom build</html>"));
    assert_eq!(agent.get_typed("/assets/app.js").0, 404);
}

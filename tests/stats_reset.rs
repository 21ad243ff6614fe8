//! `pg_stat_reset()` starts no stale-statistics alert storm (issue 12, item 7). A reset forgets
//! every analyze time while the planner statistics stay intact; tables modified after it must
//! not look stale nor "never analyzed", while a table analyzed and then modified stays stale and
//! alerting (shown with `stats_stale_warn_hours: 0`, since a 12-hour-old analyze cannot be
//! seeded).

mod support;

use serde_json::Value;
use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(40);

/// Analyzed before the reset, modified before and after it.
const ANALYZED: [&str; 3] = ["orders", "customers", "items"];

fn seed_and_reset(pg: &TestPostgres) {
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    // Autovacuum off: no autoanalyze gives the tables an analyze time behind the test's back.
    for t in ANALYZED.iter().chain(&["fresh", "never"]) {
        pg.psql(
            "app",
            &format!(
                "CREATE TABLE {t} (id int, v text) WITH (autovacuum_enabled = false);
                 INSERT INTO {t} SELECT g, md5(g::text) FROM generate_series(1, 2000) g;"
            ),
        );
    }
    // One statement per call: psql -c runs a multi-statement string as one transaction.
    for t in ANALYZED {
        pg.psql("app", &format!("ANALYZE {t}"));
        pg.psql("app", &format!("UPDATE {t} SET v = 'x' WHERE id <= 100"));
    }
    let before = pg.psql(
        "app",
        "SELECT COALESCE(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'app'",
    );
    pg.psql("app", "SELECT pg_stat_reset()");
    // Before PostgreSQL 15 the statistics collector applies the reset a moment later.
    support::eventually(WAIT, "stats_reset to move", || {
        let after = pg.psql(
            "app",
            "SELECT COALESCE(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'app'",
        );
        (after != before && after != "never").then_some(())
    });
    for t in ANALYZED.iter().chain(&["never"]) {
        pg.psql("app", &format!("UPDATE {t} SET v = 'y' WHERE id <= 50"));
    }
    pg.psql("app", "ANALYZE fresh");
    pg.psql("app", "UPDATE fresh SET v = 'y' WHERE id <= 50");
    support::eventually(WAIT, "the modifications after the reset counted", || {
        let counted = pg.psql(
            "app",
            "SELECT count(*) FROM pg_stat_user_tables WHERE n_mod_since_analyze > 0 AND last_analyze IS NULL",
        );
        let fresh = pg.psql(
            "app",
            "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'fresh' AND last_analyze IS NOT NULL",
        );
        (counted == "4" && fresh == "50").then_some(())
    });
}

fn table<'a>(tables: &'a [Value], name: &str) -> &'a Value {
    tables
        .iter()
        .find(|t| t["relation"] == format!("public.{name}"))
        .unwrap_or_else(|| panic!("{name} not listed: {tables:?}"))
}

fn open_keys(alerts: &Value) -> Vec<String> {
    alerts["open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["dedupe_key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_reset_raises_no_stale_stats_alert_for_tables_with_intact_statistics() {
    let pg = TestPostgres::start();
    seed_and_reset(&pg);
    let dsn = pg.url("monitor", "pw", "app");
    let defaults = Agent::start(&dsn, &test_config("alerts:\n  long_txn_warn_s: 1\n"));
    let zero = Agent::start(&dsn, &test_config("alerts:\n  stats_stale_warn_hours: 0\n"));

    // Default threshold (12 h): the reset is seconds old, so nothing is stale.
    let tables = tokio::task::block_in_place(|| {
        defaults.wait_json("/api/v1/stale-stats", WAIT, "an hourly snapshot", |s, b| {
            (s == 200).then(|| b["tables"].clone())
        })
    });
    assert_eq!(tables, serde_json::json!([]), "stale tables right after a stats reset");

    // The alert view once it has evaluated that snapshot: a transaction opened after it was
    // published shows up as long_transaction in a later evaluation, which includes it too.
    let idle = pg.client("app").await;
    idle.batch_execute("BEGIN; SELECT 1;").await.unwrap();
    let alerts = tokio::task::block_in_place(|| {
        defaults.wait_json(
            "/api/v1/alerts",
            WAIT,
            "the long transaction opened after the snapshot",
            |_, b| open_keys(b).iter().any(|k| k == "long_transaction").then(|| b.clone()),
        )
    });
    let stale: Vec<String> = open_keys(&alerts)
        .into_iter()
        .chain(
            alerts["recent"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["dedupe_key"].as_str().unwrap().to_string()),
        )
        .filter(|k| k.starts_with("stale_stats"))
        .collect();
    assert!(stale.is_empty(), "stale_stats alerts after a reset: {stale:?}");
    idle.batch_execute("ROLLBACK").await.unwrap();

    // Threshold 0: every modified table is listed among the stalest, each described truthfully.
    let tables = tokio::task::block_in_place(|| {
        zero.wait_json("/api/v1/stale-stats", WAIT, "an hourly snapshot", |s, b| {
            (s == 200).then(|| b["stalest"].as_array().cloned()).flatten()
        })
    });
    // None is stale: none changed while the agent watched, and none changed past its trigger
    // (250 rows of 2,000) but `never`, which has no planner statistics (trigger 50).
    for t in &tables {
        assert_eq!(t["severity"], Value::Null, "{t}");
    }
    for name in ANALYZED {
        let t = table(&tables, name);
        assert_eq!(t["never_analyzed"], false, "analyzed before the reset: {t}");
        assert_eq!(t["stale_seconds_lower_bound"], true, "{t}");
        let since_reset = t["stale_seconds"].as_f64().unwrap();
        assert!((0.0..3600.0).contains(&since_reset), "time since the reset: {t}");
        assert_eq!(t["modified_since_analyze"], 50, "{t}");
    }
    let never = table(&tables, "never");
    assert_eq!(
        (
            never["never_analyzed"].clone(),
            never["stale_seconds_lower_bound"].clone()
        ),
        (Value::Bool(true), Value::Bool(true)),
        "{never}"
    );
    let fresh = table(&tables, "fresh");
    assert_eq!(
        (
            fresh["never_analyzed"].clone(),
            fresh["stale_seconds_lower_bound"].clone()
        ),
        (Value::Bool(false), Value::Bool(false)),
        "{fresh}"
    );
    assert_eq!(fresh["fix"], "ANALYZE public.fresh;");

    // A table analyzed after the reset and then modified past its trigger (250) while the agent
    // watches still alerts.
    pg.psql("app", "UPDATE fresh SET v = 'z' WHERE id <= 300");
    tokio::task::block_in_place(|| {
        zero.wait_json("/api/v1/alerts", WAIT, "stale_stats:public.fresh firing", |_, b| {
            open_keys(b)
                .iter()
                .any(|k| k == "stale_stats:public.fresh")
                .then_some(())
        })
    });
}

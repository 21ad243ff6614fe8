//! Verdicts a DBA acts on (issue 14), each against a real PostgreSQL with the condition seeded:
//! stale statistics as spec §6 defines them (changed in the last hour, past the autoanalyze
//! trigger, not empty), bloat the free-space map sees after VACUUM (and index leaf density),
//! and suggested partition DDL that runs as written: reserved words, mixed case, odd
//! characters, a month added to the 31st, bounds written in the server's time zone.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::agent::{metric_value, test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(60);

fn find<'a>(list: &'a Value, key: &str, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|t| t[key] == name)
}

fn listed<'a>(list: &'a Value, name: &str) -> &'a Value {
    find(list, "relation", name).unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

fn cluster_with_app() -> TestPostgres {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    pg
}

/// `n_mod_since_analyze` of each table, once the statistics show it (a moment later before
/// PostgreSQL 15).
fn wait_modifications(pg: &TestPostgres, expected: &[(&str, i64)]) {
    support::eventually(WAIT, "the modifications counted", || {
        expected
            .iter()
            .all(|(t, n)| {
                pg.psql(
                    "app",
                    &format!("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = '{t}'"),
                ) == n.to_string()
            })
            .then_some(())
    });
}

#[test]
fn stale_statistics_need_a_change_in_the_last_hour_past_the_autoanalyze_trigger() {
    let pg = cluster_with_app();
    // Autovacuum off on each table: no autoanalyze resets a counter behind the test's back.
    pg.psql(
        "app",
        "CREATE TABLE hot (id int, v int) WITH (autovacuum_enabled = false);
         CREATE TABLE quiet (id int, v int) WITH (autovacuum_enabled = false);
         CREATE TABLE big (id int, v int) WITH (autovacuum_enabled = false);
         CREATE TABLE tuned (id int, v int) WITH (autovacuum_enabled = false, autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0.5);
         CREATE TABLE emptied (id int, v int) WITH (autovacuum_enabled = false);
         INSERT INTO hot SELECT g, 0 FROM generate_series(1, 10000) g;
         INSERT INTO quiet SELECT g, 0 FROM generate_series(1, 10000) g;
         INSERT INTO big SELECT g, 0 FROM generate_series(1, 100000) g;
         INSERT INTO tuned SELECT g, 0 FROM generate_series(1, 10000) g;
         INSERT INTO emptied SELECT g, 0 FROM generate_series(1, 10000) g;",
    );
    for t in ["hot", "quiet", "big", "tuned", "emptied"] {
        pg.psql("app", &format!("ANALYZE {t}"));
    }
    // Before the agent starts: quiet is modified past its trigger (1,050) and then left alone.
    pg.psql("app", "UPDATE quiet SET v = 1 WHERE id <= 3000");
    pg.psql("app", "UPDATE hot SET v = 1 WHERE id <= 2000");
    pg.psql("app", "DELETE FROM emptied");
    wait_modifications(&pg, &[("quiet", 3000), ("hot", 2000), ("emptied", 10000)]);

    let agent = Agent::start(
        &pg.url("monitor", "pw", "app"),
        &test_config("alerts:\n  stats_stale_warn_hours: 0\n"),
    );
    // Until the tables change again nothing is stale: the first run has no earlier sample, and
    // the runs after it see no change since.
    let first = agent.wait_json("/api/v1/stale-stats", WAIT, "the first hourly sample", |s, b| {
        (s == 200 && find(&b["stalest"], "relation", "public.quiet").is_some()).then(|| b.clone())
    });
    let quiet = listed(&first["stalest"], "public.quiet");
    assert!(
        quiet["modified_last_hour"].is_null() || quiet["modified_last_hour"] == 0,
        "{quiet}"
    );
    assert_eq!(
        first["tables"],
        serde_json::json!([]),
        "nothing changed since the agent started"
    );
    assert_eq!(first["change_window_seconds"], 3600.0);

    // Changes after the first sample.
    pg.psql("app", "UPDATE hot SET v = 2 WHERE id <= 3000");
    pg.psql("app", "UPDATE big SET v = 1 WHERE id <= 100"); // trigger 10,050
    pg.psql("app", "UPDATE tuned SET v = 1 WHERE id <= 3000"); // reloptions: trigger 5,000
    pg.psql("app", "INSERT INTO emptied SELECT g, 0 FROM generate_series(1, 100) g");
    pg.psql("app", "DELETE FROM emptied");
    wait_modifications(&pg, &[("hot", 5000), ("big", 100), ("tuned", 3000), ("emptied", 10200)]);

    let body = agent.wait_json("/api/v1/stale-stats", WAIT, "hot flagged as stale", |_, b| {
        find(&b["tables"], "relation", "public.hot")
            .and_then(|hot| (hot["modified_since_analyze"] == 5000).then(|| b.clone()))
    });
    let flagged: Vec<&str> = body["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["relation"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["public.hot"], "{body}");
    let hot = listed(&body["tables"], "public.hot");
    assert_eq!(hot["severity"], "warn");
    assert_eq!(hot["analyze_trigger"], 1050.0, "50 + 0.1 × 10,000 rows");
    assert!(hot["modified_last_hour"].as_i64().unwrap() >= 3000, "{hot}");
    assert_eq!(hot["fix"], "ANALYZE public.hot;");

    let stalest = &body["stalest"];
    let verdict = |name: &str| listed(stalest, name)["verdict"].as_str().unwrap().to_string();
    assert_eq!(listed(stalest, "public.quiet")["modified_last_hour"], 0);
    assert!(
        verdict("public.quiet").contains("not modified in the last hour"),
        "{stalest}"
    );
    assert!(
        verdict("public.big").contains("below the autoanalyze trigger of 10050"),
        "{stalest}"
    );
    assert_eq!(
        listed(stalest, "public.tuned")["analyze_trigger"],
        5000.0,
        "reloptions honoured"
    );
    assert!(
        verdict("public.tuned").contains("below the autoanalyze trigger of 5000"),
        "{stalest}"
    );
    assert!(verdict("public.emptied").contains("empty"), "{stalest}");

    // The series covers every listed table, stale or not; the alert only the stale one.
    let metrics = agent.get("/metrics").1;
    for name in ["hot", "quiet", "big", "tuned"] {
        assert!(
            metric_value(
                &metrics,
                "pg_table_stats_stale_seconds",
                &format!("relation=\"public.{name}\"")
            )
            .is_some(),
            "{name}"
        );
    }
    support::promtool_check(&metrics);
    let alerts = agent.wait_json("/api/v1/alerts", WAIT, "the stale_stats alert", |_, b| {
        b["open"]
            .as_array()?
            .iter()
            .any(|a| a["dedupe_key"] == "stale_stats:public.hot")
            .then(|| b.clone())
    });
    let stale_keys: Vec<&str> = alerts["open"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["dedupe_key"].as_str())
        .filter(|k| k.starts_with("stale_stats"))
        .collect();
    assert_eq!(stale_keys, ["stale_stats:public.hot"]);
    // The suggested fix runs, and clears the verdict.
    pg.psql("app", hot["fix"].as_str().unwrap());
}

#[test]
fn the_free_space_map_sees_bloat_a_vacuum_left_and_index_samples_see_sparse_leaves() {
    let pg = cluster_with_app();
    pg.psql("app", "CREATE EXTENSION pg_freespacemap; CREATE EXTENSION pgstattuple;");
    pg.psql(
        "app",
        "CREATE TABLE emptied (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO emptied SELECT g, rpad(md5(g::text), 150, 'x') FROM generate_series(1, 60000) g;
         CREATE TABLE loaded (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO loaded SELECT g, rpad(md5(g::text), 150, 'x') FROM generate_series(1, 40000) g;",
    );
    // 90 % of the rows, spread over every page, deleted and vacuumed: no dead tuples remain.
    pg.psql("app", "DELETE FROM emptied WHERE id % 10 <> 0");
    pg.psql("app", "VACUUM emptied");

    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let tables = agent.wait_json("/api/v1/storage", WAIT, "both tables' free-space maps", |s, b| {
        let tables = &b["tables"];
        (s == 200
            && find(tables, "relation", "public.emptied")?["fsm_free_bytes"].is_i64()
            && find(tables, "relation", "public.loaded")?["fsm_free_bytes"].is_i64()
            && find(tables, "relation", "public.emptied")?["dead_tuples"] == 0)
            .then(|| tables.clone())
    });
    let emptied = listed(&tables, "public.emptied");
    let ratio = emptied["fsm_free_ratio"].as_f64().unwrap();
    assert!(ratio >= 0.8, "90 % deleted and vacuumed: {emptied}");
    assert_eq!(emptied["bloat_estimate_basis"], "free_space_map+dead_tuples");
    assert!(
        emptied["bloat_estimated_bytes"].as_f64().unwrap() >= 0.8 * emptied["table_bytes"].as_f64().unwrap() * 0.95,
        "the estimate no longer reads 0 after VACUUM: {emptied}"
    );
    let loaded = listed(&tables, "public.loaded");
    assert!(
        loaded["fsm_free_ratio"].as_f64().unwrap() < 0.05,
        "freshly loaded: {loaded}"
    );

    let metrics = agent.get("/metrics").1;
    let fsm_ratio = metric_value(&metrics, "pg_relation_fsm_free_ratio", "relation=\"public.emptied\"").unwrap();
    assert!((fsm_ratio - ratio).abs() < 1e-9);
    support::promtool_check(&metrics);

    // The hourly loop's pgstatindex samples, and the same free-space figures in /api/v1/bloat.
    let bloat = agent.wait_json("/api/v1/bloat", WAIT, "index samples", |s, b| {
        (s == 200 && find(&b["bloat"]["indexes"], "index", "public.emptied_pkey").is_some()).then(|| b.clone())
    });
    let sparse = find(&bloat["bloat"]["indexes"], "index", "public.emptied_pkey").unwrap();
    assert!(sparse["avg_leaf_density"].as_f64().unwrap() < 50.0, "{sparse}");
    assert_eq!(sparse["fix"], "REINDEX INDEX CONCURRENTLY public.emptied_pkey;");
    let dense = find(&bloat["bloat"]["indexes"], "index", "public.loaded_pkey").expect("loaded_pkey sampled");
    assert!(dense["avg_leaf_density"].as_f64().unwrap() > 70.0, "{dense}");
    assert_eq!(dense["fix"], Value::Null);
    assert!(
        listed(&bloat["free_space_map"], "public.emptied")["fsm_free_ratio"]
            .as_f64()
            .unwrap()
            >= 0.8
    );
    assert_eq!(bloat["free_space_map_status"]["available"], true);
    let metrics = agent.get("/metrics").1;
    assert!(metric_value(
        &metrics,
        "pg_index_bloat_sample_leaf_density_percent",
        "index=\"public.emptied_pkey\""
    )
    .is_some_and(|d| d < 50.0));

    // Without pg_freespacemap: an advisory with the exact fix, the estimate labelled as what it is.
    pg.psql("postgres", "CREATE DATABASE bare");
    pg.psql(
        "bare",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;
         CREATE TABLE emptied (id int, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO emptied SELECT g, rpad(md5(g::text), 150, 'x') FROM generate_series(1, 20000) g;",
    );
    pg.psql("bare", "DELETE FROM emptied WHERE id % 10 <> 0");
    pg.psql("bare", "VACUUM emptied");
    let bare = Agent::start(&pg.url("monitor", "pw", "bare"), &test_config(""));
    let body = bare.wait_json("/api/v1/storage", WAIT, "a storage snapshot", |s, b| {
        (s == 200 && find(&b["tables"], "relation", "public.emptied").is_some()).then(|| b.clone())
    });
    let unavailable = &body["free_space"];
    assert_eq!(unavailable["available"], false);
    assert!(
        unavailable["unavailable_reason"]
            .as_str()
            .unwrap()
            .contains("CREATE EXTENSION pg_freespacemap;"),
        "{unavailable}"
    );
    let emptied = listed(&body["tables"], "public.emptied");
    assert_eq!(
        (
            emptied["bloat_estimate_basis"].as_str(),
            emptied["fsm_free_bytes"].is_null()
        ),
        (Some("dead_tuples_only"), true)
    );
    let (_, overview) = bare.get_json("/api/v1/overview");
    let advisory = find(&overview["advisories"], "code", "pg_freespacemap_not_installed").expect("advisory");
    assert!(advisory["fix"]
        .as_str()
        .unwrap()
        .starts_with("CREATE EXTENSION pg_freespacemap;"));
}

/// The bound of a partition as PostgreSQL prints it in UTC.
async fn bound_in_utc(tx: &tokio_postgres::Transaction<'_>, name: &str) -> String {
    tx.query_one(
        "SELECT pg_get_expr(relpartbound, 0) FROM pg_class WHERE oid = $1::text::regclass",
        &[&name],
    )
    .await
    .unwrap_or_else(|e| panic!("{name}: {e}"))
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggested_partition_ddl_runs_as_written() {
    let pg = cluster_with_app();
    // DBAs of this database write times in Berlin: sessions start there.
    pg.psql("app", "ALTER DATABASE app SET timezone = 'Europe/Berlin'");
    pg.psql(
        "app",
        r#"CREATE TABLE "order" (at date NOT NULL) PARTITION BY RANGE (at);
           CREATE TABLE order_20261201 PARTITION OF "order" FOR VALUES FROM ('2026-12-01') TO ('2026-12-02');
           CREATE TABLE order_20261202 PARTITION OF "order" FOR VALUES FROM ('2026-12-02') TO ('2026-12-03');
           CREATE SCHEMA "Mixed Case";
           CREATE TABLE "Mixed Case"."Évent's" (at timestamptz NOT NULL) PARTITION BY RANGE (at);
           CREATE TABLE "Mixed Case"."Évent's_1" PARTITION OF "Mixed Case"."Évent's" FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
           CREATE TABLE "Mixed Case"."Évent's_2" PARTITION OF "Mixed Case"."Évent's" FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
           CREATE TABLE "Mixed Case"."Évent's_3" PARTITION OF "Mixed Case"."Évent's" FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
           CREATE TABLE "select" (id bigint NOT NULL) PARTITION BY RANGE (id);
           CREATE TABLE select_0 PARTITION OF "select" FOR VALUES FROM (0) TO (1000);
           CREATE TABLE select_1 PARTITION OF "select" FOR VALUES FROM (1000) TO (2000);
           CREATE TABLE month_end (at date NOT NULL) PARTITION BY RANGE (at);
           CREATE TABLE month_end_1 PARTITION OF month_end FOR VALUES FROM ('2026-11-30') TO ('2026-12-31');
           CREATE TABLE month_end_2 PARTITION OF month_end FOR VALUES FROM ('2026-12-31') TO ('2027-01-31');
           CREATE TABLE utc_daily (at timestamptz NOT NULL) PARTITION BY RANGE (at);
           CREATE TABLE utc_daily_1 PARTITION OF utc_daily FOR VALUES FROM ('2026-03-28 00:00+00') TO ('2026-03-29 00:00+00');
           CREATE TABLE utc_daily_2 PARTITION OF utc_daily FOR VALUES FROM ('2026-03-29 00:00+00') TO ('2026-03-30 00:00+00');"#,
    );
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let parents = tokio::task::block_in_place(|| {
        agent.wait_json("/api/v1/partitions", WAIT, "the partitioned parents", |s, b| {
            (s == 200 && b["parents"].as_array()?.len() == 5).then(|| b["parents"].clone())
        })
    });
    // parent → (zone, next name, from, to as pgmon writes them, the bound PostgreSQL stores in UTC)
    let expected = [
        (
            r#"public."order""#,
            None,
            "public.order_p20261203",
            "2026-12-03",
            "2026-12-04",
            "FOR VALUES FROM ('2026-12-03') TO ('2026-12-04')",
        ),
        (
            r#""Mixed Case"."Évent's""#,
            Some("Europe/Berlin"),
            r#""Mixed Case"."Évent's_p202604""#,
            "2026-04-01 00:00:00+02",
            "2026-05-01 00:00:00+02",
            "FOR VALUES FROM ('2026-03-31 22:00:00+00') TO ('2026-04-30 22:00:00+00')",
        ),
        (
            r#"public."select""#,
            None,
            "public.select_p2000",
            "2000",
            "3000",
            "FOR VALUES FROM ('2000') TO ('3000')",
        ),
        (
            "public.month_end",
            None,
            "public.month_end_p202701",
            "2027-01-31",
            "2027-02-28",
            "FOR VALUES FROM ('2027-01-31') TO ('2027-02-28')",
        ),
        (
            "public.utc_daily",
            Some("UTC"),
            "public.utc_daily_p20260330",
            "2026-03-30 00:00:00+00",
            "2026-03-31 00:00:00+00",
            "FOR VALUES FROM ('2026-03-30 00:00:00+00') TO ('2026-03-31 00:00:00+00')",
        ),
    ];
    let mut client = pg.client("app").await;
    for (parent, zone, name, from, to, stored) in expected {
        let p = find(&parents, "parent", parent).unwrap_or_else(|| panic!("{parent}: {parents}"));
        assert_eq!(p["bounds_time_zone"].as_str(), zone, "{p}");
        let next = &p["suggested_next"];
        assert_eq!(
            (next["name"].as_str(), next["from"].as_str(), next["to"].as_str()),
            (Some(name), Some(from), Some(to)),
            "{p}"
        );
        // Executed as a superuser inside a transaction, and rolled back.
        let tx = client.transaction().await.unwrap();
        tx.batch_execute("SET LOCAL TimeZone = 'UTC'").await.unwrap();
        let ddl = next["ddl"].as_str().unwrap();
        tx.batch_execute(ddl).await.unwrap_or_else(|e| panic!("{ddl}: {e}"));
        assert_eq!(bound_in_utc(&tx, name).await, stored, "{ddl}");
        tx.rollback().await.unwrap();
    }
}

//! The storage (10 min) and hourly (1 h) loops against a real PostgreSQL, each condition seeded:
//! dead tuples, an unused index, partitions near and far from their horizon and with a hole,
//! an odd relation name, stale and never-analyzed statistics, pgstattuple present and absent,
//! wraparound ages.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::agent::{metric_value, test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(30);
const ODD: &str = "we\"ird \\ näme\nx";

fn seeded_cluster() -> TestPostgres {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    pg.psql(
        "app",
        "CREATE TABLE churn (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO churn SELECT g, md5(g::text) FROM generate_series(1, 10000) g;
         DELETE FROM churn WHERE id <= 4000;
         CREATE INDEX churn_pad_idx ON churn (pad);
         CREATE TABLE events (at date NOT NULL, v int) PARTITION BY RANGE (at);
         CREATE TABLE ahead (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
         CREATE TABLE holey (at date NOT NULL, v int) PARTITION BY RANGE (at);
         CREATE TABLE by_id (id bigint NOT NULL) PARTITION BY RANGE (id);
         CREATE TABLE by_id_0 PARTITION OF by_id FOR VALUES FROM (0) TO (1000);
         CREATE TABLE lonely (id int PRIMARY KEY); INSERT INTO lonely SELECT generate_series(1, 1000);
         CREATE TABLE stale_t (id int); INSERT INTO stale_t SELECT generate_series(1, 1000);
         CREATE TABLE unanalyzed (id int) WITH (autovacuum_enabled = false);
         INSERT INTO unanalyzed SELECT generate_series(1, 1000);",
    );
    // Separate statements: psql -c runs a multi-statement string as one transaction, whose
    // insert counts would land after the ANALYZE.
    pg.psql("app", "ANALYZE stale_t");
    pg.psql("app", "INSERT INTO stale_t SELECT generate_series(1, 500)");
    pg.psql(
        "app",
        "DO $$ DECLARE d date; m timestamptz; BEGIN
           FOR i IN -2..1 LOOP d := current_date + i;
             EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', 'events_' || to_char(d, 'YYYYMMDD'), d, d + 1);
           END LOOP;
           FOR i IN 0..2 LOOP m := date_trunc('month', now()) + make_interval(months => i);
             EXECUTE format('CREATE TABLE %I PARTITION OF ahead FOR VALUES FROM (%L) TO (%L)', 'ahead_' || i, m, m + interval '1 month');
           END LOOP;
           FOR i IN 0..5 LOOP CONTINUE WHEN i = 2; d := current_date + 20 + i;
             EXECUTE format('CREATE TABLE %I PARTITION OF holey FOR VALUES FROM (%L) TO (%L)', 'holey_' || i, d, d + 1);
           END LOOP;
         END $$;",
    );
    let odd = ODD.replace('"', "\"\"");
    pg.psql(
        "app",
        &format!("CREATE TABLE \"{odd}\" (id int); INSERT INTO \"{odd}\" SELECT generate_series(1, 5000);"),
    );
    pg
}

fn parent<'a>(parents: &'a [Value], name: &str) -> &'a Value {
    parents
        .iter()
        .find(|p| p["parent"] == name)
        .unwrap_or_else(|| panic!("{name} not in {parents:?}"))
}

#[test]
fn storage_loop_sizes_dead_tuples_unused_index_partitions_and_odd_names() {
    let pg = seeded_cluster();
    let agent = Agent::start(
        &pg.url("monitor", "pw", "app"),
        &test_config("limits:\n  unused_index_min_bytes: 8192\n"),
    );
    // Before PostgreSQL 15 statistics reach the views a moment later: wait for them.
    let (storage, churn) = agent.wait_json("/api/v1/storage", WAIT, "churn's dead tuples in storage", |s, b| {
        let churn = b["tables"]
            .as_array()?
            .iter()
            .find(|t| t["relation"] == "public.churn")?
            .clone();
        (s == 200 && churn["dead_tuples"].as_i64()? > 0).then(|| (b.clone(), churn))
    });
    assert!(churn["pct_dead"].as_f64().unwrap() > 20.0, "{churn}");
    assert!(churn["bloat_estimated_bytes"].as_i64().unwrap() > 0);
    assert_eq!(
        churn["total_bytes"].as_i64().unwrap(),
        ["table_bytes", "index_bytes", "toast_bytes"]
            .iter()
            .map(|k| churn[k].as_i64().unwrap())
            .sum::<i64>()
    );
    assert!(storage["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["index"] == "public.churn_pad_idx"));

    let (_, unused) = agent.get_json("/api/v1/unused-indexes");
    let unused = &unused["unused_indexes"];
    let pad = unused["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["index"] == "public.churn_pad_idx")
        .expect("unused pad index");
    assert_eq!(pad["idx_scan"], 0);
    assert!(
        unused["constraint_indexes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["index"] == "public.lonely_pkey"),
        "{unused}"
    );
    assert!(unused["observed_since"].is_string());

    let (_, parts) = agent.get_json("/api/v1/partitions");
    let parents = parts["parents"].as_array().unwrap();
    let expected_next = pg.psql(
        "app",
        "SELECT (current_date + 2)::text || ' ' || (current_date + 3)::text",
    );
    let events = parent(parents, "public.events");
    assert_eq!(events["missing_future"], true);
    assert_eq!(events["cadence"], "daily");
    assert_eq!(events["children"], 4);
    assert_eq!(
        format!(
            "{} {}",
            events["suggested_next"]["from"].as_str().unwrap(),
            events["suggested_next"]["to"].as_str().unwrap()
        ),
        expected_next
    );
    assert!(events["suggested_next"]["ddl"]
        .as_str()
        .unwrap()
        .starts_with("CREATE TABLE public.events_p"));
    let ahead = parent(parents, "public.ahead");
    assert_eq!(
        (ahead["missing_future"].clone(), ahead["cadence"].clone()),
        (Value::Bool(false), Value::from("monthly"))
    );
    let holey = parent(parents, "public.holey");
    assert_eq!(holey["holes"].as_array().unwrap().len(), 1);
    assert_eq!(holey["holes"][0]["seconds"], 86_400);
    let by_id = parent(parents, "public.by_id");
    assert_eq!(
        (by_id["key_kind"].clone(), by_id["missing_future"].clone()),
        (Value::from("integer"), Value::Null)
    );

    let metrics = agent.get("/metrics").1;
    assert_eq!(
        metric_value(&metrics, "pg_partition_missing_future", "parent=\"public.events\""),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&metrics, "pg_partition_missing_future", "parent=\"public.ahead\""),
        Some(0.0)
    );
    assert!(
        metric_value(&metrics, "pg_partition_future_gap_seconds", "parent=\"public.events\"").unwrap() < 2.0 * 86_400.0
    );
    assert!(metric_value(&metrics, "pg_unused_index_bytes", "index=\"public.churn_pad_idx\"").unwrap() >= 8192.0);
    assert_eq!(
        metric_value(&metrics, "pg_unused_index_bytes", "index=\"public.lonely_pkey\""),
        None,
        "constraint indexes are not unused"
    );
    assert!(metric_value(&metrics, "pg_relation_size_bytes", "relation=\"public.churn\"").unwrap() > 0.0);
    assert!(metric_value(&metrics, "pg_index_scans_total", "index=\"public.churn_pad_idx\"").is_some());
    // The odd name survives as a label, in PostgreSQL's Unicode-escape form (the backslash as
    // \005c, the newline as \000a, the quote doubled), then escaped for the exposition format.
    assert!(
        metrics.contains(r#"relation="public.U&\"we\"\"ird \\005c näme\\000ax\"""#),
        "odd name label missing: {}",
        metrics
            .lines()
            .filter(|l| l.contains("ird"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    support::promtool_check(&metrics);
}

#[test]
fn hourly_loop_reports_wraparound_stale_stats_and_bloat_samples() {
    let pg = seeded_cluster();
    pg.psql("app", "CREATE EXTENSION pgstattuple");
    pg.psql("postgres", "CREATE DATABASE plain");
    pg.psql(
        "plain",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT CONNECT ON DATABASE plain TO monitor;",
    );
    let config = test_config("alerts:\n  stats_stale_warn_hours: 0\n");
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &config);

    let (_, bloat) = agent.wait_json("/api/v1/bloat", WAIT, "an hourly snapshot", |s, b| {
        (s == 200).then(|| ((), b.clone()))
    });
    let bloat = &bloat["bloat"];
    assert_eq!(bloat["available"], true);
    let churn = bloat["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["relation"] == "public.churn")
        .expect("churn sampled");
    assert!(churn["table_bytes"].as_i64().unwrap() > 0);
    assert!(
        churn["dead_tuple_percent"].as_f64().unwrap() > 20.0 || churn["free_percent"].as_f64().unwrap() > 0.0,
        "{churn}"
    );

    // Listed among the stalest (flagged only once they change while watched: tests/verdicts.rs).
    let tables = agent.wait_json("/api/v1/stale-stats", WAIT, "stale_t's modifications", |_, b| {
        let tables = b["stalest"].as_array()?;
        tables
            .iter()
            .any(|t| t["relation"] == "public.stale_t" && t["modified_since_analyze"] == 500)
            .then(|| tables.clone())
    });
    let stale_t = tables
        .iter()
        .find(|t| t["relation"] == "public.stale_t")
        .expect("stale_t listed");
    assert_eq!(stale_t["modified_since_analyze"], 500);
    assert_eq!(stale_t["never_analyzed"], false);
    assert_eq!(stale_t["fix"], "ANALYZE public.stale_t;");
    // Never analyzed, and no VACUUM or CREATE INDEX gave the planner a row count either.
    assert!(tables
        .iter()
        .any(|t| t["relation"] == "public.unanalyzed" && t["never_analyzed"] == true));
    // No analyze recorded: its age is how long the statistics have been watched, a lower bound
    // (churn's index, built after its rows, gave it a row count before PostgreSQL 18).
    assert!(tables
        .iter()
        .any(|t| t["relation"] == "public.churn" && t["stale_seconds_lower_bound"] == true));

    let (_, wrap) = agent.get_json("/api/v1/wraparound");
    let dbs: Vec<&str> = wrap["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["database"].as_str().unwrap())
        .collect();
    assert!(
        dbs.contains(&"app") && !dbs.contains(&"postgres") && !dbs.contains(&"template0"),
        "{dbs:?}"
    );
    assert!(wrap["relations"].as_array().unwrap()[0]["xid_age"].as_i64().unwrap() > 0);

    let metrics = agent.get("/metrics").1;
    assert!(
        metric_value(&metrics, "pg_wraparound_database_tx_age", "database=\"postgres\"").unwrap() > 0.0,
        "metrics keep every database"
    );
    assert!(metric_value(&metrics, "pg_table_stats_stale_seconds", "relation=\"public.stale_t\"").is_some());
    assert!(metric_value(
        &metrics,
        "pg_relation_bloat_sample_free_bytes",
        "relation=\"public.churn\""
    )
    .is_some());
    support::promtool_check(&metrics);

    let without = Agent::start(&pg.url("monitor", "pw", "plain"), &config);
    let (_, bloat) = without.wait_json("/api/v1/bloat", WAIT, "an hourly snapshot", |s, b| {
        (s == 200).then(|| ((), b.clone()))
    });
    assert_eq!(bloat["bloat"]["available"], false);
    assert!(bloat["bloat"]["unavailable_reason"]
        .as_str()
        .unwrap()
        .contains("CREATE EXTENSION pgstattuple;"));
    // Healthy (a missing extension is an advisory): waited for, since on a loaded machine a
    // single run may be over budget at the moment of asking.
    without.wait_json("/healthz", WAIT, "healthy without pgstattuple", |s, _| {
        (s == 200).then_some(())
    });
}

/// Tables are ranked on a catalog estimate and only the best 2×N sized exactly: a table whose
/// pages were counted when it was small and that grew since (no VACUUM or ANALYZE after), one
/// never vacuumed nor analyzed, and an unused index on the grown table still make a Top-2 among
/// twelve tables whose counts are current, each with its exact size.
#[test]
fn tables_and_indexes_grown_since_their_last_count_still_rank_with_exact_sizes() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    let mut seed = String::new();
    for i in 0..12 {
        seed.push_str(&format!(
            "CREATE TABLE steady_{i} (id int, pad text) WITH (autovacuum_enabled = false);
             INSERT INTO steady_{i} SELECT g, md5(g::text) FROM generate_series(1, {}) g;",
            2000 + i * 100
        ));
    }
    seed.push_str(
        "CREATE TABLE grown (id int, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO grown SELECT g, md5(g::text) FROM generate_series(1, 10) g;
         CREATE INDEX grown_pad_idx ON grown (pad);
         CREATE TABLE bulk (id int, pad text) WITH (autovacuum_enabled = false);",
    );
    pg.psql("app", &seed);
    // Counted now (steady tables current, `grown` at 10 rows), then grown without a count.
    pg.psql("app", "VACUUM ANALYZE");
    pg.psql(
        "app",
        "INSERT INTO grown SELECT g, md5(g::text) FROM generate_series(11, 60000) g",
    );
    pg.psql(
        "app",
        "INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, 40000) g",
    );
    let counted = pg.psql("app", "SELECT relpages FROM pg_class WHERE relname = 'grown'");
    assert!(
        counted.parse::<i64>().unwrap() <= 1,
        "grown was counted small: {counted} pages"
    );
    assert_eq!(
        pg.psql("app", "SELECT relpages FROM pg_class WHERE relname = 'bulk'"),
        "0"
    );
    let exact = |sql: &str| pg.psql("app", sql).parse::<i64>().unwrap();
    let grown_bytes = exact("SELECT pg_total_relation_size('grown')");
    let bulk_bytes = exact("SELECT pg_total_relation_size('bulk')");
    let index_bytes = exact("SELECT pg_relation_size('grown_pad_idx')");

    let agent = Agent::start(
        &pg.url("monitor", "pw", "app"),
        &test_config("limits:\n  top_relations: 2\n  top_indexes: 1\n  unused_index_min_bytes: 8192\n"),
    );
    let storage = agent.wait_json("/api/v1/storage", WAIT, "the storage snapshot", |s, b| {
        (s == 200 && b["tables"].as_array().is_some_and(|t| !t.is_empty())).then(|| b.clone())
    });
    let tables: Vec<(String, i64)> = storage["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["relation"].as_str().unwrap().to_string(),
                t["total_bytes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tables,
        vec![
            ("public.grown".to_string(), grown_bytes),
            ("public.bulk".to_string(), bulk_bytes)
        ],
        "{storage}"
    );
    let index = &storage["indexes"][0];
    assert_eq!(index["index"], "public.grown_pad_idx", "{storage}");
    assert_eq!(index["bytes"], index_bytes, "{storage}");
    let (_, unused) = agent.get_json("/api/v1/unused-indexes");
    let unused = &unused["unused_indexes"]["indexes"][0];
    assert_eq!(unused["index"], "public.grown_pad_idx", "{unused}");
    assert_eq!(unused["bytes"], index_bytes, "{unused}");
}

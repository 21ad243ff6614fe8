//! One locked relation costs that relation only (issue 12, item 5). With sessions holding or
//! queueing AccessExclusiveLock on a table's index (`REINDEX INDEX`), on a table (`LOCK TABLE`),
//! on a TOAST index (`REINDEX INDEX pg_toast.…`), on a partition, and queued behind a reader,
//! the storage and hourly loops (with a short `lock_timeout`) publish every other size and bloat
//! sample, list each locked relation as skipped with the lock that blocks it, and fail no
//! section.

mod support;

use pgmon::collectors::relation_locks::Blocked;
use pgmon::collectors::sizes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use support::agent::{metric_value, test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(30);

/// Tables nobody locks: their sizes must all be published.
const FREE: [&str; 3] = ["free_small", "free_indexed", "free_toasted"];

fn seed(pg: &TestPostgres) {
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    pg.psql("app", "CREATE EXTENSION pgstattuple");
    // Autovacuum off: no visibility map or free space map appears after the sizes are taken.
    // TOAST data is random text, so it is not compressed inline.
    pg.psql(
        "app",
        "CREATE FUNCTION noise(n int) RETURNS text LANGUAGE sql AS
           $$ SELECT string_agg(md5(random()::text), '') FROM generate_series(1, n) $$;
         CREATE TABLE free_small (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO free_small SELECT generate_series(1, 100);
         CREATE TABLE free_indexed (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false);
         INSERT INTO free_indexed SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
         CREATE INDEX free_indexed_v_idx ON free_indexed (v);
         CREATE TABLE free_toasted (id int PRIMARY KEY, doc text)
           WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false);
         INSERT INTO free_toasted SELECT g, noise(200) FROM generate_series(1, 100) g;
         CREATE TABLE reindexed (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false);
         INSERT INTO reindexed SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
         CREATE TABLE locked (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO locked SELECT generate_series(1, 1000);
         CREATE TABLE toasty (id int PRIMARY KEY, doc text)
           WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false);
         INSERT INTO toasty SELECT g, noise(200) FROM generate_series(1, 100) g;
         CREATE TABLE queued (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO queued SELECT generate_series(1, 1000);
         CREATE TABLE events (at date NOT NULL, v int) PARTITION BY RANGE (at);
         CREATE TABLE events_old PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
         CREATE TABLE events_new PARTITION OF events FOR VALUES FROM ('2020-01-02') TO ('2020-01-03');",
    );
}

/// The TOAST index of `table`, schema-qualified.
fn toast_index_of(pg: &TestPostgres, table: &str) -> String {
    let name = pg.psql(
        "app",
        &format!(
            "SELECT n.nspname || '.' || i.relname FROM pg_class c
               JOIN pg_index x ON x.indrelid = c.reltoastrelid
               JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_namespace n ON n.oid = i.relnamespace
              WHERE c.relname = '{table}'"
        ),
    );
    assert!(name.starts_with("pg_toast."), "{name}");
    name
}

fn expected_sizes(pg: &TestPostgres) -> BTreeMap<&'static str, i64> {
    FREE.iter()
        .map(|t| {
            (
                *t,
                pg.psql("app", &format!("SELECT pg_total_relation_size('{t}')"))
                    .parse()
                    .unwrap(),
            )
        })
        .collect()
}

fn skipped(list: &Value) -> BTreeMap<String, String> {
    list.as_array()
        .unwrap_or_else(|| panic!("skipped_relations is not a list: {list}"))
        .iter()
        .map(|s| {
            (
                s["relation"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn assert_reason(skipped: &BTreeMap<String, String>, relation: &str, parts: &[&str]) {
    let reason = skipped
        .get(relation)
        .unwrap_or_else(|| panic!("{relation} not listed as skipped: {skipped:?}"));
    for part in parts {
        assert!(reason.contains(part), "{relation}: reason {reason:?} lacks {part:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_relations_are_skipped_with_their_lock_and_every_other_size_is_published() {
    let pg = TestPostgres::start();
    seed(&pg);
    let expected = expected_sizes(&pg);
    let toast_index = toast_index_of(&pg, "toasty");

    // One session holds AccessExclusiveLock on an index, a table, a partition and a TOAST
    // index, and AccessShareLock on `queued`; a second one queues for AccessExclusiveLock on
    // `queued` behind it, which blocks every later AccessShareLock request too.
    let holder = pg.client("app").await;
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    holder
        .batch_execute(&format!(
            "BEGIN;
             REINDEX INDEX reindexed_pkey;
             LOCK TABLE locked, events_old IN ACCESS EXCLUSIVE MODE;
             REINDEX INDEX {toast_index};
             SELECT count(*) FROM queued;"
        ))
        .await
        .unwrap();
    let queuer = pg.client("app").await;
    let queuer_pid: i32 = queuer.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let queued = tokio::spawn(async move {
        queuer
            .batch_execute("BEGIN; LOCK TABLE queued IN ACCESS EXCLUSIVE MODE; COMMIT;")
            .await
    });
    tokio::task::block_in_place(|| {
        support::eventually(WAIT, "the LOCK TABLE queued waiting", || {
            let waiting = pg.psql(
                "app",
                "SELECT count(*) FROM pg_locks WHERE relation = 'queued'::regclass AND NOT granted",
            );
            (waiting == "1").then_some(())
        })
    });

    let config = test_config("timeouts:\n  lock_timeout_ms: 200\n");
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &config);

    // Storage: no section failed, the locked relations are listed with their lock.
    let storage = tokio::task::block_in_place(|| {
        agent.wait_json("/api/v1/storage", WAIT, "a storage snapshot", |s, b| {
            (s == 200).then(|| b.clone())
        })
    });
    assert_eq!(storage["errors"], serde_json::json!({}), "{storage}");
    let skipped_storage = skipped(&storage["skipped_relations"]);
    let held = format!("held by pid {holder_pid}");
    assert_reason(
        &skipped_storage,
        "public.reindexed",
        &["AccessExclusiveLock", "index public.reindexed_pkey", &held],
    );
    assert_reason(
        &skipped_storage,
        "public.reindexed_pkey",
        &["AccessExclusiveLock", "index public.reindexed_pkey", &held],
    );
    assert_reason(
        &skipped_storage,
        "public.locked",
        &["AccessExclusiveLock", "table public.locked", &held],
    );
    assert_reason(
        &skipped_storage,
        "public.events_old",
        &["AccessExclusiveLock", "table public.events_old", &held],
    );
    assert_reason(
        &skipped_storage,
        "public.toasty",
        &["AccessExclusiveLock", &format!("TOAST index {toast_index}"), &held],
    );
    assert_reason(
        &skipped_storage,
        "public.queued",
        &[
            "AccessExclusiveLock",
            "table public.queued",
            &format!("awaited by pid {queuer_pid}"),
        ],
    );
    let tables = storage["tables"].as_array().unwrap();
    let listed: Vec<&str> = tables.iter().map(|t| t["relation"].as_str().unwrap()).collect();
    for (table, bytes) in &expected {
        let row = tables
            .iter()
            .find(|t| t["relation"] == format!("public.{table}"))
            .unwrap_or_else(|| panic!("{table} missing from {listed:?}"));
        assert_eq!(row["total_bytes"].as_i64(), Some(*bytes), "{row}");
    }
    let toasted = tables.iter().find(|t| t["relation"] == "public.free_toasted").unwrap();
    assert!(toasted["toast_bytes"].as_i64().unwrap() > 100 * 6000, "{toasted}");
    assert!(
        listed.contains(&"public.events_new"),
        "the unlocked partition is sized: {listed:?}"
    );
    for locked in [
        "public.reindexed",
        "public.locked",
        "public.toasty",
        "public.queued",
        "public.events_old",
    ] {
        assert!(!listed.contains(&locked), "{locked} sized although locked");
    }
    let indexes: Vec<&str> = storage["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["index"].as_str().unwrap())
        .collect();
    assert!(
        indexes.contains(&"public.free_indexed_v_idx") && !indexes.contains(&"public.reindexed_pkey"),
        "{indexes:?}"
    );

    let (_, parts) = tokio::task::block_in_place(|| agent.get_json("/api/v1/partitions"));
    assert_eq!(
        parts["error"],
        Value::Null,
        "partition bounds are read without locks: {parts}"
    );
    let events = parts["parents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parent"] == "public.events")
        .unwrap_or_else(|| panic!("events missing: {parts}"));
    assert_eq!(events["children"], 2);

    let metrics = tokio::task::block_in_place(|| agent.get("/metrics").1);
    for (table, bytes) in &expected {
        assert_eq!(
            metric_value(
                &metrics,
                "pg_relation_size_bytes",
                &format!("relation=\"public.{table}\"")
            ),
            Some(*bytes as f64),
            "{table}"
        );
    }
    assert_eq!(
        metric_value(&metrics, "pg_relation_size_bytes", "relation=\"public.reindexed\""),
        None
    );
    assert_eq!(
        metric_value(&metrics, "pgmon_last_scrape_success", "loop=\"storage\""),
        Some(1.0)
    );

    // Hourly: the bloat candidates and samples skip the same tables, sample the others.
    let bloat = tokio::task::block_in_place(|| {
        agent.wait_json("/api/v1/bloat", WAIT, "an hourly snapshot", |s, b| {
            (s == 200).then(|| b.clone())
        })
    });
    assert_eq!(bloat["error"], Value::Null, "{bloat}");
    let bloat = &bloat["bloat"];
    assert_eq!(bloat["available"], true);
    let skipped_bloat = skipped(&bloat["skipped_relations"]);
    assert_reason(
        &skipped_bloat,
        "public.reindexed",
        &["index public.reindexed_pkey", &held],
    );
    assert_reason(
        &skipped_bloat,
        "public.toasty",
        &[&format!("TOAST index {toast_index}")],
    );
    assert_reason(
        &skipped_bloat,
        "public.queued",
        &[&format!("awaited by pid {queuer_pid}")],
    );
    let names: Vec<&str> = bloat["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(names.contains(&"public.locked"), "{names:?}");
    for table in FREE {
        let sample = bloat["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["relation"] == format!("public.{table}"))
            .unwrap_or_else(|| panic!("{table} not sampled: {bloat}"));
        assert!(sample["table_bytes"].as_i64().unwrap() >= 8192, "{sample}");
    }
    let metrics = tokio::task::block_in_place(|| agent.get("/metrics").1);
    assert!(metric_value(
        &metrics,
        "pg_relation_bloat_sample_free_bytes",
        "relation=\"public.free_indexed\""
    )
    .is_some());

    holder.batch_execute("ROLLBACK").await.unwrap();
    queued.await.unwrap().unwrap();
}

/// The fallback for a lock the pre-filter could not see (taken between the lock read and the
/// size query): with the pre-filter blinded, each table is sized by its own query, the locked
/// ones time out alone and every other size is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_query_per_table_skips_only_the_tables_that_hit_lock_timeout() {
    let pg = TestPostgres::start();
    seed(&pg);
    let expected = expected_sizes(&pg);
    let toast_index = toast_index_of(&pg, "toasty");
    let holder = pg.client("app").await;
    holder
        .batch_execute(&format!(
            "BEGIN; REINDEX INDEX reindexed_pkey; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE; REINDEX INDEX {toast_index};"
        ))
        .await
        .unwrap();

    let (monitor, conn) = tokio_postgres::connect(&pg.url("monitor", "pw", "app"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    monitor.batch_execute("SET lock_timeout = 200").await.unwrap();
    let sized = sizes::collect_relations_one_by_one(&monitor, 100, &Blocked::default())
        .await
        .unwrap();

    let skipped: Vec<&str> = sized.skipped.iter().map(|s| s.relation.as_str()).collect();
    assert_eq!(skipped, ["public.locked", "public.reindexed", "public.toasty"]);
    for s in &sized.skipped {
        assert!(s.reason.contains("lock timeout") && s.reason.contains("55P03"), "{s:?}");
    }
    for (table, bytes) in &expected {
        let row = sized
            .value
            .iter()
            .find(|r| r.name == *table)
            .unwrap_or_else(|| panic!("{table} not sized: {:?}", sized.value));
        assert_eq!(row.total, *bytes, "{row:?}");
    }
    let totals: Vec<i64> = sized.value.iter().map(|r| r.total).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "biggest first: {totals:?}");
    holder.batch_execute("ROLLBACK").await.unwrap();
}

//! Relation names in labels and the API against a real PostgreSQL: names that a plain
//! `schema.name` (or a control-character replacement) would make coincide each keep their own
//! series and their own API entry, written as PostgreSQL's `quote_ident()` writes them, so each
//! pastes into SQL and names its own table.

mod support;

use pgmon::db::capabilities::quote_ident;
use serde_json::Value;
use std::time::Duration;
use support::agent::{metric_value, test_config, Agent};
use support::{literal, TestPostgres};

const WAIT: Duration = Duration::from_secs(40);

/// (how the table is created, its label, its rows): each pair of the first four would share
/// `public.a.b` or `public.cr_x` with a plain join and a control-character replacement; the
/// last two would share one series through the exporter's label escaping, which writes `\\`
/// as an escaped `\`.
const TABLES: &[(&str, &str, i64)] = &[
    ("\"public.a\".b", "\"public.a\".b", 1000),
    ("public.\"a.b\"", "public.\"a.b\"", 2000),
    ("public.U&\"cr\\000dx\"", "public.U&\"cr\\000dx\"", 3000),
    ("public.cr_x", "public.cr_x", 4000),
    ("public.\"user\"", "public.\"user\"", 5000),
    ("public.\"Orders\"", "public.\"Orders\"", 6000),
    ("public.\"x\\y\"", "public.U&\"x\\005cy\"", 7000),
    ("public.\"x\\\\y\"", "public.U&\"x\\005c\\005cy\"", 8000),
];

/// A label value as the Prometheus text format writes it.
fn exposition(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn find<'a>(list: &'a Value, key: &str, label: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|t| t[key] == label)
}

#[test]
fn quote_ident_writes_names_as_the_server_does() {
    let pg = TestPostgres::start();
    // Every keyword this server knows: quoted wherever this server quotes it. pgmon's keyword
    // list is the newest server's, so that a label never changes with an upgrade: a word that
    // an older server leaves bare (`json` before 18, say) may be quoted here, which is still
    // the same name in SQL. Bare where the server quotes would be wrong, and is not allowed.
    let keywords = pg.psql(
        "postgres",
        "SELECT word || '|' || quote_ident(word) FROM pg_get_keywords() ORDER BY word",
    );
    assert!(keywords.lines().count() > 400, "{keywords}");
    for line in keywords.lines() {
        let (word, quoted) = line.split_once('|').unwrap();
        let ours = quote_ident(word);
        assert!(
            ours == quoted || (quoted == word && ours == format!("\"{word}\"")),
            "keyword {word}: pgmon writes {ours}, the server {quoted}"
        );
    }
    let names = [
        "orders", "Orders", "a.b", "public.a", "we\"ird", "1abc", "a$b", "schéma", "my table", "_x1", "user", "name",
    ];
    let array = names.iter().map(|n| literal(n)).collect::<Vec<_>>().join(", ");
    let server = pg.psql(
        "postgres",
        &format!("SELECT string_agg(quote_ident(n), E'\\n' ORDER BY o) FROM unnest(ARRAY[{array}]) WITH ORDINALITY AS u(n, o)"),
    );
    assert_eq!(server.lines().count(), names.len());
    for (name, quoted) in names.iter().zip(server.lines()) {
        assert_eq!(quote_ident(name), quoted, "{name:?}");
    }
    // Control characters and backslashes: the Unicode-escape form, which names the same table.
    for (name, sql) in [
        ("cr\rx", "U&'cr\\000dx'"),
        ("back\\slash", "'back\\slash'"),
        ("x\\\"", "'x\\\"'"),
    ] {
        let quoted = quote_ident(name);
        assert!(quoted.starts_with("U&\""), "{quoted}");
        pg.psql("postgres", &format!("CREATE TABLE {quoted} ()"));
        assert_eq!(
            pg.psql(
                "postgres",
                &format!("SELECT count(*) FROM pg_class WHERE relname = {sql}")
            ),
            "1",
            "{name:?}"
        );
    }
}

#[test]
fn relations_whose_plain_names_coincide_keep_their_own_labels_and_values() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    let mut seed = String::from("CREATE SCHEMA \"public.a\";");
    for (create, _, rows) in TABLES {
        seed.push_str(&format!(
            "CREATE TABLE {create} (id int) WITH (autovacuum_enabled = false);
             INSERT INTO {create} SELECT generate_series(1, {rows});"
        ));
    }
    seed.push_str(
        "CREATE INDEX \"Idx.x\" ON \"public.a\".b (id);
         CREATE TABLE \"Events\" (at date NOT NULL) PARTITION BY RANGE (at);
         CREATE TABLE \"Events_1\" PARTITION OF \"Events\" FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');",
    );
    pg.psql("app", &seed);
    // Each label pastes into SQL and names its own table: its size and rows, read through it.
    let expected: Vec<(&str, i64, i64)> = TABLES
        .iter()
        .map(|(_, label, rows)| {
            let out = pg.psql(
                "app",
                &format!("SELECT pg_total_relation_size(min(t.tableoid)), count(*) FROM {label} t"),
            );
            let (bytes, count) = out.split_once('|').unwrap();
            assert_eq!(count.parse::<i64>().unwrap(), *rows, "{label}");
            (*label, bytes.parse().unwrap(), *rows)
        })
        .collect();
    let sizes: std::collections::BTreeSet<i64> = expected.iter().map(|e| e.1).collect();
    assert_eq!(
        sizes.len(),
        TABLES.len(),
        "the seeded tables differ in size: {expected:?}"
    );

    let agent = Agent::start(
        &pg.url("monitor", "pw", "app"),
        &test_config("alerts:\n  stats_stale_warn_hours: 0\n"),
    );
    let storage = agent.wait_json("/api/v1/storage", WAIT, "every table with its size and rows", |s, b| {
        let all = expected.iter().all(|(label, bytes, rows)| {
            find(&b["tables"], "relation", label)
                .is_some_and(|t| t["total_bytes"] == *bytes && t["live_tuples"] == *rows)
        });
        (s == 200 && all).then(|| b.clone())
    });
    let index = find(&storage["indexes"], "index", "\"public.a\".\"Idx.x\"").expect("the index");
    assert_eq!(index["relation"], "\"public.a\".b");

    let metrics = agent.get("/metrics").1;
    for (label, bytes, _) in &expected {
        let series = format!("relation=\"{}\"", exposition(label));
        assert_eq!(
            metric_value(&metrics, "pg_relation_size_bytes", &series),
            Some(*bytes as f64),
            "{series}"
        );
    }
    assert!(metric_value(
        &metrics,
        "pg_index_scans_total",
        &format!("index=\"{}\"", exposition("\"public.a\".\"Idx.x\""))
    )
    .is_some());
    assert!(
        !metrics.contains("public.a.b") && !metrics.contains('\r'),
        "no merged or raw names"
    );
    support::promtool_check(&metrics);

    // Vacuum freshness (workload loop) keys its rows the same way.
    agent.wait_json("/api/v1/autovacuum", WAIT, "every table's freshness", |_, b| {
        expected
            .iter()
            .all(|(label, _, rows)| find(&b["tables"], "relation", label).is_some_and(|t| t["live_tuples"] == *rows))
            .then_some(())
    });

    // A partitioned parent and its partition, and the DDL suggested for the next one.
    let (_, parts) = agent.get_json("/api/v1/partitions");
    let events = find(&parts["parents"], "parent", "public.\"Events\"").expect("the partitioned parent");
    assert_eq!(events["latest_partition"], "public.\"Events_1\"");
    let ddl = events["suggested_next"]["ddl"].as_str().unwrap();
    assert!(
        ddl.starts_with("CREATE TABLE public.\"Events_p")
            && ddl.contains("\" PARTITION OF public.\"Events\" FOR VALUES"),
        "{ddl}"
    );
    assert_eq!(
        metric_value(
            &metrics,
            "pg_partition_missing_future",
            &format!("parent=\"{}\"", exposition("public.\"Events\""))
        ),
        Some(1.0)
    );

    // Stale statistics (hourly loop): each table listed once among the stalest, its fix naming it.
    let stale = agent.wait_json("/api/v1/stale-stats", WAIT, "every table's stale statistics", |_, b| {
        expected
            .iter()
            .all(|(label, _, _)| find(&b["stalest"], "relation", label).is_some())
            .then(|| b["stalest"].clone())
    });
    let stale_metrics = agent.get("/metrics").1;
    for (label, _, _) in &expected {
        let table = find(&stale, "relation", label).unwrap();
        assert_eq!(table["fix"], format!("ANALYZE {label};"));
        assert!(metric_value(
            &stale_metrics,
            "pg_table_stats_stale_seconds",
            &format!("relation=\"{}\"", exposition(label))
        )
        .is_some());
    }
    support::promtool_check(&stale_metrics);
    // The suggested SQL runs as written.
    pg.psql("app", ddl);
    for (label, _, _) in &expected {
        pg.psql("app", find(&stale, "relation", label).unwrap()["fix"].as_str().unwrap());
    }
}

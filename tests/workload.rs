//! The workload loop against a real PostgreSQL with a real workload: rates, Top-N statements,
//! WAL and checkpoints, freshness, counter resets, a missing extension and a streaming replica.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::agent::{metric_value, test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(30);

fn app_cluster() -> TestPostgres {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE EXTENSION pg_stat_statements");
    pg.create_monitor_role("monitor", "pw", "app");
    pg
}

fn run_pgbench_in_background(pg: &TestPostgres, seconds: u32) -> std::thread::JoinHandle<()> {
    let host = pg.path().to_str().unwrap().to_string();
    let port = pg.port.to_string();
    let bin = pg.client_program("pgbench");
    let as_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        .starts_with(b"0");
    let seconds = seconds.to_string();
    std::thread::spawn(move || {
        let args = [
            "-n", "-c", "2", "-T", &seconds, "-h", &host, "-p", &port, "-U", "postgres", "app",
        ];
        let status = if as_root {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&bin)
                .args(args)
                .output()
        } else {
            std::process::Command::new(&bin).args(args).output()
        }
        .unwrap();
        assert!(
            status.status.success(),
            "pgbench: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_workload_shows_rates_top_statements_wal_and_freshness() {
    let pg = app_cluster();
    pg.pgbench("app", &["-q", "-i", "-s", "1"]);
    let dsn = pg.url("monitor", "pw", "app");
    let agent = Agent::start(&dsn, &test_config(""));
    let with_text = Agent::start(&dsn, &test_config("security:\n  redact_sql_text: false\n"));
    let bench = run_pgbench_in_background(&pg, 8);

    let overview = agent.wait_json(
        "/api/v1/overview",
        WAIT,
        "tps, qps and latency under pgbench",
        |_, body| {
            let ok = body["tps"].as_f64()? > 10.0
                && body["qps"].as_f64()? > 10.0
                && body["latency"]["mean_seconds"].as_f64()? > 0.0
                && body["wal"]["bytes_per_second"].as_f64()? > 0.0;
            ok.then(|| body.clone())
        },
    );
    assert_eq!(
        overview["latency"]["p95_seconds"],
        Value::Null,
        "no pg_stat_monitor: absent, not zero"
    );
    assert_eq!(overview["statements_available"], true);
    assert!(overview["checkpoints"]["timed_total"].is_i64());
    assert_eq!(overview["errors"], serde_json::json!({}));

    let (status, top) = agent.get_json("/api/v1/top-queries");
    assert_eq!(status, 200);
    assert_eq!(top["available"], true);
    let by_calls = top["by_calls"].as_array().unwrap();
    assert!(!by_calls.is_empty());
    assert_eq!(by_calls[0]["rank_by_calls"], 1);
    assert!(by_calls
        .windows(2)
        .all(|w| w[0]["calls"].as_i64() >= w[1]["calls"].as_i64()));
    // Redaction on by default: normalized planned statements only, never a quoted literal;
    // pgbench's BEGIN and END are utility statements, kept back.
    assert_eq!(top["redact_sql_text"], true);
    assert!(
        by_calls
            .iter()
            .all(|s| s["query"].as_str().is_none_or(|q| !q.contains('\''))),
        "no literal shown"
    );
    assert!(
        by_calls.iter().any(|s| s["query_redacted"] == "utility_statement"),
        "{by_calls:?}"
    );
    let busiest = by_calls[0]["queryid"].as_str().unwrap().to_string();
    assert!(top["sql"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["sql"].as_str().unwrap().contains("pg_stat_statements(false)")));

    let metrics = agent.get("/metrics").1;
    let calls = metric_value(&metrics, "pg_stmt_calls_total", &format!("queryid=\"{busiest}\"")).unwrap();
    assert!(calls > 10.0, "{calls}");
    assert!(
        metric_value(
            &metrics,
            "pg_stmt_time_seconds_total",
            &format!("queryid=\"{busiest}\"")
        )
        .unwrap()
            > 0.0
    );
    assert!(metric_value(&metrics, "pg_tps", "db=\"app\"").unwrap() > 0.0);
    assert!(metric_value(&metrics, "pg_wal_bytes_written_total", "db=\"app\"").unwrap() > 0.0);
    assert!(metric_value(&metrics, "pg_checkpoints_timed_total", "db=\"app\"").is_some());
    assert!(metric_value(&metrics, "pg_table_dead_tuples", "relation=\"public.pgbench_accounts\"").is_some());
    assert!(!metrics.contains("pgbench_accounts SET"), "no SQL text in metrics");
    support::promtool_check(&metrics);

    let texts = with_text.wait_json("/api/v1/top-queries", WAIT, "normalized text", |_, body| {
        let list = body["by_total_time"].as_array()?;
        list.iter()
            .any(|s| {
                s["query"]
                    .as_str()
                    .is_some_and(|q| q.contains("UPDATE pgbench_accounts"))
            })
            .then(|| list.clone())
    });
    assert!(
        texts
            .iter()
            .any(|s| s["query"].as_str().is_some_and(|q| q.contains("$1"))),
        "normalized, not literal"
    );

    let (_, autovacuum) = agent.get_json("/api/v1/autovacuum");
    let accounts = autovacuum["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["relation"] == "public.pgbench_accounts")
        .cloned()
        .unwrap();
    assert!(accounts["live_tuples"].as_i64().unwrap() > 0);
    assert!(accounts["pct_dead"].as_f64().unwrap() >= 0.0);
    bench.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_reset_between_samples_yields_no_negative_rate() {
    let pg = app_cluster();
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let client = pg.client("app").await;
    let busy = async {
        for i in 0..400 {
            client
                .query(&format!("SELECT {i} + count(*) FROM pg_class"), &[])
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let watch = async {
        let mut seen = Vec::new();
        let mut reset_done = false;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(14) {
            let (_, body) = tokio::task::block_in_place(|| agent.get_json("/api/v1/overview"));
            let qps = body["qps"].as_f64();
            seen.push(qps);
            if !reset_done && qps.is_some_and(|q| q > 0.0) {
                pg.psql("app", "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();");
                reset_done = true;
                seen.clear();
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        (reset_done, seen)
    };
    let (_, (reset_done, seen)) = tokio::join!(busy, watch);
    assert!(reset_done, "qps never appeared");
    assert!(
        seen.iter().flatten().all(|q| *q >= 0.0 && *q < 10_000.0),
        "a reset never yields a negative or huge rate: {seen:?}"
    );
    assert!(
        seen.iter().any(|q| q.is_none()),
        "the sample across the reset reports no rate: {seen:?}"
    );
    assert!(
        seen.last().unwrap().is_some_and(|q| q > 0.0),
        "rates resume after the reset: {seen:?}"
    );
}

#[test]
fn cluster_without_the_extension_still_serves_every_other_section() {
    let pg = TestPostgres::start_with(&["shared_preload_libraries = ''"]);
    pg.psql("postgres", "CREATE DATABASE app");
    pg.create_monitor_role("monitor", "pw", "app");
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let overview = agent.wait_json("/api/v1/overview", WAIT, "a tps rate", |status, body| {
        (status == 200 && body["tps"].is_number()).then(|| body.clone())
    });
    assert_eq!(overview["statements_available"], false);
    let reason = overview["statements_unavailable_reason"].as_str().unwrap();
    assert!(reason.contains("CREATE EXTENSION pg_stat_statements;"), "{reason}");
    assert_eq!(overview["qps"], Value::Null);
    assert!(overview["wal"]["bytes_total"].is_number());
    assert_eq!(overview["errors"], serde_json::json!({}));
    // A missing extension is an advisory, not a degraded loop: the agent is (or soon is,
    // on a loaded machine where one run may be over budget) healthy.
    agent.wait_json("/healthz", WAIT, "healthy without pg_stat_statements", |s, _| {
        (s == 200).then_some(())
    });
    let (_, top) = agent.get_json("/api/v1/top-queries");
    assert_eq!(top["available"], false);
    assert!(top["unavailable_reason"].as_str().unwrap().contains("CREATE EXTENSION"));

    // Installed but not preloaded: the fix says so.
    pg.psql("app", "CREATE EXTENSION pg_stat_statements");
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let reason = agent.wait_json("/api/v1/overview", WAIT, "the not-preloaded reason", |_, body| {
        body["statements_unavailable_reason"].as_str().map(String::from)
    });
    assert!(
        reason.contains("not preloaded") && reason.contains("shared_preload_libraries"),
        "{reason}"
    );
}

#[test]
fn streaming_replica_shows_lag_on_primary_and_standby() {
    let primary = TestPostgres::start();
    primary.create_monitor_role("monitor", "pw", "postgres");
    primary.psql("postgres", "CREATE TABLE filler (id int, pad text)");
    let standby = primary.start_standby();
    let on_primary = Agent::start(&primary.url("monitor", "pw", "postgres"), &test_config(""));
    let on_standby = Agent::start(&standby.url("monitor", "pw", "postgres"), &test_config(""));

    let replica = on_primary.wait_json("/api/v1/replication", WAIT, "a streaming replica", |status, body| {
        (status == 200 && body["replicas"].as_array()?.first()?["state"] == "streaming")
            .then(|| body["replicas"][0].clone())
    });
    assert_eq!(replica["replica"], "walreceiver");

    // One replayed transaction first (it dates the standby's replay), then pause replay and
    // write on the primary: lag in bytes on both sides, and in time on the standby.
    primary.psql("postgres", "INSERT INTO filler VALUES (0, 'first')");
    support::eventually(WAIT, "the first row replayed", || {
        (standby.psql("postgres", "SELECT count(*) FROM filler") == "1").then_some(())
    });
    standby.psql("postgres", "SELECT pg_wal_replay_pause()");
    primary.psql(
        "postgres",
        "INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g",
    );
    let lag = on_primary.wait_json(
        "/api/v1/replication",
        WAIT,
        "replay lag bytes on the primary",
        |_, body| body["replicas"][0]["lag_bytes"].as_f64().filter(|b| *b > 100_000.0),
    );
    assert!(lag > 100_000.0);
    let metric = support::eventually(WAIT, "pg_replication_lag_bytes on the primary", || {
        on_primary
            .metric("pg_replication_lag_bytes", "replica=\"walreceiver\"")
            .filter(|b| *b > 100_000.0)
    });
    assert!(metric > 100_000.0);

    let own = on_standby.wait_json("/api/v1/replication", WAIT, "the standby's own lag", |_, body| {
        (body["role"] == "standby" && body["standby"]["receive_replay_lag_bytes"].as_f64()? > 100_000.0)
            .then(|| body["standby"].clone())
    });
    assert!(own["replay_lag_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(own["receiver_status"], "streaming");
    assert!(
        support::eventually(WAIT, "self lag metric", || on_standby
            .metric("pg_replication_lag_bytes", "replica=\"self\""))
            > 0.0
    );
    on_standby.wait_json("/healthz", WAIT, "a healthy standby", |s, _| (s == 200).then_some(()));

    standby.psql("postgres", "SELECT pg_wal_replay_resume()");
    on_standby.wait_json("/api/v1/replication", WAIT, "caught up", |_, body| {
        (body["standby"]["receive_replay_lag_bytes"].as_f64()? == 0.0
            && body["standby"]["replay_lag_seconds"].as_f64()? == 0.0)
            .then_some(())
    });
}

/// The view added by following docs/architecture.md "Adding a view": a real deadlock between two
/// sessions is counted per database (API and metric), raises the `deadlocks` alert naming the
/// database, and a database without deadlocks stays quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_deadlock_is_counted_per_database_and_alerted() {
    let pg = app_cluster();
    pg.psql(
        "app",
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 0), (2, 0);",
    );
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    // The workload loop has read the counters once, so the next deadlock is "new".
    agent.wait_json("/api/v1/overview", WAIT, "the deadlock counters read once", |_, b| {
        b["deadlocks"]
            .as_array()?
            .iter()
            .find(|d| d["database"] == "app")
            .map(|_| ())
    });

    let first = pg.client("app").await;
    let second = pg.client("app").await;
    first
        .batch_execute("BEGIN; UPDATE accounts SET balance = 1 WHERE id = 1;")
        .await
        .unwrap();
    second
        .batch_execute("BEGIN; UPDATE accounts SET balance = 2 WHERE id = 2;")
        .await
        .unwrap();
    // Each now waits for the other's row: PostgreSQL kills one after deadlock_timeout (1 s).
    let crossing = tokio::spawn(async move {
        let r = first
            .batch_execute("UPDATE accounts SET balance = 1 WHERE id = 2;")
            .await;
        let _ = first.batch_execute("ROLLBACK").await;
        r
    });
    let other = second
        .batch_execute("UPDATE accounts SET balance = 2 WHERE id = 1;")
        .await;
    let _ = second.batch_execute("ROLLBACK").await;
    let crossed = crossing.await.unwrap();
    let killed = [other.err(), crossed.err()].into_iter().flatten().collect::<Vec<_>>();
    assert_eq!(killed.len(), 1, "exactly one side is the deadlock victim: {killed:?}");
    assert_eq!(
        killed[0].code(),
        Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED)
    );

    let app = agent.wait_json("/api/v1/overview", WAIT, "the deadlock counted", |_, b| {
        let app = b["deadlocks"].as_array()?.iter().find(|d| d["database"] == "app")?;
        (app["deadlocks_total"].as_i64()? >= 1).then(|| app.clone())
    });
    assert_eq!(app["conflicts_total"], 0, "a primary has no recovery conflicts: {app}");
    let alert = agent.wait_json("/api/v1/alerts", WAIT, "the deadlocks alert", |_, b| {
        let open = b["open"].as_array()?.iter();
        let recent = b["recent"].as_array()?.iter();
        open.chain(recent).find(|a| a["dedupe_key"] == "deadlocks:app").cloned()
    });
    assert_eq!(alert["kind"], "deadlocks");
    assert_eq!(alert["severity"], "warn");
    let message = alert["message"].as_str().unwrap();
    assert!(
        message.starts_with("Deadlocks in app: 1 since the previous run"),
        "{message}"
    );
    let quiet = agent.get("/api/v1/alerts").1;
    assert!(
        !quiet.contains("deadlocks:postgres"),
        "no deadlock in postgres: {quiet}"
    );

    let metrics = agent.get("/metrics").1;
    assert_eq!(
        metric_value(&metrics, "pg_database_deadlocks_total", "database=\"app\""),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        metric_value(&metrics, "pg_database_deadlocks_total", "database=\"postgres\""),
        Some(0.0)
    );
    support::promtool_check(&metrics);
    let sql = agent.get("/api/v1/sql").1;
    assert!(sql.contains("pg_stat_database") && sql.contains("deadlocks"), "{sql}");
}

/// `pg_stat_io` from PostgreSQL 16: per backend type in the overview and as counters by
/// backend type, object and context; before 16, the overview says why there is none.
#[test]
fn io_by_backend_type_is_reported_from_16_and_explained_before() {
    let pg = app_cluster();
    let version: i32 = pg.psql("app", "SHOW server_version_num").trim().parse().unwrap();
    pg.psql(
        "app",
        "CREATE TABLE io_t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 20000) g; SELECT count(*) FROM io_t;",
    );
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let io = agent.wait_json("/api/v1/overview", WAIT, "the io section", |_, b| {
        b["io"].is_object().then(|| b["io"].clone())
    });
    if version >= 160000 {
        assert_eq!(io["available"], true, "{io}");
        let client = io["by_backend"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["backend_type"] == "client backend")
            .unwrap_or_else(|| panic!("client backends did I/O: {io}"));
        assert!(
            client["hits"].as_i64().unwrap() + client["reads"].as_i64().unwrap() > 0,
            "{client}"
        );
        // Summed over objects and contexts: one series (say, bulk reads) may well be 0.
        let hits = agent
            .metric_sum("pg_stat_io_hits_total", "backend_type=\"client backend\"")
            .expect("client backend hits are exported");
        assert!(hits > 0.0, "{hits}");
        support::promtool_check(&agent.get("/metrics").1);
    } else {
        assert_eq!(io["available"], false, "{io}");
        assert!(
            io["unavailable_reason"]
                .as_str()
                .unwrap()
                .contains("needs PostgreSQL 16"),
            "{io}"
        );
        assert!(!agent.get("/metrics").1.contains("pg_stat_io_"), "no series before 16");
    }
}

/// Freshness ranks the tables it listed when the catalog last changed: a table created, and one
/// moved to another schema, while the agent runs are ranked with their dead tuples, and a
/// dropped one leaves the list.
#[test]
fn tables_created_moved_and_dropped_while_running_are_ranked_as_they_are() {
    let pg = app_cluster();
    pg.psql(
        "app",
        "CREATE TABLE before_t (id int) WITH (autovacuum_enabled = false); CREATE SCHEMA other",
    );
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let dead = |relation: &'static str| {
        move |body: &str| {
            support::agent::metric_value(body, "pg_table_dead_tuples", &format!("relation=\"{relation}\""))
        }
    };
    agent.wait_json("/api/v1/health", WAIT, "a first workload run", |_, b| {
        b["loops"]["workload"]["runs_total"]
            .as_u64()
            .is_some_and(|n| n >= 1)
            .then_some(())
    });
    pg.psql(
        "app",
        "CREATE TABLE after_t (id int) WITH (autovacuum_enabled = false);
         INSERT INTO after_t SELECT generate_series(1, 5000);
         DELETE FROM after_t WHERE id <= 3000;
         INSERT INTO before_t SELECT generate_series(1, 100);
         DELETE FROM before_t;",
    );
    support::eventually(WAIT, "the new table ranked with its dead tuples", || {
        let metrics = agent.get("/metrics").1;
        (dead("public.after_t")(&metrics) == Some(3000.0)).then_some(())
    });
    pg.psql("app", "ALTER TABLE after_t SET SCHEMA other");
    support::eventually(WAIT, "the moved table under its new name", || {
        let metrics = agent.get("/metrics").1;
        (dead("other.after_t")(&metrics) == Some(3000.0) && dead("public.after_t")(&metrics).is_none()).then_some(())
    });
    pg.psql("app", "DROP TABLE before_t");
    support::eventually(WAIT, "the dropped table gone", || {
        let metrics = agent.get("/metrics").1;
        dead("public.before_t")(&metrics).is_none().then_some(())
    });
}

//! Truth under faults, against a real PostgreSQL: each test reproduces one fault as an operator
//! or an attacker would (a held lock, SIGSTOP on the agent's own backends, a stopped server, a
//! REVOKE, an HTTP flood) and checks that what pgmon says stays true.

mod support;

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use support::agent::{metric_value, test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(30);

fn healthy(agent: &Agent) {
    agent.wait_json("/healthz", WAIT, "a healthy agent", |s, _| (s == 200).then_some(()));
}

/// PIDs of the agent's own backends.
fn agent_backends(pg: &TestPostgres) -> Vec<String> {
    pg.psql(
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgmon' ORDER BY pid",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

fn signal(pids: &[String], sig: &str) {
    for pid in pids {
        let _ = Command::new("kill").args([sig, pid]).status();
    }
}

/// SIGCONTs the stopped backends however the test ends, so the cluster can shut down.
struct Stopped(Vec<String>);
impl Drop for Stopped {
    fn drop(&mut self) {
        signal(&self.0, "-CONT");
    }
}

fn degraded(body: &Value) -> Vec<String> {
    body["degraded"]
        .as_array()
        .map(|d| d.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn open_alert_kinds(alerts: &Value) -> Vec<String> {
    alerts["open"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|a| a["kind"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Families of every data series (anything that is not the agent's own `pgmon_*` or
/// `alerts_total`) in a `/metrics` body.
fn data_families(metrics: &str) -> Vec<String> {
    let mut families: Vec<String> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .filter(|f| !f.starts_with("pgmon_") && !f.starts_with("alerts_total"))
        .map(str::to_string)
        .collect();
    families.dedup();
    families
}

/// Item 1: a long run of one loop (a size function waiting on a held REINDEX lock, with lock
/// timeouts longer than the loop's budget) never makes another loop report the database
/// unreachable: `pgmon_database_up` stays 1 on every scrape and `database_unreachable` never
/// fires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_reindex_lock_is_not_reported_as_an_outage() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE TABLE accounts (id int PRIMARY KEY, v text); INSERT INTO accounts SELECT g, 'x' FROM generate_series(1, 1000) g;",
    );
    pg.create_monitor_role("monitor", "pw", "app");
    // REINDEX in an open transaction holds its locks until the transaction ends.
    let holder = pg.client("app").await;
    holder
        .batch_execute("BEGIN; REINDEX INDEX accounts_pkey;")
        .await
        .unwrap();
    // Lock waits longer than any loop's budget: a size query waits out the storage budget.
    let yaml = test_config("timeouts:\n  lock_timeout_ms: 20000\n  statement_timeout_ms: 20000\n");
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &yaml);
    agent.wait_json("/healthz", WAIT, "the workload loop's first run", |_, body| {
        (body["loops"]["workload"]["runs_total"].as_u64()? >= 1).then_some(())
    });
    let until = Instant::now() + Duration::from_secs(12);
    let mut scrapes = 0;
    while Instant::now() < until {
        let (_, metrics) = agent.get("/metrics");
        assert_eq!(
            metric_value(&metrics, "pgmon_database_up", ""),
            Some(1.0),
            "a held lock is not an outage:\n{}",
            agent.logs()
        );
        scrapes += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, health) = agent.get_json("/healthz");
    for name in ["hot_path", "workload", "storage", "hourly"] {
        assert_ne!(
            health["loops"][name]["last_failure_kind"], "unreachable",
            "{name}: {health}"
        );
    }
    assert_eq!(health["database"]["reachable"], true, "{health}");
    let (_, alerts) = agent.get_json("/api/v1/alerts");
    assert!(
        !open_alert_kinds(&alerts).contains(&"database_unreachable".to_string()),
        "no database_unreachable alert: {alerts}"
    );
    assert!(
        !agent.logs().contains("database unreachable"),
        "nothing logged as an outage after {scrapes} scrapes"
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
}

/// Item 2: SIGSTOP on every backend of the agent. The runs that hang are cut by their budget,
/// their statements cancelled and their sessions closed; the next runs get new connections
/// while the stopped backends are still stopped, and the agent is healthy again.
#[test]
fn stopped_backends_are_abandoned_and_the_agent_reconnects() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    let agent = Agent::start(&pg.url("monitor", "pw", "postgres"), &test_config(""));
    healthy(&agent);
    let pids = support::eventually(WAIT, "four agent sessions", || {
        let pids = agent_backends(&pg);
        (pids.len() == 4).then_some(pids)
    });
    signal(&pids, "-STOP");
    let stopped = Stopped(pids.clone());
    agent.wait_json("/healthz", WAIT, "the hot path cut by its budget", |_, body| {
        (body["loops"]["hot_path"]["last_failure_kind"] == "timeout").then_some(())
    });
    // Healthy again while the old backends are still stopped: new sessions answer.
    let body = agent.wait_json("/healthz", WAIT, "healthy on new sessions", |s, body| {
        (s == 200 && body["loops"]["hot_path"]["last_run_ok"] == true).then(|| body.clone())
    });
    assert_eq!(body["database"]["reachable"], true, "{body}");
    // Every loop's run hung, was cut, and the loop opened a new session.
    support::eventually(WAIT, "four new sessions", || {
        let now = agent_backends(&pg);
        (now.iter().filter(|p| !pids.contains(p)).count() == 4).then_some(())
    });
    // The abandoned sessions' sockets were closed by the agent: once the backends run again
    // they find the client gone and exit.
    drop(stopped);
    support::eventually(WAIT, "the abandoned backends to exit", || {
        let now = agent_backends(&pg);
        pids.iter().all(|p| !now.contains(p)).then_some(())
    });
    assert_eq!(agent.metric("pgmon_database_up", ""), Some(1.0));
}

/// A frozen server (SIGSTOP on the postmaster and every backend): the runs on existing
/// sessions are cut by their budgets, new connections hang until `connect_timeout_ms`, and
/// from then on the database reads as unreachable (`pgmon_database_up 0`, 503 naming it). After
/// SIGCONT the agent is healthy again by itself.
#[test]
fn frozen_server_reads_as_unreachable_and_recovers() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    let agent = Agent::start(
        &pg.url("monitor", "pw", "postgres"),
        &test_config("timeouts:\n  connect_timeout_ms: 1500\n"),
    );
    healthy(&agent);
    let postmaster = std::fs::read_to_string(pg.data_dir().join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let children = Command::new("pgrep").args(["-P", &postmaster]).output().unwrap();
    let mut pids: Vec<String> = String::from_utf8_lossy(&children.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    pids.push(postmaster);
    signal(&pids, "-STOP");
    let frozen = Stopped(pids);
    let body = agent.wait_json("/healthz", WAIT, "the frozen database named unreachable", |s, body| {
        (s == 503 && body["database"]["reachable"] == false).then(|| body.clone())
    });
    assert!(
        degraded(&body)
            .iter()
            .any(|d| d.starts_with("database: database unreachable")),
        "{body}"
    );
    assert_eq!(agent.metric("pgmon_database_up", ""), Some(0.0));
    drop(frozen);
    healthy(&agent);
    assert_eq!(agent.metric("pgmon_database_up", ""), Some(1.0));
}

/// Items 3 and 4: while the server is stopped, `pgmon_database_up` reads 0 on every scrape
/// after the first one that says so, `/metrics` serves no data series (no sizes from before
/// the outage next to `pgmon_database_up 0`), and the API keeps the last snapshots marked
/// stale with their age. After the restart everything is fresh again.
#[test]
fn stopped_database_reads_as_down_on_every_scrape_and_stale_data_is_withdrawn() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g; ANALYZE orders;",
    );
    pg.create_monitor_role("monitor", "pw", "app");
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    healthy(&agent);
    agent.wait_json("/api/v1/storage", WAIT, "a storage snapshot", |s, _| {
        (s == 200).then_some(())
    });
    assert!(agent.metric("pg_relation_size_bytes", "orders").is_some());

    pg.stop_server();
    let down_seen = support::eventually(WAIT, "pgmon_database_up 0", || {
        let (_, metrics) = agent.get("/metrics");
        (metric_value(&metrics, "pgmon_database_up", "") == Some(0.0)).then_some(metrics)
    });
    assert_eq!(data_families(&down_seen), Vec::<String>::new(), "{down_seen}");
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        let (_, metrics) = agent.get("/metrics");
        assert_eq!(
            metric_value(&metrics, "pgmon_database_up", ""),
            Some(0.0),
            "down on every scrape while the server is stopped:\n{}",
            agent.logs()
        );
        assert_eq!(data_families(&metrics), Vec::<String>::new(), "{metrics}");
        let (status, health) = agent.get_json("/healthz");
        assert_eq!(status, 503, "{health}");
        assert_eq!(health["database"]["reachable"], false, "{health}");
        std::thread::sleep(Duration::from_millis(150));
    }
    let (status, storage) = agent.get_json("/api/v1/storage");
    assert_eq!(status, 200, "the last snapshot is kept: {storage}");
    assert!(
        storage["stale"].as_str().unwrap().starts_with("database unreachable"),
        "{storage}"
    );
    assert!(storage["age_seconds"].as_u64().is_some(), "{storage}");
    assert_eq!(storage["database_reachable"], false);
    let (_, overview) = agent.get_json("/api/v1/overview");
    assert!(
        overview["stale"].as_str().unwrap().starts_with("database unreachable"),
        "{overview}"
    );
    assert_eq!(overview["database"]["reachable"], false);
    let (_, alerts) = agent.get_json("/api/v1/alerts");
    assert!(
        open_alert_kinds(&alerts).contains(&"database_unreachable".to_string()),
        "confirmed by consecutive failed runs: {alerts}"
    );

    pg.start_server();
    healthy(&agent);
    let storage = agent.wait_json("/api/v1/storage", WAIT, "a fresh storage snapshot", |_, body| {
        body["stale"].is_null().then(|| body.clone())
    });
    assert_eq!(storage["database_reachable"], true);
    support::eventually(WAIT, "sizes back in /metrics", || {
        agent.metric("pg_relation_size_bytes", "orders")
    });
}

/// Item 6: privileges lost or gained while the agent runs are noticed within a few hot-path or
/// workload intervals, named in `/healthz` and the overview, and the agent recovers when they
/// are put back; a write privilege degrades the agent instead of ending it.
#[test]
fn privileges_changed_at_run_time_are_noticed_and_recovered() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE orders (id int)");
    pg.create_monitor_role("monitor", "pw", "app");
    let mut agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    healthy(&agent);

    pg.psql("app", "REVOKE pg_monitor FROM monitor");
    let body = agent.wait_json("/healthz", WAIT, "pg_monitor loss named in /healthz", |s, body| {
        (s == 503 && degraded(body).iter().any(|d| d.starts_with("privileges:"))).then(|| body.clone())
    });
    assert!(
        !body.to_string().contains("TO monitor"),
        "an open /healthz names no role: {body}"
    );
    let (_, full) = agent.get_json("/api/v1/health");
    let reason = degraded(&full)
        .into_iter()
        .find(|d| d.starts_with("privileges:"))
        .unwrap();
    assert!(
        reason.contains("pg_monitor") && reason.contains("GRANT pg_monitor TO monitor;"),
        "{reason}"
    );
    assert!(reason.contains("hidden"), "says what it hides: {reason}");
    let (_, overview) = agent.get_json("/api/v1/overview");
    assert!(overview["privileges_lost"].as_str().unwrap().contains("pg_monitor"));
    assert!(
        overview["advisories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == "missing_pg_monitor"),
        "{overview}"
    );

    pg.psql("app", "GRANT pg_monitor TO monitor");
    healthy(&agent);
    let (_, overview) = agent.get_json("/api/v1/overview");
    assert_eq!(overview["privileges_lost"], Value::Null);

    // A table write privilege (workload loop) and a role attribute (hot path).
    for (grant, revoke, named) in [
        (
            "GRANT INSERT ON orders TO monitor",
            "REVOKE INSERT ON orders FROM monitor",
            "INSERT on table public.orders",
        ),
        (
            "ALTER ROLE monitor CREATEDB",
            "ALTER ROLE monitor NOCREATEDB",
            "CREATEDB",
        ),
    ] {
        pg.psql("app", grant);
        let body = agent.wait_json("/healthz", WAIT, "write access named in /healthz", |s, body| {
            (s == 503
                && degraded(body)
                    .iter()
                    .any(|d| d.starts_with("read_only:") && d.contains(named)))
            .then(|| body.clone())
        });
        assert!(agent.is_running(), "degraded, not exited: {body}");
        let (_, overview) = agent.get_json("/api/v1/overview");
        assert!(overview["write_access"].as_str().unwrap().contains(named), "{overview}");
        pg.psql("app", revoke);
        healthy(&agent);
    }
    assert_eq!(agent.terminate(), Some(0));
}

/// Item 8b: an HTTP flood on the API and `/metrics` never makes a loop overrun its budget or
/// fail: HTTP handlers read the published view and never queue behind the loops' thread.
#[test]
fn api_flood_causes_no_loop_overrun_or_error() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    let agent = Agent::start(&pg.url("monitor", "pw", "postgres"), &test_config(""));
    healthy(&agent);
    let runs_before = agent.get_json("/healthz").1["loops"]["hot_path"]["runs_total"]
        .as_u64()
        .unwrap();
    let errors_before = agent.metric("pgmon_errors_total", "loop=\"hot_path\"").unwrap();
    // The first runs (connecting, detecting capabilities) may overrun on a loaded machine:
    // only what happens under the flood counts.
    let overruns_before: Vec<f64> = ["hot_path", "workload"]
        .iter()
        .map(|name| {
            agent
                .metric("pgmon_loop_budget_overruns_total", &format!("loop=\"{name}\""))
                .unwrap()
        })
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Eight clients, each sending its next request as soon as the last is answered, keep both
    // HTTP workers saturated. (More client threads on a 2-core machine only starve every
    // process of CPU, the agent's loops and PostgreSQL alike, which is not what is tested.)
    let flood: Vec<_> = (0..8)
        .map(|i| {
            let (stop, served, addr) = (stop.clone(), served.clone(), agent.addr.clone());
            std::thread::spawn(move || {
                let http: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(10)))
                    .build()
                    .into();
                let path = if i % 4 == 0 { "/metrics" } else { "/api/v1/overview" };
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(mut resp) = http.get(format!("http://{addr}{path}")).call() {
                        let _ = resp.body_mut().read_to_string();
                        served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    // Wait for the hot path (1s interval) to run several times under the flood.
    agent.wait_json("/healthz", WAIT, "five hot-path runs under the flood", |_, body| {
        (body["loops"]["hot_path"]["runs_total"].as_u64()? >= runs_before + 5).then_some(())
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in flood {
        t.join().unwrap();
    }
    let served = served.load(std::sync::atomic::Ordering::Relaxed);
    assert!(served > 100, "the flood was served: {served} responses");
    let (_, metrics) = agent.get("/metrics");
    for (name, before) in ["hot_path", "workload"].into_iter().zip(overruns_before) {
        assert_eq!(
            metric_value(
                &metrics,
                "pgmon_loop_budget_overruns_total",
                &format!("loop=\"{name}\"")
            ),
            Some(before),
            "{name} overran under an HTTP flood of {served} requests:\n{}",
            agent.logs()
        );
    }
    assert_eq!(
        metric_value(&metrics, "pgmon_errors_total", "loop=\"hot_path\""),
        Some(errors_before),
        "no hot-path error under the flood"
    );
}

/// Item 9: failed runs, and the supervisor restart they lead to, keep the loop's memory. Two
/// lock-wait episodes are counted; then the role may not log in (and its sessions are ended)
/// until the hot path has failed three times and been restarted; afterwards
/// `pg_blocked_sessions_total` has not gone backwards (the server never restarted) and a third
/// episode counts as the third.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_runs_and_restarts_keep_the_lock_wait_counter() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 100);",
    );
    pg.create_monitor_role("monitor", "pw", "app");
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    healthy(&agent);
    let counted = |at_least: f64| {
        support::eventually(WAIT, "lock-wait episodes counted", || {
            agent.metric("pg_blocked_sessions_total", "").filter(|v| *v >= at_least)
        })
    };
    for episode in 1..=2 {
        let (holder, waiter) = pg.blocked_session("app").await;
        counted(f64::from(episode));
        holder.batch_execute("ROLLBACK").await.unwrap();
        waiter.await.unwrap().unwrap();
        // Wait for a run that sees no wait, so the next one is a new episode.
        agent.wait_json("/api/v1/overview", WAIT, "no blocked session", |_, body| {
            (body["blocked_sessions"] == 0).then_some(())
        });
    }
    assert_eq!(agent.metric("pg_blocked_sessions_total", ""), Some(2.0));

    pg.psql(
        "postgres",
        "ALTER ROLE monitor NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'monitor';",
    );
    agent.wait_json("/healthz", WAIT, "a supervised restart of the hot path", |_, body| {
        (body["loops"]["hot_path"]["restarts"].as_u64()? >= 1).then_some(())
    });
    pg.psql("postgres", "ALTER ROLE monitor LOGIN");
    healthy(&agent);
    assert_eq!(
        agent.metric("pg_blocked_sessions_total", ""),
        Some(2.0),
        "the counter survives failed runs and a restart"
    );
    let (holder, waiter) = pg.blocked_session("app").await;
    assert_eq!(counted(3.0), 3.0);
    holder.batch_execute("ROLLBACK").await.unwrap();
    waiter.await.unwrap().unwrap();
}

/// Item 10: `/livez` answers 200 while the database is down (a liveness probe must not restart
/// the agent during an outage); `/healthz` is 503 at the same time.
#[test]
fn livez_stays_alive_while_the_database_is_down() {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    let agent = Agent::start(&pg.url("monitor", "pw", "postgres"), &test_config(""));
    healthy(&agent);
    pg.stop_server();
    agent.wait_json("/healthz", WAIT, "503 while the database is down", |s, _| {
        (s == 503).then_some(())
    });
    let (status, content_type, body) = agent.get_typed("/livez");
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let live: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(live["status"], "alive");
    assert!(live["uptime_seconds"].as_u64().is_some());
    pg.start_server();
    healthy(&agent);
    assert_eq!(agent.get("/livez").0, 200);
}

//! The password never leaves pgmon: DSNs generated around a marker password (every way of
//! writing it, well or badly quoted, with empty values, unknown and unsupported keys beside it)
//! are run through `check-config` and the agent against a real PostgreSQL, and every output is
//! searched for any piece of the password: stdout, stderr, the log, `/metrics`, `/healthz` and
//! every API endpoint.

mod support;

use std::process::Stdio;
use std::time::Duration;
use support::agent::{command, test_config, Agent};
use support::{encode, TestPostgres};

/// Pieces of the password that nothing else in a test contains.
const CHUNKS: [&str; 3] = ["QPWONE7", "QPWTWO8", "QPWTRI9"];

/// A password with the characters that quoting and URL encoding must carry.
fn password() -> String {
    format!("{} x='\\=@/?&%:#{},é {}", CHUNKS[0], CHUNKS[1], CHUNKS[2])
}

fn kv_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// What must come of a DSN shape.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// It parses and connects: check-config exits 0.
    Connects,
    /// It is refused as bad input: exit 2.
    Refused,
    /// Either (a shape whose meaning depends on libpq's reading of it), but never a leak.
    Either,
}

/// Every generated shape: (DSN, what it is, expectation).
fn dsn_shapes(port: u16, pw: &str) -> Vec<(String, String, Expect)> {
    let mut shapes = Vec::new();
    let base = format!("host=127.0.0.1 port={port} user=monitor");
    let renderings = [
        (format!("password={}", kv_quote(pw)), "quoted", true),
        (
            format!("password = {}", kv_quote(pw)),
            "quoted with spaces around =",
            true,
        ),
        (format!("password={pw}"), "unquoted", false),
    ];
    let beside = [
        ("", Expect::Connects),
        ("dbname=postgres", Expect::Connects),
        ("dbname=''", Expect::Connects),
        ("dbname= ", Expect::Refused),
        ("user= ", Expect::Refused),
        ("host= ", Expect::Refused),
        ("sslmode= ", Expect::Refused),
        ("sslrootcert= ", Expect::Refused),
        ("application_name= ", Expect::Refused),
        ("options= ", Expect::Refused),
        ("port= ", Expect::Refused),
        ("unknown_key=1", Expect::Refused),
        ("passfile=/nonexistent", Expect::Refused),
    ];
    for (rendered, how, well_quoted) in &renderings {
        for (extra, expect) in beside {
            // `dbname=''` leaves the database unset: libpq then uses the role's name, which
            // has no database here; check-config reports it unreachable, never the password.
            let expect = match (expect, *well_quoted, extra) {
                (Expect::Connects, true, "dbname=''") | (Expect::Connects, true, "") => Expect::Either,
                (Expect::Connects, true, _) => Expect::Connects,
                (Expect::Connects, false, _) => Expect::Either,
                (e, _, _) => e,
            };
            let dsn = format!("{base} {extra}{rendered} dbname=postgres");
            let dsn = if extra == "dbname=postgres" || extra == "dbname=''" {
                format!("{base} {rendered} {extra}")
            } else {
                dsn
            };
            shapes.push((dsn, format!("key=value, password {how}, beside `{extra}`"), expect));
        }
    }
    let enc = encode(pw);
    let host = format!("127.0.0.1:{port}");
    for (dsn, what, expect) in [
        (
            format!("postgresql://monitor:{enc}@{host}/postgres"),
            "URL, encoded password",
            Expect::Connects,
        ),
        (
            format!("postgres://monitor:{enc}@{host}/postgres?sslmode=disable&application_name=x"),
            "URL with parameters",
            Expect::Connects,
        ),
        (
            format!("postgres://monitor@{host}/postgres?password={enc}"),
            "URL, password as a parameter",
            Expect::Connects,
        ),
        (
            format!("postgresql://monitor:{pw}@{host}/postgres"),
            "URL, raw password",
            Expect::Refused,
        ),
        (
            format!("postgres://monitor@{host}/postgres?password={pw}"),
            "URL, raw password parameter",
            Expect::Either,
        ),
        (
            format!("postgres://monitor:{enc}@{host}/postgres?sslmode="),
            "URL, empty sslmode",
            Expect::Connects,
        ),
        (
            format!("postgres://monitor:{enc}@{host}/postgres?bogus={enc}"),
            "URL, unknown parameter",
            Expect::Refused,
        ),
        (
            format!("postgres://monitor:{enc}x@{host}/postgres"),
            "URL, wrong password",
            Expect::Either,
        ),
        (
            format!("postgres://monitor:{enc}@{host}/nodb"),
            "URL, missing database",
            Expect::Either,
        ),
    ] {
        shapes.push((dsn, what.to_string(), expect));
    }
    shapes
}

fn assert_no_password(output: &str, context: &str) {
    for chunk in CHUNKS {
        assert!(
            !output.contains(chunk) && !output.contains(&chunk.to_lowercase()),
            "a piece of the password ({chunk}) reached {context}:\n{output}"
        );
    }
}

fn monitored_cluster() -> TestPostgres {
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", &password(), "postgres");
    pg
}

#[test]
fn check_config_never_shows_the_password_for_any_dsn_shape() {
    let pg = monitored_cluster();
    let shapes = dsn_shapes(pg.port, &password());
    assert!(shapes.len() > 45, "{} shapes", shapes.len());
    let mut tally = [0usize; 3];
    for (dsn, what, expect) in shapes {
        let (mut cmd, _dir) = command(&dsn, &test_config(""));
        let out = cmd
            .arg("check-config")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let code = out.status.code().unwrap_or(-1);
        assert_no_password(&text, &format!("check-config's output for {what}"));
        match expect {
            Expect::Connects => assert_eq!(code, 0, "{what}: {text}"),
            Expect::Refused => {
                assert_eq!(code, 2, "{what}: {text}");
                assert!(text.contains("dsn"), "{what}: the refusal names the key: {text}");
            }
            Expect::Either => assert!([0, 1, 2].contains(&code), "{what}: exit {code}: {text}"),
        }
        tally[match code {
            0 => 0,
            2 => 2,
            _ => 1,
        }] += 1;
    }
    // Every path was taken: connected, unreachable (auth or database errors), refused.
    assert!(tally.iter().all(|n| *n > 0), "exits 0/1/2: {tally:?}");
}

/// Everything an agent serves, one string.
fn everything_served(agent: &Agent) -> String {
    let mut all = agent.logs();
    for path in [
        "/metrics",
        "/healthz",
        "/livez",
        "/api/v1/health",
        "/api/v1/overview",
        "/api/v1/alerts",
        "/api/v1/top-queries",
        "/api/v1/autovacuum",
        "/api/v1/replication",
        "/api/v1/storage",
        "/api/v1/unused-indexes",
        "/api/v1/partitions",
        "/api/v1/bloat",
        "/api/v1/wraparound",
        "/api/v1/stale-stats",
        "/api/v1/history",
        "/api/v1/sql",
        "/",
    ] {
        let (status, body) = agent.get(path);
        all.push_str(&format!("\n== {path} {status}\n{body}"));
    }
    all
}

#[test]
fn the_agent_never_serves_or_logs_the_password() {
    let pg = monitored_cluster();
    let pw = password();
    let enc = encode(&pw);
    for (dsn, what, healthy) in [
        (
            format!(
                "host=127.0.0.1 port={} user=monitor dbname=postgres password={}",
                pg.port,
                kv_quote(&pw)
            ),
            "key=value",
            true,
        ),
        (
            format!(
                "postgres://monitor:{enc}@127.0.0.1:{}/postgres?application_name=x",
                pg.port
            ),
            "URL",
            true,
        ),
        (
            format!("postgres://monitor:{enc}x@127.0.0.1:{}/postgres", pg.port),
            "URL with a wrong password",
            false,
        ),
    ] {
        let agent = Agent::start(&dsn, &test_config(""));
        if healthy {
            agent.wait_json(
                "/api/v1/overview",
                Duration::from_secs(60),
                "a workload snapshot",
                |_, v| v.get("workload_age_seconds").filter(|a| a.is_number()).map(|_| ()),
            );
        } else {
            support::eventually(
                Duration::from_secs(60),
                "the authentication failure in /healthz",
                || {
                    let (_, body) = agent.get("/healthz");
                    body.contains("database:").then_some(())
                },
            );
        }
        assert_no_password(&everything_served(&agent), &format!("the agent's outputs ({what})"));
    }
}

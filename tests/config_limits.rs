//! Hostile and careless configuration: every case must make both the agent and `pgmon
//! check-config` exit 2 with one short line naming the key (never the file, never a secret),
//! quickly and in bounded memory. Each run is under `prlimit --as=1GiB`, so an unbounded
//! expansion (a YAML alias bomb) fails the test instead of eating the machine, and is killed
//! after 20 s, so a read that never ends fails too. No database: the DSN points at a closed
//! port, and every case is rejected before connecting.
//!
//! The cases are a table: hand-written ones for each way the issue broke the agent, and cases
//! generated from the code's own tables (`pgmon::config::bounds`): every number and duration
//! just past each end of its range, every warn/crit pair inverted, every string too long or
//! carrying a forbidden character. docs/configuration.md is checked against the same tables.

use pgmon::config::bounds::{self, Num, TextKind, Worse, PAIRS};
use pgmon::config::source::{MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES};
use pgmon::config::Config;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UNREACHABLE_DSN: &str = "postgres://monitor:s3cret-pw@127.0.0.1:1/app";
const PRLIMIT: &str = "/usr/bin/prlimit";
/// Address space of each run: far above what a rejection needs, far below what an expanded
/// alias bomb takes.
const ADDRESS_SPACE: &str = "--as=1073741824";
const WAIT: Duration = Duration::from_secs(20);
/// An error line longer than this is dumping something it should not.
const MAX_ERROR_BYTES: usize = 1024;

/// Where the config comes from.
enum Source {
    Yaml(String),
    Bytes(Vec<u8>),
    Path(PathBuf),
}

struct Case {
    name: String,
    source: Source,
    env: Vec<(String, String)>,
    /// The key the file sets, if one: the run sets `PGMON_DSN` (a closed port) and
    /// `PGMON_HTTP__BIND` (port 0) from the environment unless the case is about that key,
    /// since the environment wins over the file.
    key: Option<String>,
    /// Text the error line must hold: the key, in backticks, or the file for file-level cases.
    names: String,
}

fn case(name: impl Into<String>, yaml: impl Into<String>, key: &str) -> Case {
    Case {
        name: name.into(),
        source: Source::Yaml(yaml.into()),
        env: Vec::new(),
        key: Some(key.to_string()),
        names: format!("`{key}`"),
    }
}

/// A file-level case: the error names `names` (the file, the limit, the line).
fn file_case(name: &str, source: Source, names: &str) -> Case {
    Case {
        source,
        key: None,
        names: names.to_string(),
        ..case(name, "", "")
    }
}

fn env_case(name: &str, var: &str, value: &str, key: &str) -> Case {
    Case {
        env: vec![(var.to_string(), value.to_string())],
        ..case(name, "cluster: env-case\n", key)
    }
}

/// `alerts.connections_warn` and `0.5` as nested YAML.
fn yaml_for(key: &str, value: &str) -> String {
    let parts: Vec<&str> = key.split('.').collect();
    let mut out = String::new();
    for (depth, part) in parts.iter().enumerate() {
        out.push_str(&"  ".repeat(depth));
        out.push_str(part);
        out.push(':');
        if depth + 1 == parts.len() {
            out.push(' ');
            out.push_str(value);
        }
        out.push('\n');
    }
    out
}

/// The classic "billion laughs": 342 bytes, nine levels of nine aliases each.
fn alias_bomb() -> String {
    let mut bomb = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let (prev, name) = (pair[0], pair[1]);
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    bomb
}

fn hand_written_cases() -> Vec<Case> {
    let big = "x".repeat(100_000);
    let mut cases = vec![
        case("alias bomb", alias_bomb(), "a"),
        case(
            "alias bomb under a real key",
            format!(
                "cluster: &c prod\nhttp:\n  static_dir: *c\n{}",
                alias_bomb().replace("a: &a", "z: &a")
            ),
            "cluster",
        ),
        case(
            "alias to an unknown anchor",
            "limits:\n  top_relations: *nowhere\n",
            "limits.top_relations",
        ),
        case(
            "merge key",
            "budgets: &b\n  hot_path: 1s\nsample_intervals:\n  <<: *b\n",
            "budgets",
        ),
        file_case("endless device", Source::Path(PathBuf::from("/dev/zero")), "/dev/zero"),
        file_case(
            "file over 1 MiB",
            Source::Bytes(format!("cluster: big\n# {}\n", "x".repeat(MAX_FILE_BYTES as usize)).into_bytes()),
            &format!("larger than {MAX_FILE_BYTES} bytes"),
        ),
        file_case("not UTF-8", Source::Bytes(b"cluster: \xff\xfe\n".to_vec()), "UTF-8"),
        file_case(
            "second document",
            Source::Yaml("cluster: a\n---\ncluster: b\n".into()),
            "line 2: a second YAML document",
        ),
        file_case(
            "100 KB key (YAML caps implicit keys at 1024 characters)",
            Source::Yaml(format!("{big}: 1\n")),
            "not valid YAML",
        ),
        file_case(
            "1000-character unknown key",
            Source::Yaml(format!("{}: 1\n", "k".repeat(1000))),
            "unknown field `kkkk",
        ),
        case(
            "hourly interval of 400000000000 years",
            "sample_intervals:\n  hourly: 400000000000y\n",
            "sample_intervals.hourly",
        ),
        case(
            "storage interval of 1000000000 years",
            "sample_intervals:\n  storage: 1000000000y\n",
            "sample_intervals.storage",
        ),
        case(
            "storage budget of 1000000000 years",
            "budgets:\n  storage: 1000000000y\n",
            "budgets.storage",
        ),
        case(
            "hold of 1000000000 years",
            "alerts:\n  resolve_after: 1000000000y\n",
            "alerts.resolve_after",
        ),
        case(
            "prefix starting with a digit",
            "metrics:\n  prefix: \"1abc\"\n",
            "metrics.prefix",
        ),
        case(
            "prefix with a dash",
            "metrics:\n  prefix: \"pg-mon_\"\n",
            "metrics.prefix",
        ),
        case("prefix with a colon", "metrics:\n  prefix: \"pg:\"\n", "metrics.prefix"),
        case("reserved prefix", "metrics:\n  prefix: \"__x\"\n", "metrics.prefix"),
        case(
            "statement_timeout one past int4",
            "timeouts:\n  statement_timeout_ms: 2147483648\n",
            "timeouts.statement_timeout_ms",
        ),
        case(
            "lock_timeout far past int4",
            "timeouts:\n  lock_timeout_ms: 99999999999\n",
            "timeouts.lock_timeout_ms",
        ),
        case(
            "statement_timeout zero",
            "timeouts:\n  statement_timeout_ms: 0\n",
            "timeouts.statement_timeout_ms",
        ),
        case("100 KB cluster label", format!("cluster: {big}\n"), "cluster"),
        case(
            "cluster label with a newline",
            "cluster: \"prod\\nfake_metric 1\"\n",
            "cluster",
        ),
        case("cluster label with a bell", "cluster: \"a\\ab\"\n", "cluster"),
        case("empty cluster label", "cluster: \"\"\n", "cluster"),
        case("limits as a list", "limits: [1, 2]\n", "limits"),
        case("alerts as a block list", "alerts:\n  - 0.5\n  - 0.9\n", "alerts"),
        case("empty section", "limits:\n", "limits"),
        case("section as a value", "sample_intervals: 15s\n", "sample_intervals"),
        case("nested list in auth", "http:\n  auth: [api]\n", "http.auth"),
        case("value as a list", "cluster: [a, b]\n", "cluster"),
        case("value as a section", "cluster: {a: 1}\n", "cluster"),
        case(
            "long_txn warn above crit",
            "alerts:\n  long_txn_warn_s: 2000\n",
            "alerts.long_txn_warn_s",
        ),
        case(
            "connections warn above crit",
            "alerts:\n  connections_warn: 0.99\n",
            "alerts.connections_warn",
        ),
        case(
            "checkpoint interval crit above warn (lower is worse)",
            "alerts:\n  checkpoint_interval_crit_seconds: 400\n",
            "alerts.checkpoint_interval_crit_seconds",
        ),
        case(
            "negative dead tuple percentage",
            "alerts:\n  dead_tuples_warn_pct: -5\n",
            "alerts.dead_tuples_warn_pct",
        ),
        case(
            "dead tuple percentage over 100",
            "alerts:\n  dead_tuples_crit_pct: 150\n",
            "alerts.dead_tuples_crit_pct",
        ),
        case(
            "connection ratio over 1",
            "alerts:\n  connections_crit: 1.5\n",
            "alerts.connections_crit",
        ),
        case(
            "negative count",
            "alerts:\n  dead_tuples_min: -1\n",
            "alerts.dead_tuples_min",
        ),
        case(
            "negative float for a count",
            "alerts:\n  dead_tuples_min: -1.0\n",
            "alerts.dead_tuples_min",
        ),
        case(
            "fraction for an integer",
            "limits:\n  top_relations: 1.5\n",
            "limits.top_relations",
        ),
        case(".nan", "alerts:\n  connections_warn: .nan\n", "alerts.connections_warn"),
        case(
            ".NaN in a percentage",
            "alerts:\n  dead_tuples_warn_pct: .NaN\n",
            "alerts.dead_tuples_warn_pct",
        ),
        case(
            ".inf",
            "alerts:\n  checkpoint_ratio_crit: .inf\n",
            "alerts.checkpoint_ratio_crit",
        ),
        case(
            "-.inf",
            "alerts:\n  dead_tuples_warn_pct: -.inf\n",
            "alerts.dead_tuples_warn_pct",
        ),
        case(
            "tagged float nan",
            "alerts:\n  connections_crit: !!float .nan\n",
            "alerts.connections_crit",
        ),
        case(
            "overflowing float",
            "alerts:\n  connections_crit: 1e999\n",
            "alerts.connections_crit",
        ),
        case(
            "duplicate key",
            "limits:\n  top_queries: 5\n  top_queries: 6\n",
            "limits.top_queries",
        ),
        case(
            "deep nesting",
            format!("limits: {}{}\n", "[".repeat(200), "]".repeat(200)),
            &format!("limits{}", "[]".repeat(MAX_DEPTH - 1)),
        ),
        case("complex key", "http:\n  ? [a, b]\n  : c\n", "http"),
        case("null key", "http:\n  ~: 1\n", "http"),
        case(
            "syntax error names the last key",
            "limits:\n  top_queries: 5\n    oops: : x\n",
            "limits.top_queries",
        ),
        case(
            "webhook that is not a URL",
            "notifiers:\n  webhook_url: \"not a url\"\n",
            "notifiers.webhook_url",
        ),
        case(
            "webhook with another scheme",
            "notifiers:\n  slack_webhook: \"ftp://hooks.example/x\"\n",
            "notifiers.slack_webhook",
        ),
        case(
            "canary query with NUL",
            "canary:\n  explain_query: \"SELECT 1\\0\"\n",
            "canary.explain_query",
        ),
        case(
            "100 KB string for an integer",
            format!("limits:\n  top_relations: \"{big}\"\n"),
            "limits.top_relations",
        ),
        case(
            "list of 450000 items just under the size cap",
            format!("cluster: [{}1]\n", "1,".repeat(450_000)),
            "cluster[]",
        ),
        file_case(
            "section with 60000 unknown keys just under the size cap",
            Source::Yaml(format!(
                "limits:\n{}",
                (0..60_000).map(|i| format!("  k{i:07}: 1\n")).collect::<String>()
            )),
            "key `limits.k00",
        ),
        case(
            "negative interval",
            "sample_intervals:\n  hot_path: -1s\n",
            "sample_intervals.hot_path",
        ),
        env_case(
            "NaN from the environment",
            "PGMON_ALERTS__CONNECTIONS_CRIT",
            "nan",
            "alerts.connections_crit",
        ),
        env_case(
            "inf from the environment",
            "PGMON_ALERTS__DEAD_TUPLES_CRIT_PCT",
            "inf",
            "alerts.dead_tuples_crit_pct",
        ),
        env_case(
            "lock_timeout from the environment",
            "PGMON_TIMEOUTS__LOCK_TIMEOUT_MS",
            "99999999999",
            "timeouts.lock_timeout_ms",
        ),
        env_case(
            "interval from the environment",
            "PGMON_SAMPLE_INTERVALS__HOURLY",
            "400000000000y",
            "sample_intervals.hourly",
        ),
        env_case(
            "long cluster from the environment",
            "PGMON_CLUSTER",
            &"c".repeat(129),
            "cluster",
        ),
        env_case(
            "bad prefix from the environment",
            "PGMON_METRICS__PREFIX",
            "1abc",
            "metrics.prefix",
        ),
        env_case(
            "negative float count from the environment",
            "PGMON_ALERTS__DEAD_TUPLES_MIN",
            "-1.5",
            "alerts.dead_tuples_min",
        ),
    ];
    // The DSN itself: too long from the environment, a NUL byte from the file.
    cases.push(env_case(
        "DSN too long",
        "PGMON_DSN",
        &"a".repeat(bounds::MAX_DSN_BYTES + 1),
        "dsn",
    ));
    cases.push(case("DSN with a NUL byte", "dsn: \"host=h\\0 user=u\"\n", "dsn"));
    cases
}

/// A number or duration in the YAML an operator would write.
fn render(n: Num) -> String {
    match n {
        Num::Duration(d) => format!("\"{}\"", humantime::format_duration(d)),
        Num::Int(i) => i.to_string(),
        Num::Float(f) => format!("{f:?}"),
    }
}

/// Every number and duration just past each end of its range, every pair inverted, every
/// string too long or with a forbidden character: from the code's tables, so a new key is
/// covered the day it gets its range.
fn generated_cases() -> Vec<Case> {
    let defaults = Config::default();
    let all = bounds::bounds(&defaults);
    let mut cases = Vec::new();
    for b in &all {
        let above = match b.max {
            Num::Duration(d) => Num::Duration(d + Duration::from_secs(1)),
            Num::Int(i) => Num::Int(i + 1),
            Num::Float(f) => Num::Float(f + 0.5),
        };
        cases.push(case(
            format!("{} above {}", b.key, b.max),
            yaml_for(b.key, &render(above)),
            b.key,
        ));
        let below = match b.min {
            Num::Duration(d) if !d.is_zero() => Some(Num::Duration(d - Duration::from_millis(1))),
            Num::Int(i) if i > 0 => Some(Num::Int(i - 1)),
            Num::Float(f) => Some(Num::Float(f - 0.5)),
            _ => None,
        };
        if let Some(below) = below {
            cases.push(case(
                format!("{} below {}", b.key, b.min),
                yaml_for(b.key, &render(below)),
                b.key,
            ));
        }
    }
    let value = |key| all.iter().find(|b| b.key == key).unwrap().value;
    for pair in PAIRS {
        let (warn, crit) = (value(pair.warn), value(pair.crit));
        let section = pair.warn.split('.').next().unwrap();
        let field = |k: &str| k.split('.').nth(1).unwrap().to_string();
        let yaml = format!(
            "{section}:\n  {}: {}\n  {}: {}\n",
            field(pair.warn),
            render(crit),
            field(pair.crit),
            render(warn)
        );
        let named = match pair.worse {
            Worse::Higher => pair.warn,
            Worse::Lower => pair.crit,
        };
        cases.push(case(format!("{} / {} inverted", pair.warn, pair.crit), yaml, named));
    }
    for t in bounds::texts(&defaults) {
        let long = "a".repeat(t.max_bytes + 1);
        cases.push(case(
            format!("{} of {} bytes", t.key, t.max_bytes + 1),
            yaml_for(t.key, &format!("\"{long}\"")),
            t.key,
        ));
        let forbidden = match t.kind {
            TextKind::Label | TextKind::Name | TextKind::Secret => Some("\"a\\tb\""),
            TextKind::Path | TextKind::Sql | TextKind::Dsn => Some("\"a\\0b\""),
            TextKind::Url => Some("\"ftp://example.com/\""),
            TextKind::MetricPrefix => Some("\"1abc\""),
        };
        if let Some(value) = forbidden {
            cases.push(case(format!("{} = {value}", t.key), yaml_for(t.key, value), t.key));
        }
    }
    cases
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Reads at most 1 MiB of a child's stream, then drains the rest.
fn slurp(stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut stream = stream;
        let mut kept = Vec::new();
        let _ = (&mut stream).take(1 << 20).read_to_end(&mut kept);
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
        String::from_utf8_lossy(&kept).into_owned()
    })
}

fn run(config: &Path, env: &[(String, String)], file_key: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(PRLIMIT);
    cmd.arg(ADDRESS_SPACE)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_pgmon"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let sets = |var: &str| env.iter().any(|(k, _)| k == var);
    if file_key != Some("dsn") && !sets("PGMON_DSN") {
        cmd.env("PGMON_DSN", UNREACHABLE_DSN);
    }
    if file_key != Some("http.bind") && !sets("PGMON_HTTP__BIND") {
        // Should a case wrongly be accepted, the agent must not take a real port.
        cmd.env("PGMON_HTTP__BIND", "127.0.0.1:0");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("run pgmon under prlimit");
    let stdout = slurp(child.stdout.take().unwrap());
    let stderr = slurp(child.stderr.take().unwrap());
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code,
        elapsed: start.elapsed(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Runs every case as the agent and as `check-config`; collects every failure, so one run
/// shows them all.
fn assert_all_rejected(cases: Vec<Case>) {
    assert!(
        Path::new(PRLIMIT).exists(),
        "{PRLIMIT} is needed to bound each run's memory"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    for (i, c) in cases.iter().enumerate() {
        let path = match &c.source {
            Source::Path(p) => p.clone(),
            Source::Yaml(yaml) => {
                let p = dir.path().join(format!("case-{i}.yaml"));
                std::fs::write(&p, yaml).unwrap();
                p
            }
            Source::Bytes(bytes) => {
                let p = dir.path().join(format!("case-{i}.yaml"));
                std::fs::write(&p, bytes).unwrap();
                p
            }
        };
        for (mode, args) in [("agent", &[][..]), ("check-config", &["check-config"][..])] {
            let r = run(&path, &c.env, c.key.as_deref(), args);
            if r.elapsed > slowest.0 {
                slowest = (r.elapsed, format!("{} ({mode})", c.name));
            }
            let line = r.stderr.trim();
            let problem = if r.code.is_none() {
                Some(format!("did not exit within {WAIT:?} (killed)"))
            } else if r.code != Some(2) {
                Some(format!("exit code {:?}, expected 2", r.code))
            } else if !r.stdout.trim().is_empty() {
                Some("wrote to stdout".to_string())
            } else if line.lines().count() != 1 {
                Some("stderr is not one line".to_string())
            } else if line.len() > MAX_ERROR_BYTES {
                Some(format!("error line is {} bytes long", line.len()))
            } else if !line.contains(&c.names) {
                Some(format!("error does not name {}", c.names))
            } else if line.contains("s3cret-pw") {
                Some("error shows the DSN's password".to_string())
            } else {
                None
            };
            if let Some(problem) = problem {
                let shown: String = line.chars().take(400).collect();
                failures.push(format!("[{}] {mode}: {problem}: {shown}", c.name));
            }
        }
    }
    eprintln!(
        "{} cases, each as agent and check-config; slowest run {:?}: {}",
        cases.len(),
        slowest.0,
        slowest.1
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn hostile_and_careless_configs_exit_2_naming_the_key() {
    assert_eq!(alias_bomb().len(), 342, "the issue's bomb is 342 bytes");
    let cases = hand_written_cases();
    assert!(cases.len() >= 60, "{}", cases.len());
    assert_all_rejected(cases);
}

#[test]
fn every_bound_pair_and_text_rule_is_enforced_by_the_binary() {
    let cases = generated_cases();
    assert!(cases.len() > 100, "{}", cases.len());
    assert_all_rejected(cases);
}

/// The harness can tell a rejection from an accepted config under the same memory limit.
#[test]
fn configs_at_the_edges_of_every_range_are_accepted() {
    let mut yaml = String::new();
    let edge = [
        ("sample_intervals:\n", "  hot_path: 100ms\n  workload: 24h\n  storage: 24h\n  hourly: 24h\n"),
        ("budgets:\n", "  hot_path: 1ms\n  workload: 24h\n"),
        ("timeouts:\n", "  statement_timeout_ms: 2147483647\n  lock_timeout_ms: 1\n"),
        ("alerts:\n", "  dead_tuples_warn_pct: 0\n  dead_tuples_crit_pct: 100\n  connections_warn: 0.95\n  resolve_after: 0s\n  checkpoint_interval_warn_seconds: 180\n"),
        ("metrics:\n", "  prefix: \"_\"\n"),
    ];
    for (section, keys) in edge {
        yaml.push_str(section);
        yaml.push_str(keys);
    }
    yaml.push_str(&format!("cluster: \"{}\"\n", "é".repeat(bounds::MAX_LABEL_BYTES / 2)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edges.yaml");
    std::fs::write(&path, &yaml).unwrap();
    Config::load(Some(&path), &Default::default()).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let r = run(&path, &[], None, &["rules"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("groups:"), "{}", r.stdout);
}

/// docs/configuration.md states each key's range in its row, and the file-level limits.
#[test]
fn docs_state_every_bound() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md")).unwrap();
    let row = |key: &str| {
        docs.lines()
            .find(|l| l.starts_with(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("docs/configuration.md has no row for {key}"))
            .to_string()
    };
    let mut missing = Vec::new();
    for b in bounds::bounds(&Config::default()) {
        if !row(b.key).contains(&format!("`{}`", b.range())) {
            missing.push(format!("{}: `{}`", b.key, b.range()));
        }
    }
    for t in bounds::texts(&Config::default()) {
        let cap = format!("{} bytes", t.max_bytes);
        if !row(t.key).contains(&cap) && !docs.contains(&format!("`{}`: at most {cap}", t.key)) {
            missing.push(format!("{}: {cap}", t.key));
        }
    }
    for limit in [
        format!("{MAX_FILE_BYTES} bytes"),
        format!("{MAX_DEPTH} levels"),
        format!("{MAX_NODES} keys"),
    ] {
        if !docs.contains(&limit) {
            missing.push(limit);
        }
    }
    assert!(missing.is_empty(), "docs/configuration.md does not state: {missing:#?}");
}

//! A golden `/metrics`: the families, types and label names an agent exports for a seeded
//! database (tables, indexes, an unused index, a partitioned table, statements, a blocked
//! session), with label values and sample values masked, compared with the committed
//! `tests/golden/metrics.txt`. A renamed family, a renamed or added label, a changed type, or a
//! family that stops being exported fails here, naming the line; an intended change is taken
//! with `PGMON_UPDATE_GOLDEN=1 cargo test --test golden_metrics`.
//!
//! Families whose presence depends on timing or on the server (a rate before its second
//! sample, an alert that may or may not be firing) are listed in the golden file with a
//! trailing ` optional`: they may be absent, but when present they must look as recorded.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(90);
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/metrics.txt");

/// `# TYPE` lines and one `family{label,names}` line per distinct label-name set.
fn shape(exposition: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            out.insert(format!("# TYPE {rest}"));
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
        let (family, labels) = match series.split_once('{') {
            Some((f, rest)) => (f, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut names: Vec<&str> = split_labels(labels)
            .into_iter()
            .filter_map(|pair| pair.split_once('=').map(|(k, _)| k))
            .collect();
        names.sort_unstable();
        out.insert(format!("{family}{{{}}}", names.join(",")));
    }
    out
}

/// `a="x",b="y,z"` → `a="x"`, `b="y,z"` (commas inside quoted values kept).
fn split_labels(labels: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in labels.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&labels[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < labels.len() {
        parts.push(&labels[start..]);
    }
    parts
}

/// The golden file: each line, and whether it may be absent.
fn golden() -> BTreeMap<String, bool> {
    std::fs::read_to_string(GOLDEN)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("//"))
        .map(|l| match l.strip_suffix(" optional") {
            Some(line) => (line.to_string(), true),
            None => (l.to_string(), false),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_families_and_labels_match_the_golden_file() {
    let pg = TestPostgres::start();
    pg.seed_app(true);
    let agent = Agent::start(
        &pg.url("monitor", "pw", "app"),
        &test_config("limits:\n  unused_index_min_bytes: 0\n"),
    );
    let (holder, waiter) = pg.blocked_session("app").await;

    // Every loop has run twice (rates need two samples) and the blocked session is seen.
    agent.wait_json("/api/v1/health", WAIT, "two runs of every loop", |_, b| {
        let loops = b["loops"].as_object()?;
        (loops.len() == 4 && loops.values().all(|l| l["runs_total"].as_u64().unwrap_or(0) >= 2)).then_some(())
    });
    agent.wait_json("/api/v1/overview", WAIT, "the blocked session", |_, b| {
        (b["blocked_sessions"].as_i64()? >= 1).then_some(())
    });
    // A run that fails under load withdraws its loop's series for a moment: read until every
    // required line is there (or the wait ends and the comparison below names what is not).
    let required: Vec<String> = golden()
        .into_iter()
        .filter(|(_, optional)| !optional)
        .map(|(l, _)| l)
        .collect();
    let deadline = std::time::Instant::now() + WAIT;
    let exposition = loop {
        let text = agent.get("/metrics").1;
        let found = shape(&text);
        if required.iter().all(|l| found.contains(l)) || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    support::promtool_check(&exposition);
    let found = shape(&exposition);

    if std::env::var_os("PGMON_UPDATE_GOLDEN").is_some() {
        let old = golden();
        let mut text = String::from(
            "// tests/golden_metrics.rs: families, types and label names of /metrics for a seeded\n\
             // database. ` optional` marks lines that may be absent (timing or server dependent).\n",
        );
        for line in &found {
            let optional = old.get(line).copied().unwrap_or(false);
            text.push_str(&format!("{line}{}\n", if optional { " optional" } else { "" }));
        }
        for (line, _) in old.iter().filter(|(l, optional)| **optional && !found.contains(*l)) {
            text.push_str(&format!("{line} optional\n"));
        }
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, text).unwrap();
    }
    let golden = golden();
    assert!(
        golden.len() > 50,
        "tests/golden/metrics.txt is missing or short: PGMON_UPDATE_GOLDEN=1"
    );
    let missing: Vec<&String> = golden
        .iter()
        .filter(|(line, optional)| !**optional && !found.contains(*line))
        .map(|(line, _)| line)
        .collect();
    let unexpected: Vec<&String> = found.iter().filter(|line| !golden.contains_key(*line)).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "/metrics differs from tests/golden/metrics.txt (take an intended change with \
         PGMON_UPDATE_GOLDEN=1 cargo test --test golden_metrics)\nmissing:\n  {}\nnot in the golden file:\n  {}",
        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
        unexpected.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
    );
    drop(holder);
    let _ = waiter.await;
}

#[test]
fn the_shape_keeps_names_and_drops_values() {
    let text =
        "# HELP pg_x X.\n# TYPE pg_x gauge\npg_x{cluster=\"c\",relation=\"public.\\\"a,b\\\"\",db=\"app\"} 3\npg_y 1\n";
    let shape = shape(text);
    assert_eq!(
        shape.into_iter().collect::<Vec<_>>(),
        vec!["# TYPE pg_x gauge", "pg_x{cluster,db,relation}", "pg_y{}"]
    );
}

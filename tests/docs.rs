//! Drift checks for the operator-facing files: every config key documented (docs/configuration.md)
//! and present in the sample config; every alert kind in docs/alerts.md; every metric the Grafana
//! dashboard queries exported by pgmon; the Kubernetes, compose and Prometheus files parse and
//! say what the docs say they say. No database needed.

use pgmon::config::Config;
use pgmon::telemetry::catalog::{Kind, CATALOG};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

fn flatten_json(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, x) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_json(&key, x, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

/// Secrets are never serialized, so `Config::default()` does not show them; they are keys all
/// the same (checked against the loader in `secret_keys_are_real_keys`), with no default.
const SECRET_KEYS: &[&str] = &[
    "dsn",
    "http.auth.api.basic_password",
    "http.auth.api.bearer_token",
    "http.auth.ui.basic_password",
    "http.auth.ui.bearer_token",
    "http.auth.metrics.basic_password",
    "http.auth.metrics.bearer_token",
];

/// Every config key with its default, from the code: `Config::default()` serialized, plus the
/// secrets.
fn config_defaults() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    flatten_json("", &serde_json::to_value(Config::default()).unwrap(), &mut out);
    for key in SECRET_KEYS {
        out.insert(key.to_string(), Value::Null);
    }
    out
}

/// The loader rejects unknown keys (`deny_unknown_fields`): a secret key it does not reject as
/// unknown exists.
#[test]
fn secret_keys_are_real_keys() {
    for key in SECRET_KEYS.iter().chain(["http.no_such_key"].iter()) {
        let mut yaml = String::new();
        let parts: Vec<&str> = key.split('.').collect();
        for (depth, part) in parts.iter().enumerate() {
            let value = if depth + 1 == parts.len() { " \"x\"" } else { "" };
            yaml.push_str(&format!("{}{part}:{value}\n", "  ".repeat(depth)));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgmon.yaml");
        std::fs::write(&path, &yaml).unwrap();
        let error = Config::load(Some(&path), &Default::default())
            .err()
            .map(|e| e.to_string());
        let unknown = error.as_deref().is_some_and(|e| e.contains("unknown field"));
        assert_eq!(unknown, *key == "http.no_such_key", "{key}: {error:?}");
    }
}

fn flatten_yaml(prefix: &str, y: &Yaml, out: &mut BTreeSet<String>) {
    match y {
        Yaml::Hash(map) if !map.is_empty() => {
            for (k, x) in map {
                let k = k.as_str().unwrap_or_else(|| panic!("non-string key under {prefix}"));
                let key = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_yaml(&key, x, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

fn yaml_docs(path: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

/// `| `key` | `default` | meaning |` rows of docs/configuration.md: key -> default cell.
fn documented_keys() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in read("docs/configuration.md").lines() {
        let Some(rest) = line.strip_prefix("| `") else { continue };
        let cells: Vec<&str> = rest.split(" | ").collect();
        let key = cells[0].trim_end_matches('`').to_string();
        let default = cells.get(1).map(|c| c.trim().to_string()).unwrap_or_default();
        assert!(out.insert(key.clone(), default).is_none(), "{key} documented twice");
    }
    out
}

fn render_default(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) if s.is_empty() => "`\"\"`".into(),
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

#[test]
fn every_config_key_is_documented_with_its_default() {
    let code = config_defaults();
    assert!(
        code.contains_key("sample_intervals.hot_path") && code.len() > 60,
        "{code:?}"
    );
    let docs = documented_keys();
    let missing: Vec<_> = code.keys().filter(|k| !docs.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "keys missing from docs/configuration.md: {missing:?}"
    );
    let unknown: Vec<_> = docs.keys().filter(|k| !code.contains_key(*k)).collect();
    assert!(
        unknown.is_empty(),
        "docs/configuration.md documents keys that do not exist: {unknown:?}"
    );
    for (key, value) in &code {
        let expected = render_default(value);
        assert_eq!(docs[key], expected, "docs/configuration.md: default of `{key}`");
    }
}

#[test]
fn sample_config_has_every_key_but_the_secrets() {
    let mut sample = BTreeSet::new();
    flatten_yaml("", &yaml_docs("config.pgmon.sample.yaml")[0], &mut sample);
    let code: BTreeSet<String> = config_defaults()
        .into_keys()
        .filter(|k| !SECRET_KEYS.contains(&k.as_str()))
        .collect();
    let missing: Vec<_> = code.difference(&sample).collect();
    assert!(
        missing.is_empty(),
        "keys missing from config.pgmon.sample.yaml: {missing:?}"
    );
    let unknown: Vec<_> = sample.difference(&code).collect();
    assert!(
        unknown.is_empty(),
        "config.pgmon.sample.yaml has unknown keys: {unknown:?}"
    );
}

#[test]
fn every_alert_kind_is_in_docs_alerts() {
    let docs = read("docs/alerts.md");
    for (kind, hold) in pgmon::alerts::CATALOG.iter() {
        let heading = format!("### `{kind}`");
        let section = docs
            .split(&heading)
            .nth(1)
            .unwrap_or_else(|| panic!("docs/alerts.md has no section {heading}"));
        let section = section.split("\n### ").next().unwrap_or("");
        if !hold.is_zero() {
            let hold = humantime::format_duration(*hold).to_string();
            assert!(
                section.contains(&hold),
                "docs/alerts.md `{kind}`: `for` {hold} not mentioned"
            );
        }
    }
    let kinds: BTreeSet<&str> = pgmon::alerts::CATALOG.iter().map(|(k, _)| k.as_str()).collect();
    for line in docs.lines().filter_map(|l| l.strip_prefix("### `")) {
        let kind = line.trim_end_matches('`');
        assert!(kinds.contains(kind), "docs/alerts.md documents unknown kind {kind}");
    }
}

const PROMQL_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
];
const PROMQL_FUNCTIONS: &[&str] = &[
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "topk",
    "bottomk",
    "rate",
    "irate",
    "increase",
    "delta",
    "deriv",
    "histogram_quantile",
    "clamp_min",
    "clamp_max",
    "max_over_time",
    "min_over_time",
    "avg_over_time",
    "last_over_time",
    "changes",
    "resets",
    "absent",
    "time",
    "vector",
    "scalar",
    "abs",
    "sort_desc",
    "label_replace",
];

/// Removes string literals, label matchers `{…}`, ranges `[…]`, grouping clauses and `$vars`.
fn strip_promql(expr: &str) -> String {
    let mut out = String::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                for d in chars.by_ref() {
                    if d == close {
                        break;
                    }
                }
                out.push(' ');
            }
            '$' => {
                while chars.peek().is_some_and(|d| d.is_alphanumeric() || "_{}".contains(*d)) {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Metric names an expression reads; panics on an unknown function.
fn promql_metrics(expr: &str) -> Vec<String> {
    let text = strip_promql(expr);
    let mut names = Vec::new();
    let mut rest = text.as_str();
    let mut after_grouping = false;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
        let preceded_by_digit = text.len() - rest.len() + start > 0
            && text.as_bytes()[text.len() - rest.len() + start - 1].is_ascii_digit();
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        let next = rest.trim_start().chars().next();
        if preceded_by_digit {
            continue; // a number's exponent or a unit, e.g. 1e9
        }
        if after_grouping {
            // `by (label, …)`: skip the label list.
            if word_ends_group(rest) {
                after_grouping = false;
            }
            continue;
        }
        if PROMQL_WORDS.contains(&word) {
            after_grouping = matches!(
                word,
                "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
            ) && next == Some('(');
            continue;
        }
        // Aggregations may come before their `by (…)`: `sum by (db) (x)`.
        if PROMQL_FUNCTIONS.contains(&word) {
            continue;
        }
        assert!(next != Some('('), "unknown PromQL function {word} in {expr}");
        names.push(word.to_string());
    }
    names
}

fn word_ends_group(rest: &str) -> bool {
    rest.trim_start().starts_with(')')
}

fn exported_families() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for def in CATALOG {
        out.insert(def.name.to_string());
        if def.kind == Kind::Histogram {
            for suffix in ["_bucket", "_sum", "_count"] {
                out.insert(format!("{}{suffix}", def.name));
            }
        }
    }
    out
}

fn collect_strings(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match x {
                    Value::String(s) if k == key => out.push(s.clone()),
                    _ => collect_strings(x, key, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_strings(x, key, out)),
        _ => {}
    }
}

#[test]
fn promql_scan_finds_metrics_and_skips_labels_functions_and_variables() {
    let names = promql_metrics(
        "histogram_quantile(0.99, sum by (le, loop) (rate(pgmon_scrape_duration_seconds_bucket{cluster=~\"$cluster\"}[$__rate_interval]))) / on (cluster) group_left max(pg_max_connections) > 1e9",
    );
    assert_eq!(names, ["pgmon_scrape_duration_seconds_bucket", "pg_max_connections"]);
}

#[test]
fn grafana_dashboard_queries_only_exported_metrics() {
    let dashboard: Value = serde_json::from_str(&read("docs/grafana/pgmon-dashboard.json")).expect("dashboard JSON");
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 20));
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for wanted in ["datasource", "cluster", "db"] {
        assert!(
            variables.contains(&wanted),
            "dashboard variable {wanted} missing: {variables:?}"
        );
    }
    let exported = exported_families();
    let mut exprs = Vec::new();
    collect_strings(&dashboard["panels"], "expr", &mut exprs);
    assert!(exprs.len() >= 25, "only {} expressions", exprs.len());
    let mut used = BTreeSet::new();
    for expr in &exprs {
        let names = promql_metrics(expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            assert!(
                exported.contains(&name),
                "dashboard queries {name}, which pgmon does not export: {expr}"
            );
            used.insert(name);
        }
    }
    // label_values(metric, label) in the variables.
    let mut queries = Vec::new();
    collect_strings(&dashboard["templating"], "query", &mut queries);
    for q in queries.iter().filter_map(|q| q.strip_prefix("label_values(")) {
        let metric = q.split([',', '{']).next().unwrap().trim();
        assert!(
            exported.contains(metric),
            "variable query reads unknown metric {metric}"
        );
    }
    for self_metric in [
        "pgmon_last_scrape_success",
        "pgmon_errors_total",
        "pgmon_loop_restarts_total",
        "alerts_total",
    ] {
        assert!(used.contains(self_metric), "dashboard has no panel on {self_metric}");
    }
}

fn get<'a>(y: &'a Yaml, path: &[&str]) -> &'a Yaml {
    path.iter().fold(y, |y, k| &y[*k])
}

#[test]
fn kubernetes_manifest_is_hardened_and_probes_livez_and_healthz() {
    let docs = yaml_docs("deploy/kubernetes/pgmon.yaml");
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    for kind in ["ConfigMap", "Deployment", "Service"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} in deploy/kubernetes/pgmon.yaml: {kinds:?}"
        );
    }
    let deployment = docs.iter().find(|d| d["kind"].as_str() == Some("Deployment")).unwrap();
    let pod = get(deployment, &["spec", "template", "spec"]);
    let container = &pod["containers"][0];
    assert_eq!(
        get(container, &["securityContext", "readOnlyRootFilesystem"]).as_bool(),
        Some(true)
    );
    let non_root = get(container, &["securityContext", "runAsNonRoot"]).as_bool().or(get(
        pod,
        &["securityContext", "runAsNonRoot"],
    )
    .as_bool());
    assert_eq!(non_root, Some(true));
    // A database outage must never restart the agent: liveness is /livez, readiness /healthz.
    for (probe, path) in [("livenessProbe", "/livez"), ("readinessProbe", "/healthz")] {
        assert_eq!(
            get(container, &[probe, "httpGet", "path"]).as_str(),
            Some(path),
            "{probe}"
        );
    }
    let dsn = container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some("PGMON_DSN"))
        .expect("PGMON_DSN env");
    assert!(get(dsn, &["valueFrom", "secretKeyRef", "name"]).as_str().is_some());
    assert!(get(container, &["resources", "limits", "memory"]).as_str().is_some());
    // The ConfigMap's pgmon.yaml is a config the agent accepts.
    let config_map = docs.iter().find(|d| d["kind"].as_str() == Some("ConfigMap")).unwrap();
    let yaml = get(config_map, &["data", "pgmon.yaml"])
        .as_str()
        .expect("data.pgmon.yaml");
    assert_loads(yaml);
}

fn assert_loads(yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgmon.yaml");
    std::fs::write(&path, yaml).unwrap();
    if let Err(e) = Config::load(Some(&path), &Default::default()) {
        panic!("config does not load: {e}\n{yaml}");
    }
}

#[test]
fn compose_files_parse_and_reference_files_that_exist() {
    let compose = &yaml_docs("docker-compose.yml")[0];
    for service in ["postgres", "pgmon", "prometheus"] {
        assert!(!compose["services"][service].is_badvalue(), "no service {service}");
    }
    let pgmon = &compose["services"]["pgmon"];
    assert_eq!(pgmon["read_only"].as_bool(), Some(true));
    let mut mounted = Vec::new();
    for service in compose["services"].as_hash().unwrap().values() {
        for volume in service["volumes"].as_vec().into_iter().flatten() {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            if source.starts_with("./") {
                mounted.push(source.to_string());
            }
        }
    }
    assert!(mounted.len() >= 4, "{mounted:?}");
    for source in &mounted {
        let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
        assert!(
            full.exists(),
            "docker-compose.yml mounts {source}, which does not exist"
        );
    }
    let prometheus = &yaml_docs("deploy/compose/prometheus.yml")[0];
    let job = &prometheus["scrape_configs"][0];
    assert_eq!(job["scrape_interval"].as_str(), Some("15s"));
    assert_eq!(job["static_configs"][0]["targets"][0].as_str(), Some("pgmon:8181"));
    assert!(prometheus["rule_files"][0]
        .as_str()
        .is_some_and(|f| f.ends_with("pgmon-rules.yaml")));
    assert_loads(&read("config.pgmon.sample.yaml"));
}

#[test]
fn dockerfile_builds_like_the_project_scripts_and_runs_non_root() {
    let dockerfile = read("Dockerfile");
    for wanted in [
        "npm ci",
        "npm run build",
        "cargo build --release --locked",
        "USER ",
        "EXPOSE 8181",
        "CMD [\"/usr/local/bin/pgmon\", \"--healthcheck\"]",
        "ENTRYPOINT [\"/usr/local/bin/pgmon\", \"--config\", \"/config/pgmon.yaml\"]",
        "COPY --from=web /src/ui/dist ./ui/dist",
    ] {
        assert!(dockerfile.contains(wanted), "Dockerfile lacks {wanted:?}");
    }
    // One bundle: the embedded one. A disk copy at http.static_dir would shadow it.
    assert!(
        !dockerfile
            .lines()
            .any(|l| l.starts_with("COPY") && l.contains("/opt/pgmon/ui")),
        "the image copies a second UI bundle to /opt/pgmon/ui"
    );
    assert!(!dockerfile.contains("USER root"));
}

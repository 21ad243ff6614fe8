//! Prometheus exposition: the agent's own metrics live in one long-lived recorder; each loop's
//! data series are rendered into a fresh recorder whenever that loop publishes, and cached as
//! text. `/metrics` is the concatenation — it never touches the database, costs the same
//! whatever the catalog size, and a relation or query that leaves a snapshot leaves the output
//! at once (series follow the data).

pub mod catalog;
mod hot_path;
mod storage;
mod workload;

use crate::collectors::LoopSnapshot;
use crate::loops::LoopName;
use catalog::{Kind, MetricDef, CATALOG};
use metrics::{Label, Recorder};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Labels and naming shared by every series.
#[derive(Debug, Clone)]
pub struct SeriesNaming {
    pub cluster: String,
    pub db: String,
    pub prefix: String,
}

impl SeriesNaming {
    /// The exported name of a catalog family: only a family in the catalog can be named, so a
    /// typo does not compile and no undocumented name can be exported.
    pub fn name(&self, def: &MetricDef) -> String {
        def.full_name(&self.prefix)
    }

    /// `db` plus any extra labels (`cluster` is a global label of every recorder).
    pub fn labels(&self, extra: &[(&'static str, String)]) -> Vec<Label> {
        self.labels_for_db(&self.db, extra)
    }

    pub fn labels_for_db(&self, db: &str, extra: &[(&'static str, String)]) -> Vec<Label> {
        let mut labels = vec![Label::new("db", db.to_string())];
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, v.clone())));
        labels
    }
}

fn recorder(naming: &SeriesNaming) -> PrometheusRecorder {
    let builder = PrometheusBuilder::new()
        .add_global_label("cluster", naming.cluster.clone())
        .set_buckets_for_metric(
            Matcher::Full(catalog::PGMON_SCRAPE_DURATION_SECONDS.name.into()),
            DURATION_BUCKETS,
        )
        .expect("static, non-empty bucket list");
    let recorder = builder.build_recorder();
    describe(&recorder, &naming.prefix);
    recorder
}

fn describe(recorder: &PrometheusRecorder, prefix: &str) {
    for def in CATALOG {
        let name = metrics::KeyName::from(def.full_name(prefix));
        let help = metrics::SharedString::from(def.help);
        match def.kind {
            Kind::Counter => recorder.describe_counter(name, def.unit, help),
            Kind::Gauge => recorder.describe_gauge(name, def.unit, help),
            Kind::Histogram => recorder.describe_histogram(name, def.unit, help),
        }
    }
}

/// A counter with a fractional value (seconds), which the `metrics` crate's integer counters
/// cannot hold; rendered in the same exposition format beside the recorder's output.
pub struct FloatCounter {
    name: String,
    help: &'static str,
    series: Vec<(Vec<Label>, f64)>,
}

impl FloatCounter {
    pub fn new(naming: &SeriesNaming, def: &MetricDef) -> Self {
        Self {
            name: naming.name(def),
            help: def.help,
            series: Vec::new(),
        }
    }

    pub fn push(&mut self, labels: Vec<Label>, value: f64) {
        self.series.push((labels, value));
    }

    fn render(&self, cluster: &str, out: &mut String) {
        use metrics_exporter_prometheus::formatting::{sanitize_description, sanitize_label_value};
        if self.series.is_empty() {
            return;
        }
        out.push_str(&format!(
            "# HELP {} {}\n# TYPE {} counter\n",
            self.name,
            sanitize_description(self.help),
            self.name
        ));
        for (labels, value) in &self.series {
            let rendered: Vec<String> = std::iter::once(format!("cluster=\"{}\"", sanitize_label_value(cluster)))
                .chain(
                    labels
                        .iter()
                        .map(|l| format!("{}=\"{}\"", l.key(), sanitize_label_value(l.value()))),
                )
                .collect();
            out.push_str(&format!("{}{{{}}} {}\n", self.name, rendered.join(","), value));
        }
        out.push('\n');
    }
}

pub struct Telemetry {
    naming: SeriesNaming,
    agent: PrometheusRecorder,
    loop_text: BTreeMap<LoopName, String>,
    /// The agent's alert gauges (`pgmon_alerts_firing`), replaced on every evaluation.
    alerts_text: String,
    /// Data series derived from open alerts (`pg_dead_tuple_backlog_alert`), withdrawn with
    /// the loops' series while the database is unreachable.
    alert_data_text: String,
    notifier: Option<std::sync::Arc<crate::alerts::notifier::NotifierStats>>,
}

impl Telemetry {
    pub fn new(naming: SeriesNaming) -> Self {
        let agent = recorder(&naming);
        metrics::with_local_recorder(&agent, || {
            metrics::gauge!(
                catalog::PGMON_BUILD_INFO.name,
                vec![Label::new("version", env!("CARGO_PKG_VERSION"))]
            )
            .set(1.0);
            for name in LoopName::ALL {
                let labels = naming.labels(&[("loop", name.as_str().to_string())]);
                metrics::counter!(catalog::PGMON_ERRORS_TOTAL.name, labels.clone()).absolute(0);
                metrics::counter!(catalog::PGMON_LOOP_RESTARTS_TOTAL.name, labels.clone()).absolute(0);
                metrics::counter!(catalog::PGMON_LOOP_SKIPPED_TICKS_TOTAL.name, labels.clone()).absolute(0);
                metrics::counter!(catalog::PGMON_POOL_BUSY_TOTAL.name, labels.clone()).absolute(0);
                metrics::counter!(catalog::PGMON_LOOP_BUDGET_OVERRUNS_TOTAL.name, labels).absolute(0);
            }
        });
        Self {
            naming,
            agent,
            loop_text: BTreeMap::new(),
            alerts_text: String::new(),
            alert_data_text: String::new(),
            notifier: None,
        }
    }

    /// Exports the notifier's delivery counters.
    pub fn watch_notifier(&mut self, stats: std::sync::Arc<crate::alerts::notifier::NotifierStats>) {
        self.notifier = Some(stats);
    }

    /// Counts a firing (or escalating) transition: `alerts_total{cluster,kind,severity}`.
    pub fn record_alert(&self, kind: &'static str, severity: &'static str) {
        let name = self.naming.name(&catalog::ALERTS_TOTAL);
        metrics::with_local_recorder(&self.agent, || {
            metrics::counter!(name, vec![Label::new("kind", kind), Label::new("severity", severity)]).increment(1);
        });
    }

    /// Replaces the per-alert gauges with those of the open alerts.
    pub fn render_alerts(&mut self, open: &[crate::alerts::engine::Alert]) {
        use crate::alerts::engine::Phase;
        let (agent, data) = (recorder(&self.naming), recorder(&self.naming));
        metrics::with_local_recorder(&data, || {
            for a in open
                .iter()
                .filter(|a| a.phase == Phase::Firing && a.kind == crate::alerts::AlertKind::DeadTuples)
            {
                let relation = a
                    .labels
                    .iter()
                    .find(|(k, _)| *k == "relation")
                    .map_or(String::new(), |(_, v)| v.clone());
                let labels = self
                    .naming
                    .labels(&[("relation", relation), ("severity", a.severity.as_str().to_string())]);
                let level = if a.severity == crate::alerts::Severity::Crit {
                    2.0
                } else {
                    1.0
                };
                metrics::gauge!(self.naming.name(&catalog::PG_DEAD_TUPLE_BACKLOG_ALERT), labels).set(level);
            }
        });
        metrics::with_local_recorder(&agent, || {
            let mut firing: BTreeMap<(&str, &str), f64> = BTreeMap::new();
            for a in open.iter().filter(|a| a.phase == Phase::Firing) {
                *firing.entry((a.kind.as_str(), a.severity.as_str())).or_default() += 1.0;
            }
            for ((kind, severity), count) in firing {
                let labels = vec![Label::new("kind", kind), Label::new("severity", severity)];
                metrics::gauge!(catalog::PGMON_ALERTS_FIRING.name, labels).set(count);
            }
        });
        self.alerts_text = agent.handle().render();
        self.alert_data_text = data.handle().render();
    }

    fn loop_labels(&self, name: LoopName) -> Vec<Label> {
        self.naming.labels(&[("loop", name.as_str().to_string())])
    }

    pub fn record_run(&self, name: LoopName, duration: Duration, success: bool, errors: u64, over_budget: bool) {
        let labels = self.loop_labels(name);
        let finished = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        metrics::with_local_recorder(&self.agent, || {
            metrics::histogram!(catalog::PGMON_SCRAPE_DURATION_SECONDS.name, labels.clone())
                .record(duration.as_secs_f64());
            metrics::gauge!(catalog::PGMON_LAST_SCRAPE_SUCCESS.name, labels.clone()).set(if success {
                1.0
            } else {
                0.0
            });
            metrics::gauge!(catalog::PGMON_LOOP_LAST_RUN_TIMESTAMP_SECONDS.name, labels.clone()).set(finished);
            metrics::counter!(catalog::PGMON_ERRORS_TOTAL.name, labels.clone()).increment(errors);
            if over_budget {
                metrics::counter!(catalog::PGMON_LOOP_BUDGET_OVERRUNS_TOTAL.name, labels).increment(1);
            }
        });
    }

    /// `pgmon_database_up`: the agent's latest evidence about the database.
    pub fn record_database_up(&self, up: bool) {
        metrics::with_local_recorder(&self.agent, || {
            metrics::gauge!(catalog::PGMON_DATABASE_UP.name, self.naming.labels(&[])).set(if up { 1.0 } else { 0.0 });
        });
    }

    pub fn record_pool_busy(&self, name: LoopName) {
        let labels = self.loop_labels(name);
        metrics::with_local_recorder(&self.agent, || {
            metrics::counter!(catalog::PGMON_POOL_BUSY_TOTAL.name, labels).increment(1);
        });
    }

    pub fn record_restarts(&self, name: LoopName, restarts: u32) {
        let labels = self.loop_labels(name);
        metrics::with_local_recorder(&self.agent, || {
            metrics::counter!(catalog::PGMON_LOOP_RESTARTS_TOTAL.name, labels).absolute(u64::from(restarts));
        });
    }

    pub fn record_skipped_tick(&self, name: LoopName) {
        let labels = self.loop_labels(name);
        metrics::with_local_recorder(&self.agent, || {
            metrics::counter!(catalog::PGMON_LOOP_SKIPPED_TICKS_TOTAL.name, labels).increment(1);
        });
    }

    /// Replaces the loop's series with those of `snapshot`.
    pub fn render_snapshot(&mut self, name: LoopName, snapshot: &LoopSnapshot) {
        let fresh = recorder(&self.naming);
        let float_counters = metrics::with_local_recorder(&fresh, || match snapshot {
            LoopSnapshot::HotPath(s) => {
                hot_path::record(&self.naming, s);
                Vec::new()
            }
            LoopSnapshot::Workload(s) => workload::record(&self.naming, s),
            LoopSnapshot::Storage(s) => {
                storage::record_storage(&self.naming, s);
                Vec::new()
            }
            LoopSnapshot::Hourly(s) => {
                storage::record_hourly(&self.naming, s);
                Vec::new()
            }
            LoopSnapshot::Empty { .. } => Vec::new(),
        });
        let mut text = fresh.handle().render();
        for counter in float_counters {
            counter.render(&self.naming.cluster, &mut text);
        }
        self.loop_text.insert(name, text);
    }

    pub fn clear_snapshot(&mut self, name: LoopName) {
        self.loop_text.remove(&name);
    }

    /// The whole `/metrics` body. While the database is unreachable (`database_down`) only the
    /// agent's own series are served: the last values read from the database are withdrawn
    /// rather than shown next to `pgmon_database_up 0` as if they were current.
    pub fn render(&self, database_down: bool) -> String {
        let handle = self.agent.handle();
        handle.run_upkeep();
        if let Some(stats) = &self.notifier {
            use std::sync::atomic::Ordering;
            metrics::with_local_recorder(&self.agent, || {
                metrics::counter!(catalog::PGMON_NOTIFICATIONS_SENT_TOTAL.name)
                    .absolute(stats.sent.load(Ordering::Relaxed));
                metrics::counter!(catalog::PGMON_NOTIFICATIONS_FAILED_TOTAL.name)
                    .absolute(stats.failed.load(Ordering::Relaxed));
            });
        }
        let mut out = handle.render();
        if !database_down {
            for text in self.loop_text.values() {
                out.push_str(text);
            }
            out.push_str(&self.alert_data_text);
        }
        out.push_str(&self.alerts_text);
        out
    }
}

/// The metrics reference (docs/metrics.md), generated from the catalog.
pub fn metrics_reference_markdown() -> String {
    let mut out = String::from(
        "# pgmon metrics\n\nGenerated from `src/telemetry/catalog.rs` (a test fails when this file drifts; \
         regenerate with `PGMON_UPDATE_DOCS=1 cargo test --lib metrics_reference`).\n\n\
         Every series also carries `cluster`. `metrics.prefix` is prepended to every family not starting \
         with `pgmon_`. No label ever holds a PID, a user name or SQL text.\n\n\
         `relation`, `index` and `parent` are `schema.name` with each part written as PostgreSQL's \
         `quote_ident()` writes it: bare when lowercase `[a-z_][a-z0-9_]*` and not a keyword, else \
         double-quoted with `\"` doubled (`public.\"Orders\"`, `\"public.a\".b`, `public.\"a.b\"`), and \
         in the Unicode-escape form when it holds a control character or a backslash \
         (`public.U&\"cr\\000dx\"`, `public.U&\"x\\005cy\"`). So two \
         relations never share a series, and a label pastes into SQL as is. `replica` is the \
         application_name written the same way, with `@host:port` when the name is empty, `self` or shared. \
         The rule in full: [api.md](api.md#conventions), Names.\n\n\
         | metric | type | labels | source | meaning |\n| --- | --- | --- | --- | --- |\n",
    );
    for def in CATALOG {
        let kind = match def.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let labels = std::iter::once("cluster")
            .chain(def.labels.iter().copied())
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "| `{}` | {kind} | {labels} | {} | {} |\n",
            def.name, def.source, def.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::{autovacuum, blocking, canary, connections, hot_path::HotPathSnapshot, temp, transactions};

    fn naming(prefix: &str) -> SeriesNaming {
        SeriesNaming {
            cluster: "prod".into(),
            db: "app".into(),
            prefix: prefix.into(),
        }
    }

    fn snapshot() -> HotPathSnapshot {
        HotPathSnapshot {
            database: "app".into(),
            connections: Ok(connections::ConnectionStats {
                connections: 12,
                active: 3,
                idle: 8,
                idle_in_transaction: 1,
                max_connections: 100,
                superuser_reserved_connections: 3,
                usage_ratio: 0.12,
            }),
            transactions: Ok(transactions::summarize(vec![], None)),
            blocking: Ok(blocking::summarize(&[], vec![], 4)),
            autovacuum: Ok(autovacuum::summarize(vec![])),
            temp: Ok(vec![temp::TempSpill {
                database: "app".into(),
                temp_files: 2,
                temp_bytes: 4096,
                temp_bytes_per_second: Some(10.0),
                temp_files_per_second: Some(0.1),
            }]),
            canary: Err("permission denied".into()),
        }
    }

    fn families(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("# TYPE "))
            .map(|l| l.split_whitespace().nth(2).unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_exported_family_is_in_the_catalog() {
        for prefix in ["", "pgmon_"] {
            let mut t = Telemetry::new(naming(prefix));
            t.render_snapshot(
                LoopName::HotPath,
                &LoopSnapshot::HotPath(std::sync::Arc::new(snapshot())),
            );
            t.record_run(LoopName::HotPath, Duration::from_millis(5), true, 0, false);
            t.record_database_up(true);
            let text = t.render(false);
            for family in families(&text) {
                let base = family.trim_end_matches("_bucket");
                assert!(
                    catalog::find(base, prefix).is_some(),
                    "{family} is not in the catalog (prefix {prefix:?})"
                );
            }
            assert!(
                text.contains(&format!("{prefix}pg_connections{{cluster=\"prod\",db=\"app\"}} 12")),
                "{text}"
            );
            assert!(
                text.contains("pgmon_errors_total{cluster=\"prod\",db=\"app\",loop=\"hot_path\"} 0"),
                "{text}"
            );
        }
    }

    #[test]
    fn failed_section_exports_nothing_and_series_follow_the_snapshot() {
        let mut t = Telemetry::new(naming(""));
        t.render_snapshot(
            LoopName::HotPath,
            &LoopSnapshot::HotPath(std::sync::Arc::new(snapshot())),
        );
        let text = t.render(false);
        assert!(
            !text.contains("pgmon_canary_latency_seconds"),
            "canary failed: no stale value"
        );
        assert!(text.contains("pg_temp_bytes_total{cluster=\"prod\",db=\"app\"} 4096"));

        let mut without_temp = snapshot();
        without_temp.temp = Ok(vec![]);
        t.render_snapshot(
            LoopName::HotPath,
            &LoopSnapshot::HotPath(std::sync::Arc::new(without_temp)),
        );
        assert!(
            !t.render(false).contains("pg_temp_bytes_total"),
            "a database that left the snapshot leaves /metrics"
        );
        t.clear_snapshot(LoopName::HotPath);
        assert!(!t.render(false).contains("pg_connections"));
    }

    #[test]
    fn unreachable_database_withdraws_every_data_series_but_keeps_the_agents() {
        let mut t = Telemetry::new(naming(""));
        t.render_snapshot(
            LoopName::HotPath,
            &LoopSnapshot::HotPath(std::sync::Arc::new(snapshot())),
        );
        t.record_database_up(false);
        let down = t.render(true);
        assert!(!down.contains("pg_connections"), "{down}");
        assert!(!down.contains("pg_temp_bytes_total"), "{down}");
        assert!(
            down.contains("pgmon_database_up{cluster=\"prod\",db=\"app\"} 0"),
            "{down}"
        );
        assert!(down.contains("pgmon_errors_total"), "{down}");
        t.record_database_up(true);
        assert!(t
            .render(false)
            .contains("pg_connections{cluster=\"prod\",db=\"app\"} 12"));
    }

    #[test]
    fn metrics_reference_matches_docs() {
        let generated = metrics_reference_markdown();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md");
        if std::env::var("PGMON_UPDATE_DOCS").is_ok() {
            std::fs::write(path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/metrics.md is out of date: PGMON_UPDATE_DOCS=1 cargo test --lib metrics_reference"
        );
    }

    #[test]
    fn canary_result_is_a_gauge_in_seconds() {
        let mut s = snapshot();
        s.canary = Ok(canary::CanaryResult {
            round_trip_seconds: 0.0004,
            explain_execution_seconds: None,
        });
        let mut t = Telemetry::new(naming(""));
        t.render_snapshot(LoopName::HotPath, &LoopSnapshot::HotPath(std::sync::Arc::new(s)));
        assert!(t
            .render(false)
            .contains("pgmon_canary_latency_seconds{cluster=\"prod\",db=\"app\"} 0.0004"));
    }
}

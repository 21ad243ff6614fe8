//! Prometheus exposition: the agent's own metrics live in one long-lived recorder; each loop's
//! data series are rendered into a fresh recorder whenever that loop publishes, and cached as
//! text. `/metrics` is the concatenation — it never touches the database, costs the same
//! whatever the catalog size, and a relation or query that leaves a snapshot leaves the output
//! at once (series follow the data).

pub mod catalog;
mod hot_path;

use crate::actors::messages::LoopName;
use crate::collectors::LoopSnapshot;
use catalog::{Kind, CATALOG};
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
    /// The exported name of a catalog family.
    pub fn name(&self, base: &'static str) -> String {
        match catalog::CATALOG.iter().find(|d| d.name == base) {
            Some(def) => def.full_name(&self.prefix),
            None => base.to_string(),
        }
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
            Matcher::Full("pgmon_scrape_duration_seconds".into()),
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

pub struct Telemetry {
    naming: SeriesNaming,
    agent: PrometheusRecorder,
    loop_text: BTreeMap<LoopName, String>,
}

impl Telemetry {
    pub fn new(naming: SeriesNaming) -> Self {
        let agent = recorder(&naming);
        metrics::with_local_recorder(&agent, || {
            metrics::gauge!(
                "pgmon_build_info",
                vec![Label::new("version", env!("CARGO_PKG_VERSION"))]
            )
            .set(1.0);
            for name in LoopName::ALL {
                let labels = naming.labels(&[("loop", name.as_str().to_string())]);
                metrics::counter!("pgmon_errors_total", labels.clone()).absolute(0);
                metrics::counter!("pgmon_loop_restarts_total", labels.clone()).absolute(0);
                metrics::counter!("pgmon_loop_skipped_ticks_total", labels.clone()).absolute(0);
                metrics::counter!("pgmon_loop_budget_overruns_total", labels).absolute(0);
            }
        });
        Self {
            naming,
            agent,
            loop_text: BTreeMap::new(),
        }
    }

    fn loop_labels(&self, name: LoopName) -> Vec<Label> {
        self.naming.labels(&[("loop", name.as_str().to_string())])
    }

    pub fn record_run(
        &self,
        name: LoopName,
        duration: Duration,
        success: bool,
        errors: u64,
        over_budget: bool,
        reachable: bool,
    ) {
        let labels = self.loop_labels(name);
        let finished = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        metrics::with_local_recorder(&self.agent, || {
            metrics::histogram!("pgmon_scrape_duration_seconds", labels.clone())
                .record(duration.as_secs_f64());
            metrics::gauge!("pgmon_last_scrape_success", labels.clone()).set(if success {
                1.0
            } else {
                0.0
            });
            metrics::gauge!("pgmon_loop_last_run_timestamp_seconds", labels.clone()).set(finished);
            metrics::counter!("pgmon_errors_total", labels.clone()).increment(errors);
            if over_budget {
                metrics::counter!("pgmon_loop_budget_overruns_total", labels).increment(1);
            }
            metrics::gauge!("pgmon_database_up", self.naming.labels(&[])).set(if reachable {
                1.0
            } else {
                0.0
            });
        });
    }

    pub fn record_restarts(&self, name: LoopName, restarts: u32) {
        let labels = self.loop_labels(name);
        metrics::with_local_recorder(&self.agent, || {
            metrics::counter!("pgmon_loop_restarts_total", labels).absolute(u64::from(restarts));
        });
    }

    pub fn record_skipped_tick(&self, name: LoopName) {
        let labels = self.loop_labels(name);
        metrics::with_local_recorder(&self.agent, || {
            metrics::counter!("pgmon_loop_skipped_ticks_total", labels).increment(1);
        });
    }

    /// Replaces the loop's series with those of `snapshot`.
    pub fn render_snapshot(&mut self, name: LoopName, snapshot: &LoopSnapshot) {
        let fresh = recorder(&self.naming);
        metrics::with_local_recorder(&fresh, || match snapshot {
            LoopSnapshot::HotPath(s) => hot_path::record(&self.naming, s),
            LoopSnapshot::Empty { .. } => {}
        });
        self.loop_text.insert(name, fresh.handle().render());
    }

    pub fn clear_snapshot(&mut self, name: LoopName) {
        self.loop_text.remove(&name);
    }

    /// The whole `/metrics` body.
    pub fn render(&self) -> String {
        let handle = self.agent.handle();
        handle.run_upkeep();
        let mut out = handle.render();
        for text in self.loop_text.values() {
            out.push_str(text);
        }
        out
    }
}

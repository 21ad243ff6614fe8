//! StateActor: the one owner of pgmon's state — the latest snapshot per loop, each loop's
//! health, the detected capabilities and their advisories, and the rendered `/metrics` text.
//!
//! It receives `LoopStarted`, `TickSkipped`, `RunFinished`, `CapabilitiesDetected` and
//! `WriteAccessDetected` from the loops, logs and counts each event in the same place (so logs
//! and metrics agree), forwards snapshots to the AlertEvaluator, and answers `GetView` with an
//! immutable `Arc<StateView>` rebuilt after each change. It never touches the database and
//! holds no lock across an await; if it stopped, the System would stop with it.

use super::history::History;
use super::messages::*;
use crate::alerts::engine::{Alert, ResolvedAlert, Transition};
use crate::collectors::{hot_path, hourly, storage, workload, LoopSnapshot, SqlUsed};
use crate::db::capabilities::{Advisory, Capabilities};
use crate::telemetry::Telemetry;
use actix::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Slack allowed past interval + budget before a loop counts as late.
pub const LATE_SLACK: Duration = Duration::from_secs(2);

/// One loop's health as last reported.
#[derive(Debug, Clone, Serialize)]
pub struct LoopHealth {
    pub name: LoopName,
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    pub budget: Duration,
    #[serde(with = "humantime_serde")]
    pub last_run_at: Option<SystemTime>,
    #[serde(with = "humantime_serde")]
    pub last_success_at: Option<SystemTime>,
    pub last_duration_seconds: Option<f64>,
    /// Whether the last run produced every section.
    pub last_run_ok: Option<bool>,
    pub last_error: Option<String>,
    pub last_failure_kind: Option<FailureKind>,
    /// Sections that failed in the last completed run.
    pub section_errors: BTreeMap<String, String>,
    pub consecutive_failures: u32,
    pub runs_total: u64,
    pub errors_total: u64,
    pub restarts: u32,
    pub skipped_ticks: u64,
    pub budget_overruns: u64,
    /// When the next run is expected to start.
    #[serde(with = "humantime_serde")]
    pub next_run_due: Option<SystemTime>,
}

impl LoopHealth {
    fn new(name: LoopName, interval: Duration, budget: Duration) -> Self {
        Self {
            name,
            interval,
            budget,
            last_run_at: None,
            last_success_at: None,
            last_duration_seconds: None,
            last_run_ok: None,
            last_error: None,
            last_failure_kind: None,
            section_errors: BTreeMap::new(),
            consecutive_failures: 0,
            runs_total: 0,
            errors_total: 0,
            restarts: 0,
            skipped_ticks: 0,
            budget_overruns: 0,
            next_run_due: None,
        }
    }

    /// Whether this loop is healthy at `now`, and if not, why (for `/healthz`).
    pub fn status(&self, now: SystemTime) -> LoopStatus {
        if let Some(due) = self.next_run_due {
            let late_after = due + self.budget + LATE_SLACK;
            if now > late_after {
                let overdue = now.duration_since(due).unwrap_or_default();
                return LoopStatus::Degraded(format!(
                    "late: the run due {} ago has not finished (interval {})",
                    humantime::format_duration(Duration::from_secs(overdue.as_secs())),
                    humantime::format_duration(self.interval)
                ));
            }
        }
        match self.last_run_ok {
            None => LoopStatus::Starting,
            Some(false) => {
                let error = self.last_error.clone().unwrap_or_else(|| "unknown error".into());
                if self.section_errors.is_empty() {
                    LoopStatus::Degraded(error)
                } else {
                    let sections: Vec<String> = self.section_errors.iter().map(|(s, e)| format!("{s}: {e}")).collect();
                    LoopStatus::Degraded(format!("sections failed: {}", sections.join("; ")))
                }
            }
            Some(true) => match self.last_duration_seconds {
                Some(d) if d > self.budget.as_secs_f64() => LoopStatus::Degraded(format!(
                    "over budget: last run took {:.3}s (budget {})",
                    d,
                    humantime::format_duration(self.budget)
                )),
                _ => LoopStatus::Ok,
            },
        }
    }

    /// The database is known unreachable when this loop's last run could not get a connection.
    pub fn database_unreachable(&self) -> Option<&str> {
        match (self.last_run_ok, self.last_failure_kind) {
            (Some(false), Some(FailureKind::Unreachable)) => self.last_error.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopStatus {
    Ok,
    /// No run has finished yet.
    Starting,
    Degraded(String),
}

/// A snapshot with the time its run started.
#[derive(Debug, Clone)]
pub struct Published {
    pub at: SystemTime,
    pub snapshot: Arc<LoopSnapshot>,
}

impl Published {
    pub fn hot_path(&self) -> Option<&hot_path::HotPathSnapshot> {
        match &*self.snapshot {
            LoopSnapshot::HotPath(s) => Some(s),
            _ => None,
        }
    }

    pub fn workload(&self) -> Option<&workload::WorkloadSnapshot> {
        match &*self.snapshot {
            LoopSnapshot::Workload(s) => Some(s),
            _ => None,
        }
    }

    pub fn storage(&self) -> Option<&storage::StorageSnapshot> {
        match &*self.snapshot {
            LoopSnapshot::Storage(s) => Some(s),
            _ => None,
        }
    }

    pub fn hourly(&self) -> Option<&hourly::HourlySnapshot> {
        match &*self.snapshot {
            LoopSnapshot::Hourly(s) => Some(s),
            _ => None,
        }
    }
}

/// What HTTP handlers read: immutable, shared, rebuilt by the StateActor after each change.
#[derive(Debug, Clone)]
pub struct StateView {
    pub cluster: String,
    pub db: String,
    pub started_at: SystemTime,
    pub capabilities: Option<Arc<Capabilities>>,
    pub advisories: Vec<Advisory>,
    pub loops: Vec<LoopHealth>,
    pub snapshots: BTreeMap<LoopName, Published>,
    /// Pending and firing alerts, and recently resolved ones (newest first).
    pub open_alerts: Vec<Alert>,
    pub alert_history: Vec<ResolvedAlert>,
    /// Headline figures over the last `ui.history_window`, for the UI's charts.
    pub history: Arc<History>,
    /// The whole `/metrics` body; `Bytes` so each response shares it instead of copying.
    pub metrics_text: actix_web::web::Bytes,
}

impl StateView {
    pub fn hot_path(&self) -> Option<(&Published, &hot_path::HotPathSnapshot)> {
        self.snapshots
            .get(&LoopName::HotPath)
            .and_then(|p| p.hot_path().map(|s| (p, s)))
    }

    pub fn workload(&self) -> Option<(&Published, &workload::WorkloadSnapshot)> {
        self.snapshots
            .get(&LoopName::Workload)
            .and_then(|p| p.workload().map(|s| (p, s)))
    }

    pub fn storage(&self) -> Option<(&Published, &storage::StorageSnapshot)> {
        self.snapshots
            .get(&LoopName::Storage)
            .and_then(|p| p.storage().map(|s| (p, s)))
    }

    pub fn hourly(&self) -> Option<(&Published, &hourly::HourlySnapshot)> {
        self.snapshots
            .get(&LoopName::Hourly)
            .and_then(|p| p.hourly().map(|s| (p, s)))
    }

    pub fn workload_sql(&self) -> Vec<SqlUsed> {
        workload::sql_used(self.capabilities.as_deref())
    }

    pub fn hot_path_sql(&self) -> Vec<SqlUsed> {
        hot_path::sql_used(self.capabilities.as_ref().map_or(140000, |c| c.server_version_num))
    }
}

pub struct StateActor {
    cluster: String,
    db: String,
    started_at: SystemTime,
    loops: BTreeMap<LoopName, LoopHealth>,
    capabilities: Option<Arc<Capabilities>>,
    advisories: Vec<Advisory>,
    snapshots: BTreeMap<LoopName, Published>,
    telemetry: Telemetry,
    alerts: Option<Recipient<EvaluateAlerts>>,
    open_alerts: Vec<Alert>,
    alert_history: Vec<ResolvedAlert>,
    history: Arc<History>,
    view: Arc<StateView>,
}

impl StateActor {
    pub fn new(
        cluster: String,
        db: String,
        telemetry: Telemetry,
        alerts: Option<Recipient<EvaluateAlerts>>,
        history_window: Duration,
    ) -> Self {
        let started_at = SystemTime::now();
        let history = Arc::new(History::new(history_window));
        let view = Arc::new(StateView {
            cluster: cluster.clone(),
            db: db.clone(),
            started_at,
            capabilities: None,
            advisories: Vec::new(),
            loops: Vec::new(),
            snapshots: BTreeMap::new(),
            open_alerts: Vec::new(),
            alert_history: Vec::new(),
            history: history.clone(),
            metrics_text: Default::default(),
        });
        let mut actor = Self {
            cluster,
            db,
            started_at,
            loops: BTreeMap::new(),
            capabilities: None,
            advisories: Vec::new(),
            snapshots: BTreeMap::new(),
            telemetry,
            alerts,
            open_alerts: Vec::new(),
            alert_history: Vec::new(),
            history,
            view,
        };
        actor.refresh_view();
        actor
    }

    fn refresh_view(&mut self) {
        self.view = Arc::new(StateView {
            cluster: self.cluster.clone(),
            db: self.db.clone(),
            started_at: self.started_at,
            capabilities: self.capabilities.clone(),
            advisories: self.advisories.clone(),
            loops: self.loops.values().cloned().collect(),
            snapshots: self.snapshots.clone(),
            open_alerts: self.open_alerts.clone(),
            alert_history: self.alert_history.clone(),
            history: self.history.clone(),
            metrics_text: self.telemetry.render().into(),
        });
    }

    fn health_mut(&mut self, name: LoopName) -> &mut LoopHealth {
        self.loops
            .entry(name)
            .or_insert_with(|| LoopHealth::new(name, Duration::from_secs(0), Duration::from_secs(0)))
    }
}

impl Actor for StateActor {
    type Context = Context<Self>;
}

impl Handler<LoopStarted> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: LoopStarted, _: &mut Context<Self>) {
        let health = self.health_mut(msg.loop_name);
        health.interval = msg.interval;
        health.budget = msg.budget;
        health.restarts = msg.restarts;
        health.next_run_due = Some(SystemTime::now() + msg.first_tick_in);
        if msg.restarts > 0 {
            tracing::warn!(loop_name = %msg.loop_name, restarts = msg.restarts, backoff = %humantime::format_duration(msg.first_tick_in), "loop restarted by its supervisor");
        } else {
            tracing::info!(loop_name = %msg.loop_name, interval = %humantime::format_duration(msg.interval), budget = %humantime::format_duration(msg.budget), "loop started");
        }
        self.telemetry.record_restarts(msg.loop_name, msg.restarts);
        self.refresh_view();
    }
}

impl Handler<TickSkipped> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: TickSkipped, _: &mut Context<Self>) {
        let health = self.health_mut(msg.loop_name);
        health.skipped_ticks += 1;
        let skipped = health.skipped_ticks;
        tracing::warn!(loop_name = %msg.loop_name, skipped_ticks = skipped, "tick skipped: the previous run is still going");
        self.telemetry.record_skipped_tick(msg.loop_name);
        self.refresh_view();
    }
}

impl Handler<RunFinished> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: RunFinished, _: &mut Context<Self>) {
        let name = msg.loop_name;
        let health = self.health_mut(name);
        health.runs_total += 1;
        health.last_run_at = Some(msg.started_at);
        health.last_duration_seconds = Some(msg.duration.as_secs_f64());
        health.next_run_due = Some(msg.started_at + health.interval);
        let over_budget = msg.duration > health.budget;
        if over_budget {
            health.budget_overruns += 1;
        }
        let (errors, success) = match &msg.outcome {
            RunOutcome::Completed { snapshot } => {
                let section_errors = snapshot.section_errors();
                health.section_errors = section_errors.iter().map(|(s, e)| (s.to_string(), e.clone())).collect();
                health.last_failure_kind = None;
                if section_errors.is_empty() {
                    health.last_run_ok = Some(true);
                    health.last_error = None;
                    health.last_success_at = Some(msg.started_at);
                    health.consecutive_failures = 0;
                } else {
                    health.last_run_ok = Some(false);
                    health.last_error = Some(format!("{} section(s) failed", section_errors.len()));
                    for (section, error) in &section_errors {
                        tracing::warn!(loop_name = %name, section = %section, error = %error, "collector failed; publishing the other sections");
                    }
                }
                (section_errors.len() as u64, section_errors.is_empty())
            }
            RunOutcome::Failed { kind, error } => {
                health.section_errors.clear();
                health.last_run_ok = Some(false);
                health.last_error = Some(error.clone());
                health.last_failure_kind = Some(*kind);
                health.consecutive_failures += 1;
                tracing::warn!(loop_name = %name, kind = ?kind, error = %error, consecutive_failures = health.consecutive_failures, "loop run failed");
                (1, false)
            }
        };
        health.errors_total += errors;
        if over_budget {
            tracing::warn!(loop_name = %name, duration = ?msg.duration, "loop run exceeded its budget");
        }
        let reachable = !matches!(
            &msg.outcome,
            RunOutcome::Failed {
                kind: FailureKind::Unreachable,
                ..
            }
        );
        self.telemetry
            .record_run(name, msg.duration, success, errors, over_budget, reachable);

        match (&msg.outcome, name) {
            (RunOutcome::Completed { snapshot }, _) => match &**snapshot {
                LoopSnapshot::HotPath(hp) => Arc::make_mut(&mut self.history).record_hot_path(msg.started_at, hp),
                LoopSnapshot::Workload(w) => Arc::make_mut(&mut self.history).record_workload(msg.started_at, w),
                _ => {}
            },
            (RunOutcome::Failed { .. }, LoopName::HotPath) => {
                Arc::make_mut(&mut self.history).record_hot_path_gap(msg.started_at)
            }
            _ => {}
        }
        if let RunOutcome::Completed { snapshot } = msg.outcome {
            self.telemetry.render_snapshot(name, &snapshot);
            let published = Published {
                at: msg.started_at,
                snapshot: snapshot.clone(),
            };
            self.snapshots.insert(name, published);
        } else {
            // Series follow the data: a loop that cannot read the database exports nothing
            // from it rather than stale values.
            self.telemetry.clear_snapshot(name);
            self.snapshots.remove(&name);
        }
        self.refresh_view();
        if let Some(alerts) = &self.alerts {
            alerts.do_send(EvaluateAlerts {
                view: self.view.clone(),
                at: SystemTime::now(),
            });
        }
    }
}

impl Handler<AlertsChanged> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: AlertsChanged, _: &mut Context<Self>) {
        for t in &msg.transitions {
            match t {
                Transition::Firing(a) | Transition::Escalated(a) => {
                    tracing::warn!(kind = a.kind, severity = a.severity.as_str(), dedupe_key = %a.dedupe_key, "alert firing: {}", a.message);
                    self.telemetry.record_alert(a.kind, a.severity.as_str());
                }
                Transition::Resolved(r) => {
                    tracing::info!(kind = r.kind, dedupe_key = %r.dedupe_key, "alert resolved: {}", r.message);
                }
            }
        }
        self.telemetry.render_alerts(&msg.open);
        self.open_alerts = msg.open;
        self.alert_history = msg.history;
        self.refresh_view();
    }
}

impl Handler<CapabilitiesDetected> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: CapabilitiesDetected, _: &mut Context<Self>) {
        let caps = msg.capabilities;
        let advisories = caps.advisories();
        if self.capabilities.as_deref() != Some(&*caps) {
            tracing::info!(
                server_version = %caps.server_version,
                database = %caps.database,
                role = %caps.role,
                in_recovery = caps.in_recovery,
                extensions = %caps.extensions.join(","),
                "connected; capabilities detected"
            );
        }
        // Each advisory is logged once, not on every reconnect.
        for advisory in advisories.iter().filter(|a| !self.advisories.contains(a)) {
            tracing::warn!(code = advisory.code, fix = %advisory.fix, "{}", advisory.message);
        }
        self.advisories = advisories;
        self.capabilities = Some(caps);
        self.refresh_view();
    }
}

impl Handler<WriteAccessDetected> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: WriteAccessDetected, _: &mut Context<Self>) {
        tracing::error!("{}", msg.message);
        eprintln!("pgmon: {}", msg.message);
        std::process::exit(crate::EXIT_WRITE_ACCESS);
    }
}

impl Handler<GetView> for StateActor {
    type Result = MessageResult<GetView>;
    fn handle(&mut self, _: GetView, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.view.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> LoopHealth {
        LoopHealth::new(LoopName::HotPath, Duration::from_secs(15), Duration::from_secs(1))
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn starting_until_first_run() {
        let mut h = health();
        h.next_run_due = Some(at(0));
        assert_eq!(h.status(at(1)), LoopStatus::Starting);
    }

    #[test]
    fn successful_run_within_budget_is_ok() {
        let mut h = health();
        h.last_run_ok = Some(true);
        h.last_duration_seconds = Some(0.05);
        h.next_run_due = Some(at(15));
        assert_eq!(h.status(at(10)), LoopStatus::Ok);
    }

    #[test]
    fn late_when_due_run_has_not_finished() {
        let mut h = health();
        h.last_run_ok = Some(true);
        h.last_duration_seconds = Some(0.05);
        h.next_run_due = Some(at(15));
        assert_eq!(h.status(at(17)), LoopStatus::Ok, "within budget + slack");
        match h.status(at(40)) {
            LoopStatus::Degraded(reason) => {
                assert!(reason.starts_with("late: the run due 25s ago"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failed_run_names_the_error() {
        let mut h = health();
        h.last_run_ok = Some(false);
        h.last_failure_kind = Some(FailureKind::Unreachable);
        h.last_error = Some("database unreachable: connection refused".into());
        h.next_run_due = Some(at(15));
        assert_eq!(
            h.status(at(1)),
            LoopStatus::Degraded("database unreachable: connection refused".into())
        );
        assert_eq!(
            h.database_unreachable(),
            Some("database unreachable: connection refused")
        );
    }

    #[test]
    fn partial_failure_lists_sections() {
        let mut h = health();
        h.last_run_ok = Some(false);
        h.last_error = Some("1 section(s) failed".into());
        h.section_errors.insert("temp".into(), "permission denied".into());
        h.next_run_due = Some(at(15));
        assert_eq!(
            h.status(at(1)),
            LoopStatus::Degraded("sections failed: temp: permission denied".into())
        );
        assert_eq!(h.database_unreachable(), None);
    }

    #[test]
    fn over_budget_is_degraded() {
        let mut h = health();
        h.last_run_ok = Some(true);
        h.last_duration_seconds = Some(1.4);
        h.next_run_due = Some(at(15));
        assert!(
            matches!(h.status(at(1)), LoopStatus::Degraded(r) if r.starts_with("over budget: last run took 1.400s"))
        );
    }
}

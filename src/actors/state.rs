//! StateActor: the one owner of pgmon's state — the latest snapshot per loop, each loop's
//! health, whether the database answers, the detected capabilities and their advisories, the
//! role's write access, and the rendered `/metrics` text.
//!
//! It receives `LoopStarted`, `TickSkipped`, `RunFinished`, `CapabilitiesDetected` and
//! `PrivilegesChecked` from the loops, logs and counts each event in the same place (so logs
//! and metrics agree), and runs the alert engine where the news lands: the rules are pure and
//! cannot fail, so there is no second actor and no shadow copy of the snapshots; each
//! transition goes to the Notifier's own task, which never blocks. After each change it
//! renders `/metrics` once and publishes an immutable `Arc<StateView>` on a
//! `tokio::sync::watch` channel: HTTP handlers read the latest one without ever queueing
//! behind this mailbox, so no amount of HTTP traffic delays a loop. `GetView` answers the
//! same view (tests). A one-second heartbeat
//! stamped from its context tells `/livez` the actor system is alive. It never touches
//! the database and holds no lock across an await; if it stopped, the System would stop with
//! it.

use super::history::History;
use super::messages::*;
use crate::alerts::engine::{Alert, Engine, ResolvedAlert, Transition};
use crate::alerts::notifier::Notifier;
use crate::alerts::{self, Inputs};
use crate::collectors::hot_path::{self, HotPathSnapshot};
use crate::collectors::hourly::HourlySnapshot;
use crate::collectors::storage::StorageSnapshot;
use crate::collectors::workload::{self, WorkloadSnapshot};
use crate::collectors::{CollectError, LoopSnapshot, SqlUsed};
use crate::config::AlertThresholds;
use crate::db::capabilities::{quote_ident, Advisory, Capabilities};
use crate::db::privileges::{write_access_summary, WritePrivilege};
use crate::loops::{FailureKind, LoopName};
use crate::telemetry::Telemetry;
use actix::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Slack allowed past interval + budget before a loop counts as late.
pub const LATE_SLACK: Duration = Duration::from_secs(2);

/// One loop's health as last reported.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoopHealth {
    pub name: LoopName,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub budget: Duration,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = Option<String>)]
    pub last_run_at: Option<SystemTime>,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = Option<String>)]
    pub last_success_at: Option<SystemTime>,
    pub last_duration_seconds: Option<f64>,
    /// How long the last completed run had statements in flight on its session (capability
    /// and privilege checks included, waiting for a connection not), as the agent measures it:
    /// the database time it cost, plus loopback round trips.
    pub last_db_seconds: Option<f64>,
    /// The database time this loop costs per hour at its interval: the mean of its last
    /// [`DB_TIME_RUNS`] completed runs times the runs an hour. Null before the first.
    pub db_seconds_per_hour: Option<f64>,
    #[serde(skip)]
    #[schema(ignore)]
    recent_db_seconds: std::collections::VecDeque<f64>,
    /// Whether the last run produced every section.
    pub last_run_ok: Option<bool>,
    pub last_error: Option<String>,
    pub last_failure_kind: Option<FailureKind>,
    /// Sections that failed in the last completed run, with why in words.
    pub section_errors: BTreeMap<String, String>,
    /// The same failures typed: `timeout`, `query` (with the SQLSTATE), `connection_lost` or
    /// `client`, so a client can tell a missing privilege from a timeout without parsing text.
    pub section_failures: BTreeMap<String, CollectError>,
    pub consecutive_failures: u32,
    pub runs_total: u64,
    pub errors_total: u64,
    pub restarts: u32,
    pub skipped_ticks: u64,
    pub budget_overruns: u64,
    /// Runs that got no connection because the loop's own was still held by its previous run.
    pub pool_busy: u64,
    /// When the next run is expected to start.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = Option<String>)]
    pub next_run_due: Option<SystemTime>,
}

/// Completed runs the per-hour database time is averaged over.
pub const DB_TIME_RUNS: usize = 10;

impl LoopHealth {
    /// Takes one completed run's database time into `last_db_seconds` and `db_seconds_per_hour`.
    pub fn record_db_time(&mut self, db_seconds: f64) {
        self.last_db_seconds = Some(db_seconds);
        if self.recent_db_seconds.len() == DB_TIME_RUNS {
            self.recent_db_seconds.pop_front();
        }
        self.recent_db_seconds.push_back(db_seconds);
        let mean = self.recent_db_seconds.iter().sum::<f64>() / self.recent_db_seconds.len() as f64;
        let runs_per_hour = 3600.0 / self.interval.as_secs_f64().max(0.001);
        self.db_seconds_per_hour = Some(mean * runs_per_hour);
    }

    fn new(name: LoopName, interval: Duration, budget: Duration) -> Self {
        Self {
            name,
            interval,
            budget,
            last_run_at: None,
            last_success_at: None,
            last_duration_seconds: None,
            last_db_seconds: None,
            db_seconds_per_hour: None,
            recent_db_seconds: std::collections::VecDeque::new(),
            last_run_ok: None,
            last_error: None,
            last_failure_kind: None,
            section_errors: BTreeMap::new(),
            section_failures: BTreeMap::new(),
            consecutive_failures: 0,
            runs_total: 0,
            errors_total: 0,
            restarts: 0,
            skipped_ticks: 0,
            budget_overruns: 0,
            pool_busy: 0,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopStatus {
    Ok,
    /// No run has finished yet.
    Starting,
    Degraded(String),
}

/// Whether the database answers, from the loops' runs. Only a failed connect, a lost session
/// or a failed canary says "unreachable"; a busy pool, a slow run or a panic says nothing
/// either way. The `database_unreachable` alert waits for the outage to be confirmed.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DatabaseStatus {
    /// `None` until a run has connected or failed to.
    pub reachable: Option<bool>,
    /// Why it is unreachable, when it is.
    pub error: Option<String>,
    /// Since when it has been in its current state.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = Option<String>)]
    pub since: Option<SystemTime>,
    /// Consecutive runs of one loop that found it unreachable (the longest streak of any loop).
    pub failed_runs: u32,
    /// When the run behind the current verdict started: evidence from a run that started
    /// earlier is older and does not overturn it (a long run finishing late, a report queued
    /// behind others).
    #[serde(skip)]
    evidence_started_at: Option<SystemTime>,
    #[serde(skip)]
    streaks: BTreeMap<LoopName, u32>,
}

impl DatabaseStatus {
    /// Consecutive failed runs (of one loop) before the outage counts as confirmed.
    pub const CONFIRM_AFTER_RUNS: u32 = 2;

    pub fn is_down(&self) -> bool {
        self.reachable == Some(false)
    }

    /// The reason, once the outage is confirmed by consecutive failed runs.
    pub fn confirmed_unreachable(&self) -> Option<&str> {
        (self.is_down() && self.failed_runs >= Self::CONFIRM_AFTER_RUNS)
            .then(|| self.error.as_deref().unwrap_or("database unreachable"))
    }

    /// Takes one run's outcome into account; returns whether `reachable` changed.
    fn observe(
        &mut self,
        name: LoopName,
        started_at: SystemTime,
        finished_at: SystemTime,
        outcome: &RunOutcome,
    ) -> bool {
        let unreachable = match outcome {
            RunOutcome::Failed {
                kind: FailureKind::Unreachable,
                error,
            } => Some(error),
            _ => None,
        };
        // "Consecutive" means consecutive runs of one loop: any other outcome ends its streak.
        match unreachable {
            Some(_) => *self.streaks.entry(name).or_default() += 1,
            None => {
                self.streaks.remove(&name);
            }
        }
        self.failed_runs = self.streaks.values().copied().max().unwrap_or(0);
        let evidence = match (outcome, unreachable) {
            (_, Some(error)) => Some(Some(error.clone())),
            (RunOutcome::Completed { .. }, None) => Some(None),
            // A busy pool, a slow run or a panic says nothing about the database.
            _ => None,
        };
        let Some(error) = evidence else {
            return false;
        };
        if self.evidence_started_at.is_some_and(|newest| started_at < newest) {
            return false;
        }
        self.evidence_started_at = Some(started_at);
        let before = self.reachable;
        self.reachable = Some(error.is_none());
        self.error = error;
        if before != self.reachable {
            self.since = Some(finished_at);
            true
        } else {
            false
        }
    }
}

/// A loop's latest snapshot with the time its run started.
#[derive(Debug)]
pub struct Published<S> {
    pub at: SystemTime,
    pub snapshot: Arc<S>,
}

impl<S> Clone for Published<S> {
    fn clone(&self) -> Self {
        Self {
            at: self.at,
            snapshot: self.snapshot.clone(),
        }
    }
}

/// The latest snapshot of every loop, one typed slot each, kept when later runs fail.
#[derive(Debug, Clone, Default)]
pub struct Snapshots {
    pub hot_path: Option<Published<HotPathSnapshot>>,
    pub workload: Option<Published<WorkloadSnapshot>>,
    pub storage: Option<Published<StorageSnapshot>>,
    pub hourly: Option<Published<HourlySnapshot>>,
}

impl Snapshots {
    /// Puts a run's snapshot in its loop's slot (a test loop's empty snapshot has none).
    fn store(&mut self, at: SystemTime, snapshot: &LoopSnapshot) {
        match snapshot {
            LoopSnapshot::HotPath(s) => {
                self.hot_path = Some(Published {
                    at,
                    snapshot: s.clone(),
                })
            }
            LoopSnapshot::Workload(s) => {
                self.workload = Some(Published {
                    at,
                    snapshot: s.clone(),
                })
            }
            LoopSnapshot::Storage(s) => {
                self.storage = Some(Published {
                    at,
                    snapshot: s.clone(),
                })
            }
            LoopSnapshot::Hourly(s) => {
                self.hourly = Some(Published {
                    at,
                    snapshot: s.clone(),
                })
            }
            LoopSnapshot::Empty { .. } => {}
        }
    }

    /// The latest snapshot of loop `S` (the type names the loop, so they cannot disagree).
    pub fn get<S: LoopSlot>(&self) -> Option<&Published<S>> {
        S::slot(self)
    }
}

/// A loop's snapshot type, tied to its loop and its slot in [`Snapshots`].
pub trait LoopSlot: Sized {
    const LOOP: LoopName;
    fn slot(snapshots: &Snapshots) -> Option<&Published<Self>>;
}

macro_rules! loop_slot {
    ($snapshot:ty, $name:expr, $field:ident) => {
        impl LoopSlot for $snapshot {
            const LOOP: LoopName = $name;
            fn slot(snapshots: &Snapshots) -> Option<&Published<Self>> {
                snapshots.$field.as_ref()
            }
        }
    };
}

loop_slot!(HotPathSnapshot, LoopName::HotPath, hot_path);
loop_slot!(WorkloadSnapshot, LoopName::Workload, workload);
loop_slot!(StorageSnapshot, LoopName::Storage, storage);
loop_slot!(HourlySnapshot, LoopName::Hourly, hourly);

/// What HTTP handlers read: immutable, shared, rebuilt by the StateActor after each change.
#[derive(Debug, Clone)]
pub struct StateView {
    pub cluster: String,
    pub db: String,
    pub started_at: SystemTime,
    pub capabilities: Option<Arc<Capabilities>>,
    pub advisories: Vec<Advisory>,
    /// Privileges the role held earlier in this run of the agent and has lost since (what it
    /// hides and the fix): the data became less true without anyone choosing it.
    pub privileges_lost: Option<String>,
    /// With `security.read_only_enforce`: the role could write (which privileges, the fix).
    pub write_access: Option<String>,
    /// The same for an anonymous `/healthz`: the privileges and objects, no role names.
    pub write_access_anonymous: Option<String>,
    pub database: DatabaseStatus,
    pub loops: Vec<LoopHealth>,
    /// The latest snapshot of every loop, kept when later runs fail: the API serves it marked
    /// with its age and why it is stale; `/metrics` withdraws it.
    pub snapshots: Snapshots,
    /// Pending and firing alerts, and recently resolved ones (newest first).
    pub open_alerts: Vec<Alert>,
    pub alert_history: Vec<ResolvedAlert>,
    /// Headline figures over the last `ui.history_window`, for the UI's charts.
    pub history: Arc<History>,
    /// The whole `/metrics` body; `Bytes` so each response shares it instead of copying.
    pub metrics_text: actix_web::web::Bytes,
    /// The `alerts.*` thresholds in effect: the API states the same verdicts as the alerts.
    pub thresholds: Arc<AlertThresholds>,
}

impl StateView {
    pub fn hot_path(&self) -> Option<&Published<HotPathSnapshot>> {
        self.snapshots.hot_path.as_ref()
    }

    pub fn workload(&self) -> Option<&Published<WorkloadSnapshot>> {
        self.snapshots.workload.as_ref()
    }

    pub fn storage(&self) -> Option<&Published<StorageSnapshot>> {
        self.snapshots.storage.as_ref()
    }

    pub fn hourly(&self) -> Option<&Published<HourlySnapshot>> {
        self.snapshots.hourly.as_ref()
    }

    /// Why `loop_name`'s latest snapshot is not current, if it is not: the database is
    /// unreachable, or the loop's last run failed or is late.
    pub fn stale_reason(&self, loop_name: LoopName, now: SystemTime) -> Option<String> {
        if let Some(error) = self.database.error.as_deref().filter(|_| self.database.is_down()) {
            return Some(format!(
                "database unreachable: {}",
                error.trim_start_matches("database unreachable: ")
            ));
        }
        let health = self.loops.iter().find(|h| h.name == loop_name)?;
        if health.last_run_ok == Some(false) && health.section_errors.is_empty() {
            return Some(format!(
                "the last {loop_name} run failed: {}",
                health.last_error.as_deref().unwrap_or("unknown error")
            ));
        }
        match health.status(now) {
            LoopStatus::Degraded(reason) if reason.starts_with("late:") => Some(reason),
            _ => None,
        }
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
    /// Advisories about the configuration itself (an unverified TLS connection), shown from
    /// the start, before and besides the server's.
    config_advisories: Vec<Advisory>,
    advisories: Vec<Advisory>,
    /// Whether the role was a member of pg_monitor (or superuser) at some point in this run.
    had_pg_monitor: bool,
    privileges_lost: Option<String>,
    write_access: BTreeMap<PrivilegeScope, (String, Vec<WritePrivilege>)>,
    database: DatabaseStatus,
    snapshots: Snapshots,
    telemetry: Telemetry,
    alerting: Option<Alerting>,
    open_alerts: Vec<Alert>,
    alert_history: Vec<ResolvedAlert>,
    history: Arc<History>,
    view: Arc<StateView>,
    views: tokio::sync::watch::Sender<Arc<StateView>>,
    heartbeat: Heartbeat,
}

/// The actor system's pulse: the StateActor stamps it every second from its own context, so
/// `/livez` can tell a live agent from a wedged one without sending it a message (a flood of
/// probes must not queue in its mailbox).
#[derive(Debug, Clone, Default)]
pub struct Heartbeat(Arc<std::sync::atomic::AtomicU64>);

impl Heartbeat {
    pub const PERIOD: Duration = Duration::from_secs(1);

    fn beat(&self) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.0
            .store(now.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long ago the actor system last showed a sign of life.
    pub fn age(&self) -> Duration {
        let last = Duration::from_millis(self.0.load(std::sync::atomic::Ordering::Relaxed));
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        now.saturating_sub(last)
    }
}

impl StateActor {
    pub fn new(cluster: String, db: String, telemetry: Telemetry, history_window: Duration) -> Self {
        let started_at = SystemTime::now();
        let history = Arc::new(History::new(history_window));
        let view = Arc::new(StateView {
            cluster: cluster.clone(),
            db: db.clone(),
            started_at,
            capabilities: None,
            advisories: Vec::new(),
            privileges_lost: None,
            write_access: None,
            write_access_anonymous: None,
            database: DatabaseStatus::default(),
            loops: Vec::new(),
            snapshots: Snapshots::default(),
            open_alerts: Vec::new(),
            alert_history: Vec::new(),
            history: history.clone(),
            metrics_text: Default::default(),
            thresholds: Arc::new(AlertThresholds::default()),
        });
        let (views, _) = tokio::sync::watch::channel(view.clone());
        let mut actor = Self {
            cluster,
            db,
            started_at,
            loops: BTreeMap::new(),
            capabilities: None,
            config_advisories: Vec::new(),
            advisories: Vec::new(),
            had_pg_monitor: false,
            privileges_lost: None,
            write_access: BTreeMap::new(),
            database: DatabaseStatus::default(),
            snapshots: Snapshots::default(),
            telemetry,
            alerting: None,
            open_alerts: Vec::new(),
            alert_history: Vec::new(),
            history,
            view,
            views,
            heartbeat: Heartbeat::default(),
        };
        actor.heartbeat.beat();
        actor.refresh_view();
        actor
    }

    /// Evaluates the alert catalog after every change, handing transitions to `notifier`.
    pub fn with_alerts(mut self, thresholds: AlertThresholds, notifier: Option<Notifier>) -> Self {
        self.alerting = Some(Alerting {
            engine: Engine::new(thresholds.resolve_after),
            thresholds: Arc::new(thresholds),
            notifier,
        });
        self.refresh_view();
        self
    }

    /// Advisories about the configuration (the caller logs them), shown from the start.
    pub fn with_advisories(mut self, advisories: Vec<Advisory>) -> Self {
        self.advisories = advisories.clone();
        self.config_advisories = advisories;
        self.refresh_view();
        self
    }

    /// The pulse `/livez` reads.
    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat.clone()
    }

    /// The latest view, for readers that must never wait for this actor (HTTP handlers).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<StateView>> {
        self.views.subscribe()
    }

    fn refresh_view(&mut self) {
        self.view = Arc::new(StateView {
            cluster: self.cluster.clone(),
            db: self.db.clone(),
            started_at: self.started_at,
            capabilities: self.capabilities.clone(),
            advisories: self.advisories.clone(),
            privileges_lost: self.privileges_lost.clone(),
            write_access: self.write_access_message(),
            write_access_anonymous: self.write_access_anonymous(),
            database: self.database.clone(),
            loops: self.loops.values().cloned().collect(),
            snapshots: self.snapshots.clone(),
            open_alerts: self.open_alerts.clone(),
            alert_history: self.alert_history.clone(),
            history: self.history.clone(),
            metrics_text: self.telemetry.render(self.database.is_down()).into(),
            thresholds: self
                .alerting
                .as_ref()
                .map_or_else(|| self.view.thresholds.clone(), |a| a.thresholds.clone()),
        });
        self.views.send_replace(self.view.clone());
    }

    fn write_access_anonymous(&self) -> Option<String> {
        let found: Vec<WritePrivilege> = self
            .write_access
            .values()
            .flat_map(|(_, f)| f.iter().cloned())
            .collect();
        (!found.is_empty()).then(|| crate::db::privileges::anonymous_summary(&found))
    }

    fn write_access_message(&self) -> Option<String> {
        let role = self.write_access.values().map(|(role, _)| role.as_str()).next()?;
        let found: Vec<WritePrivilege> = self
            .write_access
            .values()
            .flat_map(|(_, f)| f.iter().cloned())
            .collect();
        (!found.is_empty()).then(|| write_access_summary(role, &found))
    }

    fn health_mut(&mut self, name: LoopName) -> &mut LoopHealth {
        self.loops
            .entry(name)
            .or_insert_with(|| LoopHealth::new(name, Duration::from_secs(0), Duration::from_secs(0)))
    }

    /// Runs the alert rules over the latest snapshots and the loops' health, advances
    /// pending → firing → resolved, and logs, counts and notifies each transition. A loop
    /// whose latest run failed keeps its last snapshot, so its alerts stay as they were
    /// (unknown) instead of resolving for lack of data.
    fn evaluate_alerts(&mut self) {
        let write_access = self.write_access_message();
        let Some(alerting) = &mut self.alerting else {
            return;
        };
        let now = SystemTime::now();
        let snapshots = &self.snapshots;
        let mut inputs = Inputs {
            hot_path: snapshots.hot_path.as_ref().map(|p| &*p.snapshot),
            workload: snapshots.workload.as_ref().map(|p| &*p.snapshot),
            storage: snapshots.storage.as_ref().map(|p| &*p.snapshot),
            hourly: snapshots.hourly.as_ref().map(|p| &*p.snapshot),
            ..Inputs::default()
        };
        // database_unreachable fires once consecutive runs confirm the outage; a loop that
        // failed only because of it is covered by that alert, not agent_degraded.
        inputs.unreachable = self.database.confirmed_unreachable().map(String::from);
        for health in self.loops.values() {
            if let LoopStatus::Degraded(reason) = health.status(now) {
                if health.last_failure_kind != Some(FailureKind::Unreachable) && !self.database.is_down() {
                    inputs.degraded_loops.push((health.name.to_string(), reason));
                }
            }
        }
        for (what, reason) in [("read_only", &write_access), ("privileges", &self.privileges_lost)] {
            if let Some(reason) = reason {
                inputs.degraded_loops.push((what.to_string(), reason.clone()));
            }
        }
        let conditions = alerts::evaluate(&inputs, &alerting.thresholds);
        let transitions = alerting.engine.evaluate(conditions, now);
        for t in &transitions {
            match t {
                Transition::Firing(a) | Transition::Escalated(a) => {
                    tracing::warn!(kind = a.kind.as_str(), severity = a.severity.as_str(), dedupe_key = %a.dedupe_key, "alert firing: {}", a.message);
                    self.telemetry.record_alert(a.kind.as_str(), a.severity.as_str());
                }
                Transition::Resolved(r) => {
                    tracing::info!(kind = r.kind.as_str(), dedupe_key = %r.dedupe_key, "alert resolved: {}", r.message);
                }
            }
            if let Some(notifier) = &alerting.notifier {
                notifier.notify(t);
            }
        }
        self.open_alerts = alerting.engine.open();
        self.alert_history = alerting.engine.history();
        self.telemetry.render_alerts(&self.open_alerts);
    }
}

/// The alert engine and where its transitions go.
struct Alerting {
    thresholds: Arc<AlertThresholds>,
    engine: Engine,
    notifier: Option<Notifier>,
}

impl Actor for StateActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Heartbeat::PERIOD, |act, _| act.heartbeat.beat());
    }
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
        let finished_at = SystemTime::now();
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
            RunOutcome::Completed { snapshot, db_seconds } => {
                health.record_db_time(*db_seconds);
                let section_errors = snapshot.section_errors();
                health.section_errors = section_errors
                    .iter()
                    .map(|(s, e)| (s.to_string(), e.to_string()))
                    .collect();
                health.section_failures = section_errors.iter().map(|(s, e)| (s.to_string(), e.clone())).collect();
                health.last_failure_kind = None;
                health.consecutive_failures = 0;
                if section_errors.is_empty() {
                    health.last_run_ok = Some(true);
                    health.last_error = None;
                    health.last_success_at = Some(msg.started_at);
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
                health.section_failures.clear();
                health.last_run_ok = Some(false);
                health.last_error = Some(error.clone());
                health.last_failure_kind = Some(*kind);
                health.consecutive_failures += 1;
                if *kind == FailureKind::PoolBusy {
                    health.pool_busy += 1;
                }
                tracing::warn!(loop_name = %name, kind = ?kind, error = %error, consecutive_failures = health.consecutive_failures, "loop run failed");
                (1, false)
            }
        };
        health.errors_total += errors;
        if over_budget {
            tracing::warn!(loop_name = %name, duration = ?msg.duration, "loop run exceeded its budget");
        }
        self.telemetry
            .record_run(name, msg.duration, success, errors, over_budget);
        if matches!(
            msg.outcome,
            RunOutcome::Failed {
                kind: FailureKind::PoolBusy,
                ..
            }
        ) {
            self.telemetry.record_pool_busy(name);
        }
        if self.database.observe(name, msg.started_at, finished_at, &msg.outcome) {
            match self.database.error.as_deref().filter(|_| self.database.is_down()) {
                Some(error) => {
                    tracing::error!(error = %error, "database unreachable; withdrawing its series from /metrics")
                }
                None => tracing::info!("database answers"),
            }
        }
        if let Some(up) = self.database.reachable {
            self.telemetry.record_database_up(up);
        }

        match (&msg.outcome, name) {
            (RunOutcome::Completed { snapshot, .. }, _) => match snapshot {
                LoopSnapshot::HotPath(hp) => Arc::make_mut(&mut self.history).record_hot_path(msg.started_at, hp),
                LoopSnapshot::Workload(w) => Arc::make_mut(&mut self.history).record_workload(msg.started_at, w),
                _ => {}
            },
            (RunOutcome::Failed { .. }, LoopName::HotPath) => {
                Arc::make_mut(&mut self.history).record_hot_path_gap(msg.started_at)
            }
            _ => {}
        }
        if let RunOutcome::Completed { snapshot, .. } = &msg.outcome {
            self.telemetry.render_snapshot(name, snapshot);
            self.snapshots.store(msg.started_at, snapshot);
        } else {
            // Series follow the data: a loop that cannot read the database exports nothing
            // from it rather than stale values. The API keeps the snapshot, marked stale.
            self.telemetry.clear_snapshot(name);
        }
        self.evaluate_alerts();
        self.refresh_view();
    }
}

impl Handler<CapabilitiesDetected> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: CapabilitiesDetected, _: &mut Context<Self>) {
        let caps = msg.capabilities;
        let advisories: Vec<Advisory> = self
            .config_advisories
            .iter()
            .cloned()
            .chain(caps.advisories())
            .collect();
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
        let monitors = caps.has_pg_monitor || caps.is_superuser;
        self.privileges_lost = (self.had_pg_monitor && !monitors).then(|| {
            let role = quote_ident(&caps.role);
            format!(
                "role {role} lost pg_monitor while pgmon runs: other sessions' states, queries and wait events are hidden, so session, transaction and blocking figures undercount. Fix: GRANT pg_monitor TO {role};"
            )
        });
        if let Some(lost) = &self.privileges_lost {
            tracing::error!("{lost}");
        }
        self.had_pg_monitor |= monitors;
        self.advisories = advisories;
        self.capabilities = Some(caps);
        self.evaluate_alerts();
        self.refresh_view();
    }
}

impl Handler<PrivilegesChecked> for StateActor {
    type Result = ();
    fn handle(&mut self, msg: PrivilegesChecked, _: &mut Context<Self>) {
        let before = self.write_access_message();
        if msg.found.is_empty() {
            self.write_access.remove(&msg.scope);
        } else {
            self.write_access.insert(msg.scope, (msg.role, msg.found));
        }
        let after = self.write_access_message();
        if before == after {
            return;
        }
        match &after {
            Some(message) => tracing::error!(
                "read-only check failed while running: {message} The agent stays read-only (every session is default_transaction_read_only) and reports degraded until the privilege is revoked."
            ),
            None => tracing::info!("read-only check passes again: the role can no longer write"),
        }
        self.evaluate_alerts();
        self.refresh_view();
    }
}

/// The StateActor's current view (tests; HTTP handlers read the published one instead).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Arc<StateView>")]
pub struct GetView;

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

    fn unreachable(error: &str) -> RunOutcome {
        RunOutcome::Failed {
            kind: FailureKind::Unreachable,
            error: error.into(),
        }
    }

    fn completed() -> RunOutcome {
        RunOutcome::Completed {
            snapshot: LoopSnapshot::Empty { round_trip: Ok(()) },
            db_seconds: 0.002,
        }
    }

    #[test]
    fn database_time_per_hour_is_the_recent_mean_times_the_runs_an_hour() {
        let mut h = health();
        assert_eq!(h.db_seconds_per_hour, None);
        h.record_db_time(0.004);
        h.record_db_time(0.002);
        assert_eq!(h.last_db_seconds, Some(0.002));
        let runs_per_hour = 3600.0 / h.interval.as_secs_f64();
        assert!((h.db_seconds_per_hour.unwrap() - 0.003 * runs_per_hour).abs() < 1e-9);
        // Only the last DB_TIME_RUNS count: an expensive first run fades out.
        h.record_db_time(1.0);
        for _ in 0..DB_TIME_RUNS {
            h.record_db_time(0.001);
        }
        assert!((h.db_seconds_per_hour.unwrap() - 0.001 * runs_per_hour).abs() < 1e-9);
    }

    #[test]
    fn outage_is_confirmed_after_two_failed_runs_of_one_loop() {
        let mut db = DatabaseStatus::default();
        assert!(db.observe(LoopName::HotPath, at(0), at(1), &completed()));
        assert_eq!(db.reachable, Some(true));
        assert!(db.observe(
            LoopName::HotPath,
            at(15),
            at(16),
            &unreachable("database unreachable: refused")
        ));
        assert!(db.is_down());
        assert_eq!(db.confirmed_unreachable(), None, "one failed run is not yet an outage");
        // Another loop failing at the same moment does not confirm it either.
        db.observe(
            LoopName::Workload,
            at(15),
            at(16),
            &unreachable("database unreachable: refused"),
        );
        assert_eq!(db.confirmed_unreachable(), None);
        db.observe(
            LoopName::HotPath,
            at(30),
            at(31),
            &unreachable("database unreachable: refused"),
        );
        assert_eq!(db.confirmed_unreachable(), Some("database unreachable: refused"));
        assert_eq!(db.since, Some(at(16)));
    }

    #[test]
    fn busy_pool_timeout_and_panic_say_nothing_about_the_database() {
        let mut db = DatabaseStatus::default();
        db.observe(LoopName::HotPath, at(0), at(1), &completed());
        for kind in [
            FailureKind::PoolBusy,
            FailureKind::Timeout,
            FailureKind::Panic,
            FailureKind::Query,
        ] {
            let outcome = RunOutcome::Failed {
                kind,
                error: "x".into(),
            };
            assert!(!db.observe(LoopName::Workload, at(2), at(3), &outcome));
            assert_eq!(db.reachable, Some(true), "{kind:?}");
        }
    }

    #[test]
    fn a_run_that_started_before_the_outage_was_seen_does_not_end_it() {
        let mut db = DatabaseStatus::default();
        db.observe(
            LoopName::HotPath,
            at(10),
            at(11),
            &unreachable("database unreachable: refused"),
        );
        // The hourly run started before the failure was seen and finished after it.
        assert!(!db.observe(LoopName::Hourly, at(5), at(12), &completed()));
        assert!(db.is_down());
        assert!(db.observe(LoopName::HotPath, at(25), at(26), &completed()));
        assert_eq!(db.reachable, Some(true));
        assert_eq!(db.failed_runs, 0);
    }

    #[test]
    fn a_late_failure_report_does_not_overturn_newer_evidence_and_a_timeout_ends_a_streak() {
        let mut db = DatabaseStatus::default();
        // The hourly run was refused at t0 but reports after the hot path found the server up.
        db.observe(LoopName::HotPath, at(15), at(16), &completed());
        assert!(!db.observe(
            LoopName::Hourly,
            at(0),
            at(60),
            &unreachable("database unreachable: refused")
        ));
        assert_eq!(db.reachable, Some(true));
        // Unreachable, then a run that timed out, then unreachable again: not two in a row.
        db.observe(
            LoopName::HotPath,
            at(30),
            at(31),
            &unreachable("database unreachable: slow"),
        );
        let timeout = RunOutcome::Failed {
            kind: FailureKind::Timeout,
            error: "run aborted".into(),
        };
        db.observe(LoopName::HotPath, at(45), at(46), &timeout);
        db.observe(
            LoopName::HotPath,
            at(60),
            at(61),
            &unreachable("database unreachable: slow"),
        );
        assert_eq!(db.failed_runs, 1);
        assert_eq!(db.confirmed_unreachable(), None);
    }
}

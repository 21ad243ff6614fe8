//! LoopActor: owns one polling loop — its interval, its time budget, its mailbox and its
//! job (the loop's collectors plus the state they carry between runs).
//!
//! Every tick it spawns one run as a tokio task, which takes the loop's own connection,
//! re-checks capabilities and privileges where this loop is responsible for that, and runs the
//! collectors under the budget. The job lives behind a mutex owned by the actor, not inside
//! the run: a run that fails, panics or is aborted leaves the job's memory (previous counters,
//! lock-wait episodes) as it was, so rates and exported counters never go backwards because of
//! us. A tick that arrives while a run is still going is skipped and reported, never queued.
//!
//! Budget: collectors stop at the deadline; a run that reaches it has its statement cancelled
//! and its session kept only if it answers a ping afterwards (a hung backend never pins the
//! pool, and a merely slow run costs no reconnect); a run that still has not
//! returned at budget + `RUN_GRACE` is aborted. A panic comes back as a `JoinError`, an
//! ordinary failure.
//!
//! Sends `LoopStarted`, `TickSkipped`, `RunFinished`, `CapabilitiesDetected` and
//! `PrivilegesChecked` to the StateActor. After `MAX_CONSECUTIVE_FAILURES` failed runs it
//! stops itself; the actix `Supervisor` restarts it (`restarting` resets its counters, never
//! its job) and the first tick after a restart waits an exponential backoff.

use super::messages::{
    CapabilitiesDetected, LoopStarted, PrivilegeScope, PrivilegesChecked, RunFinished, RunOutcome, TickSkipped,
};
use super::state::StateActor;
use crate::collectors::{CollectError, LoopJob};
use crate::db::capabilities::Capabilities;
use crate::db::privileges;
use crate::db::{DbError, PgPool, PgSession};
use crate::loops::{FailureKind, LoopName};
use actix::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::AbortHandle;

/// Failed runs in a row after which the loop stops and is restarted by its supervisor.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// How long past its budget a run may take before its task is aborted. The run itself stops at
/// the budget (plus `STOP_GRACE`) and then spends at most `CANCEL_WAIT` cancelling.
pub const RUN_GRACE: Duration = Duration::from_secs(2);
/// How long past the deadline a job may take to assemble its snapshot before it is cut.
const STOP_GRACE: Duration = Duration::from_millis(250);
/// How long a connection check after a partly failed run may take.
const ALIVE_CHECK: Duration = Duration::from_millis(500);
/// After a failed run, a slow loop (storage 10 min, hourly 1 h) tries again this soon rather
/// than staying degraded for a whole interval after a short outage.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(15);
/// How often a slow loop looks whether the database came back since its last run.
const RECOVERY_POLL: Duration = Duration::from_secs(2);

/// Capabilities shared by all loops; cleared when the database goes away so they are detected
/// again (the server may come back upgraded or reconfigured). No lock is held across an await.
#[derive(Clone, Default)]
pub struct CapabilitiesCache(Arc<RwLock<Option<Arc<Capabilities>>>>);

impl CapabilitiesCache {
    pub fn get(&self) -> Option<Arc<Capabilities>> {
        self.0.read().ok().and_then(|c| c.clone())
    }
    fn set(&self, caps: Arc<Capabilities>) {
        if let Ok(mut c) = self.0.write() {
            *c = Some(caps);
        }
    }
    fn clear(&self) {
        if let Ok(mut c) = self.0.write() {
            *c = None;
        }
    }
}

/// Whether the loops last found the database unreachable, and a counter of recoveries: a slow
/// loop whose last run predates a recovery runs at once instead of serving pre-outage data
/// until its next interval.
#[derive(Clone, Default)]
pub struct DatabaseLink(Arc<(AtomicBool, AtomicU64)>);

impl DatabaseLink {
    fn went_down(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
    }
    fn answered(&self) {
        if self.0 .0.swap(false, Ordering::SeqCst) {
            self.0 .1.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn recoveries(&self) -> u64 {
        self.0 .1.load(Ordering::SeqCst)
    }
}

pub type JobFactory = Arc<dyn Fn() -> Box<dyn LoopJob> + Send + Sync>;

/// What a loop re-checks about the role besides running its collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChecks {
    None,
    /// The hot path: superuser / pg_monitor changes (capabilities re-detected) and, with
    /// `read_only_enforce`, role-level write access.
    Role,
    /// The workload loop: table, column, sequence and large-object write privileges and
    /// ownership, with `read_only_enforce`.
    Objects,
}

/// Everything a loop needs, fixed for its lifetime.
#[derive(Clone)]
pub struct LoopSpec {
    pub name: LoopName,
    pub interval: Duration,
    pub budget: Duration,
    pub pool: PgPool,
    pub make_job: JobFactory,
    pub capabilities: CapabilitiesCache,
    pub link: DatabaseLink,
    pub state: Addr<StateActor>,
    pub read_only_enforce: bool,
    pub role_checks: RoleChecks,
    /// When this loop's privilege check last ran, on which catalog write count.
    pub catalog_watch: privileges::CatalogWatch,
}

type SharedJob = Arc<tokio::sync::Mutex<Box<dyn LoopJob>>>;

pub struct LoopActor {
    spec: LoopSpec,
    job: SharedJob,
    running: Option<AbortHandle>,
    recoveries_seen: u64,
    consecutive_failures: u32,
    restarts: u32,
    restarts_since_success: u32,
}

impl LoopActor {
    pub fn new(spec: LoopSpec) -> Self {
        let job = Arc::new(tokio::sync::Mutex::new((spec.make_job)()));
        Self {
            recoveries_seen: spec.link.recoveries(),
            spec,
            job,
            running: None,
            consecutive_failures: 0,
            restarts: 0,
            restarts_since_success: 0,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.running.is_some() {
            self.spec.state.do_send(TickSkipped {
                loop_name: self.spec.name,
            });
            return;
        }
        self.recoveries_seen = self.spec.link.recoveries();
        let task = tokio::spawn(run_once(self.job.clone(), self.spec.clone()));
        let abort = task.abort_handle();
        self.running = Some(abort.clone());
        let started_at = SystemTime::now();
        let started = Instant::now();
        let limit = self.spec.budget + RUN_GRACE;
        let budget = self.spec.budget;
        let run = async move { tokio::time::timeout(limit, task).await };
        ctx.spawn(run.into_actor(self).map(move |result, act, ctx| {
            act.running = None;
            let outcome = match result {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(join_error)) => RunOutcome::Failed {
                    kind: FailureKind::Panic,
                    error: format!("collector panicked: {}", panic_message(join_error)),
                },
                Err(_) => {
                    abort.abort();
                    overran_budget(budget)
                }
            };
            act.finish(outcome, started_at, started.elapsed(), ctx);
        }));
    }

    fn finish(&mut self, outcome: RunOutcome, started_at: SystemTime, duration: Duration, ctx: &mut Context<Self>) {
        match &outcome {
            RunOutcome::Completed { .. } => {
                self.consecutive_failures = 0;
                self.restarts_since_success = 0;
                self.spec.link.answered();
            }
            RunOutcome::Failed { kind, .. } => {
                self.consecutive_failures += 1;
                if *kind == FailureKind::Unreachable {
                    self.spec.capabilities.clear();
                    self.spec.link.went_down();
                }
            }
        }
        self.spec.state.do_send(RunFinished {
            loop_name: self.spec.name,
            started_at,
            duration,
            outcome,
        });
        if self.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
            tracing::warn!(
                loop_name = %self.spec.name,
                failures = self.consecutive_failures,
                "loop failed repeatedly; stopping it so the supervisor restarts it with backoff"
            );
            ctx.stop();
        } else if self.consecutive_failures > 0 && self.spec.interval > RETRY_AFTER_FAILURE {
            ctx.run_later(RETRY_AFTER_FAILURE, |act, ctx| act.tick(ctx));
        }
    }
}

impl Actor for LoopActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let first_tick_in = restart_backoff(self.restarts_since_success, self.spec.interval);
        self.spec.state.do_send(LoopStarted {
            loop_name: self.spec.name,
            interval: self.spec.interval,
            budget: self.spec.budget,
            restarts: self.restarts,
            first_tick_in,
        });
        ctx.run_later(first_tick_in, |act, ctx| {
            act.tick(ctx);
            ctx.run_interval(act.spec.interval, |act, ctx| act.tick(ctx));
        });
        if self.spec.interval > RETRY_AFTER_FAILURE {
            ctx.run_interval(RECOVERY_POLL, |act, ctx| {
                if act.running.is_none() && act.spec.link.recoveries() != act.recoveries_seen {
                    tracing::info!(loop_name = %act.spec.name, "database answers again; running now instead of serving pre-outage data");
                    act.tick(ctx);
                }
            });
        }
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        if let Some(task) = self.running.take() {
            task.abort();
        }
        Running::Stop
    }
}

impl Supervised for LoopActor {
    /// Resets the failure bookkeeping. The job is kept: its carried state (previous counters,
    /// lock-wait episodes) must survive a restart, or exported counters would go backwards.
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.restarts += 1;
        self.restarts_since_success += 1;
        self.consecutive_failures = 0;
        if let Some(task) = self.running.take() {
            task.abort();
        }
    }
}

/// Delay before the first tick after the n-th restart in a row: 1 s, 2 s, 4 s, … capped at the
/// loop interval (and at one minute), so a loop that cannot run does not spin.
pub fn restart_backoff(restarts_since_success: u32, interval: Duration) -> Duration {
    if restarts_since_success == 0 {
        return Duration::ZERO;
    }
    let cap = interval.min(Duration::from_secs(60)).max(Duration::from_secs(1));
    let exp = Duration::from_secs(1u64 << (restarts_since_success - 1).min(16));
    exp.min(cap)
}

fn panic_message(error: tokio::task::JoinError) -> String {
    if error.is_cancelled() {
        return "task cancelled".into();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}

/// One run, inside its own task: connection, capabilities and privileges, collectors.
async fn run_once(job: SharedJob, spec: LoopSpec) -> RunOutcome {
    let deadline = tokio::time::Instant::now() + spec.budget;
    // Never contended: one run at a time, and an aborted run's guard is dropped with its task.
    let Ok(mut job) = job.try_lock() else {
        return failed(
            FailureKind::PoolBusy,
            "the previous run still holds the loop's job".into(),
        );
    };
    let mut conn = match spec.pool.checkout(deadline).await {
        Ok(conn) => conn,
        Err(e) => return failed(failure_kind(&e), e.to_string()),
    };
    // The database's share of the run starts here: the checkout above waits on the pool.
    let statements_from = tokio::time::Instant::now();
    let caps = match tokio::time::timeout_at(deadline, capabilities(&conn, &spec)).await {
        Ok(Ok(caps)) => caps,
        Ok(Err(e)) => {
            let kind = failure_kind(&e);
            return failed(kind, format!("capability detection failed: {e}"));
        }
        Err(_) => {
            spec.pool.cancel_and_verify(&mut conn).await;
            return failed(
                FailureKind::Timeout,
                "capability detection did not finish within the loop budget".into(),
            );
        }
    };
    let run = tokio::time::timeout_at(deadline + STOP_GRACE, job.run(&conn, &caps, deadline)).await;
    let db_seconds = statements_from.elapsed().as_secs_f64();
    let overran = tokio::time::Instant::now() >= deadline;
    // Some statement may still be running (or hung) on this session: cancel it, and close the
    // session unless it then answers, rather than hand a hung one to the next run.
    let kept = overran && spec.pool.cancel_and_verify(&mut conn).await;
    let Ok(snapshot) = run else {
        return overran_budget(spec.budget);
    };
    let errors = snapshot.section_errors();
    if overran && !kept && !errors.is_empty() && errors.len() == snapshot.section_count() {
        // Nothing answered within the budget: no evidence either way about the database.
        return failed(
            FailureKind::Timeout,
            format!(
                "no section answered within the budget of {}",
                humantime::format_duration(spec.budget)
            ),
        );
    }
    match session_after_run(&conn, &errors, overran).await {
        Session::Lost(lost) => {
            return failed(
                FailureKind::Unreachable,
                format!("database unreachable: connection lost during the run ({lost})"),
            )
        }
        // An overrun session was already kept or discarded by `cancel_and_verify`.
        Session::Alive if !overran => conn.keep(),
        Session::Alive | Session::Silent => {}
    }
    RunOutcome::Completed { snapshot, db_seconds }
}

/// What a run's session is like once the run is over.
enum Session {
    /// It answers (or nothing suggests otherwise): the pool may hand it out again.
    Alive,
    /// It died during the run (the server stopped, restarted or ended it): why.
    Lost(String),
    /// It did not answer a ping in time: it is closed, but that proves nothing either way.
    Silent,
}

/// Whether the session died during a run: a run whose sections failed checks its session
/// before calling the failures query errors. After an overrun the session was already
/// cancelled and pinged (`cancel_and_verify`).
async fn session_after_run(conn: &PgSession, errors: &[(&'static str, CollectError)], overran: bool) -> Session {
    let first = || errors.first().map_or(String::new(), |(s, e)| format!("{s}: {e}"));
    if conn.is_closed() {
        return Session::Lost(first());
    }
    if let Some((section, e)) = errors
        .iter()
        .find(|(_, e)| matches!(e, CollectError::ConnectionLost { .. }))
    {
        return Session::Lost(format!("{section}: {e}"));
    }
    if errors.is_empty() || overran {
        return Session::Alive;
    }
    match tokio::time::timeout(ALIVE_CHECK, conn.simple_query("")).await {
        Ok(Ok(_)) => Session::Alive,
        Ok(Err(e)) if crate::db::connection_lost(&e) => Session::Lost(first()),
        Ok(Err(_)) => Session::Alive,
        Err(_) => Session::Silent,
    }
}

/// The capabilities to run with: cached, or detected on this connection. The loop responsible
/// for role checks re-reads the role's privileges on every run and reports write access.
async fn capabilities(conn: &PgSession, spec: &LoopSpec) -> Result<Arc<Capabilities>, DbError> {
    let caps = match spec.capabilities.get() {
        Some(caps) if spec.role_checks == RoleChecks::Role && caps.privileges_changed(conn).await? => {
            tracing::warn!(role = %caps.role, "the role's privileges changed while running; detecting capabilities again");
            detect(conn, spec).await?
        }
        Some(caps) => caps,
        None => detect(conn, spec).await?,
    };
    if spec.read_only_enforce {
        // Each check is skipped while no catalog it reads was written since it last ran.
        let (scope, sql, writes_sql) = match spec.role_checks {
            RoleChecks::None => return Ok(caps),
            RoleChecks::Role => (
                PrivilegeScope::Role,
                privileges::role_write_privileges_sql(caps.server_version_num),
                privileges::ROLE_CATALOG_WRITES_SQL,
            ),
            RoleChecks::Objects => (
                PrivilegeScope::Objects,
                privileges::object_write_privileges_sql(caps.server_version_num),
                privileges::CATALOG_WRITES_SQL,
            ),
        };
        let writes = if privileges::write_counts_are_prompt(caps.server_version_num) {
            privileges::catalog_writes(conn, writes_sql).await?
        } else {
            None
        };
        if !spec.catalog_watch.must_check(writes, Instant::now()) {
            return Ok(caps);
        }
        let found = privileges::query_privileges(conn, &sql).await?;
        spec.catalog_watch.checked(writes, Instant::now());
        spec.state.do_send(PrivilegesChecked {
            scope,
            role: caps.role.clone(),
            found,
        });
    }
    Ok(caps)
}

async fn detect(client: &tokio_postgres::Client, spec: &LoopSpec) -> Result<Arc<Capabilities>, DbError> {
    let caps = Arc::new(Capabilities::detect(client).await?);
    spec.capabilities.set(caps.clone());
    spec.state.do_send(CapabilitiesDetected {
        capabilities: caps.clone(),
    });
    Ok(caps)
}

fn failure_kind(e: &DbError) -> FailureKind {
    match e {
        DbError::PoolBusy(_) => FailureKind::PoolBusy,
        DbError::Unreachable(_) => FailureKind::Unreachable,
        DbError::Query(_) => FailureKind::Query,
        DbError::SlowConnect(_) => FailureKind::Timeout,
    }
}

fn overran_budget(budget: Duration) -> RunOutcome {
    failed(
        FailureKind::Timeout,
        format!(
            "run aborted: no result within its budget of {}",
            humantime::format_duration(budget)
        ),
    )
}

fn failed(kind: FailureKind, error: String) -> RunOutcome {
    RunOutcome::Failed { kind, error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_by_interval() {
        let interval = Duration::from_secs(15);
        let delays: Vec<u64> = (0..7).map(|n| restart_backoff(n, interval).as_secs()).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 15, 15]);
        assert_eq!(restart_backoff(20, Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(restart_backoff(1, Duration::from_millis(200)), Duration::from_secs(1));
    }
}

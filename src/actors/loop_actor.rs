//! LoopActor: owns one polling loop — its interval, its time budget and its mailbox.
//!
//! Every tick it moves its job (the loop's collectors plus their carried state) into a spawned
//! tokio task, which takes a connection from the loop's pool, detects capabilities if none are
//! cached, and runs the collectors under the budget. A tick that arrives while a run is still
//! going is skipped and reported, never queued. The task boundary turns a collector panic into
//! an ordinary failure (a `JoinError`); a run that outlives budget + grace is aborted.
//!
//! Sends `LoopStarted`, `TickSkipped`, `RunFinished`, `CapabilitiesDetected` and
//! `WriteAccessDetected` to the StateActor. After `MAX_CONSECUTIVE_FAILURES` failed runs it
//! stops itself; the actix `Supervisor` restarts it (`restarting` resets it) and the first
//! tick after a restart waits an exponential backoff.

use super::messages::{
    CapabilitiesDetected, FailureKind, LoopName, LoopStarted, RunFinished, RunOutcome, TickSkipped, WriteAccessDetected,
};
use super::state::StateActor;
use crate::collectors::LoopJob;
use crate::db::capabilities::Capabilities;
use crate::db::privileges::{refusal_message, write_privileges};
use crate::db::{DbError, PgPool};
use actix::prelude::*;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::AbortHandle;

/// Failed runs in a row after which the loop stops and is restarted by its supervisor.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// How long past its budget a run may take before it is aborted.
pub const RUN_GRACE: Duration = Duration::from_secs(1);
/// After a failed run, a slow loop (storage 10 min, hourly 1 h) tries again this soon rather
/// than staying degraded for a whole interval after a short outage.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(15);

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

pub type JobFactory = Arc<dyn Fn() -> Box<dyn LoopJob> + Send + Sync>;

/// Everything a loop needs, fixed for its lifetime.
#[derive(Clone)]
pub struct LoopSpec {
    pub name: LoopName,
    pub interval: Duration,
    pub budget: Duration,
    pub pool: PgPool,
    pub make_job: JobFactory,
    pub capabilities: CapabilitiesCache,
    pub state: Addr<StateActor>,
    pub read_only_enforce: bool,
}

pub struct LoopActor {
    spec: LoopSpec,
    job: Option<Box<dyn LoopJob>>,
    running: Option<AbortHandle>,
    consecutive_failures: u32,
    restarts: u32,
    restarts_since_success: u32,
}

impl LoopActor {
    pub fn new(spec: LoopSpec) -> Self {
        Self {
            spec,
            job: None,
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
        let job = self.job.take().unwrap_or_else(|| (self.spec.make_job)());
        let task = tokio::spawn(run_once(job, self.spec.clone()));
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
                Ok(Ok((job, outcome))) => {
                    act.job = Some(job);
                    outcome
                }
                Ok(Err(join_error)) => RunOutcome::Failed {
                    kind: FailureKind::Panic,
                    error: format!("collector panicked: {}", panic_message(join_error)),
                },
                Err(_) => {
                    abort.abort();
                    RunOutcome::Failed {
                        kind: FailureKind::Timeout,
                        error: format!(
                            "run aborted: no result within its budget of {}",
                            humantime::format_duration(budget)
                        ),
                    }
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
            }
            RunOutcome::Failed { kind, .. } => {
                self.consecutive_failures += 1;
                if *kind == FailureKind::Unreachable {
                    self.spec.capabilities.clear();
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
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        if let Some(task) = self.running.take() {
            task.abort();
        }
        Running::Stop
    }
}

impl Supervised for LoopActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.restarts += 1;
        self.restarts_since_success += 1;
        self.consecutive_failures = 0;
        self.job = None;
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

/// One run, inside its own task: connection, capabilities, collectors.
async fn run_once(mut job: Box<dyn LoopJob>, spec: LoopSpec) -> (Box<dyn LoopJob>, RunOutcome) {
    let deadline = tokio::time::Instant::now() + spec.budget;
    let conn = match spec.pool.get(deadline).await {
        Ok(conn) => conn,
        Err(e) => {
            let kind = match e {
                DbError::PoolBusy(_) => FailureKind::PoolBusy,
                DbError::Unreachable(_) => FailureKind::Unreachable,
                DbError::Query(_) => FailureKind::Query,
            };
            return (job, failed(kind, e.to_string()));
        }
    };
    let caps = match spec.capabilities.get() {
        Some(caps) => caps,
        None => match tokio::time::timeout_at(deadline, detect(&conn, &spec)).await {
            Ok(Ok(caps)) => caps,
            Ok(Err(e)) => {
                return (
                    job,
                    failed(FailureKind::Query, format!("capability detection failed: {e}")),
                )
            }
            Err(_) => {
                return (
                    job,
                    failed(
                        FailureKind::Timeout,
                        "capability detection did not finish within the loop budget".into(),
                    ),
                )
            }
        },
    };
    let snapshot = job.run(&conn, &caps, deadline).await;
    if conn.is_closed() {
        return (
            job,
            failed(
                FailureKind::Unreachable,
                "database unreachable: connection lost during the run".into(),
            ),
        );
    }
    (
        job,
        RunOutcome::Completed {
            snapshot: Arc::new(snapshot),
        },
    )
}

fn failed(kind: FailureKind, error: String) -> RunOutcome {
    RunOutcome::Failed { kind, error }
}

async fn detect(client: &tokio_postgres::Client, spec: &LoopSpec) -> Result<Arc<Capabilities>, DbError> {
    let caps = Arc::new(Capabilities::detect(client).await?);
    if spec.read_only_enforce {
        let found = write_privileges(client).await?;
        if !found.is_empty() {
            spec.state.do_send(WriteAccessDetected {
                message: refusal_message(&caps.role, &found),
            });
        }
    }
    spec.capabilities.set(caps.clone());
    spec.state.do_send(CapabilitiesDetected {
        capabilities: caps.clone(),
    });
    Ok(caps)
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

//! The loop actor under its actix Supervisor, in-process against a real PostgreSQL: a
//! panicking job is restarted with backoff, a slow run makes ticks skip (never queue), and a
//! run that ignores its budget is aborted.

mod support;

use actix::prelude::*;
use futures::future::BoxFuture;
use pgmon::actors::loop_actor::{CapabilitiesCache, DatabaseLink, LoopActor, LoopSpec, RoleChecks};
use pgmon::actors::state::GetView;
use pgmon::actors::state::{LoopHealth, StateActor};
use pgmon::collectors::{LoopJob, LoopSnapshot};
use pgmon::config::Config;
use pgmon::db::capabilities::Capabilities;
use pgmon::loops::{FailureKind, LoopName};
use pgmon::telemetry::{SeriesNaming, Telemetry};
use std::sync::Arc;
use std::time::Duration;
use support::TestPostgres;

struct PanicJob;
impl LoopJob for PanicJob {
    fn run<'a>(
        &'a mut self,
        _: &'a tokio_postgres::Client,
        _: &'a Capabilities,
        _: tokio::time::Instant,
    ) -> BoxFuture<'a, LoopSnapshot> {
        Box::pin(async { panic!("boom from a collector") })
    }
}

/// Sleeps `0` regardless of the deadline, then succeeds.
struct SleepJob(Duration);
impl LoopJob for SleepJob {
    fn run<'a>(
        &'a mut self,
        _: &'a tokio_postgres::Client,
        _: &'a Capabilities,
        _: tokio::time::Instant,
    ) -> BoxFuture<'a, LoopSnapshot> {
        let nap = self.0;
        Box::pin(async move {
            tokio::time::sleep(nap).await;
            LoopSnapshot::Empty { round_trip: Ok(()) }
        })
    }
}

/// Starts one supervised loop. The supervisor restarts only an actor somebody still holds an
/// address of, so the caller keeps the returned `Addr<LoopActor>` alive (as `app::run` does).
fn start_loop(
    pg: &TestPostgres,
    job: fn() -> Box<dyn LoopJob>,
    interval: Duration,
    budget: Duration,
) -> (Addr<StateActor>, Addr<LoopActor>) {
    pg.create_monitor_role("monitor", "pw", "postgres");
    let config = Config::default()
        .with_dsn(&pg.url("monitor", "pw", "postgres"))
        .unwrap();
    let pools = pgmon::db::build_pools(&config).unwrap();
    let telemetry = Telemetry::new(SeriesNaming {
        cluster: "c".into(),
        db: "postgres".into(),
        prefix: String::new(),
    });
    let state = StateActor::new("c".into(), "postgres".into(), telemetry, Duration::from_secs(3600)).start();
    let spec = LoopSpec {
        name: LoopName::Workload,
        interval,
        budget,
        pool: pools.workload,
        make_job: Arc::new(job),
        capabilities: CapabilitiesCache::default(),
        link: DatabaseLink::default(),
        state: state.clone(),
        read_only_enforce: false,
        role_checks: RoleChecks::None,
        catalog_watch: Default::default(),
    };
    let looper = Supervisor::start(move |_| LoopActor::new(spec));
    (state, looper)
}

async fn wait_for_loop(
    state: &Addr<StateActor>,
    what: &str,
    check: impl Fn(&LoopHealth) -> bool,
) -> (LoopHealth, String) {
    let mut last = None;
    for _ in 0..200 {
        let view = state.send(GetView).await.unwrap();
        last = view.loops.first().cloned();
        if let Some(h) = view.loops.iter().find(|h| h.name == LoopName::Workload) {
            if check(h) {
                return (h.clone(), String::from_utf8_lossy(&view.metrics_text).into_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}: {last:?}");
}

#[actix_rt::test]
async fn panicking_loop_is_restarted_by_its_supervisor_with_backoff() {
    let pg = TestPostgres::start();
    let (state, _loop) = start_loop(
        &pg,
        || Box::new(PanicJob),
        Duration::from_millis(200),
        Duration::from_millis(150),
    );
    // On a loaded machine a run may also fail to connect within the 150 ms budget: wait for
    // two restarts and a run that reached the job and panicked.
    let (health, metrics) = wait_for_loop(&state, "two restarts", |h| {
        h.restarts >= 2 && h.last_failure_kind == Some(FailureKind::Panic)
    })
    .await;
    assert_eq!(
        health.last_error.as_deref(),
        Some("collector panicked: boom from a collector")
    );
    assert!(
        health.errors_total >= 6,
        "three failures before each restart: {}",
        health.errors_total
    );
    let restarts = support::agent::metric_value(&metrics, "pgmon_loop_restarts_total", "loop=\"workload\"").unwrap();
    assert!(restarts >= 2.0, "{restarts}");
    assert_eq!(
        support::agent::metric_value(&metrics, "pgmon_last_scrape_success", "loop=\"workload\""),
        Some(0.0)
    );
}

#[actix_rt::test]
async fn slow_run_skips_ticks_instead_of_queueing_them() {
    let pg = TestPostgres::start();
    let (state, _loop) = start_loop(
        &pg,
        || Box::new(SleepJob(Duration::from_millis(700))),
        Duration::from_millis(200),
        Duration::from_secs(2),
    );
    let (health, metrics) = wait_for_loop(&state, "three runs", |h| h.runs_total >= 3).await;
    assert!(
        health.skipped_ticks >= 4,
        "a 700ms run spans three 200ms ticks: {}",
        health.skipped_ticks
    );
    assert_eq!(health.last_run_ok, Some(true));
    assert_eq!(health.restarts, 0);
    let skipped =
        support::agent::metric_value(&metrics, "pgmon_loop_skipped_ticks_total", "loop=\"workload\"").unwrap();
    assert!(skipped >= 4.0, "{skipped}");
}

#[actix_rt::test]
async fn run_that_ignores_its_budget_is_aborted() {
    let pg = TestPostgres::start();
    let (state, _loop) = start_loop(
        &pg,
        || Box::new(SleepJob(Duration::from_secs(30))),
        Duration::from_millis(500),
        Duration::from_millis(200),
    );
    // On a loaded machine the first connection alone can eat a 200 ms budget (that run fails
    // as unreachable): wait for a run that got its connection and was cut by the budget.
    // (A connection slower than the budget is also a timeout, "slow connection: …": wait for
    // the run that reached the job.)
    let (health, _) = wait_for_loop(&state, "an aborted run", |h| {
        h.last_failure_kind == Some(FailureKind::Timeout)
            && h.last_error.as_deref().is_some_and(|e| e.starts_with("run aborted"))
    })
    .await;
    assert!(health
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("run aborted: no result within its budget of 200ms"));
    assert!(
        health.last_duration_seconds.unwrap() < 30.0,
        "cut long before the job's 30 s sleep ends"
    );
}

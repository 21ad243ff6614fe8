//! Starts the four loops, each under an actix `Supervisor`: when a loop stops itself after
//! repeated failures, the supervisor restarts it (same actor value, reset in `restarting`),
//! and the loop's first tick after a restart waits its backoff. Restarts are counted by the
//! StateActor from each `LoopStarted`. The list of loops and their collectors is here, in one
//! place.

use super::loop_actor::{CapabilitiesCache, JobFactory, LoopActor, LoopSpec};
use super::messages::LoopName;
use super::state::StateActor;
use crate::collectors::{
    hot_path::HotPathJob, hourly::HourlyJob, storage::StorageJob, workload::WorkloadJob, CollectSettings, LoopJob,
};
use crate::config::Config;
use crate::db::Pools;
use actix::prelude::*;
use std::sync::Arc;

/// The collectors each loop runs, in one place.
fn job_factory(name: LoopName, settings: CollectSettings) -> JobFactory {
    match name {
        LoopName::HotPath => Arc::new(move || Box::new(HotPathJob::new(settings.clone())) as Box<dyn LoopJob>),
        LoopName::Workload => Arc::new(move || Box::new(WorkloadJob::new(settings.clone())) as Box<dyn LoopJob>),
        LoopName::Storage => Arc::new(move || Box::new(StorageJob::new(settings.clone())) as Box<dyn LoopJob>),
        LoopName::Hourly => Arc::new(move || Box::new(HourlyJob::new(settings.clone())) as Box<dyn LoopJob>),
    }
}

pub fn start_loops(
    config: &Config,
    pools: &Pools,
    state: Addr<StateActor>,
    capabilities: CapabilitiesCache,
) -> Vec<Addr<LoopActor>> {
    let settings = CollectSettings::from_config(config);
    LoopName::ALL
        .into_iter()
        .map(|name| {
            let (interval, budget, pool) = match name {
                LoopName::HotPath => (
                    config.sample_intervals.hot_path,
                    config.budgets.hot_path,
                    pools.hot_path.clone(),
                ),
                LoopName::Workload => (
                    config.sample_intervals.workload,
                    config.budgets.workload,
                    pools.background.clone(),
                ),
                LoopName::Storage => (
                    config.sample_intervals.storage,
                    config.budgets.storage,
                    pools.background.clone(),
                ),
                LoopName::Hourly => (
                    config.sample_intervals.hourly,
                    config.budgets.hourly,
                    pools.background.clone(),
                ),
            };
            let spec = LoopSpec {
                name,
                interval,
                budget,
                pool,
                make_job: job_factory(name, settings.clone()),
                capabilities: capabilities.clone(),
                state: state.clone(),
                read_only_enforce: config.security.read_only_enforce,
            };
            Supervisor::start(move |_| LoopActor::new(spec))
        })
        .collect()
}

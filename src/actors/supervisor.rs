//! Starts the four loops, each under an actix `Supervisor`: when a loop stops itself after
//! repeated failures, the supervisor restarts it (same actor value, reset in `restarting`),
//! and the loop's first tick after a restart waits its backoff. Restarts are counted by the
//! StateActor from each `LoopStarted`. The list of loops and their collectors is here, in one
//! place, with the connection pool each loop owns and the role checks it is responsible for.

use super::loop_actor::{CapabilitiesCache, DatabaseLink, JobFactory, LoopActor, LoopSpec, RoleChecks};
use super::state::StateActor;
use crate::collectors::{
    hot_path::HotPathJob, hourly::HourlyJob, storage::StorageJob, workload::WorkloadJob, CollectSettings, LoopJob,
};
use crate::config::Config;
use crate::db::Pools;
use crate::loops::LoopName;
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
    let link = DatabaseLink::default();
    LoopName::ALL
        .into_iter()
        .map(|name| {
            let role_checks = match name {
                LoopName::HotPath => RoleChecks::Role,
                LoopName::Workload => RoleChecks::Objects,
                LoopName::Storage | LoopName::Hourly => RoleChecks::None,
            };
            let spec = LoopSpec {
                name,
                interval: *config.sample_intervals.get(name),
                budget: *config.budgets.get(name),
                pool: pools.get(name).clone(),
                make_job: job_factory(name, settings.clone()),
                capabilities: capabilities.clone(),
                link: link.clone(),
                state: state.clone(),
                read_only_enforce: config.security.read_only_enforce,
                role_checks,
                catalog_watch: Default::default(),
            };
            Supervisor::start(move |_| LoopActor::new(spec))
        })
        .collect()
}

//! The actors: four supervised loop actors (hot path, workload, storage, hourly) and the
//! StateActor that owns every snapshot, each loop's health and the alert engine.
//! `start_loops` wires the loops to it; `app` starts both.

pub mod history;
pub mod loop_actor;
pub mod messages;
pub mod state;
pub mod supervisor;

pub use supervisor::start_loops;

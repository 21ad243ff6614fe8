//! The actors: four supervised loop actors (hot path, workload, storage, hourly), the
//! StateActor that owns every snapshot and each loop's health, and the AlertEvaluator that
//! receives each snapshot. `start` wires them together.

pub mod alert_evaluator;
pub mod history;
pub mod loop_actor;
pub mod messages;
pub mod notifier;
pub mod state;
pub mod supervisor;

pub use supervisor::start_loops;

//! Every message between pgmon's actors, in one place, so the whole conversation can be read
//! here: loops report to the StateActor; after each run it asks the AlertEvaluator to evaluate
//! its new view and gets the alerts back; HTTP handlers ask the StateActor for its view.

use crate::alerts::engine::{Alert, ResolvedAlert, Transition};
use crate::collectors::LoopSnapshot;
use crate::db::capabilities::Capabilities;
use crate::db::privileges::WritePrivilege;
use actix::Message;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::state::StateView;

/// The four polling loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopName {
    HotPath,
    Workload,
    Storage,
    Hourly,
}

impl LoopName {
    pub const ALL: [LoopName; 4] = [
        LoopName::HotPath,
        LoopName::Workload,
        LoopName::Storage,
        LoopName::Hourly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoopName::HotPath => "hot_path",
            LoopName::Workload => "workload",
            LoopName::Storage => "storage",
            LoopName::Hourly => "hourly",
        }
    }
}

impl std::fmt::Display for LoopName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A loop actor (re)started; its first tick comes after `first_tick_in` (the restart backoff).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct LoopStarted {
    pub loop_name: LoopName,
    pub interval: Duration,
    pub budget: Duration,
    pub restarts: u32,
    pub first_tick_in: Duration,
}

/// A tick arrived while the previous run was still going: skipped, never queued.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct TickSkipped {
    pub loop_name: LoopName,
}

/// Why a whole run produced no snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No connection could be had: the database is down, refusing us, or unreachable.
    Unreachable,
    /// The run did not come back within its budget (plus grace) and was aborted.
    Timeout,
    /// The loop's own connection was still held (by its previous run) for this run's whole
    /// budget. Says nothing about the database.
    PoolBusy,
    /// A collector panicked; the task's JoinError was caught.
    Panic,
    /// Capability detection failed on a live connection.
    Query,
}

#[derive(Debug, Clone)]
pub enum RunOutcome {
    Completed { snapshot: Arc<LoopSnapshot> },
    Failed { kind: FailureKind, error: String },
}

/// One run of a loop finished (successfully, partially, or not at all).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RunFinished {
    pub loop_name: LoopName,
    pub started_at: SystemTime,
    pub duration: Duration,
    pub outcome: RunOutcome,
}

/// Capabilities were (re)detected on a live connection.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CapabilitiesDetected {
    pub capabilities: Arc<Capabilities>,
}

/// The StateActor's current view, for HTTP handlers. Never blocks on the database.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Arc<StateView>")]
pub struct GetView;

/// After each loop run: the StateActor's new view, for the AlertEvaluator to evaluate at `at`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct EvaluateAlerts {
    pub view: Arc<StateView>,
    pub at: SystemTime,
}

/// The AlertEvaluator's result: open alerts, recent history, and what changed this time.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AlertsChanged {
    pub open: Vec<Alert>,
    pub history: Vec<ResolvedAlert>,
    pub transitions: Vec<Transition>,
}

/// Which part of the read-only check a `PrivilegesChecked` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrivilegeScope {
    /// Role attributes, write-capable predefined roles, CREATE on or ownership of a database
    /// or schema, ALTER SYSTEM (the hot path, every run).
    Role,
    /// Table, column, sequence and large-object privileges and ownership (the workload loop,
    /// every run).
    Objects,
}

/// A run re-checked the role's write privileges (with `security.read_only_enforce`): an empty
/// `found` clears what an earlier check of the same scope reported.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PrivilegesChecked {
    pub scope: PrivilegeScope,
    pub role: String,
    pub found: Vec<WritePrivilege>,
}

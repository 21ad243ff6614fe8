//! Every message between pgmon's actors, in one place, so the whole conversation can be read
//! here: loops report to the StateActor, which evaluates the alerts where each report lands;
//! its own query, `state::GetView`, is beside it.

use crate::collectors::LoopSnapshot;
use crate::db::capabilities::Capabilities;
use crate::db::privileges::WritePrivilege;
use crate::loops::{FailureKind, LoopName};
use actix::Message;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// `db_seconds`: how long the run's session had statements in flight (capability and
    /// privilege checks included, connection checkout not), measured by the agent.
    Completed {
        snapshot: LoopSnapshot,
        db_seconds: f64,
    },
    Failed {
        kind: FailureKind,
        error: String,
    },
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

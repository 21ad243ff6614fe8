//! The alert catalog's kinds (spec §6 plus `deadlocks`, replication slots and WAL archiving), as an enum: a rule, the engine, the
//! API, the Notifier's payloads and the `alerts_total{kind}` label all name a kind the compiler
//! knows; its text form (`snake_case`) is the one users script against.

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    ConnectionSaturation,
    LongTransaction,
    BlockingLocks,
    DeadTuples,
    StaleStats,
    AutovacuumStarvation,
    CheckpointThrash,
    WalSurge,
    TempSurge,
    ReplicationLag,
    ReplicationSlotRetention,
    WalArchivingFailing,
    WalArchivingStalled,
    SettingPendingRestart,
    Deadlocks,
    Wraparound,
    PartitionHorizon,
    AgentDegraded,
    DatabaseUnreachable,
}

impl AlertKind {
    /// Every kind, in the catalog's order.
    pub const ALL: [AlertKind; 19] = [
        AlertKind::ConnectionSaturation,
        AlertKind::LongTransaction,
        AlertKind::BlockingLocks,
        AlertKind::DeadTuples,
        AlertKind::StaleStats,
        AlertKind::AutovacuumStarvation,
        AlertKind::CheckpointThrash,
        AlertKind::WalSurge,
        AlertKind::TempSurge,
        AlertKind::ReplicationLag,
        AlertKind::ReplicationSlotRetention,
        AlertKind::WalArchivingFailing,
        AlertKind::WalArchivingStalled,
        AlertKind::SettingPendingRestart,
        AlertKind::Deadlocks,
        AlertKind::Wraparound,
        AlertKind::PartitionHorizon,
        AlertKind::AgentDegraded,
        AlertKind::DatabaseUnreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::ConnectionSaturation => "connection_saturation",
            AlertKind::LongTransaction => "long_transaction",
            AlertKind::BlockingLocks => "blocking_locks",
            AlertKind::DeadTuples => "dead_tuples",
            AlertKind::StaleStats => "stale_stats",
            AlertKind::AutovacuumStarvation => "autovacuum_starvation",
            AlertKind::CheckpointThrash => "checkpoint_thrash",
            AlertKind::WalSurge => "wal_surge",
            AlertKind::TempSurge => "temp_surge",
            AlertKind::ReplicationLag => "replication_lag",
            AlertKind::ReplicationSlotRetention => "replication_slot_retention",
            AlertKind::WalArchivingFailing => "wal_archiving_failing",
            AlertKind::WalArchivingStalled => "wal_archiving_stalled",
            AlertKind::SettingPendingRestart => "setting_pending_restart",
            AlertKind::Deadlocks => "deadlocks",
            AlertKind::Wraparound => "wraparound",
            AlertKind::PartitionHorizon => "partition_horizon",
            AlertKind::AgentDegraded => "agent_degraded",
            AlertKind::DatabaseUnreachable => "database_unreachable",
        }
    }

    /// The catalog's `for` (the configurable ones have this as their default).
    pub const fn default_hold(self) -> Duration {
        match self {
            AlertKind::ConnectionSaturation => Duration::from_secs(120),
            AlertKind::DeadTuples => Duration::from_secs(600),
            AlertKind::WalSurge => Duration::from_secs(900),
            AlertKind::TempSurge => Duration::from_secs(300),
            _ => Duration::ZERO,
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_is_the_serialized_one_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in AlertKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
            assert!(seen.insert(kind.as_str()), "{kind} twice");
        }
    }
}

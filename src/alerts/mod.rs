//! The alert catalog (spec §6) as pure rules over the latest snapshots: each rule turns what
//! it sees into conditions (kind, dedupe key, severity, message, labels) held for its `for`
//! duration; `engine` turns conditions into pending / firing / resolved alerts. No I/O here,
//! except in `notifier`, the one task that delivers transitions to webhooks.
//! PIDs and user names may appear in messages (API, UI, webhooks), never in labels.

pub mod engine;
pub mod kind;
pub mod notifier;
pub mod verdicts;

pub use kind::AlertKind;

/// How bad a verdict is. Ordered: `Crit` outranks `Warn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Crit,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Crit => "crit",
        }
    }
}

use crate::collectors::{
    hot_path::HotPathSnapshot, hourly::HourlySnapshot, storage::StorageSnapshot, workload::WorkloadSnapshot,
};
use crate::config::AlertThresholds;
use std::time::Duration;

/// Something that holds now and should alert once it has held for its rule's `for`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub kind: AlertKind,
    pub dedupe_key: String,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<(&'static str, String)>,
}

/// What the rules look at: the latest snapshot of each loop and the agent's own health.
#[derive(Default)]
pub struct Inputs<'a> {
    pub hot_path: Option<&'a HotPathSnapshot>,
    pub workload: Option<&'a WorkloadSnapshot>,
    pub storage: Option<&'a StorageSnapshot>,
    pub hourly: Option<&'a HourlySnapshot>,
    /// (loop, reason) for each degraded loop.
    pub degraded_loops: Vec<(String, String)>,
    /// Why the database cannot be reached, when it cannot.
    pub unreachable: Option<String>,
}

/// Every alert kind, with its `for` duration: the catalog at a glance.
pub const CATALOG: [(AlertKind, Duration); AlertKind::ALL.len()] = {
    let mut out = [(AlertKind::ConnectionSaturation, Duration::ZERO); AlertKind::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = (AlertKind::ALL[i], AlertKind::ALL[i].default_hold());
        i += 1;
    }
    out
};

/// A rule's `for`: from config where the catalog makes it configurable, else the catalog's.
pub fn hold_for(kind: AlertKind, t: &AlertThresholds) -> Duration {
    match kind {
        AlertKind::ConnectionSaturation => t.connections_for,
        AlertKind::DeadTuples => t.dead_tuples_for,
        AlertKind::WalSurge => t.wal_surge_for,
        AlertKind::TempSurge => t.temp_surge_for,
        other => other.default_hold(),
    }
}

fn level(value: f64, warn: f64, crit: f64) -> Option<Severity> {
    if value > crit {
        Some(Severity::Crit)
    } else if value > warn {
        Some(Severity::Warn)
    } else {
        None
    }
}

fn human(seconds: f64) -> String {
    humantime::format_duration(Duration::from_secs(seconds.max(0.0) as u64)).to_string()
}

fn cond(
    kind: AlertKind,
    key: impl Into<String>,
    severity: Severity,
    message: String,
    labels: Vec<(&'static str, String)>,
) -> Condition {
    Condition {
        kind,
        dedupe_key: key.into(),
        severity,
        message,
        labels,
    }
}

/// Evaluates every rule; each condition comes with its rule's `for`.
pub fn evaluate(inputs: &Inputs, t: &AlertThresholds) -> Vec<(Condition, Duration)> {
    let mut out = Vec::new();
    if let Some(hp) = inputs.hot_path {
        hot_path_rules(hp, t, &mut out);
    }
    if let Some(w) = inputs.workload {
        workload_rules(w, t, &mut out);
    }
    if let Some(s) = inputs.storage {
        for p in s.partitions.iter().flatten().filter(|p| p.missing_future == Some(true)) {
            let gap_hours = p.future_gap_seconds.unwrap_or(0.0) / 3600.0;
            let next = p
                .suggested_next
                .as_ref()
                .map_or("unknown".to_string(), |n| format!("{} from {}", n.name, n.from));
            let msg = format!("{} gap {gap_hours:.0}h (next due {next})", p.parent);
            out.push(cond(
                AlertKind::PartitionHorizon,
                format!("partition_horizon:{}", p.parent),
                Severity::Warn,
                msg,
                vec![("parent", p.parent.clone())],
            ));
        }
    }
    if let Some(h) = inputs.hourly {
        for d in h.wraparound.iter().flat_map(|w| &w.databases) {
            if let Some(sev) = level(
                d.xid_age as f64,
                t.wraparound_warn_tx_age as f64,
                t.wraparound_crit_tx_age as f64,
            ) {
                let msg = format!("Wraparound database {} age {}", d.database, d.xid_age);
                out.push(cond(
                    AlertKind::Wraparound,
                    format!("wraparound:{}", d.database),
                    sev,
                    msg,
                    vec![("database", d.database.clone())],
                ));
            }
        }
        let stale = h.stale_stats.as_ref().map(|o| verdicts::stale_stats(o, t));
        for judged in stale.iter().flat_map(|s| &s.tables) {
            let Some(severity) = judged.severity else { continue };
            let s = &judged.facts;
            let msg = format!("{}: stats stale {}", s.relation, human(s.stale_seconds));
            out.push(cond(
                AlertKind::StaleStats,
                format!("stale_stats:{}", s.relation),
                severity,
                msg,
                vec![("relation", s.relation.clone())],
            ));
        }
    }
    for (name, reason) in &inputs.degraded_loops {
        let msg = format!("pgmon loop {name} degraded: {reason}");
        out.push(cond(
            AlertKind::AgentDegraded,
            format!("agent_degraded:{name}"),
            Severity::Warn,
            msg,
            vec![("loop", name.clone())],
        ));
    }
    if let Some(reason) = &inputs.unreachable {
        out.push(cond(
            AlertKind::DatabaseUnreachable,
            "database_unreachable",
            Severity::Crit,
            reason.clone(),
            vec![],
        ));
    }
    out.into_iter()
        .map(|c| {
            let hold = hold_for(c.kind, t);
            (c, hold)
        })
        .collect()
}

fn hot_path_rules(hp: &HotPathSnapshot, t: &AlertThresholds, out: &mut Vec<Condition>) {
    if let Ok(c) = &hp.connections {
        if let Some(sev) = level(c.usage_ratio, t.connections_warn, t.connections_crit) {
            let msg = format!(
                "Connections at {:.0}% of max ({}/{})",
                c.usage_ratio * 100.0,
                c.connections,
                c.max_connections
            );
            out.push(cond(
                AlertKind::ConnectionSaturation,
                "connection_saturation",
                sev,
                msg,
                vec![],
            ));
        }
    }
    if let Some(oldest) = hp.transactions.as_ref().ok().and_then(|t| t.sessions.first()) {
        if let Some(sev) = level(
            oldest.xact_age_seconds,
            t.long_txn_warn_s as f64,
            t.long_txn_crit_s as f64,
        ) {
            let msg = format!(
                "Txn {} age {} (state={})",
                oldest.pid,
                human(oldest.xact_age_seconds),
                oldest.state
            );
            out.push(cond(AlertKind::LongTransaction, "long_transaction", sev, msg, vec![]));
        }
    }
    if let Ok(b) = &hp.blocking {
        if let Some(sev) = level(
            b.longest_blocked_seconds,
            t.blocked_warn_s as f64,
            t.blocked_crit_s as f64,
        ) {
            let msg = match b.events.first() {
                Some(e) => format!(
                    "{} blocked {} by {}",
                    e.blocked_pid,
                    human(e.blocked_wait_seconds),
                    e.blocker_pid
                ),
                None => format!(
                    "{} session(s) blocked, longest {}",
                    b.blocked_sessions,
                    human(b.longest_blocked_seconds)
                ),
            };
            out.push(cond(AlertKind::BlockingLocks, "blocking_locks", sev, msg, vec![]));
        }
    }
}

fn workload_rules(w: &WorkloadSnapshot, t: &AlertThresholds, out: &mut Vec<Condition>) {
    let tables = w
        .freshness
        .as_ref()
        .map(|ts| verdicts::freshness(ts, t))
        .unwrap_or_default();
    for judged in &tables {
        let table = &judged.facts;
        let dead = table.dead_tuples as f64;
        if dead > t.dead_tuples_min as f64 {
            if let Some(sev) = level(table.pct_dead, t.dead_tuples_warn_pct, t.dead_tuples_crit_pct) {
                let msg = format!(
                    "{}: {:.1}% (~{} rows)",
                    table.relation, table.pct_dead, table.dead_tuples
                );
                out.push(cond(
                    AlertKind::DeadTuples,
                    format!("dead_tuples:{}", table.relation),
                    sev,
                    msg,
                    vec![("relation", table.relation.clone())],
                ));
            }
        }
        if let Some(sev) = judged.starvation {
            let hours = table
                .hours_since_vacuum
                .map_or("never".to_string(), |h| format!("{h:.0}h since run"));
            let msg = format!("Autovac starvation {} ({hours})", table.relation);
            out.push(cond(
                AlertKind::AutovacuumStarvation,
                format!("autovacuum_starvation:{}", table.relation),
                sev,
                msg,
                vec![("relation", table.relation.clone())],
            ));
        }
    }
    if let Ok(c) = &w.checkpoints {
        let ratio = c
            .requested_ratio
            .and_then(|r| level(r, t.checkpoint_ratio_warn, t.checkpoint_ratio_crit));
        let interval = c.mean_interval_seconds.and_then(|i| {
            level(
                -i,
                -(t.checkpoint_interval_warn_seconds as f64),
                -(t.checkpoint_interval_crit_seconds as f64),
            )
        });
        if let Some(sev) = ratio.max(interval) {
            let msg = format!(
                "Checkpoint thrash: requested ratio {} / interval {}",
                c.requested_ratio.map_or("n/a".into(), |r| format!("{r:.2}")),
                c.mean_interval_seconds.map_or("n/a".into(), human)
            );
            out.push(cond(AlertKind::CheckpointThrash, "checkpoint_thrash", sev, msg, vec![]));
        }
    }
    for s in &verdicts::surges(w, t) {
        if let Some(sev) = s.severity {
            let kind = if s.kind == "wal" {
                AlertKind::WalSurge
            } else {
                AlertKind::TempSurge
            };
            let msg = format!(
                "{} surge: {:.1} MiB/s",
                s.kind.to_uppercase(),
                s.bytes_per_second / 1_048_576.0
            );
            out.push(cond(kind, kind.as_str(), sev, msg, vec![]));
        }
    }
    for judged in w.slots.iter().flat_map(|slots| verdicts::slot_retention(slots, t)) {
        if let (Some(sev), Some(verdict)) = (judged.severity, judged.verdict) {
            let slot = judged.slot.slot;
            out.push(cond(
                AlertKind::ReplicationSlotRetention,
                format!("replication_slot_retention:{slot}"),
                sev,
                format!("Replication slot {verdict}"),
                vec![("slot", slot), ("slot_type", judged.slot.slot_type)],
            ));
        }
    }
    if let Ok(a) = &w.archiving {
        let status = verdicts::archiving(a, t);
        let message = status.verdict.clone().unwrap_or_default();
        if let Some(sev) = status.failing {
            out.push(cond(
                AlertKind::WalArchivingFailing,
                "wal_archiving_failing",
                sev,
                format!("WAL archiving failing: {message}"),
                vec![],
            ));
        }
        if let Some(sev) = status.stalled {
            out.push(cond(
                AlertKind::WalArchivingStalled,
                "wal_archiving_stalled",
                sev,
                format!("WAL archiving stalled: {message}"),
                vec![],
            ));
        }
    }
    for p in w.settings.iter().flat_map(|s| &s.pending_restart) {
        if p.pending_seconds >= t.pending_restart_after.as_secs_f64() {
            let waiting = p
                .pending
                .as_deref()
                .map_or(String::new(), |v| format!(" (new value {v})"));
            out.push(cond(
                AlertKind::SettingPendingRestart,
                format!("setting_pending_restart:{}", p.name),
                Severity::Warn,
                format!(
                    "Setting {} changed{waiting} and waits for a restart for {}; it runs with {} until then",
                    p.name,
                    human(p.pending_seconds),
                    p.running
                ),
                vec![("setting", p.name.clone())],
            ));
        }
    }
    for d in w.deadlocks.iter().flatten() {
        let new = d.new_deadlocks.unwrap_or(0).max(0) as u64;
        // At least the threshold: one deadlock is already one killed transaction.
        let severity = if new >= t.deadlocks_crit {
            Some(Severity::Crit)
        } else if new >= t.deadlocks_warn {
            Some(Severity::Warn)
        } else {
            None
        };
        if let Some(sev) = severity {
            let msg = format!(
                "Deadlocks in {}: {new} since the previous run ({} since the statistics reset); each killed a transaction",
                d.database, d.deadlocks_total
            );
            out.push(cond(
                AlertKind::Deadlocks,
                format!("deadlocks:{}", d.database),
                sev,
                msg,
                vec![("database", d.database.clone())],
            ));
        }
    }
    if let Ok(r) = &w.replication {
        let own = r
            .standby
            .iter()
            .map(|s| ("self".to_string(), s.replay_lag_seconds, s.receive_replay_lag_bytes));
        for (replica, seconds, bytes) in r
            .replicas
            .iter()
            .map(|x| (x.replica.clone(), x.replay_lag_seconds, x.lag_bytes))
            .chain(own)
        {
            let by_time = seconds.and_then(|s| level(s, t.repl_warn_s as f64, t.repl_crit_s as f64));
            let by_bytes = bytes.and_then(|b| level(b, t.repl_warn_bytes as f64, t.repl_crit_bytes as f64));
            if let Some(sev) = by_time.max(by_bytes) {
                let msg = format!(
                    "Replica {replica} lag {} / {} bytes",
                    seconds.map_or("n/a".into(), human),
                    bytes.map_or("n/a".into(), |b| format!("{b:.0}"))
                );
                out.push(cond(
                    AlertKind::ReplicationLag,
                    format!("replication_lag:{replica}"),
                    sev,
                    msg,
                    vec![("replica", replica.clone())],
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::workload::Throughput;
    use crate::collectors::{
        blocking, checkpoints::CheckpointStats, connections::ConnectionStats, freshness, partitions, replication,
        stale_stats, transactions,
    };

    fn t() -> AlertThresholds {
        AlertThresholds::default()
    }

    fn hot(ratio_connections: i64, oldest: Option<(f64, &str)>, blocked: f64) -> HotPathSnapshot {
        let sessions = oldest
            .map(|(age, state)| transactions::OpenTransaction {
                pid: 42,
                state: state.into(),
                database: None,
                username: None,
                xact_age_seconds: age,
                state_age_seconds: Some(age),
                wait_event_type: None,
                query: None,
            })
            .into_iter()
            .collect();
        let blocked_list = if blocked > 0.0 {
            vec![blocking::BlockedSession {
                pid: 10,
                wait_seconds: blocked,
                wait_started_us: 1,
            }]
        } else {
            vec![]
        };
        let pair = blocking::BlockingEvent {
            blocked_pid: 10,
            blocker_pid: 7,
            database: None,
            blocked_user: None,
            blocker_user: None,
            wait_event: None,
            blocked_wait_seconds: 0.0,
            blocker_state: "idle in transaction".into(),
            blocker_xact_seconds: None,
            blocked_query: None,
            blocker_query: None,
        };
        let pairs = if blocked > 0.0 { vec![pair] } else { vec![] };
        HotPathSnapshot {
            database: "app".into(),
            connections: Ok(ConnectionStats {
                connections: ratio_connections,
                active: 0,
                idle: 0,
                idle_in_transaction: 0,
                max_connections: 100,
                superuser_reserved_connections: 3,
                usage_ratio: ratio_connections as f64 / 100.0,
            }),
            transactions: Ok(transactions::summarize(sessions, None)),
            blocking: Ok(blocking::summarize(&blocked_list, pairs, 1)),
            autovacuum: Err("not needed".into()),
            temp: Err("not needed".into()),
            canary: Err("not needed".into()),
        }
    }

    fn table(pct_dead: f64, dead: i64, starvation: Option<Severity>) -> freshness::FreshnessFacts {
        freshness::FreshnessFacts {
            relation: "public.orders".into(),
            live_tuples: 0,
            dead_tuples: dead,
            pct_dead,
            modified_since_analyze: 0,
            last_vacuum_seconds: None,
            last_autovacuum_seconds: None,
            last_analyze_seconds: None,
            last_autoanalyze_seconds: None,
            autovacuum_trigger: 0.0,
            // The facts that make the wanted verdict under the default 6 h / 12 h thresholds.
            over_trigger_and_rising: starvation.is_some(),
            hours_since_vacuum: Some(if starvation == Some(Severity::Crit) { 13.0 } else { 7.0 }),
            hint: None,
        }
    }

    fn work(
        tables: Vec<freshness::FreshnessFacts>,
        ratio: Option<f64>,
        interval: Option<f64>,
        replica: Option<(f64, f64)>,
        wal_bytes_per_second: Option<f64>,
    ) -> WorkloadSnapshot {
        WorkloadSnapshot {
            database: "app".into(),
            throughput: Ok(Throughput {
                tps: None,
                qps: None,
                latency_mean_seconds: None,
                latency_p95_seconds: None,
                latency_p99_seconds: None,
                percentiles_error: None,
                temp_bytes_per_second: None,
            }),
            statements: Err("n/a".into()),
            wal: Ok(crate::collectors::wal::WalStats {
                bytes_total: None,
                bytes_per_second: wal_bytes_per_second,
            }),
            checkpoints: Ok(CheckpointStats {
                timed_total: 0,
                requested_total: 0,
                buffers_written_total: 0,
                write_time_seconds_total: 0.0,
                sync_time_seconds_total: 0.0,
                requested_ratio: ratio,
                mean_interval_seconds: interval,
                window_seconds: Some(3600.0),
            }),
            replication: Ok(replication::ReplicationStatus {
                role: "primary",
                replicas: replica
                    .map(|(secs, bytes)| replication::ReplicaLag {
                        replica: "standby1".into(),
                        state: "streaming".into(),
                        sync_state: "async".into(),
                        write_lag_seconds: None,
                        flush_lag_seconds: None,
                        replay_lag_seconds: Some(secs),
                        lag_bytes: Some(bytes),
                        total_lag_bytes: None,
                    })
                    .into_iter()
                    .collect(),
                standby: None,
            }),
            freshness: Ok(tables),
            deadlocks: Ok(Vec::new()),
            slots: Ok(Vec::new()),
            archiving: Err("not needed".into()),
            wal_directory: Err("not needed".into()),
            settings: Err("not needed".into()),
            io: Err("not needed".into()),
        }
    }

    #[test]
    fn slot_retention_and_archiving_alerts_name_the_slot_and_the_segment() {
        use crate::collectors::{archiver::Archiving, slots::ReplicationSlot};
        let mut w = work(vec![], None, None, None, None);
        w.slots = Ok(vec![ReplicationSlot {
            slot: "standby_1".into(),
            slot_type: "physical".into(),
            active: false,
            database: String::new(),
            retained_bytes: 2.0 * 1024.0 * 1024.0 * 1024.0,
            wal_status: Some("extended".into()),
            safe_wal_size_bytes: None,
            xmin_age: None,
            catalog_xmin_age: None,
        }]);
        w.archiving = Ok(Archiving {
            archive_mode: "on".into(),
            enabled: true,
            archived_total: 0,
            failed_total: 9,
            new_failures: Some(3),
            last_archived_wal: None,
            last_archived_seconds: None,
            last_failed_wal: Some("000000010000000000000002".into()),
            last_failed_seconds: Some(4.0),
            failing_now: true,
            failing_seconds: Some(90.0),
            ready_segments: Some(1),
            oldest_ready_seconds: Some(95.0),
        });
        let found: Vec<Condition> = evaluate(
            &Inputs {
                workload: Some(&w),
                ..Inputs::default()
            },
            &AlertThresholds::default(),
        )
        .into_iter()
        .map(|(c, _)| c)
        .collect();
        let slot = found
            .iter()
            .find(|c| c.kind == AlertKind::ReplicationSlotRetention)
            .expect("slot alert");
        assert_eq!(
            (slot.dedupe_key.as_str(), slot.severity),
            ("replication_slot_retention:standby_1", Severity::Warn)
        );
        assert!(
            slot.message.contains("standby_1") && slot.message.contains("2.0 GiB"),
            "{}",
            slot.message
        );
        assert_eq!(
            slot.labels,
            vec![("slot", "standby_1".to_string()), ("slot_type", "physical".to_string())]
        );
        let failing = found
            .iter()
            .find(|c| c.kind == AlertKind::WalArchivingFailing)
            .expect("archiving alert");
        assert_eq!(failing.severity, Severity::Warn);
        assert!(
            failing.message.contains("000000010000000000000002"),
            "{}",
            failing.message
        );
        assert!(
            !found.iter().any(|c| c.kind == AlertKind::WalArchivingStalled),
            "failing, not stalled"
        );
    }

    #[test]
    fn deadlocks_alert_per_database_from_the_first_new_one() {
        let incidents = |new: Option<i64>| crate::collectors::deadlocks::DatabaseIncidents {
            database: "app".into(),
            deadlocks_total: 42,
            conflicts_total: 0,
            new_deadlocks: new,
            new_conflicts: Some(0),
        };
        let mut w = work(vec![], None, None, None, None);
        for (new, expected) in [
            (None, None),
            (Some(0), None),
            (Some(1), Some(Severity::Warn)),
            (Some(9), Some(Severity::Warn)),
            (Some(10), Some(Severity::Crit)),
        ] {
            w.deadlocks = Ok(vec![incidents(new)]);
            let found = only(&Inputs {
                workload: Some(&w),
                ..Inputs::default()
            });
            let deadlock = found.iter().find(|(key, ..)| key == "deadlocks:app");
            assert_eq!(deadlock.map(|(_, sev, ..)| *sev), expected, "{new:?}");
            if let Some((_, _, message, hold)) = deadlock {
                assert!(
                    message.contains("Deadlocks in app: ") && message.contains("42 since"),
                    "{message}"
                );
                assert_eq!(*hold, Duration::ZERO);
            }
        }
    }

    fn only(inputs: &Inputs) -> Vec<(String, Severity, String, Duration)> {
        evaluate(inputs, &t())
            .into_iter()
            .map(|(c, d)| (c.dedupe_key, c.severity, c.message, d))
            .collect()
    }

    #[test]
    fn connection_saturation_warns_at_80_and_crits_at_95_after_two_minutes() {
        let warn = hot(85, None, 0.0);
        assert_eq!(
            only(&Inputs {
                hot_path: Some(&warn),
                ..Inputs::default()
            }),
            [(
                "connection_saturation".into(),
                Severity::Warn,
                "Connections at 85% of max (85/100)".into(),
                Duration::from_secs(120)
            )]
        );
        let crit = hot(97, None, 0.0);
        assert_eq!(
            only(&Inputs {
                hot_path: Some(&crit),
                ..Inputs::default()
            })[0]
                .1,
            Severity::Crit
        );
        assert!(only(&Inputs {
            hot_path: Some(&hot(50, None, 0.0)),
            ..Inputs::default()
        })
        .is_empty());
    }

    #[test]
    fn long_transaction_and_blocking_carry_pids_in_messages_only() {
        let s = hot(10, Some((400.0, "idle in transaction")), 45.0);
        let c = evaluate(
            &Inputs {
                hot_path: Some(&s),
                ..Inputs::default()
            },
            &t(),
        );
        let txn = c.iter().find(|(c, _)| c.kind == AlertKind::LongTransaction).unwrap();
        assert_eq!(
            (txn.0.severity, txn.0.message.as_str()),
            (Severity::Warn, "Txn 42 age 6m 40s (state=idle in transaction)")
        );
        assert!(txn.0.labels.is_empty(), "no PIDs in labels");
        let block = c.iter().find(|(c, _)| c.kind == AlertKind::BlockingLocks).unwrap();
        assert_eq!(
            (block.0.severity, block.0.message.as_str()),
            (Severity::Warn, "10 blocked 45s by 7")
        );
        let s = hot(10, Some((2000.0, "active")), 200.0);
        let c = evaluate(
            &Inputs {
                hot_path: Some(&s),
                ..Inputs::default()
            },
            &t(),
        );
        assert!(c.iter().all(|(c, _)| c.severity == Severity::Crit), "{c:?}");
    }

    #[test]
    fn dead_tuples_need_both_percentage_and_count_and_hold_ten_minutes() {
        let w = work(vec![table(25.0, 200_000, None)], None, None, None, None);
        assert_eq!(
            only(&Inputs {
                workload: Some(&w),
                ..Inputs::default()
            }),
            [(
                "dead_tuples:public.orders".into(),
                Severity::Warn,
                "public.orders: 25.0% (~200000 rows)".into(),
                Duration::from_secs(600)
            )]
        );
        let w = work(vec![table(45.0, 2_000_000, None)], None, None, None, None);
        assert_eq!(
            only(&Inputs {
                workload: Some(&w),
                ..Inputs::default()
            })[0]
                .1,
            Severity::Crit
        );
        let w = work(vec![table(60.0, 50_000, None)], None, None, None, None);
        assert!(
            only(&Inputs {
                workload: Some(&w),
                ..Inputs::default()
            })
            .is_empty(),
            "few rows: no alert"
        );
    }

    #[test]
    fn starvation_checkpoints_surges_and_replication() {
        // 150 MiB/s of WAL: over the 100 MiB/s warn, under the 200 MiB/s crit.
        let wal_rate = Some(150.0 * 1_048_576.0);
        let w = work(
            vec![table(1.0, 10, Some(Severity::Crit))],
            Some(0.3),
            Some(120.0),
            Some((45.0, 10.0)),
            wal_rate,
        );
        let c = only(&Inputs {
            workload: Some(&w),
            ..Inputs::default()
        });
        let find = |key: &str| {
            c.iter()
                .find(|x| x.0 == key)
                .unwrap_or_else(|| panic!("{key} missing from {c:?}"))
                .clone()
        };
        assert_eq!(find("autovacuum_starvation:public.orders").1, Severity::Crit);
        assert_eq!(
            find("autovacuum_starvation:public.orders").2,
            "Autovac starvation public.orders (13h since run)"
        );
        assert_eq!(
            find("checkpoint_thrash").1,
            Severity::Crit,
            "interval 2m < 3m is crit even though the ratio is only warn"
        );
        assert_eq!(find("wal_surge").3, Duration::from_secs(900));
        assert_eq!(find("replication_lag:standby1").1, Severity::Warn);
        let by_bytes = work(vec![], None, None, Some((1.0, 2.0 * 1_073_741_824.0)), None);
        assert_eq!(
            only(&Inputs {
                workload: Some(&by_bytes),
                ..Inputs::default()
            })[0]
                .1,
            Severity::Warn,
            "bytes alone alert"
        );
    }

    #[test]
    fn agent_and_database_health() {
        let inputs = Inputs {
            degraded_loops: vec![("storage".into(), "over budget".into())],
            unreachable: Some("database unreachable: connection refused".into()),
            ..Inputs::default()
        };
        let c = only(&inputs);
        assert_eq!(c[0].0, "agent_degraded:storage");
        assert_eq!((c[1].0.as_str(), c[1].1), ("database_unreachable", Severity::Crit));
    }

    #[test]
    fn stale_stats_wraparound_and_partition_horizon_from_slow_loops() {
        let hourly = HourlySnapshot {
            database: "app".into(),
            wraparound: Ok(crate::collectors::wraparound::Wraparound {
                databases: vec![crate::collectors::wraparound::DatabaseAge {
                    database: "app".into(),
                    xid_age: 1_600_000_000,
                    mxid_age: 0,
                    fraction_of_limit: 0.75,
                }],
                relations: vec![],
            }),
            stale_stats: Ok({
                // Stale under the default 12 h / 24 h thresholds: warn.
                let orders = stale_stats::StaleObservation {
                    relation: "public.orders".into(),
                    modified_since_analyze: 2_000,
                    modified_last_hour: Some(1_500),
                    analyze_trigger: 150.0,
                    live_tuples: 1_000,
                    stale_seconds: 13.0 * 3600.0,
                    stale_seconds_lower_bound: false,
                    never_analyzed: false,
                    fix: String::new(),
                };
                // Listed only: not modified in the last hour.
                let listed_only = stale_stats::StaleObservation {
                    relation: "public.quiet".into(),
                    modified_last_hour: Some(0),
                    ..orders.clone()
                };
                vec![orders, listed_only]
            }),
            bloat: Err("n/a".into()),
        };
        let rows = vec![partitions::PartitionRow {
            parent_schema: "public".into(),
            parent_name: "events".into(),
            strategy: "range".into(),
            key_columns: 1,
            key_type: Some("date".into()),
            child_schema: Some("public".into()),
            child_name: Some("events_1".into()),
            bound: Some("FOR VALUES FROM ('2024-03-01') TO ('2024-03-02')".into()),
        }];
        let storage = StorageSnapshot {
            database: "app".into(),
            relations: Err("n/a".into()),
            free_space: Err("n/a".into()),
            indexes: Err("n/a".into()),
            unused_indexes: Err("n/a".into()),
            partitions: Ok(partitions::analyse(
                &partitions::PartitionCatalog {
                    rows,
                    inheritance: vec![],
                    server_time_zone: "UTC".into(),
                },
                partitions::parse_time("2024-03-01 12:00:00").unwrap(),
                7,
            )),
            skipped_relations: vec![],
        };
        let c = only(&Inputs {
            hourly: Some(&hourly),
            storage: Some(&storage),
            ..Inputs::default()
        });
        let keys: Vec<&str> = c.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            keys,
            [
                "partition_horizon:public.events",
                "wraparound:app",
                "stale_stats:public.orders"
            ]
        );
        assert_eq!(
            c[0].2,
            "public.events gap 12h (next due public.events_p20240302 from 2024-03-02)"
        );
        assert_eq!(c[1].2, "Wraparound database app age 1600000000");
        assert_eq!(c[2].2, "public.orders: stats stale 13h");
    }

    #[test]
    fn every_rule_goes_pending_firing_resolved_through_the_engine() {
        use crate::alerts::engine::{Engine, Transition};
        use std::time::SystemTime;
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s);
        let mut engine = Engine::new(Duration::from_secs(30));
        let w = work(vec![table(25.0, 200_000, None)], None, None, None, None);
        let firing = Inputs {
            workload: Some(&w),
            ..Inputs::default()
        };
        assert!(
            engine.evaluate(evaluate(&firing, &t()), at(0)).is_empty(),
            "pending for 10m"
        );
        let fired = engine.evaluate(evaluate(&firing, &t()), at(600));
        assert!(
            matches!(&fired[..], [Transition::Firing(a)] if a.kind == AlertKind::DeadTuples && a.labels == [("relation", "public.orders".to_string())])
        );
        assert!(
            engine.evaluate(evaluate(&Inputs::default(), &t()), at(615)).is_empty(),
            "hysteresis"
        );
        let resolved = engine.evaluate(evaluate(&Inputs::default(), &t()), at(640));
        assert!(matches!(&resolved[..], [Transition::Resolved(r)] if r.dedupe_key == "dead_tuples:public.orders"));
    }
}

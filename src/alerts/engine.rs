//! The alert state machine, pure and clock-injected: a condition seen is *pending* until it has
//! held for its rule's `for`, then *firing*; it *resolves* once absent for `RESOLVE_AFTER`
//! (hysteresis, so a value hovering at a threshold does not flap). One state per dedupe key.

use super::{AlertKind, Condition, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

/// How long a condition must stay absent before its alert resolves (`alerts.resolve_after`).
pub const DEFAULT_RESOLVE_AFTER: Duration = Duration::from_secs(30);
/// Resolved alerts kept for `/api/v1/alerts`.
pub const HISTORY_LIMIT: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Pending,
    Firing,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub kind: AlertKind,
    pub dedupe_key: String,
    pub severity: Severity,
    pub message: String,
    pub phase: Phase,
    /// Labels for the per-alert gauges (e.g. relation); never PIDs, users or SQL.
    pub labels: Vec<(&'static str, String)>,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub since: SystemTime,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = Option<String>)]
    pub firing_since: Option<SystemTime>,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub last_seen: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResolvedAlert {
    pub kind: AlertKind,
    pub dedupe_key: String,
    pub severity: Severity,
    pub message: String,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub started: SystemTime,
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub ended: SystemTime,
}

/// What changed in one evaluation: each is delivered once (metrics, notifier, log).
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Firing(Alert),
    /// A firing alert's severity went up (warn → crit) or down.
    Escalated(Alert),
    Resolved(ResolvedAlert),
}

#[derive(Debug)]
pub struct Engine {
    resolve_after: Duration,
    open: BTreeMap<String, Alert>,
    history: VecDeque<ResolvedAlert>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(DEFAULT_RESOLVE_AFTER)
    }
}

impl Engine {
    pub fn new(resolve_after: Duration) -> Self {
        Self {
            resolve_after,
            open: BTreeMap::new(),
            history: VecDeque::new(),
        }
    }

    /// Feeds the conditions that hold `now` (each with its rule's `for`).
    pub fn evaluate(&mut self, conditions: Vec<(Condition, Duration)>, now: SystemTime) -> Vec<Transition> {
        let mut transitions = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (c, hold_for) in conditions {
            seen.insert(c.dedupe_key.clone());
            match self.open.get_mut(&c.dedupe_key) {
                None => {
                    let alert = Alert {
                        kind: c.kind,
                        dedupe_key: c.dedupe_key.clone(),
                        severity: c.severity,
                        message: c.message,
                        phase: Phase::Pending,
                        labels: c.labels,
                        since: now,
                        firing_since: None,
                        last_seen: now,
                    };
                    let alert = self.open.entry(c.dedupe_key).or_insert(alert);
                    if hold_for.is_zero() {
                        alert.phase = Phase::Firing;
                        alert.firing_since = Some(now);
                        transitions.push(Transition::Firing(alert.clone()));
                    }
                }
                Some(alert) => {
                    let previous = alert.severity;
                    // An open alert keeps its highest severity: stepping down would flap
                    // (crit, warn, crit…) and notify each time. It resolves when it clears.
                    if c.severity >= alert.severity {
                        alert.severity = c.severity;
                        alert.message = c.message;
                    }
                    alert.labels = c.labels;
                    alert.last_seen = now;
                    match alert.phase {
                        Phase::Pending if now.duration_since(alert.since).unwrap_or_default() >= hold_for => {
                            alert.phase = Phase::Firing;
                            alert.firing_since = Some(now);
                            transitions.push(Transition::Firing(alert.clone()));
                        }
                        Phase::Firing if previous != alert.severity => {
                            transitions.push(Transition::Escalated(alert.clone()))
                        }
                        _ => {}
                    }
                }
            }
        }
        let gone: Vec<String> = self
            .open
            .iter()
            .filter(|(key, a)| {
                !seen.contains(*key)
                    && (a.phase == Phase::Pending
                        || now.duration_since(a.last_seen).unwrap_or_default() >= self.resolve_after)
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            if let Some(alert) = self.open.remove(&key) {
                if alert.phase == Phase::Firing {
                    let resolved = ResolvedAlert {
                        kind: alert.kind,
                        dedupe_key: alert.dedupe_key,
                        severity: alert.severity,
                        message: alert.message,
                        started: alert.firing_since.unwrap_or(alert.since),
                        ended: now,
                    };
                    self.history.push_front(resolved.clone());
                    self.history.truncate(HISTORY_LIMIT);
                    transitions.push(Transition::Resolved(resolved));
                }
            }
        }
        transitions
    }

    pub fn open(&self) -> Vec<Alert> {
        self.open.values().cloned().collect()
    }

    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.open.values().filter(|a| a.phase == Phase::Firing)
    }

    pub fn history(&self) -> Vec<ResolvedAlert> {
        self.history.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(key: &str, severity: Severity) -> Condition {
        Condition {
            kind: AlertKind::DeadTuples,
            dedupe_key: key.into(),
            severity,
            message: format!("{key} is bad"),
            labels: vec![("relation", key.into())],
        }
    }

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    const TEN_MIN: Duration = Duration::from_secs(600);

    #[test]
    fn pending_until_held_for_then_firing_once() {
        let mut e = Engine::default();
        assert!(e.evaluate(vec![(cond("t", Severity::Warn), TEN_MIN)], at(0)).is_empty());
        assert_eq!(e.open()[0].phase, Phase::Pending);
        assert!(e
            .evaluate(vec![(cond("t", Severity::Warn), TEN_MIN)], at(599))
            .is_empty());
        let t = e.evaluate(vec![(cond("t", Severity::Warn), TEN_MIN)], at(600));
        assert!(matches!(&t[..], [Transition::Firing(a)] if a.firing_since == Some(at(600)) && a.since == at(0)));
        assert!(
            e.evaluate(vec![(cond("t", Severity::Warn), TEN_MIN)], at(660))
                .is_empty(),
            "fires once"
        );
    }

    #[test]
    fn zero_for_fires_at_once_and_pending_clears_silently() {
        let mut e = Engine::default();
        let t = e.evaluate(
            vec![
                (cond("a", Severity::Crit), Duration::ZERO),
                (cond("b", Severity::Warn), TEN_MIN),
            ],
            at(0),
        );
        assert_eq!(t.len(), 1);
        assert!(
            e.evaluate(vec![(cond("a", Severity::Crit), Duration::ZERO)], at(15))
                .is_empty(),
            "pending b left without a transition"
        );
        assert_eq!(e.open().len(), 1);
    }

    #[test]
    fn hysteresis_keeps_a_flapping_alert_open_then_resolves_once() {
        let mut e = Engine::default();
        e.evaluate(vec![(cond("t", Severity::Warn), Duration::ZERO)], at(0));
        assert!(e.evaluate(vec![], at(15)).is_empty(), "absent 15s: still open");
        assert!(
            e.evaluate(vec![(cond("t", Severity::Warn), Duration::ZERO)], at(20))
                .is_empty(),
            "back: no new firing"
        );
        assert!(e.evaluate(vec![], at(45)).is_empty());
        let t = e.evaluate(vec![], at(50));
        assert!(matches!(&t[..], [Transition::Resolved(r)] if r.started == at(0) && r.ended == at(50)));
        assert!(e.open().is_empty());
        assert_eq!(e.history().len(), 1);
        assert!(e.evaluate(vec![], at(90)).is_empty(), "resolves once");
    }

    #[test]
    fn severity_change_is_an_escalation_not_a_new_alert() {
        let mut e = Engine::default();
        e.evaluate(vec![(cond("t", Severity::Warn), Duration::ZERO)], at(0));
        let t = e.evaluate(vec![(cond("t", Severity::Crit), Duration::ZERO)], at(15));
        assert!(
            matches!(&t[..], [Transition::Escalated(a)] if a.severity == Severity::Crit && a.firing_since == Some(at(0)))
        );
        assert_eq!(e.open().len(), 1);
    }

    #[test]
    fn stepping_down_keeps_the_higher_severity_silently() {
        let mut e = Engine::default();
        e.evaluate(vec![(cond("t", Severity::Crit), Duration::ZERO)], at(0));
        assert!(e
            .evaluate(vec![(cond("t", Severity::Warn), Duration::ZERO)], at(15))
            .is_empty());
        assert_eq!(e.open()[0].severity, Severity::Crit);
    }

    #[test]
    fn dedupe_keys_are_separate_alerts_and_history_is_bounded() {
        let mut e = Engine::default();
        for i in 0..(HISTORY_LIMIT as u64 + 10) {
            e.evaluate(
                vec![(cond(&format!("t{i}"), Severity::Warn), Duration::ZERO)],
                at(i * 100),
            );
            e.evaluate(vec![], at(i * 100 + 31));
        }
        assert_eq!(e.history().len(), HISTORY_LIMIT);
        assert_eq!(
            e.history()[0].dedupe_key,
            format!("t{}", HISTORY_LIMIT + 9),
            "newest first"
        );
    }
}

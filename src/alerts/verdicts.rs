//! Verdicts computed from thresholds over the facts a snapshot holds, shared by the alert rules
//! and the API so both say the same thing: collectors report rates and counts, and the
//! severities against `alerts.*` are decided here, not in the collectors.

use super::Severity;
use crate::collectors::archiver::Archiving;
use crate::collectors::freshness::FreshnessFacts;
use crate::collectors::slots::ReplicationSlot;
use crate::collectors::stale_stats::StaleObservation;
use crate::collectors::workload::WorkloadSnapshot;
use crate::config::AlertThresholds;
use serde::Serialize;

/// A write rate against its surge thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Surge {
    /// "wal" or "temp".
    pub kind: &'static str,
    pub bytes_per_second: f64,
    pub warn_bytes_per_second: f64,
    pub crit_bytes_per_second: f64,
    /// Set when the rate is at or above a threshold.
    pub severity: Option<Severity>,
}

/// `rate` against `warn`/`crit` (bytes per second); nothing without a rate.
pub fn surge(kind: &'static str, rate: Option<f64>, warn: u64, crit: u64) -> Option<Surge> {
    let rate = rate?;
    let (warn, crit) = (warn as f64, crit as f64);
    let severity = if rate >= crit {
        Some(Severity::Crit)
    } else if rate >= warn {
        Some(Severity::Warn)
    } else {
        None
    };
    Some(Surge {
        kind,
        bytes_per_second: rate,
        warn_bytes_per_second: warn,
        crit_bytes_per_second: crit,
        severity,
    })
}

/// The WAL and temp write rates of a workload snapshot against `alerts.*_surge_*`.
pub fn surges(w: &WorkloadSnapshot, t: &AlertThresholds) -> Vec<Surge> {
    [
        surge(
            "wal",
            w.wal.as_ref().ok().and_then(|w| w.bytes_per_second),
            t.wal_surge_warn_bytes_per_sec,
            t.wal_surge_crit_bytes_per_sec,
        ),
        surge(
            "temp",
            w.throughput.as_ref().ok().and_then(|t| t.temp_bytes_per_second),
            t.temp_surge_warn_bytes_per_sec,
            t.temp_surge_crit_bytes_per_sec,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A table's vacuum facts with the starvation verdict: what `/api/v1/autovacuum` lists and the
/// `autovacuum_starvation` rule reads.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TableFreshness {
    #[serde(flatten)]
    pub facts: FreshnessFacts,
    /// Set when the starvation heuristic holds (from `alerts.autovac_starvation_*_hours`).
    pub starvation: Option<Severity>,
}

/// The autovacuum starvation heuristic: a table whose dead tuples exceed its autovacuum
/// trigger and are still rising, and that no (auto)vacuum has touched for
/// `alerts.autovac_starvation_warn_hours` (crit past `..._crit_hours`; never vacuumed counts as
/// crit). Returns every table with its verdict and, for a starving one, the hint that says what
/// to look for.
pub fn freshness(tables: &[FreshnessFacts], t: &AlertThresholds) -> Vec<TableFreshness> {
    let (warn, crit) = (
        t.autovac_starvation_warn_hours as f64,
        t.autovac_starvation_crit_hours as f64,
    );
    tables
        .iter()
        .map(|facts| {
            let mut facts = facts.clone();
            let idle_hours = facts.hours_since_vacuum.unwrap_or(f64::INFINITY);
            let starvation = (facts.over_trigger_and_rising && idle_hours >= warn)
                .then_some(if idle_hours >= crit { Severity::Crit } else { Severity::Warn });
            if starvation.is_some() {
                facts.hint = Some(format!(
                    "autovacuum has not vacuumed this table for {} although its {} dead tuples exceed the trigger ({:.0}): look for long transactions holding back the xmin horizon and busy autovacuum workers, or run VACUUM (VERBOSE) {};",
                    facts.hours_since_vacuum.map_or("ever".to_string(), |h| format!("{h:.1}h")),
                    facts.dead_tuples,
                    facts.autovacuum_trigger,
                    facts.relation,
                ));
            }
            TableFreshness { facts, starvation }
        })
        .collect()
}

/// A table's staleness facts with the verdict of spec §6.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StaleTable {
    #[serde(flatten)]
    pub facts: StaleObservation,
    /// Set when the table is stale per the rule; `null` for a table only listed.
    pub severity: Option<Severity>,
    /// Why it is, or is not yet, stale, in words.
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StaleStats {
    /// The tables stale per the rule, worst first: what `stale_stats` alerts on.
    pub tables: Vec<StaleTable>,
    /// The Top-N stalest modified tables (past their trigger first), stale or not.
    pub stalest: Vec<StaleTable>,
}

/// Stale planner statistics (spec §6): a table with live rows, modified past its autoanalyze
/// trigger since its last analyze, changed in the last hour, and analyzed longer than
/// `alerts.stats_stale_warn_hours` ago (crit past `..._crit_hours`).
pub fn stale_table(o: &StaleObservation, t: &AlertThresholds) -> StaleTable {
    let (warn_hours, crit_hours) = (t.stats_stale_warn_hours, t.stats_stale_crit_hours);
    let trigger = o.analyze_trigger.max(1.0);
    let changed = o.modified_last_hour.unwrap_or(0);
    let age = humantime::format_duration(std::time::Duration::from_secs(o.stale_seconds.max(0.0) as u64));
    let not_stale = if o.live_tuples <= 0 {
        Some("empty: nothing for the planner to misjudge".to_string())
    } else if (o.modified_since_analyze as f64) < trigger {
        Some(format!(
            "{} rows modified since the last analyze, below the autoanalyze trigger of {trigger:.0}",
            o.modified_since_analyze
        ))
    } else if o.modified_last_hour.is_none() {
        Some("not yet known whether it changed in the last hour (no earlier sample)".to_string())
    } else if changed <= 0 {
        Some("not modified in the last hour".to_string())
    } else if o.stale_seconds < warn_hours as f64 * 3600.0 {
        Some(format!("analyzed {age} ago, within {warn_hours}h"))
    } else {
        None
    };
    let level = if o.stale_seconds >= crit_hours as f64 * 3600.0 {
        Severity::Crit
    } else {
        Severity::Warn
    };
    let analyzed = if o.stale_seconds_lower_bound {
        format!("no analyze recorded, watched {age}")
    } else {
        format!("last analyze {age} ago")
    };
    let verdict = match &not_stale {
        Some(why) => format!("not stale: {why}"),
        None => format!(
            "{} rows modified since the last analyze (trigger {trigger:.0}), {changed} in the last hour; {analyzed}",
            o.modified_since_analyze
        ),
    };
    StaleTable {
        facts: o.clone(),
        severity: not_stale.is_none().then_some(level),
        verdict,
    }
}

/// Every observed table with its verdict (in the collector's order, stalest first), and the
/// stale ones worst first.
pub fn stale_stats(observed: &[StaleObservation], t: &AlertThresholds) -> StaleStats {
    let stalest: Vec<StaleTable> = observed.iter().map(|o| stale_table(o, t)).collect();
    let mut tables: Vec<StaleTable> = stalest.iter().filter(|s| s.severity.is_some()).cloned().collect();
    tables.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.facts.stale_seconds.total_cmp(&a.facts.stale_seconds))
    });
    StaleStats { tables, stalest }
}

/// A replication slot with its retention verdict.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlotRetention {
    #[serde(flatten)]
    pub slot: ReplicationSlot,
    /// Set when the slot endangers the disk or is already broken (`replication_slot_retention`).
    pub severity: Option<Severity>,
    /// Why, in words, with what to do; null when the slot is fine.
    pub verdict: Option<String>,
}

/// `replication_slot_retention`: an inactive slot retaining more than
/// `alerts.slot_retained_warn_bytes` (crit past `..._crit_bytes`), or PostgreSQL saying its WAL
/// is about to go (`wal_status = unreserved`: warn at least) or gone (`lost`: crit). An active
/// slot's consumer is reading: its lag is `replication_lag`'s business.
pub fn slot_retention(slots: &[ReplicationSlot], t: &AlertThresholds) -> Vec<SlotRetention> {
    slots
        .iter()
        .map(|slot| {
            let retained = slot.retained_bytes;
            let by_bytes = if slot.active {
                None
            } else if retained >= t.slot_retained_crit_bytes as f64 {
                Some(Severity::Crit)
            } else if retained >= t.slot_retained_warn_bytes as f64 {
                Some(Severity::Warn)
            } else {
                None
            };
            let by_status = match slot.wal_status.as_deref() {
                Some("lost") => Some(Severity::Crit),
                Some("unreserved") => Some(Severity::Warn),
                _ => None,
            };
            let severity = by_bytes.max(by_status);
            let state = if slot.active { "active" } else { "inactive" };
            let verdict = severity.map(|_| match slot.wal_status.as_deref() {
                Some("lost") => format!(
                    "{} slot {} ({state}) lost the WAL it needed: it can no longer be used; drop it (SELECT pg_drop_replication_slot('{}');) and rebuild its consumer",
                    slot.slot_type, slot.slot, slot.slot.replace('\'', "''")
                ),
                status => format!(
                    "{} slot {} ({state}) retains {} of WAL{}: if its consumer is gone, SELECT pg_drop_replication_slot('{}');",
                    slot.slot_type,
                    slot.slot,
                    human_bytes(retained),
                    if status == Some("unreserved") {
                        ", past max_slot_wal_keep_size: the next checkpoint may remove it"
                    } else {
                        ""
                    },
                    slot.slot.replace('\'', "''")
                ),
            });
            SlotRetention {
                slot: slot.clone(),
                severity,
                verdict,
            }
        })
        .collect()
}

/// Bytes in binary units, for messages ("1.5 GiB").
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A failure is "recent" (archiving keeps failing, rather than failed once long ago) within
/// this: the archiver retries a ready segment at least once a minute.
pub const FAILURE_RECENCY_SECONDS: f64 = 300.0;

/// WAL archiving with its verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ArchivingStatus {
    #[serde(flatten)]
    pub archiving: Archiving,
    /// `wal_archiving_failing`: the last attempts fail, recently, with no success since; crit
    /// once the agent has watched it fail for `alerts.archive_failing_crit_after`.
    pub failing: Option<Severity>,
    /// `wal_archiving_stalled`: a completed segment has waited longer than
    /// `alerts.archive_stalled_after` while the archiver is not (visibly) failing.
    pub stalled: Option<Severity>,
    /// What the verdicts rest on, in words; null when archiving is off or fine.
    pub verdict: Option<String>,
}

/// Nothing when archiving is off: no `archive_command` runs, so none can fail or stall.
pub fn archiving(a: &Archiving, t: &AlertThresholds) -> ArchivingStatus {
    let recent_failure = a.last_failed_seconds.is_some_and(|s| s <= FAILURE_RECENCY_SECONDS);
    let failing = (a.enabled && a.failing_now && recent_failure).then(|| {
        if a.failing_seconds.unwrap_or(0.0) >= t.archive_failing_crit_after.as_secs_f64() {
            Severity::Crit
        } else {
            Severity::Warn
        }
    });
    let stalled = (a.enabled
        && failing.is_none()
        && a.ready_segments.unwrap_or(0) > 0
        && a.oldest_ready_seconds.unwrap_or(0.0) > t.archive_stalled_after.as_secs_f64())
    .then_some(Severity::Warn);
    let since_success = a
        .last_archived_seconds
        .map_or("none since the statistics reset".to_string(), |s| {
            format!(
                "the last success {} ago",
                humantime::format_duration(std::time::Duration::from_secs(s as u64))
            )
        });
    let verdict = if failing.is_some() {
        Some(format!(
            "archive_command fails: last failure on {} {} ago, {since_success}{}. Check the server log for the archive_command error",
            a.last_failed_wal.as_deref().unwrap_or("?"),
            humantime::format_duration(std::time::Duration::from_secs(a.last_failed_seconds.unwrap_or(0.0) as u64)),
            a.ready_segments.map_or(String::new(), |n| format!("; {n} segment(s) waiting")),
        ))
    } else if stalled.is_some() {
        Some(format!(
            "{} segment(s) waiting to be archived, the oldest for {}; {since_success}. Is archive_command hanging?",
            a.ready_segments.unwrap_or(0),
            humantime::format_duration(std::time::Duration::from_secs(
                a.oldest_ready_seconds.unwrap_or(0.0) as u64
            )),
        ))
    } else {
        None
    };
    ArchivingStatus {
        archiving: a.clone(),
        failing,
        stalled,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(over_trigger_and_rising: bool, hours_since_vacuum: Option<f64>) -> FreshnessFacts {
        FreshnessFacts {
            relation: "public.\"Orders\"".into(),
            live_tuples: 1_000_000,
            dead_tuples: 400_000,
            pct_dead: 400_000.0 * 100.0 / 1_400_000.0,
            modified_since_analyze: 0,
            last_vacuum_seconds: None,
            last_autovacuum_seconds: hours_since_vacuum.map(|h| h * 3600.0),
            last_analyze_seconds: None,
            last_autoanalyze_seconds: None,
            autovacuum_trigger: 200_050.0,
            over_trigger_and_rising,
            hours_since_vacuum,
            hint: None,
        }
    }

    fn hours(warn: u64, crit: u64) -> AlertThresholds {
        AlertThresholds {
            autovac_starvation_warn_hours: warn,
            autovac_starvation_crit_hours: crit,
            ..AlertThresholds::default()
        }
    }

    #[test]
    fn starving_when_over_trigger_rising_and_not_vacuumed_for_hours() {
        let t = &freshness(&[table(true, Some(7.0))], &hours(6, 12))[0];
        assert_eq!(t.starvation, Some(Severity::Warn));
        assert!(t
            .facts
            .hint
            .as_deref()
            .unwrap()
            .contains("VACUUM (VERBOSE) public.\"Orders\";"));
        let t = &freshness(&[table(true, None)], &hours(6, 12))[0];
        assert_eq!(t.starvation, Some(Severity::Crit), "never vacuumed");
    }

    #[test]
    fn not_starving_when_recently_vacuumed_falling_or_under_trigger() {
        assert_eq!(freshness(&[table(true, Some(1.0))], &hours(6, 12))[0].starvation, None);
        let falling = &freshness(&[table(false, Some(9.0))], &hours(6, 12))[0];
        assert_eq!(
            (falling.starvation, falling.facts.hint.as_deref()),
            (None, None),
            "falling"
        );
    }

    #[test]
    fn surge_severity_follows_thresholds() {
        assert_eq!(surge("wal", Some(50.0), 100, 200).unwrap().severity, None);
        assert_eq!(
            surge("wal", Some(100.0), 100, 200).unwrap().severity,
            Some(Severity::Warn)
        );
        assert_eq!(
            surge("temp", Some(250.0), 100, 200).unwrap().severity,
            Some(Severity::Crit)
        );
        assert!(surge("wal", None, 100, 200).is_none(), "no rate yet, no surge verdict");
    }

    fn slot(active: bool, retained: f64, wal_status: Option<&str>) -> ReplicationSlot {
        ReplicationSlot {
            slot: "standby_1".into(),
            slot_type: "physical".into(),
            active,
            database: String::new(),
            retained_bytes: retained,
            wal_status: wal_status.map(str::to_string),
            safe_wal_size_bytes: None,
            xmin_age: None,
            catalog_xmin_age: None,
        }
    }

    #[test]
    fn an_inactive_slot_is_judged_by_the_wal_it_retains_and_an_active_one_is_not() {
        let t = AlertThresholds::default();
        const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
        let judged = |s| slot_retention(&[s], &t)[0].clone();
        assert_eq!(judged(slot(false, 0.5 * GIB, Some("reserved"))).severity, None);
        let warn = judged(slot(false, 1.5 * GIB, Some("extended")));
        assert_eq!(warn.severity, Some(Severity::Warn));
        let verdict = warn.verdict.unwrap();
        assert!(
            verdict.contains("standby_1") && verdict.contains("1.5 GiB"),
            "{verdict}"
        );
        assert!(verdict.contains("pg_drop_replication_slot('standby_1')"), "{verdict}");
        assert_eq!(judged(slot(false, 12.0 * GIB, None)).severity, Some(Severity::Crit));
        assert_eq!(
            judged(slot(true, 50.0 * GIB, Some("extended"))).severity,
            None,
            "active"
        );
    }

    #[test]
    fn unreserved_warns_and_lost_is_crit_whatever_the_bytes() {
        let t = AlertThresholds::default();
        assert_eq!(
            slot_retention(&[slot(true, 0.0, Some("unreserved"))], &t)[0].severity,
            Some(Severity::Warn)
        );
        let lost = &slot_retention(&[slot(false, 0.0, Some("lost"))], &t)[0];
        assert_eq!(lost.severity, Some(Severity::Crit));
        assert!(lost.verdict.as_deref().unwrap().contains("can no longer be used"));
    }

    fn archiving_facts() -> Archiving {
        Archiving {
            archive_mode: "on".into(),
            enabled: true,
            archived_total: 10,
            failed_total: 6,
            new_failures: Some(3),
            last_archived_wal: Some("000000010000000000000003".into()),
            last_archived_seconds: Some(600.0),
            last_failed_wal: Some("000000010000000000000004".into()),
            last_failed_seconds: Some(20.0),
            failing_now: true,
            failing_seconds: Some(60.0),
            ready_segments: Some(2),
            oldest_ready_seconds: Some(600.0),
        }
    }

    #[test]
    fn recent_failures_with_no_success_since_are_failing_then_crit_after_the_hold() {
        let t = AlertThresholds::default();
        let a = archiving(&archiving_facts(), &t);
        assert_eq!((a.failing, a.stalled), (Some(Severity::Warn), None));
        assert!(a.verdict.unwrap().contains("000000010000000000000004"));
        let long = Archiving {
            failing_seconds: Some(16.0 * 60.0),
            ..archiving_facts()
        };
        assert_eq!(archiving(&long, &t).failing, Some(Severity::Crit));
        let old_failure = Archiving {
            last_failed_seconds: Some(3_600.0),
            ..archiving_facts()
        };
        assert_eq!(archiving(&old_failure, &t).failing, None, "failed once, long ago");
    }

    #[test]
    fn a_segment_waiting_past_the_age_is_stalled_and_nothing_is_judged_when_off() {
        let t = AlertThresholds::default();
        let waiting = Archiving {
            failing_now: false,
            failing_seconds: None,
            oldest_ready_seconds: Some(45.0 * 60.0),
            ..archiving_facts()
        };
        assert_eq!(archiving(&waiting, &t).stalled, Some(Severity::Warn));
        let young = Archiving {
            oldest_ready_seconds: Some(60.0),
            ..waiting.clone()
        };
        assert_eq!(archiving(&young, &t).stalled, None);
        let off = Archiving {
            archive_mode: "off".into(),
            enabled: false,
            ..archiving_facts()
        };
        let off = archiving(&off, &t);
        assert_eq!((off.failing, off.stalled, off.verdict), (None, None, None));
    }
}

//! Verdicts computed from thresholds over the facts a snapshot holds, shared by the alert rules
//! and the API so both say the same thing: collectors report rates and counts, and the
//! severities against `alerts.*` are decided here, not in the collectors.

use super::Severity;
use crate::collectors::freshness::FreshnessFacts;
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
}

//! Verdicts computed from thresholds over the facts a snapshot holds, shared by the alert rules
//! and the API so both say the same thing: collectors report rates and counts, and the
//! severities against `alerts.*` are decided here, not in the collectors.

use super::Severity;
use crate::collectors::freshness::TableFreshness;
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

/// The autovacuum starvation heuristic: a table whose dead tuples exceed its autovacuum
/// trigger and are still rising, and that no (auto)vacuum has touched for
/// `alerts.autovac_starvation_warn_hours` (crit past `..._crit_hours`; never vacuumed counts as
/// crit). Returns the tables with `starvation` set and, for a starving one, the hint that says
/// what to look for.
pub fn freshness(tables: &[TableFreshness], t: &AlertThresholds) -> Vec<TableFreshness> {
    let (warn, crit) = (
        t.autovac_starvation_warn_hours as f64,
        t.autovac_starvation_crit_hours as f64,
    );
    tables
        .iter()
        .map(|table| {
            let mut table = table.clone();
            let idle_hours = table.hours_since_vacuum.unwrap_or(f64::INFINITY);
            if table.over_trigger_and_rising && idle_hours >= warn {
                table.starvation = Some(if idle_hours >= crit { Severity::Crit } else { Severity::Warn });
                table.hint = Some(format!(
                    "autovacuum has not vacuumed this table for {} although its {} dead tuples exceed the trigger ({:.0}): look for long transactions holding back the xmin horizon and busy autovacuum workers, or run VACUUM (VERBOSE) {};",
                    table.hours_since_vacuum.map_or("ever".to_string(), |h| format!("{h:.1}h")),
                    table.dead_tuples,
                    table.autovacuum_trigger,
                    table.relation,
                ));
            }
            table
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(over_trigger_and_rising: bool, hours_since_vacuum: Option<f64>) -> TableFreshness {
        TableFreshness {
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
            starvation: None,
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
        assert_eq!((falling.starvation, falling.hint.as_deref()), (None, None), "falling");
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

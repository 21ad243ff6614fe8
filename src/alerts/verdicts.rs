//! Verdicts computed from thresholds over the facts a snapshot holds, shared by the alert rules
//! and the API so both say the same thing: collectors report rates and counts, and the
//! severities against `alerts.*` are decided here, not in the collectors.

use super::Severity;
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

#[cfg(test)]
mod tests {
    use super::*;

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

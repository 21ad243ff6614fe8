//! The four polling loops as a domain type, below everything that talks about them (config,
//! actors, telemetry, HTTP): [`LoopName`] names one, [`PerLoop`] holds one value for each (an
//! interval, a budget, a pool, a snapshot slot), and [`FailureKind`] says why a run produced
//! nothing. Nothing here imports another pgmon module, so no module cycle can run through it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

/// The four polling loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
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

/// Why a whole run produced no snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

/// One value per loop, addressed by name: the one `match` over loops lives in [`get`].
///
/// [`get`]: PerLoop::get
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerLoop<T> {
    pub hot_path: T,
    pub workload: T,
    pub storage: T,
    pub hourly: T,
}

impl<T> PerLoop<T> {
    /// Builds each loop's value from its name.
    pub fn from_fn(mut f: impl FnMut(LoopName) -> T) -> Self {
        Self {
            hot_path: f(LoopName::HotPath),
            workload: f(LoopName::Workload),
            storage: f(LoopName::Storage),
            hourly: f(LoopName::Hourly),
        }
    }

    pub fn get(&self, name: LoopName) -> &T {
        match name {
            LoopName::HotPath => &self.hot_path,
            LoopName::Workload => &self.workload,
            LoopName::Storage => &self.storage,
            LoopName::Hourly => &self.hourly,
        }
    }

    pub fn get_mut(&mut self, name: LoopName) -> &mut T {
        match name {
            LoopName::HotPath => &mut self.hot_path,
            LoopName::Workload => &mut self.workload,
            LoopName::Storage => &mut self.storage,
            LoopName::Hourly => &mut self.hourly,
        }
    }

    /// Each loop with its value, in [`LoopName::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (LoopName, &T)> {
        LoopName::ALL.into_iter().map(move |name| (name, self.get(name)))
    }

    pub fn map<U>(&self, mut f: impl FnMut(LoopName, &T) -> U) -> PerLoop<U> {
        PerLoop::from_fn(|name| f(name, self.get(name)))
    }
}

/// Config form of a `PerLoop<Duration>`: humantime strings (`15s`, `10m`), keys named after
/// the loops, unknown keys refused, a missing key taking its default.
pub mod durations {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Partial {
        #[serde(default, with = "humantime_serde")]
        hot_path: Option<Duration>,
        #[serde(default, with = "humantime_serde")]
        workload: Option<Duration>,
        #[serde(default, with = "humantime_serde")]
        storage: Option<Duration>,
        #[serde(default, with = "humantime_serde")]
        hourly: Option<Duration>,
    }

    #[derive(Serialize)]
    struct Full {
        #[serde(with = "humantime_serde")]
        hot_path: Duration,
        #[serde(with = "humantime_serde")]
        workload: Duration,
        #[serde(with = "humantime_serde")]
        storage: Duration,
        #[serde(with = "humantime_serde")]
        hourly: Duration,
    }

    /// Reads the keys present; the others keep `defaults`.
    pub fn deserialize_over<'de, D: Deserializer<'de>>(
        deserializer: D,
        defaults: PerLoop<Duration>,
    ) -> Result<PerLoop<Duration>, D::Error> {
        let p = Partial::deserialize(deserializer)?;
        Ok(PerLoop {
            hot_path: p.hot_path.unwrap_or(defaults.hot_path),
            workload: p.workload.unwrap_or(defaults.workload),
            storage: p.storage.unwrap_or(defaults.storage),
            hourly: p.hourly.unwrap_or(defaults.hourly),
        })
    }

    pub fn serialize<S: Serializer>(value: &PerLoop<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        Full {
            hot_path: value.hot_path,
            workload: value.workload,
            storage: value.storage,
            hourly: value.hourly,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_iter_agree_with_the_names() {
        let by_name = PerLoop::from_fn(LoopName::as_str);
        for (name, value) in by_name.iter() {
            assert_eq!(*value, name.as_str());
            assert_eq!(by_name.get(name), &name.as_str());
        }
        let mut counts = PerLoop::<u32>::default();
        *counts.get_mut(LoopName::Storage) += 2;
        assert_eq!(
            counts.map(|_, c| c * 10),
            PerLoop {
                storage: 20,
                ..Default::default()
            }
        );
    }

    #[derive(Deserialize, Serialize)]
    struct Holder {
        #[serde(deserialize_with = "three_seconds_each", serialize_with = "durations::serialize")]
        every: PerLoop<Duration>,
    }

    fn three_seconds_each<'de, D: Deserializer<'de>>(d: D) -> Result<PerLoop<Duration>, D::Error> {
        durations::deserialize_over(d, PerLoop::from_fn(|_| Duration::from_secs(3)))
    }

    #[test]
    fn durations_read_humantime_keep_defaults_and_refuse_unknown_keys() {
        let h: Holder = serde_json::from_str(r#"{"every": {"storage": "10m"}}"#).unwrap();
        assert_eq!(h.every.storage, Duration::from_secs(600));
        assert_eq!(h.every.hot_path, Duration::from_secs(3));
        assert_eq!(
            serde_json::to_value(&h).unwrap()["every"]["storage"],
            serde_json::json!("10m")
        );
        let err = serde_json::from_str::<Holder>(r#"{"every": {"hotpath": "1s"}}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("unknown field `hotpath`"), "{err}");
    }
}

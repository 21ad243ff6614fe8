//! The allowed values of every config key, as data: [`bounds`] gives each number and duration
//! its range, [`pairs`] orders each warn/crit pair, [`texts`] caps each string (label values,
//! the metric prefix, paths, URLs, secrets, SQL). [`check`] applies all three; docs and tests
//! read the same tables (`tests/config_limits.rs` checks docs/configuration.md against them), so
//! a new key without a range fails a test instead of reaching a panic downstream.
//!
//! Why upper bounds matter: loop intervals are added to `Instant`s (a 400000000000-year interval
//! overflowed and panicked the state actor), the PostgreSQL timeouts are sent as settings whose
//! range is 0..=2147483647 ms (a larger value fails every connection), and the `cluster` value
//! is repeated on every series of `/metrics`.

use super::{Config, ConfigError};
use std::time::Duration;

/// The longest loop interval, budget, alert hold or history window: a day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// PostgreSQL's range for `statement_timeout` and `lock_timeout` (an `int` of milliseconds).
pub const PG_TIMEOUT_MAX_MS: u64 = i32::MAX as u64;
/// Byte thresholds: 1 PiB, far above any real size and exact as an `f64` (they are compared
/// with measured values as floating point).
pub const MAX_BYTES: u64 = 1 << 50;
/// Row counts: 10^15, exact as an `f64`.
pub const MAX_COUNT: u64 = 1_000_000_000_000_000;
/// Seconds thresholds (transaction age, lock wait, replica lag): 30 days.
pub const MAX_SECONDS: u64 = 30 * 24 * 3600;
/// Hours thresholds (stale statistics, autovacuum starvation): a year.
pub const MAX_HOURS: u64 = 365 * 24;
/// Longest label value taken from config (`cluster`): every series repeats it.
pub const MAX_LABEL_BYTES: usize = 128;
/// Longest `metrics.prefix`.
pub const MAX_PREFIX_BYTES: usize = 64;
/// Longest file path, URL, user name, secret or SMTP address.
pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_URL_BYTES: usize = 2048;
pub const MAX_NAME_BYTES: usize = 256;
pub const MAX_SECRET_BYTES: usize = 4096;
/// Longest DSN and canary query.
pub const MAX_DSN_BYTES: usize = 8192;
pub const MAX_SQL_BYTES: usize = 65536;

/// A number or duration of a key, with the type that decides how it prints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Duration(Duration),
    Int(u64),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Duration(d) => d.as_secs_f64(),
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Duration(d) => f.write_str(&format_duration(*d)),
            Num::Int(i) => write!(f, "{i}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

/// `24h`, `1m`, `100ms`: the largest whole unit, as the docs write it (humantime would say
/// `1day`). Only used for bounds, which are whole units.
fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{ms}ms")
    } else {
        humantime::format_duration(d).to_string()
    }
}

/// One numeric key: its value and the closed range it must lie in.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub key: &'static str,
    pub value: Num,
    pub min: Num,
    pub max: Num,
    /// Why the range is what it is, appended to the error.
    pub why: &'static str,
}

impl Bound {
    /// `min..max` as docs/configuration.md writes it, e.g. `100ms..24h`, `1..1000`, `0..1`.
    pub fn range(&self) -> String {
        format!("{}..{}", self.min, self.max)
    }

    /// The value as written by an operator (`400000000000years`, not in the bounds' units).
    fn shown(&self) -> String {
        match self.value {
            Num::Duration(d) => humantime::format_duration(d).to_string(),
            other => other.to_string(),
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let v = self.value.as_f64();
        if !v.is_finite() {
            return Err(invalid(
                self.key,
                self.shown(),
                "is not a finite number (NaN and infinity are not allowed)",
            ));
        }
        let inside = match (self.value, self.min, self.max) {
            (Num::Duration(v), Num::Duration(lo), Num::Duration(hi)) => lo <= v && v <= hi,
            (Num::Int(v), Num::Int(lo), Num::Int(hi)) => lo <= v && v <= hi,
            _ => self.min.as_f64() <= v && v <= self.max.as_f64(),
        };
        if inside {
            return Ok(());
        }
        Err(invalid(
            self.key,
            self.shown(),
            format!("must be between {} and {}{}", self.min, self.max, self.why),
        ))
    }
}

fn dur(key: &'static str, value: Duration, min: Duration, max: Duration, why: &'static str) -> Bound {
    Bound {
        key,
        value: Num::Duration(value),
        min: Num::Duration(min),
        max: Num::Duration(max),
        why,
    }
}

fn int(key: &'static str, value: u64, min: u64, max: u64, why: &'static str) -> Bound {
    Bound {
        key,
        value: Num::Int(value),
        min: Num::Int(min),
        max: Num::Int(max),
        why,
    }
}

fn float(key: &'static str, value: f64, min: f64, max: f64, why: &'static str) -> Bound {
    Bound {
        key,
        value: Num::Float(value),
        min: Num::Float(min),
        max: Num::Float(max),
        why,
    }
}

/// Every numeric and duration key of `c`, with its range.
pub fn bounds(c: &Config) -> Vec<Bound> {
    let (i, b, l, a, t) = (&c.sample_intervals, &c.budgets, &c.limits, &c.alerts, &c.timeouts);
    let day = MAX_DURATION;
    let interval = |key, v| dur(key, v, Duration::from_millis(100), day, "");
    let budget = |key, v| {
        dur(
            key,
            v,
            Duration::from_millis(1),
            day,
            " (and at most the loop's interval)",
        )
    };
    let hold = |key, v| dur(key, v, Duration::ZERO, day, "");
    let top = |key, v: u32| int(key, v.into(), 1, 1000, " (it caps metric cardinality)");
    let secs = |key, v| int(key, v, 0, MAX_SECONDS, " (30 days)");
    let hours = |key, v| int(key, v, 0, MAX_HOURS, " (a year)");
    let bytes = |key, v| int(key, v, 0, MAX_BYTES, " (1 PiB)");
    let ratio = |key, v| float(key, v, 0.0, 1.0, " (a ratio)");
    let pct = |key, v| float(key, v, 0.0, 100.0, " (a percentage)");
    let pg_timeout = |key, v| {
        int(
            key,
            v,
            1,
            PG_TIMEOUT_MAX_MS,
            " (PostgreSQL's range for this setting, in ms)",
        )
    };
    let pool = |key, v: u32| int(key, v.into(), 1, 4, "");
    vec![
        interval("sample_intervals.hot_path", i.hot_path),
        interval("sample_intervals.workload", i.workload),
        interval("sample_intervals.storage", i.storage),
        interval("sample_intervals.hourly", i.hourly),
        budget("budgets.hot_path", b.hot_path),
        budget("budgets.workload", b.workload),
        budget("budgets.storage", b.storage),
        budget("budgets.hourly", b.hourly),
        top("limits.top_relations", l.top_relations),
        top("limits.top_indexes", l.top_indexes),
        top("limits.top_queries", l.top_queries),
        top("limits.top_sessions", l.top_sessions),
        top("limits.blocking_events", l.blocking_events),
        int(
            "limits.partition_horizon_days",
            l.partition_horizon_days.into(),
            0,
            3650,
            " (ten years)",
        ),
        bytes("limits.unused_index_min_bytes", l.unused_index_min_bytes),
        ratio("alerts.connections_warn", a.connections_warn),
        ratio("alerts.connections_crit", a.connections_crit),
        secs("alerts.long_txn_warn_s", a.long_txn_warn_s),
        secs("alerts.long_txn_crit_s", a.long_txn_crit_s),
        secs("alerts.blocked_warn_s", a.blocked_warn_s),
        secs("alerts.blocked_crit_s", a.blocked_crit_s),
        secs("alerts.repl_warn_s", a.repl_warn_s),
        secs("alerts.repl_crit_s", a.repl_crit_s),
        hours("alerts.stats_stale_warn_hours", a.stats_stale_warn_hours),
        hours("alerts.stats_stale_crit_hours", a.stats_stale_crit_hours),
        int(
            "alerts.wraparound_warn_tx_age",
            a.wraparound_warn_tx_age,
            0,
            i32::MAX as u64,
            " (transaction ids wrap around at 2^31)",
        ),
        int(
            "alerts.wraparound_crit_tx_age",
            a.wraparound_crit_tx_age,
            0,
            i32::MAX as u64,
            " (transaction ids wrap around at 2^31)",
        ),
        bytes("alerts.wal_surge_warn_bytes_per_sec", a.wal_surge_warn_bytes_per_sec),
        bytes("alerts.wal_surge_crit_bytes_per_sec", a.wal_surge_crit_bytes_per_sec),
        bytes("alerts.temp_surge_warn_bytes_per_sec", a.temp_surge_warn_bytes_per_sec),
        bytes("alerts.temp_surge_crit_bytes_per_sec", a.temp_surge_crit_bytes_per_sec),
        hours("alerts.autovac_starvation_warn_hours", a.autovac_starvation_warn_hours),
        hours("alerts.autovac_starvation_crit_hours", a.autovac_starvation_crit_hours),
        int(
            "alerts.deadlocks_warn",
            a.deadlocks_warn,
            1,
            1_000_000,
            " (deadlocks in one database since the previous workload run)",
        ),
        int(
            "alerts.deadlocks_crit",
            a.deadlocks_crit,
            1,
            1_000_000,
            " (deadlocks in one database since the previous workload run)",
        ),
        ratio("alerts.checkpoint_ratio_warn", a.checkpoint_ratio_warn),
        ratio("alerts.checkpoint_ratio_crit", a.checkpoint_ratio_crit),
        int(
            "alerts.checkpoint_interval_warn_seconds",
            a.checkpoint_interval_warn_seconds,
            0,
            86_400,
            " (checkpoint_timeout is at most a day)",
        ),
        int(
            "alerts.checkpoint_interval_crit_seconds",
            a.checkpoint_interval_crit_seconds,
            0,
            86_400,
            " (checkpoint_timeout is at most a day)",
        ),
        pct("alerts.dead_tuples_warn_pct", a.dead_tuples_warn_pct),
        pct("alerts.dead_tuples_crit_pct", a.dead_tuples_crit_pct),
        int("alerts.dead_tuples_min", a.dead_tuples_min, 0, MAX_COUNT, ""),
        bytes("alerts.repl_warn_bytes", a.repl_warn_bytes),
        bytes("alerts.repl_crit_bytes", a.repl_crit_bytes),
        bytes("alerts.slot_retained_warn_bytes", a.slot_retained_warn_bytes),
        bytes("alerts.slot_retained_crit_bytes", a.slot_retained_crit_bytes),
        hold("alerts.archive_failing_crit_after", a.archive_failing_crit_after),
        hold("alerts.pending_restart_after", a.pending_restart_after),
        dur(
            "alerts.archive_stalled_after",
            a.archive_stalled_after,
            Duration::from_secs(60),
            day,
            " (a segment waiting longer is stalled archiving)",
        ),
        hold("alerts.connections_for", a.connections_for),
        hold("alerts.dead_tuples_for", a.dead_tuples_for),
        hold("alerts.wal_surge_for", a.wal_surge_for),
        hold("alerts.temp_surge_for", a.temp_surge_for),
        hold("alerts.resolve_after", a.resolve_after),
        dur(
            "ui.history_window",
            c.ui.history_window,
            Duration::from_secs(60),
            day,
            " (the agent is not a TSDB: Prometheus keeps long history)",
        ),
        pg_timeout("timeouts.statement_timeout_ms", t.statement_timeout_ms),
        pg_timeout("timeouts.lock_timeout_ms", t.lock_timeout_ms),
        int(
            "timeouts.connect_timeout_ms",
            t.connect_timeout_ms,
            1,
            600_000,
            " (10 minutes)",
        ),
        pool("database.hot_path_connections", c.database.hot_path_connections),
        pool("database.background_connections", c.database.background_connections),
    ]
}

/// Which way a threshold pair is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    /// A higher value is worse: warn must not exceed crit.
    Higher,
    /// A lower value is worse (time between checkpoints): crit must not exceed warn.
    Lower,
}

/// A warn/crit pair of `alerts.*` keys.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub warn: &'static str,
    pub crit: &'static str,
    pub worse: Worse,
}

/// Every warn/crit pair; the values come from [`bounds`] by key.
pub const PAIRS: &[Pair] = &[
    higher("alerts.connections_warn", "alerts.connections_crit"),
    higher("alerts.long_txn_warn_s", "alerts.long_txn_crit_s"),
    higher("alerts.blocked_warn_s", "alerts.blocked_crit_s"),
    higher("alerts.repl_warn_s", "alerts.repl_crit_s"),
    higher("alerts.repl_warn_bytes", "alerts.repl_crit_bytes"),
    higher("alerts.stats_stale_warn_hours", "alerts.stats_stale_crit_hours"),
    higher("alerts.wraparound_warn_tx_age", "alerts.wraparound_crit_tx_age"),
    higher(
        "alerts.wal_surge_warn_bytes_per_sec",
        "alerts.wal_surge_crit_bytes_per_sec",
    ),
    higher(
        "alerts.temp_surge_warn_bytes_per_sec",
        "alerts.temp_surge_crit_bytes_per_sec",
    ),
    higher(
        "alerts.autovac_starvation_warn_hours",
        "alerts.autovac_starvation_crit_hours",
    ),
    higher("alerts.checkpoint_ratio_warn", "alerts.checkpoint_ratio_crit"),
    Pair {
        warn: "alerts.checkpoint_interval_warn_seconds",
        crit: "alerts.checkpoint_interval_crit_seconds",
        worse: Worse::Lower,
    },
    higher("alerts.dead_tuples_warn_pct", "alerts.dead_tuples_crit_pct"),
    higher("alerts.deadlocks_warn", "alerts.deadlocks_crit"),
    higher("alerts.slot_retained_warn_bytes", "alerts.slot_retained_crit_bytes"),
];

const fn higher(warn: &'static str, crit: &'static str) -> Pair {
    Pair {
        warn,
        crit,
        worse: Worse::Higher,
    }
}

fn check_pair(pair: &Pair, all: &[Bound]) -> Result<(), ConfigError> {
    let value = |key| all.iter().find(|b| b.key == key).map(|b| b.value);
    let (Some(warn), Some(crit)) = (value(pair.warn), value(pair.crit)) else {
        return Ok(());
    };
    match pair.worse {
        Worse::Higher if warn.as_f64() > crit.as_f64() => Err(invalid(
            pair.warn,
            warn,
            format!(
                "must not exceed {} ({crit}): a warning comes before the critical alert",
                pair.crit
            ),
        )),
        Worse::Lower if crit.as_f64() > warn.as_f64() => Err(invalid(
            pair.crit,
            crit,
            format!(
                "must not exceed {} ({warn}): a lower value is worse here, so crit is the smaller one",
                pair.warn
            ),
        )),
        _ => Ok(()),
    }
}

/// What a string key may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Becomes a metric label value: not empty, no control characters.
    Label,
    /// Prepended to metric names: the Prometheus name grammar `[a-zA-Z_][a-zA-Z0-9_]*`, not
    /// starting with `__` (reserved); empty means no prefix.
    MetricPrefix,
    /// A file or directory path: no NUL byte.
    Path,
    /// A name or address shown or sent as is: no control characters.
    Name,
    /// A secret (password, token): no control characters; the value is never shown.
    Secret,
    /// The DSN: no NUL byte (a key=value DSN may span lines); never shown.
    Dsn,
    /// A webhook URL: empty, or an `http`/`https` URL; never shown (it may hold a token).
    Url,
    /// SQL sent to PostgreSQL: no NUL byte (PostgreSQL rejects it).
    Sql,
}

/// One string key: its value, what it may hold and how long it may be.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    pub key: &'static str,
    pub value: &'a str,
    pub kind: TextKind,
    pub max_bytes: usize,
}

/// Every string key of `c` (the DSN's syntax is checked by its own parser besides).
pub fn texts(c: &Config) -> Vec<Text<'_>> {
    fn t<'a>(key: &'static str, value: &'a str, kind: TextKind, max_bytes: usize) -> Text<'a> {
        Text {
            key,
            value,
            kind,
            max_bytes,
        }
    }
    let mut out = vec![
        t("cluster", c.cluster.as_str(), TextKind::Label, MAX_LABEL_BYTES),
        t(
            "dsn",
            c.dsn.as_ref().map_or("", |d| d.expose()),
            TextKind::Dsn,
            MAX_DSN_BYTES,
        ),
        t(
            "metrics.prefix",
            &c.metrics.prefix,
            TextKind::MetricPrefix,
            MAX_PREFIX_BYTES,
        ),
        t("http.bind", &c.http.bind, TextKind::Name, MAX_NAME_BYTES),
        t("http.static_dir", &c.http.static_dir, TextKind::Path, MAX_PATH_BYTES),
        t(
            "http.tls.cert_file",
            &c.http.tls.cert_file,
            TextKind::Path,
            MAX_PATH_BYTES,
        ),
        t(
            "http.tls.key_file",
            &c.http.tls.key_file,
            TextKind::Path,
            MAX_PATH_BYTES,
        ),
        t(
            "notifiers.webhook_url",
            &c.notifiers.webhook_url,
            TextKind::Url,
            MAX_URL_BYTES,
        ),
        t(
            "notifiers.slack_webhook",
            &c.notifiers.slack_webhook,
            TextKind::Url,
            MAX_URL_BYTES,
        ),
        t(
            "notifiers.email_smtp",
            &c.notifiers.email_smtp,
            TextKind::Name,
            MAX_URL_BYTES,
        ),
        t(
            "canary.explain_query",
            &c.canary.explain_query,
            TextKind::Sql,
            MAX_SQL_BYTES,
        ),
    ];
    for scope in super::AUTH_SCOPES {
        let a = c.http.auth.scope(scope);
        let key = |field| super::auth_key(scope, field);
        out.extend([
            t(key("basic_user"), a.basic_user.as_str(), TextKind::Name, MAX_NAME_BYTES),
            t(
                key("basic_password"),
                a.basic_password.expose(),
                TextKind::Secret,
                MAX_SECRET_BYTES,
            ),
            t(
                key("basic_password_file"),
                a.basic_password_file.as_str(),
                TextKind::Path,
                MAX_PATH_BYTES,
            ),
            t(
                key("bearer_token"),
                a.bearer_token.expose(),
                TextKind::Secret,
                MAX_SECRET_BYTES,
            ),
            t(
                key("bearer_token_file"),
                a.bearer_token_file.as_str(),
                TextKind::Path,
                MAX_PATH_BYTES,
            ),
        ]);
    }
    out
}

impl Text<'_> {
    /// The value as an error may show it: escaped, shortened, or withheld for secrets and URLs.
    fn shown(&self) -> String {
        match self.kind {
            TextKind::Secret | TextKind::Dsn | TextKind::Url => "<redacted>".into(),
            _ => show_text(self.value),
        }
    }

    fn fail(&self, reason: impl Into<String>) -> ConfigError {
        invalid(self.key, self.shown(), reason)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let v = self.value;
        if v.len() > self.max_bytes {
            return Err(self.fail(format!(
                "is {} bytes long; at most {} are allowed",
                v.len(),
                self.max_bytes
            )));
        }
        let control = |c: char| c.is_control();
        match self.kind {
            TextKind::Label if v.is_empty() => Err(self.fail("must not be empty (it is a label on every series)")),
            TextKind::Label | TextKind::Name | TextKind::Secret if v.contains(control) => {
                Err(self.fail("must not contain control characters (newline, tab, NUL, ...)"))
            }
            TextKind::Path | TextKind::Sql | TextKind::Dsn if v.contains('\0') => {
                Err(self.fail("must not contain a NUL byte"))
            }
            TextKind::MetricPrefix => check_metric_prefix(v).map_err(|reason| self.fail(reason)),
            TextKind::Url => check_url(v).map_err(|reason| self.fail(reason)),
            _ => Ok(()),
        }
    }
}

/// The Prometheus metric name grammar is `[a-zA-Z_:][a-zA-Z0-9_:]*`; colons are reserved for
/// recording rules and names starting with `__` for Prometheus itself, so a prefix is
/// `[a-zA-Z_][a-zA-Z0-9_]*` without a leading `__` (or empty).
pub fn check_metric_prefix(prefix: &str) -> Result<(), String> {
    let mut chars = prefix.chars();
    let Some(first) = chars.next() else { return Ok(()) };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(
            "must start with a letter or '_' (Prometheus metric names cannot start with a digit or other character)"
                .into(),
        );
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("only ASCII letters, digits and '_' are allowed (the Prometheus metric name grammar; ':' is reserved for recording rules)".into());
    }
    if prefix.starts_with("__") {
        return Err("must not start with '__' (reserved for Prometheus' own names)".into());
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(());
    }
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        Ok(u) => Err(format!(
            "must be an http:// or https:// URL with a host (scheme {:?})",
            u.scheme()
        )),
        Err(e) => Err(format!("is not a URL ({e})")),
    }
}

/// Applies every bound, pair and text rule; the first violation is the error.
pub fn check(c: &Config) -> Result<(), ConfigError> {
    let all = bounds(c);
    for bound in &all {
        bound.check()?;
    }
    let loops = [
        ("budgets.hot_path", c.budgets.hot_path, c.sample_intervals.hot_path),
        ("budgets.workload", c.budgets.workload, c.sample_intervals.workload),
        ("budgets.storage", c.budgets.storage, c.sample_intervals.storage),
        ("budgets.hourly", c.budgets.hourly, c.sample_intervals.hourly),
    ];
    for (key, budget, interval) in loops {
        if budget > interval {
            return Err(invalid(
                key,
                humantime::format_duration(budget),
                format!(
                    "must be at most the loop interval ({})",
                    humantime::format_duration(interval)
                ),
            ));
        }
    }
    for pair in PAIRS {
        check_pair(pair, &all)?;
    }
    for text in texts(c) {
        text.check()?;
    }
    Ok(())
}

/// At most this many characters of a value appear in an error.
const SHOWN_CHARS: usize = 64;

/// A string value as an error shows it: quoted with escapes (one line, whatever it holds),
/// and cut to [`SHOWN_CHARS`] with its length when longer.
pub fn show_text(value: &str) -> String {
    let count = value.chars().count();
    if count <= SHOWN_CHARS {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(SHOWN_CHARS).collect();
    format!("{head:?}… ({} bytes)", value.len())
}

fn invalid(key: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> ConfigError {
    super::invalid(key, value, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn first_error(c: &Config) -> String {
        check(c).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_within_every_bound() {
        check(&Config::default()).unwrap();
    }

    #[test]
    fn every_numeric_and_text_key_has_a_rule() {
        let mut leaves = Vec::new();
        fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&key, x, out);
                    }
                }
                other => out.push((prefix.to_string(), other.clone())),
            }
        }
        walk("", &serde_json::to_value(Config::default()).unwrap(), &mut leaves);
        let c = Config::default();
        let numeric: Vec<&str> = bounds(&c).iter().map(|b| b.key).collect();
        let text: Vec<&str> = texts(&c).iter().map(|t| t.key).collect();
        for (key, value) in leaves {
            let covered = numeric.contains(&key.as_str()) || text.contains(&key.as_str());
            let exempt = value.is_boolean() || key == "log.format";
            assert!(
                covered || exempt,
                "config key `{key}` has no bound: add it to bounds() or texts()"
            );
        }
        for key in numeric.iter().chain(&text) {
            assert_eq!(
                numeric.iter().chain(&text).filter(|k| *k == key).count(),
                1,
                "{key} listed twice"
            );
        }
    }

    #[test]
    fn every_pair_names_two_bounded_keys() {
        let keys: Vec<&str> = bounds(&Config::default()).iter().map(|b| b.key).collect();
        for p in PAIRS {
            assert!(keys.contains(&p.warn) && keys.contains(&p.crit), "{p:?}");
        }
    }

    #[test]
    fn interval_of_four_hundred_billion_years_is_rejected_naming_the_key() {
        let mut c = Config::default();
        c.sample_intervals.hourly = humantime::parse_duration("400000000000y").unwrap();
        let err = first_error(&c);
        assert!(
            err.contains("`sample_intervals.hourly`") && err.contains("between 100ms and 24h"),
            "{err}"
        );
    }

    #[test]
    fn every_duration_has_a_finite_upper_bound_of_a_day() {
        let c = Config::default();
        for b in bounds(&c).iter().filter(|b| matches!(b.value, Num::Duration(_))) {
            assert_eq!(b.max, Num::Duration(MAX_DURATION), "{}", b.key);
        }
    }

    #[test]
    fn postgres_timeouts_out_of_range_are_rejected() {
        for (statement, lock, key) in [
            (2_147_483_648, 1000, "timeouts.statement_timeout_ms"),
            (3000, 99_999_999_999, "timeouts.lock_timeout_ms"),
            (0, 1000, "timeouts.statement_timeout_ms"),
        ] {
            let mut c = Config::default();
            c.timeouts.statement_timeout_ms = statement;
            c.timeouts.lock_timeout_ms = lock;
            let err = first_error(&c);
            assert!(err.contains(&format!("`{key}`")) && err.contains("2147483647"), "{err}");
        }
        let mut c = Config::default();
        c.timeouts.statement_timeout_ms = PG_TIMEOUT_MAX_MS;
        check(&c).unwrap();
    }

    #[test]
    fn nan_and_infinity_are_rejected_naming_the_key() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut c = Config::default();
            c.alerts.checkpoint_ratio_crit = v;
            let err = first_error(&c);
            assert!(
                err.contains("`alerts.checkpoint_ratio_crit`") && err.contains("finite"),
                "{err}"
            );
        }
    }

    #[test]
    fn negative_and_over_hundred_percentages_are_rejected() {
        for v in [-5.0, 100.5] {
            let mut c = Config::default();
            c.alerts.dead_tuples_warn_pct = v;
            assert!(first_error(&c).contains("`alerts.dead_tuples_warn_pct`"));
        }
    }

    #[test]
    fn warn_above_crit_is_rejected_for_every_pair() {
        for pair in PAIRS {
            let mut c = Config::default();
            let all = bounds(&c);
            let get = |k| all.iter().find(|b| b.key == k).unwrap().value;
            // Swap the two values: the defaults are ordered, so swapped they are inverted.
            let (w, k) = (get(pair.warn), get(pair.crit));
            set(&mut c, pair.warn, k);
            set(&mut c, pair.crit, w);
            let err = first_error(&c);
            let named = match pair.worse {
                Worse::Higher => pair.warn,
                Worse::Lower => pair.crit,
            };
            assert!(err.contains(&format!("`{named}`")), "{pair:?}: {err}");
        }
    }

    /// Sets an `alerts.*` key by name, through the YAML loader's own representation.
    fn set(c: &mut Config, key: &str, value: Num) {
        let mut json = serde_json::to_value(&*c).unwrap();
        let field = key.strip_prefix("alerts.").unwrap();
        json["alerts"][field] = match value {
            Num::Int(i) => i.into(),
            Num::Float(f) => f.into(),
            Num::Duration(_) => unreachable!(),
        };
        let dsn = c.dsn.clone();
        *c = serde_json::from_value(json).unwrap();
        c.dsn = dsn;
    }

    #[test]
    fn metric_prefix_follows_the_prometheus_grammar() {
        for ok in ["", "pgmon_", "_x", "A1_b"] {
            assert!(check_metric_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["1abc", "a-b", "a:b", "__x", "é", "a b", "-"] {
            assert!(check_metric_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_or_control_character_cluster_label_is_rejected_without_echoing_it() {
        let mut c = Config {
            cluster: "x".repeat(100_000),
            ..Config::default()
        };
        let err = first_error(&c);
        assert!(
            err.contains("`cluster`") && err.contains("100000 bytes") && err.len() < 300,
            "{err}"
        );
        c.cluster = "prod\nfake_metric 1".into();
        let err = first_error(&c);
        assert!(err.contains("control characters") && !err.contains('\n'), "{err}");
        c.cluster = String::new();
        assert!(first_error(&c).contains("must not be empty"));
    }

    #[test]
    fn secrets_and_webhooks_are_never_shown() {
        let mut c = Config::default();
        c.http.auth.api.basic_user = "ops".into();
        c.http.auth.api.basic_password = Secret::new("s3cr3t\n".to_string());
        let err = first_error(&c);
        assert!(
            err.contains("http.auth.api.basic_password") && !err.contains("s3cr3t"),
            "{err}"
        );
        let mut c = Config::default();
        c.notifiers.slack_webhook = "hooks.slack.com/services/T0/B0/tok3n".into();
        let err = first_error(&c);
        assert!(
            err.contains("notifiers.slack_webhook") && !err.contains("tok3n"),
            "{err}"
        );
        c.notifiers.slack_webhook = "https://hooks.slack.com/services/T0/B0/tok3n".into();
        check(&c).unwrap();
    }

    #[test]
    fn canary_query_with_nul_is_rejected() {
        let mut c = Config::default();
        c.canary.explain_query = "SELECT 1\0".into();
        assert!(first_error(&c).contains("canary.explain_query"));
    }

    #[test]
    fn budget_above_its_interval_is_rejected() {
        let mut c = Config::default();
        c.budgets.storage = Duration::from_secs(601);
        assert!(first_error(&c).contains("`budgets.storage`"));
    }

    #[test]
    fn shown_text_is_one_short_line() {
        assert_eq!(show_text("a\"b"), "\"a\\\"b\"");
        let long = show_text(&"é\n".repeat(1000));
        assert!(long.ends_with("… (3000 bytes)") && !long.contains('\n'), "{long}");
    }
}

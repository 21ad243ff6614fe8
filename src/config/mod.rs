//! Configuration: a YAML file (spec §8 keys) plus `PGMON_*` environment overrides, loaded with
//! the `config` crate into typed settings with documented defaults, then validated.
//!
//! Every error names the key and the bad value so an operator can fix it in one read; the
//! binary maps them to exit code 2. The DSN is held in [`Secret`] so it never reaches a log.
//!
//! Loading goes: the file read with a size cap and its YAML events scanned ([`source`]: no
//! aliases, no deep nesting, no `.nan`), merged with the environment, the merged tree checked
//! against the shape of the defaults ([`source::check_shape`]: no list where a section goes),
//! deserialized, then every key checked against its range ([`bounds`]).

pub mod bounds;
mod dsn;
pub mod source;

pub use dsn::{describe_dsn, parse_dsn, parse_dsn_tls, DbTls, DbVerify, Dsn, Secret, SslMode};

use crate::loops::PerLoop;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Top-level keys settable from the environment as `PGMON_<KEY>`; every other key needs the
/// `PGMON_<SECTION>__<KEY>` form. Other `PGMON_*` variables (PGMON_CONFIG, Kubernetes service
/// links such as PGMON_PORT, test settings) are not config keys and are ignored.
const ENV_TOP_LEVEL_KEYS: &[&str] = &["PGMON_DSN", "PGMON_CLUSTER"];

fn is_config_env(name: &str) -> bool {
    ENV_TOP_LEVEL_KEYS.contains(&name) || name.strip_prefix("PGMON_").is_some_and(|rest| rest.contains("__"))
}

/// `PGMON_HTTP__AUTH__API__BEARER_TOKEN` -> `http.auth.api.bearer_token`, as the `config` crate
/// maps it.
fn env_key(name: &str) -> String {
    name.strip_prefix("PGMON_")
        .unwrap_or(name)
        .to_lowercase()
        .replace("__", ".")
}

/// Secrets are never serialized, so the defaults' shape does not show them.
fn is_secret_key(key: &str) -> bool {
    key == "dsn"
        || AUTH_SCOPES.iter().any(|scope| {
            key.strip_prefix("http.auth.")
                .and_then(|k| k.strip_prefix(scope))
                .is_some_and(|field| field == ".basic_password" || field == ".bearer_token")
        })
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config: {0}")]
    Parse(String),
    #[error("cannot read config file {path}: larger than {limit} bytes (a config file is a few KiB)")]
    TooLarge { path: PathBuf, limit: u64 },
    /// The YAML or its shape is wrong at `at` (a key path and line, or a line).
    #[error("invalid config: {at}: {reason}")]
    Yaml { at: String, reason: String },
    #[error("invalid config: key `{key}` = {value}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error(
        "missing DSN: set PGMON_DSN (e.g. PGMON_DSN='postgres://monitor@db:5432/app') or `dsn` in the config file"
    )]
    MissingDsn,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Logical label of the monitored cluster; the `cluster` label on every metric.
    pub cluster: String,
    /// Connection string (URL or key=value); normally from `PGMON_DSN`.
    #[serde(skip_serializing)]
    pub dsn: Option<Secret>,
    /// `dsn` parsed and checked by [`Config::load`]: what the agent connects with
    /// ([`Config::require_dsn`]).
    #[serde(skip)]
    pub target: Option<Dsn>,
    #[serde(
        deserialize_with = "intervals_over_defaults",
        serialize_with = "crate::loops::durations::serialize"
    )]
    pub sample_intervals: PerLoop<Duration>,
    #[serde(
        deserialize_with = "budgets_over_defaults",
        serialize_with = "crate::loops::durations::serialize"
    )]
    pub budgets: PerLoop<Duration>,
    pub limits: Limits,
    pub alerts: AlertThresholds,
    pub notifiers: Notifiers,
    pub http: Http,
    pub security: Security,
    pub ui: Ui,
    pub timeouts: Timeouts,
    pub database: Database,
    pub metrics: Metrics,
    pub canary: Canary,
    pub log: Log,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cluster: "default".into(),
            dsn: None,
            target: None,
            sample_intervals: DEFAULT_INTERVALS,
            budgets: DEFAULT_BUDGETS,
            limits: Limits::default(),
            alerts: AlertThresholds::default(),
            notifiers: Notifiers::default(),
            http: Http::default(),
            security: Security::default(),
            ui: Ui::default(),
            timeouts: Timeouts::default(),
            database: Database::default(),
            metrics: Metrics::default(),
            canary: Canary::default(),
            log: Log::default(),
        }
    }
}

/// How often each loop runs (spec §7: 15 s, 60 s, 10 min, 1 h).
pub const DEFAULT_INTERVALS: PerLoop<Duration> = PerLoop {
    hot_path: Duration::from_secs(15),
    workload: Duration::from_secs(60),
    storage: Duration::from_secs(600),
    hourly: Duration::from_secs(3600),
};

/// The most each loop's run may take (design: 1 s / 3 s / 10 s / 60 s).
pub const DEFAULT_BUDGETS: PerLoop<Duration> = PerLoop {
    hot_path: Duration::from_secs(1),
    workload: Duration::from_secs(3),
    storage: Duration::from_secs(10),
    hourly: Duration::from_secs(60),
};

fn intervals_over_defaults<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PerLoop<Duration>, D::Error> {
    crate::loops::durations::deserialize_over(d, DEFAULT_INTERVALS)
}

fn budgets_over_defaults<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PerLoop<Duration>, D::Error> {
    crate::loops::durations::deserialize_over(d, DEFAULT_BUDGETS)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub top_relations: u32,
    pub top_indexes: u32,
    pub top_queries: u32,
    pub partition_horizon_days: u32,
    /// Long / idle-in-transaction sessions listed by the hot path (oldest first).
    pub top_sessions: u32,
    /// Blocked↔blocker pairs listed in `blocking_events`.
    pub blocking_events: u32,
    /// Indexes never scanned and at least this big are reported as unused (100 MiB).
    pub unused_index_min_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            top_relations: 50,
            top_indexes: 50,
            top_queries: 50,
            partition_horizon_days: 7,
            top_sessions: 50,
            blocking_events: 50,
            unused_index_min_bytes: 100 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertThresholds {
    pub connections_warn: f64,
    pub connections_crit: f64,
    pub long_txn_warn_s: u64,
    pub long_txn_crit_s: u64,
    pub blocked_warn_s: u64,
    pub blocked_crit_s: u64,
    pub repl_warn_s: u64,
    pub repl_crit_s: u64,
    pub stats_stale_warn_hours: u64,
    pub stats_stale_crit_hours: u64,
    pub wraparound_warn_tx_age: u64,
    pub wraparound_crit_tx_age: u64,
    pub wal_surge_warn_bytes_per_sec: u64,
    pub wal_surge_crit_bytes_per_sec: u64,
    pub temp_surge_warn_bytes_per_sec: u64,
    pub temp_surge_crit_bytes_per_sec: u64,
    pub autovac_starvation_warn_hours: u64,
    pub autovac_starvation_crit_hours: u64,
    pub checkpoint_ratio_warn: f64,
    pub checkpoint_ratio_crit: f64,
    pub checkpoint_interval_warn_seconds: u64,
    pub checkpoint_interval_crit_seconds: u64,
    /// Dead-tuple backlog: %dead above these (with at least `dead_tuples_min` dead rows).
    pub dead_tuples_warn_pct: f64,
    pub dead_tuples_crit_pct: f64,
    pub dead_tuples_min: u64,
    /// Replication lag in bytes (either this or the seconds threshold alerts).
    pub repl_warn_bytes: u64,
    pub repl_crit_bytes: u64,
    /// Deadlocks in one database since the previous workload run.
    pub deadlocks_warn: u64,
    pub deadlocks_crit: u64,
    /// WAL an inactive replication slot retains before `replication_slot_retention` fires.
    pub slot_retained_warn_bytes: u64,
    pub slot_retained_crit_bytes: u64,
    /// How long WAL archiving may fail (no success in between) before its alert is crit.
    #[serde(with = "humantime_serde")]
    pub archive_failing_crit_after: Duration,
    /// How long a completed WAL segment may wait for `archive_command` before archiving counts
    /// as stalled.
    #[serde(with = "humantime_serde")]
    pub archive_stalled_after: Duration,
    /// How long a changed setting may wait for a restart before `setting_pending_restart`.
    #[serde(with = "humantime_serde")]
    pub pending_restart_after: Duration,
    /// How long a condition must hold before its alert fires (the catalog's `for`).
    #[serde(with = "humantime_serde")]
    pub connections_for: Duration,
    #[serde(with = "humantime_serde")]
    pub dead_tuples_for: Duration,
    #[serde(with = "humantime_serde")]
    pub wal_surge_for: Duration,
    #[serde(with = "humantime_serde")]
    pub temp_surge_for: Duration,
    /// How long a condition must stay clear before its alert resolves (hysteresis).
    #[serde(with = "humantime_serde")]
    pub resolve_after: Duration,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            connections_warn: 0.80,
            connections_crit: 0.95,
            long_txn_warn_s: 300,
            long_txn_crit_s: 1800,
            blocked_warn_s: 30,
            blocked_crit_s: 120,
            repl_warn_s: 30,
            repl_crit_s: 300,
            stats_stale_warn_hours: 12,
            stats_stale_crit_hours: 24,
            wraparound_warn_tx_age: 1_500_000_000,
            wraparound_crit_tx_age: 1_800_000_000,
            wal_surge_warn_bytes_per_sec: 100 * 1024 * 1024,
            wal_surge_crit_bytes_per_sec: 200 * 1024 * 1024,
            temp_surge_warn_bytes_per_sec: 50 * 1024 * 1024,
            temp_surge_crit_bytes_per_sec: 100 * 1024 * 1024,
            autovac_starvation_warn_hours: 6,
            autovac_starvation_crit_hours: 12,
            checkpoint_ratio_warn: 0.2,
            checkpoint_ratio_crit: 0.5,
            checkpoint_interval_warn_seconds: 300,
            checkpoint_interval_crit_seconds: 180,
            dead_tuples_warn_pct: 20.0,
            dead_tuples_crit_pct: 40.0,
            dead_tuples_min: 100_000,
            repl_warn_bytes: 1024 * 1024 * 1024,
            repl_crit_bytes: 10 * 1024 * 1024 * 1024,
            deadlocks_warn: 1,
            deadlocks_crit: 10,
            slot_retained_warn_bytes: 1024 * 1024 * 1024,
            slot_retained_crit_bytes: 10 * 1024 * 1024 * 1024,
            archive_failing_crit_after: Duration::from_secs(900),
            archive_stalled_after: Duration::from_secs(1800),
            pending_restart_after: Duration::from_secs(6 * 3600),
            connections_for: Duration::from_secs(120),
            dead_tuples_for: Duration::from_secs(600),
            wal_surge_for: Duration::from_secs(900),
            temp_surge_for: Duration::from_secs(300),
            resolve_after: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notifiers {
    /// Generic JSON POST on every firing and resolved transition (empty: off).
    pub webhook_url: String,
    /// Slack-compatible incoming webhook (empty: off).
    pub slack_webhook: String,
    /// Not implemented yet; accepted so spec configs load.
    pub email_smtp: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    pub bind: String,
    /// Directory served at `/` instead of the embedded UI, when it exists.
    pub static_dir: String,
    /// HTTPS instead of HTTP when both files are set.
    pub tls: HttpTls,
    /// Optional credentials per scope; `/healthz` is always open.
    pub auth: HttpAuth,
}

impl Default for Http {
    fn default() -> Self {
        Self {
            bind: "0.0.0.0:8181".into(),
            static_dir: "/opt/pgmon/ui".into(),
            tls: HttpTls::default(),
            auth: HttpAuth::default(),
        }
    }
}

/// PEM files for HTTPS; both empty (the default) serves plain HTTP.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpTls {
    /// Certificate chain, leaf first.
    pub cert_file: String,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
}

impl HttpTls {
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty() && !self.key_file.is_empty()
    }
}

/// Credentials for the three scopes: `/api/*`, `/metrics`, and the UI (every other path but
/// `/healthz`). A scope with nothing set is open.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpAuth {
    pub api: ScopeAuth,
    pub ui: ScopeAuth,
    pub metrics: ScopeAuth,
}

/// Basic auth (user + password) and/or a bearer token; a request passes with either. Each
/// secret comes inline (best from the environment, e.g.
/// `PGMON_HTTP__AUTH__API__BASIC_PASSWORD`) or from a file read at start.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeAuth {
    pub basic_user: String,
    #[serde(skip_serializing)]
    pub basic_password: Secret,
    pub basic_password_file: String,
    #[serde(skip_serializing)]
    pub bearer_token: Secret,
    pub bearer_token_file: String,
}

/// The auth scopes by config name, for key names in errors.
pub const AUTH_SCOPES: [&str; 3] = ["api", "ui", "metrics"];

impl HttpAuth {
    pub fn scope(&self, name: &str) -> &ScopeAuth {
        match name {
            "api" => &self.api,
            "ui" => &self.ui,
            _ => &self.metrics,
        }
    }
}

/// `http.auth.<scope>.<field>` as a static key name for [`ConfigError::Invalid`].
pub fn auth_key(scope: &str, field: &str) -> &'static str {
    macro_rules! keys {
        ($($s:literal),*) => {
            match (scope, field) {
                $(
                    ($s, "basic_user") => concat!("http.auth.", $s, ".basic_user"),
                    ($s, "basic_password") => concat!("http.auth.", $s, ".basic_password"),
                    ($s, "basic_password_file") => concat!("http.auth.", $s, ".basic_password_file"),
                    ($s, "bearer_token") => concat!("http.auth.", $s, ".bearer_token"),
                    ($s, "bearer_token_file") => concat!("http.auth.", $s, ".bearer_token_file"),
                )*
                _ => "http.auth",
            }
        };
    }
    keys!("api", "ui", "metrics")
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    /// Refuse to start when the role could write (superuser, CREATE, DML on user tables).
    pub read_only_enforce: bool,
    /// Keep query text inside PostgreSQL: no SQL text in the API or UI.
    pub redact_sql_text: bool,
}

impl Default for Security {
    fn default() -> Self {
        Self {
            read_only_enforce: true,
            redact_sql_text: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ui {
    pub hide_postgres_defaults: bool,
    /// How far back the in-memory chart history reaches (`/api/v1/history`).
    #[serde(with = "humantime_serde")]
    pub history_window: Duration,
}

impl Default for Ui {
    fn default() -> Self {
        Self {
            hide_postgres_defaults: true,
            history_window: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    pub statement_timeout_ms: u64,
    pub lock_timeout_ms: u64,
    pub connect_timeout_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            statement_timeout_ms: 3000,
            lock_timeout_ms: 1000,
            connect_timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// Connections of the hot path's own pool.
    pub hot_path_connections: u32,
    /// Connections of each of the workload, storage and hourly loops' own pools.
    pub background_connections: u32,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            hot_path_connections: 1,
            background_connections: 1,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    /// Prepended to every `pg_*` and `alerts_total` family, e.g. "pgmon_".
    pub prefix: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Canary {
    /// Optional read-only query timed each hot-path tick with EXPLAIN (ANALYZE, BUFFERS).
    pub explain_query: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    pub format: LogFormat,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
        }
    }
}

impl Config {
    /// Loads `path` (when given) and overlays `PGMON_*` variables from `env`:
    /// `PGMON_DSN`, `PGMON_CLUSTER`, and `PGMON_<SECTION>__<KEY>` for any other key
    /// (e.g. `PGMON_HTTP__BIND=127.0.0.1:8181`).
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = path {
            let text = source::read_file(path)?;
            source::scan_yaml(&text)?;
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Yaml));
        }
        let overrides: config::Map<String, String> = env
            .iter()
            .filter(|(k, _)| is_config_env(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        // The `config` crate parses env values as numbers where it can ("0123" becomes 123,
        // "nan" a float): string keys and secrets are taken from the environment verbatim.
        let mut verbatim = Vec::new();
        for (name, value) in &overrides {
            let key = env_key(name);
            let is_text = key
                .split('.')
                .try_fold(&defaults, |node, part| node.get(part))
                .map_or(is_secret_key(&key), serde_json::Value::is_string);
            if is_text {
                verbatim.push((key, value.clone()));
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix("PGMON")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(overrides)),
        );
        let dsn = env.get("PGMON_DSN").map(String::as_str);
        let parse_error = |e: config::ConfigError| ConfigError::Parse(describe_config_error(&e, dsn));
        for (key, value) in verbatim {
            builder = builder.set_override(key, value).map_err(parse_error)?;
        }
        let raw = builder.build().map_err(parse_error)?;
        if let Ok(tree) = raw.clone().try_deserialize::<config::Map<String, config::Value>>() {
            source::check_shape(&tree, &defaults, "")?;
        }
        let mut cfg: Config = raw.try_deserialize().map_err(parse_error)?;
        cfg.target = cfg.validate()?;
        Ok(cfg)
    }

    /// Checks ranges and cross-key rules that serde cannot express: every number and
    /// duration within its range, warn/crit pairs ordered, strings capped ([`bounds`]), then
    /// the address, the DSN and the HTTP security keys.
    /// Checks every key; returns the DSN parsed (when one is set), so it is parsed once.
    pub fn validate(&self) -> Result<Option<Dsn>, ConfigError> {
        bounds::check(self)?;
        self.http.bind.parse::<SocketAddr>().map_err(|e| {
            invalid(
                "http.bind",
                format!("{:?}", self.http.bind),
                format!("not a socket address ({e}); use e.g. 127.0.0.1:8181"),
            )
        })?;
        let target = match &self.dsn {
            Some(dsn) => Some(Dsn::parse(dsn.expose()).map_err(|reason| invalid("dsn", "<redacted>", reason))?),
            None => None,
        };
        self.validate_http_security()?;
        Ok(target)
    }

    /// Shape only (which keys go together); the files are read at start by the HTTP side.
    fn validate_http_security(&self) -> Result<(), ConfigError> {
        let tls = &self.http.tls;
        match (tls.cert_file.is_empty(), tls.key_file.is_empty()) {
            (false, true) => {
                return Err(invalid(
                    "http.tls.key_file",
                    "\"\"",
                    format!("is needed with http.tls.cert_file = {}", tls.cert_file),
                ))
            }
            (true, false) => {
                return Err(invalid(
                    "http.tls.cert_file",
                    "\"\"",
                    format!("is needed with http.tls.key_file = {}", tls.key_file),
                ))
            }
            _ => {}
        }
        for scope in AUTH_SCOPES {
            let a = self.http.auth.scope(scope);
            let key = |field| auth_key(scope, field);
            let password_inline = !a.basic_password.expose().is_empty();
            let password_file = !a.basic_password_file.is_empty();
            if password_inline && password_file {
                return Err(invalid(
                    key("basic_password"),
                    "<redacted>",
                    format!("set either it or {}, not both", key("basic_password_file")),
                ));
            }
            if !a.bearer_token.expose().is_empty() && !a.bearer_token_file.is_empty() {
                return Err(invalid(
                    key("bearer_token"),
                    "<redacted>",
                    format!("set either it or {}, not both", key("bearer_token_file")),
                ));
            }
            if !a.basic_user.is_empty() && !password_inline && !password_file {
                return Err(invalid(
                    key("basic_user"),
                    format!("{:?}", a.basic_user),
                    format!(
                        "needs a password: set {} (or {})",
                        key("basic_password_file"),
                        key("basic_password")
                    ),
                ));
            }
            if a.basic_user.is_empty() && (password_inline || password_file) {
                let field = if password_file {
                    "basic_password_file"
                } else {
                    "basic_password"
                };
                return Err(invalid(
                    key(field),
                    if password_file {
                        a.basic_password_file.clone()
                    } else {
                        "<redacted>".into()
                    },
                    format!("needs a user name in {}", key("basic_user")),
                ));
            }
            if a.basic_user.contains(':') {
                return Err(invalid(
                    key("basic_user"),
                    format!("{:?}", a.basic_user),
                    "must not contain ':' (basic auth separates user and password with it)",
                ));
            }
        }
        Ok(())
    }

    /// The parsed DSN, required to run the agent (but not for `--healthcheck`).
    pub fn require_dsn(&self) -> Result<&Dsn, ConfigError> {
        self.dsn
            .as_ref()
            .filter(|d| !d.expose().trim().is_empty())
            .ok_or(ConfigError::MissingDsn)?;
        self.target.as_ref().ok_or_else(|| {
            invalid(
                "dsn",
                "<redacted>",
                "set but not parsed: build the configuration with Config::load or Config::with_dsn",
            )
        })
    }

    /// This configuration with `dsn` set and parsed (for configurations built in code).
    pub fn with_dsn(mut self, dsn: &str) -> Result<Config, ConfigError> {
        self.target = Some(Dsn::parse(dsn).map_err(|reason| invalid("dsn", "<redacted>", reason))?);
        self.dsn = Some(Secret::new(dsn));
        Ok(self)
    }

    pub fn bind_addr(&self) -> SocketAddr {
        // validate() guarantees this parses.
        self.http
            .bind
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8181)))
    }
}

fn invalid(key: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The `config` crate's messages are close to what an operator needs; this keeps them on one
/// short line (a value it quotes may be a 100 KB string; the key comes last, so the middle is
/// cut) and never echoes the DSN.
fn describe_config_error(error: &config::ConfigError, dsn: Option<&str>) -> String {
    let mut text = error.to_string();
    if let Some(dsn) = dsn.filter(|d| !d.is_empty()) {
        text = text.replace(dsn, "<redacted>");
    }
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    const KEEP: usize = 160;
    let count = text.chars().count();
    if count <= 2 * KEEP {
        return text;
    }
    let head: String = text.chars().take(KEEP).collect();
    let tail: String = text.chars().skip(count - KEEP).collect();
    format!("{head} … ({} characters cut) … {tail}", count - 2 * KEEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_yaml(yaml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgmon.yaml");
        std::fs::write(&path, yaml).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load(Some(&path), &env)
    }

    #[test]
    fn sample_config_loads_with_every_spec_key() {
        let sample = include_str!("../../config.pgmon.sample.yaml");
        let cfg = load_yaml(sample, &[("PGMON_DSN", "postgres://u@localhost/db")]).unwrap();
        assert_eq!(cfg.cluster, "example-cluster");
        assert_eq!(cfg.sample_intervals.storage, Duration::from_secs(600));
        assert_eq!(cfg.alerts.wraparound_crit_tx_age, 1_800_000_000);
        assert_eq!(cfg.timeouts.lock_timeout_ms, 1000);
    }

    #[test]
    fn env_overrides_dsn_cluster_and_nested_keys() {
        let cfg = load_yaml(
            "cluster: a\n",
            &[
                ("PGMON_DSN", "host=localhost user=u"),
                ("PGMON_CLUSTER", "prod-eu-west"),
                ("PGMON_HTTP__BIND", "127.0.0.1:9999"),
                ("PGMON_SAMPLE_INTERVALS__HOT_PATH", "2s"),
                ("PGMON_CONFIG", "/ignored/by/loader.yaml"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.cluster, "prod-eu-west");
        assert_eq!(cfg.http.bind, "127.0.0.1:9999");
        assert_eq!(cfg.sample_intervals.hot_path, Duration::from_secs(2));
        assert_eq!(cfg.dsn.as_ref().unwrap().expose(), "host=localhost user=u");
        assert_eq!(
            cfg.require_dsn().unwrap().target(),
            describe_dsn(&parse_dsn("host=localhost user=u").unwrap())
        );
    }

    #[test]
    fn unrelated_pgmon_variables_are_ignored() {
        let cfg = load_yaml(
            "cluster: a\n",
            &[
                ("PGMON_PORT", "tcp://10.0.0.1:8181"),
                ("PGMON_SERVICE_HOST", "10.0.0.1"),
                ("PGMON_TEST_PG_BINDIR", "/x"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.cluster, "a");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load_yaml("limits:\n  top_relatons: 5\n", &[]).unwrap_err().to_string();
        assert!(err.contains("top_relatons"), "{err}");
    }

    #[test]
    fn bad_duration_names_key_and_value() {
        let err = load_yaml("sample_intervals:\n  hot_path: 15 parsecs\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("hot_path") && err.contains("15 parsecs"), "{err}");
    }

    #[test]
    fn budget_above_interval_is_rejected() {
        let err = load_yaml("sample_intervals:\n  hot_path: 1s\nbudgets:\n  hot_path: 2s\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("budgets.hot_path") && err.contains("2s"), "{err}");
    }

    #[test]
    fn missing_dsn_is_reported() {
        let cfg = load_yaml("cluster: x\n", &[]).unwrap();
        assert!(matches!(cfg.require_dsn(), Err(ConfigError::MissingDsn)));
    }

    #[test]
    fn unreadable_file_names_path() {
        let err = Config::load(Some(Path::new("/nonexistent/pgmon.yaml")), &HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/pgmon.yaml"), "{err}");
    }

    #[test]
    fn tls_cert_without_key_names_the_missing_key() {
        let err = load_yaml("http:\n  tls:\n    cert_file: /etc/pgmon/tls.crt\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("http.tls.key_file") && err.contains("/etc/pgmon/tls.crt"),
            "{err}"
        );
    }

    #[test]
    fn basic_user_without_password_names_the_key() {
        let err = load_yaml("http:\n  auth:\n    metrics:\n      basic_user: prom\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("http.auth.metrics.basic_user"), "{err}");
        assert!(err.contains("http.auth.metrics.basic_password_file"), "{err}");
    }

    #[test]
    fn password_file_without_user_names_the_key() {
        let err = load_yaml(
            "http:\n  auth:\n    ui:\n      basic_password_file: /run/secrets/pw\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("http.auth.ui.basic_password_file") && err.contains("basic_user"),
            "{err}"
        );
    }

    #[test]
    fn auth_secrets_come_from_env_verbatim() {
        let cfg = load_yaml(
            "http:\n  auth:\n    api:\n      basic_user: ops\n",
            &[
                ("PGMON_HTTP__AUTH__API__BASIC_PASSWORD", "0123"),
                ("PGMON_HTTP__AUTH__METRICS__BEARER_TOKEN", "1e5"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.http.auth.api.basic_password.expose(), "0123");
        assert_eq!(cfg.http.auth.metrics.bearer_token.expose(), "1e5");
        assert!(!format!("{:?}", cfg.http.auth).contains("0123"), "Debug shows a secret");
    }

    #[test]
    fn inline_password_and_password_file_together_are_rejected_without_the_secret() {
        let err = load_yaml(
            "http:\n  auth:\n    api:\n      basic_user: ops\n      basic_password_file: /pw\n",
            &[("PGMON_HTTP__AUTH__API__BASIC_PASSWORD", "s3cr3t")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("http.auth.api.basic_password") && !err.contains("s3cr3t"),
            "{err}"
        );
    }

    #[test]
    fn list_for_a_section_is_rejected_naming_it() {
        let err = load_yaml("limits: [1, 2]\n", &[]).unwrap_err().to_string();
        assert!(err.contains("key `limits`") && err.contains("by position"), "{err}");
    }

    #[test]
    fn nan_from_the_environment_is_rejected_naming_the_key() {
        for (var, key) in [
            ("PGMON_ALERTS__CONNECTIONS_WARN", "alerts.connections_warn"),
            ("PGMON_LIMITS__TOP_QUERIES", "limits.top_queries"),
        ] {
            let err = load_yaml("cluster: a\n", &[(var, "NaN")]).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")) && err.contains("finite"), "{err}");
        }
    }

    #[test]
    fn fraction_or_negative_float_for_an_integer_is_rejected() {
        for yaml in ["limits:\n  top_queries: 1.5\n", "alerts:\n  dead_tuples_min: -1.0\n"] {
            let err = load_yaml(yaml, &[]).unwrap_err().to_string();
            assert!(err.contains("whole number"), "{err}");
        }
    }

    #[test]
    fn string_keys_come_from_env_verbatim() {
        let cfg = load_yaml(
            "cluster: a\n",
            &[("PGMON_CLUSTER", "0123"), ("PGMON_METRICS__PREFIX", "nan_")],
        )
        .unwrap();
        assert_eq!(cfg.cluster, "0123");
        assert_eq!(cfg.metrics.prefix, "nan_");
        let cfg = load_yaml("cluster: a\n", &[("PGMON_CLUSTER", "nan")]).unwrap();
        assert_eq!(cfg.cluster, "nan");
    }

    #[test]
    fn long_value_in_a_type_error_is_cut_keeping_the_key() {
        let yaml = format!("limits:\n  top_relations: \"{}\"\n", "x".repeat(100_000));
        let err = load_yaml(&yaml, &[]).unwrap_err().to_string();
        assert!(err.len() < 600 && err.contains("limits.top_relations"), "{err}");
    }

    #[test]
    fn bad_dsn_error_never_shows_password() {
        let err = load_yaml("cluster: x\n", &[("PGMON_DSN", "postgres://u:s3cr3t@h:notaport/db")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("dsn"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}

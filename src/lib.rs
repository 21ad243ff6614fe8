//! pgmon: a read-only PostgreSQL health agent.
//!
//! # Layout
//! - [`config`]: YAML + `PGMON_*` env into typed, validated settings; the DSN kept secret.
//! - [`db`]: the two tiny read-only pools, capability detection, the write-access refusal.
//! - [`collectors`]: one file per view — SQL consts, typed rows, pure mappings; per-loop lists.
//! - [`loops`]: the four loops as a domain type (`LoopName`, `PerLoop<T>`), below everything.
//! - [`actors`]: supervised loop actors and the StateActor (one owner of all state, where the
//!   alert engine runs); every message in `actors::messages`.
//! - [`alerts`]: the alert catalog as pure rules, and the pending/firing/resolved engine.
//! - [`telemetry`]: every metric described once; snapshots rendered to Prometheus text.
//! - [`http`]: actix-web handlers reading the StateActor's view; never the database.
//! - [`app`]: start-up order, exit codes and shutdown.
//! - [`tls`]: rustls for both sides: the HTTPS listener, the DSN's `sslmode`, the health probe.
//! - [`check`]: `pgmon check-config`; [`rules`]: `pgmon rules` (Prometheus rules from config).

pub mod actors;
pub mod alerts;
pub mod app;
pub mod check;
pub mod collectors;
pub mod config;
pub mod db;
pub mod http;
pub mod loops;
pub mod rules;
pub mod telemetry;
pub mod tls;

/// Exit code for bad input: config, DSN, bind address.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code when the role could write and `security.read_only_enforce` is on.
pub const EXIT_WRITE_ACCESS: i32 = 3;

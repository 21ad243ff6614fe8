//! `pgmon check-config`: validates the configuration (bad input already exited with 2 before
//! this runs), connects once with the agent's own guardrails, and prints what the agent would
//! monitor: target, loops, limits, the server's capabilities, the advisories with their fixes,
//! and whether the role passes the read-only check. Exit 0 when the agent would start
//! healthy, 1 when the database cannot be reached, 3 when the role could write.

use crate::config::Config;
use crate::db::capabilities::Advisory;
use crate::db::{self, capabilities::Capabilities, privileges};
use crate::EXIT_WRITE_ACCESS;
use std::fmt::Write;
use std::time::Duration;

/// The printed report and the process exit code.
pub struct CheckReport {
    pub text: String,
    pub exit_code: i32,
}

fn configuration_section(config: &Config, source: &str) -> String {
    let mut out = String::new();
    let dsn = config.target.as_ref().map_or_else(|| "(no DSN)".into(), |d| d.target());
    let d = humantime::format_duration;
    let i = &config.sample_intervals;
    let b = &config.budgets;
    let l = &config.limits;
    let _ = writeln!(out, "configuration: OK ({source})");
    let _ = writeln!(out, "  cluster:    {}", config.cluster);
    let _ = writeln!(out, "  target:     {dsn} (password never shown)");
    if let Some(target) = &config.target {
        let _ = writeln!(out, "  db tls:     {}", db::tls::describe(target.tls()));
    }
    let _ = writeln!(
        out,
        "  http:       {} (/healthz, /metrics, /api/v1/*, /)",
        config.http.bind
    );
    let _ = writeln!(
        out,
        "  loops:      hot_path every {} (budget {}), workload every {} ({}), storage every {} ({}), hourly every {} ({})",
        d(i.hot_path),
        d(b.hot_path),
        d(i.workload),
        d(b.workload),
        d(i.storage),
        d(b.storage),
        d(i.hourly),
        d(b.hourly)
    );
    let _ = writeln!(
        out,
        "  limits:     top_relations {}, top_indexes {}, top_queries {}, partition_horizon_days {}, unused_index_min_bytes {}",
        l.top_relations, l.top_indexes, l.top_queries, l.partition_horizon_days, l.unused_index_min_bytes
    );
    let _ = writeln!(
        out,
        "  security:   read_only_enforce {}, redact_sql_text {}",
        on_off(config.security.read_only_enforce),
        on_off(config.security.redact_sql_text)
    );
    let _ = writeln!(
        out,
        "  notifiers:  webhook {}, slack {}",
        on_off(!config.notifiers.webhook_url.is_empty()),
        on_off(!config.notifiers.slack_webhook.is_empty())
    );
    out
}

fn on_off(v: bool) -> &'static str {
    if v {
        "on"
    } else {
        "off"
    }
}

/// What each loop would collect on this server, given its capabilities.
fn monitoring_section(caps: &Capabilities) -> String {
    let mut out = String::new();
    let statements = match caps.pg_stat_statements_usable() {
        Ok(()) => "top statements, QPS and latency from pg_stat_statements".to_string(),
        Err(reason) => format!("no top statements/QPS/latency ({reason})"),
    };
    let percentiles = if caps.has_extension("pg_stat_monitor") {
        "p95/p99 from pg_stat_monitor"
    } else {
        "no p95/p99 (pg_stat_monitor not installed)"
    };
    let wal = if caps.major_version() >= 14 {
        "WAL from pg_stat_wal"
    } else {
        "WAL from LSN positions (no pg_stat_wal before 14)"
    };
    let checkpoints = if caps.major_version() >= 17 {
        "checkpoints from pg_stat_checkpointer"
    } else {
        "checkpoints from pg_stat_bgwriter"
    };
    let replication = if caps.in_recovery {
        "own replay lag (this server is a standby)"
    } else {
        "lag of each connected replica"
    };
    let bloat = if caps.has_extension("pgstattuple") {
        "pgstattuple_approx samples of the Top-N tables"
    } else {
        "statistics-only bloat estimate (pgstattuple not installed)"
    };
    let _ = writeln!(out, "would monitor:");
    let _ = writeln!(
        out,
        "  hot_path:   connections, long/idle-in-transaction sessions, blocking chains, autovacuum workers, temp spill, canary"
    );
    let _ = writeln!(
        out,
        "  workload:   TPS; {statements}; {percentiles}; {wal}; {checkpoints}; {replication}; vacuum freshness"
    );
    let _ = writeln!(
        out,
        "  storage:    relation and index sizes, unused indexes, partition horizon"
    );
    let _ = writeln!(out, "  hourly:     wraparound ages, stale statistics, {bloat}");
    out
}

/// The advisory about the DSN's TLS (a remote host with a mode that does not verify it).
fn transport_advisory(config: &Config) -> Option<Advisory> {
    let dsn = config.target.as_ref()?;
    db::tls::unverified_advisory(dsn.pg(), dsn.tls())
}

pub async fn check_config(config: &Config, source: &str) -> CheckReport {
    let mut text = configuration_section(config, source);
    // The certificate, key, secret and sslrootcert files the agent would read at start.
    match crate::app::read_security_files(config) {
        Ok(files) => {
            let scopes = files.auth.protected_scopes();
            let _ = writeln!(
                text,
                "  http auth:  {}; {}",
                if scopes.is_empty() {
                    "no credentials required".to_string()
                } else {
                    format!("credentials required for {scopes:?}")
                },
                if files.http_tls.is_some() {
                    "HTTPS"
                } else {
                    "plain HTTP"
                }
            );
        }
        Err(e) => {
            let _ = writeln!(text, "security files: {e}");
            return CheckReport {
                text,
                exit_code: crate::EXIT_BAD_INPUT,
            };
        }
    }
    let wait = Duration::from_millis(config.timeouts.connect_timeout_ms) + Duration::from_secs(1);
    let client = match tokio::time::timeout(wait, db::connect_once(config)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            let _ = writeln!(text, "database: UNREACHABLE: {e}");
            return CheckReport { text, exit_code: 1 };
        }
        Err(_) => {
            let _ = writeln!(
                text,
                "database: UNREACHABLE: no answer within {}",
                humantime::format_duration(wait)
            );
            return CheckReport { text, exit_code: 1 };
        }
    };
    let caps = match Capabilities::detect(&client).await {
        Ok(caps) => caps,
        Err(e) => {
            let _ = writeln!(
                text,
                "database: connected, but capability detection failed: {}",
                db::describe_pg_error(&e)
            );
            return CheckReport { text, exit_code: 1 };
        }
    };
    let _ = writeln!(
        text,
        "database: reachable: PostgreSQL {} ({}), database {}, role {}{}",
        caps.server_version,
        if caps.in_recovery { "standby" } else { "primary" },
        caps.database,
        caps.role,
        if caps.has_pg_monitor { " (pg_monitor)" } else { "" }
    );
    let _ = writeln!(
        text,
        "  extensions: {}",
        if caps.extensions.is_empty() {
            "none".to_string()
        } else {
            caps.extensions.join(", ")
        }
    );
    let advisories: Vec<Advisory> = transport_advisory(config)
        .into_iter()
        .chain(caps.advisories())
        .collect();
    if advisories.is_empty() {
        let _ = writeln!(text, "  advisories: none, every recommended setting is in place");
    } else {
        let _ = writeln!(text, "  advisories:");
        for a in &advisories {
            let _ = writeln!(text, "    - {}\n      fix: {}", a.message, a.fix);
        }
    }
    let mut exit_code = 0;
    match privileges::write_privileges(&client).await {
        Ok(found) if found.is_empty() => {
            let _ = writeln!(text, "read-only check: passed (the role cannot write)");
        }
        Ok(found) if config.security.read_only_enforce => {
            let _ = writeln!(
                text,
                "read-only check: REFUSED: {}",
                privileges::refusal_message(&caps.role, &found)
            );
            exit_code = EXIT_WRITE_ACCESS;
        }
        Ok(found) => {
            let _ = writeln!(
                text,
                "read-only check: the role could write ({} privilege(s)), allowed because security.read_only_enforce is off",
                found.len()
            );
        }
        Err(e) => {
            let _ = writeln!(text, "read-only check: failed: {}", db::describe_pg_error(&e));
            exit_code = 1;
        }
    }
    text.push_str(&monitoring_section(&caps));
    CheckReport { text, exit_code }
}

//! `GET /healthz` (readiness): 200 when the database answers and every loop is on schedule;
//! 503 naming each degraded part and why otherwise: the database (unreachable, with the
//! reason), each degraded loop (failed, late, over budget, pool busy), `read_only` (the role
//! could write) and `privileges` (pg_monitor lost while running). Evaluated at request time, so
//! a loop that has gone quiet shows as late even if nothing new was reported. `/livez` is the
//! liveness probe.
//!
//! `/healthz` is open by design (probes carry no credentials), so it tells an anonymous caller
//! only what a probe needs: the status, each loop's state and counters, and why it is degraded
//! in words that name no role, host, database or server version (a connection error becomes
//! its kind and SQLSTATE; write access lists privileges and objects, not who holds them). The
//! full report, with the server's own error text and the fixes, is `GET /api/v1/health`
//! (the `api` scope's credentials, when `http.auth.api` sets them), and `/healthz` itself when
//! the request carries valid `api` credentials.

use super::AppState;
use crate::actors::state::{LoopHealth, LoopStatus, StateView};
use crate::collectors::CollectError;
use crate::loops::LoopName;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::SystemTime;
use utoipa::ToSchema;

/// How much a health report may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything: server messages, role and database names, the fixes.
    Full,
    /// For an unauthenticated caller: no role, host, database name or server version.
    Anonymous,
}

/// Readiness: 200 when the database answers and every loop is on schedule, 503 naming each
/// degraded part and why. Open to everyone, so it says only what a probe needs
/// (`detail: anonymous`); with valid `api` credentials it is the full report.
#[utoipa::path(get, path = "/healthz", tag = "agent", security(()), responses(
    (status = 200, description = "Healthy.", body = HealthReport),
    (status = 503, description = "Starting or degraded (see `degraded` and each loop's `reason`).", body = HealthReport)))]
pub async fn healthz(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    // `/healthz` is open; valid `api` credentials, when that scope asks for some, get the full
    // report.
    let authorization = req.headers().get(actix_web::http::header::AUTHORIZATION);
    let detail = if app.auth.api_credentials_valid(authorization.map(|v| v.as_bytes())) {
        Detail::Full
    } else {
        Detail::Anonymous
    };
    respond(&app, detail)
}

/// `GET /api/v1/health`: the full report, behind the `api` scope's credentials.
#[utoipa::path(get, path = "/api/v1/health", tag = "agent", responses(
    (status = 200, description = "Healthy.", body = HealthReport),
    (status = 503, description = "Starting or degraded.", body = HealthReport)))]
pub async fn api_health(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, Detail::Full)
}

fn respond(app: &AppState, detail: Detail) -> HttpResponse {
    let view = app.view();
    let (healthy, body) = health_report(&view, SystemTime::now(), detail);
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// What kind of connection failure an error text describes, in words that name no host, role
/// or database (server messages such as `password authentication failed for user "x"` or
/// `no pg_hba.conf entry for host ...` do), with its SQLSTATE when there is one.
pub fn connection_failure_kind(error: &str) -> String {
    let code = error
        .find("SQLSTATE ")
        .and_then(|i| error.get(i + 9..i + 14))
        .filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric()));
    let lower = error.to_ascii_lowercase();
    let kind = match code {
        Some("28P01") => "authentication failed",
        Some("28000") => "the server refused the role (pg_hba.conf or authorization)",
        Some("3D000") => "the database does not exist",
        Some("53300") => "too many connections",
        Some("57P01" | "57P02") => "the server is shutting down",
        Some("57P03") => "the server is starting up or not accepting connections",
        Some(c) if c.starts_with("08") => "connection failure",
        Some(c) if c.starts_with("42") => "access to the database was refused",
        _ if lower.contains("refused") => "connection refused",
        _ if lower.contains("certificate") || lower.contains("tls") || lower.contains("ssl") => "TLS failure",
        _ if lower.contains("lookup") || lower.contains("resolve") || lower.contains("name or service") => {
            "host name lookup failed"
        }
        _ if lower.contains("timed out")
            || lower.contains("timeout")
            || lower.contains("did not answer")
            || lower.contains("did not complete") =>
        {
            "no answer within the connect timeout"
        }
        _ if lower.contains("closed") || lower.contains("reset") || lower.contains("lost") => "connection lost",
        _ => "connection failed",
    };
    match code {
        Some(code) => format!("{kind} (SQLSTATE {code})"),
        None => kind.to_string(),
    }
}

/// An anonymous caller's version of a loop or database reason: a connection failure keeps
/// what failed ("database unreachable", "slow connection") and loses the server's words.
/// Anything else (a statement timeout, a late or busy loop) names no role or host and stays.
pub fn redact_reason(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    for head in ["database unreachable", "slow connection"] {
        if let Some(at) = lower.find(head) {
            return format!("{}{head}: {}", &reason[..at], connection_failure_kind(&reason[at..]));
        }
    }
    let connection_codes = [
        "SQLSTATE 28",
        "SQLSTATE 3D000",
        "SQLSTATE 08",
        "SQLSTATE 53300",
        "SQLSTATE 57P0",
    ];
    if connection_codes.iter().any(|c| reason.contains(c)) {
        return connection_failure_kind(reason);
    }
    reason.to_string()
}

/// A typed section failure as an anonymous caller sees it: the kind and SQLSTATE stay, the
/// text goes through [`redact_reason`] like the `section_errors` it mirrors.
fn redact_failure(failure: &mut CollectError) {
    match failure {
        CollectError::Query { sqlstate, message } => {
            let full = format!("{message} (SQLSTATE {sqlstate})");
            let redacted = redact_reason(&full);
            if redacted != full {
                *message = redacted;
            }
        }
        CollectError::ConnectionLost { detail } | CollectError::Client { detail } => *detail = redact_reason(detail),
        CollectError::Timeout => {}
    }
}

/// One loop in a health report: its health, and its status now with why.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoopReport {
    #[serde(flatten)]
    pub health: LoopHealth,
    pub status: ReportStatus,
    /// Why it is starting or degraded.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Ok,
    Starting,
    Degraded,
}

/// The database as a health report sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseHealth {
    /// It answers and capabilities were read.
    pub reachable: bool,
    /// Why it is unreachable, while it is (for an anonymous caller, its kind only).
    pub error: Option<String>,
    /// Since when it has been in its current state (RFC 3339).
    pub since: Option<String>,
    /// Consecutive runs (of one loop) that found it unreachable.
    pub failed_runs: u32,
    /// Null for an anonymous caller.
    pub server_version: Option<String>,
}

/// An advisory in a health report: by code only for an anonymous caller (the text names
/// roles, hosts and databases).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvisoryReport {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DetailLevel {
    Full,
    Anonymous,
}

/// `GET /healthz` and `GET /api/v1/health` (200 when `status` is `ok`, else 503).
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthReport {
    pub status: ReportStatus,
    pub cluster: String,
    /// Null for an anonymous caller.
    pub db: Option<String>,
    pub database: DatabaseHealth,
    /// `database: …`, `<loop>: …`, `read_only: …`, `privileges: …`.
    pub degraded: Vec<String>,
    pub advisories: Vec<AdvisoryReport>,
    /// Each loop by name.
    pub loops: BTreeMap<String, LoopReport>,
    pub uptime_seconds: u64,
    /// How much this report says.
    pub detail: DetailLevel,
}

pub fn health_report(view: &StateView, now: SystemTime, detail: Detail) -> (bool, HealthReport) {
    let say = |text: String| match detail {
        Detail::Full => text,
        Detail::Anonymous => redact_reason(&text),
    };
    let mut loops = BTreeMap::new();
    let mut degraded = Vec::new();
    // Ready once the hot path has read the database and no loop is degraded: a slower loop
    // still waiting for its first run (not late) is on schedule.
    let mut starting = !view.loops.iter().any(|h| h.name == LoopName::HotPath);
    for health in &view.loops {
        let (status, reason) = match health.status(now) {
            LoopStatus::Ok => (ReportStatus::Ok, None),
            LoopStatus::Starting => {
                starting |= health.name == LoopName::HotPath;
                (ReportStatus::Starting, Some("waiting for the first run".to_string()))
            }
            LoopStatus::Degraded(reason) => {
                let reason = say(reason);
                degraded.push(format!("{}: {}", health.name, reason));
                (ReportStatus::Degraded, Some(reason))
            }
        };
        let mut health = health.clone();
        if detail == Detail::Anonymous {
            health.last_error = health.last_error.map(|e| redact_reason(&e));
            for error in health.section_errors.values_mut() {
                *error = redact_reason(error);
            }
            for failure in health.section_failures.values_mut() {
                redact_failure(failure);
            }
        }
        loops.insert(health.name.as_str().to_string(), LoopReport { health, status, reason });
    }
    let database = &view.database;
    let database_error = database
        .error
        .as_deref()
        .filter(|_| database.is_down())
        .map(|e| say(e.to_string()));
    if let Some(error) = &database_error {
        degraded.insert(0, format!("database: {error}"));
    }
    let write_access = match detail {
        Detail::Full => &view.write_access,
        Detail::Anonymous => &view.write_access_anonymous,
    };
    if let Some(reason) = write_access {
        degraded.push(format!("read_only: {reason}"));
    }
    if let Some(reason) = &view.privileges_lost {
        degraded.push(match detail {
            Detail::Full => format!("privileges: {reason}"),
            Detail::Anonymous => "privileges: the agent's role lost pg_monitor while pgmon runs: other sessions' states, queries and wait events are hidden, so session, transaction and blocking figures undercount; the fix: GET /api/v1/health".to_string(),
        });
    }
    let status = if !degraded.is_empty() {
        ReportStatus::Degraded
    } else if starting || view.loops.is_empty() {
        ReportStatus::Starting
    } else {
        ReportStatus::Ok
    };
    let full = detail == Detail::Full;
    // No database name or server version for a prober; advisories by code only.
    let report = HealthReport {
        status,
        cluster: view.cluster.clone(),
        db: full.then(|| view.db.clone()),
        database: DatabaseHealth {
            reachable: database.reachable == Some(true) && view.capabilities.is_some(),
            error: database_error,
            since: database.since.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            failed_runs: database.failed_runs,
            server_version: view
                .capabilities
                .as_ref()
                .filter(|_| full)
                .map(|c| c.server_version.clone()),
        },
        degraded,
        advisories: view
            .advisories
            .iter()
            .map(|a| AdvisoryReport {
                code: a.code,
                message: full.then(|| a.message.clone()),
                fix: full.then(|| a.fix.clone()),
            })
            .collect(),
        loops,
        uptime_seconds: now.duration_since(view.started_at).map(|d| d.as_secs()).unwrap_or(0),
        detail: if full {
            DetailLevel::Full
        } else {
            DetailLevel::Anonymous
        },
    };
    (status == ReportStatus::Ok, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_failure_keeps_what_failed_and_loses_the_servers_words() {
        for (reason, expected) in [
            (
                "database unreachable: no connection within the loop budget; the last attempt failed: password authentication failed for user \"monitor\" (SQLSTATE 28P01)",
                "database unreachable: authentication failed (SQLSTATE 28P01)",
            ),
            (
                "database unreachable: no pg_hba.conf entry for host \"10.1.2.3\", user \"monitor\", database \"app\", no encryption (SQLSTATE 28000)",
                "database unreachable: the server refused the role (pg_hba.conf or authorization) (SQLSTATE 28000)",
            ),
            (
                "database unreachable: database \"inventory\" does not exist (SQLSTATE 3D000)",
                "database unreachable: the database does not exist (SQLSTATE 3D000)",
            ),
            (
                "database unreachable: error connecting to server: Connection refused (os error 111)",
                "database unreachable: connection refused",
            ),
            (
                "database unreachable: error connecting to server: failed to lookup address information: Name or service not known",
                "database unreachable: host name lookup failed",
            ),
            (
                "slow connection: db.internal did not complete the startup within 5s",
                "slow connection: no answer within the connect timeout",
            ),
            (
                "database unreachable: sorry, too many clients already (SQLSTATE 53300)",
                "database unreachable: too many connections (SQLSTATE 53300)",
            ),
        ] {
            assert_eq!(redact_reason(reason), expected, "{reason}");
        }
    }

    #[test]
    fn reasons_that_name_nothing_stay_as_they_are() {
        for reason in [
            "sections failed: canary: canceling statement due to statement timeout (SQLSTATE 57014)",
            "late: no run finished for 47s (interval 15s)",
            "pool busy: the loop's own connection is still held by its previous run",
        ] {
            assert_eq!(redact_reason(reason), reason);
        }
    }

    #[test]
    fn typed_failures_keep_kind_and_sqlstate_and_lose_connection_words_for_strangers() {
        let mut lost = CollectError::Query {
            sqlstate: "28P01".into(),
            message: "password authentication failed for user \"monitor\"".into(),
        };
        redact_failure(&mut lost);
        assert_eq!(
            lost,
            CollectError::Query {
                sqlstate: "28P01".into(),
                message: "authentication failed (SQLSTATE 28P01)".into()
            }
        );
        let timeout = CollectError::Query {
            sqlstate: "57014".into(),
            message: "canceling statement due to statement timeout".into(),
        };
        let mut kept = timeout.clone();
        redact_failure(&mut kept);
        assert_eq!(kept, timeout);
    }
}

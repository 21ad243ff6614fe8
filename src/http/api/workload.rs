//! Workload-loop endpoints: `/api/v1/top-queries`, `/api/v1/autovacuum`, `/api/v1/replication`.

use super::{respond, section, sql_named, Envelope, SectionErrors};
use crate::alerts::verdicts;
use crate::collectors::autovacuum::AutovacuumSummary;
use crate::collectors::replication::{ReplicaLag, StandbyLag};
use crate::collectors::statements::{TopStatement, TopStatements};
use crate::collectors::wal_dir::WalDirectory;
use crate::collectors::workload::WorkloadSnapshot;
use crate::collectors::SqlUsed;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /api/v1/top-queries`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopQueriesResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Whether pg_stat_statements could be read (false when the section failed).
    pub available: bool,
    /// Why it is not available, with the fix.
    pub unavailable_reason: Option<String>,
    /// Statements pg_stat_statements tracks in all.
    pub statements_tracked: Option<i64>,
    /// `security.redact_sql_text`: texts with literals left are redacted.
    pub redact_sql_text: Option<bool>,
    pub by_total_time: Option<Vec<TopStatement>>,
    pub by_calls: Option<Vec<TopStatement>>,
    /// Only statements that read shared blocks.
    pub by_shared_blks_read: Option<Vec<TopStatement>>,
    /// Why the `statements` section failed.
    pub error: Option<String>,
    pub sql: Vec<SqlUsed>,
}

/// The statements ranked `rank` (when it has one) within the Top-N, best first.
fn ranked(st: &TopStatements, rank: fn(&TopStatement) -> Option<i64>) -> Vec<TopStatement> {
    let mut list: Vec<(i64, &TopStatement)> = st
        .top
        .iter()
        .filter_map(|s| rank(s).filter(|r| *r <= i64::from(st.top_n)).map(|r| (r, s)))
        .collect();
    list.sort_by_key(|(r, _)| *r);
    list.into_iter().map(|(_, s)| s.clone()).collect()
}

/// Top-N statements by total time, by calls and by shared blocks read.
#[utoipa::path(get, path = "/api/v1/top-queries", tag = "workload",
    responses((status = 200, body = TopQueriesResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn top_queries(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |view, w: &WorkloadSnapshot, envelope| {
        let sql = sql_named(
            view.workload_sql(),
            &[
                "statements",
                "statement_text",
                "latency_histogram_settings",
                "latency_histogram",
            ],
        );
        match &w.statements {
            Ok(st) => TopQueriesResponse {
                envelope,
                available: st.available,
                unavailable_reason: st.unavailable_reason.clone(),
                statements_tracked: Some(st.statements_tracked),
                redact_sql_text: Some(st.redact_sql_text),
                by_total_time: Some(ranked(st, |s| Some(s.rank_by_time))),
                by_calls: Some(ranked(st, |s| Some(s.rank_by_calls))),
                by_shared_blks_read: Some(ranked(st, |s| (s.shared_blks_read > 0).then_some(s.rank_by_read))),
                error: None,
                sql,
            },
            Err(e) => TopQueriesResponse {
                envelope,
                available: false,
                unavailable_reason: None,
                statements_tracked: None,
                redact_sql_text: None,
                by_total_time: None,
                by_calls: None,
                by_shared_blks_read: None,
                error: Some(e.to_string()),
                sql,
            },
        }
    })
}

/// `GET /api/v1/autovacuum`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AutovacuumResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Per-table freshness, Top-N by dead tuples (the `freshness` section).
    pub tables: Option<Vec<verdicts::TableFreshness>>,
    /// The vacuums running now (the hot path's `autovacuum` section; null before its run).
    pub in_progress: Option<AutovacuumSummary>,
    pub errors: std::collections::BTreeMap<String, String>,
    pub sql: Vec<SqlUsed>,
}

/// Per-table freshness (Top-N by dead tuples) with hints, and the vacuums running now.
#[utoipa::path(get, path = "/api/v1/autovacuum", tag = "workload",
    responses((status = 200, body = AutovacuumResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn autovacuum(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |view, w: &WorkloadSnapshot, envelope| {
        let mut errors = SectionErrors::new();
        let tables =
            section("freshness", &w.freshness, &mut errors).map(|ts| verdicts::freshness(&ts, &view.thresholds));
        let in_progress = view
            .hot_path()
            .and_then(|p| section("autovacuum", &p.snapshot.autovacuum, &mut errors));
        let sql = view.workload_sql().into_iter().chain(view.hot_path_sql()).collect();
        AutovacuumResponse {
            envelope,
            tables,
            in_progress,
            errors,
            sql: sql_named(sql, &["freshness", "autovacuum"]),
        }
    })
}

/// `GET /api/v1/replication`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplicationResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// `primary` or `standby` (null when the section failed).
    pub role: Option<&'static str>,
    /// On a primary: each replica's lag.
    pub replicas: Option<Vec<ReplicaLag>>,
    /// On a standby: its own lag.
    pub standby: Option<StandbyLag>,
    /// Why the `replication` section failed.
    pub error: Option<String>,
    /// Replication slots, each with the WAL it retains and its verdict
    /// (`replication_slot_retention`); null when the `slots` section failed.
    pub slots: Option<Vec<verdicts::SlotRetention>>,
    /// WAL archiving (`pg_stat_archiver`, segments waiting) with its verdicts; null when the
    /// `archiving` section failed.
    pub archiving: Option<verdicts::ArchivingStatus>,
    /// The size of `pg_wal` against `max_wal_size`; null when the `wal_directory` section failed.
    pub wal_directory: Option<WalDirectory>,
    /// Why the `slots`, `archiving` or `wal_directory` section failed, by section.
    pub errors: std::collections::BTreeMap<String, String>,
    pub sql: Vec<SqlUsed>,
}

/// Per-replica lag on a primary, own lag on a standby; replication slots, WAL archiving and
/// the WAL directory.
#[utoipa::path(get, path = "/api/v1/replication", tag = "workload",
    responses((status = 200, body = ReplicationResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn replication(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |view, w: &WorkloadSnapshot, envelope| {
        let sql = sql_named(
            view.workload_sql(),
            &["replicas", "standby", "slots", "archiving", "wal_directory"],
        );
        let mut errors = SectionErrors::new();
        let t = &view.thresholds;
        let slots = section("slots", &w.slots, &mut errors).map(|s| verdicts::slot_retention(&s, t));
        let archiving = section("archiving", &w.archiving, &mut errors).map(|a| verdicts::archiving(&a, t));
        let wal_directory = section("wal_directory", &w.wal_directory, &mut errors);
        let (role, replicas, standby, error) = match &w.replication {
            Ok(r) => (Some(r.role), Some(r.replicas.clone()), r.standby.clone(), None),
            Err(e) => (None, None, None, Some(e.to_string())),
        };
        ReplicationResponse {
            envelope,
            role,
            replicas,
            standby,
            error,
            slots,
            archiving,
            wal_directory,
            errors,
            sql,
        }
    })
}

/// `GET /api/v1/settings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Changes the agent saw, newest first (bounded); empty until its second workload run.
    pub changes: Option<Vec<crate::collectors::settings::SettingChange>>,
    pub changes_observed_total: Option<u64>,
    /// Settings whose new value waits for a restart, with how long the agent has seen them wait.
    pub pending_restart: Option<Vec<crate::collectors::settings::PendingRestart>>,
    /// `alerts.pending_restart_after`, in seconds: a pending restart older than this alerts.
    pub pending_restart_alert_after_seconds: f64,
    /// Configuration file lines PostgreSQL could not apply; null when the role may not read
    /// `pg_file_settings` (see `file_errors_unavailable_reason`).
    pub file_errors: Option<Vec<crate::collectors::settings::FileSettingError>>,
    pub file_errors_unavailable_reason: Option<String>,
    /// The settings spec §9 recommends, with their state and fix.
    pub recommended: Option<Vec<crate::collectors::settings::Recommendation>>,
    /// How many changes the history keeps.
    pub history_limit: usize,
    /// Why the `settings` section failed.
    pub error: Option<String>,
    pub sql: Vec<SqlUsed>,
}

/// Configuration drift: setting changes seen between runs, settings pending a restart, file
/// lines that failed to apply, and the recommended settings.
#[utoipa::path(get, path = "/api/v1/settings", tag = "workload",
    responses((status = 200, body = SettingsResponse), (status = 503, body = super::NoSnapshotYet)))]
pub async fn settings(app: web::Data<AppState>) -> HttpResponse {
    respond(&app, |view, w: &WorkloadSnapshot, envelope| {
        let sql = sql_named(
            view.workload_sql(),
            &["settings_fingerprint", "settings", "file_settings"],
        );
        let (drift, error) = super::split(&w.settings);
        let history_limit = crate::collectors::settings::HISTORY_LIMIT;
        let pending_restart_alert_after_seconds = view.thresholds.pending_restart_after.as_secs_f64();
        match drift {
            Some(d) => SettingsResponse {
                envelope,
                changes: Some(d.changes),
                changes_observed_total: Some(d.changes_observed_total),
                pending_restart: Some(d.pending_restart),
                pending_restart_alert_after_seconds,
                file_errors: d.file_errors,
                file_errors_unavailable_reason: d.file_errors_unavailable_reason,
                recommended: Some(d.recommended),
                history_limit,
                error,
                sql,
            },
            None => SettingsResponse {
                envelope,
                changes: None,
                changes_observed_total: None,
                pending_restart: None,
                pending_restart_alert_after_seconds,
                file_errors: None,
                file_errors_unavailable_reason: None,
                recommended: None,
                history_limit,
                error,
                sql,
            },
        }
    })
}

//! `GET /api/v1/overview`: the hot path (connections, blocking, transactions, vacuum, temp,
//! canary) and the workload headline figures (TPS/QPS, latency, WAL, checkpoints), loop
//! health and advisories. Fields of a loop with no snapshot yet are `null`.

use super::{rfc3339, section, snapshot_age, SectionErrors};
use crate::actors::state::LoopHealth;
use crate::alerts::engine::Alert;
use crate::alerts::verdicts::{self, Surge};
use crate::collectors::autovacuum::AutovacuumSummary;
use crate::collectors::blocking::BlockingEvent;
use crate::collectors::canary::CanaryResult;
use crate::collectors::checkpoints::CheckpointStats;
use crate::collectors::connections::ConnectionStats;
use crate::collectors::deadlocks::DatabaseIncidents;
use crate::collectors::hot_path::HotPathSnapshot;
use crate::collectors::stat_io::IoStats;
use crate::collectors::temp::TempSpill;
use crate::collectors::transactions::OpenTransaction;
use crate::collectors::wal::WalStats;
use crate::collectors::workload::WorkloadSnapshot;
use crate::collectors::SqlUsed;
use crate::db::capabilities::Advisory;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// The server the agent is connected to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerInfo {
    pub version: String,
    pub version_num: i32,
    pub in_recovery: bool,
    pub role: String,
    pub extensions: Vec<String>,
}

/// Whether the database answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseReachability {
    /// Null before the first try.
    pub reachable: Option<bool>,
    /// Why it is unreachable, while it is.
    pub error: Option<String>,
    /// Since when it has been in its current state (RFC 3339).
    pub since: Option<String>,
}

/// Mean latency from pg_stat_statements, p95/p99 from pg_stat_monitor.
#[derive(Debug, Serialize, ToSchema)]
pub struct Latency {
    pub mean_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
    /// Why p95/p99 could not be read from pg_stat_monitor.
    pub percentiles_error: Option<String>,
}

/// `GET /api/v1/overview`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewResponse {
    pub cluster: String,
    pub db: String,
    pub server: Option<ServerInfo>,
    pub advisories: Vec<Advisory>,
    /// The role lost pg_monitor while running: what it hides and the fix.
    pub privileges_lost: Option<String>,
    /// The role could write (which privileges, the fix).
    pub write_access: Option<String>,
    pub database: DatabaseReachability,
    pub loops: Vec<LoopHealth>,
    pub open_alerts: Vec<Alert>,
    pub sql: Vec<SqlUsed>,
    /// When the hot path's run behind these figures started (RFC 3339).
    pub collected_at: Option<String>,
    pub age_seconds: Option<u64>,
    /// Why the hot-path figures are not current, or null.
    pub stale: Option<String>,
    pub connections: Option<ConnectionStats>,
    pub blocked_sessions: Option<i64>,
    pub longest_blocked_seconds: Option<f64>,
    pub blocking_events: Option<Vec<BlockingEvent>>,
    pub longest_transaction_seconds: Option<f64>,
    pub longest_idle_in_transaction_seconds: Option<f64>,
    pub long_transactions: Option<Vec<OpenTransaction>>,
    pub autovacuum: Option<AutovacuumSummary>,
    pub temp_spill: Option<Vec<TempSpill>>,
    pub canary: Option<CanaryResult>,
    /// When the workload run behind TPS, QPS, latency, WAL and checkpoints started.
    pub workload_collected_at: Option<String>,
    pub workload_age_seconds: Option<u64>,
    /// Why the workload figures are not current, or null.
    pub workload_stale: Option<String>,
    pub tps: Option<f64>,
    pub qps: Option<f64>,
    pub latency: Option<Latency>,
    pub wal: Option<WalStats>,
    pub checkpoints: Option<CheckpointStats>,
    /// I/O per backend type with read and write rates (`pg_stat_io`, PostgreSQL 16+; on older
    /// servers `available` is false with the reason).
    pub io: Option<IoStats>,
    /// Deadlocks and recovery conflicts per database (the workload loop's `deadlocks` section).
    pub deadlocks: Option<Vec<DatabaseIncidents>>,
    /// WAL and temp write rates against their surge thresholds.
    pub surges: Option<Vec<Surge>>,
    pub statements_available: Option<bool>,
    pub statements_unavailable_reason: Option<String>,
    pub errors: std::collections::BTreeMap<String, String>,
}

/// Hot-path and workload headline figures, loop health, advisories and open alerts.
#[utoipa::path(get, path = "/api/v1/overview", tag = "overview", responses((status = 200, body = OverviewResponse)))]
pub async fn overview(app: web::Data<AppState>) -> HttpResponse {
    let view = app.view();
    let mut errors = SectionErrors::new();
    let hot = view.hot_path();
    let hp = hot.map(|p| &*p.snapshot);
    let (age_seconds, stale) = snapshot_age::<HotPathSnapshot>(&view);
    let connections = hp.and_then(|hp| section("connections", &hp.connections, &mut errors));
    let blocking = hp.and_then(|hp| section("blocking", &hp.blocking, &mut errors));
    let transactions = hp.and_then(|hp| section("transactions", &hp.transactions, &mut errors));
    let autovacuum = hp.and_then(|hp| section("autovacuum", &hp.autovacuum, &mut errors));
    let temp_spill = hp.and_then(|hp| section("temp", &hp.temp, &mut errors));
    let canary = hp.and_then(|hp| section("canary", &hp.canary, &mut errors));

    let work = view.workload();
    let w = work.map(|p| &*p.snapshot);
    let (workload_age_seconds, workload_stale) = snapshot_age::<WorkloadSnapshot>(&view);
    let throughput = w.and_then(|w| section("throughput", &w.throughput, &mut errors));
    let wal = w.and_then(|w| section("wal", &w.wal, &mut errors));
    let checkpoints = w.and_then(|w| section("checkpoints", &w.checkpoints, &mut errors));
    let deadlocks = w.and_then(|w| section("deadlocks", &w.deadlocks, &mut errors));
    let io = w.and_then(|w| section("io", &w.io, &mut errors));
    let statements = w.and_then(|w| w.statements.as_ref().ok());

    let body = OverviewResponse {
        cluster: view.cluster.clone(),
        db: view.db.clone(),
        server: view.capabilities.as_ref().map(|c| ServerInfo {
            version: c.server_version.clone(),
            version_num: c.server_version_num,
            in_recovery: c.in_recovery,
            role: c.role.clone(),
            extensions: c.extensions.clone(),
        }),
        advisories: view.advisories.clone(),
        privileges_lost: view.privileges_lost.clone(),
        write_access: view.write_access.clone(),
        database: DatabaseReachability {
            reachable: view.database.reachable,
            error: view.database.error.clone().filter(|_| view.database.is_down()),
            since: view.database.since.map(rfc3339),
        },
        loops: view.loops.clone(),
        open_alerts: view.open_alerts.clone(),
        sql: view.hot_path_sql().into_iter().chain(view.workload_sql()).collect(),
        collected_at: hot.map(|p| rfc3339(p.at)),
        age_seconds,
        stale,
        connections,
        blocked_sessions: blocking.as_ref().map(|b| b.blocked_sessions),
        longest_blocked_seconds: blocking.as_ref().map(|b| b.longest_blocked_seconds),
        blocking_events: blocking.map(|b| b.events),
        longest_transaction_seconds: transactions.as_ref().map(|t| t.longest_transaction_seconds),
        longest_idle_in_transaction_seconds: transactions.as_ref().map(|t| t.longest_idle_in_transaction_seconds),
        long_transactions: transactions.map(|t| t.sessions),
        autovacuum,
        temp_spill,
        canary,
        workload_collected_at: work.map(|p| rfc3339(p.at)),
        workload_age_seconds,
        workload_stale,
        tps: throughput.as_ref().and_then(|t| t.tps),
        qps: throughput.as_ref().and_then(|t| t.qps),
        latency: throughput.map(|t| Latency {
            mean_seconds: t.latency_mean_seconds,
            p95_seconds: t.latency_p95_seconds,
            p99_seconds: t.latency_p99_seconds,
            percentiles_error: t.percentiles_error,
        }),
        wal,
        checkpoints,
        deadlocks,
        io,
        surges: w.map(|w| verdicts::surges(w, &view.thresholds)),
        statements_available: statements.map(|s| s.available),
        statements_unavailable_reason: statements.and_then(|s| s.unavailable_reason.clone()),
        errors,
    };
    HttpResponse::Ok().json(body)
}

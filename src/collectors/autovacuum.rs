//! Vacuum workers in progress, by phase (`pg_stat_progress_vacuum`). `pg_autovacuum_jobs`
//! counts autovacuum workers only; manual VACUUMs are listed in the API beside them.

use serde::Serialize;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// A relation of this database is named by its schema and name (the catalogs of another database
/// cannot be read from here: its OID is shown instead).
pub const VACUUM_PROGRESS_SQL: &str = "\
SELECT p.pid,
       p.datname::text AS database,
       p.relid::int8 AS relid,
       n.nspname::text AS schema,
       c.relname::text AS name,
       COALESCE(p.phase, 'unknown (needs pg_monitor)') AS phase,
       COALESCE(p.heap_blks_total, 0) AS heap_blks_total,
       COALESCE(p.heap_blks_scanned, 0) AS heap_blks_scanned,
       COALESCE(a.backend_type = 'autovacuum worker', false) AS is_autovacuum,
       EXTRACT(EPOCH FROM (now() - a.xact_start))::float8 AS running_seconds
  FROM pg_stat_progress_vacuum p
  LEFT JOIN pg_stat_activity a ON a.pid = p.pid
  LEFT JOIN pg_class c ON c.oid = p.relid AND p.datname = current_database()
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
 ORDER BY p.pid";

/// Vacuum phases across PostgreSQL 12–18. Each is always exported (0 when idle) so dashboards
/// see a stable set; a phase a newer server adds is exported as it appears.
pub const KNOWN_PHASES: &[&str] = &[
    "initializing",
    "scanning heap",
    "vacuuming indexes",
    "vacuuming heap",
    "cleaning up indexes",
    "truncating heap",
    "performing final cleanup",
];

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VacuumJob {
    pub pid: i32,
    pub database: Option<String>,
    /// `schema.name` as PostgreSQL quotes it, or the OID of a relation in another database.
    pub relation: Option<String>,
    pub phase: String,
    pub heap_blks_total: i64,
    pub heap_blks_scanned: i64,
    pub is_autovacuum: bool,
    pub running_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AutovacuumSummary {
    /// Autovacuum workers per phase (every known phase present, 0 when idle).
    pub workers_by_phase: BTreeMap<String, i64>,
    pub jobs: Vec<VacuumJob>,
}

pub fn summarize(jobs: Vec<VacuumJob>) -> AutovacuumSummary {
    let mut workers_by_phase: BTreeMap<String, i64> = KNOWN_PHASES.iter().map(|p| (p.to_string(), 0)).collect();
    for job in jobs.iter().filter(|j| j.is_autovacuum) {
        *workers_by_phase.entry(job.phase.clone()).or_insert(0) += 1;
    }
    AutovacuumSummary { workers_by_phase, jobs }
}

/// The relation a vacuum works on: [`qualified_name`](crate::db::capabilities::qualified_name)
/// when this database's catalog names it, else its OID (`"16384"` cannot be a rendered name:
/// a name starting with a digit is quoted).
pub fn relation_name(schema: Option<String>, name: Option<String>, relid: Option<i64>) -> Option<String> {
    match (schema, name) {
        (Some(schema), Some(name)) => Some(crate::db::capabilities::qualified_name(&schema, &name)),
        _ => relid.map(|oid| oid.to_string()),
    }
}

pub async fn collect(client: &Client) -> Result<AutovacuumSummary, tokio_postgres::Error> {
    let rows = client.query(VACUUM_PROGRESS_SQL, &[]).await?;
    let jobs = rows
        .iter()
        .map(|r| {
            Ok(VacuumJob {
                pid: r.try_get("pid")?,
                database: r.try_get("database")?,
                relation: relation_name(r.try_get("schema")?, r.try_get("name")?, r.try_get("relid")?),
                phase: r.try_get("phase")?,
                heap_blks_total: r.try_get("heap_blks_total")?,
                heap_blks_scanned: r.try_get("heap_blks_scanned")?,
                is_autovacuum: r.try_get("is_autovacuum")?,
                running_seconds: r.try_get("running_seconds")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(summarize(jobs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(phase: &str, auto: bool) -> VacuumJob {
        VacuumJob {
            pid: 1,
            database: None,
            relation: None,
            phase: phase.into(),
            heap_blks_total: 10,
            heap_blks_scanned: 5,
            is_autovacuum: auto,
            running_seconds: None,
        }
    }

    #[test]
    fn counts_autovacuum_workers_per_phase_with_zeros() {
        let s = summarize(vec![
            job("scanning heap", true),
            job("scanning heap", true),
            job("vacuuming heap", false),
        ]);
        assert_eq!(s.workers_by_phase["scanning heap"], 2);
        assert_eq!(
            s.workers_by_phase["vacuuming heap"], 0,
            "manual VACUUM is not an autovacuum job"
        );
        assert_eq!(s.workers_by_phase.len(), KNOWN_PHASES.len());
        assert_eq!(s.jobs.len(), 3);
    }

    #[test]
    fn unknown_phase_from_newer_server_is_kept() {
        let s = summarize(vec![job("some new phase", true)]);
        assert_eq!(s.workers_by_phase["some new phase"], 1);
    }

    #[test]
    fn vacuumed_relation_is_quoted_or_an_oid() {
        assert_eq!(
            relation_name(Some("public".into()), Some("Orders".into()), Some(16384)).as_deref(),
            Some("public.\"Orders\"")
        );
        assert_eq!(relation_name(None, None, Some(16384)).as_deref(), Some("16384"));
        assert_eq!(relation_name(None, None, None), None);
    }
}

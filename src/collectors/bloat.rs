//! Bloat samples with `pgstattuple_approx` (when the pgstattuple extension is installed) on
//! the Top-N tables by size, one call each, stopping at the hourly budget. Each call is
//! bounded by the session's statement_timeout too.

use serde::Serialize;
use tokio_postgres::Client;

pub const BLOAT_CANDIDATES_SQL: &str = r"
SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND c.relpersistence <> 't'
   AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.relation = c.oid AND l.mode = 'AccessExclusiveLock')
 ORDER BY pg_total_relation_size(c.oid) DESC NULLS LAST, c.oid
 LIMIT $1";

pub const BLOAT_SAMPLE_SQL: &str = "\
SELECT table_len, scanned_percent, approx_free_space, approx_free_percent, dead_tuple_len, dead_tuple_percent
  FROM pgstattuple_approx($1::oid::regclass)";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BloatSample {
    pub relation: String,
    pub table_bytes: i64,
    pub scanned_percent: f64,
    pub free_bytes: i64,
    pub free_percent: f64,
    pub dead_tuple_bytes: i64,
    pub dead_tuple_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BloatSamples {
    pub available: bool,
    pub unavailable_reason: Option<String>,
    pub samples: Vec<BloatSample>,
    /// Tables skipped because the hourly budget ran out, or whose sample failed.
    pub skipped: Vec<String>,
}

pub async fn collect(
    client: &Client,
    limit: u32,
    deadline: tokio::time::Instant,
) -> Result<BloatSamples, tokio_postgres::Error> {
    let candidates = client.query(BLOAT_CANDIDATES_SQL, &[&i64::from(limit)]).await?;
    let mut out = BloatSamples {
        available: true,
        unavailable_reason: None,
        samples: Vec::new(),
        skipped: Vec::new(),
    };
    for c in &candidates {
        let oid: u32 = c.try_get("oid")?;
        let relation = super::sanitize_label(&format!(
            "{}.{}",
            c.try_get::<_, String>("schema")?,
            c.try_get::<_, String>("name")?
        ));
        let sample = match tokio::time::timeout_at(deadline, client.query_one(BLOAT_SAMPLE_SQL, &[&oid])).await {
            Ok(Ok(row)) => row,
            Ok(Err(e)) if e.is_closed() => return Err(e),
            _ => {
                out.skipped.push(relation);
                continue;
            }
        };
        out.samples.push(BloatSample {
            relation,
            table_bytes: sample.try_get("table_len")?,
            scanned_percent: sample.try_get("scanned_percent")?,
            free_bytes: sample.try_get("approx_free_space")?,
            free_percent: sample.try_get("approx_free_percent")?,
            dead_tuple_bytes: sample.try_get("dead_tuple_len")?,
            dead_tuple_percent: sample.try_get("dead_tuple_percent")?,
        });
    }
    Ok(out)
}

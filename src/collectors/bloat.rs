//! Bloat samples with `pgstattuple_approx` (when the pgstattuple extension is installed) on
//! the Top-N tables by size, one call each, stopping at the hourly budget. Each call is
//! bounded by the session's statement_timeout too. The candidates come from the storage
//! loop's size query ([`sizes::collect_relations`]), so a table a lock blocks is skipped with
//! that lock, and its neighbours are still sampled.

use super::relation_locks::SkippedRelation;
use super::sizes;
use serde::Serialize;
use tokio_postgres::Client;

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
    /// Tables not sampled this run: a lock blocks them, the hourly budget ran out, or their
    /// sample failed.
    pub skipped: Vec<String>,
    /// The same tables, each with why.
    pub skipped_relations: Vec<SkippedRelation>,
}

impl BloatSamples {
    /// `available: false` with the reason, nothing sampled.
    pub fn unavailable(reason: String) -> Self {
        Self {
            available: false,
            unavailable_reason: Some(reason),
            samples: Vec::new(),
            skipped: Vec::new(),
            skipped_relations: Vec::new(),
        }
    }
}

pub async fn collect(
    client: &Client,
    limit: u32,
    deadline: tokio::time::Instant,
) -> Result<BloatSamples, tokio_postgres::Error> {
    let candidates = sizes::collect_relations(client, limit).await?;
    let mut out = BloatSamples {
        available: true,
        unavailable_reason: None,
        samples: Vec::new(),
        skipped: Vec::new(),
        skipped_relations: candidates.skipped,
    };
    for c in &candidates.value {
        let relation = crate::db::capabilities::qualified_name(&c.schema, &c.name);
        let sample = match tokio::time::timeout_at(deadline, client.query_one(BLOAT_SAMPLE_SQL, &[&c.oid])).await {
            Ok(Ok(row)) => row,
            Ok(Err(e)) if e.is_closed() => return Err(e),
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => format!("its sample failed: {}", crate::db::describe_pg_error(&e)),
                    _ => "the hourly budget ran out before its sample".to_string(),
                };
                out.skipped_relations.push(SkippedRelation { relation, reason });
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
    out.skipped = out.skipped_relations.iter().map(|s| s.relation.clone()).collect();
    Ok(out)
}

//! Bloat samples with `pgstattuple_approx` (when the pgstattuple extension is installed) on
//! the Top-N tables by size, one call each, stopping at the hourly budget. Each call is
//! bounded by the session's statement_timeout too. The candidates come from the storage
//! loop's size query ([`sizes::collect_relations`]), so a table a lock blocks is skipped with
//! that lock, and its neighbours are still sampled.
//!
//! Index bloat: `pgstatindex` (leaf density, fragmentation) of the Top-N B-tree indexes, ranked
//! on `pg_class.relpages` (no file access), with half of what budget is left after the tables.
//! It reads the whole index, so an index a lock blocks or the budget cuts is skipped with why.

use super::relation_locks::SkippedRelation;
use super::sizes;
use crate::db::capabilities::qualified_name;
use serde::Serialize;
use tokio_postgres::Client;

pub const BLOAT_SAMPLE_SQL: &str = "\
SELECT table_len, scanned_percent, approx_free_space, approx_free_percent, dead_tuple_len, dead_tuple_percent
  FROM pgstattuple_approx($1::oid::regclass)";

/// The Top-N valid B-tree indexes by pages, leaving out those a lock blocks (`$2`).
pub const INDEX_CANDIDATES_SQL: &str = r"
SELECT i.oid, n.nspname::text AS schema, r.relname::text AS table_name, i.relname::text AS index_name
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class r ON r.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = r.relnamespace
  JOIN pg_am a ON a.oid = i.relam
 WHERE a.amname = 'btree'
   AND x.indisvalid
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND i.relpersistence <> 't'
   AND i.oid <> ALL($2::oid[])
 ORDER BY i.relpages DESC, i.oid
 LIMIT $1";

pub const INDEX_SAMPLE_SQL: &str = "\
SELECT index_size, leaf_pages, empty_pages, deleted_pages, avg_leaf_density, leaf_fragmentation
  FROM pgstatindex($1::oid::regclass)";

/// Leaf density below which an index is worth rebuilding: a fresh B-tree packs its leaves to
/// its fillfactor (90 %), and a page split leaves two pages about half full.
pub const LOW_LEAF_DENSITY_PERCENT: f64 = 50.0;

/// Leaf pages (512 KiB) below which no REINDEX is suggested: a small index's density says
/// nothing (pgbench_branches_pkey, one page and a few live keys, reads 0.5 %), and rebuilding
/// it gains nothing.
pub const MIN_LEAF_PAGES_FOR_FIX: i64 = 64;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IndexBloatSample {
    pub relation: String,
    pub index: String,
    pub index_bytes: i64,
    pub leaf_pages: i64,
    pub empty_pages: i64,
    pub deleted_pages: i64,
    /// Average fullness of the leaf pages, percent (≈ 90 fresh); `null` without leaf pages.
    pub avg_leaf_density: Option<f64>,
    /// Leaf pages out of physical order, percent; `null` without leaf pages.
    pub leaf_fragmentation: Option<f64>,
    /// The REINDEX to run when the leaf density is below 50 %.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BloatSample {
    pub relation: String,
    pub table_bytes: i64,
    pub scanned_percent: f64,
    pub free_bytes: i64,
    pub free_percent: f64,
    pub dead_tuple_bytes: i64,
    pub dead_tuple_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BloatSamples {
    pub available: bool,
    pub unavailable_reason: Option<String>,
    pub samples: Vec<BloatSample>,
    /// Tables not sampled this run: a lock blocks them, the hourly budget ran out, or their
    /// sample failed.
    pub skipped: Vec<String>,
    /// The same tables, each with why.
    pub skipped_relations: Vec<SkippedRelation>,
    /// pgstatindex samples of the Top-N B-tree indexes.
    pub indexes: Vec<IndexBloatSample>,
    /// Indexes not sampled this run, each with why.
    pub skipped_indexes: Vec<SkippedRelation>,
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
            indexes: Vec::new(),
            skipped_indexes: Vec::new(),
        }
    }
}

/// One index's sample from pgstatindex's figures (a NaN density means no leaf pages).
#[allow(clippy::too_many_arguments)]
pub fn index_sample(
    relation: String,
    index: String,
    index_bytes: i64,
    leaf_pages: i64,
    empty_pages: i64,
    deleted_pages: i64,
    density: f64,
    fragmentation: f64,
) -> IndexBloatSample {
    let known = |v: f64| (leaf_pages > 0 && v.is_finite()).then_some(v);
    let avg_leaf_density = known(density);
    IndexBloatSample {
        fix: avg_leaf_density
            .filter(|d| *d < LOW_LEAF_DENSITY_PERCENT && leaf_pages >= MIN_LEAF_PAGES_FOR_FIX)
            .map(|_| format!("REINDEX INDEX CONCURRENTLY {index};")),
        relation,
        index,
        index_bytes,
        leaf_pages,
        empty_pages,
        deleted_pages,
        avg_leaf_density,
        leaf_fragmentation: known(fragmentation),
    }
}

/// pgstatindex of the Top-N B-tree indexes, one at a time, until `deadline`.
pub async fn collect_indexes(
    client: &Client,
    limit: u32,
    deadline: tokio::time::Instant,
) -> Result<(Vec<IndexBloatSample>, Vec<SkippedRelation>), tokio_postgres::Error> {
    let blocked = super::relation_locks::collect(client).await?;
    let candidates = client
        .query(INDEX_CANDIDATES_SQL, &[&i64::from(limit), &blocked.index_oids()])
        .await?;
    let (mut samples, mut skipped) = (Vec::new(), blocked.skipped_indexes());
    for c in &candidates {
        let schema: String = c.try_get("schema")?;
        let relation = qualified_name(&schema, &c.try_get::<_, String>("table_name")?);
        let index = qualified_name(&schema, &c.try_get::<_, String>("index_name")?);
        let oid: u32 = c.try_get("oid")?;
        let row = match tokio::time::timeout_at(deadline, client.query_one(INDEX_SAMPLE_SQL, &[&oid])).await {
            Ok(Ok(row)) => row,
            Ok(Err(e)) if e.is_closed() => return Err(e),
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => format!("its sample failed: {}", crate::db::describe_pg_error(&e)),
                    _ => "the hourly budget ran out before its sample".to_string(),
                };
                skipped.push(SkippedRelation {
                    relation: index,
                    reason,
                });
                continue;
            }
        };
        samples.push(index_sample(
            relation,
            index,
            row.try_get("index_size")?,
            row.try_get("leaf_pages")?,
            row.try_get("empty_pages")?,
            row.try_get("deleted_pages")?,
            row.try_get("avg_leaf_density")?,
            row.try_get("leaf_fragmentation")?,
        ));
    }
    skipped.sort();
    Ok((samples, skipped))
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
        indexes: Vec::new(),
        skipped_indexes: Vec::new(),
    };
    // Tables first, with half of what is left; the indexes get the rest.
    let now = tokio::time::Instant::now();
    let tables_deadline = now + deadline.saturating_duration_since(now) / 2;
    for c in &candidates.value {
        let relation = crate::db::capabilities::qualified_name(&c.schema, &c.name);
        let sample = match tokio::time::timeout_at(tables_deadline, client.query_one(BLOAT_SAMPLE_SQL, &[&c.oid])).await
        {
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
    (out.indexes, out.skipped_indexes) = collect_indexes(client, limit, deadline).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_leaf_density_suggests_a_reindex_and_no_leaves_reads_null() {
        let s = index_sample(
            "public.t".into(),
            "public.t_idx".into(),
            8192 * 100,
            90,
            0,
            0,
            31.5,
            12.0,
        );
        assert_eq!((s.avg_leaf_density, s.leaf_fragmentation), (Some(31.5), Some(12.0)));
        assert_eq!(s.fix.as_deref(), Some("REINDEX INDEX CONCURRENTLY public.t_idx;"));
        let s = index_sample(
            "public.t".into(),
            "public.t_idx".into(),
            8192 * 100,
            90,
            0,
            0,
            89.9,
            0.0,
        );
        assert_eq!(s.fix, None);
        let s = index_sample("public.b".into(), "public.b_pkey".into(), 16384, 1, 0, 0, 0.54, 0.0);
        assert_eq!(
            (s.avg_leaf_density, s.fix),
            (Some(0.54), None),
            "one leaf page: no verdict"
        );
        let s = index_sample(
            "public.t".into(),
            "public.t_idx".into(),
            8192,
            0,
            0,
            0,
            f64::NAN,
            f64::NAN,
        );
        assert_eq!((s.avg_leaf_density, s.leaf_fragmentation, s.fix), (None, None, None));
    }
}

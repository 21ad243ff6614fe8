//! Relation and index sizes, Top-N by bytes (`pg_class` + size functions), dead vs live tuples,
//! the free space the free-space map records for each (`pg_freespacemap`), a bloat estimate
//! built from both, and index usage; plus unused indexes, selected by
//! `idx_scan = 0` first and only then ranked by size (never cut from a by-usage Top-N).
//!
//! A size function waits for any AccessExclusiveLock on a relation it opens: each query leaves
//! out what [`relation_locks`](super::relation_locks) finds blocked (reported as skipped, with
//! the lock), and runs once more when a lock taken meanwhile still makes it time out. Should the
//! Top-N tables hit lock_timeout again, they are sized one table per query, so the one locked
//! table is skipped and every other size is still published.

use super::relation_locks::{self, Blocked, SkippedRelation, WithSkipped};
use crate::db::capabilities::qualified_name;
use futures::StreamExt;
use serde::Serialize;
use tokio_postgres::Client;

/// Ranked in two steps, so the size functions (each opens every file of the relation it sizes:
/// on 10k tables that was 650 ms a run) run for few tables. First on an estimate from the
/// catalog: the pages the last VACUUM or ANALYZE counted for the table, its TOAST and its
/// indexes , scaled up by the tuples the statistics count since; a table
/// never vacuumed nor analyzed has no such count, and its main fork is measured instead (a bulk
/// load in progress is seen). Then the 2×N best estimates are sized exactly and ranked again:
/// every figure served is exact; the estimate only chooses which tables are measured.
pub const RELATION_SIZES_SQL: &str = r"
SELECT t.oid, t.schema, t.name, t.relkind, COALESCE(t.total_bytes, 0)::int8 AS total_bytes,
       COALESCE(pg_indexes_size(t.oid), 0)::int8 AS index_bytes,
       COALESCE(pg_total_relation_size(NULLIF(t.reltoastrelid, 0)), 0)::int8 AS toast_bytes,
       pg_stat_get_live_tuples(t.oid) AS live_tuples,
       pg_stat_get_dead_tuples(t.oid) AS dead_tuples
  FROM (SELECT k.oid, k.reltoastrelid, k.schema, k.name, k.relkind, pg_total_relation_size(k.oid) AS total_bytes
          FROM (SELECT c.oid, c.reltoastrelid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind
                  FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  LEFT JOIN pg_class toast ON toast.oid = c.reltoastrelid
                  LEFT JOIN (SELECT x.indrelid, sum(i.relpages) AS pages
                               FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                              GROUP BY x.indrelid) ix ON ix.indrelid = c.oid
                 WHERE c.relkind IN ('r', 'm')
                   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                   AND n.nspname NOT LIKE 'pg\_toast%'
                   AND c.relpersistence <> 't'
                   -- $2: tables whose size functions would wait for a lock on the table, an index or
                   -- its TOAST (blocked_relations): skipped this run.
                   AND c.oid <> ALL($2::oid[])
                 ORDER BY CASE WHEN c.relpages > 0 AND c.reltuples > 0
                               THEN (c.relpages + COALESCE(toast.relpages, 0) + COALESCE(ix.pages, 0))::float8
                                    * current_setting('block_size')::float8
                                    * GREATEST(1, (pg_stat_get_live_tuples(c.oid) + pg_stat_get_dead_tuples(c.oid)) / c.reltuples)
                               ELSE pg_relation_size(c.oid)::float8
                                    + (COALESCE(toast.relpages, 0) + COALESCE(ix.pages, 0))::float8 * current_setting('block_size')::float8
                          END DESC, c.oid
                 LIMIT $1::int8 * 2) k
         ORDER BY 6 DESC NULLS LAST, k.oid
         LIMIT $1) t
 ORDER BY t.total_bytes DESC NULLS LAST, t.oid";

/// Only when [`RELATION_SIZES_SQL`] keeps hitting lock_timeout: every table it would rank,
/// each then sized by [`RELATION_SIZE_SQL`] on its own.
pub const RELATION_CANDIDATES_SQL: &str = r"
SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND c.relpersistence <> 't'
   AND c.oid <> ALL($1::oid[])
 ORDER BY c.oid";

/// One table's sizes and tuple counts (the fallback); no row when it was dropped meanwhile.
pub const RELATION_SIZE_SQL: &str = "\
SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
       COALESCE(pg_total_relation_size(c.oid), 0)::int8 AS total_bytes,
       COALESCE(pg_indexes_size(c.oid), 0)::int8 AS index_bytes,
       COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0)::int8 AS toast_bytes,
       pg_stat_get_live_tuples(c.oid) AS live_tuples,
       pg_stat_get_dead_tuples(c.oid) AS dead_tuples
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = $1";

/// Indexes for two sections in one read of the catalog: the biggest, and the never-scanned
/// (`idx_scan = 0`, first: never cut from a by-usage Top-N). Every index gets an estimate from
/// the catalog, its pages at the last VACUUM or ANALYZE scaled by its table's tuples since (an
/// index with no count yet, built on an empty table and never vacuumed, is bounded by one
/// B-tree entry per live or dead tuple of its table, at most a third of a page each); the 2×N
/// best estimates overall and the 2×N best among the never-scanned are then sized exactly. The
/// agent ranks both lists on the exact sizes ([`top_indexes`], [`unused_indexes`]). Two scans of
/// 30k indexes cost 180 ms a run; this one costs less than either.
pub const INDEX_SIZES_SQL: &str = r"
WITH c AS MATERIALIZED (
  SELECT i.oid, x.indrelid,
         (x.indisunique OR x.indisexclusion OR x.indisreplident) AS enforces,
         r.relkind IN ('r', 't', 'm') AS on_table,
         pg_stat_get_numscans(i.oid) AS idx_scan,
         CASE WHEN i.relpages > 0 AND i.reltuples > 0
              THEN i.relpages * GREATEST(1, (pg_stat_get_live_tuples(r.oid) + pg_stat_get_dead_tuples(r.oid)) / i.reltuples)
              ELSE i.relpages + (pg_stat_get_live_tuples(r.oid) + pg_stat_get_dead_tuples(r.oid)) / 3.0
         END AS estimated_pages
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class r ON r.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = r.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg\_toast%'
     AND i.relpersistence <> 't'
     -- $2: indexes pg_relation_size would wait for (blocked_relations): skipped this run.
     AND i.oid <> ALL($2::oid[])
), k AS (
  (SELECT * FROM c ORDER BY estimated_pages DESC, oid LIMIT $1::int8 * 2)
  UNION
  (SELECT * FROM c WHERE idx_scan = 0 AND on_table ORDER BY estimated_pages DESC, oid LIMIT $1::int8 * 2)
)
SELECT k.oid, n.nspname::text AS schema, r.relname::text AS table_name, i.relname::text AS index_name,
       COALESCE(pg_relation_size(k.oid), 0)::int8 AS bytes, k.idx_scan, k.on_table,
       k.enforces OR EXISTS (SELECT 1 FROM pg_constraint ct WHERE ct.conindid = k.oid AND ct.contype IN ('p', 'u', 'x')) AS backs_constraint,
       (SELECT EXTRACT(EPOCH FROM COALESCE(d.stats_reset, pg_postmaster_start_time()))::float8
          FROM pg_stat_database d WHERE d.datname = current_database()) AS observed_since_epoch
  FROM k
  JOIN pg_class i ON i.oid = k.oid
  JOIN pg_class r ON r.oid = k.indrelid
  JOIN pg_namespace n ON n.oid = r.relnamespace";

/// What the free-space map (contrib `pg_freespacemap`, executable by `pg_stat_scan_tables` in
/// `pg_monitor`) records for one table: the reusable space VACUUM found, read from the small FSM
/// fork without touching the heap. At most [`FSM_SAMPLE_PAGES`] pages evenly spread are read
/// (every page of a smaller table), so a 100 GB table costs what a 8 MB one does. Run once per
/// Top-N table (pipelined): a table a lock or a drop makes unreadable costs only its own figure.
pub const FREE_SPACE_SQL: &str = "\
WITH r AS (SELECT $1::oid::regclass AS rel,
                  pg_relation_size($1::oid::regclass) / current_setting('block_size')::int8 AS pages,
                  current_setting('block_size')::int8 AS block_size)
SELECT r.pages,
       r.block_size,
       COALESCE((SELECT avg(pg_freespace(r.rel, b))
                   FROM generate_series(0::int8, r.pages - 1, GREATEST((r.pages + $2::int8 - 1) / $2::int8, 1)) b), 0)::float8
         AS avg_free_bytes_per_page
  FROM r";

/// Pages of one table whose free space is read, evenly spread.
pub const FSM_SAMPLE_PAGES: i64 = 1000;

/// Size queries of the fallback in flight at once on the one connection (pipelined).
const PIPELINE: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RelationSize {
    /// `schema.name` as PostgreSQL quotes it ([`qualified_name`]): the `relation` label.
    pub relation: String,
    pub relkind: String,
    pub total_bytes: i64,
    pub table_bytes: i64,
    pub index_bytes: i64,
    pub toast_bytes: i64,
    pub live_tuples: i64,
    pub dead_tuples: i64,
    pub pct_dead: f64,
    /// Free bytes the free-space map records in the heap (what VACUUM found reusable); `null`
    /// without `pg_freespacemap`, or when it could not be read this run.
    pub fsm_free_bytes: Option<i64>,
    /// `fsm_free_bytes` / heap pages × block size, 0–1.
    pub fsm_free_ratio: Option<f64>,
    /// With the free-space map: its free bytes plus heap bytes × dead / (live + dead) for what
    /// VACUUM has not reclaimed yet, at most the heap. Without it: that statistics-only part,
    /// which reads 0 right after a VACUUM however empty the pages are.
    pub bloat_estimated_bytes: i64,
    /// What `bloat_estimated_bytes` is built from: `free_space_map+dead_tuples`, or
    /// `dead_tuples_only` (no free-space map figure for this table).
    pub bloat_estimate_basis: &'static str,
    /// Change in total bytes since the previous storage snapshot.
    pub growth_bytes: Option<i64>,
    pub growth_bytes_per_hour: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IndexSize {
    pub relation: String,
    pub index: String,
    pub bytes: i64,
    pub idx_scan: i64,
    /// Enforces uniqueness (primary key, unique or exclusion constraint, unique index, replica
    /// identity): dropping it changes semantics, so it is never called unused.
    pub backs_constraint: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UnusedIndexes {
    pub min_bytes: u64,
    /// Since when `idx_scan = 0` has been observed (stats reset, or server start).
    pub observed_since: Option<String>,
    /// Candidates to drop: never scanned, not backing a constraint.
    pub indexes: Vec<IndexSize>,
    /// Never scanned but backing a constraint: flagged separately, not exported as unused.
    pub constraint_indexes: Vec<IndexSize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelationRow {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub relkind: String,
    pub total: i64,
    pub index: i64,
    pub toast: i64,
    pub live: i64,
    pub dead: i64,
}

/// One table's free-space map: free bytes over `pages` heap pages of `block_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FreeSpace {
    pub free_bytes: i64,
    pub pages: i64,
    pub block_size: i64,
}

impl FreeSpace {
    pub fn ratio(&self) -> f64 {
        let heap = self.pages * self.block_size;
        if heap > 0 {
            (self.free_bytes as f64 / heap as f64).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// The free-space map of each table it could read (by OID), and why the others were not.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FreeSpaceMap {
    pub available: bool,
    /// Why there are no free-space figures (the extension is missing: with the fix).
    pub unavailable_reason: Option<String>,
    #[serde(skip)]
    pub by_oid: std::collections::HashMap<u32, FreeSpace>,
    /// Top-N tables whose map could not be read this run, each with why.
    pub skipped_relations: Vec<SkippedRelation>,
}

impl FreeSpaceMap {
    pub fn unavailable(reason: String) -> Self {
        Self {
            available: false,
            unavailable_reason: Some(reason),
            by_oid: Default::default(),
            skipped_relations: Vec::new(),
        }
    }
}

/// Reads the free-space map of each table in `tables` (OID, rendered name), pipelined.
pub async fn collect_free_space(
    client: &Client,
    tables: &[(u32, String)],
) -> Result<FreeSpaceMap, tokio_postgres::Error> {
    let one = client.prepare(FREE_SPACE_SQL).await?;
    let one = &one;
    let mut read = futures::stream::iter(tables.iter().cloned())
        .map(|(oid, relation)| async move { (oid, relation, client.query_one(one, &[&oid, &FSM_SAMPLE_PAGES]).await) })
        .buffered(PIPELINE);
    let mut out = FreeSpaceMap {
        available: true,
        unavailable_reason: None,
        by_oid: Default::default(),
        skipped_relations: Vec::new(),
    };
    while let Some((oid, relation, result)) = read.next().await {
        match result {
            Ok(row) => {
                let pages: i64 = row.try_get("pages")?;
                let per_page: f64 = row.try_get("avg_free_bytes_per_page")?;
                out.by_oid.insert(
                    oid,
                    FreeSpace {
                        free_bytes: (per_page * pages as f64).round() as i64,
                        pages,
                        block_size: row.try_get("block_size")?,
                    },
                );
            }
            Err(e) if e.is_closed() => return Err(e),
            Err(e) => out.skipped_relations.push(SkippedRelation {
                relation,
                reason: format!(
                    "its free-space map could not be read: {}",
                    crate::db::describe_pg_error(&e)
                ),
            }),
        }
    }
    out.skipped_relations.sort();
    Ok(out)
}

/// The bloat estimate and what it is built from (see [`RelationSize::bloat_estimated_bytes`]).
pub fn bloat_estimate(table_bytes: i64, pct_dead: f64, free: Option<&FreeSpace>) -> (i64, &'static str) {
    let dead = (table_bytes as f64 * pct_dead / 100.0) as i64;
    match free {
        Some(f) => ((f.free_bytes + dead).min(table_bytes), "free_space_map+dead_tuples"),
        None => (dead, "dead_tuples_only"),
    }
}

/// Sizes with growth against the previous snapshot (`previous`: relation → total bytes) and
/// each table's free-space map when read (`free`, by OID).
pub fn relation_sizes(
    rows: Vec<RelationRow>,
    previous: &std::collections::HashMap<String, i64>,
    elapsed_hours: Option<f64>,
    free: &std::collections::HashMap<u32, FreeSpace>,
) -> Vec<RelationSize> {
    rows.into_iter()
        .map(
            |RelationRow {
                 oid,
                 schema,
                 name,
                 relkind,
                 total,
                 index,
                 toast,
                 live,
                 dead,
             }| {
                let relation = qualified_name(&schema, &name);
                let table_bytes = (total - index - toast).max(0);
                let pct_dead = super::freshness::pct_dead(dead, live);
                let growth = previous.get(&relation).map(|prev| total - prev);
                let free = free.get(&oid);
                let (bloat_estimated_bytes, bloat_estimate_basis) = bloat_estimate(table_bytes, pct_dead, free);
                RelationSize {
                    growth_bytes_per_hour: growth
                        .zip(elapsed_hours)
                        .filter(|(_, h)| *h > 0.0)
                        .map(|(g, h)| g as f64 / h),
                    growth_bytes: growth,
                    relation,
                    relkind,
                    total_bytes: total,
                    table_bytes,
                    index_bytes: index,
                    toast_bytes: toast,
                    live_tuples: live,
                    dead_tuples: dead,
                    pct_dead,
                    fsm_free_bytes: free.map(|f| f.free_bytes),
                    fsm_free_ratio: free.map(FreeSpace::ratio),
                    bloat_estimated_bytes,
                    bloat_estimate_basis,
                }
            },
        )
        .collect()
}

fn relation_from_row(r: &tokio_postgres::Row) -> Result<RelationRow, tokio_postgres::Error> {
    Ok(RelationRow {
        oid: r.try_get("oid")?,
        schema: r.try_get("schema")?,
        name: r.try_get("name")?,
        relkind: r.try_get("relkind")?,
        total: r.try_get("total_bytes")?,
        index: r.try_get("index_bytes")?,
        toast: r.try_get("toast_bytes")?,
        live: r.try_get("live_tuples")?,
        dead: r.try_get("dead_tuples")?,
    })
}

/// The `limit` biggest by total bytes, ties by OID: the order of [`RELATION_SIZES_SQL`].
pub fn top_by_total(mut rows: Vec<RelationRow>, limit: u32) -> Vec<RelationRow> {
    rows.sort_by(|a, b| b.total.cmp(&a.total).then(a.oid.cmp(&b.oid)));
    rows.truncate(limit as usize);
    rows
}

/// The Top-N tables by total bytes, and the tables a lock kept out.
pub async fn collect_relations(
    client: &Client,
    limit: u32,
) -> Result<WithSkipped<Vec<RelationRow>>, tokio_postgres::Error> {
    let limit_param = i64::from(limit);
    let batch = relation_locks::skipping_locked(client, |blocked| async move {
        let oids = blocked.table_oids();
        client.query(RELATION_SIZES_SQL, &[&limit_param, &oids]).await
    })
    .await;
    match batch {
        Ok((rows, blocked)) => Ok(WithSkipped {
            value: rows.iter().map(relation_from_row).collect::<Result<_, _>>()?,
            skipped: blocked.skipped_tables(),
        }),
        Err(e) if relation_locks::is_lock_timeout(&e) => {
            let blocked = relation_locks::collect(client).await?;
            collect_relations_one_by_one(client, limit, &blocked).await
        }
        Err(e) => Err(e),
    }
}

/// The fallback: every candidate table sized by its own query (pipelined), so a lock that
/// outlasts `lock_timeout` costs only the table it blocks, listed as skipped with the error.
pub async fn collect_relations_one_by_one(
    client: &Client,
    limit: u32,
    blocked: &Blocked,
) -> Result<WithSkipped<Vec<RelationRow>>, tokio_postgres::Error> {
    let candidates = client
        .query(RELATION_CANDIDATES_SQL, &[&blocked.table_oids()])
        .await?
        .iter()
        .map(|c| {
            let (schema, name): (String, String) = (c.try_get("schema")?, c.try_get("name")?);
            Ok((c.try_get("oid")?, qualified_name(&schema, &name)))
        })
        .collect::<Result<Vec<(u32, String)>, tokio_postgres::Error>>()?;
    let one = client.prepare(RELATION_SIZE_SQL).await?;
    let one = &one;
    let mut sized = futures::stream::iter(candidates)
        .map(|(oid, relation)| async move { (relation, client.query_opt(one, &[&oid]).await) })
        .buffered(PIPELINE);
    let (mut rows, mut skipped) = (Vec::new(), blocked.skipped_tables());
    while let Some((relation, result)) = sized.next().await {
        match result {
            Ok(Some(row)) => rows.push(relation_from_row(&row)?),
            Ok(None) => {}
            Err(e) if relation_locks::is_lock_timeout(&e) => skipped.push(SkippedRelation {
                relation,
                reason: format!(
                    "its own size query waited longer than lock_timeout: {}",
                    crate::db::describe_pg_error(&e)
                ),
            }),
            Err(e) => return Err(e),
        }
    }
    skipped.sort();
    Ok(WithSkipped {
        value: top_by_total(rows, limit),
        skipped,
    })
}

/// One index [`INDEX_SIZES_SQL`] sized exactly, with what the two sections rank it on.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexCandidate {
    pub oid: u32,
    pub size: IndexSize,
    /// An index of a table, TOAST table or materialized view (not of a partitioned table).
    pub on_table: bool,
    /// Since when `idx_scan` counts (statistics reset, or server start), as an epoch.
    pub observed_since_epoch: Option<f64>,
}

fn index_from_row(r: &tokio_postgres::Row) -> Result<IndexCandidate, tokio_postgres::Error> {
    let schema: String = r.try_get("schema")?;
    Ok(IndexCandidate {
        oid: r.try_get("oid")?,
        size: IndexSize {
            relation: qualified_name(&schema, &r.try_get::<_, String>("table_name")?),
            index: qualified_name(&schema, &r.try_get::<_, String>("index_name")?),
            bytes: r.try_get("bytes")?,
            idx_scan: r.try_get("idx_scan")?,
            backs_constraint: r.try_get("backs_constraint")?,
        },
        on_table: r.try_get("on_table")?,
        observed_since_epoch: r.try_get("observed_since_epoch")?,
    })
}

fn by_bytes_then_oid(a: &IndexCandidate, b: &IndexCandidate) -> std::cmp::Ordering {
    b.size.bytes.cmp(&a.size.bytes).then(a.oid.cmp(&b.oid))
}

/// The `limit` biggest indexes by exact bytes, ties by OID.
pub fn top_indexes(candidates: &[IndexCandidate], limit: u32) -> Vec<IndexSize> {
    let mut all: Vec<&IndexCandidate> = candidates.iter().collect();
    all.sort_by(|a, b| by_bytes_then_oid(a, b));
    all.into_iter().take(limit as usize).map(|c| c.size.clone()).collect()
}

/// Never-scanned indexes of tables at least `min_bytes`, the `limit` biggest, those backing a
/// constraint listed apart.
pub fn unused_indexes(candidates: &[IndexCandidate], min_bytes: u64, limit: u32) -> UnusedIndexes {
    let min = i64::try_from(min_bytes).unwrap_or(i64::MAX);
    let mut unused: Vec<&IndexCandidate> = candidates
        .iter()
        .filter(|c| c.on_table && c.size.idx_scan == 0 && c.size.bytes >= min)
        .collect();
    unused.sort_by(|a, b| by_bytes_then_oid(a, b));
    unused.truncate(limit as usize);
    let observed_since = unused.first().and_then(|c| c.observed_since_epoch).map(|s| {
        humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(s.max(0.0)))
            .to_string()
    });
    let (constraint_indexes, indexes) = unused
        .into_iter()
        .map(|c| c.size.clone())
        .partition(|i| i.backs_constraint);
    UnusedIndexes {
        min_bytes,
        observed_since,
        indexes,
        constraint_indexes,
    }
}

/// The indexes both index sections rank ([`INDEX_SIZES_SQL`]), and the indexes a lock kept out.
pub async fn collect_index_candidates(
    client: &Client,
    limit: u32,
) -> Result<WithSkipped<Vec<IndexCandidate>>, tokio_postgres::Error> {
    let limit = i64::from(limit);
    let (rows, blocked) = relation_locks::skipping_locked(client, |blocked| async move {
        let oids = blocked.index_oids();
        client.query(INDEX_SIZES_SQL, &[&limit, &oids]).await
    })
    .await?;
    Ok(WithSkipped {
        value: rows.iter().map(index_from_row).collect::<Result<_, _>>()?,
        skipped: blocked.skipped_indexes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn candidate(oid: u32, bytes: i64, idx_scan: i64, backs_constraint: bool, on_table: bool) -> IndexCandidate {
        IndexCandidate {
            oid,
            size: IndexSize {
                relation: "public.t".into(),
                index: format!("public.i{oid}"),
                bytes,
                idx_scan,
                backs_constraint,
            },
            on_table,
            observed_since_epoch: Some(1_800_000_000.0),
        }
    }

    #[test]
    fn both_index_lists_rank_the_shared_candidates_on_exact_bytes() {
        let candidates = vec![
            candidate(5, 900, 0, false, true),
            candidate(3, 5000, 12, false, true), // biggest, but used
            candidate(4, 900, 0, true, true),    // ties 5 on bytes: the lower OID first
            candidate(6, 8000, 0, false, false), // of a partitioned table: no storage use to judge
            candidate(7, 100, 0, false, true),   // below min_bytes
            candidate(8, 700, 0, false, true),
        ];
        let top: Vec<String> = top_indexes(&candidates, 3).into_iter().map(|i| i.index).collect();
        assert_eq!(top, vec!["public.i6", "public.i3", "public.i4"]);
        let unused = unused_indexes(&candidates, 500, 2);
        assert_eq!(
            unused.indexes.iter().map(|i| i.index.as_str()).collect::<Vec<_>>(),
            vec!["public.i5"]
        );
        assert_eq!(
            unused
                .constraint_indexes
                .iter()
                .map(|i| i.index.as_str())
                .collect::<Vec<_>>(),
            vec!["public.i4"]
        );
        assert_eq!(unused.observed_since.as_deref(), Some("2027-01-15T08:00:00Z"));
        let none = unused_indexes(&candidates, 1 << 40, 2);
        assert!(none.indexes.is_empty() && none.observed_since.is_none());
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        schema: &str,
        name: &str,
        relkind: &str,
        total: i64,
        index: i64,
        toast: i64,
        live: i64,
        dead: i64,
    ) -> RelationRow {
        RelationRow {
            oid: 0,
            schema: schema.into(),
            name: name.into(),
            relkind: relkind.into(),
            total,
            index,
            toast,
            live,
            dead,
        }
    }

    #[test]
    fn split_estimate_and_growth() {
        let rows = vec![row("public", "orders", "r", 1000, 200, 100, 75, 25)];
        let prev = HashMap::from([("public.orders".to_string(), 400)]);
        let s = &relation_sizes(rows, &prev, Some(2.0), &HashMap::new())[0];
        assert_eq!((s.table_bytes, s.index_bytes, s.toast_bytes), (700, 200, 100));
        assert_eq!(s.pct_dead, 25.0);
        assert_eq!(
            (s.bloat_estimated_bytes, s.bloat_estimate_basis),
            (175, "dead_tuples_only")
        );
        assert_eq!((s.fsm_free_bytes, s.fsm_free_ratio), (None, None));
        assert_eq!(s.growth_bytes, Some(600));
        assert_eq!(s.growth_bytes_per_hour, Some(300.0));
    }

    #[test]
    fn first_snapshot_has_no_growth() {
        let rows = vec![row("s", "t", "m", 10, 0, 0, 0, 0)];
        let s = &relation_sizes(rows, &HashMap::new(), None, &HashMap::new())[0];
        assert_eq!((s.growth_bytes, s.bloat_estimated_bytes), (None, 0));
    }

    #[test]
    fn the_free_space_map_sees_space_vacuum_freed() {
        // Vacuumed: no dead tuples left, 90 % of 100 pages free.
        let rows = vec![RelationRow {
            oid: 7,
            ..row("public", "emptied", "r", 819_200, 0, 0, 1_000, 0)
        }];
        let free = HashMap::from([(
            7,
            FreeSpace {
                free_bytes: 737_280,
                pages: 100,
                block_size: 8192,
            },
        )]);
        let s = &relation_sizes(rows.clone(), &HashMap::new(), None, &free)[0];
        assert_eq!((s.fsm_free_bytes, s.fsm_free_ratio), (Some(737_280), Some(0.9)));
        assert_eq!(
            (s.bloat_estimated_bytes, s.bloat_estimate_basis),
            (737_280, "free_space_map+dead_tuples")
        );
        // Without the map the same table reads 0: the statistics-only part, labelled as such.
        let s = &relation_sizes(rows, &HashMap::new(), None, &HashMap::new())[0];
        assert_eq!(
            (s.bloat_estimated_bytes, s.bloat_estimate_basis),
            (0, "dead_tuples_only")
        );
        // Free space plus not-yet-vacuumed dead tuples never exceeds the heap.
        let f = FreeSpace {
            free_bytes: 600,
            pages: 1,
            block_size: 1000,
        };
        assert_eq!(
            bloat_estimate(1000, 50.0, Some(&f)),
            (1000, "free_space_map+dead_tuples")
        );
        assert_eq!(FreeSpace { pages: 0, ..f }.ratio(), 0.0);
    }

    #[test]
    fn fallback_ranks_like_the_batch_query() {
        let sized = |oid, total| RelationRow {
            oid,
            ..row("s", &format!("t{oid}"), "r", total, 0, 0, 0, 0)
        };
        let top = top_by_total(vec![sized(5, 10), sized(3, 30), sized(4, 30), sized(1, 20)], 3);
        let order: Vec<u32> = top.iter().map(|r| r.oid).collect();
        assert_eq!(order, [3, 4, 1]);
    }
}

//! The storage loop's collectors (spec §4, every 10 min, budget 10 s): relation and index
//! sizes with growth, unused indexes, partition horizon. Growth compares with the previous
//! snapshot this job carries. A relation whose size a lock would make the loop wait for is
//! left out and listed in `skipped_relations` with that lock.

use super::partitions::{self, PartitionedParent};
use super::relation_locks::{self, SkippedRelation, WithSkipped};
use super::sizes::{self, FreeSpaceMap, IndexSize, RelationSize, UnusedIndexes};
use super::{within, CollectSettings, LoopJob, LoopSnapshot, Section, SqlUsed};
use crate::db::capabilities::{qualified_name, quote_ident, Capabilities};
use futures::future::BoxFuture;
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Instant, SystemTime};
use tokio_postgres::Client;

#[derive(Debug, Clone, Serialize)]
pub struct StorageSnapshot {
    pub database: String,
    pub relations: Section<Vec<RelationSize>>,
    /// Whether the Top-N tables' free-space maps were read (their figures are in `relations`).
    pub free_space: Section<FreeSpaceMap>,
    pub indexes: Section<Vec<IndexSize>>,
    pub unused_indexes: Section<UnusedIndexes>,
    pub partitions: Section<Vec<PartitionedParent>>,
    /// Tables and indexes left out of the sections above this run, with the lock (or lock
    /// timeout) that kept them out; sorted by relation.
    pub skipped_relations: Vec<SkippedRelation>,
}

impl StorageSnapshot {
    /// Every section with its error, if it failed this run.
    pub fn sections(&self) -> Vec<(&'static str, Option<&super::CollectError>)> {
        vec![
            ("relations", self.relations.as_ref().err()),
            ("free_space", self.free_space.as_ref().err()),
            ("indexes", self.indexes.as_ref().err()),
            ("unused_indexes", self.unused_indexes.as_ref().err()),
            ("partitions", self.partitions.as_ref().err()),
        ]
    }

    pub fn section_errors(&self) -> Vec<(&'static str, super::CollectError)> {
        super::failed_sections(self.sections())
    }
}

pub struct StorageJob {
    settings: CollectSettings,
    previous_totals: HashMap<String, i64>,
    previous_at: Option<Instant>,
    /// The partition catalog, read again only when the catalog changes.
    partition_catalog: partitions::CatalogCache,
}

impl StorageJob {
    pub fn new(settings: CollectSettings) -> Self {
        Self {
            settings,
            previous_totals: HashMap::new(),
            previous_at: None,
            partition_catalog: partitions::CatalogCache::default(),
        }
    }

    async fn collect(
        &mut self,
        client: &Client,
        caps: &Capabilities,
        deadline: tokio::time::Instant,
    ) -> StorageSnapshot {
        let limits = &self.settings.limits;
        let (relations, index_candidates, partitions) = tokio::join!(
            within(deadline, sizes::collect_relations(client, limits.top_relations)),
            within(deadline, sizes::collect_index_candidates(client, limits.top_indexes)),
            within(
                deadline,
                partitions::collect_cached(client, caps.server_version_num, &mut self.partition_catalog)
            ),
        );
        // One read of the catalog serves both index sections (each fails with it).
        let indexes = index_candidates.clone().map(|c| WithSkipped {
            value: sizes::top_indexes(&c.value, limits.top_indexes),
            skipped: c.skipped.clone(),
        });
        let unused = index_candidates.map(|c| WithSkipped {
            value: sizes::unused_indexes(&c.value, limits.unused_index_min_bytes, limits.top_indexes),
            skipped: Vec::new(),
        });
        let mut skipped_relations = Vec::new();
        let relations = relation_locks::take_skipped(relations, &mut skipped_relations);
        let indexes = relation_locks::take_skipped(indexes, &mut skipped_relations);
        let unused = relation_locks::take_skipped(unused, &mut skipped_relations);
        skipped_relations.sort();
        skipped_relations.dedup_by(|a, b| a.relation == b.relation);
        let free_space = match &relations {
            Ok(rows) if caps.has_extension("pg_freespacemap") => {
                let tables: Vec<(u32, String)> = rows
                    .iter()
                    .map(|r| (r.oid, qualified_name(&r.schema, &r.name)))
                    .collect();
                within(deadline, sizes::collect_free_space(client, &tables)).await
            }
            Ok(_) => Ok(FreeSpaceMap::unavailable(free_space_map_missing(&caps.database))),
            Err(_) => Ok(FreeSpaceMap::unavailable(
                "the relations section failed this run".into(),
            )),
        };
        let now = Instant::now();
        let hours = self.previous_at.map(|at| now.duration_since(at).as_secs_f64() / 3600.0);
        let no_map = HashMap::new();
        let free_by_oid = free_space.as_ref().map_or(&no_map, |f| &f.by_oid);
        let relations = relations.map(|rows| {
            let sized = sizes::relation_sizes(rows, &self.previous_totals, hours, free_by_oid);
            self.previous_totals = sized.iter().map(|r| (r.relation.clone(), r.total_bytes)).collect();
            self.previous_at = Some(now);
            sized
        });
        let epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut partitions =
            partitions.map(|catalog| partitions::analyse(&catalog, epoch, limits.partition_horizon_days));
        if let Ok(parents) = &mut partitions {
            // Most urgent first, capped like every per-relation family.
            parents.sort_by(|a, b| {
                a.future_gap_seconds
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.future_gap_seconds.unwrap_or(f64::MAX))
            });
            parents.truncate(limits.top_relations as usize);
        }
        StorageSnapshot {
            database: caps.database.clone(),
            relations,
            free_space,
            indexes,
            unused_indexes: unused,
            partitions,
            skipped_relations,
        }
    }
}

/// Why there are no free-space figures, with the fix.
pub fn free_space_map_missing(database: &str) -> String {
    format!(
        "extension pg_freespacemap is not installed in database {}: CREATE EXTENSION pg_freespacemap; (the role needs pg_stat_scan_tables, part of pg_monitor). Until then bloat_estimated_bytes counts dead tuples only, and reads 0 right after a VACUUM however empty the pages are",
        quote_ident(database)
    )
}

impl LoopJob for StorageJob {
    fn run<'a>(
        &'a mut self,
        client: &'a Client,
        caps: &'a Capabilities,
        deadline: tokio::time::Instant,
    ) -> BoxFuture<'a, LoopSnapshot> {
        Box::pin(async move { LoopSnapshot::Storage(std::sync::Arc::new(self.collect(client, caps, deadline).await)) })
    }
}

pub fn sql_used() -> Vec<SqlUsed> {
    vec![
        SqlUsed {
            collector: "blocked_relations",
            sql: relation_locks::BLOCKED_RELATIONS_SQL,
        },
        SqlUsed {
            collector: "relation_sizes",
            sql: sizes::RELATION_SIZES_SQL,
        },
        SqlUsed {
            collector: "relation_candidates",
            sql: sizes::RELATION_CANDIDATES_SQL,
        },
        SqlUsed {
            collector: "relation_size",
            sql: sizes::RELATION_SIZE_SQL,
        },
        SqlUsed {
            collector: "free_space",
            sql: sizes::FREE_SPACE_SQL,
        },
        SqlUsed {
            collector: "index_sizes",
            sql: sizes::INDEX_SIZES_SQL,
        },
        SqlUsed {
            collector: "partitions",
            sql: partitions::PARTITIONS_SQL,
        },
        SqlUsed {
            collector: "partition_catalog_key",
            sql: partitions::PARTITION_CATALOG_KEY_SQL,
        },
        SqlUsed {
            collector: "inheritance",
            sql: partitions::INHERITANCE_SQL,
        },
        SqlUsed {
            collector: "server_time_zone",
            sql: partitions::SERVER_TIME_ZONE_SQL,
        },
    ]
}

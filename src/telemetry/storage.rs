//! Storage and hourly snapshots → series (spec §5 names): sizes and bloat by relation, index
//! scans and unused bytes by relation + index, partition horizon by parent, wraparound ages,
//! stale statistics, free-space maps, table and index bloat samples.

use super::{catalog, SeriesNaming};
use crate::collectors::hourly::HourlySnapshot;
use crate::collectors::storage::StorageSnapshot;
use metrics::{counter, gauge};

pub fn record_storage(n: &SeriesNaming, s: &StorageSnapshot) {
    if let Ok(relations) = &s.relations {
        for r in relations {
            let labels = n.labels(&[("relation", r.relation.clone()), ("relkind", r.relkind.clone())]);
            gauge!(n.name(&catalog::PG_RELATION_SIZE_BYTES), labels.clone()).set(r.total_bytes as f64);
            gauge!(n.name(&catalog::PG_RELATION_TABLE_BYTES), labels.clone()).set(r.table_bytes as f64);
            gauge!(n.name(&catalog::PG_RELATION_INDEX_BYTES), labels.clone()).set(r.index_bytes as f64);
            gauge!(n.name(&catalog::PG_RELATION_TOAST_BYTES), labels.clone()).set(r.toast_bytes as f64);
            gauge!(n.name(&catalog::PG_RELATION_BLOAT_ESTIMATED_BYTES), labels.clone())
                .set(r.bloat_estimated_bytes as f64);
            if let (Some(free), Some(ratio)) = (r.fsm_free_bytes, r.fsm_free_ratio) {
                gauge!(n.name(&catalog::PG_RELATION_FSM_FREE_BYTES), labels.clone()).set(free as f64);
                gauge!(n.name(&catalog::PG_RELATION_FSM_FREE_RATIO), labels).set(ratio);
            }
        }
    }
    if let Ok(indexes) = &s.indexes {
        for i in indexes {
            let labels = n.labels(&[("relation", i.relation.clone()), ("index", i.index.clone())]);
            counter!(n.name(&catalog::PG_INDEX_SCANS_TOTAL), labels).absolute(i.idx_scan.max(0) as u64);
        }
    }
    if let Ok(unused) = &s.unused_indexes {
        for i in &unused.indexes {
            let labels = n.labels(&[("relation", i.relation.clone()), ("index", i.index.clone())]);
            gauge!(n.name(&catalog::PG_UNUSED_INDEX_BYTES), labels).set(i.bytes as f64);
        }
    }
    if let Ok(parents) = &s.partitions {
        for p in parents {
            let (Some(missing), Some(gap)) = (p.missing_future, p.future_gap_seconds) else {
                continue;
            };
            let labels = n.labels(&[("parent", p.parent.clone())]);
            gauge!(n.name(&catalog::PG_PARTITION_MISSING_FUTURE), labels.clone()).set(if missing { 1.0 } else { 0.0 });
            gauge!(n.name(&catalog::PG_PARTITION_FUTURE_GAP_SECONDS), labels).set(gap);
        }
    }
}

pub fn record_hourly(n: &SeriesNaming, s: &HourlySnapshot) {
    if let Ok(w) = &s.wraparound {
        for d in &w.databases {
            gauge!(
                n.name(&catalog::PG_WRAPAROUND_DATABASE_TX_AGE),
                n.labels(&[("database", d.database.clone())])
            )
            .set(d.xid_age as f64);
        }
        for r in &w.relations {
            gauge!(
                n.name(&catalog::PG_WRAPAROUND_RELATION_TX_AGE),
                n.labels(&[("relation", r.relation.clone())])
            )
            .set(r.xid_age as f64);
        }
    }
    if let Ok(stale) = &s.stale_stats {
        for t in stale {
            gauge!(
                n.name(&catalog::PG_TABLE_STATS_STALE_SECONDS),
                n.labels(&[("relation", t.relation.clone())])
            )
            .set(t.stale_seconds);
        }
    }
    if let Ok(bloat) = &s.bloat {
        for b in &bloat.samples {
            let labels = n.labels(&[("relation", b.relation.clone())]);
            gauge!(n.name(&catalog::PG_RELATION_BLOAT_SAMPLE_FREE_BYTES), labels.clone()).set(b.free_bytes as f64);
            gauge!(n.name(&catalog::PG_RELATION_BLOAT_SAMPLE_FREE_PERCENT), labels).set(b.free_percent);
        }
        for i in &bloat.indexes {
            let labels = n.labels(&[("relation", i.relation.clone()), ("index", i.index.clone())]);
            if let Some(density) = i.avg_leaf_density {
                gauge!(
                    n.name(&catalog::PG_INDEX_BLOAT_SAMPLE_LEAF_DENSITY_PERCENT),
                    labels.clone()
                )
                .set(density);
            }
            if let Some(fragmentation) = i.leaf_fragmentation {
                gauge!(
                    n.name(&catalog::PG_INDEX_BLOAT_SAMPLE_LEAF_FRAGMENTATION_PERCENT),
                    labels
                )
                .set(fragmentation);
            }
        }
    }
}

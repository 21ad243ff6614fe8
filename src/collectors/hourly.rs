//! The hourly loop's collectors (spec §4, every hour, budget 60 s): wraparound safety, stale
//! statistics, and pgstattuple_approx bloat samples (last, since they use what budget is left).

use super::bloat::{self, BloatSamples};
use super::relation_locks;
use super::sizes;
use super::stale_stats::{self, ModificationHistory, StaleObservation};
use super::wraparound::{self, Wraparound};
use super::{within, CollectSettings, LoopJob, LoopSnapshot, Section, SqlUsed};
use crate::db::capabilities::{quote_ident, Capabilities};
use futures::future::BoxFuture;
use serde::Serialize;
use tokio_postgres::Client;

#[derive(Debug, Clone, Serialize)]
pub struct HourlySnapshot {
    pub database: String,
    pub wraparound: Section<Wraparound>,
    pub stale_stats: Section<Vec<StaleObservation>>,
    pub bloat: Section<BloatSamples>,
}

impl HourlySnapshot {
    /// Every section with its error, if it failed this run.
    pub fn sections(&self) -> Vec<(&'static str, Option<&super::CollectError>)> {
        vec![
            ("wraparound", self.wraparound.as_ref().err()),
            ("stale_stats", self.stale_stats.as_ref().err()),
            ("bloat", self.bloat.as_ref().err()),
        ]
    }

    pub fn section_errors(&self) -> Vec<(&'static str, super::CollectError)> {
        super::failed_sections(self.sections())
    }
}

pub struct HourlyJob {
    settings: CollectSettings,
    /// Each watched table's modification counter over the last hour, for stale statistics.
    modifications: ModificationHistory,
}

impl HourlyJob {
    pub fn new(settings: CollectSettings) -> Self {
        Self {
            settings,
            modifications: ModificationHistory::default(),
        }
    }

    async fn collect(
        &mut self,
        client: &Client,
        caps: &Capabilities,
        deadline: tokio::time::Instant,
    ) -> HourlySnapshot {
        let s = &self.settings;
        let (wraparound, stale_stats) = tokio::join!(
            within(deadline, wraparound::collect(client, s.limits.top_relations)),
            within(
                deadline,
                stale_stats::collect(
                    client,
                    caps.server_version_num,
                    &mut self.modifications,
                    s.limits.top_relations
                )
            ),
        );
        let bloat = if caps.has_extension("pgstattuple") {
            within(deadline, bloat::collect(client, s.limits.top_relations, deadline)).await
        } else {
            Ok(BloatSamples::unavailable(format!(
                "extension pgstattuple is not installed in database {}: CREATE EXTENSION pgstattuple; (the role needs pg_stat_scan_tables, part of pg_monitor)",
                quote_ident(&caps.database)
            )))
        };
        HourlySnapshot {
            database: caps.database.clone(),
            wraparound,
            stale_stats,
            bloat,
        }
    }
}

impl LoopJob for HourlyJob {
    fn run<'a>(
        &'a mut self,
        client: &'a Client,
        caps: &'a Capabilities,
        deadline: tokio::time::Instant,
    ) -> BoxFuture<'a, LoopSnapshot> {
        Box::pin(async move { LoopSnapshot::Hourly(std::sync::Arc::new(self.collect(client, caps, deadline).await)) })
    }
}

/// The SQL behind each hourly section, in the variant for `server_version_num`.
pub fn sql_used(server_version_num: i32) -> Vec<SqlUsed> {
    vec![
        SqlUsed {
            collector: "wraparound_databases",
            sql: wraparound::DATABASE_AGES_SQL,
        },
        SqlUsed {
            collector: "wraparound_relations",
            sql: wraparound::RELATION_AGES_SQL,
        },
        SqlUsed {
            collector: "stale_stats",
            sql: stale_stats::stale_stats_sql(server_version_num),
        },
        SqlUsed {
            collector: "blocked_relations",
            sql: relation_locks::BLOCKED_RELATIONS_SQL,
        },
        SqlUsed {
            collector: "bloat_candidates",
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
            collector: "bloat_sample",
            sql: bloat::BLOAT_SAMPLE_SQL,
        },
        SqlUsed {
            collector: "index_candidates",
            sql: bloat::INDEX_CANDIDATES_SQL,
        },
        SqlUsed {
            collector: "index_sample",
            sql: bloat::INDEX_SAMPLE_SQL,
        },
    ]
}

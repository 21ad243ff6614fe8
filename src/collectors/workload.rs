//! The workload loop's collectors (spec §4, every 60 s, budget 3 s): throughput and latency,
//! top statements, WAL, checkpoints, replication lag and vacuum freshness, all pipelined on one
//! connection. Rates come from the previous sample this job carries; whether a rate is a surge
//! is decided in `alerts::verdicts`, not here.

use super::archiver::{self, ArchiverHistory, Archiving};
use super::checkpoints::{self, CheckpointStats, CheckpointWindow};
use super::database_stats::{self, DatabaseTotals};
use super::deadlocks;
use super::freshness::{self, FreshnessFacts};
use super::replication::{self, ReplicationStatus};
use super::settings::{self, SettingsDrift, SettingsWatch};
use super::slots::{self, ReplicationSlot};
use super::stat_io::{self, IoStats};
use super::statements::{self, StatementTotals, TopStatements};
use super::wal::{self, WalCounters, WalStats};
use super::wal_dir::{self, WalDirectory};
use super::{stat_monitor, within, CollectSettings, LoopJob, LoopSnapshot, Section, SqlUsed};
use crate::db::capabilities::Capabilities;
use futures::future::BoxFuture;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Throughput {
    pub tps: Option<f64>,
    pub qps: Option<f64>,
    pub latency_mean_seconds: Option<f64>,
    /// From pg_stat_monitor's histogram when that extension is installed, else absent.
    pub latency_p95_seconds: Option<f64>,
    pub latency_p99_seconds: Option<f64>,
    pub percentiles_error: Option<String>,
    pub temp_bytes_per_second: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkloadSnapshot {
    pub database: String,
    pub throughput: Section<Throughput>,
    pub statements: Section<TopStatements>,
    pub wal: Section<WalStats>,
    pub checkpoints: Section<CheckpointStats>,
    pub replication: Section<ReplicationStatus>,
    pub freshness: Section<Vec<FreshnessFacts>>,
    /// Deadlocks and recovery conflicts per database (the `deadlocks` section).
    pub deadlocks: Section<Vec<deadlocks::DatabaseIncidents>>,
    /// Replication slots and the WAL each retains.
    pub slots: Section<Vec<ReplicationSlot>>,
    /// WAL archiving: counters, failures, segments waiting.
    pub archiving: Section<Archiving>,
    /// The size of `pg_wal` against `max_wal_size`.
    pub wal_directory: Section<WalDirectory>,
    /// Configuration drift: changes seen, settings pending a restart, file errors.
    pub settings: Section<SettingsDrift>,
    /// I/O by backend type (`pg_stat_io`, PostgreSQL 16+; unavailable before).
    pub io: Section<IoStats>,
}

impl WorkloadSnapshot {
    /// Every section with its error, if it failed this run.
    pub fn sections(&self) -> Vec<(&'static str, Option<&super::CollectError>)> {
        vec![
            ("throughput", self.throughput.as_ref().err()),
            ("statements", self.statements.as_ref().err()),
            ("wal", self.wal.as_ref().err()),
            ("checkpoints", self.checkpoints.as_ref().err()),
            ("replication", self.replication.as_ref().err()),
            ("freshness", self.freshness.as_ref().err()),
            ("deadlocks", self.deadlocks.as_ref().err()),
            ("slots", self.slots.as_ref().err()),
            ("archiving", self.archiving.as_ref().err()),
            ("wal_directory", self.wal_directory.as_ref().err()),
            ("settings", self.settings.as_ref().err()),
            ("io", self.io.as_ref().err()),
        ]
    }

    pub fn section_errors(&self) -> Vec<(&'static str, super::CollectError)> {
        super::failed_sections(self.sections())
    }
}

/// Runs a statement text stays cached after its id left the Top-N (an hour at the default
/// interval), and at most [`MAX_CACHED_TEXTS`] texts (≤ 4 KiB each) are kept.
const TEXT_KEPT_RUNS: u64 = 60;
const MAX_CACHED_TEXTS: usize = 1000;

/// What the workload loop carries between ticks.
pub struct WorkloadJob {
    settings: CollectSettings,
    previous_database: Option<(DatabaseTotals, Instant)>,
    previous_statements: Option<(StatementTotals, Instant)>,
    previous_wal: Option<(WalCounters, Instant)>,
    checkpoint_window: CheckpointWindow,
    /// Per table, the fewest dead tuples seen since its last vacuum: "rising" for the
    /// starvation heuristic means above this, not merely above the previous minute.
    dead_baseline: HashMap<String, i64>,
    /// The tables freshness ranks, read again when the catalog changes.
    freshness_tables: freshness::TableList,
    vacuum_hours: HashMap<String, Option<f64>>,
    /// Per Top-N queryid, its text as it may be shown (or why not): read once per id, and kept
    /// for [`TEXT_KEPT_RUNS`] runs after the id left the Top-N, so an id hovering at rank N
    /// does not reload pg_stat_statements' whole text file (27 ms on 19k entries) every run.
    query_texts: HashMap<i64, Result<String, statements::Redacted>>,
    /// The run at which each cached text's id was last in the Top-N.
    query_text_seen: HashMap<i64, u64>,
    runs: u64,
    /// Each database's deadlock and conflict counters at the previous run.
    previous_deadlocks: deadlocks::Previous,
    /// The archiver's failure counter at the previous run, and since when it is failing.
    archiver_history: ArchiverHistory,
    /// The settings at the previous read, the change history and pending-restart timers.
    settings_watch: SettingsWatch,
    /// I/O totals per backend type at the previous run, for rates.
    previous_io: Option<(stat_io::Totals, Instant)>,
}

impl WorkloadJob {
    pub fn new(settings: CollectSettings) -> Self {
        Self {
            settings,
            previous_database: None,
            previous_statements: None,
            previous_wal: None,
            checkpoint_window: CheckpointWindow::default(),
            dead_baseline: HashMap::new(),
            freshness_tables: freshness::TableList::default(),
            vacuum_hours: HashMap::new(),
            query_texts: HashMap::new(),
            query_text_seen: HashMap::new(),
            runs: 0,
            previous_deadlocks: deadlocks::Previous::new(),
            archiver_history: ArchiverHistory::default(),
            settings_watch: SettingsWatch::default(),
            previous_io: None,
        }
    }

    async fn collect(
        &mut self,
        client: &Client,
        caps: &Capabilities,
        deadline: tokio::time::Instant,
    ) -> WorkloadSnapshot {
        let settings = self.settings.clone();
        let version = caps.server_version_num;
        let statements_usable = caps.pg_stat_statements_usable();
        let pgss_version = caps.pg_stat_statements_version();
        let statements_query = async {
            match &statements_usable {
                Ok(()) => statements::collect(client, pgss_version, settings.limits.top_queries).await,
                Err(_) => Ok(None),
            }
        };
        let percentiles_query = async {
            if caps.has_extension("pg_stat_monitor") {
                Some(
                    within(
                        deadline,
                        stat_monitor::collect(client, settings.workload_interval.as_secs_f64()),
                    )
                    .await,
                )
            } else {
                None
            }
        };
        let (
            database,
            statements_sample,
            wal_counters,
            checkpoint_counters,
            replication,
            freshness_rows,
            deadlock_rows,
            percentiles,
            slots,
            archiver_row,
            wal_directory,
            settings_drift,
            io_rows,
        ) = tokio::join!(
            within(deadline, database_stats::collect(client)),
            within(deadline, statements_query),
            within(deadline, wal::collect(client, version)),
            within(deadline, checkpoints::collect(client, version)),
            within(deadline, replication::collect(client)),
            within(
                deadline,
                freshness::collect(
                    client,
                    version,
                    &mut self.freshness_tables,
                    settings.limits.top_relations
                )
            ),
            within(deadline, deadlocks::collect(client)),
            percentiles_query,
            within(deadline, slots::collect(client, version)),
            within(deadline, archiver::collect(client, caps.may_list_archive_status)),
            within(deadline, wal_dir::collect(client, caps.may_list_wal_dir, &caps.role)),
            within(
                deadline,
                settings::collect(client, &mut self.settings_watch, &caps.role)
            ),
            async {
                if version >= 160000 {
                    within(deadline, stat_io::collect(client)).await.map(Some)
                } else {
                    Ok(None)
                }
            },
        );
        let now = Instant::now();
        let since = |at: Instant| now.duration_since(at).as_secs_f64();

        // Statements: numbers, then text for new Top-N ids only, kept only as it may be shown.
        let mut qps_latency = (None, None);
        let redact = settings.redact_sql_text;
        let statements = match statements_sample {
            Ok(Some(sample)) => {
                if let Some((prev, at)) = &self.previous_statements {
                    qps_latency = statements::qps_and_mean_latency(Some(prev), &sample.totals, since(*at));
                }
                self.previous_statements = Some((sample.totals, now));
                let missing: Vec<i64> = sample
                    .top
                    .iter()
                    .map(|r| r.queryid)
                    .filter(|id| !self.query_texts.contains_key(id))
                    .collect();
                if let Ok(texts) = within(deadline, statements::collect_texts(client, &missing)).await {
                    self.query_texts.extend(statements::texts_to_show(texts, redact));
                }
                self.runs += 1;
                for r in &sample.top {
                    self.query_text_seen.insert(r.queryid, self.runs);
                }
                let runs = self.runs;
                self.query_text_seen.retain(|_, seen| runs - *seen < TEXT_KEPT_RUNS);
                if self.query_text_seen.len() > MAX_CACHED_TEXTS {
                    // Churning ids: keep the most recently seen (the current Top-N first).
                    let mut by_age: Vec<u64> = self.query_text_seen.values().copied().collect();
                    by_age.sort_unstable_by(|a, b| b.cmp(a));
                    let oldest_kept = by_age[MAX_CACHED_TEXTS - 1];
                    self.query_text_seen.retain(|_, seen| *seen >= oldest_kept);
                }
                let seen = &self.query_text_seen;
                self.query_texts.retain(|id, _| seen.contains_key(id));
                Ok(statements::top_statements(
                    &sample,
                    &self.query_texts,
                    settings.limits.top_queries,
                    redact,
                ))
            }
            Ok(None) => {
                self.previous_statements = None;
                Ok(TopStatements::unavailable(
                    statements_usable.clone().err().unwrap_or_else(|| {
                        "pg_stat_statements is installed but not preloaded: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; then restart PostgreSQL".into()
                    }),
                    redact,
                ))
            }
            Err(e) => Err(e),
        };

        let throughput = database.map(|totals| {
            let rates = database_stats::rates(
                self.previous_database.as_ref().map(|(t, _)| t),
                &totals,
                self.previous_database.as_ref().map_or(0.0, |(_, at)| since(*at)),
            );
            self.previous_database = Some((totals, now));
            let (p95, p99, percentiles_error) = match percentiles {
                Some(Ok((p95, p99))) => (p95, p99, None),
                Some(Err(e)) => (None, None, Some(e.to_string())),
                None => (None, None, None),
            };
            Throughput {
                tps: rates.tps,
                qps: qps_latency.0,
                latency_mean_seconds: qps_latency.1,
                latency_p95_seconds: p95,
                latency_p99_seconds: p99,
                percentiles_error,
                temp_bytes_per_second: rates.temp_bytes_per_second,
            }
        });

        let wal = wal_counters.map(|current| {
            let stats = wal::stats(
                self.previous_wal.as_ref().map(|(w, _)| w),
                &current,
                self.previous_wal.as_ref().map_or(0.0, |(_, at)| since(*at)),
            );
            self.previous_wal = Some((current, now));
            stats
        });
        let checkpoints = checkpoint_counters.map(|c| self.checkpoint_window.observe(c));
        let freshness = freshness_rows.map(|rows| {
            let tables = freshness::assess(&rows, &self.dead_baseline);
            self.dead_baseline = tables
                .iter()
                .map(|t| {
                    let vacuumed = match (self.vacuum_hours.get(&t.relation), t.hours_since_vacuum) {
                        (Some(Some(before)), Some(now)) => now < *before,
                        (Some(None), Some(_)) => true,
                        _ => false,
                    };
                    let baseline = match self.dead_baseline.get(&t.relation) {
                        Some(b) if !vacuumed => (*b).min(t.dead_tuples),
                        _ => t.dead_tuples,
                    };
                    (t.relation.clone(), baseline)
                })
                .collect();
            self.vacuum_hours = tables
                .iter()
                .map(|t| (t.relation.clone(), t.hours_since_vacuum))
                .collect();
            tables
        });

        let deadlocks = deadlock_rows.map(|rows| {
            let incidents = deadlocks::assess(&rows, &self.previous_deadlocks);
            self.previous_deadlocks = rows.into_iter().map(|r| (r.database.clone(), r)).collect();
            incidents
        });

        let archiving = archiver_row.map(|row| archiver::observe(&row, &mut self.archiver_history));
        let io = io_rows.map(|rows| match rows {
            Some(rows) => {
                let by_backend = stat_io::by_backend(
                    &rows,
                    self.previous_io.as_ref().map(|(t, _)| t),
                    self.previous_io.as_ref().map_or(0.0, |(_, at)| since(*at)),
                );
                self.previous_io = Some((stat_io::totals(&rows), now));
                IoStats {
                    available: true,
                    unavailable_reason: None,
                    by_backend,
                    rows,
                }
            }
            None => IoStats::unavailable(version),
        });

        WorkloadSnapshot {
            database: caps.database.clone(),
            throughput,
            statements,
            wal,
            checkpoints,
            replication,
            freshness,
            deadlocks,
            slots,
            archiving,
            wal_directory,
            settings: settings_drift,
            io,
        }
    }
}

impl LoopJob for WorkloadJob {
    fn run<'a>(
        &'a mut self,
        client: &'a Client,
        caps: &'a Capabilities,
        deadline: tokio::time::Instant,
    ) -> BoxFuture<'a, LoopSnapshot> {
        Box::pin(async move { LoopSnapshot::Workload(std::sync::Arc::new(self.collect(client, caps, deadline).await)) })
    }
}

/// The SQL behind each workload section, as run against this server.
pub fn sql_used(caps: Option<&Capabilities>) -> Vec<SqlUsed> {
    let version = caps.map_or(170000, |c| c.server_version_num);
    let pgss = caps.and_then(|c| c.pg_stat_statements_version()).or(Some((1, 10)));
    let mut sql = vec![
        SqlUsed {
            collector: "database_totals",
            sql: database_stats::DATABASE_TOTALS_SQL,
        },
        SqlUsed {
            collector: "statements",
            sql: statements::statements_sql(pgss),
        },
        SqlUsed {
            collector: "statement_text",
            sql: statements::STATEMENT_TEXT_SQL,
        },
        SqlUsed {
            collector: "wal",
            sql: wal::wal_sql(version),
        },
        SqlUsed {
            collector: "checkpoints",
            sql: checkpoints::checkpoints_sql(version),
        },
        SqlUsed {
            collector: "replicas",
            sql: replication::REPLICAS_SQL,
        },
        SqlUsed {
            collector: "standby",
            sql: replication::STANDBY_SQL,
        },
        SqlUsed {
            collector: "freshness",
            sql: freshness::FRESHNESS_SQL,
        },
        SqlUsed {
            collector: "freshness_tables",
            sql: freshness::TABLE_LIST_SQL,
        },
        SqlUsed {
            collector: "freshness_tables_key",
            sql: freshness::TABLE_LIST_KEY_SQL,
        },
        SqlUsed {
            collector: "deadlocks",
            sql: deadlocks::DEADLOCKS_SQL,
        },
        SqlUsed {
            collector: "slots",
            sql: slots::slots_sql(version),
        },
        SqlUsed {
            collector: "archiving",
            sql: archiver::archiver_sql(caps.is_none_or(|c| c.may_list_archive_status)),
        },
        SqlUsed {
            collector: "settings_fingerprint",
            sql: settings::SETTINGS_FINGERPRINT_SQL,
        },
        SqlUsed {
            collector: "settings",
            sql: settings::SETTINGS_SQL,
        },
        SqlUsed {
            collector: "file_settings",
            sql: settings::FILE_SETTINGS_SQL,
        },
        SqlUsed {
            collector: "wal_directory",
            sql: if caps.is_none_or(|c| c.may_list_wal_dir) {
                wal_dir::WAL_DIR_SQL
            } else {
                wal_dir::MAX_WAL_SIZE_SQL
            },
        },
    ];
    if version >= 160000 {
        sql.push(SqlUsed {
            collector: "io",
            sql: stat_io::STAT_IO_SQL,
        });
    }
    if caps.is_some_and(|c| c.has_extension("pg_stat_monitor")) {
        sql.push(SqlUsed {
            collector: "latency_histogram_settings",
            sql: stat_monitor::HISTOGRAM_SETTINGS_SQL,
        });
        sql.push(SqlUsed {
            collector: "latency_histogram",
            sql: stat_monitor::HISTOGRAM_COUNTS_SQL,
        });
    }
    sql
}

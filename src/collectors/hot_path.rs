//! The hot-path loop's collectors (spec §4, every 15 s, budget 1 s): the canary round trip
//! first (so it measures the server, not our own queue), then connections, open transactions,
//! lock waits, vacuum progress and temp spill pipelined on one connection. Each section has its
//! own result: one failing query never blanks the others.

use super::{
    autovacuum, blocking, canary, connections, temp, transactions, within, CollectSettings, LoopJob, LoopSnapshot,
    Section, SqlUsed,
};
use crate::db::capabilities::Capabilities;
use futures::future::BoxFuture;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;
use tokio_postgres::Client;

#[derive(Debug, Clone, Serialize)]
pub struct HotPathSnapshot {
    /// The database the agent is connected to: the `db` label of cluster-wide series.
    pub database: String,
    pub connections: Section<connections::ConnectionStats>,
    pub transactions: Section<transactions::LongTransactions>,
    pub blocking: Section<blocking::BlockingSummary>,
    pub autovacuum: Section<autovacuum::AutovacuumSummary>,
    pub temp: Section<Vec<temp::TempSpill>>,
    pub canary: Section<canary::CanaryResult>,
}

impl HotPathSnapshot {
    /// Every section with its error, if it failed this run.
    pub fn sections(&self) -> Vec<(&'static str, Option<&super::CollectError>)> {
        vec![
            ("connections", self.connections.as_ref().err()),
            ("transactions", self.transactions.as_ref().err()),
            ("blocking", self.blocking.as_ref().err()),
            ("autovacuum", self.autovacuum.as_ref().err()),
            ("temp", self.temp.as_ref().err()),
            ("canary", self.canary.as_ref().err()),
        ]
    }

    pub fn section_errors(&self) -> Vec<(&'static str, super::CollectError)> {
        super::failed_sections(self.sections())
    }
}

/// The hot path's state between ticks: the previous temp counters (for rates) and the lock
/// waits already counted.
pub struct HotPathJob {
    settings: CollectSettings,
    previous_temp: HashMap<String, temp::TempCounters>,
    previous_temp_at: Option<Instant>,
    episodes: blocking::EpisodeTracker,
}

impl HotPathJob {
    pub fn new(settings: CollectSettings) -> Self {
        Self {
            settings,
            previous_temp: HashMap::new(),
            previous_temp_at: None,
            episodes: blocking::EpisodeTracker::default(),
        }
    }

    async fn collect(
        &mut self,
        client: &Client,
        caps: &Capabilities,
        deadline: tokio::time::Instant,
    ) -> HotPathSnapshot {
        let settings = self.settings.clone();
        let with_text = !settings.redact_sql_text;
        let limits = &settings.limits;

        let canary = within(
            deadline,
            canary::collect(client, settings.canary_explain_query.as_deref()),
        )
        .await;
        let (connections, transactions, blocked, autovacuum, temp_counters) = tokio::join!(
            within(deadline, connections::collect(client)),
            within(deadline, transactions::collect(client, with_text, limits.top_sessions)),
            within(deadline, blocking::collect_blocked(client, caps.server_version_num)),
            within(deadline, autovacuum::collect(client)),
            within(deadline, temp::collect(client)),
        );

        let blocking = match blocked {
            Ok(blocked) => {
                let pairs = if blocked.is_empty() {
                    Ok(Vec::new())
                } else {
                    within(
                        deadline,
                        blocking::collect_pairs(client, with_text, limits.blocking_events),
                    )
                    .await
                };
                let episodes = self.episodes.observe(&blocked);
                pairs.map(|pairs| blocking::summarize(&blocked, pairs, episodes))
            }
            Err(e) => Err(e),
        };

        let now = Instant::now();
        let temp = temp_counters.map(|current| {
            let elapsed = self.previous_temp_at.map(|at| now.duration_since(at).as_secs_f64());
            let spills = temp::with_rates(&current, &self.previous_temp, elapsed);
            self.previous_temp = current.into_iter().map(|c| (c.database.clone(), c)).collect();
            self.previous_temp_at = Some(now);
            spills
        });

        HotPathSnapshot {
            database: caps.database.clone(),
            connections,
            transactions,
            blocking,
            autovacuum,
            temp,
            canary,
        }
    }
}

impl LoopJob for HotPathJob {
    fn run<'a>(
        &'a mut self,
        client: &'a Client,
        caps: &'a Capabilities,
        deadline: tokio::time::Instant,
    ) -> BoxFuture<'a, LoopSnapshot> {
        Box::pin(async move { LoopSnapshot::HotPath(std::sync::Arc::new(self.collect(client, caps, deadline).await)) })
    }
}

/// The SQL behind each hot-path section, as run against a server of this version.
pub fn sql_used(server_version_num: i32) -> Vec<SqlUsed> {
    vec![
        SqlUsed {
            collector: "canary",
            sql: canary::CANARY_SQL,
        },
        SqlUsed {
            collector: "connections",
            sql: connections::CONNECTIONS_SQL,
        },
        SqlUsed {
            collector: "transactions",
            sql: transactions::LONG_TRANSACTIONS_SQL,
        },
        SqlUsed {
            collector: "blocked_sessions",
            sql: blocking::blocked_sessions_sql(server_version_num),
        },
        SqlUsed {
            collector: "blocking_pairs",
            sql: blocking::BLOCKING_PAIRS_SQL,
        },
        SqlUsed {
            collector: "autovacuum",
            sql: autovacuum::VACUUM_PROGRESS_SQL,
        },
        SqlUsed {
            collector: "temp",
            sql: temp::TEMP_SPILL_SQL,
        },
    ]
}

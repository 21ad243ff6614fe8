//! Stale planner statistics as spec §6 defines them: a table **changed in the last hour** whose
//! last (auto)analyze is **older than `stats_stale_warn_hours`**, where the change matters to the
//! planner: at least the table's own autoanalyze trigger
//! (`autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × reltuples`, per-table
//! reloptions first), rows modified since the last analyze. An empty table never qualifies.
//!
//! "Changed in the last hour" comes from the samples this loop keeps ([`ModificationHistory`]):
//! `pg_stat_get_mod_since_analyze` grew since the sample taken an hour ago (or the oldest one,
//! while the agent has watched for less). The first run after start has nothing to compare with
//! and flags nothing, so a restart, like a statistics reset, raises no storm.
//!
//! Without a recorded analyze (never analyzed, or forgotten by `pg_stat_reset()`), a table ages
//! from when this agent first saw it modified, or from the statistics reset / server start if
//! that is later: a lower bound of its real age. It is `never_analyzed` only when `pg_class`
//! shows no planner statistics either (`reltuples = -1` from PostgreSQL 14,
//! `reltuples = 0 AND relpages = 0` before).
//!
//! Every run reads the Top-N stalest modified tables (those past their trigger first), so
//! `pg_table_stats_stale_seconds` trends before an alert fires.

use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use tokio_postgres::Client;

/// The query, with the version's planner-statistics test spliced in. Ranks on statistics
/// functions over `pg_class` (the pg_stat_user_tables view calls some twenty per table).
macro_rules! stale_stats_sql {
    ($has_planner_stats:literal) => {
        concat!(
            "\
SELECT t.schema, t.name, t.relid, t.n_mod_since_analyze, t.n_live_tup,
       EXTRACT(EPOCH FROM (now() - t.last_analyzed))::float8 AS analyze_age,
       EXTRACT(EPOCH FROM (now() - o.since))::float8 AS observed_seconds,
       EXTRACT(EPOCH FROM now())::float8 AS now_epoch,
       t.has_planner_stats,
       t.analyze_trigger
  FROM (SELECT c.oid::int8 AS relid,
               n.nspname::text AS schema,
               c.relname::text AS name,
               pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze,
               pg_stat_get_live_tuples(c.oid) AS n_live_tup,
               GREATEST(pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid)) AS last_analyzed,
               ",
            $has_planner_stats,
            " AS has_planner_stats,
               -- autovacuum's own trigger for this table: reloptions first, then the settings
               (COALESCE(ro.threshold, current_setting('autovacuum_analyze_threshold')::float8)
                + COALESCE(ro.scale_factor, current_setting('autovacuum_analyze_scale_factor')::float8)
                  * GREATEST(c.reltuples, 0))::float8 AS analyze_trigger
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN LATERAL (
                SELECT (max(option_value) FILTER (WHERE option_name = 'autovacuum_analyze_threshold'))::float8 AS threshold,
                       (max(option_value) FILTER (WHERE option_name = 'autovacuum_analyze_scale_factor'))::float8 AS scale_factor
                  FROM pg_options_to_table(c.reloptions)) ro ON true
         WHERE c.relkind IN ('r', 'm')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname !~ '^pg_toast'
           AND pg_stat_get_mod_since_analyze(c.oid) > 0) t
 CROSS JOIN (SELECT GREATEST(stats_reset, pg_postmaster_start_time()) AS since
               FROM pg_stat_database WHERE datname = current_database()) o
 -- past their trigger first, then the oldest analyze (or start of watching) first
 ORDER BY t.n_mod_since_analyze >= t.analyze_trigger DESC, COALESCE(t.last_analyzed, o.since), t.relid
 LIMIT $1"
        )
    };
}

/// PostgreSQL 14+: `reltuples` is -1 until the first VACUUM, ANALYZE or CREATE INDEX.
pub const STALE_STATS_SQL_14: &str = stale_stats_sql!("c.reltuples >= 0");

/// PostgreSQL 12–13: `reltuples` is 0 before the first VACUUM, ANALYZE or CREATE INDEX (and
/// for an empty table after one); `relpages > 0` tells a table that has data.
pub const STALE_STATS_SQL_12: &str = stale_stats_sql!("(c.reltuples > 0 OR c.relpages > 0)");

pub fn stale_stats_sql(server_version_num: i32) -> &'static str {
    if server_version_num >= 140000 {
        STALE_STATS_SQL_14
    } else {
        STALE_STATS_SQL_12
    }
}

/// How far back "changed in the last hour" looks (spec §6).
pub const CHANGE_WINDOW_SECONDS: f64 = 3600.0;

/// Samples kept per table: enough for an hour at a one-minute interval; with shorter intervals
/// the oldest (the hour's baseline) is kept and the ones after it thinned.
const MAX_SAMPLES: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub struct StaleRow {
    pub relid: i64,
    pub schema: String,
    pub name: String,
    pub modified_since_analyze: i64,
    pub live_tuples: i64,
    /// Seconds since the last (auto)analyze; `None` when none is recorded.
    pub analyze_age: Option<f64>,
    /// Seconds since the later of the statistics reset and the server start.
    pub observed_seconds: f64,
    /// The server's clock at the query, seconds since the epoch.
    pub now_epoch: f64,
    pub has_planner_stats: bool,
    /// Modifications at which autoanalyze would analyze the table.
    pub analyze_trigger: f64,
}

/// One table's staleness facts this run; whether they make it stale (against
/// `alerts.stats_stale_*_hours`) is decided in `alerts::verdicts::stale_stats`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StaleObservation {
    pub relation: String,
    pub modified_since_analyze: i64,
    /// Rows modified in the last hour (since the agent's sample an hour ago, or its oldest while
    /// it has watched for less); `null` until the agent has a sample to compare with.
    pub modified_last_hour: Option<i64>,
    /// Modifications at which autoanalyze analyzes this table (its reloptions, else the
    /// `autovacuum_analyze_*` settings): the bar for "significant to the planner".
    pub analyze_trigger: f64,
    pub live_tuples: i64,
    /// Seconds since the last (auto)analyze; without a recorded analyze, since the agent first
    /// saw the table modified (or the statistics reset, if later): a lower bound.
    pub stale_seconds: f64,
    /// `stale_seconds` is that lower bound: no analyze is recorded.
    pub stale_seconds_lower_bound: bool,
    /// No analyze recorded and no planner statistics in `pg_class` either.
    pub never_analyzed: bool,
    pub fix: String,
}

#[derive(Debug, Default)]
struct TableSamples {
    /// (server epoch, modifications since analyze), oldest first.
    samples: VecDeque<(f64, i64)>,
    /// When the agent first saw the table modified with no analyze recorded.
    first_seen_unanalyzed: Option<f64>,
}

/// What the samples say about one table this run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub modified_last_hour: Option<i64>,
    pub first_seen_unanalyzed: Option<f64>,
}

/// The modification counters of the tables the loop read, by OID, kept between runs. Bounded:
/// a table not read this run is forgotten, and each keeps at most [`MAX_SAMPLES`] samples.
#[derive(Debug, Default)]
pub struct ModificationHistory {
    tables: HashMap<i64, TableSamples>,
}

impl ModificationHistory {
    /// Records this run's rows; returns each row's observation, in order.
    pub fn observe(&mut self, rows: &[StaleRow]) -> Vec<Observation> {
        let mut kept: HashMap<i64, TableSamples> = HashMap::with_capacity(rows.len());
        let observations = rows
            .iter()
            .map(|r| {
                let mut t = self.tables.remove(&r.relid).unwrap_or_default();
                let now = r.now_epoch;
                let window_start = now - CHANGE_WINDOW_SECONDS;
                // The newest sample at or before the window start, else the oldest one.
                let reference = t
                    .samples
                    .iter()
                    .rev()
                    .find(|(at, _)| *at <= window_start)
                    .or(t.samples.front())
                    .map(|(_, n)| *n);
                let modified_last_hour = reference.map(|previous| {
                    if r.modified_since_analyze >= previous {
                        r.modified_since_analyze - previous
                    } else {
                        // The counter went back to 0 (an analyze, a statistics reset) and grew.
                        r.modified_since_analyze
                    }
                });
                t.samples.push_back((now, r.modified_since_analyze));
                while t.samples.len() >= 2 && t.samples[1].0 <= window_start {
                    t.samples.pop_front();
                }
                if t.samples.len() > MAX_SAMPLES {
                    t.samples.remove(1);
                }
                t.first_seen_unanalyzed = match r.analyze_age {
                    Some(_) => None,
                    None => Some(t.first_seen_unanalyzed.unwrap_or(now)),
                };
                let observation = Observation {
                    modified_last_hour,
                    first_seen_unanalyzed: t.first_seen_unanalyzed,
                };
                kept.insert(r.relid, t);
                observation
            })
            .collect();
        self.tables = kept;
        observations
    }
}

/// One row's facts, given what its samples say.
pub fn observation(row: &StaleRow, seen: Observation) -> StaleObservation {
    let stale_seconds = match row.analyze_age {
        Some(age) => age,
        None => {
            let watched = seen
                .first_seen_unanalyzed
                .map_or(0.0, |first| (row.now_epoch - first).max(0.0));
            watched.min(row.observed_seconds)
        }
    };
    let relation = crate::db::capabilities::qualified_name(&row.schema, &row.name);
    StaleObservation {
        fix: format!("ANALYZE {relation};"),
        relation,
        modified_since_analyze: row.modified_since_analyze,
        modified_last_hour: seen.modified_last_hour,
        analyze_trigger: row.analyze_trigger,
        live_tuples: row.live_tuples,
        stale_seconds,
        stale_seconds_lower_bound: row.analyze_age.is_none(),
        never_analyzed: row.analyze_age.is_none() && !row.has_planner_stats,
    }
}

/// Every row's facts against the history (which it updates), stalest first.
pub fn observe_all(rows: &[StaleRow], history: &mut ModificationHistory) -> Vec<StaleObservation> {
    let seen = history.observe(rows);
    let mut stalest: Vec<StaleObservation> = rows.iter().zip(seen).map(|(r, s)| observation(r, s)).collect();
    stalest.sort_by(|a, b| b.stale_seconds.total_cmp(&a.stale_seconds));
    stalest
}

pub async fn collect(
    client: &Client,
    server_version_num: i32,
    history: &mut ModificationHistory,
    limit: u32,
) -> Result<Vec<StaleObservation>, tokio_postgres::Error> {
    let rows = client
        .query(stale_stats_sql(server_version_num), &[&i64::from(limit)])
        .await?;
    let rows = rows
        .iter()
        .map(|r| {
            Ok(StaleRow {
                relid: r.try_get("relid")?,
                schema: r.try_get("schema")?,
                name: r.try_get("name")?,
                modified_since_analyze: r.try_get("n_mod_since_analyze")?,
                live_tuples: r.try_get("n_live_tup")?,
                analyze_age: r.try_get("analyze_age")?,
                observed_seconds: r.try_get("observed_seconds")?,
                now_epoch: r.try_get("now_epoch")?,
                has_planner_stats: r.try_get("has_planner_stats")?,
                analyze_trigger: r.try_get("analyze_trigger")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(observe_all(&rows, history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::verdicts::{self, StaleTable};
    use crate::alerts::Severity;
    use crate::config::AlertThresholds;

    /// The collector's facts judged as the API and the alert rule judge them, at 12 h / 24 h.
    fn judge(rows: &[StaleRow], history: &mut ModificationHistory, warn: u64, crit: u64) -> verdicts::StaleStats {
        let thresholds = AlertThresholds {
            stats_stale_warn_hours: warn,
            stats_stale_crit_hours: crit,
            ..AlertThresholds::default()
        };
        verdicts::stale_stats(&observe_all(rows, history), &thresholds)
    }

    const HOUR: f64 = 3600.0;
    const T0: f64 = 1_800_000_000.0;

    /// `orders`: 10,000 rows, trigger 1,050, analyzed `analyze_hours` ago (or never), `modified`
    /// rows changed since, sampled at `at`.
    fn row(at: f64, modified: i64, analyze_hours: Option<f64>) -> StaleRow {
        StaleRow {
            relid: 16384,
            schema: "public".into(),
            name: "orders".into(),
            modified_since_analyze: modified,
            live_tuples: 10_000,
            analyze_age: analyze_hours.map(|h| h * HOUR + (at - T0)),
            observed_seconds: 100.0 * HOUR,
            now_epoch: at,
            has_planner_stats: true,
            analyze_trigger: 1_050.0,
        }
    }

    fn run(history: &mut ModificationHistory, r: StaleRow) -> StaleTable {
        let mut out = judge(&[r], history, 12, 24);
        out.stalest.pop().expect("listed")
    }

    #[test]
    fn the_first_run_has_no_baseline_and_flags_nothing() {
        let mut h = ModificationHistory::default();
        let t = run(&mut h, row(T0, 5_000, Some(30.0)));
        assert_eq!((t.facts.modified_last_hour, t.severity), (None, None));
        assert!(t.verdict.contains("not yet known"), "{}", t.verdict);
    }

    #[test]
    fn growth_in_the_last_hour_past_the_trigger_on_an_old_analyze_is_stale() {
        let mut h = ModificationHistory::default();
        run(&mut h, row(T0, 5_000, Some(13.0)));
        let t = run(&mut h, row(T0 + HOUR, 6_200, Some(13.0)));
        assert_eq!(
            (t.facts.modified_last_hour, t.severity),
            (Some(1_200), Some(Severity::Warn))
        );
        assert_eq!(t.facts.fix, "ANALYZE public.orders;");
        assert!(t
            .verdict
            .contains("6200 rows modified since the last analyze (trigger 1050), 1200 in the last hour"));
        let t = run(&mut h, row(T0 + 12.0 * HOUR, 7_000, Some(13.0)));
        assert_eq!(t.severity, Some(Severity::Crit), "{}", t.verdict);
    }

    #[test]
    fn unchanged_below_trigger_recent_or_empty_is_not_stale() {
        // No change in the last hour.
        let mut h = ModificationHistory::default();
        run(&mut h, row(T0, 5_000, Some(30.0)));
        let t = run(&mut h, row(T0 + HOUR, 5_000, Some(30.0)));
        assert_eq!((t.facts.modified_last_hour, t.severity), (Some(0), None));
        // One changed row in ten million is not stale statistics.
        let mut h = ModificationHistory::default();
        let big = |at, m| StaleRow {
            live_tuples: 10_000_000,
            analyze_trigger: 1_000_050.0,
            ..row(at, m, Some(30.0))
        };
        run(&mut h, big(T0, 1));
        assert_eq!(run(&mut h, big(T0 + HOUR, 2)).severity, None);
        // Analyzed 2 hours ago.
        let mut h = ModificationHistory::default();
        run(&mut h, row(T0, 2_000, Some(2.0)));
        assert_eq!(run(&mut h, row(T0 + HOUR, 4_000, Some(2.0))).severity, None);
        // Empty.
        let mut h = ModificationHistory::default();
        let empty = |at, m| StaleRow {
            live_tuples: 0,
            ..row(at, m, Some(30.0))
        };
        run(&mut h, empty(T0, 2_000));
        let t = run(&mut h, empty(T0 + HOUR, 4_000));
        assert_eq!(t.severity, None);
        assert!(t.verdict.contains("empty"));
    }

    #[test]
    fn the_last_hour_compares_with_the_sample_an_hour_old() {
        let mut h = ModificationHistory::default();
        // Samples every 10 minutes: growth stops after 30 minutes.
        for (i, m) in [1_000, 2_000, 3_000, 4_000, 4_000, 4_000, 4_000]
            .into_iter()
            .enumerate()
        {
            run(&mut h, row(T0 + i as f64 * 600.0, m, Some(30.0)));
        }
        // At 70 min the hour-old reference is the 10-min sample (2,000): grew by 2,000.
        let t = run(&mut h, row(T0 + 4_200.0, 4_000, Some(30.0)));
        assert_eq!(t.facts.modified_last_hour, Some(2_000));
        // At 100 min the reference is the 40-min sample (4,000): no change in the last hour.
        run(&mut h, row(T0 + 4_800.0, 4_000, Some(30.0)));
        let t = run(&mut h, row(T0 + 6_000.0, 4_000, Some(30.0)));
        assert_eq!((t.facts.modified_last_hour, t.severity), (Some(0), None));
    }

    #[test]
    fn a_counter_that_went_back_counts_what_it_grew_since() {
        let mut h = ModificationHistory::default();
        run(&mut h, row(T0, 5_000, Some(30.0)));
        let t = run(&mut h, row(T0 + HOUR, 1_500, None));
        assert_eq!(t.facts.modified_last_hour, Some(1_500));
    }

    #[test]
    fn samples_stay_bounded_and_unlisted_tables_are_forgotten() {
        let mut h = ModificationHistory::default();
        for i in 0..1_000 {
            run(&mut h, row(T0 + i as f64, i, Some(30.0)));
        }
        let t = &h.tables[&16384];
        assert!(t.samples.len() <= MAX_SAMPLES);
        assert_eq!(t.samples.front().map(|s| s.1), Some(0), "the baseline is kept");
        judge(&[], &mut h, 12, 24);
        assert!(h.tables.is_empty());
    }

    #[test]
    fn without_an_analyze_a_table_ages_from_when_it_was_first_seen_modified() {
        let mut h = ModificationHistory::default();
        let unanalyzed = |at, m| StaleRow {
            has_planner_stats: false,
            ..row(at, m, None)
        };
        let t = run(&mut h, unanalyzed(T0, 2_000));
        assert_eq!(
            (
                t.facts.stale_seconds,
                t.facts.never_analyzed,
                t.facts.stale_seconds_lower_bound
            ),
            (0.0, true, true)
        );
        let t = run(&mut h, unanalyzed(T0 + HOUR, 4_000));
        assert_eq!(
            (t.facts.stale_seconds, t.severity),
            (HOUR, None),
            "new tables do not go straight to critical"
        );
        let t = run(&mut h, unanalyzed(T0 + 13.0 * HOUR, 9_000));
        assert_eq!((t.facts.stale_seconds, t.severity), (13.0 * HOUR, Some(Severity::Warn)));
        // A statistics reset later than the first sighting bounds the age.
        let reset = StaleRow {
            observed_seconds: 0.5 * HOUR,
            ..unanalyzed(T0 + 14.0 * HOUR, 9_500)
        };
        let t = run(&mut h, reset);
        assert_eq!((t.facts.stale_seconds, t.severity), (0.5 * HOUR, None));
    }

    #[test]
    fn stale_tables_come_worst_first_and_all_are_listed() {
        let mut h = ModificationHistory::default();
        let other = |at, m| StaleRow {
            relid: 16390,
            name: "events".into(),
            ..row(at, m, Some(50.0))
        };
        let quiet = |at| StaleRow {
            relid: 16400,
            name: "quiet".into(),
            modified_since_analyze: 3,
            ..row(at, 3, Some(90.0))
        };
        judge(
            &[row(T0, 2_000, Some(13.0)), other(T0, 2_000), quiet(T0)],
            &mut h,
            12,
            24,
        );
        let out = judge(
            &[
                row(T0 + HOUR, 3_000, Some(13.0)),
                other(T0 + HOUR, 3_000),
                quiet(T0 + HOUR),
            ],
            &mut h,
            12,
            24,
        );
        let names = |v: &[StaleTable]| v.iter().map(|t| t.facts.relation.clone()).collect::<Vec<_>>();
        assert_eq!(names(&out.tables), ["public.events", "public.orders"]);
        assert_eq!(names(&out.stalest), ["public.quiet", "public.events", "public.orders"]);
        assert_eq!(out.stalest[0].severity, None);
    }

    #[test]
    fn each_version_reads_its_own_planner_statistics_signal() {
        assert!(stale_stats_sql(180000).contains("c.reltuples >= 0 AS has_planner_stats"));
        assert!(stale_stats_sql(140000).contains("c.reltuples >= 0 AS has_planner_stats"));
        assert!(stale_stats_sql(130000).contains("(c.reltuples > 0 OR c.relpages > 0) AS has_planner_stats"));
    }
}

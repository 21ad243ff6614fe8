//! Vacuum / analyze freshness per table, Top-N by dead tuples (`pg_stat_user_tables`), and the
//! facts of the autovacuum starvation heuristic: whether a table's dead tuples exceed its
//! autovacuum trigger and are still rising, and how long since an (auto)vacuum touched it.
//! Whether that is starvation (`autovac_starvation_*_hours`) is decided in `alerts::verdicts`.

use serde::Serialize;
use std::collections::HashMap;
use tokio_postgres::Client;

/// Ranks on one statistics function per table and reads the rest only for the Top-N: the
/// pg_stat_user_tables view calls some twenty of them for every table, which on 10k tables is
/// what dominated the workload loop. The tables ranked are `$2`, the OIDs [`TABLE_LIST_SQL`]
/// read when the catalog last changed: scanning pg_class (51k rows on the 10k-table bench,
/// half this query's time) every minute found the same tables. A table dropped since has no
/// row in pg_class and drops out here.
pub const FRESHNESS_SQL: &str = "\
SELECT t.schema,
       t.table_name,
       pg_stat_get_live_tuples(t.oid) AS n_live_tup,
       t.n_dead_tup,
       pg_stat_get_mod_since_analyze(t.oid) AS n_mod_since_analyze,
       EXTRACT(EPOCH FROM (now() - pg_stat_get_last_vacuum_time(t.oid)))::float8 AS last_vacuum_age,
       EXTRACT(EPOCH FROM (now() - pg_stat_get_last_autovacuum_time(t.oid)))::float8 AS last_autovacuum_age,
       EXTRACT(EPOCH FROM (now() - pg_stat_get_last_analyze_time(t.oid)))::float8 AS last_analyze_age,
       EXTRACT(EPOCH FROM (now() - pg_stat_get_last_autoanalyze_time(t.oid)))::float8 AS last_autoanalyze_age,
       t.reltuples,
       current_setting('autovacuum_vacuum_threshold')::float8 AS av_threshold,
       current_setting('autovacuum_vacuum_scale_factor')::float8 AS av_scale_factor
  FROM (SELECT c.oid, n.nspname::text AS schema, c.relname::text AS table_name,
               GREATEST(c.reltuples, 0)::float8 AS reltuples, r.n_dead_tup
          FROM (SELECT u.oid, pg_stat_get_dead_tuples(u.oid) AS n_dead_tup
                  FROM unnest($2::oid[]) AS u(oid)
                 ORDER BY 2 DESC, u.oid
                 LIMIT $1) r
          JOIN pg_class c ON c.oid = r.oid
          JOIN pg_namespace n ON n.oid = c.relnamespace) t
 ORDER BY t.n_dead_tup DESC, t.oid";

/// The tables freshness ranks: ordinary tables and materialized views outside the system
/// schemas. Read again only when [`TABLE_LIST_KEY_SQL`] moves.
pub const TABLE_LIST_SQL: &str = "\
SELECT COALESCE(array_agg(c.oid ORDER BY c.oid), '{}') AS oids
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'";

/// Rows inserted, updated or deleted in pg_class and pg_namespace as the statistics count them
/// (a CREATE, DROP or ALTER … SET SCHEMA moves it); NULL when `track_counts` is off, and then
/// the list is read every run, as it is before PostgreSQL 15
/// ([`write_counts_are_prompt`](crate::db::privileges::write_counts_are_prompt)).
pub const TABLE_LIST_KEY_SQL: &str = "\
SELECT CASE WHEN current_setting('track_counts')::bool
            THEN (SELECT sum(pg_stat_get_tuples_inserted(c) + pg_stat_get_tuples_updated(c) + pg_stat_get_tuples_deleted(c))::int8
                    FROM unnest('{pg_catalog.pg_class,pg_catalog.pg_namespace}'::regclass[]) AS c)
       END AS catalog_writes";

/// The OIDs ranked, and the catalog write count they were read at.
#[derive(Debug, Default)]
pub struct TableList {
    key: Option<i64>,
    oids: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FreshnessRow {
    pub schema: String,
    pub table_name: String,
    pub n_live_tup: i64,
    pub n_dead_tup: i64,
    pub n_mod_since_analyze: i64,
    pub last_vacuum_age: Option<f64>,
    pub last_autovacuum_age: Option<f64>,
    pub last_analyze_age: Option<f64>,
    pub last_autoanalyze_age: Option<f64>,
    pub reltuples: f64,
    pub av_threshold: f64,
    pub av_scale_factor: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FreshnessFacts {
    /// `schema.table` as PostgreSQL quotes it ([`qualified_name`](crate::db::capabilities::qualified_name)): the `relation` label.
    pub relation: String,
    pub live_tuples: i64,
    pub dead_tuples: i64,
    pub pct_dead: f64,
    pub modified_since_analyze: i64,
    pub last_vacuum_seconds: Option<f64>,
    pub last_autovacuum_seconds: Option<f64>,
    pub last_analyze_seconds: Option<f64>,
    pub last_autoanalyze_seconds: Option<f64>,
    /// Dead tuples at which autovacuum should have started (global settings; per-table
    /// reloptions are not applied).
    pub autovacuum_trigger: f64,
    /// Dead tuples exceed the autovacuum trigger and rose since the fewest seen after the last
    /// vacuum: the facts of the starvation heuristic, before the hours.
    pub over_trigger_and_rising: bool,
    pub hours_since_vacuum: Option<f64>,
    pub hint: Option<String>,
}

pub fn pct_dead(dead: i64, live: i64) -> f64 {
    let total = dead + live;
    if total > 0 {
        dead as f64 * 100.0 / total as f64
    } else {
        0.0
    }
}

/// Maps rows to per-table freshness; `previous_dead` (relation → the fewest dead tuples seen
/// since its last vacuum) tells whether dead tuples are rising.
pub fn assess(rows: &[FreshnessRow], previous_dead: &HashMap<String, i64>) -> Vec<FreshnessFacts> {
    rows.iter()
        .map(|r| {
            let relation = crate::db::capabilities::qualified_name(&r.schema, &r.table_name);
            let trigger = r.av_threshold + r.av_scale_factor * r.reltuples;
            let since_vacuum = match (r.last_vacuum_age, r.last_autovacuum_age) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let hours_since_vacuum = since_vacuum.map(|s| s / 3600.0);
            let rising = previous_dead.get(&relation).is_some_and(|prev| r.n_dead_tup > *prev);
            let pct = pct_dead(r.n_dead_tup, r.n_live_tup);
            // The starvation hint, when it applies, replaces this one (alerts::verdicts).
            let hint = if pct > 20.0 && r.n_dead_tup > 100_000 {
                Some(format!("{pct:.1}% dead: VACUUM (VERBOSE) {relation}; and consider a lower autovacuum_vacuum_scale_factor for it"))
            } else if r.reltuples > 0.0 && r.n_mod_since_analyze as f64 > 0.2 * r.reltuples.max(1000.0) {
                Some(format!("{} rows changed since the last analyze: ANALYZE {relation};", r.n_mod_since_analyze))
            } else {
                None
            };
            FreshnessFacts {
                relation,
                live_tuples: r.n_live_tup,
                dead_tuples: r.n_dead_tup,
                pct_dead: pct,
                modified_since_analyze: r.n_mod_since_analyze,
                last_vacuum_seconds: r.last_vacuum_age,
                last_autovacuum_seconds: r.last_autovacuum_age,
                last_analyze_seconds: r.last_analyze_age,
                last_autoanalyze_seconds: r.last_autoanalyze_age,
                autovacuum_trigger: trigger,
                over_trigger_and_rising: r.n_dead_tup as f64 > trigger && rising,
                hours_since_vacuum,
                hint,
            }
        })
        .collect()
}

pub async fn collect(
    client: &Client,
    server_version_num: i32,
    tables: &mut TableList,
    limit: u32,
) -> Result<Vec<FreshnessRow>, tokio_postgres::Error> {
    let key: Option<i64> = if crate::db::privileges::write_counts_are_prompt(server_version_num) {
        client
            .query_one(TABLE_LIST_KEY_SQL, &[])
            .await?
            .try_get("catalog_writes")?
    } else {
        None
    };
    if key.is_none() || key != tables.key {
        let oids: Vec<u32> = client.query_one(TABLE_LIST_SQL, &[]).await?.try_get("oids")?;
        *tables = TableList { key, oids };
    }
    let rows = client.query(FRESHNESS_SQL, &[&i64::from(limit), &tables.oids]).await?;
    rows.iter()
        .map(|r| {
            Ok(FreshnessRow {
                schema: r.try_get("schema")?,
                table_name: r.try_get("table_name")?,
                n_live_tup: r.try_get("n_live_tup")?,
                n_dead_tup: r.try_get("n_dead_tup")?,
                n_mod_since_analyze: r.try_get("n_mod_since_analyze")?,
                last_vacuum_age: r.try_get("last_vacuum_age")?,
                last_autovacuum_age: r.try_get("last_autovacuum_age")?,
                last_analyze_age: r.try_get("last_analyze_age")?,
                last_autoanalyze_age: r.try_get("last_autoanalyze_age")?,
                reltuples: r.try_get("reltuples")?,
                av_threshold: r.try_get("av_threshold")?,
                av_scale_factor: r.try_get("av_scale_factor")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dead: i64, live: i64, vacuumed_hours_ago: Option<f64>) -> FreshnessRow {
        FreshnessRow {
            schema: "public".into(),
            table_name: "Orders".into(),
            n_live_tup: live,
            n_dead_tup: dead,
            n_mod_since_analyze: 0,
            last_vacuum_age: None,
            last_autovacuum_age: vacuumed_hours_ago.map(|h| h * 3600.0),
            last_analyze_age: None,
            last_autoanalyze_age: None,
            reltuples: live as f64,
            av_threshold: 50.0,
            av_scale_factor: 0.2,
        }
    }

    #[test]
    fn pct_dead_is_dead_over_all_tuples() {
        assert_eq!(pct_dead(25, 75), 25.0);
        assert_eq!(pct_dead(0, 0), 0.0);
    }

    #[test]
    fn over_trigger_and_rising_needs_both() {
        let prev = HashMap::from([("public.\"Orders\"".to_string(), 300_000)]);
        let t = &assess(&[row(400_000, 1_000_000, Some(7.0))], &prev)[0];
        assert!(t.over_trigger_and_rising);
        assert_eq!(t.hours_since_vacuum, Some(7.0));
        assert!(
            !assess(&[row(200_000, 1_000_000, Some(9.0))], &prev)[0].over_trigger_and_rising,
            "falling"
        );
        assert!(!assess(&[row(100, 1_000_000, Some(9.0))], &HashMap::new())[0].over_trigger_and_rising);
    }
}

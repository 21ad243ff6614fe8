//! I/O by backend type, object and context (`pg_stat_io`, PostgreSQL 16+): reads, writes,
//! extends, fsyncs and buffer hits. Absent, with the reason, on older servers. Only rows with
//! any activity are kept, so idle combinations make no series.

use serde::Serialize;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// Counters are null where an operation cannot happen (a checkpointer never extends): 0 here.
pub const STAT_IO_SQL: &str = "\
SELECT backend_type::text AS backend_type,
       object::text AS object,
       context::text AS context,
       COALESCE(reads, 0)::int8 AS reads,
       COALESCE(writes, 0)::int8 AS writes,
       COALESCE(extends, 0)::int8 AS extends,
       COALESCE(fsyncs, 0)::int8 AS fsyncs,
       COALESCE(hits, 0)::int8 AS hits
  FROM pg_stat_io
 WHERE COALESCE(reads, 0) + COALESCE(writes, 0) + COALESCE(extends, 0) + COALESCE(fsyncs, 0) + COALESCE(hits, 0) > 0
 ORDER BY 1, 2, 3";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IoRow {
    /// `client backend`, `checkpointer`, `autovacuum worker`, ...: the `backend_type` label.
    pub backend_type: String,
    /// `relation` or `temp relation`: the `object` label.
    pub object: String,
    /// `normal`, `vacuum`, `bulkread`, `bulkwrite` (and `init` from 18): the `context` label.
    pub context: String,
    pub reads: i64,
    pub writes: i64,
    pub extends: i64,
    pub fsyncs: i64,
    pub hits: i64,
}

/// One backend type's I/O over all objects and contexts, with rates since the previous run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IoByBackend {
    pub backend_type: String,
    pub reads: i64,
    pub writes: i64,
    pub extends: i64,
    pub fsyncs: i64,
    pub hits: i64,
    /// Reads per second since the previous run; null on the first run or after a reset.
    pub reads_per_second: Option<f64>,
    pub writes_per_second: Option<f64>,
    /// hits / (hits + reads), since the statistics reset; null without either.
    pub hit_ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IoStats {
    /// `pg_stat_io` exists (PostgreSQL 16+).
    pub available: bool,
    pub unavailable_reason: Option<String>,
    pub by_backend: Vec<IoByBackend>,
    /// Every row with activity, for the metrics.
    #[serde(skip)]
    pub rows: Vec<IoRow>,
}

impl IoStats {
    pub fn unavailable(server_version_num: i32) -> Self {
        IoStats {
            available: false,
            unavailable_reason: Some(format!(
                "pg_stat_io needs PostgreSQL 16; this server is {}",
                server_version_num / 10000
            )),
            by_backend: Vec::new(),
            rows: Vec::new(),
        }
    }
}

/// Totals per backend type: (reads, writes, extends, fsyncs, hits).
pub type Totals = BTreeMap<String, [i64; 5]>;

pub fn totals(rows: &[IoRow]) -> Totals {
    let mut out = Totals::new();
    for r in rows {
        let t = out.entry(r.backend_type.clone()).or_insert([0; 5]);
        for (slot, v) in t.iter_mut().zip([r.reads, r.writes, r.extends, r.fsyncs, r.hits]) {
            *slot += v;
        }
    }
    out
}

/// Per backend type, with rates against `previous` (taken `elapsed` seconds earlier).
pub fn by_backend(rows: &[IoRow], previous: Option<&Totals>, elapsed: f64) -> Vec<IoByBackend> {
    totals(rows)
        .into_iter()
        .map(|(backend_type, [reads, writes, extends, fsyncs, hits])| {
            let before = previous.and_then(|p| p.get(&backend_type));
            let rate = |now: i64, index: usize| before.and_then(|b| super::counter_rate(b[index], now, elapsed));
            IoByBackend {
                reads_per_second: rate(reads, 0),
                writes_per_second: rate(writes, 1),
                hit_ratio: (hits + reads > 0).then(|| hits as f64 / (hits + reads) as f64),
                backend_type,
                reads,
                writes,
                extends,
                fsyncs,
                hits,
            }
        })
        .collect()
}

pub async fn collect(client: &Client) -> Result<Vec<IoRow>, tokio_postgres::Error> {
    let rows = client.query(STAT_IO_SQL, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(IoRow {
                backend_type: r.try_get("backend_type")?,
                object: r.try_get("object")?,
                context: r.try_get("context")?,
                reads: r.try_get("reads")?,
                writes: r.try_get("writes")?,
                extends: r.try_get("extends")?,
                fsyncs: r.try_get("fsyncs")?,
                hits: r.try_get("hits")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(backend: &str, context: &str, reads: i64, writes: i64, hits: i64) -> IoRow {
        IoRow {
            backend_type: backend.into(),
            object: "relation".into(),
            context: context.into(),
            reads,
            writes,
            extends: 0,
            fsyncs: 0,
            hits,
        }
    }

    #[test]
    fn backends_sum_their_contexts_and_rate_against_the_previous_run() {
        let first = [
            row("client backend", "normal", 100, 10, 900),
            row("client backend", "bulkread", 50, 0, 0),
        ];
        let previous = totals(&first);
        let now = [
            row("client backend", "normal", 160, 30, 1_000),
            row("client backend", "bulkread", 50, 0, 0),
        ];
        let b = &by_backend(&now, Some(&previous), 10.0)[0];
        assert_eq!((b.reads, b.writes, b.hits), (210, 30, 1_000));
        assert_eq!((b.reads_per_second, b.writes_per_second), (Some(6.0), Some(2.0)));
        assert_eq!(b.hit_ratio, Some(1_000.0 / 1_210.0));
        let first_run = &by_backend(&now, None, 0.0)[0];
        assert_eq!(first_run.reads_per_second, None);
    }

    #[test]
    fn a_reset_gives_no_rate_and_old_servers_say_why() {
        let previous = totals(&[row("checkpointer", "normal", 0, 500, 0)]);
        let b = &by_backend(&[row("checkpointer", "normal", 0, 20, 0)], Some(&previous), 60.0)[0];
        assert_eq!(b.writes_per_second, None);
        assert_eq!(b.hit_ratio, None);
        let old = IoStats::unavailable(150007);
        assert!(!old.available);
        assert_eq!(
            old.unavailable_reason.as_deref(),
            Some("pg_stat_io needs PostgreSQL 16; this server is 15")
        );
    }
}

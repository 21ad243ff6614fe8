//! Relations whose sizes cannot be read right now without waiting (`pg_locks`): the size
//! functions and `pgstattuple_approx` take AccessShareLock, which only AccessExclusiveLock
//! conflicts with, on every relation they open. `pg_total_relation_size` opens the table, each
//! of its indexes, its TOAST table and the TOAST index; `pg_relation_size` of an index opens
//! that index only. The size collectors leave these relations out and list them as skipped with
//! the lock that blocks them, so one REINDEX, TRUNCATE or LOCK TABLE costs that relation only.

use serde::Serialize;
use std::collections::BTreeMap;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// Every AccessExclusiveLock held or queued in this database (a queued request makes each later
/// AccessShareLock wait behind it), with the table whose sizes it blocks: an index maps to its
/// table, a TOAST table or TOAST index to the table that owns it.
pub const BLOCKED_RELATIONS_SQL: &str = r"
SELECT t.oid AS table_oid, tn.nspname::text AS table_schema, t.relname::text AS table_name,
       t.relkind::text AS table_relkind,
       l.relation AS locked_oid, ln.nspname::text AS locked_schema, lc.relname::text AS locked_name,
       lc.relkind::text AS locked_relkind, b.relkind = 't' AS locked_in_toast,
       l.mode, l.granted, l.pid
  FROM pg_locks l
  JOIN pg_class lc ON lc.oid = l.relation
  JOIN pg_namespace ln ON ln.oid = lc.relnamespace
  LEFT JOIN pg_index x ON x.indexrelid = lc.oid
  JOIN pg_class b ON b.oid = COALESCE(x.indrelid, lc.oid)
  JOIN pg_class t ON t.oid = CASE WHEN b.relkind = 't'
                                  THEN (SELECT o.oid FROM pg_class o WHERE o.reltoastrelid = b.oid)
                                  ELSE b.oid END
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE l.locktype = 'relation'
   AND l.mode = 'AccessExclusiveLock'
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND tn.nspname NOT IN ('pg_catalog', 'information_schema')
   AND t.relpersistence <> 't'
 ORDER BY 2, 3, 6, 7, l.granted DESC, l.pid";

/// A relation left out of a snapshot, and why: the `skipped_relations` of the storage and
/// bloat endpoints.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct SkippedRelation {
    /// `schema.name` of the table or index, as in the size series' labels.
    pub relation: String,
    /// The lock that blocks reading it, or the error its own query hit.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LockRow {
    pub table_oid: u32,
    pub table_schema: String,
    pub table_name: String,
    pub table_relkind: String,
    pub locked_oid: u32,
    pub locked_schema: String,
    pub locked_name: String,
    pub locked_relkind: String,
    /// The locked relation is the TOAST table or a TOAST index of `table`.
    pub locked_in_toast: bool,
    pub mode: String,
    pub granted: bool,
    /// `None` for a prepared transaction.
    pub pid: Option<i32>,
}

/// What a lock blocks: the tables whose sizes (total, indexes, TOAST, pgstattuple) cannot be
/// read, and the indexes whose own size cannot, each with the reason, by OID.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blocked {
    pub tables: BTreeMap<u32, SkippedRelation>,
    pub indexes: BTreeMap<u32, SkippedRelation>,
}

impl Blocked {
    pub fn table_oids(&self) -> Vec<u32> {
        self.tables.keys().copied().collect()
    }

    pub fn index_oids(&self) -> Vec<u32> {
        self.indexes.keys().copied().collect()
    }

    pub fn skipped_tables(&self) -> Vec<SkippedRelation> {
        self.tables.values().cloned().collect()
    }

    pub fn skipped_indexes(&self) -> Vec<SkippedRelation> {
        self.indexes.values().cloned().collect()
    }
}

fn kind(relkind: &str, in_toast: bool) -> &'static str {
    match (relkind, in_toast) {
        ("t", _) => "TOAST table",
        ("i", true) => "TOAST index",
        ("i" | "I", false) => "index",
        ("m", _) => "materialized view",
        ("p", _) => "partitioned table",
        _ => "table",
    }
}

fn note(reason: &mut String, more: &str) {
    if !reason.split("; ").any(|r| r == more) {
        reason.push_str("; ");
        reason.push_str(more);
    }
}

/// Groups the locks by what they block. Several locks on one table's relations are joined
/// in its reason.
pub fn blocked(rows: &[LockRow]) -> Blocked {
    let mut out = Blocked::default();
    for r in rows {
        let locked = crate::db::capabilities::qualified_name(&r.locked_schema, &r.locked_name);
        let by = match (r.granted, r.pid) {
            (true, Some(pid)) => format!("held by pid {pid}"),
            (false, Some(pid)) => format!("awaited by pid {pid}"),
            (_, None) => "held by a prepared transaction".to_string(),
        };
        let reason = format!(
            "{} on {} {locked} {by}",
            r.mode,
            kind(&r.locked_relkind, r.locked_in_toast)
        );
        if matches!(r.table_relkind.as_str(), "r" | "m") {
            out.tables
                .entry(r.table_oid)
                .and_modify(|s| note(&mut s.reason, &reason))
                .or_insert_with(|| SkippedRelation {
                    relation: crate::db::capabilities::qualified_name(&r.table_schema, &r.table_name),
                    reason: reason.clone(),
                });
        }
        if matches!(r.locked_relkind.as_str(), "i" | "I") && !r.locked_in_toast {
            out.indexes
                .entry(r.locked_oid)
                .and_modify(|s| note(&mut s.reason, &reason))
                .or_insert_with(|| SkippedRelation {
                    relation: locked,
                    reason,
                });
        }
    }
    out
}

pub async fn collect(client: &Client) -> Result<Blocked, tokio_postgres::Error> {
    let rows = client.query(BLOCKED_RELATIONS_SQL, &[]).await?;
    let rows = rows
        .iter()
        .map(|r| {
            Ok(LockRow {
                table_oid: r.try_get("table_oid")?,
                table_schema: r.try_get("table_schema")?,
                table_name: r.try_get("table_name")?,
                table_relkind: r.try_get("table_relkind")?,
                locked_oid: r.try_get("locked_oid")?,
                locked_schema: r.try_get("locked_schema")?,
                locked_name: r.try_get("locked_name")?,
                locked_relkind: r.try_get("locked_relkind")?,
                locked_in_toast: r.try_get("locked_in_toast")?,
                mode: r.try_get("mode")?,
                granted: r.try_get("granted")?,
                pid: r.try_get("pid")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(blocked(&rows))
}

/// A collector's result and the relations a lock kept out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WithSkipped<T> {
    pub value: T,
    pub skipped: Vec<SkippedRelation>,
}

/// A section's value, with its skipped relations moved to `skipped`.
pub fn take_skipped<T>(
    section: super::Section<WithSkipped<T>>,
    skipped: &mut Vec<SkippedRelation>,
) -> super::Section<T> {
    section.map(|with| {
        skipped.extend(with.skipped);
        with.value
    })
}

/// Reads what the locks block now, then runs `query` (which leaves those relations out). A lock
/// taken in between can still make it hit lock_timeout: then the locks are read again and the
/// query runs once more; a second lock timeout is returned to the caller.
pub async fn skipping_locked<T, F, Fut>(client: &Client, query: F) -> Result<(T, Blocked), tokio_postgres::Error>
where
    F: Fn(Blocked) -> Fut,
    Fut: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
{
    let mut retried = false;
    loop {
        let blocked = collect(client).await?;
        match query(blocked.clone()).await {
            Ok(value) => return Ok((value, blocked)),
            Err(e) if !retried && is_lock_timeout(&e) => retried = true,
            Err(e) => return Err(e),
        }
    }
}

/// The server gave up waiting for a lock (`lock_timeout`, SQLSTATE 55P03).
pub fn is_lock_timeout(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(table: (u32, &str, &str), locked: (u32, &str, &str, bool), granted: bool, pid: Option<i32>) -> LockRow {
        LockRow {
            table_oid: table.0,
            table_schema: "public".into(),
            table_name: table.1.into(),
            table_relkind: table.2.into(),
            locked_oid: locked.0,
            locked_schema: if locked.3 { "pg_toast" } else { "public" }.into(),
            locked_name: locked.1.into(),
            locked_relkind: locked.2.into(),
            locked_in_toast: locked.3,
            mode: "AccessExclusiveLock".into(),
            granted,
            pid,
        }
    }

    #[test]
    fn an_index_lock_blocks_its_table_and_itself() {
        let b = blocked(&[lock(
            (10, "orders", "r"),
            (11, "orders_pkey", "i", false),
            true,
            Some(42),
        )]);
        let reason = "AccessExclusiveLock on index public.orders_pkey held by pid 42";
        assert_eq!(
            b.tables[&10],
            SkippedRelation {
                relation: "public.orders".into(),
                reason: reason.into()
            }
        );
        assert_eq!(b.indexes[&11].relation, "public.orders_pkey");
        assert_eq!(b.indexes[&11].reason, reason);
        assert_eq!((b.table_oids(), b.index_oids()), (vec![10], vec![11]));
    }

    #[test]
    fn a_toast_lock_blocks_the_owner_and_no_index_entry() {
        let b = blocked(&[
            lock((10, "docs", "r"), (20, "pg_toast_10_index", "i", true), true, Some(7)),
            lock((10, "docs", "r"), (19, "pg_toast_10", "t", true), false, Some(8)),
        ]);
        assert!(b.indexes.is_empty());
        assert_eq!(
            b.tables[&10].reason,
            "AccessExclusiveLock on TOAST index pg_toast.pg_toast_10_index held by pid 7; \
             AccessExclusiveLock on TOAST table pg_toast.pg_toast_10 awaited by pid 8"
        );
    }

    #[test]
    fn a_queued_or_prepared_lock_says_so_and_duplicates_are_joined_once() {
        let waiting = lock((10, "t", "r"), (10, "t", "r", false), false, Some(9));
        let b = blocked(&[
            waiting.clone(),
            waiting,
            lock((10, "t", "r"), (10, "t", "r", false), true, None),
        ]);
        assert_eq!(
            b.tables[&10].reason,
            "AccessExclusiveLock on table public.t awaited by pid 9; AccessExclusiveLock on table public.t held by a prepared transaction"
        );
    }

    #[test]
    fn a_partitioned_index_lock_blocks_that_index_only() {
        let b = blocked(&[lock(
            (30, "events", "p"),
            (31, "events_at_idx", "I", false),
            true,
            Some(1),
        )]);
        assert!(b.tables.is_empty());
        assert_eq!(b.indexes[&31].relation, "public.events_at_idx");
    }
}

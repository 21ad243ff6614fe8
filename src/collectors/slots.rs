//! Replication slots (`pg_replication_slots`, physical and logical): whether each is active,
//! the WAL it keeps from being recycled (from the server's current WAL position, or on a
//! standby its replay position, back to the slot's `restart_lsn`), PostgreSQL's own verdict on
//! that WAL (`wal_status`, `safe_wal_size`, from 13) and the age of the `xmin` /
//! `catalog_xmin` it holds back (which also stops vacuum). An inactive slot that retains WAL
//! fills the disk; whether it is too much is decided in `alerts::verdicts`, not here.

use serde::Serialize;
use tokio_postgres::Client;

/// The slot's retention is measured from where this server's WAL is now: its current insert
/// position on a primary, its replay position on a standby (`pg_current_wal_lsn()` raises an
/// error during recovery). A slot that never reserved WAL (`restart_lsn` null) retains none.
macro_rules! slots_sql {
    ($wal_status:literal) => {
        concat!(
            "\
SELECT slot_name::text AS slot,
       slot_type::text AS slot_type,
       active,
       COALESCE(database::text, '') AS database,
       COALESCE(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                                restart_lsn), 0)::float8 AS retained_bytes,
       ",
            $wal_status,
            ",
       age(xmin)::int8 AS xmin_age,
       age(catalog_xmin)::int8 AS catalog_xmin_age
  FROM pg_replication_slots
 ORDER BY slot_name"
        )
    };
}

/// PostgreSQL 13+: `wal_status` and `safe_wal_size` (bytes left before the slot's WAL may be
/// removed under `max_slot_wal_keep_size`; null when that is unlimited).
pub const SLOTS_SQL_13: &str =
    slots_sql!("wal_status::text AS wal_status, safe_wal_size::float8 AS safe_wal_size_bytes");

/// PostgreSQL 12: neither column exists yet.
pub const SLOTS_SQL_12: &str = slots_sql!("NULL::text AS wal_status, NULL::float8 AS safe_wal_size_bytes");

pub fn slots_sql(server_version_num: i32) -> &'static str {
    if server_version_num >= 130000 {
        SLOTS_SQL_13
    } else {
        SLOTS_SQL_12
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReplicationSlot {
    /// The slot's name: the `slot` label.
    pub slot: String,
    /// `physical` or `logical`: the `slot_type` label.
    pub slot_type: String,
    /// A walsender is using the slot now.
    pub active: bool,
    /// The database of a logical slot; empty for a physical one.
    pub database: String,
    /// WAL bytes the slot keeps: from this server's current (on a standby, replayed) WAL
    /// position back to the slot's `restart_lsn`.
    pub retained_bytes: f64,
    /// PostgreSQL 13+: `reserved`, `extended`, `unreserved` (the WAL will be removed at the
    /// next checkpoint) or `lost` (it was: the slot is unusable); null before 13.
    pub wal_status: Option<String>,
    /// PostgreSQL 13+: bytes that can still be written before this slot's WAL is at risk;
    /// null when `max_slot_wal_keep_size` is unlimited (or before 13).
    pub safe_wal_size_bytes: Option<f64>,
    /// Transactions since the `xmin` the slot holds back (a physical slot with
    /// `hot_standby_feedback`); vacuum cannot remove rows newer than it.
    pub xmin_age: Option<i64>,
    /// Transactions since the `catalog_xmin` the slot holds back (logical slots).
    pub catalog_xmin_age: Option<i64>,
}

pub async fn collect(client: &Client, server_version_num: i32) -> Result<Vec<ReplicationSlot>, tokio_postgres::Error> {
    let rows = client.query(slots_sql(server_version_num), &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(ReplicationSlot {
                slot: r.try_get("slot")?,
                slot_type: r.try_get("slot_type")?,
                active: r.try_get("active")?,
                database: r.try_get("database")?,
                retained_bytes: r.try_get("retained_bytes")?,
                wal_status: r.try_get("wal_status")?,
                safe_wal_size_bytes: r.try_get("safe_wal_size_bytes")?,
                xmin_age: r.try_get("xmin_age")?,
                catalog_xmin_age: r.try_get("catalog_xmin_age")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_reads_the_columns_it_has() {
        assert!(slots_sql(180000).contains("wal_status::text AS wal_status"));
        assert!(slots_sql(130000).contains("safe_wal_size::float8"));
        let v12 = slots_sql(120000);
        assert!(v12.contains("NULL::text AS wal_status") && !v12.contains("safe_wal_size::"));
    }

    #[test]
    fn retention_is_measured_from_the_replay_position_on_a_standby() {
        assert!(SLOTS_SQL_13
            .contains("CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END"));
    }
}

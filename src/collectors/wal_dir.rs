//! The WAL directory (`pg_ls_waldir()`, granted to `pg_monitor`): its total size and segment
//! count against `max_wal_size`. A `pg_wal` that grows past `max_wal_size` is the early sign
//! of WAL held back by a replication slot, a failing `archive_command` or `wal_keep_size`.

use serde::Serialize;
use tokio_postgres::Client;

/// Segments are the 24-hex-digit files; the size counts every file (history files, partial
/// segments) because all of them fill the disk.
pub const WAL_DIR_SQL: &str = "\
SELECT count(*) FILTER (WHERE name ~ '^[0-9A-F]{24}$')::int8 AS segments,
       COALESCE(sum(size), 0)::float8 AS bytes,
       pg_size_bytes(current_setting('max_wal_size'))::float8 AS max_wal_size_bytes
  FROM pg_ls_waldir()";

/// Without the right to list `pg_wal`: the setting alone.
pub const MAX_WAL_SIZE_SQL: &str = "\
SELECT pg_size_bytes(current_setting('max_wal_size'))::float8 AS max_wal_size_bytes";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WalDirectory {
    /// WAL segment files in `pg_wal`; null when the role may not list it.
    pub segments: Option<i64>,
    /// Bytes of every file in `pg_wal`; null when the role may not list it.
    pub bytes: Option<f64>,
    /// The `max_wal_size` setting, in bytes: the soft limit checkpoints keep `pg_wal` under.
    pub max_wal_size_bytes: f64,
    /// `bytes` over `max_wal_size_bytes`; above 1 something keeps WAL that checkpoints would
    /// remove (a slot, archiving, `wal_keep_size`).
    pub fraction_of_max_wal_size: Option<f64>,
    /// Why the directory was not listed, with the fix.
    pub unavailable_reason: Option<String>,
}

pub fn directory(segments: i64, bytes: f64, max_wal_size_bytes: f64) -> WalDirectory {
    WalDirectory {
        segments: Some(segments),
        bytes: Some(bytes),
        max_wal_size_bytes,
        fraction_of_max_wal_size: (max_wal_size_bytes > 0.0).then(|| bytes / max_wal_size_bytes),
        unavailable_reason: None,
    }
}

/// The role is not allowed to list `pg_wal`: the setting, and why nothing else.
pub fn unlisted(max_wal_size_bytes: f64, role: &str) -> WalDirectory {
    WalDirectory {
        segments: None,
        bytes: None,
        max_wal_size_bytes,
        fraction_of_max_wal_size: None,
        unavailable_reason: Some(format!(
            "role {role} may not run pg_ls_waldir(): GRANT pg_monitor TO {role};"
        )),
    }
}

pub async fn collect(client: &Client, may_list: bool, role: &str) -> Result<WalDirectory, tokio_postgres::Error> {
    if !may_list {
        let r = client.query_one(MAX_WAL_SIZE_SQL, &[]).await?;
        return Ok(unlisted(r.try_get("max_wal_size_bytes")?, role));
    }
    let r = client.query_one(WAL_DIR_SQL, &[]).await?;
    Ok(directory(
        r.try_get("segments")?,
        r.try_get("bytes")?,
        r.try_get("max_wal_size_bytes")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_compares_the_directory_with_max_wal_size() {
        let d = directory(96, 1.5 * 1024.0 * 1024.0 * 1024.0, 1024.0 * 1024.0 * 1024.0);
        assert_eq!(d.fraction_of_max_wal_size, Some(1.5));
        assert_eq!(directory(0, 0.0, 0.0).fraction_of_max_wal_size, None);
        let hidden = unlisted(1024.0, "plain");
        assert_eq!(
            (hidden.bytes, hidden.segments),
            (None, None),
            "no zero that reads as empty"
        );
        assert!(hidden
            .unavailable_reason
            .unwrap()
            .contains("GRANT pg_monitor TO plain;"));
    }
}

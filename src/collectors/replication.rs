//! Replication lag. On a primary, per replica from `pg_stat_replication` (replay lag time, and
//! sent−replay bytes); on a standby, its own lag from the receive/replay LSNs and the last
//! replayed transaction. A standby whose replay has caught up reads 0, not the time since the
//! last transaction on an idle primary.

use serde::Serialize;
use tokio_postgres::Client;

pub const REPLICAS_SQL: &str = "\
-- Replicas that share an application_name (the default is walreceiver) get their address
-- appended, so their series and alerts stay apart.
SELECT COALESCE(NULLIF(application_name, ''), host(client_addr), 'local')
       || CASE WHEN count(*) OVER (PARTITION BY application_name) > 1
               THEN '@' || COALESCE(host(client_addr), 'local') || COALESCE(':' || client_port, '') ELSE '' END AS replica,
       COALESCE(state, 'unknown') AS state,
       COALESCE(sync_state, 'unknown') AS sync_state,
       EXTRACT(EPOCH FROM write_lag)::float8 AS write_lag_seconds,
       EXTRACT(EPOCH FROM flush_lag)::float8 AS flush_lag_seconds,
       EXTRACT(EPOCH FROM replay_lag)::float8 AS replay_lag_seconds,
       pg_wal_lsn_diff(sent_lsn, replay_lsn)::float8 AS sent_replay_lag_bytes,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       replay_lsn)::float8 AS total_lag_bytes
  FROM pg_stat_replication
 ORDER BY 1";

pub const STANDBY_SQL: &str = "\
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS receive_replay_lag_bytes,
       -- Caught up (0) only while streaming: a disconnected receiver keeps its last position.
       (CASE WHEN NOT pg_is_in_recovery() THEN NULL
             WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
              AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
             ELSE EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())) END)::float8 AS replay_lag_seconds,
       (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver_status";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaLag {
    /// application_name (or client address), sanitized: the `replica` label.
    pub replica: String,
    pub state: String,
    pub sync_state: String,
    pub write_lag_seconds: Option<f64>,
    pub flush_lag_seconds: Option<f64>,
    pub replay_lag_seconds: Option<f64>,
    pub lag_bytes: Option<f64>,
    /// Bytes between the primary's current WAL position and the replica's replay position.
    pub total_lag_bytes: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandbyLag {
    pub receive_replay_lag_bytes: Option<f64>,
    pub replay_lag_seconds: Option<f64>,
    pub receiver_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicationStatus {
    /// "primary" or "standby".
    pub role: &'static str,
    pub replicas: Vec<ReplicaLag>,
    /// This server's own lag, when it is a standby.
    pub standby: Option<StandbyLag>,
}

/// Replay lag on the primary: PostgreSQL clears `replay_lag` once a replica has caught up and
/// no WAL flows; caught up (no bytes behind) then reads 0 rather than absent.
pub fn replay_lag_seconds(reported: Option<f64>, lag_bytes: Option<f64>) -> Option<f64> {
    match (reported, lag_bytes) {
        (Some(seconds), _) => Some(seconds),
        (None, Some(bytes)) if bytes <= 0.0 => Some(0.0),
        _ => None,
    }
}

pub async fn collect(client: &Client) -> Result<ReplicationStatus, tokio_postgres::Error> {
    let (replicas, standby) = tokio::join!(client.query(REPLICAS_SQL, &[]), client.query_one(STANDBY_SQL, &[]));
    let standby = standby?;
    let replicas = replicas?
        .iter()
        .map(|r| {
            let lag_bytes: Option<f64> = r.try_get("sent_replay_lag_bytes")?;
            Ok(ReplicaLag {
                replica: super::sanitize_label(&r.try_get::<_, String>("replica")?),
                state: r.try_get("state")?,
                sync_state: r.try_get("sync_state")?,
                write_lag_seconds: r.try_get("write_lag_seconds")?,
                flush_lag_seconds: r.try_get("flush_lag_seconds")?,
                replay_lag_seconds: replay_lag_seconds(r.try_get("replay_lag_seconds")?, lag_bytes),
                lag_bytes,
                total_lag_bytes: r.try_get("total_lag_bytes")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let in_recovery: bool = standby.try_get("in_recovery")?;
    Ok(ReplicationStatus {
        role: if in_recovery { "standby" } else { "primary" },
        replicas,
        standby: if in_recovery {
            Some(StandbyLag {
                receive_replay_lag_bytes: standby.try_get("receive_replay_lag_bytes")?,
                replay_lag_seconds: standby.try_get("replay_lag_seconds")?,
                receiver_status: standby.try_get("receiver_status")?,
            })
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_up_replica_reads_zero_not_absent() {
        assert_eq!(replay_lag_seconds(None, Some(0.0)), Some(0.0));
        assert_eq!(replay_lag_seconds(Some(2.5), Some(0.0)), Some(2.5));
        assert_eq!(replay_lag_seconds(None, Some(8192.0)), None);
        assert_eq!(replay_lag_seconds(None, None), None);
    }
}

//! Replication lag. On a primary, per replica from `pg_stat_replication` (replay lag time, and
//! sent−replay bytes); on a standby, its own lag from the receive/replay LSNs and the last
//! replayed transaction. A standby whose replay has caught up reads 0, not the time since the
//! last transaction on an idle primary.

use serde::Serialize;
use tokio_postgres::Client;

/// The `replica` label is made from application_name and the address by [`replica_labels`].
pub const REPLICAS_SQL: &str = "\
SELECT COALESCE(application_name, '') AS application_name,
       host(client_addr) AS client_host,
       NULLIF(client_port, -1) AS client_port,
       COALESCE(state, 'unknown') AS state,
       COALESCE(sync_state, 'unknown') AS sync_state,
       EXTRACT(EPOCH FROM write_lag)::float8 AS write_lag_seconds,
       EXTRACT(EPOCH FROM flush_lag)::float8 AS flush_lag_seconds,
       EXTRACT(EPOCH FROM replay_lag)::float8 AS replay_lag_seconds,
       pg_wal_lsn_diff(sent_lsn, replay_lsn)::float8 AS sent_replay_lag_bytes,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       replay_lsn)::float8 AS total_lag_bytes
  FROM pg_stat_replication
 ORDER BY 1, backend_start, pid";

pub const STANDBY_SQL: &str = "\
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS receive_replay_lag_bytes,
       -- Caught up (0) only while streaming: a disconnected receiver keeps its last position.
       (CASE WHEN NOT pg_is_in_recovery() THEN NULL
             WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
              AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
             ELSE EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())) END)::float8 AS replay_lag_seconds,
       (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver_status";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReplicaLag {
    /// application_name as PostgreSQL quotes an identifier, with the replica's address when
    /// needed to tell it apart ([`replica_labels`]): the `replica` label.
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

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StandbyLag {
    pub receive_replay_lag_bytes: Option<f64>,
    pub replay_lag_seconds: Option<f64>,
    pub receiver_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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

/// The `replica` label of a standby's own lag.
pub const OWN_LAG: &str = "self";

/// Where a replica connects from, as `pg_stat_replication` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSource {
    pub application_name: String,
    /// `host(client_addr)`; `None` over a Unix socket.
    pub client_host: Option<String>,
    pub client_port: Option<i32>,
}

/// One distinct `replica` label per replica, in order: application_name rendered by
/// [`quote_ident`](crate::db::capabilities::quote_ident), then `@address` (`host:port`, or
/// `local` over a Unix socket) when the name is empty, is `self` (the label of a standby's own
/// lag, [`OWN_LAG`]) or is shared by several replicas (the default is walreceiver), then `#n`
/// (1, 2, … in `pg_stat_replication`'s order) should name and address still coincide. A bare
/// name holds no `@` and a quoted one ends at its closing quote, so no label can be read as
/// another's name plus address.
pub fn replica_labels(sources: &[ReplicaSource]) -> Vec<String> {
    let named: Vec<String> = sources
        .iter()
        .map(|s| {
            let name = if s.application_name.is_empty() {
                String::new()
            } else {
                crate::db::capabilities::quote_ident(&s.application_name)
            };
            let shared = sources
                .iter()
                .filter(|o| o.application_name == s.application_name)
                .count()
                > 1;
            if name.is_empty() || name == OWN_LAG || shared {
                let host = s.client_host.as_deref().unwrap_or("local");
                match s.client_port {
                    Some(port) => format!("{name}@{host}:{port}"),
                    None => format!("{name}@{host}"),
                }
            } else {
                name
            }
        })
        .collect();
    named
        .iter()
        .enumerate()
        .map(|(i, label)| {
            if named.iter().filter(|l| *l == label).count() > 1 {
                let n = named[..=i].iter().filter(|l| *l == label).count();
                format!("{label}#{n}")
            } else {
                label.clone()
            }
        })
        .collect()
}

pub async fn collect(client: &Client) -> Result<ReplicationStatus, tokio_postgres::Error> {
    let (replicas, standby) = tokio::join!(client.query(REPLICAS_SQL, &[]), client.query_one(STANDBY_SQL, &[]));
    let standby = standby?;
    let replicas = replicas?;
    let sources = replicas
        .iter()
        .map(|r| {
            Ok(ReplicaSource {
                application_name: r.try_get("application_name")?,
                client_host: r.try_get("client_host")?,
                client_port: r.try_get("client_port")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let replicas = replicas
        .iter()
        .zip(replica_labels(&sources))
        .map(|(r, replica)| {
            let lag_bytes: Option<f64> = r.try_get("sent_replay_lag_bytes")?;
            Ok(ReplicaLag {
                replica,
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

    #[test]
    fn every_replica_gets_its_own_label() {
        let source = |name: &str, host: Option<&str>, port: Option<i32>| ReplicaSource {
            application_name: name.into(),
            client_host: host.map(str::to_string),
            client_port: port,
        };
        let cases: Vec<(Vec<ReplicaSource>, Vec<&str>)> = vec![
            (vec![source("standby1", Some("10.0.0.2"), Some(5000))], vec!["standby1"]),
            (vec![source("node-2", Some("10.0.0.2"), Some(5000))], vec!["\"node-2\""]),
            (
                vec![
                    source("walreceiver", Some("10.0.0.2"), Some(5000)),
                    source("walreceiver", Some("10.0.0.3"), Some(5000)),
                ],
                vec!["walreceiver@10.0.0.2:5000", "walreceiver@10.0.0.3:5000"],
            ),
            (
                vec![source("", None, None), source("local", None, None)],
                vec!["@local", "local"],
            ),
            // A name that looks like another replica's name plus address is quoted.
            (
                vec![
                    source("a", Some("h"), Some(1)),
                    source("a", Some("h"), Some(2)),
                    source("a@h:1", Some("h"), Some(3)),
                ],
                vec!["a@h:1", "a@h:2", "\"a@h:1\""],
            ),
            // `self` is a standby's own lag, whatever its cascaded replicas are called.
            (
                vec![source("self", Some("10.0.0.2"), Some(5000))],
                vec!["self@10.0.0.2:5000"],
            ),
            // Two standbys on one host over Unix sockets with the default name.
            (
                vec![source("walreceiver", None, None), source("walreceiver", None, None)],
                vec!["walreceiver@local#1", "walreceiver@local#2"],
            ),
        ];
        for (sources, want) in cases {
            assert_eq!(replica_labels(&sources), want, "{sources:?}");
        }
    }
}

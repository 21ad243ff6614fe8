//! Client connections vs `max_connections`, by state (`pg_stat_activity`).

use serde::Serialize;
use tokio_postgres::Client;

pub const CONNECTIONS_SQL: &str = "\
SELECT count(*)::int8 AS connections,
       count(*) FILTER (WHERE state = 'active')::int8 AS active,
       count(*) FILTER (WHERE state = 'idle')::int8 AS idle,
       count(*) FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)'))::int8 AS idle_in_transaction,
       current_setting('max_connections')::int8 AS max_connections,
       current_setting('superuser_reserved_connections')::int8 AS superuser_reserved_connections
  FROM pg_stat_activity
 WHERE backend_type = 'client backend'
    -- Without pg_monitor, other roles' sessions show NULL backend_type; usesysid stays visible.
    OR (backend_type IS NULL AND usesysid IS NOT NULL)";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConnectionStats {
    pub connections: i64,
    pub active: i64,
    pub idle: i64,
    pub idle_in_transaction: i64,
    pub max_connections: i64,
    pub superuser_reserved_connections: i64,
    /// connections / max_connections, the spec's saturation ratio.
    pub usage_ratio: f64,
}

impl ConnectionStats {
    fn new(
        connections: i64,
        active: i64,
        idle: i64,
        idle_in_transaction: i64,
        max_connections: i64,
        reserved: i64,
    ) -> Self {
        let usage_ratio = if max_connections > 0 {
            connections as f64 / max_connections as f64
        } else {
            0.0
        };
        Self {
            connections,
            active,
            idle,
            idle_in_transaction,
            max_connections,
            superuser_reserved_connections: reserved,
            usage_ratio,
        }
    }
}

pub async fn collect(client: &Client) -> Result<ConnectionStats, tokio_postgres::Error> {
    let row = client.query_one(CONNECTIONS_SQL, &[]).await?;
    Ok(ConnectionStats::new(
        row.try_get("connections")?,
        row.try_get("active")?,
        row.try_get("idle")?,
        row.try_get("idle_in_transaction")?,
        row.try_get("max_connections")?,
        row.try_get("superuser_reserved_connections")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_ratio_is_connections_over_max() {
        let s = ConnectionStats::new(80, 10, 60, 10, 100, 3);
        assert!((s.usage_ratio - 0.8).abs() < 1e-9);
        assert_eq!(ConnectionStats::new(0, 0, 0, 0, 0, 0).usage_ratio, 0.0);
    }
}

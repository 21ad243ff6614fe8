//! Synthetic canary (spec §12): a `SELECT 1` round trip every hot-path tick, and optionally an
//! `EXPLAIN (ANALYZE, BUFFERS)` of an operator-chosen query (run in the read-only session).

use serde::Serialize;
use std::time::Instant;
use tokio_postgres::Client;

pub const CANARY_SQL: &str = "SELECT 1";
pub const CANARY_EXPLAIN_PREFIX: &str = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CanaryResult {
    pub round_trip_seconds: f64,
    /// Server-side execution time of the configured EXPLAIN ANALYZE query, when configured.
    pub explain_execution_seconds: Option<f64>,
}

/// Reads "Execution Time" (milliseconds) from EXPLAIN's JSON output.
pub fn execution_seconds(explain_json: &str) -> Option<f64> {
    let plans: serde_json::Value = serde_json::from_str(explain_json).ok()?;
    plans.get(0)?.get("Execution Time")?.as_f64().map(|ms| ms / 1000.0)
}

pub async fn collect(client: &Client, explain_query: Option<&str>) -> Result<CanaryResult, tokio_postgres::Error> {
    let start = Instant::now();
    client.simple_query(CANARY_SQL).await?;
    let round_trip_seconds = start.elapsed().as_secs_f64();
    let explain_execution_seconds = match explain_query {
        Some(query) => {
            let row = client
                .query_one(&format!("{CANARY_EXPLAIN_PREFIX}{query}"), &[])
                .await?;
            let plan: serde_json::Value = row.try_get(0)?;
            execution_seconds(&plan.to_string())
        }
        None => None,
    };
    Ok(CanaryResult {
        round_trip_seconds,
        explain_execution_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_time_is_read_from_explain_json() {
        let json = r#"[{"Plan": {"Node Type": "Result"}, "Planning Time": 0.02, "Execution Time": 1.5}]"#;
        assert_eq!(execution_seconds(json), Some(0.0015));
        assert_eq!(execution_seconds("[]"), None);
    }
}

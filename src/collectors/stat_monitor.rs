//! Latency percentiles from `pg_stat_monitor`'s response-time histogram (when that extension
//! is installed): bucket counts summed over the recent time buckets, bucket bounds derived from
//! the `pgsm_histogram_*` settings, percentiles interpolated client-side.

use tokio_postgres::Client;

pub const HISTOGRAM_SETTINGS_SQL: &str = "\
SELECT (SELECT setting FROM pg_settings WHERE name = 'pg_stat_monitor.pgsm_histogram_min')::float8 AS hist_min,
       (SELECT setting FROM pg_settings WHERE name = 'pg_stat_monitor.pgsm_histogram_max')::float8 AS hist_max,
       (SELECT setting FROM pg_settings WHERE name = 'pg_stat_monitor.pgsm_histogram_buckets')::int4 AS hist_buckets";

pub const HISTOGRAM_COUNTS_SQL: &str = "\
SELECT u.i::int4 AS bucket, sum(u.c::int8)::int8 AS calls
  FROM pg_stat_monitor m
 CROSS JOIN LATERAL unnest(m.resp_calls) WITH ORDINALITY AS u(c, i)
 WHERE m.bucket_start_time >= now() - make_interval(secs => $1)
 GROUP BY u.i
 ORDER BY u.i";

/// Bucket bounds in milliseconds, following pg_stat_monitor 2.x: `buckets` exponentially
/// growing buckets between min and max, with an underflow bucket below min and an overflow
/// bucket above max when the counts array has room for them.
pub fn bucket_bounds(min_ms: f64, max_ms: f64, buckets: usize, counts_len: usize) -> Vec<(f64, f64)> {
    let size = if buckets > 0 && max_ms > min_ms {
        (max_ms - min_ms).ln() / buckets as f64
    } else {
        0.0
    };
    let middle: Vec<(f64, f64)> = (1..=buckets)
        .map(|i| {
            let start = if i == 1 { 0.0 } else { (size * (i - 1) as f64).exp() };
            let end = (size * i as f64).exp();
            (start + min_ms, (end + min_ms).min(max_ms.max(min_ms)))
        })
        .collect();
    let mut out = Vec::with_capacity(counts_len);
    if counts_len >= buckets + 2 {
        out.push((0.0, min_ms));
    }
    out.extend(middle);
    if counts_len > out.len() {
        out.push((max_ms, f64::INFINITY));
    }
    out.truncate(counts_len);
    out
}

/// The q-quantile (0..1) in the histogram, linearly interpolated inside its bucket; the
/// overflow bucket answers with its lower bound. `None` when there are no calls.
pub fn percentile(bounds: &[(f64, f64)], counts: &[i64], q: f64) -> Option<f64> {
    let total: i64 = counts.iter().take(bounds.len()).sum();
    if total <= 0 {
        return None;
    }
    let target = q * total as f64;
    let mut seen = 0.0;
    for ((lower, upper), &count) in bounds.iter().zip(counts) {
        if count <= 0 {
            continue;
        }
        if seen + count as f64 >= target {
            if upper.is_infinite() {
                return Some(*lower);
            }
            let within = (target - seen) / count as f64;
            return Some(lower + (upper - lower) * within);
        }
        seen += count as f64;
    }
    bounds
        .last()
        .map(|(lower, upper)| if upper.is_finite() { *upper } else { *lower })
}

/// p95 and p99 in seconds over the last `window_seconds`.
pub async fn collect(
    client: &Client,
    window_seconds: f64,
) -> Result<(Option<f64>, Option<f64>), tokio_postgres::Error> {
    let settings = client.query_one(HISTOGRAM_SETTINGS_SQL, &[]).await?;
    let (min, max, buckets): (Option<f64>, Option<f64>, Option<i32>) = (
        settings.try_get("hist_min")?,
        settings.try_get("hist_max")?,
        settings.try_get("hist_buckets")?,
    );
    let rows = client.query(HISTOGRAM_COUNTS_SQL, &[&window_seconds]).await?;
    let counts: Vec<i64> = rows.iter().map(|r| r.try_get("calls")).collect::<Result<_, _>>()?;
    let (Some(min), Some(max), Some(buckets)) = (min, max, buckets) else {
        return Ok((None, None));
    };
    let bounds = bucket_bounds(min, max, buckets.max(0) as usize, counts.len());
    let seconds = |q| percentile(&bounds, &counts, q).map(|ms| ms / 1000.0);
    Ok((seconds(0.95), seconds(0.99)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_within_the_bucket() {
        let bounds = [(0.0, 10.0), (10.0, 20.0), (20.0, 40.0)];
        // 100 calls: 50 under 10 ms, 40 in 10-20 ms, 10 in 20-40 ms.
        let counts = [50, 40, 10];
        assert_eq!(percentile(&bounds, &counts, 0.5), Some(10.0));
        assert_eq!(percentile(&bounds, &counts, 0.7), Some(15.0));
        assert_eq!(percentile(&bounds, &counts, 0.95), Some(30.0));
        assert_eq!(percentile(&bounds, &counts, 0.99), Some(38.0));
    }

    #[test]
    fn overflow_bucket_answers_its_lower_bound_and_empty_is_none() {
        let bounds = [(0.0, 10.0), (10.0, f64::INFINITY)];
        assert_eq!(percentile(&bounds, &[1, 99], 0.95), Some(10.0));
        assert_eq!(percentile(&bounds, &[0, 0], 0.95), None);
    }

    #[test]
    fn bounds_grow_exponentially_between_min_and_max() {
        let b = bucket_bounds(1.0, 100_001.0, 5, 7);
        assert_eq!(b.len(), 7);
        assert_eq!(b[0], (0.0, 1.0), "underflow bucket");
        assert_eq!(b[1].0, 1.0);
        assert!((b[1].1 - 11.0).abs() < 1e-6, "{:?}", b[1]);
        assert!((b[2].1 - 101.0).abs() < 1e-6, "{:?}", b[2]);
        assert!((b[5].1 - 100_001.0).abs() < 1e-3, "{:?}", b[5]);
        assert_eq!(b[6], (100_001.0, f64::INFINITY), "overflow bucket");
        for pair in b.windows(2) {
            assert!(pair[0].1 <= pair[1].1);
        }
    }
}

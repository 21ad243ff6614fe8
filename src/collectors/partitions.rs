//! Partition horizon sanity: every declaratively partitioned parent with its children's bounds
//! (parsed from `pg_get_expr(relpartbound)`, which the agent's sessions print in UTC), the
//! cadence they follow, holes between them, the default partition, how far ahead the newest
//! one reaches, and the next range to create (with its DDL as text, never executed).
//!
//! Calendar arithmetic happens in the time zone the bounds were written in: `timestamptz`
//! bounds that fall on whole days in UTC are UTC's; bounds that fall on whole days in the
//! server's default `TimeZone` (`pg_settings.reset_val`, what a DBA's session uses) are that
//! zone's, so a daily partition in Europe/Berlin stays midnight to midnight across DST. A month
//! added to the 31st ends on the last day of the next month.
//! Range partitions over date / timestamp / timestamptz are horizon-checked; integer ranges are
//! analysed without a horizon; list, hash and inheritance children are inventoried only.

use crate::db::capabilities::qualified_name;
use serde::Serialize;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// A bound holds only constants, so `pg_get_expr` gets no relation (0): given the partition's
/// OID it would open the partition to name its columns, waiting behind any AccessExclusiveLock
/// on it (and failing the whole section with lock_timeout).
pub const PARTITIONS_SQL: &str = "\
SELECT pn.nspname::text AS parent_schema,
       p.relname::text AS parent_name,
       CASE pt.partstrat WHEN 'r' THEN 'range' WHEN 'l' THEN 'list' WHEN 'h' THEN 'hash' ELSE 'other' END AS strategy,
       pt.partnatts::int4 AS key_columns,
       (SELECT format_type(a.atttypid, NULL) FROM pg_attribute a
         WHERE a.attrelid = p.oid AND a.attnum = pt.partattrs[0]) AS key_type,
       cn.nspname::text AS child_schema,
       c.relname::text AS child_name,
       pg_get_expr(c.relpartbound, 0) AS bound
  FROM pg_partitioned_table pt
  JOIN pg_class p ON p.oid = pt.partrelid
  JOIN pg_namespace pn ON pn.oid = p.relnamespace
  LEFT JOIN pg_inherits i ON i.inhparent = p.oid
  LEFT JOIN pg_class c ON c.oid = i.inhrelid
  LEFT JOIN pg_namespace cn ON cn.oid = c.relnamespace
 WHERE pn.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 1, 2, 6, 7";

/// The zone sessions of this role and database start in (the agent's own sessions SET UTC).
pub const SERVER_TIME_ZONE_SQL: &str = "SELECT reset_val AS time_zone FROM pg_settings WHERE name = 'TimeZone'";

pub const INHERITANCE_SQL: &str = "\
SELECT pn.nspname::text AS parent_schema, p.relname::text AS parent_name, count(*)::int8 AS children
  FROM pg_inherits i
  JOIN pg_class p ON p.oid = i.inhparent
  JOIN pg_namespace pn ON pn.oid = p.relnamespace
 WHERE p.relkind = 'r' AND pn.nspname NOT IN ('pg_catalog', 'information_schema')
 GROUP BY 1, 2
 ORDER BY 1, 2";

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionRow {
    pub parent_schema: String,
    pub parent_name: String,
    pub strategy: String,
    pub key_columns: i32,
    pub key_type: Option<String>,
    pub child_schema: Option<String>,
    pub child_name: Option<String>,
    pub bound: Option<String>,
}

/// One side of a range bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BoundValue {
    /// Seconds since the Unix epoch (UTC).
    Time(i64),
    Int(i64),
    MinValue,
    MaxValue,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Range(BoundValue, BoundValue),
    Default,
    /// List, hash, or a multi-column range: inventoried only.
    Other,
}

/// Parses `FOR VALUES FROM (x) TO (y)` / `DEFAULT` / anything else.
pub fn parse_bound(text: &str) -> Bound {
    let text = text.trim();
    if text == "DEFAULT" {
        return Bound::Default;
    }
    let Some(rest) = text.strip_prefix("FOR VALUES FROM (") else {
        return Bound::Other;
    };
    let Some((from, to)) = rest.split_once(") TO (") else {
        return Bound::Other;
    };
    let to = to.strip_suffix(')').unwrap_or(to);
    if split_values(from).len() != 1 || split_values(to).len() != 1 {
        return Bound::Other;
    }
    Bound::Range(parse_value(from), parse_value(to))
}

fn split_values(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            ',' if !quoted => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

fn parse_value(v: &str) -> BoundValue {
    let v = v.trim();
    match v {
        "MINVALUE" => return BoundValue::MinValue,
        "MAXVALUE" => return BoundValue::MaxValue,
        _ => {}
    }
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        let inner = inner.replace("''", "'");
        return parse_time(&inner)
            .map(BoundValue::Time)
            .or_else(|| inner.parse().ok().map(BoundValue::Int))
            .unwrap_or(BoundValue::Other);
    }
    v.parse().map(BoundValue::Int).unwrap_or(BoundValue::Other)
}

/// The civil (UTC) date and time `v` seconds after 1970-01-01 00:00; `None` outside the years
/// jiff covers (-9999..=9999).
fn civil(v: i64) -> Option<jiff::civil::DateTime> {
    jiff::Timestamp::from_second(v)
        .ok()
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).datetime())
}

/// Seconds from 1970-01-01 00:00 to the civil date and time `dt` (read as UTC).
fn civil_seconds(dt: jiff::civil::DateTime) -> Option<i64> {
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// `YYYY-MM-DD[ HH:MM[:SS[.frac]]][±HH[:MM]]` → epoch seconds (UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 10 || s.as_bytes().get(4) != Some(&b'-') || s.as_bytes().get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d): (i16, i8, i8) = (s[0..4].parse().ok()?, s[5..7].parse().ok()?, s[8..10].parse().ok()?);
    let date = jiff::civil::Date::new(y, m, d).ok()?;
    let mut secs = civil_seconds(date.to_datetime(jiff::civil::Time::midnight()))?;
    let rest = s[10..].trim_start_matches(['T', ' ']);
    if rest.is_empty() {
        return Some(secs);
    }
    let tz_at = rest.find(['+', '-']).unwrap_or(rest.len());
    let (clock, tz) = rest.split_at(tz_at);
    let mut parts = clock.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let mi: i64 = parts.next().unwrap_or("0").parse().ok()?;
    let sec: f64 = parts.next().unwrap_or("0").parse().ok()?;
    secs += h * 3600 + mi * 60 + sec as i64;
    if !tz.is_empty() {
        let sign = if tz.starts_with('-') { -1 } else { 1 };
        let mut tzp = tz[1..].split(':');
        let th: i64 = tzp.next()?.parse().ok()?;
        let tm: i64 = tzp.next().unwrap_or("0").parse().ok()?;
        secs -= sign * (th * 3600 + tm * 60);
    }
    Some(secs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
    /// A fixed width that is none of the above, in seconds (or integer units).
    Fixed,
}

/// Classifies a typical partition width (seconds).
pub fn cadence_of(width_seconds: i64) -> Cadence {
    const DAY: i64 = 86_400;
    match width_seconds {
        3600 => Cadence::Hourly,
        DAY => Cadence::Daily,
        w if w == 7 * DAY => Cadence::Weekly,
        w if (28 * DAY..=31 * DAY).contains(&w) => Cadence::Monthly,
        w if (89 * DAY..=92 * DAY).contains(&w) => Cadence::Quarterly,
        w if (365 * DAY..=366 * DAY).contains(&w) => Cadence::Yearly,
        _ => Cadence::Fixed,
    }
}

/// The end of the next range after `from`: calendar months for monthly/quarterly/yearly.
pub fn advance(from: i64, cadence: Cadence, width_seconds: i64) -> i64 {
    let months = match cadence {
        Cadence::Monthly => 1,
        Cadence::Quarterly => 3,
        Cadence::Yearly => 12,
        _ => return from + width_seconds,
    };
    // jiff clamps the day: the 31st plus a month is the last day of the next month, as
    // PostgreSQL's `+ interval '1 month'`.
    civil(from)
        .and_then(|dt| dt.checked_add(jiff::Span::new().months(months)).ok())
        .and_then(civil_seconds)
        .unwrap_or(from + width_seconds)
}

/// A time zone `timestamptz` bounds are read and extended in, by its PostgreSQL name.
#[derive(Debug, Clone)]
pub struct KeyZone {
    pub name: String,
    tz: jiff::tz::TimeZone,
}

impl KeyZone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// An IANA name or a POSIX TZ string; `None` when this build does not know it.
    pub fn named(name: &str) -> Option<Self> {
        let tz = jiff::tz::TimeZone::get(name)
            .or_else(|_| jiff::tz::TimeZone::posix(name))
            .ok()?;
        Some(Self { name: name.into(), tz })
    }

    /// Seconds east of UTC at the instant `epoch`.
    fn offset_at(&self, epoch: i64) -> i64 {
        jiff::Timestamp::from_second(epoch).map_or(0, |t| i64::from(self.tz.to_offset(t).seconds()))
    }

    /// The wall clock at `epoch`, as seconds since 1970-01-01 00:00 on that clock.
    fn to_wall(&self, epoch: i64) -> i64 {
        epoch + self.offset_at(epoch)
    }

    /// The instant a wall-clock time names (the later offset in a gap, the earlier in a fold).
    fn to_epoch(&self, wall: i64) -> i64 {
        let civil = jiff::Timestamp::from_second(wall).map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).datetime());
        civil
            .ok()
            .and_then(|dt| self.tz.to_ambiguous_timestamp(dt).compatible().ok())
            .map_or(wall - self.offset_at(wall), |t| t.as_second())
    }

    fn whole_days(&self, epochs: impl IntoIterator<Item = i64>) -> bool {
        epochs.into_iter().all(|e| self.to_wall(e).rem_euclid(86_400) == 0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Hole {
    pub after: String,
    pub before: String,
    pub from: String,
    pub to: String,
    pub seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NextRange {
    pub name: String,
    pub from: String,
    pub to: String,
    /// For the operator to run; pgmon never executes it.
    pub ddl: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PartitionedParent {
    /// `schema.table` as PostgreSQL quotes it ([`qualified_name`]): the `parent` label.
    pub parent: String,
    /// range, list, hash, or inheritance.
    pub strategy: String,
    pub key_type: Option<String>,
    /// "time", "integer", or null when not horizon-checkable.
    pub key_kind: Option<&'static str>,
    pub children: usize,
    pub default_partition: Option<String>,
    pub oldest_lower: Option<String>,
    pub newest_upper: Option<String>,
    pub latest_partition: Option<String>,
    pub cadence: Option<Cadence>,
    pub cadence_seconds: Option<i64>,
    /// For a `timestamptz` key: the zone its bounds were written in, in which they are shown and
    /// the next range is computed (UTC, or the server's default `TimeZone`).
    pub bounds_time_zone: Option<String>,
    /// newest upper bound − now (negative when already behind).
    pub future_gap_seconds: Option<f64>,
    /// The newest upper bound is closer than `partition_horizon_days`.
    pub missing_future: Option<bool>,
    pub holes: Vec<Hole>,
    pub suggested_next: Option<NextRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Date,
    Timestamp,
    TimestampTz,
    Integer,
}

fn key_kind(key_type: Option<&str>) -> Option<KeyKind> {
    match key_type? {
        "date" => Some(KeyKind::Date),
        "timestamp without time zone" => Some(KeyKind::Timestamp),
        "timestamp with time zone" => Some(KeyKind::TimestampTz),
        "smallint" | "integer" | "bigint" => Some(KeyKind::Integer),
        _ => None,
    }
}

/// `v` on the wall clock of `zone` (used for `timestamptz` only), as PostgreSQL prints it.
fn format_value(v: i64, kind: KeyKind, zone: &KeyZone) -> String {
    if kind == KeyKind::Integer {
        return v.to_string();
    }
    let Some(dt) = civil(v) else {
        return v.to_string();
    };
    let date = dt.date().strftime("%Y-%m-%d").to_string();
    let clock = dt.time().strftime("%H:%M:%S").to_string();
    match kind {
        KeyKind::Date => date,
        KeyKind::Timestamp => format!("{date} {clock}"),
        _ => {
            let offset = v - zone.to_epoch(v);
            let (sign, abs) = (if offset < 0 { '-' } else { '+' }, offset.abs());
            let (h, mi, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
            match (mi, s) {
                (0, 0) => format!("{date} {clock}{sign}{h:02}"),
                (_, 0) => format!("{date} {clock}{sign}{h:02}:{mi:02}"),
                _ => format!("{date} {clock}{sign}{h:02}:{mi:02}:{s:02}"),
            }
        }
    }
}

fn child_suffix(v: i64, kind: KeyKind, cadence: Cadence) -> String {
    if kind == KeyKind::Integer {
        return v.to_string();
    }
    let Some(dt) = civil(v) else {
        return v.to_string();
    };
    let pattern = match cadence {
        Cadence::Yearly => "%Y",
        Cadence::Monthly | Cadence::Quarterly => "%Y%m",
        Cadence::Hourly => "%Y%m%d%H",
        _ => "%Y%m%d",
    };
    dt.strftime(pattern).to_string()
}

/// What [`collect`] reads: the declarative partitions, inheritance parents with their child
/// counts, and the server's default time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionCatalog {
    pub rows: Vec<PartitionRow>,
    pub inheritance: Vec<(String, String, i64)>,
    pub server_time_zone: String,
}

/// Groups rows by parent and analyses each against `now` (epoch seconds).
pub fn analyse(catalog: &PartitionCatalog, now: i64, horizon_days: u32) -> Vec<PartitionedParent> {
    let server_zone = KeyZone::named(&catalog.server_time_zone);
    let (rows, inheritance) = (&catalog.rows, &catalog.inheritance);
    let mut by_parent: BTreeMap<(String, String), Vec<&PartitionRow>> = BTreeMap::new();
    for r in rows {
        by_parent
            .entry((r.parent_schema.clone(), r.parent_name.clone()))
            .or_default()
            .push(r);
    }
    let mut out: Vec<PartitionedParent> = by_parent
        .into_iter()
        .map(|((schema, name), children)| {
            analyse_parent(&schema, &name, &children, now, horizon_days, server_zone.as_ref())
        })
        .collect();
    out.extend(
        inheritance.iter().map(|(schema, name, count)| {
            PartitionedParent::inventory(schema, name, "inheritance", None, *count as usize)
        }),
    );
    out
}

impl PartitionedParent {
    /// A parent with its children counted and nothing analysed yet.
    fn inventory(schema: &str, name: &str, strategy: &str, key_type: Option<String>, children: usize) -> Self {
        Self {
            parent: qualified_name(schema, name),
            strategy: strategy.into(),
            key_type,
            key_kind: None,
            children,
            default_partition: None,
            oldest_lower: None,
            newest_upper: None,
            latest_partition: None,
            cadence: None,
            cadence_seconds: None,
            bounds_time_zone: None,
            future_gap_seconds: None,
            missing_future: None,
            holes: Vec::new(),
            suggested_next: None,
        }
    }
}

fn analyse_parent(
    schema: &str,
    name: &str,
    children: &[&PartitionRow],
    now: i64,
    horizon_days: u32,
    server_zone: Option<&KeyZone>,
) -> PartitionedParent {
    let first = children[0];
    let kind = if first.strategy == "range" && first.key_columns == 1 {
        key_kind(first.key_type.as_deref())
    } else {
        None
    };
    let child_count = children.iter().filter(|c| c.child_name.is_some()).count();
    let mut parent = PartitionedParent::inventory(schema, name, &first.strategy, first.key_type.clone(), child_count);
    parent.key_kind = kind.map(|k| if k == KeyKind::Integer { "integer" } else { "time" });
    let child_name = |c: &PartitionRow| {
        qualified_name(
            c.child_schema.as_deref().unwrap_or(""),
            c.child_name.as_deref().unwrap_or(""),
        )
    };
    // (lower, upper, name) of bounded ranges; unbounded ends are kept out of the cadence.
    let mut ranges: Vec<(i64, i64, String)> = Vec::new();
    for c in children.iter().filter(|c| c.child_name.is_some()) {
        match parse_bound(c.bound.as_deref().unwrap_or("")) {
            Bound::Default => parent.default_partition = Some(child_name(c)),
            Bound::Range(lo, hi) => {
                let value = |v: BoundValue| match v {
                    BoundValue::Time(t) | BoundValue::Int(t) => Some(t),
                    _ => None,
                };
                if let (Some(lo), Some(hi)) = (value(lo), value(hi)) {
                    ranges.push((lo, hi, child_name(c)));
                }
            }
            Bound::Other => {}
        }
    }
    let Some(kind) = kind else { return parent };
    if ranges.is_empty() {
        return parent;
    }
    // From here on times are on the wall clock of the zone the bounds were written in.
    let utc = KeyZone::utc();
    let zone = match server_zone {
        Some(server) if kind == KeyKind::TimestampTz => {
            let bounds = || ranges.iter().flat_map(|r| [r.0, r.1]);
            if !utc.whole_days(bounds()) && server.whole_days(bounds()) {
                server.clone()
            } else {
                utc
            }
        }
        _ => utc,
    };
    if kind == KeyKind::TimestampTz {
        parent.bounds_time_zone = Some(zone.name.clone());
        for r in &mut ranges {
            (r.0, r.1) = (zone.to_wall(r.0), zone.to_wall(r.1));
        }
    }
    let format_value = |v: i64, kind: KeyKind| format_value(v, kind, &zone);
    ranges.sort();
    parent.oldest_lower = Some(format_value(ranges[0].0, kind));
    let newest = ranges
        .iter()
        .max_by_key(|r| r.1)
        .cloned()
        .unwrap_or_else(|| ranges[0].clone());
    parent.newest_upper = Some(format_value(newest.1, kind));
    parent.latest_partition = Some(newest.2.clone());
    for pair in ranges.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        if prev.1 < next.0 {
            parent.holes.push(Hole {
                after: prev.2.clone(),
                before: next.2.clone(),
                from: format_value(prev.1, kind),
                to: format_value(next.0, kind),
                seconds: (kind != KeyKind::Integer).then_some(next.0 - prev.1),
            });
        }
    }
    let mut widths: Vec<i64> = ranges.iter().map(|r| r.1 - r.0).collect();
    widths.sort();
    let width = widths[widths.len() / 2];
    let cadence = if kind == KeyKind::Integer {
        Cadence::Fixed
    } else {
        cadence_of(width)
    };
    parent.cadence = Some(cadence);
    parent.cadence_seconds = Some(width);
    if kind != KeyKind::Integer {
        let newest_epoch = if kind == KeyKind::TimestampTz {
            zone.to_epoch(newest.1)
        } else {
            newest.1
        };
        let gap = (newest_epoch - now) as f64;
        parent.future_gap_seconds = Some(gap);
        parent.missing_future = Some(gap < f64::from(horizon_days) * 86_400.0);
    }
    let next_from = newest.1;
    let next_to = advance(next_from, cadence, width);
    let child = format!("{name}_p{}", child_suffix(next_from, kind, cadence));
    let (from, to) = (format_value(next_from, kind), format_value(next_to, kind));
    let literal = |v: &str| {
        if kind == KeyKind::Integer {
            v.to_string()
        } else {
            format!("'{v}'")
        }
    };
    parent.suggested_next = Some(NextRange {
        ddl: format!(
            "CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({});",
            qualified_name(schema, &child),
            parent.parent,
            literal(&from),
            literal(&to)
        ),
        name: qualified_name(schema, &child),
        from,
        to,
    });
    parent
}

/// What the partition catalog is read from: writes to pg_class, pg_inherits,
/// pg_partitioned_table and pg_namespace as the statistics count them (a partition attached,
/// detached, created, dropped or renamed moves it), and this session with the time it last
/// loaded the configuration files (the server's time zone). NULL with `track_counts` off.
pub const PARTITION_CATALOG_KEY_SQL: &str = "\
SELECT CASE WHEN current_setting('track_counts')::bool
            THEN (SELECT sum(pg_stat_get_tuples_inserted(c) + pg_stat_get_tuples_updated(c) + pg_stat_get_tuples_deleted(c))::text
                    FROM unnest('{pg_catalog.pg_class,pg_catalog.pg_inherits,pg_catalog.pg_partitioned_table,pg_catalog.pg_namespace}'::regclass[]) AS c)
                 || ' ' || pg_backend_pid()::text || ' ' || pg_conf_load_time()::text
       END AS catalog_key";

/// The partition catalog as last read, and the key it was read at: partition bounds are read
/// again only when [`PARTITION_CATALOG_KEY_SQL`] moves (13 ms a run for 1,000 partitions), and
/// every run before PostgreSQL 15
/// ([`write_counts_are_prompt`](crate::db::privileges::write_counts_are_prompt)).
#[derive(Debug, Default)]
pub struct CatalogCache {
    key: Option<String>,
    catalog: Option<PartitionCatalog>,
}

/// The partition catalog: the cached one while its key holds, else read afresh.
pub async fn collect_cached(
    client: &Client,
    server_version_num: i32,
    cache: &mut CatalogCache,
) -> Result<PartitionCatalog, tokio_postgres::Error> {
    if !crate::db::privileges::write_counts_are_prompt(server_version_num) {
        return collect(client).await;
    }
    let key: Option<String> = client
        .query_one(PARTITION_CATALOG_KEY_SQL, &[])
        .await?
        .try_get("catalog_key")?;
    if let (Some(key), Some(catalog)) = (&key, &cache.catalog) {
        if cache.key.as_ref() == Some(key) {
            return Ok(catalog.clone());
        }
    }
    let catalog = collect(client).await?;
    *cache = CatalogCache {
        key,
        catalog: Some(catalog.clone()),
    };
    Ok(catalog)
}

pub async fn collect(client: &Client) -> Result<PartitionCatalog, tokio_postgres::Error> {
    let (declarative, inheritance, zone) = tokio::join!(
        client.query(PARTITIONS_SQL, &[]),
        client.query(INHERITANCE_SQL, &[]),
        client.query_opt(SERVER_TIME_ZONE_SQL, &[])
    );
    let rows = declarative?
        .iter()
        .map(|r| {
            Ok(PartitionRow {
                parent_schema: r.try_get("parent_schema")?,
                parent_name: r.try_get("parent_name")?,
                strategy: r.try_get("strategy")?,
                key_columns: r.try_get("key_columns")?,
                key_type: r.try_get("key_type")?,
                child_schema: r.try_get("child_schema")?,
                child_name: r.try_get("child_name")?,
                bound: r.try_get("bound")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let inheritance = inheritance?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("parent_schema")?,
                r.try_get("parent_name")?,
                r.try_get("children")?,
            ))
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let server_time_zone = match zone? {
        Some(row) => row.try_get::<_, Option<String>>("time_zone")?,
        None => None,
    };
    Ok(PartitionCatalog {
        rows,
        inheritance,
        server_time_zone: server_time_zone.unwrap_or_else(|| "UTC".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        parse_time(s).unwrap()
    }

    fn row(child: &str, bound: &str, key_type: &str) -> PartitionRow {
        PartitionRow {
            parent_schema: "public".into(),
            parent_name: "events".into(),
            strategy: "range".into(),
            key_columns: 1,
            key_type: Some(key_type.into()),
            child_schema: Some("public".into()),
            child_name: Some(child.into()),
            bound: Some(bound.into()),
        }
    }

    fn catalog(rows: &[PartitionRow], inheritance: &[(String, String, i64)]) -> PartitionCatalog {
        in_zone(rows, inheritance, "UTC")
    }

    fn in_zone(rows: &[PartitionRow], inheritance: &[(String, String, i64)], zone: &str) -> PartitionCatalog {
        PartitionCatalog {
            rows: rows.to_vec(),
            inheritance: inheritance.to_vec(),
            server_time_zone: zone.into(),
        }
    }

    fn daily(day: &str, next: &str) -> PartitionRow {
        row(
            &format!("events_{}", day.replace('-', "")),
            &format!("FOR VALUES FROM ('{day}') TO ('{next}')"),
            "date",
        )
    }

    #[test]
    fn parses_every_bound_shape() {
        assert_eq!(
            parse_bound("FOR VALUES FROM ('2024-01-01') TO ('2024-01-02')"),
            Bound::Range(BoundValue::Time(t("2024-01-01")), BoundValue::Time(t("2024-01-02")))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-01 05:30:00+05:30')"),
            Bound::Range(BoundValue::Time(1_704_067_200), BoundValue::Time(1_704_067_200))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM (MINVALUE) TO (1000)"),
            Bound::Range(BoundValue::MinValue, BoundValue::Int(1000))
        );
        assert_eq!(parse_bound("DEFAULT"), Bound::Default);
        assert_eq!(parse_bound("FOR VALUES IN ('eu', 'us')"), Bound::Other);
        assert_eq!(parse_bound("FOR VALUES WITH (modulus 4, remainder 1)"), Bound::Other);
        assert_eq!(
            parse_bound("FOR VALUES FROM (1, 'a') TO (2, 'b')"),
            Bound::Other,
            "multi-column"
        );
    }

    #[test]
    fn civil_times_read_and_print_at_known_epochs() {
        assert_eq!(t("1970-01-01"), 0);
        assert_eq!(t("2000-03-01 12:00:00"), 951_912_000);
        assert_eq!(t("1969-12-31 23:00"), -3_600);
        assert_eq!(parse_time("2026-02-30"), None, "no such day");
        let utc = KeyZone::utc();
        assert_eq!(
            format_value(951_912_000, KeyKind::Timestamp, &utc),
            "2000-03-01 12:00:00"
        );
        assert_eq!(format_value(-86_400, KeyKind::Date, &utc), "1969-12-31");
        assert_eq!(
            child_suffix(t("2026-12-01 07:00"), KeyKind::Timestamp, Cadence::Hourly),
            "2026120107"
        );
    }

    #[test]
    fn daily_partitions_ending_within_horizon_are_flagged_with_next_range() {
        let rows = vec![
            daily("2024-03-01", "2024-03-02"),
            daily("2024-03-02", "2024-03-03"),
            daily("2024-03-03", "2024-03-04"),
        ];
        let now = t("2024-03-02 12:00:00");
        let p = &analyse(&catalog(&rows, &[]), now, 7)[0];
        assert_eq!(p.parent, "public.events");
        assert_eq!(p.cadence, Some(Cadence::Daily));
        assert_eq!(p.newest_upper.as_deref(), Some("2024-03-04"));
        assert_eq!(p.future_gap_seconds, Some(36.0 * 3600.0));
        assert_eq!(p.missing_future, Some(true));
        let next = p.suggested_next.as_ref().unwrap();
        assert_eq!((next.from.as_str(), next.to.as_str()), ("2024-03-04", "2024-03-05"));
        assert_eq!(next.ddl, "CREATE TABLE public.events_p20240304 PARTITION OF public.events FOR VALUES FROM ('2024-03-04') TO ('2024-03-05');");
        assert!(p.holes.is_empty());
    }

    #[test]
    fn partitions_well_ahead_are_not_flagged_and_holes_are_found() {
        let rows = vec![
            daily("2024-03-01", "2024-03-02"),
            daily("2024-03-04", "2024-03-05"),
            daily("2024-03-05", "2024-03-30"),
        ];
        let p = &analyse(&catalog(&rows, &[]), t("2024-03-01"), 7)[0];
        assert_eq!(p.missing_future, Some(false));
        assert_eq!(p.holes.len(), 1);
        assert_eq!(
            (p.holes[0].from.as_str(), p.holes[0].to.as_str()),
            ("2024-03-02", "2024-03-04")
        );
        assert_eq!(p.holes[0].seconds, Some(2 * 86_400));
    }

    #[test]
    fn monthly_timestamptz_next_range_follows_the_calendar() {
        let rows = vec![
            row(
                "m_jan",
                "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 00:00:00+00')",
                "timestamp with time zone",
            ),
            row(
                "m_feb",
                "FOR VALUES FROM ('2024-02-01 00:00:00+00') TO ('2024-03-01 00:00:00+00')",
                "timestamp with time zone",
            ),
            row("default", "DEFAULT", "timestamp with time zone"),
        ];
        let p = &analyse(&catalog(&rows, &[]), t("2024-01-15"), 7)[0];
        assert_eq!(p.cadence, Some(Cadence::Monthly));
        // A reserved word is quoted, as quote_ident() quotes it.
        assert_eq!(p.default_partition.as_deref(), Some("public.\"default\""));
        let next = p.suggested_next.as_ref().unwrap();
        assert_eq!(
            (next.from.as_str(), next.to.as_str()),
            ("2024-03-01 00:00:00+00", "2024-04-01 00:00:00+00")
        );
        assert_eq!(next.name, "public.events_p202403");
    }

    #[test]
    fn integer_ranges_have_no_horizon_and_list_partitions_are_inventoried() {
        let rows = vec![
            row("ids_0", "FOR VALUES FROM (0) TO (1000)", "bigint"),
            row("ids_1", "FOR VALUES FROM (1000) TO (2000)", "bigint"),
        ];
        let p = &analyse(&catalog(&rows, &[]), 0, 7)[0];
        assert_eq!(p.key_kind, Some("integer"));
        assert_eq!(p.missing_future, None);
        assert_eq!(
            p.suggested_next.as_ref().unwrap().ddl,
            "CREATE TABLE public.events_p2000 PARTITION OF public.events FOR VALUES FROM (2000) TO (3000);"
        );
        let list = PartitionRow {
            strategy: "list".into(),
            bound: Some("FOR VALUES IN ('eu')".into()),
            ..row("eu", "", "text")
        };
        let p = &analyse(&catalog(&[list], &[("public".into(), "legacy".into(), 3)]), 0, 7);
        assert_eq!(
            (p[0].strategy.as_str(), p[0].children, p[0].missing_future),
            ("list", 1, None)
        );
        assert_eq!((p[1].strategy.as_str(), p[1].children), ("inheritance", 3));
    }

    fn tstz(child: &str, from: &str, to: &str) -> PartitionRow {
        row(
            child,
            &format!("FOR VALUES FROM ('{from}') TO ('{to}')"),
            "timestamp with time zone",
        )
    }

    #[test]
    fn a_month_added_to_the_31st_ends_in_the_next_month() {
        assert_eq!(advance(t("2027-01-31"), Cadence::Monthly, 0), t("2027-02-28"));
        assert_eq!(advance(t("2028-01-31"), Cadence::Monthly, 0), t("2028-02-29"));
        assert_eq!(
            advance(t("2026-11-30 06:00"), Cadence::Quarterly, 0),
            t("2027-02-28 06:00")
        );
        assert_eq!(advance(t("2024-02-29"), Cadence::Yearly, 0), t("2025-02-28"));
        let rows = vec![
            row("m_dec", "FOR VALUES FROM ('2026-11-30') TO ('2026-12-31')", "date"),
            row("m_jan", "FOR VALUES FROM ('2026-12-31') TO ('2027-01-31')", "date"),
        ];
        let next = analyse(&catalog(&rows, &[]), t("2027-01-01"), 7)[0]
            .suggested_next
            .clone()
            .unwrap();
        assert_eq!((next.from.as_str(), next.to.as_str()), ("2027-01-31", "2027-02-28"));
    }

    #[test]
    fn bounds_written_in_the_server_zone_are_extended_in_it_across_dst() {
        // Daily partitions written at Berlin midnight (UTC+1 in winter, +2 from 29 March 2026),
        // printed by the agent's UTC session.
        let rows = vec![
            tstz("d27", "2026-03-26 23:00:00+00", "2026-03-27 23:00:00+00"),
            tstz("d28", "2026-03-27 23:00:00+00", "2026-03-28 23:00:00+00"),
        ];
        let p = &analyse(&in_zone(&rows, &[], "Europe/Berlin"), t("2026-03-28 12:00"), 7)[0];
        assert_eq!(p.bounds_time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(p.cadence, Some(Cadence::Daily));
        assert_eq!(p.newest_upper.as_deref(), Some("2026-03-29 00:00:00+01"));
        let next = p.suggested_next.as_ref().unwrap();
        // The DST day is 23 hours long: the next range still ends at Berlin midnight.
        assert_eq!(
            (next.from.as_str(), next.to.as_str(), next.name.as_str()),
            (
                "2026-03-29 00:00:00+01",
                "2026-03-30 00:00:00+02",
                "public.events_p20260329"
            )
        );
        assert_eq!(p.future_gap_seconds, Some(11.0 * 3600.0));
        // Monthly in Berlin: March to April crosses DST.
        let rows = vec![
            tstz("m_jan", "2025-12-31 23:00:00+00", "2026-01-31 23:00:00+00"),
            tstz("m_feb", "2026-01-31 23:00:00+00", "2026-02-28 23:00:00+00"),
            tstz("m_mar", "2026-02-28 23:00:00+00", "2026-03-31 22:00:00+00"),
        ];
        let p = &analyse(&in_zone(&rows, &[], "Europe/Berlin"), t("2026-03-01"), 7)[0];
        assert_eq!(p.cadence, Some(Cadence::Monthly));
        let next = p.suggested_next.as_ref().unwrap();
        assert_eq!(
            (next.from.as_str(), next.to.as_str()),
            ("2026-04-01 00:00:00+02", "2026-05-01 00:00:00+02")
        );
    }

    #[test]
    fn utc_bounds_stay_utc_whatever_the_server_zone() {
        let rows = vec![
            tstz("m_feb", "2026-02-01 00:00:00+00", "2026-03-01 00:00:00+00"),
            tstz("m_mar", "2026-03-01 00:00:00+00", "2026-04-01 00:00:00+00"),
        ];
        for zone in ["Europe/Berlin", "America/New_York", "no/such zone"] {
            let p = &analyse(&in_zone(&rows, &[], zone), t("2026-03-01"), 7)[0];
            assert_eq!(p.bounds_time_zone.as_deref(), Some("UTC"), "{zone}");
            let next = p.suggested_next.as_ref().unwrap();
            assert_eq!(
                (next.from.as_str(), next.to.as_str()),
                ("2026-04-01 00:00:00+00", "2026-05-01 00:00:00+00")
            );
        }
        // Half-hour zones print their minutes.
        let rows = vec![tstz("d1", "2026-01-01 18:30:00+00", "2026-01-02 18:30:00+00")];
        let p = &analyse(&in_zone(&rows, &[], "Asia/Kolkata"), t("2026-01-01"), 7)[0];
        assert_eq!(p.suggested_next.as_ref().unwrap().to, "2026-01-04 00:00:00+05:30");
    }
}

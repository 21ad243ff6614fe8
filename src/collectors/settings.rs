//! Configuration drift (`pg_settings`, `pg_file_settings`): every change between two runs
//! (name, old and new value, source, when seen) kept in a bounded history, the settings waiting
//! for a restart (`pending_restart`) and since when the agent sees them waiting, the lines of
//! the configuration files that failed to apply, and the settings spec §9 recommends.
//!
//! Each run reads a fingerprint first (this session, and when it last loaded the configuration
//! files) and the whole view only when it moved, so an unchanged server costs one tiny query. Values are the ones a new session
//! gets (`reset_val`): the agent's own `SET`s (timeouts, time zone) are not drift.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use tokio_postgres::Client;

/// The settings, as a new session would see them; `application_name` is per client.
pub const SETTINGS_SQL: &str = "\
SELECT name,
       COALESCE(reset_val, '') AS value,
       COALESCE(unit, '') AS unit,
       CASE WHEN source = 'session' THEN 'session default' ELSE source END AS source,
       pending_restart
  FROM pg_settings
 WHERE name <> 'application_name'
 ORDER BY name";

/// One row: whether [`SETTINGS_SQL`]'s answer may have moved, the server's clock, and whether
/// the role may read `pg_file_settings` (superusers, or an explicit grant). What a new session
/// gets changes only when a session (re)reads the configuration files, on a reload
/// (`pg_conf_load_time`), or for a new session (`ALTER DATABASE/ROLE … SET`): this session and
/// the time it last loaded the files are the fingerprint, so an unchanged server costs no read
/// of `pg_settings` at all (a digest of the view cost 0.65 ms a run).
pub const SETTINGS_FINGERPRINT_SQL: &str = "\
SELECT pg_backend_pid()::text || ' ' || pg_conf_load_time()::text AS fingerprint,
       EXTRACT(EPOCH FROM now())::float8 AS now_epoch,
       has_table_privilege('pg_catalog.pg_file_settings', 'SELECT')
         AND has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE') AS may_read_file_settings";

/// Lines of the configuration files that did not apply: errors, and values waiting for a
/// restart (`applied = false`; the last line for a name wins, as PostgreSQL reads them).
pub const FILE_SETTINGS_SQL: &str = "\
SELECT COALESCE(sourcefile, '') AS sourcefile,
       COALESCE(sourceline, 0) AS sourceline,
       COALESCE(name, '') AS name,
       COALESCE(setting, '') AS setting,
       applied,
       error
  FROM pg_file_settings
 WHERE NOT applied OR error IS NOT NULL
 ORDER BY seqno";

/// Changes kept, newest first.
pub const HISTORY_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct SettingRow {
    pub name: String,
    pub value: String,
    pub unit: String,
    pub source: String,
    pub pending_restart: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileSettingRow {
    pub sourcefile: String,
    pub sourceline: i32,
    pub name: String,
    pub setting: String,
    pub applied: bool,
    pub error: Option<String>,
}

/// A setting whose value (or source) changed between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SettingChange {
    pub name: String,
    /// As PostgreSQL shows it (`4MB`, `30s`); null when the setting was not there before.
    pub old: Option<String>,
    /// Null when the setting is gone (an extension's placeholder unloaded).
    pub new: Option<String>,
    pub old_source: Option<String>,
    /// Where the new value comes from: `configuration file`, `default`, `database`, ...
    pub source: Option<String>,
    /// When the agent saw the change (the server's clock, RFC 3339): the change happened
    /// between the previous run and this time.
    pub seen_at: String,
}

/// A setting changed in the configuration whose new value needs a restart.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PendingRestart {
    pub name: String,
    /// The value running now.
    pub running: String,
    /// The value waiting in the configuration files, when the role may read
    /// `pg_file_settings`; else null.
    pub pending: Option<String>,
    /// How long the agent has seen it waiting (a lower bound: since the agent started at most).
    pub pending_seconds: f64,
}

/// A configuration file line PostgreSQL could not apply (other than a value waiting for a
/// restart).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FileSettingError {
    pub sourcefile: String,
    pub sourceline: i32,
    pub name: String,
    pub error: String,
}

/// A spec §9 recommendation and whether the server follows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Recommendation {
    pub name: String,
    /// The value now; null when the role may not read it.
    pub value: Option<String>,
    pub recommended: String,
    pub ok: bool,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SettingsDrift {
    /// Changes the agent saw, newest first, at most [`HISTORY_LIMIT`]; empty until a second run
    /// (the first one is the baseline) and after the agent restarts.
    pub changes: Vec<SettingChange>,
    /// Changes seen since the agent started (the history may have dropped older ones).
    pub changes_observed_total: u64,
    pub pending_restart: Vec<PendingRestart>,
    /// Null when the role may not read `pg_file_settings` (see `file_errors_unavailable_reason`).
    pub file_errors: Option<Vec<FileSettingError>>,
    pub file_errors_unavailable_reason: Option<String>,
    pub recommended: Vec<Recommendation>,
    /// Settings read this run (after the fingerprint moved); 0 when unchanged since the last.
    pub settings_read: usize,
}

/// `value` in `unit` as PostgreSQL's `SHOW` prints it: memory in the largest unit that divides
/// it (kB, MB, GB, TB), time likewise (ms, s, min, h, d); anything else as it is.
pub fn show(value: &str, unit: &str) -> String {
    const MEMORY: [(&str, i64); 4] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)];
    const TIME: [(&str, i64); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let Ok(n) = value.parse::<i64>() else {
        return value.to_string();
    };
    let (scale, table): (i64, &[(&str, i64)]) = match unit {
        "B" => (1, &MEMORY),
        "kB" => (1 << 10, &MEMORY),
        "8kB" => (8 << 10, &MEMORY),
        "16MB" => (16 << 20, &MEMORY),
        "MB" => (1 << 20, &MEMORY),
        "ms" => (1, &TIME),
        "s" => (1_000, &TIME),
        "min" => (60_000, &TIME),
        "" => return value.to_string(),
        other => return format!("{value}{other}"),
    };
    if n <= 0 {
        // -1 and 0 mean "off"/"default" for most of these: keep the number with its unit.
        return format!("{value}{unit}");
    }
    let base = n.saturating_mul(scale);
    match table.iter().find(|(_, size)| base % size == 0) {
        Some((name, size)) => format!("{}{name}", base / size),
        None => format!("{base}B"),
    }
}

/// What the workload job keeps between runs.
#[derive(Debug, Default)]
pub struct SettingsWatch {
    fingerprint: Option<String>,
    /// name → (value as shown, source, pending restart), from the last full read.
    known: BTreeMap<String, (String, String, bool)>,
    history: VecDeque<SettingChange>,
    changes_total: u64,
    /// When the agent first saw each setting pending a restart (server epoch seconds).
    pending_since: HashMap<String, f64>,
}

/// The settings the spec §9 recommends, judged on what `known` holds.
fn recommendations(known: &BTreeMap<String, (String, String, bool)>) -> Vec<Recommendation> {
    let value = |name: &str| known.get(name).map(|(v, _, _)| v.clone());
    let preload = value("shared_preload_libraries");
    let has_pgss = preload
        .as_deref()
        .is_some_and(|p| p.split(',').any(|l| l.trim() == "pg_stat_statements"));
    vec![
        Recommendation {
            name: "shared_preload_libraries".into(),
            ok: has_pgss,
            value: preload,
            recommended: "includes pg_stat_statements".into(),
            fix: "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; -- then restart".into(),
        },
        Recommendation {
            name: "track_io_timing".into(),
            ok: value("track_io_timing").as_deref() == Some("on"),
            value: value("track_io_timing"),
            recommended: "on".into(),
            fix: "ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf();".into(),
        },
        Recommendation {
            name: "pg_stat_statements.track".into(),
            ok: value("pg_stat_statements.track").as_deref() == Some("all"),
            value: value("pg_stat_statements.track"),
            recommended: "all".into(),
            fix: "ALTER SYSTEM SET pg_stat_statements.track = 'all'; SELECT pg_reload_conf();".into(),
        },
    ]
}

fn rfc3339(epoch: f64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(epoch.max(0.0));
    humantime::format_rfc3339_seconds(at).to_string()
}

impl SettingsWatch {
    /// Whether this run must read the settings (the fingerprint moved, or nothing is known).
    pub fn needs_read(&self, fingerprint: &str) -> bool {
        self.fingerprint.as_deref() != Some(fingerprint)
    }

    /// Takes this run's answer: the full rows when they were read (`None` when the fingerprint
    /// did not move), the file rows when readable. The first read is the baseline.
    pub fn observe(
        &mut self,
        fingerprint: String,
        now_epoch: f64,
        rows: Option<&[SettingRow]>,
        file_rows: Option<&[FileSettingRow]>,
        file_unreadable_reason: Option<String>,
    ) -> SettingsDrift {
        let mut settings_read = 0;
        if let Some(rows) = rows {
            settings_read = rows.len();
            let current: BTreeMap<String, (String, String, bool)> = rows
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        (show(&r.value, &r.unit), r.source.clone(), r.pending_restart),
                    )
                })
                .collect();
            if self.fingerprint.is_some() {
                let seen_at = rfc3339(now_epoch);
                let names: std::collections::BTreeSet<&String> = self.known.keys().chain(current.keys()).collect();
                for name in names {
                    let before = self.known.get(name);
                    let after = current.get(name);
                    let moved = match (before, after) {
                        (Some((v0, s0, _)), Some((v1, s1, _))) => v0 != v1 || s0 != s1,
                        (None, None) => false,
                        _ => true,
                    };
                    if moved {
                        self.changes_total += 1;
                        self.history.push_front(SettingChange {
                            name: name.clone(),
                            old: before.map(|b| b.0.clone()),
                            new: after.map(|a| a.0.clone()),
                            old_source: before.map(|b| b.1.clone()),
                            source: after.map(|a| a.1.clone()),
                            seen_at: seen_at.clone(),
                        });
                    }
                }
                self.history.truncate(HISTORY_LIMIT);
            }
            self.known = current;
        }
        self.fingerprint = Some(fingerprint);

        let waiting: HashMap<&str, &str> = file_rows
            .into_iter()
            .flatten()
            .filter(|f| !f.applied && f.error.as_deref() == Some("setting could not be applied"))
            .map(|f| (f.name.as_str(), f.setting.as_str()))
            .collect();
        self.pending_since
            .retain(|name, _| self.known.get(name).is_some_and(|(_, _, pending)| *pending));
        let mut pending_restart = Vec::new();
        for (name, (value, _, pending)) in &self.known {
            if !*pending {
                continue;
            }
            let since = *self.pending_since.entry(name.clone()).or_insert(now_epoch);
            pending_restart.push(PendingRestart {
                name: name.clone(),
                running: value.clone(),
                pending: waiting.get(name.as_str()).map(|s| s.to_string()),
                pending_seconds: (now_epoch - since).max(0.0),
            });
        }
        let file_errors = file_rows.map(|rows| {
            rows.iter()
                .filter(|f| f.error.as_deref().is_some_and(|e| e != "setting could not be applied"))
                .map(|f| FileSettingError {
                    sourcefile: f.sourcefile.clone(),
                    sourceline: f.sourceline,
                    name: f.name.clone(),
                    error: f.error.clone().unwrap_or_default(),
                })
                .collect()
        });
        SettingsDrift {
            changes: self.history.iter().cloned().collect(),
            changes_observed_total: self.changes_total,
            pending_restart,
            file_errors,
            file_errors_unavailable_reason: file_unreadable_reason,
            recommended: recommendations(&self.known),
            settings_read,
        }
    }
}

/// Reads the fingerprint, the settings when it moved, and the file errors when readable.
pub async fn collect(
    client: &Client,
    watch: &mut SettingsWatch,
    role: &str,
) -> Result<SettingsDrift, tokio_postgres::Error> {
    let probe = client.query_one(SETTINGS_FINGERPRINT_SQL, &[]).await?;
    let fingerprint: Option<String> = probe.try_get("fingerprint")?;
    let fingerprint = fingerprint.unwrap_or_default();
    let now_epoch: f64 = probe.try_get("now_epoch")?;
    let may_read_files: bool = probe.try_get("may_read_file_settings")?;
    let rows = if watch.needs_read(&fingerprint) {
        let rows = client.query(SETTINGS_SQL, &[]).await?;
        Some(
            rows.iter()
                .map(|r| {
                    Ok(SettingRow {
                        name: r.try_get("name")?,
                        value: r.try_get("value")?,
                        unit: r.try_get("unit")?,
                        source: r.try_get("source")?,
                        pending_restart: r.try_get("pending_restart")?,
                    })
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()?,
        )
    } else {
        None
    };
    let (file_rows, unreadable) = if may_read_files {
        let rows = client.query(FILE_SETTINGS_SQL, &[]).await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(FileSettingRow {
                    sourcefile: r.try_get("sourcefile")?,
                    sourceline: r.try_get("sourceline")?,
                    name: r.try_get("name")?,
                    setting: r.try_get("setting")?,
                    applied: r.try_get("applied")?,
                    error: r.try_get("error")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
        (Some(rows), None)
    } else {
        let role = crate::db::capabilities::quote_ident(role);
        (
            None,
            Some(format!(
                "pg_file_settings is readable by superusers only by default; in this database: GRANT SELECT ON pg_file_settings TO {role}; GRANT EXECUTE ON FUNCTION pg_show_all_file_settings() TO {role};"
            )),
        )
    };
    Ok(watch.observe(
        fingerprint,
        now_epoch,
        rows.as_deref(),
        file_rows.as_deref(),
        unreadable,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_800_000_000.0;

    fn row(name: &str, value: &str, unit: &str, pending: bool) -> SettingRow {
        SettingRow {
            name: name.into(),
            value: value.into(),
            unit: unit.into(),
            source: "configuration file".into(),
            pending_restart: pending,
        }
    }

    #[test]
    fn values_read_as_show_prints_them() {
        assert_eq!(show("4096", "kB"), "4MB");
        assert_eq!(show("16384", "8kB"), "128MB");
        assert_eq!(show("1000", "kB"), "1000kB");
        assert_eq!(show("30000", "ms"), "30s");
        assert_eq!(show("300", "s"), "5min");
        assert_eq!(show("0", "ms"), "0ms");
        assert_eq!(show("-1", "kB"), "-1kB");
        assert_eq!(show("64", "16MB"), "1GB");
        assert_eq!(show("on", ""), "on");
    }

    #[test]
    fn the_first_read_is_the_baseline_and_a_change_is_kept_with_old_and_new() {
        let mut w = SettingsWatch::default();
        let first = w.observe(
            "a".into(),
            T0,
            Some(&[row("work_mem", "4096", "kB", false)]),
            None,
            None,
        );
        assert!(first.changes.is_empty());
        let second = w.observe(
            "b".into(),
            T0 + 60.0,
            Some(&[row("work_mem", "65536", "kB", false)]),
            None,
            None,
        );
        assert_eq!(second.changes.len(), 1);
        let c = &second.changes[0];
        assert_eq!(
            (c.name.as_str(), c.old.as_deref(), c.new.as_deref()),
            ("work_mem", Some("4MB"), Some("64MB"))
        );
        assert_eq!(c.seen_at, "2027-01-15T08:01:00Z");
        assert_eq!(second.changes_observed_total, 1);
        // An unchanged fingerprint reads nothing and keeps the history.
        assert!(!w.needs_read("b"));
        let third = w.observe("b".into(), T0 + 120.0, None, None, None);
        assert_eq!((third.changes.len(), third.settings_read), (1, 0));
    }

    #[test]
    fn pending_restart_is_timed_from_first_sight_with_the_waiting_value() {
        let mut w = SettingsWatch::default();
        let files = [FileSettingRow {
            sourcefile: "/data/postgresql.auto.conf".into(),
            sourceline: 3,
            name: "shared_buffers".into(),
            setting: "256MB".into(),
            applied: false,
            error: Some("setting could not be applied".into()),
        }];
        w.observe(
            "a".into(),
            T0,
            Some(&[row("shared_buffers", "16384", "8kB", true)]),
            Some(&files),
            None,
        );
        let later = w.observe("a".into(), T0 + 600.0, None, Some(&files), None);
        let p = &later.pending_restart[0];
        assert_eq!(
            (
                p.name.as_str(),
                p.running.as_str(),
                p.pending.as_deref(),
                p.pending_seconds
            ),
            ("shared_buffers", "128MB", Some("256MB"), 600.0)
        );
        assert_eq!(
            later.file_errors,
            Some(vec![]),
            "a value waiting for a restart is no error"
        );
        // Restarted: no longer pending, and the timer is gone.
        let after = w.observe(
            "c".into(),
            T0 + 700.0,
            Some(&[row("shared_buffers", "32768", "8kB", false)]),
            Some(&[]),
            None,
        );
        assert!(after.pending_restart.is_empty());
        assert!(w.pending_since.is_empty());
    }

    #[test]
    fn broken_lines_are_errors_and_the_history_is_bounded() {
        let mut w = SettingsWatch::default();
        let files = [
            FileSettingRow {
                sourcefile: "/etc/postgresql/postgresql.conf".into(),
                sourceline: 12,
                name: "work_mem".into(),
                setting: "lots".into(),
                applied: false,
                error: Some("setting could not be applied".into()),
            },
            FileSettingRow {
                sourcefile: "/etc/postgresql/postgresql.conf".into(),
                sourceline: 13,
                name: "shared_bufers".into(),
                setting: "1GB".into(),
                applied: false,
                error: Some("unrecognized configuration parameter".into()),
            },
        ];
        let d = w.observe("a".into(), T0, Some(&[]), Some(&files), None);
        let errors = d.file_errors.unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].name.as_str(), errors[0].sourceline), ("shared_bufers", 13));
        for i in 0..300 {
            let v = format!("{}", 4096 + i);
            w.observe(
                format!("f{i}"),
                T0 + f64::from(i),
                Some(&[row("work_mem", &v, "kB", false)]),
                None,
                None,
            );
        }
        let d = w.observe("z".into(), T0 + 400.0, None, None, None);
        assert_eq!((d.changes.len(), d.changes_observed_total), (HISTORY_LIMIT, 300));
    }

    #[test]
    fn recommendations_follow_spec_section_9() {
        let known: BTreeMap<String, (String, String, bool)> = [
            ("shared_preload_libraries", "auto_explain, pg_stat_statements"),
            ("track_io_timing", "off"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), (v.to_string(), "configuration file".to_string(), false)))
        .collect();
        let r = recommendations(&known);
        assert_eq!(
            r.iter().map(|x| (x.name.as_str(), x.ok)).collect::<Vec<_>>(),
            [
                ("shared_preload_libraries", true),
                ("track_io_timing", false),
                ("pg_stat_statements.track", false),
            ]
        );
        assert_eq!(r[2].value, None, "not loaded: no such setting");
    }
}

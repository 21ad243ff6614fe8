//! What the monitored server can tell us: version, extensions, role membership and the
//! settings spec §9 recommends. Detected on the first successful connection (and again after
//! the database comes back), reported once, and never a reason to stop.

use serde::Serialize;
use tokio_postgres::Client;

pub const CAPABILITIES_SQL: &str = "\
SELECT current_setting('server_version_num')::int AS server_version_num,
       current_setting('server_version') AS server_version,
       current_database() AS database,
       current_user::text AS role,
       pg_is_in_recovery() AS in_recovery,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS has_pg_monitor,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS shared_preload_libraries,
       (SELECT setting FROM pg_settings WHERE name = 'track_io_timing') AS track_io_timing,
       (SELECT setting FROM pg_settings WHERE name = 'pg_stat_statements.track') AS pgss_track,
       ARRAY(SELECT extname::text FROM pg_extension ORDER BY extname) AS extensions,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS pg_stat_statements_version";

/// What the hot path re-reads on every run to notice privileges granted or revoked while the
/// agent runs: when it differs from the detected capabilities, they are detected again.
pub const PRIVILEGE_PROBE_SQL: &str = "\
SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS has_pg_monitor";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Capabilities {
    pub server_version_num: i32,
    pub server_version: String,
    pub database: String,
    pub role: String,
    pub in_recovery: bool,
    pub is_superuser: bool,
    pub has_pg_monitor: bool,
    /// `None` when the role may not read it (it needs pg_read_all_settings, part of pg_monitor).
    pub shared_preload_libraries: Option<String>,
    pub track_io_timing: Option<String>,
    pub pg_stat_statements_track: Option<String>,
    pub extensions: Vec<String>,
    /// The installed pg_stat_statements version (its columns changed in 1.8 and 1.9).
    pub pg_stat_statements_version: Option<String>,
}

/// Something missing that limits what pgmon can show, with the exact fix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Advisory {
    pub code: &'static str,
    pub message: String,
    pub fix: String,
}

impl Capabilities {
    pub async fn detect(client: &Client) -> Result<Capabilities, tokio_postgres::Error> {
        let row = client.query_one(CAPABILITIES_SQL, &[]).await?;
        Ok(Capabilities {
            server_version_num: row.try_get("server_version_num")?,
            server_version: row.try_get("server_version")?,
            database: row.try_get("database")?,
            role: row.try_get("role")?,
            in_recovery: row.try_get("in_recovery")?,
            is_superuser: row.try_get("is_superuser")?,
            has_pg_monitor: row.try_get("has_pg_monitor")?,
            shared_preload_libraries: row.try_get("shared_preload_libraries")?,
            track_io_timing: row.try_get("track_io_timing")?,
            pg_stat_statements_track: row.try_get("pgss_track")?,
            extensions: row.try_get("extensions")?,
            pg_stat_statements_version: row.try_get("pg_stat_statements_version")?,
        })
    }

    /// Whether the role's superuser flag or pg_monitor membership changed since detection.
    pub async fn privileges_changed(&self, client: &Client) -> Result<bool, tokio_postgres::Error> {
        let row = client.query_one(PRIVILEGE_PROBE_SQL, &[]).await?;
        let is_superuser: bool = row.try_get("is_superuser")?;
        let has_pg_monitor: bool = row.try_get("has_pg_monitor")?;
        Ok(is_superuser != self.is_superuser || has_pg_monitor != self.has_pg_monitor)
    }

    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e == name)
    }

    pub fn major_version(&self) -> i32 {
        self.server_version_num / 10000
    }

    /// pg_stat_statements' version as (major, minor), e.g. "1.10" -> (1, 10).
    pub fn pg_stat_statements_version(&self) -> Option<(u32, u32)> {
        let v = self.pg_stat_statements_version.as_deref()?;
        let (major, minor) = v.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    }

    /// Whether pg_stat_statements can be read: installed here and (as far as we can see)
    /// preloaded. `Err` carries the reason and the fix.
    pub fn pg_stat_statements_usable(&self) -> Result<(), String> {
        if !self.has_extension("pg_stat_statements") {
            return Err(format!(
                "pg_stat_statements is not installed in database {}: CREATE EXTENSION pg_stat_statements;",
                quote_ident(&self.database)
            ));
        }
        if self.preloads("pg_stat_statements") == Some(false) {
            return Err("pg_stat_statements is installed but not preloaded: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; then restart PostgreSQL".into());
        }
        Ok(())
    }

    fn preloads(&self, library: &str) -> Option<bool> {
        self.shared_preload_libraries
            .as_deref()
            .map(|libs| libs.split(',').any(|l| l.trim().trim_matches('"') == library))
    }

    /// What is missing, each with the command that fixes it.
    pub fn advisories(&self) -> Vec<Advisory> {
        let mut out = Vec::new();
        let role = quote_ident(&self.role);
        if !self.has_pg_monitor && !self.is_superuser {
            out.push(Advisory {
                code: "missing_pg_monitor",
                message: format!(
                    "role {role} is not a member of pg_monitor: other sessions' states, queries and some statistics are hidden"
                ),
                fix: format!("GRANT pg_monitor TO {role};"),
            });
        }
        match self.preloads("pg_stat_statements") {
            Some(false) => out.push(Advisory {
                code: "pg_stat_statements_not_preloaded",
                message: "pg_stat_statements is not in shared_preload_libraries: top queries, QPS and latency are unavailable".into(),
                fix: "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; -- then restart PostgreSQL (append to any libraries already listed)".into(),
            }),
            None => out.push(Advisory {
                code: "settings_unreadable",
                message: format!("role {role} cannot read shared_preload_libraries, so pgmon cannot check that pg_stat_statements is preloaded"),
                fix: format!("GRANT pg_read_all_settings TO {role}; -- included in pg_monitor"),
            }),
            Some(true) => {}
        }
        if !self.has_extension("pg_stat_statements") {
            out.push(Advisory {
                code: "pg_stat_statements_not_installed",
                message: format!(
                    "extension pg_stat_statements is not installed in database {}",
                    quote_ident(&self.database)
                ),
                fix: "CREATE EXTENSION pg_stat_statements;".into(),
            });
        }
        if self.track_io_timing.as_deref() == Some("off") {
            out.push(Advisory {
                code: "track_io_timing_off",
                message: "track_io_timing is off: statement I/O time is not measured".into(),
                fix: "ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf();".into(),
            });
        }
        if let Some(track) = self.pg_stat_statements_track.as_deref() {
            if track != "all" {
                out.push(Advisory {
                    code: "pg_stat_statements_track_not_all",
                    message: format!("pg_stat_statements.track = {track}: statements inside functions are not counted"),
                    fix: "ALTER SYSTEM SET pg_stat_statements.track = 'all'; SELECT pg_reload_conf();".into(),
                });
            }
        }
        if !self.has_extension("pgstattuple") {
            out.push(Advisory {
                code: "pgstattuple_not_installed",
                message: "extension pgstattuple is not installed: bloat is estimated from statistics only, not sampled"
                    .into(),
                fix: "CREATE EXTENSION pgstattuple; GRANT pg_stat_scan_tables TO ".to_string() + &role + ";",
            });
        }
        out
    }
}

/// Quotes an identifier the way PostgreSQL's quote_ident does, for fix commands.
pub fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            server_version_num: 150004,
            server_version: "15.4".into(),
            database: "app".into(),
            role: "monitor".into(),
            in_recovery: false,
            is_superuser: false,
            has_pg_monitor: true,
            shared_preload_libraries: Some("auto_explain, pg_stat_statements".into()),
            track_io_timing: Some("on".into()),
            pg_stat_statements_track: Some("all".into()),
            extensions: vec!["pg_stat_statements".into(), "pgstattuple".into(), "plpgsql".into()],
            pg_stat_statements_version: Some("1.10".into()),
        }
    }

    #[test]
    fn fully_configured_server_has_no_advisories() {
        assert_eq!(caps().advisories(), vec![]);
        assert_eq!(caps().major_version(), 15);
    }

    #[test]
    fn each_missing_piece_gets_its_fix() {
        let c = Capabilities {
            role: "Mon Role".into(),
            has_pg_monitor: false,
            shared_preload_libraries: Some("".into()),
            track_io_timing: Some("off".into()),
            pg_stat_statements_track: None,
            extensions: vec![],
            ..caps()
        };
        let codes: Vec<_> = c.advisories().iter().map(|a| a.code).collect();
        assert_eq!(
            codes,
            [
                "missing_pg_monitor",
                "pg_stat_statements_not_preloaded",
                "pg_stat_statements_not_installed",
                "track_io_timing_off",
                "pgstattuple_not_installed"
            ]
        );
        assert_eq!(c.advisories()[0].fix, "GRANT pg_monitor TO \"Mon Role\";");
    }

    #[test]
    fn pg_stat_statements_version_and_usability() {
        assert_eq!(caps().pg_stat_statements_version(), Some((1, 10)));
        assert_eq!(caps().pg_stat_statements_usable(), Ok(()));
        let not_loaded = Capabilities {
            shared_preload_libraries: Some("auto_explain".into()),
            ..caps()
        };
        assert!(not_loaded
            .pg_stat_statements_usable()
            .unwrap_err()
            .contains("not preloaded"));
        let missing = Capabilities {
            extensions: vec![],
            ..caps()
        };
        assert!(missing
            .pg_stat_statements_usable()
            .unwrap_err()
            .contains("CREATE EXTENSION pg_stat_statements;"));
    }

    #[test]
    fn unreadable_settings_are_reported_not_guessed() {
        let c = Capabilities {
            shared_preload_libraries: None,
            ..caps()
        };
        assert_eq!(c.advisories()[0].code, "settings_unreadable");
    }
}

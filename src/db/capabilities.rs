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
       has_function_privilege('pg_ls_waldir()', 'EXECUTE') AS may_list_wal_dir,
       has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') AS may_list_archive_status,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS shared_preload_libraries,
       (SELECT setting FROM pg_settings WHERE name = 'track_io_timing') AS track_io_timing,
       (SELECT setting FROM pg_settings WHERE name = 'pg_stat_statements.track') AS pgss_track,
       ARRAY(SELECT extname::text FROM pg_extension ORDER BY extname) AS extensions,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS pg_stat_statements_version";

/// What the hot path re-reads on every run to notice privileges granted or revoked while the
/// agent runs: when it differs from the detected capabilities, they are detected again.
pub const PRIVILEGE_PROBE_SQL: &str = "\
SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS has_pg_monitor,
       has_function_privilege('pg_ls_waldir()', 'EXECUTE') AS may_list_wal_dir,
       has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') AS may_list_archive_status";

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Capabilities {
    pub server_version_num: i32,
    pub server_version: String,
    pub database: String,
    pub role: String,
    pub in_recovery: bool,
    pub is_superuser: bool,
    pub has_pg_monitor: bool,
    /// The role may run `pg_ls_waldir()` (pg_monitor, or a direct grant): the WAL directory.
    pub may_list_wal_dir: bool,
    /// The role may run `pg_ls_archive_statusdir()`: the segments waiting to be archived.
    pub may_list_archive_status: bool,
    /// `None` when the role may not read it (it needs pg_read_all_settings, part of pg_monitor).
    pub shared_preload_libraries: Option<String>,
    pub track_io_timing: Option<String>,
    pub pg_stat_statements_track: Option<String>,
    pub extensions: Vec<String>,
    /// The installed pg_stat_statements version (its columns changed in 1.8 and 1.9).
    pub pg_stat_statements_version: Option<String>,
}

/// Something missing that limits what pgmon can show, with the exact fix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
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
            may_list_wal_dir: row.try_get("may_list_wal_dir")?,
            may_list_archive_status: row.try_get("may_list_archive_status")?,
            shared_preload_libraries: row.try_get("shared_preload_libraries")?,
            track_io_timing: row.try_get("track_io_timing")?,
            pg_stat_statements_track: row.try_get("pgss_track")?,
            extensions: row.try_get("extensions")?,
            pg_stat_statements_version: row.try_get("pg_stat_statements_version")?,
        })
    }

    /// Whether the role's superuser flag, pg_monitor membership or its right to list the WAL
    /// and archive status directories changed since detection.
    pub async fn privileges_changed(&self, client: &Client) -> Result<bool, tokio_postgres::Error> {
        let row = client.query_one(PRIVILEGE_PROBE_SQL, &[]).await?;
        let is_superuser: bool = row.try_get("is_superuser")?;
        let has_pg_monitor: bool = row.try_get("has_pg_monitor")?;
        let may_list_wal_dir: bool = row.try_get("may_list_wal_dir")?;
        let may_list_archive_status: bool = row.try_get("may_list_archive_status")?;
        Ok(is_superuser != self.is_superuser
            || has_pg_monitor != self.has_pg_monitor
            || may_list_wal_dir != self.may_list_wal_dir
            || may_list_archive_status != self.may_list_archive_status)
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
        if !self.has_extension("pg_freespacemap") {
            out.push(Advisory {
                code: "pg_freespacemap_not_installed",
                message: format!(
                    "extension pg_freespacemap is not installed in database {}: the bloat estimate counts dead tuples only and reads 0 right after a VACUUM however empty the pages are",
                    quote_ident(&self.database)
                ),
                fix: "CREATE EXTENSION pg_freespacemap; GRANT pg_stat_scan_tables TO ".to_string() + &role + ";",
            });
        }
        if !self.has_extension("pgstattuple") {
            out.push(Advisory {
                code: "pgstattuple_not_installed",
                message: "extension pgstattuple is not installed: tables and B-tree indexes are not sampled for bloat (pgstattuple_approx, pgstatindex)"
                    .into(),
                fix: "CREATE EXTENSION pgstattuple; GRANT pg_stat_scan_tables TO ".to_string() + &role + ";",
            });
        }
        out
    }
}

/// PostgreSQL's keywords that are not UNRESERVED (reserved, column-name and type/function-name
/// keywords: `SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'`), as of PostgreSQL 18.
/// Each older release's list (12–17) is a subset, so a name quoted because a newer release made
/// it a keyword (`json`, `system_user`) is quoted on every server: a label never changes when the
/// server is upgraded.
const KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "merge_action",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// An identifier as PostgreSQL's `quote_ident()` renders it, so it pastes into SQL as is: bare
/// when it is lowercase `[a-z_][a-z0-9_]*` and not a keyword, else in double quotes with `"`
/// doubled. A name with a control character (`\r`, `\n`, …) or a backslash is written in
/// PostgreSQL's Unicode-escape form instead, each of those characters as `\XXXX`:
/// `U&"cr\000dx"`, `U&"a\005cb"`. So no label or line holds a raw control character, and no
/// label holds `\\` or `\"`, which the Prometheus exporter's label escaping reads as already
/// escaped (it would write `a\b` and `a\\b` alike).
///
/// The rendering is injective (bare, `"…"` and `U&"…"` each read back to exactly one name), and
/// [`qualified_name`] keeps it so for `schema.name`: the labels and API values of two different
/// relations never coincide. No length cap: PostgreSQL limits a name to 63 bytes (NAMEDATALEN),
/// so a qualified name renders to at most about 640 bytes.
pub fn quote_ident(name: &str) -> String {
    if name.chars().any(|c| c.is_control() || c == '\\') {
        let mut out = String::from("U&\"");
        for c in name.chars() {
            match c {
                '"' => out.push_str("\"\""),
                // Control characters are U+0000–U+001F and U+007F–U+009F: four hex digits.
                c if c.is_control() || c == '\\' => out.push_str(&format!("\\{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        return out;
    }
    let bare = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&name);
    if bare {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `schema.name` of a relation (table, index, partition, …) as PostgreSQL would write it:
/// `quote_ident(schema) || '.' || quote_ident(name)`. Every relation label and API value is made
/// by this one function, and so is every relation name in a fix command the agent suggests.
pub fn qualified_name(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
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
            may_list_wal_dir: true,
            may_list_archive_status: true,
            shared_preload_libraries: Some("auto_explain, pg_stat_statements".into()),
            track_io_timing: Some("on".into()),
            pg_stat_statements_track: Some("all".into()),
            extensions: vec![
                "pg_freespacemap".into(),
                "pg_stat_statements".into(),
                "pgstattuple".into(),
                "plpgsql".into(),
            ],
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
                "pg_freespacemap_not_installed",
                "pgstattuple_not_installed"
            ]
        );
        assert_eq!(c.advisories()[0].fix, "GRANT pg_monitor TO \"Mon Role\";");
        let freespace = &c.advisories()[4];
        assert_eq!(
            freespace.fix,
            "CREATE EXTENSION pg_freespacemap; GRANT pg_stat_scan_tables TO \"Mon Role\";"
        );
        assert!(
            freespace.message.contains("reads 0 right after a VACUUM"),
            "{}",
            freespace.message
        );
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

    #[test]
    fn identifiers_render_as_postgresql_quotes_them() {
        let cases = [
            ("orders", "orders"),
            ("_t1", "_t1"),
            ("Orders", "\"Orders\""),
            ("user", "\"user\""),
            ("select", "\"select\""),
            ("json_table", "\"json_table\""),
            // Unreserved keywords stay bare, as quote_ident() leaves them.
            ("name", "name"),
            ("account", "account"),
            ("a.b", "\"a.b\""),
            ("public.a", "\"public.a\""),
            ("1abc", "\"1abc\""),
            ("a$b", "\"a$b\""),
            ("my table", "\"my table\""),
            ("we\"ird", "\"we\"\"ird\""),
            ("back\\slash", "U&\"back\\005cslash\""),
            ("a\\\\b", "U&\"a\\005c\\005cb\""),
            ("q\\\"", "U&\"q\\005c\"\"\""),
            ("schéma", "\"schéma\""),
            ("", "\"\""),
            ("cr\rx", "U&\"cr\\000dx\""),
            ("cr_x", "cr_x"),
            ("we\"ird \\ näme\nx", "U&\"we\"\"ird \\005c näme\\000ax\""),
            ("tab\there\u{7f}\u{85}", "U&\"tab\\0009here\\007f\\0085\""),
        ];
        for (name, want) in cases {
            assert_eq!(quote_ident(name), want, "quote_ident({name:?})");
        }
    }

    #[test]
    fn qualified_names_of_different_relations_never_coincide() {
        let relations = [
            ("public.a", "b"),
            ("public", "a.b"),
            ("public", "cr\rx"),
            ("public", "cr_x"),
            ("public", "user"),
            ("public", "Orders"),
            ("public", "orders"),
            ("Public", "orders"),
            ("a\"", "b"),
            ("a", "\"b"),
            ("a\".\"b", "c"),
            ("a", "b\".\"c"),
            ("U&", "x"),
            ("x", "U&\"y\""),
            ("public", "a\\b"),
            ("public", "a\\\\b"),
            ("public", "a\\005cb"),
        ];
        let rendered: std::collections::BTreeSet<String> =
            relations.iter().map(|(s, n)| qualified_name(s, n)).collect();
        assert_eq!(rendered.len(), relations.len(), "{rendered:?}");
        assert_eq!(qualified_name("public.a", "b"), "\"public.a\".b");
        assert_eq!(qualified_name("public", "a.b"), "public.\"a.b\"");
        assert_eq!(qualified_name("public", "cr\rx"), "public.U&\"cr\\000dx\"");
        // No rendering holds a doubled backslash or a backslash before a quote.
        assert!(rendered.iter().all(|r| !r.contains("\\\\") && !r.contains("\\\"")));
    }

    #[test]
    fn keyword_list_holds_only_lowercase_words() {
        assert!(KEYWORDS.len() > 150);
        assert!(KEYWORDS
            .iter()
            .all(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}

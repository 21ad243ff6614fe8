//! The read-only refusal: with `security.read_only_enforce`, pgmon will not run as a role that
//! could write to the database it watches. Sessions are read-only anyway; this catches a role
//! that was granted more than `pg_monitor` before anyone relies on that.

use crate::db::capabilities::quote_ident;
use tokio_postgres::Client;

/// The roles whose rights the agent's login role can use, as CTEs `me`, `settable` (roles it
/// can become with `SET ROLE`, itself included: role attributes such as SUPERUSER count for
/// those) and `usable` (roles whose privileges it can exercise, by inheritance or after a
/// `SET ROLE`). Membership options (INHERIT, SET) exist from PostgreSQL 16; before, any
/// membership allows `SET ROLE`, even with NOINHERIT.
fn role_ctes(server_version_num: i32) -> &'static str {
    if server_version_num >= 160000 {
        r"me AS (SELECT oid, rolname, rolsuper FROM pg_roles WHERE rolname = session_user),
settable AS (SELECT r.* FROM pg_roles r
              WHERE r.rolname = session_user OR pg_has_role(session_user, r.oid, 'SET')),
usable AS (SELECT r.oid, r.rolname FROM pg_roles r
            WHERE EXISTS (SELECT 1 FROM settable s WHERE pg_has_role(s.oid, r.oid, 'USAGE'))),
grantees AS (SELECT oid FROM usable UNION ALL SELECT 0)"
    } else {
        r"me AS (SELECT oid, rolname, rolsuper FROM pg_roles WHERE rolname = session_user),
settable AS (SELECT r.* FROM pg_roles r WHERE pg_has_role(session_user, r.oid, 'MEMBER')),
usable AS (SELECT oid, rolname FROM settable),
grantees AS (SELECT oid FROM usable UNION ALL SELECT 0)"
    }
}

/// The common projection of `found`: who holds each privilege (a role, or PUBLIC for grantee
/// 0) and, when that is neither the login role nor PUBLIC, the login role's direct membership
/// that leads to it (what a REVOKE must cut).
const PROJECTION: &str = r"
SELECT f.privilege, f.kind, f.object, f.col,
       CASE WHEN f.holder_oid = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(f.holder_oid)::text END AS holder,
       CASE WHEN f.holder_oid = 0 OR f.holder_oid = (SELECT oid FROM me) THEN NULL
            ELSE (SELECT p.rolname::text FROM pg_auth_members m JOIN pg_roles p ON p.oid = m.roleid
                   WHERE m.member = (SELECT oid FROM me)
                     AND (m.roleid = f.holder_oid OR pg_has_role(m.roleid, f.holder_oid, 'MEMBER'))
                   ORDER BY m.roleid <> f.holder_oid, p.rolname LIMIT 1) END AS via
  FROM found f";

/// Role-level write access: SUPERUSER, BYPASSRLS, CREATEDB, CREATEROLE or REPLICATION on any
/// role the login role can become; membership in a write-capable predefined role; CREATE on
/// or ownership of any database or schema; ALTER SYSTEM on a parameter (15+);
/// `lo_compat_privileges`. Cheap (no scan of pg_class), so the hot path re-checks it on every
/// run. Superuser comes from `pg_roles`, not `current_setting('is_superuser')`, which a
/// session keeps from its start.
pub fn role_write_privileges_sql(server_version_num: i32) -> String {
    let parameters = if server_version_num >= 150000 {
        r"
  UNION ALL
  SELECT a.privilege_type, 'parameter', p.parname::text, NULL, a.grantee
    FROM pg_parameter_acl p CROSS JOIN LATERAL aclexplode(p.paracl) a
   WHERE a.privilege_type = 'ALTER SYSTEM' AND a.grantee IN (SELECT oid FROM grantees)"
    } else {
        ""
    };
    format!(
        r"WITH {ctes},
found AS (
  SELECT 'SUPERUSER'::text AS privilege, 'role'::text AS kind, quote_ident(s.rolname) AS object,
         NULL::text AS col, s.oid AS holder_oid
    FROM settable s WHERE s.rolsuper
  UNION ALL
  SELECT a.attr, 'role', quote_ident(s.rolname), NULL, s.oid
    FROM settable s
   CROSS JOIN LATERAL (VALUES ('BYPASSRLS', s.rolbypassrls), ('CREATEDB', s.rolcreatedb),
                              ('CREATEROLE', s.rolcreaterole), ('REPLICATION', s.rolreplication)) AS a(attr, held)
   WHERE a.held AND NOT s.rolsuper
  UNION ALL
  SELECT 'MEMBER OF', 'role', quote_ident(u.rolname), NULL, u.oid
    FROM usable u
   WHERE u.rolname IN ('pg_write_all_data', 'pg_write_server_files', 'pg_execute_server_program', 'pg_maintain')
  UNION ALL
  SELECT 'OWNER', 'database', quote_ident(d.datname), NULL, d.datdba
    FROM pg_database d WHERE d.datdba IN (SELECT oid FROM usable)
  UNION ALL
  SELECT a.privilege_type, 'database', quote_ident(d.datname), NULL, a.grantee
    FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
   WHERE a.privilege_type = 'CREATE' AND a.grantee IN (SELECT oid FROM grantees)
  UNION ALL
  SELECT 'OWNER', 'schema', quote_ident(n.nspname), NULL, n.nspowner
    FROM pg_namespace n
   WHERE n.nspowner IN (SELECT oid FROM usable)
     AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
  UNION ALL
  SELECT a.privilege_type, 'schema', quote_ident(n.nspname), NULL, a.grantee
    FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
   WHERE a.privilege_type = 'CREATE' AND a.grantee IN (SELECT oid FROM grantees){parameters}
  UNION ALL
  SELECT 'lo_compat_privileges', 'setting', 'lo_compat_privileges', NULL, 0
   WHERE current_setting('lo_compat_privileges')::bool AND EXISTS (SELECT 1 FROM pg_largeobject_metadata)
){PROJECTION}
 -- A superuser login role: that alone is the answer (it is a member of every role).
 WHERE NOT (SELECT rolsuper FROM me) OR f.holder_oid = (SELECT oid FROM me) AND f.privilege = 'SUPERUSER'
 ORDER BY f.privilege <> 'SUPERUSER', f.kind, f.object, f.privilege
 LIMIT 50",
        ctes = role_ctes(server_version_num)
    )
}

/// Writes to the catalogs whose rows decide object-level write access (ACLs and owners of
/// relations, columns, functions, types, large objects; role memberships), as the statistics
/// count them: a GRANT, REVOKE, ALTER … OWNER, CREATE or DROP moves the sum. `counted` is false
/// when `track_counts` is off, and then nothing can be skipped.
pub const CATALOG_WRITES_SQL: &str = "\
SELECT current_setting('track_counts')::bool AS counted,
       COALESCE(sum(pg_stat_get_tuples_inserted(c) + pg_stat_get_tuples_updated(c) + pg_stat_get_tuples_deleted(c)), 0)::int8 AS writes
  FROM unnest('{pg_catalog.pg_class,pg_catalog.pg_attribute,pg_catalog.pg_proc,pg_catalog.pg_type,pg_catalog.pg_namespace,pg_catalog.pg_largeobject_metadata,pg_catalog.pg_default_acl,pg_catalog.pg_authid,pg_catalog.pg_auth_members}'::regclass[]) AS c";

/// The same for role-level write access (role attributes and memberships, database and schema
/// ACLs and owners, parameter ACLs from 15, large objects); `lo_compat_privileges` is a setting,
/// not a catalog row, so it is part of the count (a reload that turns it on moves it).
pub const ROLE_CATALOG_WRITES_SQL: &str = "\
SELECT current_setting('track_counts')::bool AS counted,
       (COALESCE(sum(pg_stat_get_tuples_inserted(c) + pg_stat_get_tuples_updated(c) + pg_stat_get_tuples_deleted(c)), 0) * 2
         + current_setting('lo_compat_privileges')::bool::int)::int8 AS writes
  FROM unnest(ARRAY[to_regclass('pg_catalog.pg_authid'), to_regclass('pg_catalog.pg_auth_members'),
                    to_regclass('pg_catalog.pg_database'), to_regclass('pg_catalog.pg_namespace'),
                    to_regclass('pg_catalog.pg_parameter_acl'), to_regclass('pg_catalog.pg_largeobject_metadata')]) AS c
 WHERE c IS NOT NULL";

/// The object-level check scans pg_class and pg_attribute (60 ms a run on a 10k-table
/// catalog); its answer can only change when one of the catalogs in [`CATALOG_WRITES_SQL`] is
/// written. The role-level check is cheap but runs every 15 s ([`ROLE_CATALOG_WRITES_SQL`]).
/// This remembers the write count at the last check, so an unchanged catalog skips the check; the scan still runs at least every [`CatalogWatch::MAX_SKIP`], which bounds the
/// cost of a write the statistics have not counted yet (from PostgreSQL 15 a backend flushes
/// its counts within seconds of going idle; before 15 nothing is skipped) or never count (`track_counts` off: never skipped).
#[derive(Clone, Default)]
pub struct CatalogWatch {
    last_check: std::sync::Arc<std::sync::Mutex<Option<(i64, std::time::Instant)>>>,
}

impl CatalogWatch {
    pub const MAX_SKIP: std::time::Duration = std::time::Duration::from_secs(600);

    /// Whether the object check must run now: `writes` is this run's count, `None` when the
    /// statistics do not count writes.
    pub fn must_check(&self, writes: Option<i64>, now: std::time::Instant) -> bool {
        let last = *self.last_check.lock().unwrap_or_else(|e| e.into_inner());
        match (last, writes) {
            (Some((seen, at)), Some(writes)) => seen != writes || now.duration_since(at) >= Self::MAX_SKIP,
            _ => true,
        }
    }

    /// The check ran on a catalog with this write count (`None`: not counted).
    pub fn checked(&self, writes: Option<i64>, at: std::time::Instant) {
        *self.last_check.lock().unwrap_or_else(|e| e.into_inner()) = writes.map(|w| (w, at));
    }
}

/// Whether a server's statistics count a committed catalog write promptly enough to key a
/// skipped read on: from PostgreSQL 15 an idle session flushes its pending counts within
/// seconds (`PGSTAT_IDLE_INTERVAL`); before, a session that wrote within half a second of its
/// previous report keeps the counts until its next statement, which may never come. Before 15
/// nothing is skipped.
pub fn write_counts_are_prompt(server_version_num: i32) -> bool {
    server_version_num >= 150000
}

/// This run's catalog write count ([`CATALOG_WRITES_SQL`] or [`ROLE_CATALOG_WRITES_SQL`]),
/// `None` when `track_counts` is off.
pub async fn catalog_writes(client: &Client, sql: &str) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = client.query_one(sql, &[]).await?;
    let counted: bool = row.try_get("counted")?;
    if !counted {
        return Ok(None);
    }
    Ok(Some(row.try_get("writes")?))
}

/// Object-level write access: INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES and
/// MAINTAIN (17+) on tables, views and foreign tables; INSERT, UPDATE and REFERENCES on
/// columns; UPDATE and USAGE on sequences; UPDATE on large objects; ownership of relations,
/// functions, types and large objects. Granted to a usable role or to PUBLIC, read from the
/// ACLs themselves (a relation without an ACL grants nothing but to its owner). It scans
/// pg_class and pg_attribute, so the workload loop re-checks it once per run rather than the
/// hot path. Capped per kind. A superuser is refused by the role check already.
pub fn object_write_privileges_sql(server_version_num: i32) -> String {
    format!(
        r"WITH {ctes},
found AS (
  (SELECT a.privilege_type AS privilege,
          CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind,
          quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS object, NULL::text AS col,
          a.grantee AS holder_oid
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL aclexplode(c.relacl) a
    WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      -- UPDATE on pg_settings is granted to PUBLIC by initdb: it is SET, not a write.
      AND c.oid <> 'pg_catalog.pg_settings'::regclass
      AND a.grantee IN (SELECT oid FROM grantees)
      AND CASE WHEN c.relkind = 'S' THEN a.privilege_type IN ('UPDATE', 'USAGE')
               ELSE a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES', 'MAINTAIN') END
    ORDER BY 3, 1 LIMIT 20)
  UNION ALL
  (SELECT a.privilege_type, 'column', quote_ident(n.nspname) || '.' || quote_ident(c.relname),
          quote_ident(att.attname), a.grantee
     FROM pg_attribute att
     JOIN pg_class c ON c.oid = att.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL aclexplode(att.attacl) a
    WHERE att.attacl IS NOT NULL AND att.attnum > 0 AND NOT att.attisdropped
      AND c.oid <> 'pg_catalog.pg_settings'::regclass
      AND a.grantee IN (SELECT oid FROM grantees)
      AND a.privilege_type IN ('INSERT', 'UPDATE', 'REFERENCES')
    ORDER BY 3, 4, 1 LIMIT 20)
  UNION ALL
  (SELECT 'OWNER', CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                                  WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
          quote_ident(n.nspname) || '.' || quote_ident(c.relname), NULL, c.relowner
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relowner IN (SELECT oid FROM usable) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND n.nspname NOT LIKE 'pg\_temp\_%'
    ORDER BY 3 LIMIT 20)
  UNION ALL
  (SELECT 'OWNER', 'function', p.oid::regprocedure::text, NULL, p.proowner
     FROM pg_proc p WHERE p.proowner IN (SELECT oid FROM usable)
    ORDER BY 3 LIMIT 10)
  UNION ALL
  (SELECT 'OWNER', 'type', t.oid::regtype::text, NULL, t.typowner
     FROM pg_type t
    WHERE t.typowner IN (SELECT oid FROM usable) AND t.typrelid = 0 AND t.typcategory <> 'A'
    ORDER BY 3 LIMIT 10)
  UNION ALL
  (SELECT 'OWNER', 'large object', l.oid::text, NULL, l.lomowner
     FROM pg_largeobject_metadata l WHERE l.lomowner IN (SELECT oid FROM usable)
    ORDER BY l.oid LIMIT 10)
  UNION ALL
  (SELECT a.privilege_type, 'large object', l.oid::text, NULL, a.grantee
     FROM pg_largeobject_metadata l CROSS JOIN LATERAL aclexplode(l.lomacl) a
    WHERE l.lomacl IS NOT NULL AND a.privilege_type = 'UPDATE' AND a.grantee IN (SELECT oid FROM grantees)
      -- Writing a large object opens it for reading too: UPDATE alone writes nothing.
      AND EXISTS (SELECT 1 FROM aclexplode(l.lomacl) r
                   WHERE r.privilege_type = 'SELECT' AND r.grantee IN (SELECT oid FROM grantees))
    ORDER BY l.oid LIMIT 10)
){PROJECTION}
 WHERE NOT (SELECT rolsuper FROM me)
 ORDER BY f.kind, f.object, f.col, f.privilege",
        ctes = role_ctes(server_version_num)
    )
}

/// One privilege that lets the login role write: what, on which object, held by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritePrivilege {
    /// `INSERT`, `OWNER`, `SUPERUSER`, `MEMBER OF`, `CREATE`, `ALTER SYSTEM`, ...
    pub privilege: String,
    /// `table`, `column`, `sequence`, `schema`, `database`, `role`, `function`, ...
    pub kind: String,
    /// The object's name, quoted as SQL needs it (a column's table for `column`).
    pub object: String,
    /// The quoted column name, for `column`.
    pub column: Option<String>,
    /// The role the privilege is granted to (or the owner), or `PUBLIC`.
    pub holder: String,
    /// The login role's direct membership leading to `holder`, when it holds it indirectly.
    pub via: Option<String>,
}

impl WritePrivilege {
    /// "UPDATE on column public.t (v) through role app_owner".
    pub fn describe(&self) -> String {
        let column = self.column.as_ref().map(|c| format!(" ({c})")).unwrap_or_default();
        let through = match (&self.via, self.holder.as_str()) {
            (_, "PUBLIC") => " granted to PUBLIC".to_string(),
            (Some(via), holder) if via == holder => format!(" through role {}", quote_ident(holder)),
            (Some(via), holder) => format!(
                " through role {} (membership in {})",
                quote_ident(holder),
                quote_ident(via)
            ),
            (None, _) => String::new(),
        };
        if self.privilege == "MEMBER OF" {
            let through = self
                .via
                .as_ref()
                .filter(|via| **via != self.holder)
                .map(|via| format!(" (membership in {})", quote_ident(via)))
                .unwrap_or_default();
            return format!("MEMBER OF role {}{through}", self.object);
        }
        format!("{} on {} {}{column}{through}", self.privilege, self.kind, self.object)
    }
}

/// Every write privilege the role holds (start-up and `check-config` use this, and the loops
/// the same two queries, so both give the same verdict).
pub async fn write_privileges(client: &Client) -> Result<Vec<WritePrivilege>, tokio_postgres::Error> {
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await?
        .try_get(0)?;
    let mut found = query_privileges(client, &role_write_privileges_sql(version)).await?;
    if found.iter().any(|p| p.privilege == "SUPERUSER") {
        return Ok(found);
    }
    found.extend(query_privileges(client, &object_write_privileges_sql(version)).await?);
    Ok(found)
}

/// Runs one of the write-privilege queries.
pub async fn query_privileges(client: &Client, sql: &str) -> Result<Vec<WritePrivilege>, tokio_postgres::Error> {
    let rows = client.query(sql, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(WritePrivilege {
                privilege: r.try_get("privilege")?,
                kind: r.try_get("kind")?,
                object: r.try_get("object")?,
                column: r.try_get("col")?,
                holder: r.try_get("holder")?,
                via: r.try_get("via")?,
            })
        })
        .collect()
}

/// The one-line refusal: which privileges, on what, and how to take them away.
pub fn refusal_message(role: &str, found: &[WritePrivilege]) -> String {
    format!(
        "refusing to start: {} Or set security.read_only_enforce: false to run anyway (sessions stay read-only).",
        write_access_summary(role, found)
    )
}

/// The statement that takes one privilege away from `role`: the grant itself when it is held
/// directly or by PUBLIC, else the membership that leads to it (a privilege held by a
/// predefined role such as pg_monitor is revoked from that role: the membership is needed).
fn fix(role_q: &str, p: &WritePrivilege) -> String {
    let holder_q = if p.holder == "PUBLIC" {
        "PUBLIC".to_string()
    } else {
        quote_ident(&p.holder)
    };
    let via_predefined = p.via.as_deref().is_some_and(|v| v.starts_with("pg_"));
    if let Some(via) = p
        .via
        .as_deref()
        .filter(|_| !via_predefined || p.privilege == "MEMBER OF")
    {
        return format!("REVOKE {} FROM {role_q};", quote_ident(via));
    }
    let on = |what: &str| match what {
        "table" | "view" | "materialized view" | "foreign table" => format!("TABLE {}", p.object),
        "sequence" => format!("SEQUENCE {}", p.object),
        "schema" => format!("SCHEMA {}", p.object),
        "database" => format!("DATABASE {}", p.object),
        "parameter" => format!("PARAMETER {}", p.object),
        "large object" => format!("LARGE OBJECT {}", p.object),
        "function" => format!("FUNCTION {}", p.object),
        "type" => format!("TYPE {}", p.object),
        other => format!("{} {}", other.to_uppercase(), p.object),
    };
    match (p.privilege.as_str(), p.kind.as_str()) {
        ("SUPERUSER", _) if holder_q == role_q => format!(
            "connect as a dedicated role instead: CREATE ROLE pgmon_monitor LOGIN; GRANT pg_monitor TO pgmon_monitor; (or ALTER ROLE {role_q} NOSUPERUSER;)"
        ),
        ("SUPERUSER" | "BYPASSRLS" | "CREATEDB" | "CREATEROLE" | "REPLICATION", _) => {
            format!("ALTER ROLE {holder_q} NO{};", p.privilege)
        }
        ("MEMBER OF", _) => format!("REVOKE {} FROM {role_q};", p.object),
        ("OWNER", kind) if holder_q == role_q => format!(
            "ALTER {} OWNER TO <another role>; (or REASSIGN OWNED BY {role_q} TO <another role>;)",
            on(kind)
        ),
        ("OWNER", kind) => format!(
            "ALTER {} OWNER TO <another role>; ({holder_q} owns it and {role_q} has its rights)",
            on(kind)
        ),
        ("lo_compat_privileges", _) => {
            "ALTER SYSTEM SET lo_compat_privileges = off; SELECT pg_reload_conf();".to_string()
        }
        (privilege, "column") => format!(
            "REVOKE {privilege} ({}) ON TABLE {} FROM {holder_q};",
            p.column.as_deref().unwrap_or_default(),
            p.object
        ),
        (privilege, kind) => format!("REVOKE {privilege} ON {} FROM {holder_q};", on(kind)),
    }
}

/// What an anonymous `/healthz` may say about write access: each privilege and the object
/// it is on, never a role name (who holds it and the REVOKE are behind authentication).
pub fn anonymous_summary(found: &[WritePrivilege]) -> String {
    let mut held: Vec<String> = Vec::new();
    for p in found {
        let item = match p.kind.as_str() {
            // A custom role's name is not for anonymous eyes; predefined ones are public.
            "role" if p.privilege == "MEMBER OF" => format!("MEMBER OF {}", p.object),
            "role" => p.privilege.clone(),
            _ => {
                let column = p.column.as_ref().map(|c| format!(" ({c})")).unwrap_or_default();
                format!("{} on {} {}{column}", p.privilege, p.kind, p.object)
            }
        };
        if !held.contains(&item) {
            held.push(item);
        }
    }
    format!(
        "the agent's role could write to the database it monitors ({}); who holds each privilege and the exact fix: GET /api/v1/health",
        held.join(", ")
    )
}

/// Which privileges the role holds that could write, on what, and the exact fix.
pub fn write_access_summary(role: &str, found: &[WritePrivilege]) -> String {
    let role_q = quote_ident(role);
    let held: Vec<String> = found.iter().map(WritePrivilege::describe).collect();
    let mut fixes: Vec<String> = Vec::new();
    for p in found {
        let fix = fix(&role_q, p);
        if !fixes.contains(&fix) {
            fixes.push(fix);
        }
        if p.privilege == "SUPERUSER" {
            break;
        }
    }
    format!(
        "role {role_q} could write to the database it monitors ({}). Fix: {}",
        held.join(", "),
        fixes.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_check_is_skipped_only_while_the_catalog_write_count_holds() {
        let watch = CatalogWatch::default();
        let t0 = std::time::Instant::now();
        assert!(watch.must_check(Some(10), t0), "never checked");
        watch.checked(Some(10), t0);
        let later = t0 + std::time::Duration::from_secs(60);
        assert!(!watch.must_check(Some(10), later), "nothing written since");
        assert!(watch.must_check(Some(11), later), "a GRANT moved the count");
        assert!(watch.must_check(Some(3), later), "a statistics reset moved it back");
        assert!(watch.must_check(None, later), "track_counts turned off");
        assert!(
            watch.must_check(Some(10), t0 + CatalogWatch::MAX_SKIP),
            "checked again at the latest after MAX_SKIP"
        );
        watch.checked(None, later);
        assert!(watch.must_check(None, later), "uncounted writes: always checked");
    }

    fn p(privilege: &str, kind: &str, object: &str, holder: &str, via: Option<&str>) -> WritePrivilege {
        WritePrivilege {
            privilege: privilege.into(),
            kind: kind.into(),
            object: object.into(),
            column: None,
            holder: holder.into(),
            via: via.map(Into::into),
        }
    }

    #[test]
    fn refusal_names_each_privilege_and_its_revoke() {
        let mut column = p("UPDATE", "column", "public.orders", "monitor", None);
        column.column = Some("total".into());
        let msg = refusal_message(
            "monitor",
            &[
                p("CREATE", "schema", "public", "PUBLIC", None),
                p("INSERT", "table", "public.orders", "monitor", None),
                column,
                p("TRIGGER", "table", "public.\"Odd\"", "monitor", None),
            ],
        );
        assert!(
            msg.contains("CREATE on schema public granted to PUBLIC, INSERT on table public.orders, UPDATE on column public.orders (total), TRIGGER on table public.\"Odd\""),
            "{msg}"
        );
        for fix in [
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
            "REVOKE INSERT ON TABLE public.orders FROM monitor;",
            "REVOKE UPDATE (total) ON TABLE public.orders FROM monitor;",
            "REVOKE TRIGGER ON TABLE public.\"Odd\" FROM monitor;",
        ] {
            assert!(msg.contains(fix), "{fix} missing from {msg}");
        }
    }

    #[test]
    fn a_privilege_held_through_a_membership_is_fixed_by_ending_the_membership() {
        let msg = refusal_message(
            "monitor",
            &[
                p("INSERT", "table", "public.t", "app_writer", Some("app_owner")),
                p("OWNER", "table", "public.t2", "app_owner", Some("app_owner")),
                p(
                    "MEMBER OF",
                    "role",
                    "pg_write_all_data",
                    "pg_write_all_data",
                    Some("pg_write_all_data"),
                ),
                p("UPDATE", "table", "public.t3", "pg_monitor", Some("pg_monitor")),
            ],
        );
        assert!(
            msg.contains("INSERT on table public.t through role app_writer (membership in app_owner)"),
            "{msg}"
        );
        assert!(msg.contains("REVOKE app_owner FROM monitor;"), "{msg}");
        assert!(msg.contains("REVOKE pg_write_all_data FROM monitor;"), "{msg}");
        // The membership in pg_monitor is what the agent needs: the grant goes instead.
        assert!(
            msg.contains("REVOKE UPDATE ON TABLE public.t3 FROM pg_monitor;"),
            "{msg}"
        );
        assert_eq!(msg.matches("REVOKE app_owner FROM monitor;").count(), 1, "{msg}");
    }

    #[test]
    fn role_attributes_sequences_and_ownership_get_their_fixes() {
        let msg = refusal_message(
            "monitor",
            &[
                p("CREATEROLE", "role", "monitor", "monitor", None),
                p("BYPASSRLS", "role", "monitor", "monitor", None),
                p("USAGE", "sequence", "public.orders_id_seq", "monitor", None),
                p("OWNER", "function", "public.f(integer)", "monitor", None),
                p("UPDATE", "large object", "16401", "monitor", None),
                p("ALTER SYSTEM", "parameter", "work_mem", "monitor", None),
            ],
        );
        for fix in [
            "ALTER ROLE monitor NOCREATEROLE;",
            "ALTER ROLE monitor NOBYPASSRLS;",
            "REVOKE USAGE ON SEQUENCE public.orders_id_seq FROM monitor;",
            "ALTER FUNCTION public.f(integer) OWNER TO <another role>;",
            "REVOKE UPDATE ON LARGE OBJECT 16401 FROM monitor;",
            "REVOKE ALTER SYSTEM ON PARAMETER work_mem FROM monitor;",
        ] {
            assert!(msg.contains(fix), "{fix} missing from {msg}");
        }
    }

    #[test]
    fn superuser_refusal_suggests_a_pg_monitor_role() {
        let msg = refusal_message(
            "postgres",
            &[
                p("SUPERUSER", "role", "postgres", "postgres", None),
                p("CREATE", "database", "app", "postgres", None),
            ],
        );
        assert!(msg.starts_with("refusing to start: role postgres could write"), "{msg}");
        assert!(msg.contains("SUPERUSER on role postgres"), "{msg}");
        assert!(msg.contains("GRANT pg_monitor"), "{msg}");
        assert!(
            !msg.contains("REVOKE CREATE ON DATABASE"),
            "superuser fix alone is enough: {msg}"
        );
    }

    #[test]
    fn a_superuser_role_the_login_role_can_become_is_cut_at_the_membership() {
        let msg = refusal_message("monitor", &[p("SUPERUSER", "role", "admin", "admin", Some("admin"))]);
        assert!(msg.contains("REVOKE admin FROM monitor;"), "{msg}");
    }

    #[test]
    fn the_sql_follows_the_server_version() {
        assert!(role_write_privileges_sql(160000).contains("'SET'"));
        assert!(!role_write_privileges_sql(150000).contains("'SET'"));
        assert!(role_write_privileges_sql(150000).contains("pg_parameter_acl"));
        assert!(!role_write_privileges_sql(140000).contains("pg_parameter_acl"));
        assert!(object_write_privileges_sql(170000).contains("'MAINTAIN'"));
    }
}

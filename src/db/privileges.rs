//! The read-only refusal: with `security.read_only_enforce`, pgmon will not run as a role that
//! could write to the database it watches. Sessions are read-only anyway; this catches a role
//! that was granted more than `pg_monitor` before anyone relies on that.

use crate::db::capabilities::quote_ident;
use tokio_postgres::Client;

/// Role-level write access (superuser, role attributes, write-capable predefined roles,
/// CREATE on the database or a schema): one row per privilege found, superuser first. Cheap
/// (no scan of pg_class), so the hot path re-checks it on every run. Superuser comes from
/// `pg_roles`, not `current_setting('is_superuser')`, which a session keeps from its start.
pub const ROLE_WRITE_PRIVILEGES_SQL: &str = r"
SELECT 'SUPERUSER'::text AS privilege, 'role ' || quote_ident(current_user) AS object
 WHERE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
UNION ALL
SELECT attr, 'role ' || quote_ident(current_user)
  FROM pg_roles r
 CROSS JOIN LATERAL (VALUES ('CREATEDB', r.rolcreatedb), ('CREATEROLE', r.rolcreaterole), ('REPLICATION', r.rolreplication)) AS a(attr, held)
 WHERE r.rolname = current_user AND held AND NOT r.rolsuper
UNION ALL
SELECT 'MEMBER OF', 'role ' || quote_ident(rolname)
  FROM pg_roles
 WHERE rolname IN ('pg_write_server_files', 'pg_execute_server_program', 'pg_write_all_data')
   AND pg_has_role(current_user, oid, 'USAGE')
   AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
UNION ALL
SELECT 'CREATE', 'database ' || quote_ident(current_database())
 WHERE has_database_privilege(current_database(), 'CREATE')
UNION ALL
(SELECT 'CREATE', 'schema ' || quote_ident(nspname)
   FROM pg_namespace
  WHERE has_schema_privilege(oid, 'CREATE')
    AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%'
  ORDER BY nspname LIMIT 10)";

/// Table and sequence write privileges (capped). It reads every relation's ACL, so the workload
/// loop re-checks it once per run rather than the hot path. A relation without an ACL grants
/// nothing to anyone but its owner (PUBLIC gets nothing on tables and sequences by default), so
/// only relations with an ACL, or owned by a role we are a member of, are asked about.
pub const OBJECT_WRITE_PRIVILEGES_SQL: &str = r"
(SELECT p.privilege, 'table ' || c.oid::regclass::text AS object
   FROM pg_class c
   JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p(privilege)
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
    AND (c.relacl IS NOT NULL OR pg_has_role(c.relowner, 'USAGE'))
    AND has_table_privilege(c.oid, p.privilege)
  ORDER BY 2, 1 LIMIT 20)
UNION ALL
(SELECT p.privilege, 'sequence ' || c.oid::regclass::text
   FROM pg_class c
   JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN (VALUES ('UPDATE'), ('USAGE')) AS p(privilege)
  WHERE c.relkind = 'S'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND (c.relacl IS NOT NULL OR pg_has_role(c.relowner, 'USAGE'))
    AND has_sequence_privilege(c.oid, p.privilege)
  ORDER BY 2, 1 LIMIT 10)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritePrivilege {
    pub privilege: String,
    pub object: String,
}

/// Every write privilege the role holds (start-up and `check-config`).
pub async fn write_privileges(client: &Client) -> Result<Vec<WritePrivilege>, tokio_postgres::Error> {
    let mut found = query_privileges(client, ROLE_WRITE_PRIVILEGES_SQL).await?;
    if found.iter().any(|p| p.privilege == "SUPERUSER") {
        return Ok(found);
    }
    found.extend(query_privileges(client, OBJECT_WRITE_PRIVILEGES_SQL).await?);
    Ok(found)
}

/// Runs one of the write-privilege queries.
pub async fn query_privileges(client: &Client, sql: &str) -> Result<Vec<WritePrivilege>, tokio_postgres::Error> {
    let rows = client.query(sql, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(WritePrivilege {
                privilege: r.try_get("privilege")?,
                object: r.try_get("object")?,
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

/// Which privileges the role holds that could write, on what, and the exact fix.
pub fn write_access_summary(role: &str, found: &[WritePrivilege]) -> String {
    let role_q = quote_ident(role);
    let held: Vec<String> = found
        .iter()
        .map(|p| format!("{} on {}", p.privilege, p.object))
        .collect();
    let mut fixes: Vec<String> = Vec::new();
    for p in found {
        let fix = match (p.privilege.as_str(), p.object.split_once(' ')) {
            ("SUPERUSER", _) => format!("connect as a dedicated role instead: CREATE ROLE pgmon_monitor LOGIN; GRANT pg_monitor TO pgmon_monitor; (or ALTER ROLE {role_q} NOSUPERUSER)"),
            ("CREATEDB" | "CREATEROLE" | "REPLICATION", _) => format!("ALTER ROLE {role_q} NO{};", p.privilege),
            ("MEMBER OF", Some(("role", granted))) => format!("REVOKE {granted} FROM {role_q};"),
            (privilege, Some(("sequence", seq))) => format!("REVOKE {privilege} ON SEQUENCE {seq} FROM {role_q}, PUBLIC;"),
            ("CREATE", Some(("database", db))) => format!("REVOKE CREATE ON DATABASE {db} FROM {role_q}, PUBLIC;"),
            ("CREATE", Some(("schema", schema))) => format!("REVOKE CREATE ON SCHEMA {schema} FROM {role_q}, PUBLIC;"),
            (privilege, Some(("table", table))) => format!("REVOKE {privilege} ON {table} FROM {role_q}, PUBLIC;"),
            _ => continue,
        };
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

    fn p(privilege: &str, object: &str) -> WritePrivilege {
        WritePrivilege {
            privilege: privilege.into(),
            object: object.into(),
        }
    }

    #[test]
    fn refusal_names_each_privilege_and_its_revoke() {
        let msg = refusal_message(
            "monitor",
            &[
                p("CREATE", "schema public"),
                p("INSERT", "table public.orders"),
                p("UPDATE", "table public.orders"),
            ],
        );
        assert!(
            msg.contains("CREATE on schema public, INSERT on table public.orders, UPDATE on table public.orders"),
            "{msg}"
        );
        assert!(
            msg.contains("REVOKE CREATE ON SCHEMA public FROM monitor, PUBLIC;"),
            "{msg}"
        );
        assert!(
            msg.contains("REVOKE INSERT ON public.orders FROM monitor, PUBLIC;"),
            "{msg}"
        );
    }

    #[test]
    fn role_attributes_memberships_and_sequences_get_their_fixes() {
        let msg = refusal_message(
            "monitor",
            &[
                p("CREATEROLE", "role monitor"),
                p("MEMBER OF", "role pg_write_all_data"),
                p("USAGE", "sequence orders_id_seq"),
            ],
        );
        assert!(msg.contains("ALTER ROLE monitor NOCREATEROLE;"), "{msg}");
        assert!(msg.contains("REVOKE pg_write_all_data FROM monitor;"), "{msg}");
        assert!(
            msg.contains("REVOKE USAGE ON SEQUENCE orders_id_seq FROM monitor, PUBLIC;"),
            "{msg}"
        );
    }

    #[test]
    fn superuser_refusal_suggests_a_pg_monitor_role() {
        let msg = refusal_message(
            "postgres",
            &[p("SUPERUSER", "role postgres"), p("CREATE", "database app")],
        );
        assert!(msg.starts_with("refusing to start: role postgres could write"), "{msg}");
        assert!(msg.contains("SUPERUSER on role postgres"), "{msg}");
        assert!(msg.contains("GRANT pg_monitor"), "{msg}");
        assert!(
            !msg.contains("REVOKE CREATE ON DATABASE"),
            "superuser fix alone is enough: {msg}"
        );
    }
}

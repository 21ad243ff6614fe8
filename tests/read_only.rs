//! The read-only promise against every role shape that can write, on a real PostgreSQL (the
//! suite runs on each major from 12 to 18; shapes that need a newer server skip older ones).
//!
//! For each shape: `check-config` and the agent give the same verdict (exit 3 naming the
//! privilege, or a pass); the verdict is true (the refused role really can write: a proof
//! statement succeeds as that role); and the fix the refusal prints is exact (run as the
//! superuser, it makes `check-config` pass and the proof fail).

mod support;

use std::time::Duration;
use support::agent::{run_to_exit, test_config, Agent};
use support::TestPostgres;

const PW: &str = "ro-shape-pw";
const WAIT: Duration = Duration::from_secs(60);

struct Shape {
    name: &'static str,
    /// The first major version that has what the shape uses.
    since: u32,
    /// Statements run one by one as the superuser in `app`; `{r}` is the role.
    setup: &'static [&'static str],
    /// What the refusal must say (`{r}` is the role); empty: the role must pass.
    named: &'static [&'static str],
    /// A write the role can make (run as the role, rolled back): proves the verdict.
    proof: Option<&'static str>,
}

const fn writer(
    name: &'static str,
    since: u32,
    setup: &'static [&'static str],
    named: &'static [&'static str],
    proof: Option<&'static str>,
) -> Shape {
    Shape {
        name,
        since,
        setup,
        named,
        proof,
    }
}

const ATTRIBUTE_AND_ROLE_SHAPES: &[Shape] = &[
    writer(
        "superuser",
        12,
        &["ALTER ROLE {r} SUPERUSER"],
        &["SUPERUSER on role {r}", "ALTER ROLE {r} NOSUPERUSER;"],
        Some("CREATE TABLE su_{r} (i int)"),
    ),
    writer(
        "a superuser role it can SET ROLE to",
        12,
        &["CREATE ROLE admin_{r} SUPERUSER", "GRANT admin_{r} TO {r}"],
        &["SUPERUSER on role admin_{r}", "REVOKE admin_{r} FROM {r};"],
        Some("SET ROLE admin_{r}; CREATE TABLE su_{r} (i int)"),
    ),
    writer(
        "BYPASSRLS",
        12,
        &["ALTER ROLE {r} BYPASSRLS"],
        &["BYPASSRLS on role {r}", "ALTER ROLE {r} NOBYPASSRLS;"],
        None,
    ),
    writer(
        "CREATEROLE",
        12,
        &["ALTER ROLE {r} CREATEROLE"],
        &["CREATEROLE on role {r}", "ALTER ROLE {r} NOCREATEROLE;"],
        Some("CREATE ROLE proof_{r}"),
    ),
    writer(
        "pg_write_all_data",
        14,
        &["GRANT pg_write_all_data TO {r}"],
        &["MEMBER OF role pg_write_all_data", "REVOKE pg_write_all_data FROM {r};"],
        Some("INSERT INTO t VALUES (100, 1)"),
    ),
    writer(
        "pg_write_server_files",
        12,
        &["GRANT pg_write_server_files TO {r}"],
        &[
            "MEMBER OF role pg_write_server_files",
            "REVOKE pg_write_server_files FROM {r};",
        ],
        Some("COPY (SELECT 1) TO '/dev/null'"),
    ),
    writer(
        "pg_execute_server_program",
        12,
        &["GRANT pg_execute_server_program TO {r}"],
        &[
            "MEMBER OF role pg_execute_server_program",
            "REVOKE pg_execute_server_program FROM {r};",
        ],
        // The program reads all it is sent: one that exits at once (`true`) races the pipe.
        Some("COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'"),
    ),
    writer(
        "pg_maintain",
        17,
        &["GRANT pg_maintain TO {r}"],
        &["MEMBER OF role pg_maintain", "REVOKE pg_maintain FROM {r};"],
        Some("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"),
    ),
    writer(
        "CREATE on the database",
        12,
        &["GRANT CREATE ON DATABASE app TO {r}"],
        &["CREATE on database app", "REVOKE CREATE ON DATABASE app FROM {r};"],
        Some("CREATE SCHEMA s_{r}"),
    ),
    writer(
        "CREATE on a schema",
        12,
        &["GRANT USAGE, CREATE ON SCHEMA scratch TO {r}"],
        &["CREATE on schema scratch", "REVOKE CREATE ON SCHEMA scratch FROM {r};"],
        Some("CREATE TABLE scratch.x_{r} (i int)"),
    ),
    writer(
        "ALTER SYSTEM on a parameter",
        15,
        &["GRANT ALTER SYSTEM ON PARAMETER work_mem TO {r}"],
        &[
            "ALTER SYSTEM on parameter work_mem",
            "REVOKE ALTER SYSTEM ON PARAMETER work_mem FROM {r};",
        ],
        None,
    ),
];

const OBJECT_SHAPES: &[Shape] = &[
    writer(
        "UPDATE on one column",
        12,
        &["GRANT UPDATE (v) ON t TO {r}"],
        &["UPDATE on column public.t (v)", "REVOKE UPDATE (v) ON TABLE public.t FROM {r};"],
        Some("UPDATE t SET v = 42"),
    ),
    writer(
        "NOINHERIT, member of the table's owner",
        12,
        &[
            "CREATE ROLE owner_{r}",
            "CREATE TABLE t_{r} (i int)",
            "ALTER TABLE t_{r} OWNER TO owner_{r}",
            "ALTER ROLE {r} NOINHERIT",
            "GRANT owner_{r} TO {r}",
        ],
        &["OWNER on table public.t_{r} through role owner_{r}", "REVOKE owner_{r} FROM {r};"],
        Some("SET ROLE owner_{r}; INSERT INTO t_{r} VALUES (1)"),
    ),
    writer(
        "a writer two memberships away, the middle role NOINHERIT",
        12,
        &[
            "CREATE ROLE mid_{r} NOINHERIT",
            "CREATE ROLE writer_{r}",
            "GRANT INSERT ON t TO writer_{r}",
            "GRANT writer_{r} TO mid_{r}",
            "GRANT mid_{r} TO {r}",
        ],
        &["INSERT on table public.t through role writer_{r} (membership in mid_{r})", "REVOKE mid_{r} FROM {r};"],
        Some("SET ROLE writer_{r}; INSERT INTO t VALUES (300, 1)"),
    ),
    writer(
        "TRIGGER",
        12,
        &["GRANT TRIGGER ON t TO {r}"],
        &["TRIGGER on table public.t", "REVOKE TRIGGER ON TABLE public.t FROM {r};"],
        Some("CREATE TRIGGER trg_{r} BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()"),
    ),
    writer(
        "REFERENCES",
        12,
        &["GRANT REFERENCES ON t TO {r}"],
        &["REFERENCES on table public.t", "REVOKE REFERENCES ON TABLE public.t FROM {r};"],
        None,
    ),
    writer(
        "MAINTAIN",
        17,
        &["GRANT MAINTAIN ON t TO {r}"],
        &["MAINTAIN on table public.t", "REVOKE MAINTAIN ON TABLE public.t FROM {r};"],
        Some("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"),
    ),
    writer(
        "INSERT granted to PUBLIC",
        12,
        &["GRANT INSERT ON t TO PUBLIC"],
        &["INSERT on table public.t granted to PUBLIC", "REVOKE INSERT ON TABLE public.t FROM PUBLIC;"],
        Some("INSERT INTO t VALUES (200, 1)"),
    ),
    writer(
        "owns a table",
        12,
        &["CREATE TABLE owned_{r} (i int)", "ALTER TABLE owned_{r} OWNER TO {r}"],
        &["OWNER on table public.owned_{r}", "ALTER TABLE public.owned_{r} OWNER TO"],
        Some("INSERT INTO owned_{r} VALUES (1)"),
    ),
    writer(
        "owns a function",
        12,
        &[
            "CREATE FUNCTION f_{r}() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "ALTER FUNCTION f_{r}() OWNER TO {r}",
        ],
        &["OWNER on function f_{r}()", "ALTER FUNCTION f_{r}() OWNER TO"],
        Some("ALTER FUNCTION f_{r}() COST 7"),
    ),
    writer(
        "USAGE on a sequence",
        12,
        &["GRANT USAGE ON SEQUENCE s TO {r}"],
        &["USAGE on sequence public.s", "REVOKE USAGE ON SEQUENCE public.s FROM {r};"],
        Some("SELECT nextval('s')"),
    ),
    writer(
        "UPDATE on a large object",
        12,
        &["SELECT lo_create(424242)", "GRANT SELECT, UPDATE ON LARGE OBJECT 424242 TO {r}"],
        &["UPDATE on large object 424242", "REVOKE UPDATE ON LARGE OBJECT 424242 FROM {r};"],
        Some("SELECT lo_put(424242, 0, '\\x00'::bytea)"),
    ),
];

/// Shapes that cannot write and must pass: a false refusal is an untrue verdict too.
const CLEAN_SHAPES: &[Shape] = &[
    writer("pg_monitor only", 12, &[], &[], None),
    writer(
        "SELECT grants and a reader role",
        12,
        &[
            "CREATE ROLE reader_{r}",
            "GRANT SELECT ON t TO reader_{r}",
            "GRANT reader_{r} TO {r}",
            "GRANT SELECT (v) ON t TO {r}",
            "GRANT USAGE ON SCHEMA scratch TO {r}",
            "GRANT SELECT ON SEQUENCE s TO {r}",
        ],
        &[],
        None,
    ),
    writer(
        "membership in an owner with INHERIT FALSE, SET FALSE",
        16,
        &[
            "CREATE ROLE keeper_{r}",
            "CREATE TABLE kept_{r} (i int)",
            "ALTER TABLE kept_{r} OWNER TO keeper_{r}",
            "GRANT keeper_{r} TO {r} WITH INHERIT FALSE, SET FALSE",
        ],
        &[],
        None,
    ),
];

fn cluster() -> TestPostgres {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1); CREATE SEQUENCE s; CREATE SCHEMA scratch;",
    );
    pg
}

fn major(pg: &TestPostgres) -> u32 {
    pg.psql("app", "SHOW server_version_num").parse::<u32>().unwrap() / 10000
}

fn check_config(pg: &TestPostgres, role: &str) -> (i32, String) {
    let (mut cmd, _dir) = support::agent::command(&pg.url(role, PW, "app"), &test_config(""));
    let out = cmd.arg("check-config").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `proof` as `role` in a transaction that is rolled back: Ok when the role could write.
fn prove(pg: &TestPostgres, role: &str, proof: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&pg.url(role, PW, "app"), tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(conn);
        let result = client
            .batch_execute(&format!("BEGIN; {proof}; ROLLBACK"))
            .await
            .map_err(|e| e.as_db_error().map_or(e.to_string(), |d| d.message().to_string()));
        drop(client);
        let _ = driver.await;
        result
    })
}

/// The SQL statements of a refusal's "Fix:", with placeholders filled.
fn fix_statements(refusal: &str) -> Vec<String> {
    let fix = refusal
        .split("Fix: ")
        .nth(1)
        .and_then(|f| f.split(" Or set security.").next())
        .unwrap_or_else(|| panic!("no fix in {refusal}"));
    let mut statements = Vec::new();
    let mut rest = fix;
    while let Some(start) = ["REVOKE ", "ALTER "].iter().filter_map(|w| rest.find(w)).min() {
        let end = rest[start..].find(';').map(|e| start + e).unwrap_or(rest.len());
        statements.push(rest[start..end].replace("<another role>", "postgres"));
        rest = &rest[end..];
    }
    statements
}

fn run_shapes(pg: &TestPostgres, shapes: &[Shape], prefix: &str) {
    let major = major(pg);
    for (i, shape) in shapes.iter().enumerate().filter(|(_, s)| major >= s.since) {
        let role = format!("{prefix}{i}");
        let fill = |s: &str| s.replace("{r}", &role);
        pg.create_monitor_role(&role, PW, "app");
        for statement in shape.setup {
            pg.psql("app", &fill(statement));
        }
        let what = format!("{} (PostgreSQL {major})", shape.name);
        let (code, out) = check_config(pg, &role);
        if shape.named.is_empty() {
            assert_eq!(code, 0, "{what}: check-config must pass: {out}");
            assert!(out.contains("read-only check: passed"), "{what}: {out}");
            let agent = Agent::start(&pg.url(&role, PW, "app"), &test_config(""));
            agent.wait_json("/api/v1/overview", WAIT, "a workload run", |_, v| {
                v["workload_age_seconds"].is_number().then_some(())
            });
            let (_, overview) = agent.get_json("/api/v1/overview");
            assert!(
                overview["write_access"].is_null(),
                "{what}: the agent agrees: {overview}"
            );
            continue;
        }
        assert_eq!(code, 3, "{what}: check-config must refuse: {out}");
        for named in shape.named {
            assert!(
                out.contains(&fill(named)),
                "{what}: `{}` missing from: {out}",
                fill(named)
            );
        }
        let (agent_code, agent_out) = run_to_exit(&pg.url(&role, PW, "app"), &test_config(""), WAIT);
        assert_eq!(agent_code, 3, "{what}: the agent refuses too: {agent_out}");
        for named in shape.named {
            assert!(
                agent_out.contains(&fill(named)),
                "{what}: agent: `{}` missing: {agent_out}",
                fill(named)
            );
        }
        let proof = shape.proof.map(fill);
        if let Some(proof) = &proof {
            prove(pg, &role, proof)
                .unwrap_or_else(|e| panic!("{what}: the refused role could not write ({proof}): {e}"));
        }
        let refusal = out.lines().find(|l| l.contains("REFUSED")).unwrap();
        for statement in fix_statements(refusal) {
            pg.psql("app", &statement);
        }
        let (code, out) = check_config(pg, &role);
        assert!(
            out.contains("read-only check: passed"),
            "{what}: after the printed fix: exit {code}: {out}"
        );
        if let Some(proof) = &proof {
            assert!(
                prove(pg, &role, proof).is_err(),
                "{what}: after the fix the role still writes ({proof})"
            );
        }
    }
}

#[test]
fn role_attributes_and_memberships_that_can_write_are_refused_with_an_exact_fix() {
    run_shapes(&cluster(), ATTRIBUTE_AND_ROLE_SHAPES, "ra");
}

#[test]
fn object_privileges_and_ownership_that_can_write_are_refused_with_an_exact_fix() {
    run_shapes(&cluster(), OBJECT_SHAPES, "ob");
}

#[test]
fn roles_that_cannot_write_pass_in_check_config_and_the_agent() {
    run_shapes(&cluster(), CLEAN_SHAPES, "cl");
}

/// Granted while the agent runs: a column privilege and a membership in a writer role the
/// agent's NOINHERIT role could SET ROLE to (workload loop), a role attribute and a database
/// privilege (hot path); each is named in /healthz and the API without a restart, and clears
/// when revoked.
#[test]
fn write_access_granted_while_running_degrades_and_clears() {
    let pg = cluster();
    pg.create_monitor_role("live", PW, "app");
    pg.psql(
        "app",
        "CREATE ROLE app_owner; CREATE TABLE owned (i int); ALTER TABLE owned OWNER TO app_owner",
    );
    let agent = Agent::start(&pg.url("live", PW, "app"), &test_config(""));
    let healthy = || {
        agent.wait_json("/api/v1/overview", WAIT, "no write access", |_, v| {
            (v["write_access"].is_null() && v["workload_age_seconds"].is_number()).then_some(())
        })
    };
    healthy();
    for (grant, revoke, named) in [
        (
            "GRANT UPDATE (v) ON t TO live",
            "REVOKE UPDATE (v) ON t FROM live",
            "UPDATE on column public.t (v)",
        ),
        (
            "GRANT app_owner TO live",
            "REVOKE app_owner FROM live",
            "OWNER on table public.owned through role app_owner",
        ),
        // Role level (hot path): the check is skipped while the role catalogs are unwritten,
        // and this write must still be seen.
        (
            "ALTER ROLE live BYPASSRLS",
            "ALTER ROLE live NOBYPASSRLS",
            "BYPASSRLS on role live",
        ),
        (
            "GRANT CREATE ON DATABASE app TO live",
            "REVOKE CREATE ON DATABASE app FROM live",
            "CREATE on database app",
        ),
    ] {
        pg.psql("app", grant);
        agent.wait_json(
            "/api/v1/health",
            WAIT,
            "write access named in the health report",
            |_, body| {
                body["degraded"]
                    .as_array()
                    .is_some_and(|d| {
                        d.iter().any(|l| {
                            l.as_str()
                                .is_some_and(|l| l.starts_with("read_only:") && l.contains(named))
                        })
                    })
                    .then_some(())
            },
        );
        let (_, overview) = agent.get_json("/api/v1/overview");
        assert!(overview["write_access"].as_str().unwrap().contains(named), "{overview}");
        pg.psql("app", revoke);
        healthy();
    }
}

//! Test support: a throwaway PostgreSQL (initdb + pg_ctl in a temp dir, random port, as an
//! unprivileged OS user when the tests run as root) and a pgmon agent process pointed at it.
//!
//! The PostgreSQL binaries come from `PGMON_TEST_PG_BINDIR`, else `pg_config --bindir`, else
//! the newest `/usr/lib/postgresql/*/bin`.

#![allow(dead_code)]

pub mod agent;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use tempfile::TempDir;

pub const SUPERUSER: &str = "postgres";
pub const SUPERUSER_PASSWORD: &str = "pgmon-test-superuser";

pub struct TestPostgres {
    pub port: u16,
    pub bin_dir: PathBuf,
    dir: TempDir,
    run_as: Option<String>,
}

fn find_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PGMON_TEST_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, p)| p).expect(
        "no PostgreSQL binaries found: install postgresql (apt-get install postgresql postgresql-contrib) or set PGMON_TEST_PG_BINDIR",
    )
}

pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A port a test server can listen on. Below the kernel's ephemeral range (32768 and up on
/// Linux), so no outgoing connection of a concurrent test can take it between this check and the
/// server's own bind (a port the kernel hands out for `:0` is in that range, and a standby whose
/// port an agent's connection took that way failed to start); each call in a process tries the
/// next candidate from a start that differs per process.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        std::process::id().wrapping_mul(2_654_435_761)
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
    });
    for _ in 0..COUNT {
        let port = (FIRST + start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + COUNT)
}

impl TestPostgres {
    /// initdb + start a cluster with pg_stat_statements preloaded and SCRAM on TCP.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra_conf: &[&str]) -> Self {
        let bin_dir = find_bin_dir();
        let run_as =
            running_as_root().then(|| std::env::var("PGMON_TEST_PG_USER").unwrap_or_else(|_| "postgres".into()));
        let dir = tempfile::Builder::new().prefix("pgmon-pg-").tempdir().unwrap();
        let pg = TestPostgres {
            port: free_port(),
            bin_dir,
            dir,
            run_as,
        };
        std::fs::write(pg.dir.path().join("pwfile"), SUPERUSER_PASSWORD).unwrap();
        if let Some(user) = &pg.run_as {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(pg.dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the test cluster dir to {user} failed");
        }
        let data = pg.data_dir();
        pg.run_ok(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
                pg.dir.path().join("pwfile").to_str().unwrap(),
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let mut conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nshared_preload_libraries = 'pg_stat_statements'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n\
             password_encryption = 'scram-sha-256'\ntrack_io_timing = on\npg_stat_statements.track = 'all'\n",
            pg.port,
            pg.dir.path().display()
        );
        for line in extra_conf {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path).unwrap();
        existing.push_str(&conf);
        std::fs::write(&conf_path, existing).unwrap();
        pg.start_server();
        pg.psql("postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;");
        pg
    }

    /// A streaming standby of this cluster, made the version-independent way: stop this
    /// cluster cleanly, copy its data directory, add `standby.signal` and `primary_conninfo`,
    /// start both. (The npm server packages ship no pg_basebackup.)
    pub fn start_standby(&self) -> TestPostgres {
        let dir = tempfile::Builder::new().prefix("pgmon-standby-").tempdir().unwrap();
        let standby = TestPostgres {
            port: free_port(),
            bin_dir: self.bin_dir.clone(),
            dir,
            run_as: self.run_as.clone(),
        };
        self.stop_server();
        let status = Command::new("cp")
            .arg("-a")
            .arg(self.data_dir())
            .arg(standby.data_dir())
            .status()
            .unwrap();
        assert!(status.success(), "copying the data directory failed");
        if let Some(user) = &standby.run_as {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(standby.dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = standby.data_dir();
        let _ = std::fs::remove_file(data.join("postmaster.pid"));
        let conf_path = data.join("postgresql.conf");
        let mut conf = std::fs::read_to_string(&conf_path).unwrap();
        conf.push_str(&format!(
            "\nport = {}\nunix_socket_directories = '{}'\nhot_standby = on\nprimary_conninfo = 'host={} port={} user={SUPERUSER}'\n",
            standby.port,
            standby.dir.path().display(),
            self.dir.path().display(),
            self.port
        ));
        std::fs::write(&conf_path, conf).unwrap();
        std::fs::write(data.join("standby.signal"), "").unwrap();
        if let Some(user) = &standby.run_as {
            let status = Command::new("chown").args(["-R", user]).arg(&data).status().unwrap();
            assert!(status.success());
        }
        self.start_server();
        standby.start_server();
        standby
    }

    /// A client program (psql, pgbench): from the server's bin dir when it has one, else from
    /// the newest Debian PostgreSQL install (clients work against newer and older servers).
    pub fn client_program(&self, name: &str) -> PathBuf {
        let own = self.bin_dir.join(name);
        if own.exists() {
            return own;
        }
        let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                Some((
                    e.file_name().to_string_lossy().parse::<u32>().ok()?,
                    e.path().join("bin").join(name),
                ))
            })
            .filter(|(_, p)| p.exists())
            .collect();
        candidates.sort();
        candidates
            .pop()
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no {name} found: apt-get install postgresql-client"))
    }

    /// Runs pgbench against `db` as the superuser over the Unix socket, waiting for it.
    pub fn pgbench(&self, db: &str, args: &[&str]) -> Output {
        let host = self.dir.path().to_str().unwrap().to_string();
        let port = self.port.to_string();
        let mut all: Vec<&str> = vec!["-h", &host, "-p", &port, "-U", SUPERUSER];
        all.extend_from_slice(args);
        all.push(db);
        self.run_ok("pgbench", &all)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = match program {
            "psql" | "pgbench" => self.client_program(program),
            _ => self.bin_dir.join(program),
        };
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe).args(args);
                c
            }
            None => {
                let mut c = Command::new(exe);
                c.args(args);
                c
            }
        }
    }

    fn run_ok(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .command(program, args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn start_server(&self) {
        let log = self.dir.path().join("server.log");
        self.run_ok(
            "pg_ctl",
            &[
                "-D",
                self.data_dir().to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    pub fn stop_server(&self) {
        self.run_ok(
            "pg_ctl",
            &["-D", self.data_dir().to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }

    /// Runs SQL as the superuser over the Unix socket (psql, -v ON_ERROR_STOP).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let host = self.dir.path().to_str().unwrap().to_string();
        let port = self.port.to_string();
        let out = self.run_ok(
            "psql",
            &[
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &host,
                "-p",
                &port,
                "-U",
                SUPERUSER,
                "-d",
                db,
                "-c",
                sql,
            ],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A URL DSN over TCP for `user`/`password` (percent-encoded here).
    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{}?sslmode=disable",
            encode(user),
            encode(password),
            self.port,
            db
        )
    }

    pub fn superuser_url(&self) -> String {
        self.url(SUPERUSER, SUPERUSER_PASSWORD, "postgres")
    }

    /// Creates a login role that is a member of pg_monitor and nothing else, and takes away
    /// PUBLIC's CREATE on schema public (the default before PostgreSQL 15).
    pub fn create_monitor_role(&self, name: &str, password: &str, db: &str) {
        self.psql(
            db,
            &format!(
                "CREATE ROLE {name} LOGIN PASSWORD {}; GRANT pg_monitor TO {name}; REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
                literal(password)
            ),
        );
    }

    /// A tokio-postgres client as the superuser (connection driven by a spawned task).
    pub async fn client(&self, db: &str) -> tokio_postgres::Client {
        let (client, conn) =
            tokio_postgres::connect(&self.url(SUPERUSER, SUPERUSER_PASSWORD, db), tokio_postgres::NoTls)
                .await
                .expect("connect to test cluster");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }

    /// A database `app` watched by role `monitor` (password `pw`) with something in every
    /// panel: `orders` (4,000 live rows, 1,000 dead, a secondary index), a range-partitioned
    /// `events` with a partition around now, `accounts` row 1 for [`Self::blocked_session`], and
    /// an inactive physical replication slot `seed_slot`.
    /// `pg_stat_statements` is created first when `statements` is set.
    pub fn seed_app(&self, statements: bool) {
        self.psql("postgres", "CREATE DATABASE app");
        if statements {
            self.psql("app", "CREATE EXTENSION pg_stat_statements");
        }
        self.create_monitor_role("monitor", "pw", "app");
        self.psql(
            "app",
            "CREATE TABLE orders (id int PRIMARY KEY, v text);
             INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 5000) g;
             CREATE INDEX orders_v ON orders (v);
             DELETE FROM orders WHERE id <= 1000;
             CREATE TABLE events (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
             CREATE TABLE events_now PARTITION OF events
               FOR VALUES FROM (now() - interval '1 day') TO (now() + interval '1 day');
             CREATE TABLE accounts (id int PRIMARY KEY, balance int);
             INSERT INTO accounts VALUES (1, 0);
             SELECT count(*) FROM orders WHERE id > 10;",
        );
        // An inactive physical slot that reserves WAL: the slots section has a row.
        self.psql("app", "SELECT pg_create_physical_replication_slot('seed_slot', true)");
    }

    /// A real lock wait: one session updates `accounts` row 1 and stays idle in transaction,
    /// a second one blocks updating the same row. The test seeds `accounts (id int PRIMARY
    /// KEY, balance int)` with row 1. ROLLBACK on the holder ends both; the waiter then returns.
    pub async fn blocked_session(
        &self,
        db: &str,
    ) -> (
        tokio_postgres::Client,
        tokio::task::JoinHandle<Result<u64, tokio_postgres::Error>>,
    ) {
        let holder = self.client(db).await;
        holder
            .batch_execute("BEGIN; UPDATE accounts SET balance = 1 WHERE id = 1;")
            .await
            .unwrap();
        let waiter_client = self.client(db).await;
        let waiter = tokio::spawn(async move {
            waiter_client
                .execute("UPDATE accounts SET balance = 2 WHERE id = 1", &[])
                .await
        });
        (holder, waiter)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = self
            .command(
                "pg_ctl",
                &["-D", self.data_dir().to_str().unwrap(), "-m", "immediate", "-w", "stop"],
            )
            .output();
    }
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Polls `check` every 200 ms until it returns Some or `timeout` passes.
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `promtool check metrics` (Debian package prometheus) lints the exposition format.
pub fn promtool_check(metrics: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool not found: apt-get install prometheus");
    child.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- metrics ---\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

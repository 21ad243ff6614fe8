//! Security of both sides against a real PostgreSQL: DB TLS by `sslmode` (require, verify-ca,
//! verify-full) with a test CA made here by rcgen and a cluster running `ssl = on`; libpq's
//! negotiation (`prefer` tries TLS then plaintext, `allow` the reverse) against TLS-only,
//! plaintext-only and TLS-refusing servers, the advisory for an unverified remote host; HTTPS
//! on the agent's listener; per-scope HTTP credentials; `pgmon --healthcheck` over TLS; and
//! bad certificate/secret files refused as bad input (exit 2).

mod support;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use support::agent::{run_to_exit, test_config, Agent};
use support::{encode, running_as_root, TestPostgres};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(30);
const MONITOR: &str = "monitor";
const MONITOR_PASSWORD: &str = "tls-pw:1@x";

/// A certificate authority made for one test.
struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn test_ca(name: &str) -> TestCa {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    TestCa {
        issuer: Issuer::new(params, key),
        pem,
    }
}

/// A server certificate for `names` (DNS names or IP addresses) signed by `ca`: (cert, key) PEM.
fn server_cert(ca: &TestCa, names: &[&str]) -> (String, String) {
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// Files for one test: the CA, the server's certificate and key (mode 600, owned by the OS user
/// PostgreSQL runs as, as it demands).
struct Certs {
    dir: TempDir,
}

impl Certs {
    fn new(server_names: &[&str]) -> Certs {
        let dir = tempfile::Builder::new().prefix("pgmon-tls-").tempdir().unwrap();
        let ca = test_ca("pgmon test CA");
        let (cert, key) = server_cert(&ca, server_names);
        std::fs::write(dir.path().join("ca.crt"), &ca.pem).unwrap();
        std::fs::write(dir.path().join("server.crt"), cert).unwrap();
        std::fs::write(dir.path().join("server.key"), key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path().join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        if running_as_root() {
            let user = std::env::var("PGMON_TEST_PG_USER").unwrap_or_else(|_| "postgres".into());
            let status = Command::new("chown")
                .args(["-R", &user])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the certificate dir to {user} failed");
        }
        Certs { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A second, unrelated CA's certificate, for the wrong-CA case.
    fn other_ca_file(&self) -> PathBuf {
        let path = self.path("other-ca.crt");
        std::fs::write(&path, test_ca("some other CA").pem).unwrap();
        path
    }

    fn postgresql_conf(&self) -> Vec<String> {
        vec![
            "ssl = on".into(),
            format!("ssl_cert_file = '{}'", self.path("server.crt").display()),
            format!("ssl_key_file = '{}'", self.path("server.key").display()),
        ]
    }

    /// A `pg_hba.conf` with `tcp_lines` after trusted socket access (the test's own psql), and
    /// the setting that points the cluster at it.
    fn hba_file(&self, tcp_lines: &[&str]) -> String {
        let path = self.path("pg_hba.conf");
        std::fs::write(&path, format!("local all all trust\n{}\n", tcp_lines.join("\n"))).unwrap();
        format!("hba_file = '{}'", path.display())
    }
}

/// A cluster with `ssl = on` serving a certificate for 127.0.0.1 and localhost.
fn ssl_postgres(certs: &Certs) -> TestPostgres {
    ssl_postgres_with(certs, &[])
}

/// The same with more settings.
fn ssl_postgres_with(certs: &Certs, extra: &[String]) -> TestPostgres {
    let mut conf = certs.postgresql_conf();
    conf.extend_from_slice(extra);
    let conf: Vec<&str> = conf.iter().map(String::as_str).collect();
    let pg = TestPostgres::start_with(&conf);
    pg.create_monitor_role(MONITOR, MONITOR_PASSWORD, "postgres");
    pg
}

/// pg_hba.conf of a server that takes TCP connections over TLS only (as a managed service
/// may): `psql` connects to it with no `sslmode`.
const TLS_ONLY: &[&str] = &[
    "hostnossl all all all reject",
    "hostssl all all 127.0.0.1/32 scram-sha-256",
];

fn monitor_url(pg: &TestPostgres, host: &str, params: &str) -> String {
    let query = if params.is_empty() {
        String::new()
    } else {
        format!("?{params}")
    };
    format!(
        "postgres://{MONITOR}:{}@{host}:{}/postgres{query}",
        encode(MONITOR_PASSWORD),
        pg.port
    )
}

/// A key=value DSN for the monitor role on 127.0.0.1, with `extra` parameters.
fn monitor_key_values(pg: &TestPostgres, extra: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={MONITOR} password='{MONITOR_PASSWORD}' dbname=postgres {extra}",
        pg.port
    )
}

/// Starts an agent on `dsn`, waits until it is healthy, and returns whether its sessions are
/// encrypted ("t"/"f" each, at least one), then stops it.
fn sessions_of_a_healthy_agent(pg: &TestPostgres, dsn: &str) -> Vec<String> {
    let agent = Agent::start(dsn, &test_config(""));
    let health = healthy(&agent);
    assert_eq!(health["database"]["reachable"], true, "{health}");
    let sessions = support::eventually(WAIT, "a pgmon session in pg_stat_ssl", || {
        Some(agent_sessions_ssl(pg)).filter(|s| !s.is_empty())
    });
    assert!(
        !agent.logs().contains(MONITOR_PASSWORD),
        "password leaked: {}",
        agent.logs()
    );
    drop(agent);
    // The next agent's sessions must not be mixed with these.
    support::eventually(WAIT, "the stopped agent's sessions gone", || {
        agent_sessions_ssl(pg).is_empty().then_some(())
    });
    sessions
}

fn all(sessions: &[String], ssl: &str) -> bool {
    !sessions.is_empty() && sessions.iter().all(|s| s == ssl)
}

fn healthy(agent: &Agent) -> serde_json::Value {
    agent.wait_json("/healthz", WAIT, "healthz 200", |status, body| {
        (status == 200).then(|| body.clone())
    })
}

/// Whether each of the agent's sessions is encrypted, as PostgreSQL reports it.
fn agent_sessions_ssl(pg: &TestPostgres) -> Vec<String> {
    pg.psql(
        "postgres",
        "SELECT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE application_name = 'pgmon'",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn verify_full_with_the_right_ca_is_healthy_over_ssl() {
    let certs = Certs::new(&["127.0.0.1", "localhost"]);
    let pg = ssl_postgres(&certs);
    let dsn = monitor_url(
        &pg,
        "127.0.0.1",
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            encode(&certs.path("ca.crt").display().to_string())
        ),
    );
    let agent = Agent::start(&dsn, &test_config(""));
    let health = healthy(&agent);
    assert_eq!(health["database"]["reachable"], true, "{health}");
    let sessions = agent_sessions_ssl(&pg);
    assert!(!sessions.is_empty(), "no pgmon session in pg_stat_activity");
    assert!(
        sessions.iter().all(|s| s == "t"),
        "a pgmon session is not encrypted: {sessions:?}"
    );
    assert!(!agent.logs().contains(MONITOR_PASSWORD), "password leaked");
}

#[test]
fn verify_full_with_a_wrong_ca_degrades_naming_the_certificate_problem() {
    let certs = Certs::new(&["127.0.0.1", "localhost"]);
    let pg = ssl_postgres(&certs);
    let wrong_ca = certs.other_ca_file();
    let dsn = format!(
        "host=127.0.0.1 port={} user={MONITOR} password='{MONITOR_PASSWORD}' dbname=postgres sslmode=verify-full sslrootcert='{}'",
        pg.port,
        wrong_ca.display()
    );
    let mut agent = Agent::start(&dsn, &test_config(""));
    let error = agent.wait_json(
        "/api/v1/health",
        WAIT,
        "healthz 503 naming the certificate",
        |status, body| {
            let error = body["database"]["error"].as_str()?.to_string();
            (status == 503 && error.contains("certificate")).then_some(error)
        },
    );
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(agent.is_running(), "the agent must stay up, degraded");
    assert!(agent_sessions_ssl(&pg).is_empty());
}

#[test]
fn require_without_a_ca_connects_encrypted() {
    let certs = Certs::new(&["127.0.0.1", "localhost"]);
    let pg = ssl_postgres(&certs);
    let agent = Agent::start(&monitor_url(&pg, "127.0.0.1", "sslmode=require"), &test_config(""));
    healthy(&agent);
    let sessions = agent_sessions_ssl(&pg);
    assert!(
        !sessions.is_empty() && sessions.iter().all(|s| s == "t"),
        "{sessions:?}"
    );
}

#[test]
fn verify_full_refuses_a_certificate_for_another_host_and_verify_ca_accepts_it() {
    let certs = Certs::new(&["db.example.com"]);
    let pg = ssl_postgres(&certs);
    let ca = certs.path("ca.crt").display().to_string();
    // hostaddr connects to the test cluster while the certificate is checked against `host`.
    let dsn = |host: &str, mode: &str| {
        format!(
            "host={host} hostaddr=127.0.0.1 port={} user={MONITOR} password='{MONITOR_PASSWORD}' dbname=postgres sslmode={mode} sslrootcert={ca}",
            pg.port
        )
    };
    let agent = Agent::start(&dsn("pg.internal", "verify-full"), &test_config(""));
    let error = agent.wait_json(
        "/api/v1/health",
        WAIT,
        "healthz 503 naming the host mismatch",
        |status, body| {
            let error = body["database"]["error"].as_str()?.to_string();
            (status == 503 && error.contains("certificate")).then_some(error)
        },
    );
    assert!(error.contains("not valid for name"), "{error}");
    drop(agent);

    let agent = Agent::start(&dsn("pg.internal", "verify-ca"), &test_config(""));
    healthy(&agent);
    drop(agent);
    let agent = Agent::start(&dsn("db.example.com", "verify-full"), &test_config(""));
    healthy(&agent);
    assert!(agent_sessions_ssl(&pg).iter().all(|s| s == "t"));
}

#[test]
fn unreadable_sslrootcert_is_bad_input_naming_it() {
    let dsn = "postgres://u:hunter2@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem";
    let (code, output) = run_to_exit(dsn, &test_config(""), WAIT);
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("sslrootcert = /nonexistent/ca.pem: cannot read"),
        "{output}"
    );
    assert!(!output.contains("hunter2"), "{output}");
}

#[test]
fn tls_only_server_takes_the_default_prefer_and_allow_over_tls_and_refuses_disable_saying_why() {
    let certs = Certs::new(&["127.0.0.1", "localhost"]);
    let pg = ssl_postgres_with(&certs, &[certs.hba_file(TLS_ONLY)]);
    for dsn in [
        // No sslmode at all: libpq's default, prefer, as psql would connect.
        monitor_key_values(&pg, ""),
        monitor_url(&pg, "127.0.0.1", ""),
        monitor_url(&pg, "127.0.0.1", "sslmode=prefer"),
        // allow: the plaintext try is refused by pg_hba.conf, the retry offers TLS.
        monitor_url(&pg, "127.0.0.1", "sslmode=allow"),
        monitor_key_values(&pg, "sslmode=allow"),
    ] {
        let sessions = sessions_of_a_healthy_agent(&pg, &dsn);
        assert!(
            all(&sessions, "t"),
            "{dsn}: a pgmon session is not encrypted: {sessions:?}"
        );
    }

    // check-config connects once outside the pools, the same way.
    let (mut cmd, _dir) = support::agent::command(&monitor_key_values(&pg, ""), &test_config(""));
    let out = cmd.arg("check-config").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("db tls:     sslmode=prefer: TLS (unverified) when the server offers it, else plaintext")
            && text.contains("database: reachable")
            && !text.contains("never checks the server's certificate")
            && !text.contains(MONITOR_PASSWORD),
        "{text}"
    );

    let agent = Agent::start(&monitor_url(&pg, "127.0.0.1", "sslmode=disable"), &test_config(""));
    let error = agent.wait_json(
        "/api/v1/health",
        WAIT,
        "healthz 503 naming pg_hba.conf",
        |status, body| {
            let error = body["database"]["error"].as_str()?.to_string();
            (status == 503 && error.contains("pg_hba.conf")).then_some(error)
        },
    );
    assert!(
        error.contains("SQLSTATE 28000")
            && error.contains("sslmode=disable: the server may accept this role over TLS only")
            && error.contains("sslmode=verify-full"),
        "{error}"
    );
    assert!(!error.contains(MONITOR_PASSWORD) && !agent.logs().contains(MONITOR_PASSWORD));
    drop(agent);

    // A wrong password under prefer: both tries are reported, as libpq does.
    let dsn = format!(
        "host=127.0.0.1 port={} user={MONITOR} password=wrong-S3cret dbname=postgres",
        pg.port
    );
    let agent = Agent::start(&dsn, &test_config(""));
    let error = agent.wait_json(
        "/api/v1/health",
        WAIT,
        "healthz 503 naming both tries",
        |status, body| {
            let error = body["database"]["error"].as_str()?.to_string();
            (status == 503 && error.contains("then without TLS")).then_some(error)
        },
    );
    assert!(
        error.contains(
            "unreachable: over TLS: password authentication failed for user \"monitor\" (SQLSTATE 28P01); then without TLS: "
        ) && error.contains("SQLSTATE 28000"),
        "{error}"
    );
    assert!(!error.contains("wrong-S3cret") && !agent.logs().contains("wrong-S3cret"));
}

#[test]
fn plaintext_server_takes_the_default_prefer_and_allow_in_plaintext() {
    let pg = TestPostgres::start();
    pg.create_monitor_role(MONITOR, MONITOR_PASSWORD, "postgres");
    for dsn in [
        monitor_key_values(&pg, ""),
        monitor_url(&pg, "127.0.0.1", "sslmode=prefer"),
        monitor_url(&pg, "localhost", "sslmode=allow"),
    ] {
        let sessions = sessions_of_a_healthy_agent(&pg, &dsn);
        assert!(all(&sessions, "f"), "{dsn}: {sessions:?}");
    }
    // A loopback host needs no TLS advice.
    let agent = Agent::start(&monitor_url(&pg, "127.0.0.1", "sslmode=prefer"), &test_config(""));
    let health = healthy(&agent);
    assert_eq!(
        health["advisories"]
            .as_array()
            .map(|a| a.iter().any(|a| a["code"] == "database_tls_unverified")),
        Some(false),
        "{health}"
    );
}

#[test]
fn prefer_goes_without_tls_when_the_server_refuses_the_tls_session() {
    let certs = Certs::new(&["127.0.0.1", "localhost"]);
    let hba = certs.hba_file(&[
        "hostssl all all all reject",
        "hostnossl all all 127.0.0.1/32 scram-sha-256",
    ]);
    let pg = ssl_postgres_with(&certs, &[hba]);
    let sessions = sessions_of_a_healthy_agent(&pg, &monitor_key_values(&pg, "sslmode=prefer"));
    assert!(all(&sessions, "f"), "{sessions:?}");
}

#[test]
fn prefer_goes_without_tls_when_the_handshake_fails() {
    // The server offers TLS but only versions the agent refuses (rustls speaks 1.2 and 1.3).
    let certs = Certs::new(&["127.0.0.1", "localhost"]);
    let pg = ssl_postgres_with(
        &certs,
        &[
            "ssl_min_protocol_version = 'TLSv1'".into(),
            "ssl_max_protocol_version = 'TLSv1.1'".into(),
        ],
    );
    let sessions = sessions_of_a_healthy_agent(&pg, &monitor_url(&pg, "127.0.0.1", ""));
    assert!(all(&sessions, "f"), "{sessions:?}");

    // require has no fallback: the handshake failure is the reason.
    let agent = Agent::start(&monitor_url(&pg, "127.0.0.1", "sslmode=require"), &test_config(""));
    let error = agent.wait_json(
        "/api/v1/health",
        WAIT,
        "healthz 503 naming the handshake",
        |status, body| {
            let error = body["database"]["error"].as_str()?.to_string();
            (status == 503).then_some(error)
        },
    );
    assert!(error.contains("TLS handshake"), "{error}");
}

#[test]
fn a_silent_server_bounds_both_tries_of_prefer_and_allow_by_the_connect_timeout() {
    // Accepts connections and never answers (a frozen server): the SSLRequest of prefer and the
    // startup packet of allow both wait for ever without the budget.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    for mode in ["prefer", "allow"] {
        let dsn = format!("postgres://monitor:hunter2@127.0.0.1:{port}/postgres?sslmode={mode}");
        let yaml = test_config("timeouts:\n  connect_timeout_ms: 1000\n");
        let (mut cmd, _dir) = support::agent::command(&dsn, &yaml);
        let out = cmd.arg("check-config").output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{text}");
        // The attempt's own budget (1 s) ended it, not check-config's outer wait (2 s).
        assert!(
            text.contains("did not complete the startup and authentication within 1s"),
            "{mode}: {text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[test]
fn a_remote_host_without_verification_is_advised_to_verify_full() {
    // 192.0.2.0/24 is TEST-NET-1: nothing answers, the agent runs degraded, the advisory is
    // shown from the start all the same.
    for (params, advised) in [
        ("", true),
        ("?sslmode=require", true),
        ("?sslmode=disable", true),
        ("?sslmode=verify-full", false),
    ] {
        let dsn = format!("postgres://monitor:hunter2@192.0.2.10:5432/postgres{params}");
        let agent = Agent::start(&dsn, &test_config("timeouts:\n  connect_timeout_ms: 500\n"));
        // The advisory names the host: its text is in the full report; an open /healthz
        // gives its code only.
        let (_, anonymous) = agent.get_json("/healthz");
        assert_eq!(
            anonymous["advisories"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["code"] == "database_tls_unverified"),
            advised,
            "{params}: {anonymous}"
        );
        assert!(!anonymous.to_string().contains("192.0.2.10"), "{anonymous}");
        let (_, body) = agent.get_json("/api/v1/health");
        let advisory = body["advisories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == "database_tls_unverified")
            .cloned();
        assert_eq!(advisory.is_some(), advised, "{params}: {body}");
        if let Some(a) = advisory {
            let message = a["message"].as_str().unwrap();
            assert!(message.contains("connection to 192.0.2.10 uses"), "{message}");
            assert!(
                message.contains("pose as the server and read the password"),
                "{message}"
            );
            assert!(
                a["fix"]
                    .as_str()
                    .unwrap()
                    .contains("sslmode=verify-full and sslrootcert="),
                "{a}"
            );
            assert!(agent.logs().contains("database_tls_unverified"), "logged once at start");
        }
        assert!(!body.to_string().contains("hunter2") && !agent.logs().contains("hunter2"));
    }
}

// --- HTTP side ---------------------------------------------------------------------------

/// HTTPS certificate for the agent's listener, signed by its own test CA.
struct HttpCerts {
    dir: TempDir,
    ca_pem: String,
}

fn http_certs() -> HttpCerts {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca("pgmon http test CA");
    let (cert, key) = server_cert(&ca, &["127.0.0.1", "localhost"]);
    std::fs::write(dir.path().join("tls.crt"), cert).unwrap();
    std::fs::write(dir.path().join("tls.key"), key).unwrap();
    HttpCerts { dir, ca_pem: ca.pem }
}

impl HttpCerts {
    fn yaml(&self) -> String {
        format!(
            "  tls:\n    cert_file: \"{}\"\n    key_file: \"{}\"\n",
            self.dir.path().join("tls.crt").display(),
            self.dir.path().join("tls.key").display()
        )
    }
}

/// The test config with extra lines under `http:`.
fn config_with_http(http_lines: &str) -> String {
    test_config("").replacen("http:\n", &format!("http:\n{http_lines}"), 1)
}

/// An HTTP client trusting `ca_pem` (if any): (status, WWW-Authenticate values, body).
fn request(url: &str, ca_pem: Option<&str>, authorization: Option<&str>) -> (u16, Vec<String>, String) {
    let mut builder = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)));
    if let Some(pem) = ca_pem {
        let ca = ureq::tls::Certificate::from_pem(pem.as_bytes()).unwrap();
        builder = builder.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
                .build(),
        );
    }
    let http: ureq::Agent = builder.build().into();
    let mut req = http.get(url);
    if let Some(value) = authorization {
        req = req.header("Authorization", value);
    }
    let mut resp = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let challenges = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let status = resp.status().as_u16();
    (status, challenges, resp.body_mut().read_to_string().unwrap())
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn plain_postgres_dsn(pg: &TestPostgres) -> String {
    pg.create_monitor_role(MONITOR, MONITOR_PASSWORD, "postgres");
    pg.url(MONITOR, MONITOR_PASSWORD, "postgres")
}

fn healthcheck(config_yaml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgmon.yaml");
    std::fs::write(&path, config_yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pgmon"))
        .arg("--healthcheck")
        .arg("--config")
        .arg(&path)
        .env_remove("PGMON_CONFIG")
        .env_remove("PGMON_DSN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn https_listener_serves_the_test_certificate_and_healthcheck_speaks_tls() {
    let pg = TestPostgres::start();
    let certs = http_certs();
    let yaml = config_with_http(&certs.yaml());
    let agent = Agent::start(&plain_postgres_dsn(&pg), &yaml);
    assert!(agent.logs().contains(r#""scheme":"https""#), "{}", agent.logs());
    let url = format!("https://{}/healthz", agent.addr);
    let status = support::eventually(WAIT, "HTTPS /healthz 200", || {
        let (status, _, _) = request(&url, Some(&certs.ca_pem), None);
        (status == 200).then_some(status)
    });
    assert_eq!(status, 200);
    let (status, _, body) = request(&format!("https://{}/metrics", agent.addr), Some(&certs.ca_pem), None);
    assert_eq!(status, 200);
    assert!(body.contains("pgmon_database_up"), "{body}");

    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let plain = ureq::get(format!("http://{}/healthz", agent.addr)).call();
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");

    // The probe uses the agent's own config, with its real port.
    let probe_yaml = yaml.replace("127.0.0.1:0", &agent.addr);
    let (code, output) = healthcheck(&probe_yaml);
    assert_eq!(code, 0, "{output}");
    let (code, output) = healthcheck(&test_config("").replace("127.0.0.1:0", &agent.addr));
    assert_eq!(code, 1, "a plain-HTTP probe of an HTTPS agent fails: {output}");
}

#[test]
fn auth_scopes_refuse_missing_and_wrong_credentials_and_accept_the_right_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api-password"), "api-s3cret\n").unwrap();
    std::fs::write(dir.path().join("metrics-token"), "scrape-t0ken\n").unwrap();
    let http = format!(
        "  auth:\n    api:\n      basic_user: ops\n      basic_password_file: \"{}\"\n    metrics:\n      bearer_token_file: \"{}\"\n    ui:\n      basic_user: viewer\n",
        dir.path().join("api-password").display(),
        dir.path().join("metrics-token").display()
    );
    std::fs::write(dir.path().join("ui-password"), "0042\n").unwrap();
    let http = http.replace(
        "      basic_user: viewer\n",
        &format!(
            "      basic_user: viewer\n      basic_password_file: \"{}\"\n",
            dir.path().join("ui-password").display()
        ),
    );
    // No database: the HTTP side works while the agent is degraded.
    let agent = Agent::start("postgres://u@127.0.0.1:1/db", &config_with_http(&http));
    let base = format!("http://{}", agent.addr);
    let get = |path: &str, auth: Option<&str>| request(&format!("{base}{path}"), None, auth);

    let (status, challenges, body) = get("/api/v1/overview", None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(challenges, vec![r#"Basic realm="pgmon", charset="UTF-8""#]);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["scope"], "api");
    assert_eq!(body["error"], "authentication required");
    let (status, _, body) = get("/api/v1/overview", Some(&basic("ops", "wrong")));
    assert_eq!((status, body.contains("wrong credentials")), (401, true), "{body}");
    let (status, _, _) = get("/api/v1/overview", Some(&basic("ops", "api-s3cret")));
    assert_ne!(status, 401);
    // The API password does not open the metrics scope.
    let (status, challenges, _) = get("/metrics", Some(&basic("ops", "api-s3cret")));
    assert_eq!((status, challenges), (401, vec![r#"Bearer realm="pgmon""#.to_string()]));
    let (status, _, _) = get("/metrics", Some("Bearer wrong-token"));
    assert_eq!(status, 401);
    let (status, _, body) = get("/metrics", Some("Bearer scrape-t0ken"));
    assert_eq!(status, 200);
    assert!(body.contains("pgmon_"), "{body}");
    // Encoded spellings of a protected path are protected too.
    let (status, _, _) = get("/%6Detrics", None);
    assert_eq!(status, 401);

    let (status, _, _) = get("/", None);
    assert_eq!(status, 401);
    let (status, _, _) = get("/", Some(&basic("viewer", "0042")));
    assert_eq!(status, 200);

    // /healthz stays open whatever is configured (503 here: no database).
    let (status, _, body) = get("/healthz", None);
    assert_eq!(status, 503, "{body}");
    assert!(!agent.logs().contains("api-s3cret") && !agent.logs().contains("scrape-t0ken"));
}

#[test]
fn auth_password_from_the_environment_is_taken_verbatim() {
    let (mut cmd, _dir) = support::agent::command(
        "postgres://u@127.0.0.1:1/db",
        &config_with_http("  auth:\n    ui:\n      basic_user: viewer\n"),
    );
    cmd.env("PGMON_HTTP__AUTH__UI__BASIC_PASSWORD", "0042");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let addr = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(&line).ok()?;
            (v["message"] == "listening").then(|| v["addr"].as_str().unwrap().to_string())
        });
    let result = addr.map(|addr| {
        let url = format!("http://{addr}/");
        (
            request(&url, None, Some(&basic("viewer", "42"))).0,
            request(&url, None, Some(&basic("viewer", "0042"))).0,
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(result, Some((401, 200)));
}

#[test]
fn bad_http_tls_files_are_bad_input_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not pem\n").unwrap();
    let certs = http_certs();
    let cases = [
        (
            format!(
                "  tls:\n    cert_file: /nonexistent/tls.crt\n    key_file: \"{}\"\n",
                certs.dir.path().join("tls.key").display()
            ),
            "http.tls.cert_file",
            "/nonexistent/tls.crt".to_string(),
        ),
        (
            format!(
                "  tls:\n    cert_file: \"{}\"\n    key_file: \"{}\"\n",
                certs.dir.path().join("tls.crt").display(),
                junk.display()
            ),
            "http.tls.key_file",
            junk.display().to_string(),
        ),
    ];
    for (http, key, file) in cases {
        let (code, output) = run_to_exit("postgres://u@127.0.0.1:1/db", &config_with_http(&http), WAIT);
        assert_eq!(code, 2, "{output}");
        let line = output.lines().find(|l| l.starts_with("pgmon: ")).unwrap_or("");
        assert!(line.contains(key) && line.contains(&file), "{output}");
    }
}

#[test]
fn missing_password_file_is_bad_input_naming_key_and_file() {
    let http = "  auth:\n    api:\n      basic_user: ops\n      basic_password_file: /nonexistent/pw\n";
    let (code, output) = run_to_exit("postgres://u@127.0.0.1:1/db", &config_with_http(http), WAIT);
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("http.auth.api.basic_password_file") && output.contains("/nonexistent/pw"),
        "{output}"
    );
}

//! How every database connection negotiates TLS, after libpq's `sslmode`: the connector built
//! once from the DSN's `sslmode` and `sslrootcert` (see [`crate::config::DbTls`]), rustls
//! through tokio-postgres-rustls (which also gives SCRAM channel binding), and the order of
//! tries each mode makes ([`plan`], [`Transport::connect`]):
//!
//! | sslmode | first try | second try, only when the first fails as said |
//! | --- | --- | --- |
//! | `disable` | plaintext | — |
//! | `allow` | plaintext | the server answers with an error (e.g. `pg_hba.conf` rejects non-TLS): again, offering TLS (unverified) |
//! | `prefer` (default) | TLS if the server offers it (unverified), else plaintext on the same socket | the TLS handshake fails, or the server answers the TLS session with an error: again, in plaintext |
//! | `require`, `verify-ca`, `verify-full` | TLS, checked as the mode says | — |
//!
//! `allow` and `prefer` never check the certificate, as libpq without a CA file (with one,
//! libpq checks the chain in `prefer` and goes plaintext when that fails: no safer, since an
//! impersonator can simply decline TLS), and a DSN of Unix sockets only never asks for TLS,
//! as libpq. Both tries share one budget, the connect timeout (libpq's timer is not restarted for this retry
//! either): a server that hangs the first try uses it up and the attempt fails as timed out.
//!
//! A non-loopback host reached with a mode that does not verify the server gets an advisory
//! ([`unverified_advisory`]).
//!
//! Building the connector fails only on a bad `sslrootcert` file (an operator error: the
//! caller exits 2); a certificate the server presents that does not verify fails that
//! connection, and the loops report it ("invalid peer certificate: UnknownIssuer") while the
//! agent stays up degraded.

use super::capabilities::Advisory;
use super::{describe_pg_error, ConnectError};
use crate::config::{DbTls, DbVerify, SslMode};
use crate::tls::{self, ServerCheck};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// rustls for tokio-postgres. A Unix-socket host has no name to put in the handshake; a
/// placeholder keeps such (plaintext) connections working.
#[derive(Clone)]
pub struct PgTls(MakeRustlsConnect);

impl<S> MakeTlsConnect<S> for PgTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Self::TlsConnect, Self::Error> {
        let name = if hostname.is_empty() { "localhost" } else { hostname };
        <MakeRustlsConnect as MakeTlsConnect<S>>::make_tls_connect(&mut self.0, name)
    }
}

/// The connector for these settings; the error names `sslrootcert` and the file. The modes
/// that do not verify (`allow`, `prefer`, `require` without a CA) encrypt without checking the
/// certificate, and never read `sslrootcert`.
pub fn connector(settings: &DbTls) -> Result<PgTls, String> {
    let roots = || match settings.root_cert_file() {
        Some(path) => tls::load_roots(path).map_err(|e| format!("sslrootcert = {e}")),
        None => Ok(tls::bundled_roots()),
    };
    let check = match settings.verify() {
        DbVerify::Plaintext | DbVerify::EncryptOnly => ServerCheck::None,
        DbVerify::Chain => ServerCheck::Chain(roots()?),
        DbVerify::Full => ServerCheck::Full(roots()?),
    };
    let config = tls::client_config(check)?;
    Ok(PgTls(MakeRustlsConnect::new(config)))
}

/// One line for logs and `check-config`: `sslmode=verify-full (CA /etc/ssl/pg-ca.pem): TLS,
/// chain and host name checked`.
pub fn describe(settings: &DbTls) -> String {
    let ca = match (settings.verify(), settings.root_cert_file()) {
        (DbVerify::Chain | DbVerify::Full, Some(path)) => format!(" (CA {})", path.display()),
        (DbVerify::Chain | DbVerify::Full, None) => " (bundled Mozilla roots)".to_string(),
        _ => String::new(),
    };
    let what = match (settings.mode, settings.verify()) {
        (SslMode::Disable, _) => "plaintext",
        (SslMode::Allow, _) => "plaintext, TLS (unverified) only if the server refuses plaintext",
        (SslMode::Prefer, _) => "TLS (unverified) when the server offers it, else plaintext",
        (_, DbVerify::Chain) => "TLS, chain checked",
        (_, DbVerify::Full) => "TLS, chain and host name checked",
        _ => "TLS, certificate not checked",
    };
    format!("sslmode={}{ca}: {what}", settings.mode.as_str())
}

/// What a connection does when its first try fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Never,
    /// `prefer`: the TLS handshake failed, or the server answered the TLS session with an
    /// error: once more in plaintext.
    WithoutTls,
    /// `allow`: the server answered the plaintext session with an error: once more, offering
    /// TLS (plaintext again if the server declines it).
    OfferingTls,
}

/// The tries of one connection: tokio-postgres' `sslmode` for the first, and the retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub first: PgSslMode,
    pub retry: Retry,
}

/// The tries `mode` makes (see the module table). Only Unix sockets: no TLS is ever asked for
/// in the modes that can do without it (PostgreSQL offers none there; libpq does not ask).
pub fn plan(mode: SslMode, only_unix_sockets: bool) -> Plan {
    let (first, retry) = match mode {
        SslMode::Disable => (PgSslMode::Disable, Retry::Never),
        SslMode::Allow | SslMode::Prefer if only_unix_sockets => (PgSslMode::Disable, Retry::Never),
        SslMode::Allow => (PgSslMode::Disable, Retry::OfferingTls),
        SslMode::Prefer => (PgSslMode::Prefer, Retry::WithoutTls),
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => (PgSslMode::Require, Retry::Never),
    };
    Plan { first, retry }
}

/// How far a try got with TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsStage {
    /// Not asked for, or declined by the server: the session is plaintext.
    None,
    /// The server accepted the SSLRequest; the handshake has not completed.
    Handshake,
    /// The handshake completed: the session is encrypted.
    Encrypted,
}

/// Whether a failed try is retried: `prefer` after a failed handshake or a server error on the
/// TLS session; `allow` after a server error on the plaintext session (libpq's rules, which
/// retry on an ErrorResponse during start-up, not on a closed socket or a refused TCP connect).
fn should_retry(retry: Retry, stage: TlsStage, server_error: bool) -> bool {
    match retry {
        Retry::Never => false,
        Retry::WithoutTls => stage == TlsStage::Handshake || (stage == TlsStage::Encrypted && server_error),
        Retry::OfferingTls => server_error,
    }
}

/// [`PgTls`] that records how far its handshake got, so a failed try can be told apart: the
/// server declined TLS (plaintext), the handshake failed, or the encrypted session failed.
struct Observed {
    tls: PgTls,
    stage: Arc<AtomicU8>,
}

const STAGE_NONE: u8 = 0;
const STAGE_HANDSHAKE: u8 = 1;
const STAGE_ENCRYPTED: u8 = 2;

fn load_stage(stage: &AtomicU8) -> TlsStage {
    match stage.load(Ordering::Acquire) {
        STAGE_HANDSHAKE => TlsStage::Handshake,
        STAGE_ENCRYPTED => TlsStage::Encrypted,
        _ => TlsStage::None,
    }
}

impl MakeTlsConnect<Socket> for Observed {
    type Stream = <PgTls as MakeTlsConnect<Socket>>::Stream;
    type TlsConnect = ObservedConnect<<PgTls as MakeTlsConnect<Socket>>::TlsConnect>;
    type Error = <PgTls as MakeTlsConnect<Socket>>::Error;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Self::TlsConnect, Self::Error> {
        Ok(ObservedConnect {
            inner: <PgTls as MakeTlsConnect<Socket>>::make_tls_connect(&mut self.tls, hostname)?,
            stage: self.stage.clone(),
        })
    }
}

struct ObservedConnect<T> {
    inner: T,
    stage: Arc<AtomicU8>,
}

type HandshakeFuture<T, S> =
    Pin<Box<dyn Future<Output = Result<<T as TlsConnect<S>>::Stream, <T as TlsConnect<S>>::Error>> + Send>>;

impl<T, S> TlsConnect<S> for ObservedConnect<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
{
    type Stream = T::Stream;
    type Error = T::Error;
    type Future = HandshakeFuture<T, S>;

    fn connect(self, stream: S) -> Self::Future {
        self.stage.store(STAGE_HANDSHAKE, Ordering::Release);
        let handshake = self.inner.connect(stream);
        let stage = self.stage;
        Box::pin(async move {
            let stream = handshake.await?;
            stage.store(STAGE_ENCRYPTED, Ordering::Release);
            Ok(stream)
        })
    }
}

/// A client and the connection task to drive.
pub type Connected = (Client, Connection<Socket, <PgTls as MakeTlsConnect<Socket>>::Stream>);

/// Everything a connection is made from: the parsed DSN, its `sslmode`, the connector, and
/// the budget of one whole attempt.
#[derive(Clone)]
pub struct Transport {
    config: tokio_postgres::Config,
    mode: SslMode,
    tls: PgTls,
    limit: Duration,
}

impl Transport {
    pub fn new(config: tokio_postgres::Config, settings: &DbTls, limit: Duration) -> Result<Transport, String> {
        Ok(Transport {
            tls: connector(settings)?,
            mode: settings.mode,
            config,
            limit,
        })
    }

    /// The connector, for cancel requests (they follow the connection's own `sslmode`).
    pub fn tls(&self) -> &PgTls {
        &self.tls
    }

    /// The bound of one whole attempt, both tries included.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    fn plan(&self) -> Plan {
        let hosts = self.config.get_hosts();
        let only_unix = self.config.get_hostaddrs().is_empty()
            && !hosts.is_empty()
            && hosts.iter().all(|h| !matches!(h, Host::Tcp(_)));
        plan(self.mode, only_unix)
    }

    /// The DSN for one try. A try that may encrypt without verifying and names only
    /// `hostaddr`s hands them over as host names too: tokio-postgres refuses a handshake with
    /// no name, libpq does not (nothing is checked against it).
    fn config_for(&self, ssl_mode: PgSslMode) -> tokio_postgres::Config {
        let mut config = self.config.clone();
        config.ssl_mode(ssl_mode);
        if ssl_mode == PgSslMode::Prefer && config.get_hosts().is_empty() {
            for addr in self.config.get_hostaddrs() {
                config.host(addr.to_string());
            }
        }
        config
    }

    async fn try_once(&self, ssl_mode: PgSslMode) -> Result<Connected, (tokio_postgres::Error, TlsStage)> {
        let stage = Arc::new(AtomicU8::new(STAGE_NONE));
        let observed = Observed {
            tls: self.tls.clone(),
            stage: stage.clone(),
        };
        self.config_for(ssl_mode)
            .connect(observed)
            .await
            .map_err(|e| (e, load_stage(&stage)))
    }

    /// Connects as the DSN's `sslmode` says (see the module table); the whole attempt, retry
    /// included, ends by `deadline` (the caller's, so that its own bound on the attempt never
    /// cuts the retry short of its report). A failed retry reports both tries.
    pub async fn connect(&self, deadline: tokio::time::Instant) -> Result<Connected, ConnectError> {
        let plan = self.plan();
        let (first, stage) = match tokio::time::timeout_at(deadline, self.try_once(plan.first)).await {
            Err(_) => return Err(ConnectError::TimedOut(self.limit)),
            Ok(Ok(connected)) => return Ok(connected),
            Ok(Err(failed)) => failed,
        };
        if !should_retry(plan.retry, stage, first.as_db_error().is_some()) {
            return Err(match disable_hint(self.mode, &first) {
                Some(hint) => ConnectError::Explained(format!("{}; {hint}", describe_pg_error(&first))),
                None => ConnectError::Pg(first),
            });
        }
        let (second_mode, first_how, second_how) = match plan.retry {
            Retry::WithoutTls => (PgSslMode::Disable, "over TLS", "without TLS"),
            _ => (PgSslMode::Prefer, "without TLS", "offering TLS"),
        };
        let second = match tokio::time::timeout_at(deadline, self.try_once(second_mode)).await {
            Ok(Ok(connected)) => return Ok(connected),
            Ok(Err((e, _))) => describe_pg_error(&e),
            Err(_) => format!(
                "no answer within the rest of the {} connect timeout",
                humantime::format_duration(self.limit)
            ),
        };
        Err(ConnectError::Explained(both_tries(
            (first_how, &describe_pg_error(&first)),
            (second_how, &second),
        )))
    }
}

/// One message for two failed tries; the same error twice is said once.
fn both_tries(first: (&str, &str), second: (&str, &str)) -> String {
    if first.1 == second.1 {
        format!("{} (tried {} and {})", first.1, first.0, second.0)
    } else {
        format!("{}: {}; then {}: {}", first.0, first.1, second.0, second.1)
    }
}

/// With `sslmode=disable`, a `pg_hba.conf` refusal of an unencrypted connection may mean the
/// server takes this role over TLS only: say so, and what to write instead.
fn disable_hint(mode: SslMode, error: &tokio_postgres::Error) -> Option<&'static str> {
    let db = error.as_db_error()?;
    let unencrypted = db.message().contains("no encryption") || db.message().contains("SSL off");
    (mode == SslMode::Disable && db.code().code() == "28000" && unencrypted).then_some(
        "sslmode=disable: the server may accept this role over TLS only (pg_hba.conf hostssl); use sslmode=verify-full with sslrootcert=/path/to/ca.pem (or drop sslmode=disable: the default, prefer, encrypts when the server offers TLS)",
    )
}

/// Whether `name` (a host name, an IP address or a Unix socket directory) stays on this
/// machine: `localhost`, 127.0.0.0/8, `::1` (also IPv4-mapped), or a socket path.
pub fn is_local_host(name: &str) -> bool {
    if name.starts_with('/') || name.trim_end_matches('.').eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

/// The hosts a connection may leave this machine for, as the DSN names them (`name (address)`
/// when both are given): the address dialled is `hostaddr` when given (a `host` then only
/// names the server), else `host`.
fn remote_hosts(config: &tokio_postgres::Config) -> Vec<String> {
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    let name = |host: &Host| match host {
        Host::Tcp(name) => name.clone(),
        #[cfg(unix)]
        Host::Unix(path) => path.display().to_string(),
    };
    let mut remote: Vec<String> = Vec::new();
    for i in 0..hosts.len().max(addrs.len()) {
        let named = hosts.get(i).map(name);
        let dialled = addrs.get(i).map(IpAddr::to_string).or_else(|| named.clone());
        if let Some(dialled) = dialled.filter(|d| !is_local_host(d)) {
            let shown = match named {
                Some(name) if name != dialled => format!("{name} ({dialled})"),
                _ => dialled,
            };
            if !remote.contains(&shown) {
                remote.push(shown);
            }
        }
    }
    remote
}

/// The advisory for a DSN whose connection can leave this machine without checking who
/// answers: a host other than localhost, 127.0.0.0/8, `::1` or a Unix socket, with `disable`,
/// `allow`, `prefer` or `require` without a CA. It names the hosts, never credentials.
pub fn unverified_advisory(config: &tokio_postgres::Config, settings: &DbTls) -> Option<Advisory> {
    if matches!(settings.verify(), DbVerify::Chain | DbVerify::Full) {
        return None;
    }
    let remote = remote_hosts(config);
    if remote.is_empty() {
        return None;
    }
    let what = match settings.mode {
        SslMode::Disable => "never encrypts",
        SslMode::Allow => "encrypts only when the server insists",
        SslMode::Prefer => "encrypts when the server offers TLS and silently goes without it otherwise",
        _ => "encrypts",
    };
    Some(Advisory {
        code: "database_tls_unverified",
        message: format!(
            "the database connection to {} uses sslmode={}, which {what} and never checks the server's certificate: anyone on the network path can pose as the server and read the password and everything pgmon reads",
            remote.join(", "),
            settings.mode.as_str()
        ),
        fix: "add sslmode=verify-full and sslrootcert=/path/to/ca.pem (the CA that signed the server's certificate; sslrootcert=system for a publicly trusted one) to the DSN".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn unreadable_root_cert_names_the_parameter_and_file() {
        let settings = DbTls {
            mode: SslMode::VerifyFull,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let err = connector(&settings).err().unwrap();
        assert!(
            err.starts_with("sslrootcert = /nonexistent/ca.pem: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn plaintext_modes_never_read_the_root_cert() {
        let settings = DbTls {
            mode: SslMode::Prefer,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        assert!(connector(&settings).is_ok());
        assert_eq!(
            describe(&settings),
            "sslmode=prefer: TLS (unverified) when the server offers it, else plaintext"
        );
    }

    fn settings(mode: SslMode, ca: Option<&str>) -> DbTls {
        DbTls {
            mode,
            root_cert: ca.map(PathBuf::from),
        }
    }

    #[test]
    fn each_mode_plans_its_tries_like_libpq() {
        use PgSslMode as Pg;
        let cases = [
            (SslMode::Disable, false, Pg::Disable, Retry::Never),
            (SslMode::Allow, false, Pg::Disable, Retry::OfferingTls),
            (SslMode::Prefer, false, Pg::Prefer, Retry::WithoutTls),
            (SslMode::Require, false, Pg::Require, Retry::Never),
            (SslMode::VerifyCa, false, Pg::Require, Retry::Never),
            (SslMode::VerifyFull, false, Pg::Require, Retry::Never),
            // A Unix socket never asks for TLS where it can do without.
            (SslMode::Allow, true, Pg::Disable, Retry::Never),
            (SslMode::Prefer, true, Pg::Disable, Retry::Never),
            (SslMode::Require, true, Pg::Require, Retry::Never),
        ];
        for (mode, unix, first, retry) in cases {
            assert_eq!(plan(mode, unix), Plan { first, retry }, "{mode:?} unix={unix}");
        }
    }

    #[test]
    fn prefer_retries_after_a_failed_handshake_or_a_server_error_on_tls_only() {
        use TlsStage::*;
        // (retry, how far TLS got, server error) -> retried
        let cases = [
            (Retry::WithoutTls, Handshake, false, true),
            (Retry::WithoutTls, Encrypted, true, true),
            // The socket closed after the handshake: not a refusal, as in libpq.
            (Retry::WithoutTls, Encrypted, false, false),
            // The server declined TLS and the plaintext session failed: nothing left to try.
            (Retry::WithoutTls, None, true, false),
            (Retry::WithoutTls, None, false, false),
            (Retry::OfferingTls, None, true, true),
            // Connection refused, a closed socket: no retry.
            (Retry::OfferingTls, None, false, false),
            (Retry::Never, Handshake, true, false),
            (Retry::Never, None, true, false),
        ];
        for (retry, stage, server_error, expected) in cases {
            assert_eq!(
                should_retry(retry, stage, server_error),
                expected,
                "{retry:?} {stage:?} server_error={server_error}"
            );
        }
    }

    #[test]
    fn two_failed_tries_are_both_reported_and_the_same_error_once() {
        assert_eq!(
            both_tries(("over TLS", "a"), ("without TLS", "b")),
            "over TLS: a; then without TLS: b"
        );
        assert_eq!(
            both_tries(("over TLS", "a"), ("without TLS", "a")),
            "a (tried over TLS and without TLS)"
        );
    }

    #[test]
    fn a_try_offering_tls_to_hostaddrs_only_names_them_as_hosts() {
        let mut pg = tokio_postgres::Config::new();
        pg.hostaddr("10.0.0.5".parse().unwrap()).port(5432);
        let transport = Transport::new(pg, &settings(SslMode::Prefer, None), Duration::from_secs(1)).unwrap();
        let offering = transport.config_for(PgSslMode::Prefer);
        assert_eq!(offering.get_hosts(), &[Host::Tcp("10.0.0.5".into())]);
        assert_eq!(offering.get_ssl_mode(), PgSslMode::Prefer);
        let plain = transport.config_for(PgSslMode::Disable);
        assert!(plain.get_hosts().is_empty());
        assert_eq!(plain.get_ssl_mode(), PgSslMode::Disable);
    }

    #[test]
    fn local_hosts_are_localhost_loopback_and_sockets() {
        for (host, local) in [
            ("localhost", true),
            ("LOCALHOST.", true),
            ("127.0.0.1", true),
            ("127.3.2.1", true),
            ("::1", true),
            ("[::1]", true),
            ("::ffff:127.0.0.1", true),
            ("/tmp", true),
            ("/var/run/postgresql", true),
            ("db.example.com", false),
            ("localhost.example.com", false),
            ("10.0.0.5", false),
            ("128.0.0.1", false),
            ("::2", false),
            ("fe80::1", false),
        ] {
            assert_eq!(is_local_host(host), local, "{host}");
        }
    }

    /// A DSN's hosts as (host, hostaddr) pairs.
    type Hosts = &'static [(Option<&'static str>, Option<&'static str>)];

    fn pg_config(hosts: Hosts) -> tokio_postgres::Config {
        let mut pg = tokio_postgres::Config::new();
        pg.user("monitor").password("S3cret-pw").dbname("app");
        for (host, addr) in hosts {
            if let Some(host) = host {
                pg.host(*host);
            }
            if let Some(addr) = addr {
                pg.hostaddr(addr.parse().unwrap());
            }
        }
        pg
    }

    #[test]
    fn unverified_remote_connections_get_an_advisory_naming_risk_and_fix() {
        let modes = [
            (settings(SslMode::Disable, None), true),
            (settings(SslMode::Allow, None), true),
            (settings(SslMode::Prefer, None), true),
            (settings(SslMode::Prefer, Some("/ca.pem")), true),
            (settings(SslMode::Require, None), true),
            (settings(SslMode::Require, Some("/ca.pem")), false),
            (settings(SslMode::VerifyCa, Some("/ca.pem")), false),
            (settings(SslMode::VerifyFull, None), false),
            (settings(SslMode::VerifyFull, Some("/ca.pem")), false),
        ];
        // The DSN's hosts, and the remote one the advisory names (None: no advisory).
        let hosts: [(Hosts, Option<&str>); 11] = [
            (&[(Some("localhost"), None)], None),
            (&[(Some("127.0.0.1"), None)], None),
            (&[(Some("::1"), None)], None),
            (&[(Some("/tmp"), None)], None),
            (&[], None),
            (&[(Some("db.example.com"), None)], Some("db.example.com")),
            (&[(Some("10.0.0.5"), None)], Some("10.0.0.5")),
            // hostaddr is what is dialled: a tunnel on loopback stays local...
            (&[(Some("db.example.com"), Some("127.0.0.1"))], None),
            // ...and a remote address is remote whatever the host is called.
            (&[(Some("localhost"), Some("10.0.0.5"))], Some("localhost (10.0.0.5)")),
            (&[(None, Some("10.0.0.5"))], Some("10.0.0.5")),
            (
                &[(Some("localhost"), None), (Some("db.example.com"), None)],
                Some("db.example.com"),
            ),
        ];
        for (tls, unverified) in &modes {
            for (hosts, remote) in &hosts {
                let pg = pg_config(hosts);
                let advisory = unverified_advisory(&pg, tls);
                let case = format!("{tls:?} {hosts:?}");
                match (remote, unverified) {
                    (Some(name), true) => {
                        let a = advisory.unwrap_or_else(|| panic!("no advisory: {case}"));
                        assert_eq!(a.code, "database_tls_unverified");
                        assert!(
                            a.message.contains(&format!("connection to {name} uses")),
                            "{case}: {}",
                            a.message
                        );
                        assert!(a.message.contains(&format!("sslmode={}", tls.mode.as_str())), "{case}");
                        assert!(a.message.contains("pose as the server and read the password"), "{case}");
                        assert!(a.fix.contains("sslmode=verify-full and sslrootcert="), "{case}");
                        assert!(!format!("{a:?}").contains("S3cret-pw"), "{case}");
                    }
                    _ => assert_eq!(advisory, None, "{case}"),
                }
            }
        }
    }
}

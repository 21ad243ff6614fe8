//! The TLS connector every database connection uses, built once from the DSN's `sslmode` and
//! `sslrootcert` (see [`crate::config::DbTls`]): rustls through tokio-postgres-rustls, which
//! also gives SCRAM channel binding. In the plaintext modes tokio-postgres is told
//! `sslmode=disable` and never calls it.
//!
//! Building fails only on a bad `sslrootcert` file (an operator error: the caller exits 2); a
//! certificate the server presents that does not verify fails that connection, and the loops
//! report it ("invalid peer certificate: UnknownIssuer") while the agent stays up degraded.

use crate::config::{DbTls, DbVerify};
use crate::tls::{self, ServerCheck};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::MakeTlsConnect;
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

/// The connector for these settings; the error names `sslrootcert` and the file.
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

/// One line for logs: `sslmode=verify-full (CA /etc/ssl/pg-ca.pem)`.
pub fn describe(settings: &DbTls) -> String {
    let ca = match (settings.verify(), settings.root_cert_file()) {
        (DbVerify::Chain | DbVerify::Full, Some(path)) => format!(" (CA {})", path.display()),
        (DbVerify::Chain | DbVerify::Full, None) => " (bundled Mozilla roots)".to_string(),
        _ => String::new(),
    };
    format!("sslmode={}{ca}", settings.mode.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SslMode;
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
        assert_eq!(describe(&settings), "sslmode=prefer");
    }
}

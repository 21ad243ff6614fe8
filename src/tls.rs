//! rustls plumbing for both sides, on the `ring` provider: PEM files (certificates, keys, CA
//! bundles) read into rustls types, the HTTPS server config, the client configs behind the
//! DSN's `sslmode` (encrypt only, chain only, chain and host name), and the loopback client of
//! `pgmon --healthcheck`.
//!
//! Reading a file fails with a [`PemError`] naming the file and what was wrong with it; the
//! config key is added on the way up, so an operator reads `key = file: reason` in one line.

use crate::config::{ConfigError, HttpTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The one crypto provider pgmon uses (no process-wide default is installed).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A PEM file that could not be used: which file, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct PemError {
    pub path: PathBuf,
    pub reason: String,
}

fn pem_error(path: &Path, reason: impl Into<String>) -> PemError {
    PemError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PemError> {
    std::fs::read(path).map_err(|e| pem_error(path, format!("cannot read ({e})")))
}

/// Every certificate in a PEM file, in file order (a chain: leaf first).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, format!("not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no PEM certificate in it"));
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => pem_error(path, "no PEM private key in it"),
        e => pem_error(path, format!("not valid PEM ({e})")),
    })
}

/// A CA bundle as a root store; every certificate in it must parse.
pub fn load_roots(path: &Path) -> Result<RootCertStore, PemError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| pem_error(path, format!("not a usable CA certificate ({e})")))?;
    }
    Ok(roots)
}

/// The Mozilla roots bundled with the binary (the image has no system store to rely on).
pub fn bundled_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The HTTPS listener's config (TLS 1.2 and 1.3, no client certificates). The error names
/// the key whose file is at fault.
pub fn server_config(tls: &HttpTls) -> Result<ServerConfig, ConfigError> {
    let bad = |key: &'static str, e: PemError| ConfigError::Invalid {
        key,
        value: e.path.display().to_string(),
        reason: e.reason,
    };
    let certs = load_certs(Path::new(&tls.cert_file)).map_err(|e| bad("http.tls.cert_file", e))?;
    let key = load_key(Path::new(&tls.key_file)).map_err(|e| bad("http.tls.key_file", e))?;
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Parse(format!("TLS set-up failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            bad(
                "http.tls.key_file",
                pem_error(
                    Path::new(&tls.key_file),
                    format!("does not go with the certificate in {} ({e})", tls.cert_file),
                ),
            )
        })
}

/// How a client checks the server's certificate.
#[derive(Debug)]
pub enum ServerCheck {
    /// Encrypt, accept any certificate (libpq's `require`; the loopback health probe).
    None,
    /// The chain must end at one of these roots; the name is not checked (`verify-ca`).
    Chain(RootCertStore),
    /// Chain and server name (`verify-full`).
    Full(RootCertStore),
}

pub fn client_config(check: ServerCheck) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    Ok(match check {
        ServerCheck::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        ServerCheck::Chain(roots) => {
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| e.to_string())?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                .with_no_client_auth()
        }
        ServerCheck::Full(roots) => builder.with_root_certificates(roots).with_no_client_auth(),
    })
}

/// Accepts any certificate but still checks the handshake signatures, so the session key is
/// the server's (encryption against passive listeners, as libpq's `sslmode=require`).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The WebPKI verifier with its host-name verdict ignored. rustls checks the chain (and
/// validity dates, key usage) before the name, so a name error means the chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_named() {
        let err = load_certs(Path::new("/nonexistent/tls.crt")).unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/tls.crt: cannot read"), "{err}");
    }

    #[test]
    fn file_without_pem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = load_certs(&path).unwrap_err().to_string();
        assert!(err.contains("junk.pem") && err.contains("no PEM certificate"), "{err}");
        let err = load_key(&path).unwrap_err().to_string();
        assert!(err.contains("junk.pem") && err.contains("no PEM private key"), "{err}");
    }

    #[test]
    fn bundled_roots_are_not_empty() {
        assert!(bundled_roots().len() > 50);
    }
}

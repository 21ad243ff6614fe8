//! The DSN: kept secret in memory, parsed by tokio-postgres (URL or key=value, with
//! percent-decoding), and described without credentials for logs and the API.
//!
//! tokio-postgres knows only `sslmode` disable/prefer/require and no `sslrootcert`, so both are
//! taken out of the DSN here first (libpq's six modes, a CA file path) and the rest, byte for
//! byte, goes to tokio-postgres. Errors name the parameter, never the DSN or its password.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A string that must never be printed: `Debug` and `Display` show `<redacted>`.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// libpq's `sslmode` values. `disable`, `allow` and `prefer` connect without TLS (as pgmon
/// always did); `require` encrypts without checking the certificate (unless `sslrootcert` is
/// given: then like `verify-ca`, as libpq does); `verify-ca` checks the chain; `verify-full`
/// the chain and the host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // The value is not echoed: a missing value swallows the next parameter, which may
            // be the password (`sslmode= password=...`).
            _ => return Err("sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full".into()),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the connection is encrypted (TLS required) in this mode.
    pub fn encrypts(self) -> bool {
        matches!(self, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// How the server's certificate is checked, after libpq's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbVerify {
    /// No TLS at all.
    Plaintext,
    /// Encrypted, any certificate accepted.
    EncryptOnly,
    /// The chain must lead to a trusted CA; the host name is not checked.
    Chain,
    /// Chain and host name (or IP address) both checked.
    Full,
}

/// The TLS part of a DSN: `sslmode` and `sslrootcert` (a PEM CA file; `system` or absent
/// means the bundled Mozilla roots).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbTls {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

impl DbTls {
    /// The CA file to trust, when one is named (`sslrootcert=system` names none).
    pub fn root_cert_file(&self) -> Option<&PathBuf> {
        self.root_cert.as_ref().filter(|p| p.as_os_str() != "system")
    }

    pub fn verify(&self) -> DbVerify {
        match self.mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => DbVerify::Plaintext,
            SslMode::Require if self.root_cert_file().is_some() => DbVerify::Chain,
            SslMode::Require => DbVerify::EncryptOnly,
            SslMode::VerifyCa => DbVerify::Chain,
            SslMode::VerifyFull => DbVerify::Full,
        }
    }
}

/// Parses a DSN. The error text is tokio-postgres's reason only, never the input.
pub fn parse_dsn(dsn: &str) -> Result<tokio_postgres::Config, String> {
    parse_dsn_tls(dsn).map(|(config, _)| config)
}

/// Parses a DSN and its TLS settings. tokio-postgres gets `sslmode=require` when the mode
/// encrypts and `disable` otherwise (the connector never runs then).
pub fn parse_dsn_tls(dsn: &str) -> Result<(tokio_postgres::Config, DbTls), String> {
    let (rest, tls) = split_tls_params(dsn)?;
    let mut config =
        tokio_postgres::Config::from_str(&rest).map_err(|e| format!("not a valid connection string: {e}"))?;
    config.ssl_mode(if tls.mode.encrypts() {
        tokio_postgres::config::SslMode::Require
    } else {
        tokio_postgres::config::SslMode::Disable
    });
    Ok((config, tls))
}

/// Takes `sslmode` and `sslrootcert` out of a URL or key=value DSN. Anything it cannot tell
/// apart is left in place for tokio-postgres to judge.
fn split_tls_params(dsn: &str) -> Result<(String, DbTls), String> {
    let mut tls = DbTls::default();
    let mut mode_given = false;
    let mut take = |key: &str, value: String| -> Result<bool, String> {
        if value.contains('=') {
            // `sslrootcert= password=...`: the value is the next parameter. Never echo it.
            return Err(format!(
                "{key} has no value (the next parameter was read as its value): write {key}=<value> with no space after `=`"
            ));
        }
        match key {
            "sslmode" => {
                tls.mode = SslMode::parse(&value)?;
                mode_given = true;
            }
            "sslrootcert" => tls.root_cert = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty()),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = match ["postgres://", "postgresql://"]
        .iter()
        .find_map(|p| dsn.strip_prefix(p))
    {
        Some(after_scheme) => split_url(dsn, after_scheme, &mut take)?,
        None => split_key_values(dsn, &mut take)?,
    };
    check_tls_combination(&mut tls, mode_given)?;
    Ok((rest, tls))
}

/// libpq's rules for what a CA choice allows: the public roots (`sslrootcert=system`, the
/// default for verify-full here) prove nothing without the host name check, so they go with
/// verify-full only, and verify-ca needs a CA file of its own.
fn check_tls_combination(tls: &mut DbTls, mode_given: bool) -> Result<(), String> {
    let system = tls.root_cert.as_ref().is_some_and(|p| p.as_os_str() == "system");
    if system && !mode_given {
        tls.mode = SslMode::VerifyFull;
    }
    if system && tls.mode != SslMode::VerifyFull && tls.mode.encrypts() {
        return Err(format!(
            "sslrootcert=system needs sslmode=verify-full (with sslmode={}, any holder of a publicly trusted certificate could pose as the server)",
            tls.mode.as_str()
        ));
    }
    if tls.mode == SslMode::VerifyCa && tls.root_cert_file().is_none() {
        return Err("sslmode=verify-ca needs sslrootcert=/path/to/ca.pem: a chain is checked against a CA you name (use sslmode=verify-full to check against the bundled public roots and the host name)".into());
    }
    Ok(())
}

type Take<'a> = dyn FnMut(&str, String) -> Result<bool, String> + 'a;

/// URL form: like tokio-postgres, credentials end at the first `@`, the query at the first
/// `?` after them; parameters are `&`-separated and percent-encoded.
fn split_url(dsn: &str, after_scheme: &str, take: &mut Take<'_>) -> Result<String, String> {
    let creds_end = after_scheme.find('@').map_or(0, |i| i + 1);
    let Some(q) = after_scheme[creds_end..].find('?') else {
        return Ok(dsn.to_string());
    };
    let q = dsn.len() - after_scheme.len() + creds_end + q;
    let mut kept = Vec::new();
    for pair in dsn[q + 1..].split('&') {
        let taken = match pair.split_once('=') {
            Some((key, value)) => {
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8()
                        .map(|v| v.into_owned())
                        .map_err(|_| "a connection parameter is not valid UTF-8 after percent-decoding".to_string())
                };
                let key = decode(key)?;
                if key == "sslmode" || key == "sslrootcert" {
                    take(&key, decode(value)?)?
                } else {
                    false
                }
            }
            None => false,
        };
        if !taken {
            kept.push(pair);
        }
    }
    let mut out = dsn[..q].to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    Ok(out)
}

/// key=value form, tokenized as tokio-postgres does (values plain or single-quoted, `\`
/// escapes); the taken pairs are cut out and every other byte is kept.
fn split_key_values(dsn: &str, take: &mut Take<'_>) -> Result<String, String> {
    let bytes: Vec<(usize, char)> = dsn.char_indices().collect();
    let mut i = 0;
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let at = |i: usize| bytes.get(i).map(|&(_, c)| c);
    let offset = |i: usize| bytes.get(i).map_or(dsn.len(), |&(o, _)| o);
    loop {
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        let start = i;
        while at(i).is_some_and(|c| !c.is_whitespace() && c != '=') {
            i += 1;
        }
        if i == start {
            break;
        }
        let key = &dsn[offset(start)..offset(i)];
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        if at(i) != Some('=') {
            // Malformed: tokio-postgres reports it.
            return Ok(dsn.to_string());
        }
        i += 1;
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        let mut value = String::new();
        if at(i) == Some('\'') {
            i += 1;
            loop {
                match at(i) {
                    None => return Ok(dsn.to_string()),
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        if let Some(c) = at(i + 1) {
                            value.push(c);
                        }
                        i += 2;
                    }
                    Some(c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(c) = at(i).filter(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(c2) = at(i + 1) {
                        value.push(c2);
                    }
                    i += 2;
                } else {
                    value.push(c);
                    i += 1;
                }
            }
        }
        if (key == "sslmode" || key == "sslrootcert") && take(key, value)? {
            cuts.push((offset(start), offset(i.min(bytes.len()))));
        }
    }
    let mut out = String::with_capacity(dsn.len());
    let mut from = 0;
    for (start, end) in cuts {
        out.push_str(&dsn[from..start]);
        from = end;
    }
    out.push_str(&dsn[from..]);
    Ok(out)
}

/// `user@host:port/dbname`, for logs and the API: no password, no options.
pub fn describe_dsn(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("(default user)");
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let host = if hosts.is_empty() {
        "localhost".to_string()
    } else {
        hosts.join(",")
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIAL: &str = "p@ss:w/rd?#%&=' \"x";

    fn percent_encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    #[test]
    fn url_dsn_percent_decodes_special_password() {
        let url = format!(
            "postgres://monitor:{}@db.example.com:6543/app?sslmode=disable",
            percent_encode(SPECIAL)
        );
        let cfg = parse_dsn(&url).unwrap();
        assert_eq!(cfg.get_password(), Some(SPECIAL.as_bytes()));
        assert_eq!(describe_dsn(&cfg), "monitor@db.example.com:6543/app");
    }

    #[test]
    fn key_value_dsn_with_quoted_special_password() {
        let cfg =
            parse_dsn(r#"host=localhost port=5433 user=monitor password='p@ss:w/rd?#%&=\' "x' dbname=app"#).unwrap();
        assert_eq!(cfg.get_password(), Some(SPECIAL.as_bytes()));
        assert_eq!(describe_dsn(&cfg), "monitor@localhost:5433/app");
    }

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("postgres://u:hunter2@h/db");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
    }

    #[test]
    fn url_sslmode_and_sslrootcert_are_taken_out() {
        let (cfg, tls) = parse_dsn_tls(
            "postgres://monitor:pw@db:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(tls.verify(), DbVerify::Full);
        assert_eq!(cfg.get_connect_timeout(), Some(&std::time::Duration::from_secs(3)));
        assert_eq!(cfg.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert_eq!(describe_dsn(&cfg), "monitor@db:5432/app");
    }

    #[test]
    fn url_password_with_question_mark_and_at_keeps_its_value() {
        let url = format!(
            "postgres://u:{}@h/db?sslmode=verify-ca&sslrootcert=%2Fca.pem",
            percent_encode("a?sslmode=x@b")
        );
        let (cfg, tls) = parse_dsn_tls(&url).unwrap();
        assert_eq!(cfg.get_password(), Some("a?sslmode=x@b".as_bytes()));
        assert_eq!(tls.verify(), DbVerify::Chain);
    }

    #[test]
    fn key_value_sslmode_and_quoted_sslrootcert_are_taken_out() {
        let (cfg, tls) = parse_dsn_tls(
            r#"host=localhost password='has sslmode=disable inside' sslmode = verify-ca sslrootcert='/a dir/ca.pem' user=m"#,
        )
        .unwrap();
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/a dir/ca.pem")));
        assert_eq!(cfg.get_password(), Some("has sslmode=disable inside".as_bytes()));
        assert_eq!(cfg.get_user(), Some("m"));
    }

    #[test]
    fn require_with_root_cert_verifies_the_chain_like_libpq() {
        let (_, tls) = parse_dsn_tls("host=h sslmode=require sslrootcert=/ca.pem").unwrap();
        assert_eq!(tls.verify(), DbVerify::Chain);
        let (_, tls) = parse_dsn_tls("host=h sslmode=require").unwrap();
        assert_eq!(tls.verify(), DbVerify::EncryptOnly);
        let (_, tls) = parse_dsn_tls("host=h sslmode=verify-full sslrootcert=system").unwrap();
        assert_eq!((tls.verify(), tls.root_cert_file()), (DbVerify::Full, None));
    }

    #[test]
    fn prefer_allow_disable_and_default_stay_plaintext() {
        for dsn in [
            "host=h",
            "host=h sslmode=prefer",
            "postgres://u@h/db?sslmode=allow",
            "postgres://u@h/db?sslmode=disable",
        ] {
            let (cfg, tls) = parse_dsn_tls(dsn).unwrap();
            assert_eq!(tls.verify(), DbVerify::Plaintext, "{dsn}");
            assert_eq!(cfg.get_ssl_mode(), tokio_postgres::config::SslMode::Disable, "{dsn}");
        }
    }

    #[test]
    fn bad_sslmode_is_named_without_the_password() {
        let err = parse_dsn("postgres://u:hunter2@h/db?sslmode=paranoid").unwrap_err();
        assert!(err.contains("sslmode must be one of"), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("paranoid"), "{err}");
        let err = parse_dsn("host=h password=hunter2 sslmode=strict").unwrap_err();
        assert!(
            err.contains("sslmode must be one of") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_value_never_echoes_the_parameter_it_swallowed() {
        for dsn in [
            "host=db user=u sslmode= password=hunter2",
            "host=db user=u sslrootcert= password=hunter2 sslmode=verify-full",
        ] {
            let err = parse_dsn(dsn).unwrap_err();
            assert!(err.contains("has no value"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn public_roots_go_with_verify_full_only_and_verify_ca_needs_a_ca_file() {
        let (_, tls) = parse_dsn_tls("postgres://u@h/db?sslrootcert=system").unwrap();
        assert_eq!((tls.mode, tls.verify()), (SslMode::VerifyFull, DbVerify::Full));
        let err = parse_dsn("host=h sslrootcert=system sslmode=require").unwrap_err();
        assert!(err.contains("sslrootcert=system needs sslmode=verify-full"), "{err}");
        let err = parse_dsn("postgres://u@h/db?sslmode=verify-ca").unwrap_err();
        assert!(err.contains("verify-ca needs sslrootcert"), "{err}");
        let err = parse_dsn("host=h sslmode=verify-ca sslrootcert=system").unwrap_err();
        assert!(err.contains("sslrootcert=system needs sslmode=verify-full"), "{err}");
        let (_, tls) = parse_dsn_tls("host=h sslmode=verify-ca sslrootcert=/ca.pem").unwrap();
        assert_eq!(tls.verify(), DbVerify::Chain);
    }

    #[test]
    fn parse_error_does_not_echo_input() {
        let err = parse_dsn("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}

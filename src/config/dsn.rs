//! The DSN: kept secret in memory, parsed by tokio-postgres (URL or key=value, with
//! percent-decoding), and described without credentials for logs and the API.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A string that must never be printed: `Debug` and `Display` show `<redacted>`.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
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

/// Parses a DSN. The error text is tokio-postgres's reason only, never the input.
pub fn parse_dsn(dsn: &str) -> Result<tokio_postgres::Config, String> {
    tokio_postgres::Config::from_str(dsn).map_err(|e| format!("not a valid connection string: {e}"))
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
    fn parse_error_does_not_echo_input() {
        let err = parse_dsn("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}

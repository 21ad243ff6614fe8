//! The DSN: kept secret in memory, parsed by tokio-postgres (URL or key=value, with
//! percent-decoding), and described without credentials for logs and the API.
//!
//! tokio-postgres knows only `sslmode` disable/prefer/require and no `sslrootcert`, so both are
//! taken out of the DSN here first (libpq's six modes, a CA file path) and the rest, byte for
//! byte, goes to tokio-postgres. Errors name the parameter, never the DSN or its password.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

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

/// The DSN parsed and checked once, when the configuration is loaded: the connection settings
/// and the TLS settings every connection is made from. Its `Debug` names the target (host, port,
/// database, user, sslmode), never the password.
#[derive(Clone)]
pub struct Dsn {
    pg: tokio_postgres::Config,
    tls: DbTls,
}

impl Dsn {
    /// The error names the parameter at fault, never a value.
    pub fn parse(text: &str) -> Result<Dsn, String> {
        let (pg, tls) = parse_dsn_tls(text)?;
        Ok(Dsn { pg, tls })
    }

    /// The connection settings, as parsed (the agent adds `application_name` and the connect
    /// timeout per connection).
    pub fn pg(&self) -> &tokio_postgres::Config {
        &self.pg
    }

    pub fn tls(&self) -> &DbTls {
        &self.tls
    }

    /// `user@host:port/database`, for logs and reports.
    pub fn target(&self) -> String {
        describe_dsn(&self.pg)
    }

    /// The `db` label: the database name, else the user name (PostgreSQL's default), else
    /// `postgres`.
    pub fn database_label(&self) -> String {
        self.pg
            .get_dbname()
            .or(self.pg.get_user())
            .unwrap_or("postgres")
            .to_string()
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dsn")
            .field("target", &self.target())
            .field("sslmode", &self.tls.mode.as_str())
            .finish()
    }
}

/// Parses a DSN. The error names the parameter at fault, never a value.
pub fn parse_dsn(dsn: &str) -> Result<tokio_postgres::Config, String> {
    parse_dsn_tls(dsn).map(|(config, _)| config)
}

/// Parses a DSN and its TLS settings. tokio-postgres gets `sslmode=require` when the mode
/// encrypts and `disable` otherwise; the connect path decides how `prefer` and `allow` try.
pub fn parse_dsn_tls(dsn: &str) -> Result<(tokio_postgres::Config, DbTls), String> {
    let params = if let Some(rest) = ["postgresql://", "postgres://"]
        .iter()
        .find_map(|scheme| dsn.strip_prefix(scheme))
    {
        uri_params(rest)?
    } else {
        key_value_params(dsn)?
    };
    let mut config = tokio_postgres::Config::new();
    let mut tls = DbTls::default();
    let mut mode_given = false;
    let mut fallback_application_name = None;
    // libpq: the last occurrence of a key wins, and an empty value means "not set".
    let mut last: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in params {
        let key = known_key(&key)?;
        last.retain(|(k, _)| *k != key);
        last.push((key, value));
    }
    for (key, value) in last {
        if value.is_empty() {
            continue;
        }
        match key {
            "host" => {
                for host in value.split(',') {
                    if host.is_empty() {
                        return Err("host has an empty entry in its comma-separated list".into());
                    }
                    config.host(host);
                }
            }
            "hostaddr" => {
                for addr in value.split(',') {
                    let addr = addr.parse::<std::net::IpAddr>().map_err(|_| {
                        "hostaddr must be a numeric IPv4 or IPv6 address (a comma-separated list for several hosts)"
                            .to_string()
                    })?;
                    config.hostaddr(addr);
                }
            }
            "port" => {
                for port in value.split(',') {
                    // An empty entry in a list is the default port, as in libpq.
                    let port = if port.is_empty() { "5432" } else { port };
                    let port =
                        port.parse::<u16>().ok().filter(|p| *p > 0).ok_or(
                            "port must be a number from 1 to 65535 (a comma-separated list for several hosts)",
                        )?;
                    config.port(port);
                }
            }
            "user" | "dbname" if value.len() > 63 || value.chars().any(char::is_control) => {
                // A name PostgreSQL could not hold (it keeps 63 bytes); it would also become
                // the `db` label on every series.
                return Err(format!(
                    "{key} must be a PostgreSQL name: at most 63 bytes, no control characters"
                ));
            }
            "user" => {
                config.user(value);
            }
            "password" => {
                config.password(value);
            }
            "dbname" => {
                config.dbname(value);
            }
            "options" => {
                config.options(value);
            }
            "application_name" => {
                config.application_name(value);
            }
            "fallback_application_name" => fallback_application_name = Some(value),
            "connect_timeout" => {
                // libpq: seconds; zero or negative waits for ever, which pgmon never does (the
                // configured timeouts.connect_timeout_ms then applies); below 2 s means 2 s.
                let seconds = value
                    .parse::<i64>()
                    .map_err(|_| "connect_timeout must be a whole number of seconds".to_string())?;
                if seconds > 0 {
                    config.connect_timeout(std::time::Duration::from_secs(seconds.clamp(2, 3600) as u64));
                }
            }
            "tcp_user_timeout" => {
                let ms = parse_non_negative(key, &value)?;
                if ms > 0 {
                    config.tcp_user_timeout(std::time::Duration::from_millis(ms));
                }
            }
            "keepalives" => {
                config.keepalives(parse_non_negative(key, &value)? != 0);
            }
            "keepalives_idle" | "keepalives_interval" => {
                let seconds = parse_non_negative(key, &value)?;
                if seconds > 0 {
                    let seconds = std::time::Duration::from_secs(seconds);
                    if key == "keepalives_idle" {
                        config.keepalives_idle(seconds);
                    } else {
                        config.keepalives_interval(seconds);
                    }
                }
            }
            "keepalives_count" => {
                let count = u32::try_from(parse_non_negative(key, &value)?)
                    .map_err(|_| "keepalives_count is too large".to_string())?;
                config.keepalives_retries(count);
            }
            "target_session_attrs" => {
                use tokio_postgres::config::TargetSessionAttrs;
                config.target_session_attrs(match value.as_str() {
                    "any" => TargetSessionAttrs::Any,
                    "read-write" | "primary" => TargetSessionAttrs::ReadWrite,
                    "read-only" | "standby" => TargetSessionAttrs::ReadOnly,
                    _ => {
                        return Err(
                            "target_session_attrs must be one of any, read-write, read-only, primary, standby".into(),
                        )
                    }
                });
            }
            "channel_binding" => {
                use tokio_postgres::config::ChannelBinding;
                config.channel_binding(match value.as_str() {
                    "disable" => ChannelBinding::Disable,
                    "prefer" => ChannelBinding::Prefer,
                    "require" => ChannelBinding::Require,
                    _ => return Err("channel_binding must be one of disable, prefer, require".into()),
                });
            }
            "load_balance_hosts" => {
                use tokio_postgres::config::LoadBalanceHosts;
                config.load_balance_hosts(match value.as_str() {
                    "disable" => LoadBalanceHosts::Disable,
                    "random" => LoadBalanceHosts::Random,
                    _ => return Err("load_balance_hosts must be disable or random".into()),
                });
            }
            "client_encoding" => {
                if !matches!(
                    value.to_ascii_uppercase().as_str(),
                    "UTF8" | "UTF-8" | "UNICODE" | "AUTO"
                ) {
                    return Err(
                        "client_encoding: pgmon speaks UTF8 only (remove the parameter or set it to UTF8)".into(),
                    );
                }
            }
            "gssencmode" => {
                // No GSSAPI here: `prefer` falls back to what pgmon does anyway.
                if !matches!(value.as_str(), "disable" | "prefer") {
                    return Err("gssencmode: pgmon has no GSSAPI encryption (use disable or prefer)".into());
                }
            }
            "sslmode" => {
                tls.mode = SslMode::parse(&value)?;
                mode_given = true;
            }
            "ssl" => {
                // JDBC's `ssl=true`, which libpq accepts in URIs as sslmode=require.
                if value != "true" {
                    return Err("ssl: the only accepted value is true (use sslmode=...)".into());
                }
                tls.mode = SslMode::Require;
                mode_given = true;
            }
            "sslrootcert" => tls.root_cert = Some(PathBuf::from(value)),
            _ => unreachable!("known_key returned a key without a rule: {key}"),
        }
    }
    if config.get_application_name().is_none() {
        if let Some(name) = fallback_application_name {
            config.application_name(name);
        }
    }
    if config.get_user().is_none() {
        return Err("user is missing: name the monitoring role (user=... or postgres://role@host/db)".into());
    }
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        config.host("localhost");
    }
    let (hosts, addrs, ports) = (
        config.get_hosts().len(),
        config.get_hostaddrs().len(),
        config.get_ports().len(),
    );
    if hosts > 0 && addrs > 0 && hosts != addrs {
        return Err("host and hostaddr must list the same number of entries".into());
    }
    if ports > 1 && ports != hosts.max(addrs) {
        return Err("port must be one number, or one per host".into());
    }
    check_tls_combination(&mut tls, mode_given)?;
    config.ssl_mode(if tls.mode.encrypts() {
        tokio_postgres::config::SslMode::Require
    } else {
        tokio_postgres::config::SslMode::Disable
    });
    Ok((config, tls))
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

/// The libpq parameters pgmon takes, and those it knows but refuses (named, so the operator
/// learns why). Any other word is not echoed: in a DSN whose quoting went wrong it may be a
/// piece of the password (`password=two words` makes `words` a key).
fn known_key(key: &str) -> Result<&'static str, String> {
    const SUPPORTED: &[&str] = &[
        "host",
        "hostaddr",
        "port",
        "user",
        "password",
        "dbname",
        "options",
        "application_name",
        "fallback_application_name",
        "connect_timeout",
        "tcp_user_timeout",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "target_session_attrs",
        "channel_binding",
        "load_balance_hosts",
        "client_encoding",
        "gssencmode",
        "sslmode",
        "ssl",
        "sslrootcert",
    ];
    const UNSUPPORTED: &[&str] = &[
        "passfile",
        "service",
        "servicefile",
        "require_auth",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcertmode",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "sslcompression",
        "sslnegotiation",
        "sslkeylogfile",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "min_protocol_version",
        "max_protocol_version",
        "requirepeer",
        "krbsrvname",
        "gsslib",
        "gssdelegation",
        "replication",
        "scram_client_key",
        "scram_server_key",
        "oauth_issuer",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
    ];
    if let Some(k) = SUPPORTED.iter().find(|k| **k == key) {
        return Ok(*k);
    }
    if let Some(k) = UNSUPPORTED.iter().find(|k| **k == key) {
        return Err(format!(
            "connection parameter {k} is not supported by pgmon (remove it; see docs/configuration.md for the parameters pgmon takes)"
        ));
    }
    Err("the connection string has an unknown parameter name (not shown: when quoting goes wrong it can be part of the password); a value with spaces or quotes must be quoted: password='...' in key=value form, percent-encoded in a URL".into())
}

fn parse_non_negative(key: &str, value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .map_err(|_| format!("{key} must be a whole number, zero or more"))
}

/// key=value form, tokenized as libpq's conninfo_parse does: whitespace around `=` is
/// skipped, a value is bare (ends at whitespace) or single-quoted, `\` escapes the next
/// character in both. One libpq reading is refused: after `key=` and a space, libpq takes the
/// next `key=value` word as the value (`dbname= password=x` names a database `password=x`),
/// which would send the password wherever that key goes. An empty value is written `key=''`.
fn key_value_params(dsn: &str) -> Result<Vec<(String, String)>, String> {
    let mut params = Vec::new();
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(params);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            let named = known_key(&key).map(|k| format!(" after {k}")).unwrap_or_default();
            return Err(format!(
                "the connection string is missing an `=`{named}: write key=value pairs, and quote a value that has spaces: password='...'"
            ));
        }
        let mut spaced = false;
        while chars.next_if(|c| c.is_whitespace()).is_some() {
            spaced = true;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "the quoted value of {} has no closing quote",
                            known_key(&key).unwrap_or("a parameter")
                        ))
                    }
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            let mut has_equals = false;
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                match c {
                    '\\' => value.extend(chars.next()),
                    c => {
                        has_equals |= c == '=';
                        value.push(c);
                    }
                }
            }
            if spaced && has_equals {
                let named = known_key(&key).unwrap_or("a parameter");
                return Err(format!(
                    "{named} has no value (the next parameter would be read as its value): write {named}='' for an empty value, or {named}=<value> with no space after `=`"
                ));
            }
        }
        params.push((key, value));
    }
}

/// URI form, split as libpq's conninfo_uri_parse_options does:
/// `[user[:password]@][host][:port][,...][/dbname][?key=value&...]`, every part
/// percent-decoded; credentials end at the first `@` (before any `/`), an IPv6 host is in
/// brackets.
fn uri_params(rest: &str) -> Result<Vec<(String, String)>, String> {
    let decode = |part: &str, what: &str| -> Result<String, String> {
        if part.as_bytes().iter().enumerate().any(|(i, b)| {
            *b == b'%' && !(part.len() > i + 2 && part.as_bytes()[i + 1..i + 3].iter().all(u8::is_ascii_hexdigit))
        }) {
            return Err(format!("the {what} in the URL has an invalid percent-encoding (%XX)"));
        }
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|v| v.into_owned())
            .map_err(|_| format!("the {what} in the URL is not valid UTF-8 after percent-decoding"))
    };
    let mut params = Vec::new();
    let mut rest = rest;
    let creds_end = rest.find(['@', '/']);
    if let Some(at) = creds_end.filter(|&i| rest.as_bytes()[i] == b'@') {
        let creds = &rest[..at];
        let (user, password) = match creds.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (creds, None),
        };
        params.push(("user".to_string(), decode(user, "user name")?));
        if let Some(password) = password {
            params.push(("password".to_string(), decode(password, "password")?));
        }
        rest = &rest[at + 1..];
    }
    // An `@` left before the query means the credentials were cut short (an unencoded `/` or
    // `@` in the password): the rest would become a host name or a database name and be sent
    // to a DNS server or the database.
    if rest[..rest.find('?').unwrap_or(rest.len())].contains('@') {
        return Err("the URL has an unencoded `@` or `/` in its credentials: percent-encode them in the user name and password (@ as %40, / as %2F)".into());
    }
    let netloc_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (netloc, mut rest) = rest.split_at(netloc_end);
    let (mut hosts, mut ports) = (Vec::new(), Vec::new());
    if !netloc.is_empty() {
        for entry in netloc.split(',') {
            let (host, port) = if let Some(v6) = entry.strip_prefix('[') {
                let (host, after) = v6
                    .split_once(']')
                    .ok_or("a bracketed IPv6 host in the URL has no closing `]`")?;
                let port = match after {
                    "" => None,
                    p => Some(
                        p.strip_prefix(':')
                            .ok_or("unexpected text after `]` in the URL's host")?,
                    ),
                };
                (host, port)
            } else {
                match entry.split_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (entry, None),
                }
            };
            hosts.push(decode(host, "host")?);
            ports.push(decode(port.unwrap_or(""), "port")?);
        }
    }
    if hosts.iter().any(|h| !h.is_empty()) {
        params.push(("host".to_string(), hosts.join(",")));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        params.push(("port".to_string(), ports.join(",")));
    }
    if let Some(after_slash) = rest.strip_prefix('/') {
        let end = after_slash.find('?').unwrap_or(after_slash.len());
        params.push(("dbname".to_string(), decode(&after_slash[..end], "database name")?));
        rest = &after_slash[end..];
    }
    if let Some(query) = rest.strip_prefix('?') {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or("a URL query parameter has no `=` (write ?key=value&key=value)")?;
            let key = decode(key, "parameter name")?;
            if value.contains('=') {
                return Err(format!(
                    "the URL query parameter {} has a second `=`: percent-encode it as %3D",
                    known_key(&key).unwrap_or("(unknown)")
                ));
            }
            let value = decode(value, "parameter value")?;
            params.push((key, value));
        }
    }
    Ok(params)
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
    fn a_parsed_dsn_names_its_target_and_hides_its_password() {
        let dsn = Dsn::parse("postgres://monitor:hunter2@db.internal:5433/app?sslmode=require").unwrap();
        assert_eq!(dsn.database_label(), "app");
        assert_eq!(dsn.tls().mode, SslMode::Require);
        assert_eq!(dsn.pg().get_ports(), &[5433]);
        let shown = format!("{dsn:?} {}", dsn.target());
        assert!(shown.contains("db.internal") && !shown.contains("hunter2"), "{shown}");
        // No database named: PostgreSQL's default is the user name.
        assert_eq!(Dsn::parse("host=h user=monitor").unwrap().database_label(), "monitor");
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
        let (_, tls) = parse_dsn_tls("host=h user=u sslmode=require sslrootcert=/ca.pem").unwrap();
        assert_eq!(tls.verify(), DbVerify::Chain);
        let (_, tls) = parse_dsn_tls("host=h user=u sslmode=require").unwrap();
        assert_eq!(tls.verify(), DbVerify::EncryptOnly);
        let (_, tls) = parse_dsn_tls("host=h user=u sslmode=verify-full sslrootcert=system").unwrap();
        assert_eq!((tls.verify(), tls.root_cert_file()), (DbVerify::Full, None));
    }

    #[test]
    fn prefer_allow_disable_and_default_stay_plaintext() {
        for dsn in [
            "host=h user=u",
            "host=h user=u sslmode=prefer",
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
        let err = parse_dsn("host=h user=u sslrootcert=system sslmode=require").unwrap_err();
        assert!(err.contains("sslrootcert=system needs sslmode=verify-full"), "{err}");
        let err = parse_dsn("postgres://u@h/db?sslmode=verify-ca").unwrap_err();
        assert!(err.contains("verify-ca needs sslrootcert"), "{err}");
        let err = parse_dsn("host=h user=u sslmode=verify-ca sslrootcert=system").unwrap_err();
        assert!(err.contains("sslrootcert=system needs sslmode=verify-full"), "{err}");
        let (_, tls) = parse_dsn_tls("host=h user=u sslmode=verify-ca sslrootcert=/ca.pem").unwrap();
        assert_eq!(tls.verify(), DbVerify::Chain);
    }

    #[test]
    fn user_and_database_names_are_postgresql_names() {
        let long = "d".repeat(64);
        for dsn in [
            format!("host=h user=u dbname={long}"),
            format!("postgres://{long}@h/db"),
            "host=h user=u dbname='a\nb'".to_string(),
        ] {
            let err = parse_dsn(&dsn).unwrap_err();
            assert!(
                err.contains("must be a PostgreSQL name") && !err.contains(&long),
                "{err}"
            );
        }
        assert!(parse_dsn(&format!("host=h user=u dbname={}", "d".repeat(63))).is_ok());
    }

    #[test]
    fn parse_error_does_not_echo_input() {
        let err = parse_dsn("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    /// The property behind every DSN rule: for any DSN shape around a password (well or badly
    /// quoted, empty values before it, keys in any order, URL or key=value), the password
    /// reaches nothing but `get_password()`: not an error, not the description, not the user,
    /// database, host, options or application name.
    mod password_never_leaks {
        use super::super::*;
        use proptest::prelude::*;

        /// A password made of marker chunks (`Q` + 5 upper-case letters or digits, which no
        /// other generated value or message contains) joined by characters that need quoting.
        fn password() -> impl Strategy<Value = (String, Vec<String>)> {
            let seps = prop::sample::select(vec![
                " ", "'", "\\", "=", "@", "/", "?", "&", "%", ":", "#", ",", "\"", "é", "\t", " x=", "' ", "%2",
            ]);
            (
                prop::collection::vec("Q[A-Z0-9]{5}", 1..4),
                prop::collection::vec(seps, 0..4),
            )
                .prop_map(|(chunks, seps)| {
                    let mut pw = String::new();
                    for (i, chunk) in chunks.iter().enumerate() {
                        pw.push_str(chunk);
                        if let Some(sep) = seps.get(i) {
                            pw.push_str(sep);
                        }
                    }
                    (pw, chunks)
                })
        }

        fn quote(value: &str) -> String {
            format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
        }

        fn encode(value: &str) -> String {
            percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
        }

        /// Another parameter: a plain, spaced, quoted, empty-quoted or bare-empty value.
        fn other_param() -> impl Strategy<Value = (String, bool)> {
            let keys = prop::sample::select(vec![
                "host",
                "port",
                "dbname",
                "application_name",
                "options",
                "sslmode",
                "sslrootcert",
                "connect_timeout",
                "hostaddr",
                "target_session_attrs",
            ]);
            (keys, 0..5u8).prop_map(|(key, shape)| {
                let value = match key {
                    "host" => "db.example.com",
                    "port" => "5433",
                    "user" => "monitor",
                    "dbname" => "app",
                    "application_name" => "pgmon-test",
                    "options" => "-c statement_timeout=5s",
                    "sslmode" => "disable",
                    "sslrootcert" => "/etc/ca.pem",
                    "connect_timeout" => "3",
                    "hostaddr" => "127.0.0.1",
                    _ => "any",
                };
                match shape {
                    0 => (format!("{key}={}", quote(value)), true),
                    1 => (format!("{key} = {}", quote(value)), true),
                    2 => (format!("{key}=''"), true),
                    3 if !value.contains(' ') => (format!("{key}={value}"), true),
                    // `key=` then a space: the next word must not become its value.
                    _ => (format!("{key}= "), false),
                }
            })
        }

        fn key_value_dsn() -> impl Strategy<Value = (String, String, Vec<String>, bool)> {
            (
                password(),
                prop::collection::vec(other_param(), 0..6),
                0..3u8,
                any::<prop::sample::Index>(),
            )
                .prop_map(|((pw, chunks), others, pw_shape, at)| {
                    let (rendered, well_formed) = match pw_shape {
                        0 => (format!("password={}", quote(&pw)), true),
                        1 => (format!("password = {}", quote(&pw)), true),
                        _ => (format!("password={pw}"), false),
                    };
                    let mut parts: Vec<(String, bool)> = vec![("user=monitor".into(), true)];
                    parts.extend(others);
                    parts.insert(at.index(parts.len() + 1), (rendered, well_formed));
                    let well_formed = parts.iter().all(|(_, ok)| *ok);
                    let dsn = parts.into_iter().map(|(p, _)| p).collect::<Vec<_>>().join(" ");
                    (dsn, pw, chunks, well_formed)
                })
        }

        fn uri_dsn() -> impl Strategy<Value = (String, String, Vec<String>, bool)> {
            (
                password(),
                0..4u8,
                prop::sample::select(vec!["", "/app", "/", "/app?sslmode=disable"]),
            )
                .prop_map(|((pw, chunks), shape, tail)| {
                    let (dsn, well_formed) = match shape {
                        0 => (
                            format!("postgresql://monitor:{}@db.example.com:5433{tail}", encode(&pw)),
                            true,
                        ),
                        1 => (
                            format!(
                                "postgres://monitor@[::1]:5433/app?application_name=x&password={}",
                                encode(&pw)
                            ),
                            true,
                        ),
                        2 => (format!("postgresql://monitor:{pw}@db.example.com{tail}"), false),
                        _ => (
                            format!("postgres://monitor@db.example.com/app?password={pw}&dbname="),
                            false,
                        ),
                    };
                    (dsn, pw, chunks, well_formed)
                })
        }

        fn check(dsn: &str, pw: &str, chunks: &[String], well_formed: bool) -> Result<(), TestCaseError> {
            match parse_dsn(dsn) {
                Ok(cfg) => {
                    let hosts: Vec<String> = cfg
                        .get_hosts()
                        .iter()
                        .map(|h| match h {
                            tokio_postgres::config::Host::Tcp(h) => h.clone(),
                            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                        })
                        .collect();
                    let seen = [
                        describe_dsn(&cfg),
                        cfg.get_user().unwrap_or_default().to_string(),
                        cfg.get_dbname().unwrap_or_default().to_string(),
                        cfg.get_options().unwrap_or_default().to_string(),
                        cfg.get_application_name().unwrap_or_default().to_string(),
                        hosts.join(","),
                    ]
                    .join(" | ");
                    for chunk in chunks {
                        prop_assert!(!seen.contains(chunk.as_str()), "{chunk} leaked into {seen} from {dsn}");
                    }
                    if well_formed {
                        prop_assert_eq!(cfg.get_password(), Some(pw.as_bytes()), "{}", dsn);
                    }
                }
                Err(error) => {
                    for chunk in chunks {
                        prop_assert!(
                            !error.contains(chunk.as_str()),
                            "{chunk} leaked into `{error}` from {dsn}"
                        );
                    }
                    prop_assert!(!well_formed, "a well-formed DSN was refused: {dsn}: {error}");
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn in_key_value_dsns((dsn, pw, chunks, well_formed) in key_value_dsn()) {
                check(&dsn, &pw, &chunks, well_formed)?;
            }

            #[test]
            fn in_url_dsns((dsn, pw, chunks, well_formed) in uri_dsn()) {
                check(&dsn, &pw, &chunks, well_formed)?;
            }
        }
    }
}

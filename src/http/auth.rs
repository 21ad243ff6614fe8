//! HTTP authentication, in the spirit of Prometheus exporters' web config: optional basic auth
//! and/or a bearer token, set separately for three scopes — `/api/*`, `/metrics`, and the UI
//! (every other path) — while `/healthz` and `/livez` always stay open for probes.
//!
//! The router chooses the scope: `http::configure` wraps the `/api` scope, the `/metrics`
//! resource and the UI's catch-all scope each in [`require`], the `actix-web-httpauth`
//! middleware with that scope's credentials, so whatever path the router sends to a handler
//! (`/%6Detrics` included) meets that handler's credentials. The decision is pure
//! ([`AuthPolicy::decide`] over a scope and an `Authorization` header) and unit-tested.
//! Secrets are compared in constant time (`subtle`), are never logged, and never appear in an
//! error. Building the policy reads the `*_file` secrets once at start and fails with a
//! [`ConfigError`] naming the key and file.
//!
//! The crate's `BasicAuth`/`BearerAuth` extractors are not used: they match the scheme name
//! case-sensitively (RFC 7235 makes it case-insensitive) and refuse non-ASCII header bytes, so
//! the validator parses the header itself ([`Presented`]).

use crate::config::{auth_key, ConfigError, HttpAuth, ScopeAuth, Secret, AUTH_SCOPES};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use actix_web_httpauth::middleware::HttpAuthentication;
use base64::Engine;
use std::future::{ready, Ready};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The credentials a group of routes needs (`/healthz` and `/livez` are in none: always open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/api` and everything under it.
    Api,
    /// `/metrics`.
    Metrics,
    /// Every other path: the UI.
    Ui,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Api => "api",
            Scope::Metrics => "metrics",
            Scope::Ui => "ui",
        }
    }
}

/// The `Authorization` header as the client sent it (or none): what the middleware extracts
/// and hands to the validator. Never fails, so a request without credentials still reaches the
/// validator, which answers with the scope's challenges.
pub struct Presented(Option<HeaderValue>);

impl Presented {
    pub fn bytes(&self) -> Option<&[u8]> {
        self.0.as_ref().map(HeaderValue::as_bytes)
    }
}

impl FromRequest for Presented {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Presented(req.headers().get(AUTHORIZATION).cloned())))
    }
}

type Validated = Ready<Result<ServiceRequest, (actix_web::Error, ServiceRequest)>>;

/// The middleware that guards one scope: lets a request with the scope's credentials through
/// (any request, when the scope asks for none), and answers 401 otherwise with the scope's
/// challenges and an [`Unauthorized`] body.
pub fn require(
    scope: Scope,
    policy: Arc<AuthPolicy>,
) -> HttpAuthentication<Presented, impl Fn(ServiceRequest, Presented) -> Validated + 'static> {
    HttpAuthentication::with_fn(move |req: ServiceRequest, presented: Presented| {
        ready(match policy.decide(scope, presented.bytes()) {
            Decision::Allow => Ok(req),
            Decision::Deny { denied, challenges } => {
                let error = unauthorized(&req, scope, denied, challenges);
                Err((error, req))
            }
        })
    })
}

fn unauthorized(req: &ServiceRequest, scope: Scope, denied: Denied, challenges: Vec<&'static str>) -> actix_web::Error {
    let message = match denied {
        Denied::Missing => "authentication required",
        Denied::Wrong => {
            let peer = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            tracing::warn!(scope = scope.as_str(), path = %req.path(), peer = %peer, "rejected wrong HTTP credentials");
            "wrong credentials"
        }
    };
    let mut resp = HttpResponse::Unauthorized();
    for challenge in challenges {
        resp.append_header((WWW_AUTHENTICATE, challenge));
    }
    let body = Unauthorized {
        error: message,
        scope: scope.as_str(),
    };
    actix_web::error::InternalError::from_response(message, resp.json(body)).into()
}

/// One scope's accepted credentials; a request passes with any one of them.
#[derive(Clone, Default)]
pub struct ScopeCredentials {
    basic: Option<(String, Secret)>,
    bearer: Option<Secret>,
}

impl std::fmt::Debug for ScopeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeCredentials")
            .field("basic_user", &self.basic.as_ref().map(|(user, _)| user))
            .field("bearer", &self.bearer.is_some())
            .finish()
    }
}

/// Secrets are compared as SHA-256 digests: equal lengths, so neither the comparison's time
/// nor its early exit on a length mismatch tells an attacker how long the secret is.
fn digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

impl ScopeCredentials {
    pub fn basic(user: &str, password: &str) -> Self {
        Self {
            basic: Some((user.to_string(), Secret::new(password))),
            bearer: None,
        }
    }

    pub fn bearer(token: &str) -> Self {
        Self {
            basic: None,
            bearer: Some(Secret::new(token)),
        }
    }

    fn is_open(&self) -> bool {
        self.basic.is_none() && self.bearer.is_none()
    }

    /// The `WWW-Authenticate` challenges for a 401, one per accepted scheme.
    pub fn challenges(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.basic.is_some() {
            out.push(r#"Basic realm="pgmon", charset="UTF-8""#);
        }
        if self.bearer.is_some() {
            out.push(r#"Bearer realm="pgmon""#);
        }
        out
    }

    /// Checks an `Authorization` header value against these credentials.
    fn check(&self, authorization: Option<&[u8]>) -> Result<(), Denied> {
        let Some(header) = authorization else {
            return Err(Denied::Missing);
        };
        let (scheme, value) = match header.iter().position(|&b| b == b' ') {
            Some(i) => (&header[..i], trim_ascii(&header[i + 1..])),
            None => (header, &[][..]),
        };
        if scheme.eq_ignore_ascii_case(b"basic") {
            if let Some((user, password)) = &self.basic {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .map_err(|_| Denied::Wrong)?;
                let colon = decoded.iter().position(|&b| b == b':').ok_or(Denied::Wrong)?;
                let user_ok = digest(&decoded[..colon]).ct_eq(&digest(user.as_bytes()));
                let password_ok = digest(&decoded[colon + 1..]).ct_eq(&digest(password.expose().as_bytes()));
                return if bool::from(user_ok & password_ok) {
                    Ok(())
                } else {
                    Err(Denied::Wrong)
                };
            }
        } else if scheme.eq_ignore_ascii_case(b"bearer") {
            if let Some(token) = &self.bearer {
                return if bool::from(digest(value).ct_eq(&digest(token.expose().as_bytes()))) {
                    Ok(())
                } else {
                    Err(Denied::Wrong)
                };
            }
        }
        // A scheme this scope does not accept counts as no credentials.
        Err(Denied::Missing)
    }
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Missing,
    Wrong,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny {
        denied: Denied,
        challenges: Vec<&'static str>,
    },
}

/// Credentials per scope; an empty scope is open.
#[derive(Debug, Clone, Default)]
pub struct AuthPolicy {
    pub api: ScopeCredentials,
    pub ui: ScopeCredentials,
    pub metrics: ScopeCredentials,
}

impl AuthPolicy {
    /// Reads `basic_password_file` / `bearer_token_file` (trailing newline trimmed). Config
    /// validation has already checked which keys go together.
    pub fn from_config(auth: &HttpAuth) -> Result<AuthPolicy, ConfigError> {
        let mut policy = AuthPolicy::default();
        for name in AUTH_SCOPES {
            let creds = scope_from_config(name, auth.scope(name))?;
            match name {
                "api" => policy.api = creds,
                "ui" => policy.ui = creds,
                _ => policy.metrics = creds,
            }
        }
        Ok(policy)
    }

    pub fn is_open(&self) -> bool {
        self.api.is_open() && self.ui.is_open() && self.metrics.is_open()
    }

    /// Which scopes ask for credentials, for the start-up log (no secrets).
    pub fn protected_scopes(&self) -> Vec<&'static str> {
        [
            (Scope::Api, &self.api),
            (Scope::Ui, &self.ui),
            (Scope::Metrics, &self.metrics),
        ]
        .into_iter()
        .filter(|(_, c)| !c.is_open())
        .map(|(s, _)| s.as_str())
        .collect()
    }

    /// Whether the request carries valid credentials of the `api` scope (false when the scope
    /// asks for none: then nobody is authenticated, and `/healthz` stays anonymous).
    pub fn api_credentials_valid(&self, authorization: Option<&[u8]>) -> bool {
        !self.api.is_open() && self.api.check(authorization).is_ok()
    }

    pub fn decide(&self, scope: Scope, authorization: Option<&[u8]>) -> Decision {
        let creds = match scope {
            Scope::Api => &self.api,
            Scope::Ui => &self.ui,
            Scope::Metrics => &self.metrics,
        };
        if creds.is_open() {
            return Decision::Allow;
        }
        match creds.check(authorization) {
            Ok(()) => Decision::Allow,
            Err(denied) => Decision::Deny {
                denied,
                challenges: creds.challenges(),
            },
        }
    }
}

fn scope_from_config(scope: &str, cfg: &ScopeAuth) -> Result<ScopeCredentials, ConfigError> {
    let secret = |inline: &Secret, file: &str, file_field: &str| -> Result<Option<Secret>, ConfigError> {
        if !file.is_empty() {
            return read_secret_file(auth_key(scope, file_field), file).map(Some);
        }
        Ok(Some(inline.clone()).filter(|s| !s.expose().is_empty()))
    };
    let basic = match secret(&cfg.basic_password, &cfg.basic_password_file, "basic_password_file")? {
        Some(password) if !cfg.basic_user.is_empty() => Some((cfg.basic_user.clone(), password)),
        _ => None,
    };
    let bearer = secret(&cfg.bearer_token, &cfg.bearer_token_file, "bearer_token_file")?;
    Ok(ScopeCredentials { basic, bearer })
}

/// A secret file's content without its trailing newline; an empty one is refused.
fn read_secret_file(key: &'static str, path: &str) -> Result<Secret, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        key,
        value: path.to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read ({e})")))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(invalid("the file is empty".into()));
    }
    Ok(Secret::new(value))
}

/// The body of a 401: what was wrong and which scope's credentials the path needs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Unauthorized {
    /// `authentication required` or `wrong credentials`.
    pub error: &'static str,
    /// `api`, `metrics` or `ui`.
    pub scope: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic_header(user: &str, password: &str) -> Vec<u8> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}").into_bytes()
    }

    fn policy() -> AuthPolicy {
        AuthPolicy {
            api: ScopeCredentials::basic("ops", "pa:ss wörd"),
            ui: ScopeCredentials::default(),
            metrics: ScopeCredentials::bearer("scrape-token"),
        }
    }

    fn denied(d: &Decision) -> Option<Denied> {
        match d {
            Decision::Allow => None,
            Decision::Deny { denied, .. } => Some(*denied),
        }
    }

    #[test]
    fn basic_scope_accepts_right_and_refuses_missing_or_wrong() {
        let p = policy();
        assert_eq!(
            p.decide(Scope::Api, Some(&basic_header("ops", "pa:ss wörd"))),
            Decision::Allow
        );
        assert_eq!(denied(&p.decide(Scope::Api, None)), Some(Denied::Missing));
        assert_eq!(
            denied(&p.decide(Scope::Api, Some(&basic_header("ops", "pa:ss"))),),
            Some(Denied::Wrong)
        );
        assert_eq!(
            denied(&p.decide(Scope::Api, Some(&basic_header("root", "pa:ss wörd")))),
            Some(Denied::Wrong)
        );
        assert_eq!(
            denied(&p.decide(Scope::Api, Some(b"Basic !!notbase64"))),
            Some(Denied::Wrong)
        );
    }

    #[test]
    fn scheme_is_case_insensitive() {
        let mut header = basic_header("ops", "pa:ss wörd");
        header[..5].copy_from_slice(b"bAsIc");
        assert_eq!(policy().decide(Scope::Api, Some(&header)), Decision::Allow);
        assert_eq!(
            policy().decide(Scope::Metrics, Some(b"bearer scrape-token")),
            Decision::Allow
        );
    }

    #[test]
    fn bearer_scope_accepts_its_token_only() {
        let p = policy();
        assert_eq!(p.decide(Scope::Metrics, Some(b"Bearer scrape-token")), Decision::Allow);
        assert_eq!(
            denied(&p.decide(Scope::Metrics, Some(b"Bearer scrape-tokeN"))),
            Some(Denied::Wrong)
        );
        assert_eq!(denied(&p.decide(Scope::Metrics, Some(b"Bearer "))), Some(Denied::Wrong));
        // Basic credentials are not a token: treated as none.
        assert_eq!(
            denied(&p.decide(Scope::Metrics, Some(&basic_header("ops", "pa:ss wörd")))),
            Some(Denied::Missing)
        );
    }

    #[test]
    fn open_scope_needs_nothing() {
        assert_eq!(policy().decide(Scope::Ui, None), Decision::Allow);
        assert_eq!(policy().decide(Scope::Ui, Some(b"Bearer junk")), Decision::Allow);
    }

    #[test]
    fn challenges_name_every_accepted_scheme() {
        let both = ScopeCredentials {
            basic: Some(("u".into(), Secret::new("p"))),
            bearer: Some(Secret::new("t")),
        };
        let p = AuthPolicy {
            api: both,
            ..AuthPolicy::default()
        };
        match p.decide(Scope::Api, None) {
            Decision::Deny { challenges, .. } => {
                assert_eq!(
                    challenges,
                    vec![r#"Basic realm="pgmon", charset="UTF-8""#, r#"Bearer realm="pgmon""#]
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(p.decide(Scope::Api, Some(b"Bearer t")), Decision::Allow);
        assert_eq!(p.decide(Scope::Api, Some(&basic_header("u", "p"))), Decision::Allow);
    }

    #[test]
    fn secret_files_are_read_with_trailing_newline_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cr3t \n").unwrap();
        let mut auth = HttpAuth::default();
        auth.ui.basic_user = "viewer".into();
        auth.ui.basic_password_file = pw.display().to_string();
        let p = AuthPolicy::from_config(&auth).unwrap();
        assert_eq!(
            p.decide(Scope::Ui, Some(&basic_header("viewer", "s3cr3t "))),
            Decision::Allow
        );
        assert_eq!(p.protected_scopes(), vec!["ui"]);
        assert!(!format!("{p:?}").contains("s3cr3t"));
    }

    #[test]
    fn missing_or_empty_secret_file_names_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut auth = HttpAuth::default();
        auth.metrics.bearer_token_file = "/nonexistent/token".into();
        let err = AuthPolicy::from_config(&auth).unwrap_err().to_string();
        assert!(
            err.contains("http.auth.metrics.bearer_token_file") && err.contains("/nonexistent/token"),
            "{err}"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        auth.metrics.bearer_token_file = empty.display().to_string();
        let err = AuthPolicy::from_config(&auth).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}

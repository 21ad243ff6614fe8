//! Start-up and shutdown: read the TLS and credential files (a bad one is bad input), bind the
//! HTTP listener (a taken address is bad input), check the role once if the database answers
//! (refuse a writable role), start the StateActor (with the alert engine and the
//! Notifier) and the supervised loops, then serve (HTTPS when `http.tls` is set) until SIGINT/SIGTERM.
//! A database that is down at start is not fatal: the agent starts degraded.

use crate::actors::loop_actor::CapabilitiesCache;
use crate::actors::state::StateActor;
use crate::alerts::notifier::Notifier;
use crate::config::Config;
use crate::db::{self, capabilities::Capabilities, privileges};
use crate::http::{self, auth::AuthPolicy, AppState};
use crate::telemetry::{SeriesNaming, Telemetry};
use crate::{EXIT_BAD_INPUT, EXIT_WRITE_ACCESS};
use actix::Actor;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    WriteAccess(String),
    #[error("{0}")]
    Runtime(String),
}

impl StartError {
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::BadInput(_) => EXIT_BAD_INPUT,
            StartError::WriteAccess(_) => EXIT_WRITE_ACCESS,
            StartError::Runtime(_) => 1,
        }
    }
}

/// What start-up reads from disk besides the config: the HTTPS certificate and key, the auth
/// secret files, the DSN's `sslrootcert`.
pub struct SecurityFiles {
    pub http_tls: Option<rustls::ServerConfig>,
    pub auth: AuthPolicy,
}

/// Reads and checks every file the security settings name; a bad one is bad input naming its
/// key and file (also usable by `check-config`).
pub fn read_security_files(config: &Config) -> Result<SecurityFiles, StartError> {
    if let Some(dsn) = &config.target {
        db::tls::connector(dsn.tls()).map_err(|e| StartError::BadInput(format!("invalid config: key `dsn`: {e}")))?;
    }
    let http_tls = if config.http.tls.enabled() {
        Some(crate::tls::server_config(&config.http.tls).map_err(|e| StartError::BadInput(e.to_string()))?)
    } else {
        None
    };
    let auth = AuthPolicy::from_config(&config.http.auth).map_err(|e| StartError::BadInput(e.to_string()))?;
    Ok(SecurityFiles { http_tls, auth })
}

/// Runs the agent until shutdown. Must be called inside an actix System.
pub async fn run(config: Config) -> Result<(), StartError> {
    let dsn = config.require_dsn().map_err(|e| StartError::BadInput(e.to_string()))?;
    let (pg, db_tls) = (dsn.pg(), dsn.tls());
    let target = dsn.target();
    let db_label = dsn.database_label();
    let SecurityFiles { http_tls, auth } = read_security_files(&config)?;
    if db_tls.root_cert.is_some() && !db_tls.mode.encrypts() {
        tracing::warn!(
            sslmode = db_tls.mode.as_str(),
            "sslrootcert is ignored: this sslmode never checks the server's certificate; use sslmode=verify-full to check the server"
        );
    }
    let config_advisories: Vec<_> = db::tls::unverified_advisory(pg, db_tls).into_iter().collect();
    for advisory in &config_advisories {
        tracing::warn!(code = advisory.code, fix = %advisory.fix, "{}", advisory.message);
    }
    let auth = Arc::new(auth);

    let bind = config.bind_addr();
    let listener = TcpListener::bind(bind)
        .map_err(|e| StartError::BadInput(format!("invalid config: key `http.bind` = {bind}: cannot listen ({e})")))?;
    let local = listener.local_addr().map_err(|e| StartError::Runtime(e.to_string()))?;

    let capabilities = CapabilitiesCache::default();
    startup_check(&config, &target).await?;

    let pools = db::build_pools(&config).map_err(StartError::BadInput)?;
    let mut telemetry = Telemetry::new(SeriesNaming {
        cluster: config.cluster.clone(),
        db: db_label.clone(),
        prefix: config.metrics.prefix.clone(),
    });
    let notifier = Notifier::start(
        &config.notifiers.webhook_url,
        &config.notifiers.slack_webhook,
        &config.cluster,
    );
    if let Some(n) = &notifier {
        telemetry.watch_notifier(n.stats.clone());
    }
    let state_actor = StateActor::new(config.cluster.clone(), db_label, telemetry, config.ui.history_window)
        .with_advisories(config_advisories)
        .with_alerts(config.alerts.clone(), notifier);
    let views = state_actor.subscribe();
    let heartbeat = state_actor.heartbeat();
    let state = state_actor.start();
    // Held until shutdown: an actix Supervisor restarts only actors that still have a live
    // address, so dropping these would turn the first loop failure into a permanent stop.
    let loops = crate::actors::start_loops(&config, &pools, state, capabilities);

    let static_dir = Some(PathBuf::from(&config.http.static_dir)).filter(|d| d.is_dir());
    if let Some(dir) = &static_dir {
        tracing::info!(static_dir = %dir.display(), "serving the UI from disk");
    }
    let app_state = AppState {
        views,
        heartbeat,
        static_dir,
        hide_postgres_defaults: config.ui.hide_postgres_defaults,
        auth: auth.clone(),
    };
    let protected = auth.protected_scopes();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(app_state.clone()))
            .configure(http::configure(auth.clone()))
    })
    .workers(http::limits::WORKERS)
    .max_connections(http::limits::connections_per_worker(
        http::limits::open_file_limit(),
        http::limits::WORKERS,
    ))
    .client_request_timeout(http::limits::CLIENT_REQUEST_TIMEOUT)
    .client_disconnect_timeout(http::limits::CLIENT_DISCONNECT_TIMEOUT)
    .keep_alive(http::limits::KEEP_ALIVE)
    .shutdown_timeout(5);
    let scheme = if http_tls.is_some() { "https" } else { "http" };
    let server = match http_tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls),
        None => server.listen(listener),
    }
    .map_err(|e| StartError::Runtime(format!("cannot serve on {local}: {e}")))?
    .run();
    tracing::info!(
        addr = %local,
        scheme,
        auth = ?protected,
        cluster = %config.cluster,
        target = %target,
        db_tls = %db::tls::describe(db_tls),
        "listening"
    );
    server.await.map_err(|e| StartError::Runtime(e.to_string()))?;
    drop(loops);
    tracing::info!("shut down");
    Ok(())
}

/// If the database answers now, refuse a role that could write; if not, start degraded.
async fn startup_check(config: &Config, target: &str) -> Result<(), StartError> {
    let wait = Duration::from_millis(config.timeouts.connect_timeout_ms) + Duration::from_secs(1);
    let client = match tokio::time::timeout(wait, db::connect_once(config)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            tracing::warn!(target_db = %target, error = %e, "database unreachable at start; starting degraded and retrying every loop tick");
            return Ok(());
        }
        Err(_) => {
            tracing::warn!(target_db = %target, "database did not answer at start; starting degraded and retrying every loop tick");
            return Ok(());
        }
    };
    if !config.security.read_only_enforce {
        return Ok(());
    }
    let caps = Capabilities::detect(&client)
        .await
        .map_err(|e| StartError::Runtime(format!("capability detection failed: {}", db::describe_pg_error(&e))))?;
    let found = privileges::write_privileges(&client)
        .await
        .map_err(|e| StartError::Runtime(format!("privilege check failed: {}", db::describe_pg_error(&e))))?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(StartError::WriteAccess(privileges::refusal_message(&caps.role, &found)))
    }
}

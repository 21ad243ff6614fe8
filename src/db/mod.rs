//! Database access: two tiny bb8 pools (one reserved for the hot path, one shared by the slower
//! loops, one connection each by default) whose every session is read-only and time-limited,
//! plus capability detection and the read-only refusal check.
//!
//! Connections are made lazily: a database that is down at start only makes loops fail (and
//! the agent report degraded) until it comes back. Every connection, pooled or not, goes
//! through the DSN's TLS settings ([`tls`]).

pub mod capabilities;
pub mod privileges;
pub mod tls;

use crate::config::{parse_dsn_tls, Config};
use bb8::{CustomizeConnection, ErrorSink, Pool};
use bb8_postgres::PostgresConnectionManager;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tls::PgTls;

pub type PgConnection<'a> = bb8::PooledConnection<'a, PostgresConnectionManager<PgTls>>;

/// A bb8 pool that remembers why its last connection attempt failed: bb8 makes connections in
/// the background and `get()` only ever reports a timeout, but an operator needs the reason
/// ("password authentication failed", "connection refused").
#[derive(Clone)]
pub struct PgPool {
    pool: Pool<PostgresConnectionManager<PgTls>>,
    last_error: LastConnectError,
}

#[derive(Debug, Clone, Default)]
struct LastConnectError(Arc<Mutex<Option<(Instant, String)>>>);

impl ErrorSink<tokio_postgres::Error> for LastConnectError {
    fn sink(&self, error: tokio_postgres::Error) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some((Instant::now(), describe_pg_error(&error)));
        }
    }
    fn boxed_clone(&self) -> Box<dyn ErrorSink<tokio_postgres::Error>> {
        Box::new(self.clone())
    }
}

impl PgPool {
    /// A connection, or why none could be had by `deadline`.
    pub async fn get(&self, deadline: tokio::time::Instant) -> Result<PgConnection<'_>, DbError> {
        let asked = Instant::now();
        let reason = match tokio::time::timeout_at(deadline, self.pool.get()).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(bb8::RunError::User(e))) => return Err(DbError::Unreachable(describe_pg_error(&e))),
            Ok(Err(bb8::RunError::TimedOut)) | Err(_) => self.error_since(asked),
        };
        Err(DbError::Unreachable(
            reason.unwrap_or_else(|| "no connection within the loop budget".into()),
        ))
    }

    fn error_since(&self, since: Instant) -> Option<String> {
        let last = self.last_error.0.lock().ok()?;
        last.as_ref().filter(|(at, _)| *at >= since).map(|(_, e)| e.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// Every pooled connection is in use by other loops (the database itself answers).
    #[error("no free connection: {0}")]
    PoolBusy(String),
    #[error("query failed: {0}")]
    Query(String),
}

impl From<bb8::RunError<tokio_postgres::Error>> for DbError {
    fn from(e: bb8::RunError<tokio_postgres::Error>) -> Self {
        match e {
            bb8::RunError::User(e) => DbError::Unreachable(describe_pg_error(&e)),
            bb8::RunError::TimedOut => DbError::Unreachable("timed out waiting for a connection".into()),
        }
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() {
            DbError::Unreachable(describe_pg_error(&e))
        } else {
            DbError::Query(describe_pg_error(&e))
        }
    }
}

/// tokio-postgres errors print "db error" for server errors; the server's message and SQLSTATE
/// are what an operator needs. Connection strings never appear in these messages.
pub fn describe_pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// The pools every loop draws from.
#[derive(Clone)]
pub struct Pools {
    pub hot_path: PgPool,
    pub background: PgPool,
}

/// Session settings applied to every new connection, before any collector sees it.
#[derive(Debug)]
struct SessionGuardrails {
    statement_timeout_ms: u64,
    lock_timeout_ms: u64,
}

impl SessionGuardrails {
    fn sql(&self) -> String {
        format!(
            "SET default_transaction_read_only = on; SET statement_timeout = {}; SET lock_timeout = {}; SET application_name = 'pgmon'; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'",
            self.statement_timeout_ms, self.lock_timeout_ms
        )
    }
}

impl CustomizeConnection<tokio_postgres::Client, tokio_postgres::Error> for SessionGuardrails {
    fn on_acquire<'a>(
        &'a self,
        client: &'a mut tokio_postgres::Client,
    ) -> Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send + 'a>> {
        let sql = self.sql();
        Box::pin(async move { client.batch_execute(&sql).await })
    }
}

/// What every connection is made from: the parsed DSN (application_name and connect timeout
/// set) and its TLS connector. The error names the bad part, never the password.
pub fn connect_settings(config: &Config) -> Result<(tokio_postgres::Config, PgTls), String> {
    let dsn = config.dsn.as_ref().ok_or("missing DSN")?;
    let (mut pg, tls_settings) = parse_dsn_tls(dsn.expose())?;
    pg.application_name("pgmon");
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(Duration::from_millis(config.timeouts.connect_timeout_ms));
    }
    Ok((pg, tls::connector(&tls_settings)?))
}

/// Builds both pools without connecting.
pub fn build_pools(config: &Config) -> Result<Pools, String> {
    let (pg, tls) = connect_settings(config)?;
    let make = |size: u32, wait: Duration| {
        let last_error = LastConnectError::default();
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(None)
            // A failed connect returns its error at once instead of retrying until the
            // timeout: the loop reports why the database is unreachable.
            .retry_connection(false)
            .test_on_check_out(false)
            .connection_timeout(wait)
            .connection_customizer(Box::new(SessionGuardrails {
                statement_timeout_ms: config.timeouts.statement_timeout_ms,
                lock_timeout_ms: config.timeouts.lock_timeout_ms,
            }))
            .error_sink(Box::new(last_error.clone()))
            .build_unchecked(PostgresConnectionManager::new(pg.clone(), tls.clone()));
        PgPool { pool, last_error }
    };
    Ok(Pools {
        hot_path: make(config.database.hot_path_connections, config.budgets.hot_path),
        // Each loop bounds its own wait by its budget; the pool must not cut the hourly's short.
        background: make(
            config.database.background_connections,
            config
                .budgets
                .workload
                .max(config.budgets.storage)
                .max(config.budgets.hourly),
        ),
    })
}

/// Connects once outside any pool (start-up checks), with the same guardrails.
pub async fn connect_once(config: &Config) -> Result<tokio_postgres::Client, DbError> {
    let (pg, tls) = connect_settings(config).map_err(DbError::Unreachable)?;
    let (client, connection) = pg
        .connect(tls)
        .await
        .map_err(|e| DbError::Unreachable(describe_pg_error(&e)))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let guard = SessionGuardrails {
        statement_timeout_ms: config.timeouts.statement_timeout_ms,
        lock_timeout_ms: config.timeouts.lock_timeout_ms,
    };
    client.batch_execute(&guard.sql()).await?;
    Ok(client)
}

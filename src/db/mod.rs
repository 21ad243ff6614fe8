//! Database access: one tiny bb8 pool per loop (one connection each by default), so a slow
//! storage or hourly run never makes another loop wait; every session is read-only and
//! time-limited. Plus capability detection and the read-only refusal check.
//!
//! Connections are made lazily: a database that is down at start only makes loops fail (and
//! the agent report degraded) until it comes back. Every connection, pooled or not, goes
//! through the DSN's TLS settings as libpq would ([`tls::Transport`]: `prefer` tries TLS then
//! plaintext, `allow` the reverse), the whole attempt, both tries included, bounded by the
//! connect timeout. A session whose run overran its budget has its statement cancelled and is
//! kept only if it then answers a ping; otherwise it is discarded ([`PgSession::discard`]): its
//! socket is closed, never handed to the next run.

pub mod capabilities;
pub mod privileges;
pub mod tls;

use crate::config::Config;
use crate::loops::{LoopName, PerLoop};
use bb8::{ErrorSink, ManageConnection, Pool};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tls::{PgTls, Transport};

pub type PgConnection<'a> = bb8::PooledConnection<'a, PgManager>;

/// The bound of a whole connection attempt when the DSN sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a cancel request may take before the session is dropped without it.
const CANCEL_WAIT: Duration = Duration::from_millis(500);
/// A session idle longer than this is pinged before a run uses it: it may have died while idle
/// (`idle_session_timeout`, a session killer, a NAT reset, a server restart), and a run must not
/// read that as an outage. The hot path (15 s) never waits this long.
const PING_AFTER_IDLE: Duration = Duration::from_secs(30);
/// How long that ping (or the one after cancelling a cut run) may take.
const PING_WAIT: Duration = Duration::from_millis(500);

/// One database session: the client, and the task driving its socket. Dropping it closes the
/// socket even when the server never answers (a hung or SIGSTOPped backend), because the
/// connection task is aborted rather than left waiting for replies.
///
/// A checked-out session is marked for discarding until its run finishes cleanly
/// ([`PgSession::keep`]): a run that is aborted, panics or overruns never returns a session
/// that may still owe replies.
pub struct PgSession {
    client: tokio_postgres::Client,
    connection: tokio::task::AbortHandle,
    discard: bool,
    used_at: Instant,
}

impl PgSession {
    /// Marks the session unusable: the pool closes it instead of reusing it.
    pub fn discard(&mut self) {
        self.discard = true;
    }

    /// The run that used the session finished cleanly: the pool may hand it out again.
    pub fn keep(&mut self) {
        self.discard = false;
        self.used_at = Instant::now();
    }

    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

impl std::ops::Deref for PgSession {
    type Target = tokio_postgres::Client;
    fn deref(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

impl Drop for PgSession {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Makes guarded sessions: connect (TLS as the DSN says), then the session guardrails.
pub struct PgManager {
    transport: Transport,
    guardrails: SessionGuardrails,
    log: ConnectLog,
}

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{}", describe_pg_error(.0))]
    Pg(#[from] tokio_postgres::Error),
    /// tokio-postgres' `connect_timeout` covers only the TCP connect; a server that accepts the
    /// socket and never answers (frozen, SIGSTOPped postmaster) is cut here.
    #[error("the server accepted the connection but did not complete the startup and authentication within {}", humantime::format_duration(*.0))]
    TimedOut(Duration),
    /// A failure told with its TLS context: both tries of `prefer`/`allow`, or a hint.
    #[error("{0}")]
    Explained(String),
}

impl PgManager {
    /// Connects and applies the guardrails.
    async fn connect_guarded(&self, deadline: tokio::time::Instant) -> Result<PgSession, ConnectError> {
        let (client, connection) = self.transport.connect(deadline).await?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        let session = PgSession {
            client,
            connection: task.abort_handle(),
            discard: false,
            used_at: Instant::now(),
        };
        session.client.batch_execute(&self.guardrails.sql()).await?;
        Ok(session)
    }
}

impl ManageConnection for PgManager {
    type Connection = PgSession;
    type Error = ConnectError;

    /// The whole attempt (both tries of `prefer`/`allow`, then the guardrails) is bounded by
    /// the connect timeout.
    async fn connect(&self) -> Result<PgSession, ConnectError> {
        let limit = self.transport.limit();
        let deadline = tokio::time::Instant::now() + limit;
        let session = tokio::time::timeout_at(deadline, self.connect_guarded(deadline))
            .await
            .map_err(|_| ConnectError::TimedOut(limit))??;
        self.log.succeeded();
        Ok(session)
    }

    async fn is_valid(&self, conn: &mut PgSession) -> Result<(), ConnectError> {
        conn.client
            .simple_query("")
            .await
            .map(|_| ())
            .map_err(ConnectError::from)
    }

    fn has_broken(&self, conn: &mut PgSession) -> bool {
        conn.discard || conn.client.is_closed()
    }
}

/// A bb8 pool that remembers why its last connection attempt failed: bb8 makes connections in
/// the background and `get()` only ever reports a timeout, but an operator needs the reason
/// ("password authentication failed", "connection refused").
#[derive(Clone)]
pub struct PgPool {
    pool: Pool<PgManager>,
    tls: PgTls,
    log: ConnectLog,
}

/// The outcome of the pool's latest connection attempt: bb8 makes connections in background
/// tasks and reports failures only to its error sink (a waiting `get()` is not woken by them,
/// so `failures` wakes it: a refused connection is reported at once, not after the budget).
#[derive(Debug, Clone)]
struct ConnectLog {
    last: Arc<Mutex<LastConnect>>,
    failures: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for ConnectLog {
    fn default() -> Self {
        Self {
            last: Arc::default(),
            failures: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }
}

#[derive(Debug, Default)]
struct LastConnect {
    /// The latest failed attempt, and why.
    error: Option<(Instant, String)>,
    succeeded_at: Option<Instant>,
}

impl ConnectLog {
    fn succeeded(&self) {
        if let Ok(mut last) = self.last.lock() {
            last.succeeded_at = Some(Instant::now());
        }
    }

    /// The error of an attempt that failed after `since`.
    fn failed_since(&self, since: Instant) -> Option<String> {
        let last = self.last.lock().ok()?;
        last.error
            .as_ref()
            .filter(|(at, _)| *at >= since)
            .map(|(_, e)| e.clone())
    }

    /// Resolves with the error of the first attempt that fails after `since`.
    async fn next_failure(&self, since: Instant) -> String {
        let mut failures = self.failures.subscribe();
        loop {
            if let Some(error) = self.failed_since(since) {
                return error;
            }
            if failures.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// The error of the latest attempt, if it failed (no attempt succeeded after it).
    fn latest_failure(&self) -> Option<String> {
        let last = self.last.lock().ok()?;
        let (at, error) = last.error.as_ref()?;
        last.succeeded_at.is_none_or(|ok| ok < *at).then(|| error.clone())
    }
}

impl ErrorSink<ConnectError> for ConnectLog {
    fn sink(&self, error: ConnectError) {
        if let Ok(mut last) = self.last.lock() {
            last.error = Some((Instant::now(), error.to_string()));
        }
        self.failures.send_modify(|n| *n += 1);
    }
    fn boxed_clone(&self) -> Box<dyn ErrorSink<ConnectError>> {
        Box::new(self.clone())
    }
}

impl PgPool {
    /// A connection, or why none could be had by `deadline`. Only a failed connect is
    /// "unreachable"; a connection still held by this pool's previous run is `PoolBusy`; a
    /// first connect that is merely slower than the budget (a loaded server doing SCRAM) is
    /// `SlowConnect` and goes on in the background. A connect that hangs for good (a frozen
    /// server) fails at `timeouts.connect_timeout_ms`, and from then on reads as unreachable.
    async fn get(&self, deadline: tokio::time::Instant) -> Result<PgConnection<'_>, DbError> {
        let asked = Instant::now();
        tokio::select! {
            got = tokio::time::timeout_at(deadline, self.pool.get()) => match got {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(bb8::RunError::User(e))) => return Err(DbError::Unreachable(e.to_string())),
                Ok(Err(bb8::RunError::TimedOut)) | Err(_) => {}
            },
            error = self.log.next_failure(asked) => return Err(DbError::Unreachable(error)),
        }
        if let Some(reason) = self.log.failed_since(asked) {
            return Err(DbError::Unreachable(reason));
        }
        let state = self.pool.state();
        if state.connections > state.idle_connections {
            return Err(DbError::PoolBusy(
                "the loop's connection is still held by its previous run".into(),
            ));
        }
        match self.log.latest_failure() {
            Some(reason) => Err(DbError::Unreachable(format!(
                "no connection within the loop budget; the last attempt failed: {reason}"
            ))),
            None => Err(DbError::SlowConnect(
                "connecting took longer than the loop budget (a loaded server, a slow network or TLS handshake); the attempt goes on in the background".into(),
            )),
        }
    }

    /// A session for one run, armed for discarding until the run calls [`PgSession::keep`].
    /// A session found dead (closed, or silent to a ping after a long idle) is dropped and
    /// another one made: a session that died while idle is not an outage.
    pub async fn checkout(&self, deadline: tokio::time::Instant) -> Result<PgConnection<'_>, DbError> {
        for _ in 0..2 {
            let mut conn = self.get(deadline).await?;
            let alive = if conn.client.is_closed() {
                false
            } else if conn.used_at.elapsed() > PING_AFTER_IDLE {
                matches!(
                    tokio::time::timeout(PING_WAIT, conn.client.simple_query("")).await,
                    Ok(Ok(_))
                )
            } else {
                true
            };
            conn.discard();
            if alive {
                return Ok(conn);
            }
        }
        let mut conn = self.get(deadline).await?;
        conn.discard();
        Ok(conn)
    }

    /// A run was cut by its budget: asks the server to cancel whatever `session` is running
    /// (bounded by [`CANCEL_WAIT`]), then verifies the session with a ping, which the server
    /// answers only after the cancelled statement's replies. A session that answers is kept
    /// (reconnecting costs a loaded server more than the cut run did); one that does not (a
    /// hung or stopped backend) is discarded, its socket closed. Returns whether it was kept.
    pub async fn cancel_and_verify(&self, session: &mut PgSession) -> bool {
        let token = session.client.cancel_token();
        let _ = tokio::time::timeout(CANCEL_WAIT, token.cancel_query(self.tls.clone())).await;
        let answered = matches!(
            tokio::time::timeout(PING_WAIT, session.client.simple_query("")).await,
            Ok(Ok(_))
        );
        if answered {
            session.keep();
        } else {
            session.discard();
        }
        answered
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// The loop's connection is still held by its previous run (the database itself answers).
    #[error("no free connection: {0}")]
    PoolBusy(String),
    /// A connection attempt is still under way at the deadline: slow, not (yet) failed.
    #[error("slow connection: {0}")]
    SlowConnect(String),
    #[error("query failed: {0}")]
    Query(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        if connection_lost(&e) {
            DbError::Unreachable(describe_pg_error(&e))
        } else {
            DbError::Query(describe_pg_error(&e))
        }
    }
}

/// Whether `e` says the session itself is gone (closed socket, I/O error, the server shutting
/// down or restarting), as opposed to one statement failing on a live session.
pub fn connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        // Class 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now.
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
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

/// One pool per loop: a loop only ever waits for its own previous run, never for another loop.
pub type Pools = PerLoop<PgPool>;

/// Session settings applied to every new connection, before any collector sees it.
#[derive(Debug, Clone)]
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

/// What every connection is made from: the parsed DSN (application_name and connect timeout
/// set), its `sslmode` and TLS connector. The error names the bad part, never the password.
pub fn connect_settings(config: &Config) -> Result<Transport, String> {
    let dsn = config.require_dsn().map_err(|e| e.to_string())?;
    let (mut pg, tls_settings) = (dsn.pg().clone(), dsn.tls());
    pg.application_name("pgmon");
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(Duration::from_millis(config.timeouts.connect_timeout_ms));
    }
    let limit = pg.get_connect_timeout().copied().unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    Transport::new(pg, tls_settings, limit)
}

/// Builds the four pools without connecting.
pub fn build_pools(config: &Config) -> Result<Pools, String> {
    let transport = connect_settings(config)?;
    let guardrails = SessionGuardrails {
        statement_timeout_ms: config.timeouts.statement_timeout_ms,
        lock_timeout_ms: config.timeouts.lock_timeout_ms,
    };
    let make = |size: u32, wait: Duration| {
        let log = ConnectLog::default();
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(None)
            // A failed connect returns its error at once instead of retrying until the
            // timeout: the loop reports why the database is unreachable.
            .retry_connection(false)
            // Runs that did not finish cleanly discard their session; one that died while idle
            // is caught at checkout (closed, or silent to a ping after a long idle).
            .test_on_check_out(false)
            // Sessions live until they break: bb8's default reaping (10 min idle, 30 min
            // lifetime) would make the hot path reconnect inside its budget for no reason.
            .idle_timeout(None)
            .max_lifetime(None)
            // Each loop bounds its own wait by its budget; the pool must not cut it shorter.
            .connection_timeout(wait)
            .error_sink(Box::new(log.clone()))
            .build_unchecked(PgManager {
                transport: transport.clone(),
                guardrails: guardrails.clone(),
                log: log.clone(),
            });
        PgPool {
            pool,
            tls: transport.tls().clone(),
            log,
        }
    };
    Ok(PerLoop::from_fn(|name| {
        let size = match name {
            LoopName::HotPath => config.database.hot_path_connections,
            _ => config.database.background_connections,
        };
        make(size, *config.budgets.get(name))
    }))
}

/// Connects once outside any pool (start-up checks), with the same TLS negotiation, connect
/// timeout and guardrails.
pub async fn connect_once(config: &Config) -> Result<tokio_postgres::Client, DbError> {
    let transport = connect_settings(config).map_err(DbError::Unreachable)?;
    let deadline = tokio::time::Instant::now() + transport.limit();
    let (client, connection) = transport
        .connect(deadline)
        .await
        .map_err(|e| DbError::Unreachable(e.to_string()))?;
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

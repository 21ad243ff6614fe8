//! HTTP limits (issue 12): how many connections the server holds at once, how long a client may
//! stay silent, and the open-file limit both rest on. Fixed, not configurable: a health agent
//! serves one Prometheus, a few probes and a browser, so these leave ample room for them and
//! bound what a flood of idle connections can cost in memory (actix-http gives every connection
//! an 8 KiB read and an 8 KiB write buffer up front).
//!
//! A flood of thousands of idle sockets does not keep `/metrics` out: the cap
//! ([`MAX_CONNECTIONS_PER_WORKER`] per worker) is above what such a flood holds, yet bounds its
//! memory (about 10 KiB per held connection, returned to the OS afterwards by mimalloc). Beyond
//! the cap the rest wait in the kernel's listen queue, and a connection that has not sent a
//! whole request head within [`CLIENT_REQUEST_TIMEOUT`] gets a 408 and is closed, so every slot
//! turns over within that time. At the open-file limit, accepting pauses (actix-server backs off
//! 500 ms) instead of spinning; [`raise_fd_limit`] lifts the soft limit at start and the
//! connection cap shrinks to fit what is left.

use std::time::Duration;

/// actix-web workers: each runs its own single-threaded runtime and holds its own connections.
pub const WORKERS: usize = 2;
/// The most connections one worker holds; the listener stops accepting while all are taken.
pub const MAX_CONNECTIONS_PER_WORKER: usize = 4096;
/// A client must send its whole request head within this, else 408 and the connection closes.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long closing a connection may take before it is dropped.
pub const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// An idle keep-alive connection is closed after this.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// File descriptors kept for everything but HTTP connections: the listener, the database pools,
/// the runtimes' epoll and wakers, the notifier's HTTP client, static files, logs.
pub const RESERVED_FDS: u64 = 64;
/// The soft open-file limit asked for at start (capped by the hard limit): far more than the
/// connection caps need, so the cap, not the fd limit, is what a flood runs into.
pub const WANTED_FDS: u64 = 65_536;

/// The open-file limit in effect after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub soft: u64,
    pub hard: u64,
    /// The soft limit before start-up raised it, when it did.
    pub raised_from: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` towards the hard limit (at most [`WANTED_FDS`]).
pub fn raise_fd_limit() -> std::io::Result<FdLimit> {
    let (before, hard) = rlimit::Resource::NOFILE.get()?;
    let soft = rlimit::increase_nofile_limit(WANTED_FDS)?;
    Ok(FdLimit {
        soft,
        hard,
        raised_from: (soft > before).then_some(before),
    })
}

/// The soft open-file limit now; 1024 (the usual default) when it cannot be read.
pub fn open_file_limit() -> u64 {
    rlimit::Resource::NOFILE.get().map_or(1024, |(soft, _)| soft)
}

/// Connections per worker: [`MAX_CONNECTIONS_PER_WORKER`], or fewer when the open-file limit
/// could not hold that many for every worker besides [`RESERVED_FDS`] (never below 16).
pub fn connections_per_worker(open_file_limit: u64, workers: usize) -> usize {
    let spare = open_file_limit.saturating_sub(RESERVED_FDS) / workers.max(1) as u64;
    (spare.min(MAX_CONNECTIONS_PER_WORKER as u64) as usize).max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roomy_fd_limit_gives_the_fixed_cap() {
        assert_eq!(connections_per_worker(20_000, 2), MAX_CONNECTIONS_PER_WORKER);
        assert_eq!(connections_per_worker(65_536, 2), MAX_CONNECTIONS_PER_WORKER);
        assert_eq!(
            connections_per_worker(1_024, 2),
            480,
            "a container's 1024 leaves 480 per worker"
        );
    }

    #[test]
    fn a_tight_fd_limit_shrinks_the_cap_to_fit() {
        assert_eq!(connections_per_worker(256, 2), 96);
        assert_eq!(connections_per_worker(64, 2), 16);
        assert_eq!(connections_per_worker(0, 0), 16);
    }
}

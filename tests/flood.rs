//! Floods of idle HTTP connections against the real agent binary (issue 12, item 8a): clients
//! that connect and send nothing, or half a request head, and hold the socket. The agent must
//! keep answering `/metrics` and `/healthz` during each flood, and its resident memory must come
//! back under [`RSS_BOUND_KB`] after every one (memory that piled up from flood to flood was the
//! fault). At the open-file limit the agent must neither spin nor stop.
//!
//! Each flood fires all its connects at once from a current-thread tokio runtime and holds what
//! the agent took; the agent's pid comes from [`Agent::pid`] and its RSS from
//! `/proc/<pid>/status`, sampled throughout (the peak is printed). An agent at its connection
//! cap takes only part of a flood (the rest wait in its listen queue or are given up); the test
//! prints how many it took. No assertion is on how fast anything happens: the probes and the settle poll have
//! generous limits and print what they saw.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use support::agent::{test_config, Agent};
use support::TestPostgres;
use tokio::io::AsyncWriteExt;

const FLOODS: usize = 6;
const CONNECTIONS: usize = 5_000;
/// How long the flood holds its sockets once they are all open (or given up on).
const HOLD: Duration = Duration::from_secs(3);
/// A flood connect the agent has not answered within this is given up (its SYN was dropped
/// because the listen queue was full; one retransmission fits).
const FLOOD_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The probes start this long after the flood's connects, so they meet a full server.
const PROBE_DELAY: Duration = Duration::from_millis(300);
/// "Available" during a flood: the probe's whole request, connect to last byte, within this.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The bound from the issue: RSS is back within 40 MB after each of repeated floods (while a
/// flood holds its connections they cost about 10 KiB each).
const RSS_BOUND_KB: u64 = 40 * 1024;
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Fds the test process keeps for itself besides the flood (probes, pipes, PostgreSQL client).
const RESERVED_FDS: u64 = 256;
/// The soft open-file limit the test process asks for (capped by its hard limit).
const TEST_PROCESS_FDS: u64 = 16_384;

/// Every other flood connection sends this and never finishes the head.
const PARTIAL_REQUEST: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n";

/// Free descriptors the fd-limit test leaves the agent: well below its connection cap,
/// and about its listen queue (128), so the queue ahead of a probe drains in one turnover.
const FD_HEADROOM: u64 = 160;
/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 a second on Linux.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// Above this share of one core during a flood at the fd limit, the accept loop is spinning.
const MAX_CPU_SHARE_AT_FD_LIMIT: f64 = 0.5;

#[test]
fn repeated_idle_connection_floods_leave_rss_bounded_and_metrics_available() {
    let connections = flood_size();
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    let mut agent = Agent::start(&pg.url("monitor", "pw", "postgres"), &test_config(""));
    agent.wait_json("/healthz", Duration::from_secs(20), "healthy", |s, _| {
        (s == 200).then_some(())
    });
    let addr: SocketAddr = agent.addr.parse().unwrap();
    let pid = agent.pid();
    eprintln!("RSS before the floods: {} kB", rss_kb(pid));

    let mut failures = Vec::new();
    for round in 1..=FLOODS {
        let flood = flood_round(addr, pid, connections);
        let settle_start = Instant::now();
        let mut settled = rss_kb(pid);
        while settled > RSS_BOUND_KB && settle_start.elapsed() < SETTLE_TIMEOUT {
            thread::sleep(Duration::from_millis(200));
            settled = rss_kb(pid);
        }
        eprintln!(
            "flood {round}: {}; settled {settled} kB after {:?}",
            flood.describe(connections),
            settle_start.elapsed()
        );
        failures.extend(flood.failures().into_iter().map(|f| format!("flood {round}: {f}")));
        if settled > RSS_BOUND_KB {
            failures.push(format!(
                "flood {round}: RSS still {settled} kB after {SETTLE_TIMEOUT:?} (bound {RSS_BOUND_KB} kB)"
            ));
            // Memory that does not come back now only piles up under the next floods.
            break;
        }
    }
    assert!(
        agent.is_running(),
        "the agent died during the floods:\n{}",
        agent.logs()
    );
    assert!(
        failures.is_empty(),
        "{}\nagent logs (tail):\n{}",
        failures.join("\n"),
        tail(&agent.logs(), 20)
    );
}

#[test]
fn idle_connection_flood_at_the_open_file_limit_neither_spins_nor_stops_the_agent() {
    let connections = flood_size().min(2_000);
    let pg = TestPostgres::start();
    pg.create_monitor_role("monitor", "pw", "postgres");
    let mut agent = Agent::start(&pg.url("monitor", "pw", "postgres"), &test_config(""));
    agent.wait_json("/healthz", Duration::from_secs(20), "healthy", |s, _| {
        (s == 200).then_some(())
    });
    let addr: SocketAddr = agent.addr.parse().unwrap();
    let pid = agent.pid();
    // Leave the running agent room for only a few dozen connections, far below its connection
    // cap, so the flood runs into the open-file limit rather than into the cap.
    let in_use = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count() as u64;
    let limit = in_use + FD_HEADROOM;
    rlimit::prlimit(pid as i32, rlimit::Resource::NOFILE, Some((limit, limit)), None).unwrap();

    let cpu_before = cpu_ticks(pid);
    let started = Instant::now();
    let flood = flood_round(addr, pid, connections);
    let busy = (cpu_ticks(pid) - cpu_before) as f64 / CLOCK_TICKS_PER_SECOND / started.elapsed().as_secs_f64();
    eprintln!(
        "open-file limit {limit} ({in_use} in use before): {}; agent CPU {:.0}% of one core",
        flood.describe(connections),
        busy * 100.0
    );

    assert!(
        agent.is_running(),
        "the agent died at the open-file limit:\n{}",
        agent.logs()
    );
    assert!(
        agent.logs().contains("Too many open files"),
        "the flood never reached the open-file limit ({limit}):\n{}",
        tail(&agent.logs(), 20)
    );
    // An accept loop that retried at once on EMFILE would keep a core busy for the whole flood.
    assert!(
        busy < MAX_CPU_SHARE_AT_FD_LIMIT,
        "the agent used {:.0}% of a core during the flood",
        busy * 100.0
    );
    let failures = flood.failures();
    assert!(
        failures.is_empty(),
        "{}\nagent logs (tail):\n{}",
        failures.join("\n"),
        tail(&agent.logs(), 20)
    );
}

/// One flood: how much of it the agent took, its RSS peak, and the two probes sent during it.
struct Flood {
    taken: usize,
    open_took: Duration,
    peak_rss_kb: u64,
    metrics: Probe,
    healthz: Probe,
}

impl Flood {
    fn describe(&self, connections: usize) -> String {
        format!(
            "{}/{connections} connections taken in {:?}; RSS peak {} kB; /metrics {}; /healthz {}",
            self.taken,
            self.open_took,
            self.peak_rss_kb,
            describe(&self.metrics),
            describe(&self.healthz)
        )
    }

    /// `/metrics` must answer 200 with the metrics, `/healthz` with its report (200 or 503).
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        match &self.metrics {
            Ok((200, body, _)) if body.contains("pgmon_database_up") => {}
            other => failures.push(format!("/metrics: {}", describe(other))),
        }
        match &self.healthz {
            Ok((200 | 503, body, _)) if body.contains("\"loops\"") => {}
            other => failures.push(format!("/healthz: {}", describe(other))),
        }
        failures
    }
}

/// Floods the agent with `connections`, probes `/metrics` then `/healthz` (each on a fresh
/// connection of its own) while the flood's connects are in flight, holds the flood for
/// [`HOLD`] and until both probes are done, then closes it. The agent's RSS is sampled throughout.
fn flood_round(addr: SocketAddr, pid: u32, connections: usize) -> Flood {
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let probes = thread::spawn(move || {
        thread::sleep(PROBE_DELAY);
        (probe(addr, "/metrics"), probe(addr, "/healthz"))
    });
    let started = Instant::now();
    let flood = open_flood(addr, connections);
    let open_took = started.elapsed();
    thread::sleep(HOLD);
    let (metrics, healthz) = probes.join().unwrap();
    let taken = flood.len();
    drop(flood);
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    Flood {
        taken,
        open_took,
        peak_rss_kb: peak.load(Ordering::Relaxed),
        metrics,
        healthz,
    }
}

/// The flood size: [`CONNECTIONS`], unless this process cannot open that many sockets even
/// after raising its soft open-file limit as far as the hard one allows (both tests may flood
/// at once from this one process).
fn flood_size() -> usize {
    let limit = rlimit::increase_nofile_limit(TEST_PROCESS_FDS).unwrap_or(1024);
    let usable = limit.saturating_sub(RESERVED_FDS) as usize;
    if usable < CONNECTIONS {
        eprintln!("open-file limit {limit}: flooding with {usable} connections instead of {CONNECTIONS}");
    }
    CONNECTIONS.min(usable)
}

/// Opens `n` connections at once (all connects in flight together, as a flood would) and
/// returns those the agent took within [`FLOOD_CONNECT_TIMEOUT`]; every other one writes
/// [`PARTIAL_REQUEST`]. A connect the agent leaves unanswered (its listen queue full) is given
/// up: the flood is what the agent let in.
fn open_flood(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let connects = (0..n).map(|i| async move {
            let connect = tokio::net::TcpStream::connect(addr);
            let mut stream = tokio::time::timeout(FLOOD_CONNECT_TIMEOUT, connect).await.ok()?.ok()?;
            if i % 2 == 0 {
                stream.write_all(PARTIAL_REQUEST).await.ok()?;
            }
            stream.into_std().ok()
        });
        futures::future::join_all(connects)
            .await
            .into_iter()
            .flatten()
            .collect()
    })
}

type Probe = Result<(u16, String, Duration), String>;

/// One `GET path` with `Connection: close` on its own connection, answered within
/// [`PROBE_TIMEOUT`] from the start of the connect.
fn probe(addr: SocketAddr, path: &str) -> Probe {
    let start = Instant::now();
    let deadline = start + PROBE_TIMEOUT;
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {PROBE_TIMEOUT:?}"))
    };
    let mut stream = TcpStream::connect_timeout(&addr, remaining()?).map_err(|e| format!("connect: {e}"))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        stream.set_read_timeout(Some(remaining()?)).map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read after {:?}: {e}", start.elapsed())),
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {:?}", tail(&text, 3)))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body, start.elapsed()))
}

fn describe(probe: &Probe) -> String {
    match probe {
        Ok((status, body, took)) => format!("{status} in {took:?} ({} bytes)", body.len()),
        Err(e) => format!("failed: {e}"),
    }
}

/// The agent's resident set size in kB (`VmRSS` in `/proc/<pid>/status`).
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU time of `pid` so far, in clock ticks (`/proc/<pid>/stat` fields 14, 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the parenthesised command name, which may itself hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

//! The `pgmon` binary: parse the CLI, load and validate config (exit 2 on bad input), set up
//! logging, then run the agent, probe a running one (`--healthcheck`), check a configuration
//! against its database (`check-config`) or print the matching Prometheus rules (`rules`).

use clap::{Parser, Subcommand};
use pgmon::config::{Config, LogFormat};
use pgmon::http::limits;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// mimalloc hands memory back to the OS after a burst (a flood of idle HTTP connections, a large
/// catalog read); glibc's malloc kept it in per-thread arenas, so RSS only ever grew. Built
/// without transparent huge pages (`no_thp`), which would otherwise inflate RSS by whole 2 MiB
/// pages on hosts with THP set to `madvise`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Read-only PostgreSQL health agent: Prometheus /metrics, a JSON API and a web UI.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// YAML config file (see config.pgmon.sample.yaml). Secrets come from PGMON_DSN.
    #[arg(long, env = "PGMON_CONFIG")]
    config: Option<PathBuf>,
    /// Probe /healthz of the agent running with this config; exit 0 when healthy, 1 when not.
    #[arg(long)]
    healthcheck: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate the config, connect once, and print what would be monitored: exit 0 when the
    /// agent would start healthy, 1 when the database is unreachable, 2 on bad input, 3 when
    /// the role could write.
    CheckConfig,
    /// Print Prometheus alerting rules for the thresholds in this config (alerts.*,
    /// limits.unused_index_min_bytes, metrics.prefix).
    Rules,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env: HashMap<String, String> = std::env::vars().collect();
    let config = match Config::load(cli.config.as_deref(), &env) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("pgmon: {e}");
            return ExitCode::from(pgmon::EXIT_BAD_INPUT as u8);
        }
    };
    if cli.healthcheck {
        return healthcheck(config.bind_addr(), config.http.tls.enabled());
    }
    if matches!(cli.command, Some(Command::Rules)) {
        print!("{}", pgmon::rules::prometheus_rules(&config));
        return ExitCode::SUCCESS;
    }
    if let Err(e) = config.require_dsn() {
        eprintln!("pgmon: {e}");
        return ExitCode::from(pgmon::EXIT_BAD_INPUT as u8);
    }
    if matches!(cli.command, Some(Command::CheckConfig)) {
        let source = cli
            .config
            .as_ref()
            .map_or("defaults and PGMON_* environment".to_string(), |p| {
                p.display().to_string()
            });
        let report = actix_rt::System::new().block_on(pgmon::check::check_config(&config, &source));
        print!("{}", report.text);
        return ExitCode::from(report.exit_code as u8);
    }
    init_tracing(config.log.format);
    log_fd_limit(limits::raise_fd_limit());
    let result = actix_rt::System::new().block_on(pgmon::app::run(config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "pgmon stopped");
            eprintln!("pgmon: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).init(),
        // Colour codes only for a terminal: redirected to a file or a pipe, plain text.
        LogFormat::Pretty => builder.with_ansi(std::io::stdout().is_terminal()).init(),
    }
}

/// Says which open-file limit the agent runs with and so how many HTTP connections it holds.
fn log_fd_limit(limit: std::io::Result<limits::FdLimit>) {
    let soft = match limit {
        Ok(limit) => {
            tracing::info!(
                soft = limit.soft,
                hard = limit.hard,
                raised_from = limit.raised_from,
                "open-file limit"
            );
            limit.soft
        }
        Err(e) => {
            let soft = limits::open_file_limit();
            tracing::warn!(soft, error = %e, "could not raise the open-file limit; keeping it");
            soft
        }
    };
    let per_worker = limits::connections_per_worker(soft, limits::WORKERS);
    tracing::info!(
        max_connections = per_worker * limits::WORKERS,
        per_worker,
        client_request_timeout = ?limits::CLIENT_REQUEST_TIMEOUT,
        keep_alive = ?limits::KEEP_ALIVE,
        "HTTP connection limits"
    );
}

/// `GET /healthz` on this machine's agent, for the container's HEALTHCHECK (the image has no
/// curl). With `http.tls` set it speaks TLS without checking the certificate: the probe talks
/// to loopback, sends no secret, and the certificate is usually issued for a public name.
fn healthcheck(bind: SocketAddr, tls: bool) -> ExitCode {
    let mut addr = bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let url = format!("{}://{addr}/healthz", if tls { "https" } else { "http" });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(3)))
        .http_status_as_error(false)
        // Loopback only: an HTTP(S)_PROXY from the container's environment must not take it.
        .proxy(None)
        .max_redirects(0)
        .tls_config(ureq::tls::TlsConfig::builder().disable_verification(true).build())
        .build()
        .into();
    match agent.get(&url).call() {
        Ok(response) if response.status() == 200 => ExitCode::SUCCESS,
        Ok(mut response) => {
            let status = response.status();
            let body = response.body_mut().read_to_string().unwrap_or_default();
            eprintln!("pgmon: unhealthy (HTTP {status}): {body}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("pgmon: healthcheck could not reach {url}: {e}");
            ExitCode::from(1)
        }
    }
}

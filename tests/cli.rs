//! Bad input exits 2 with one clear line naming the key and value; `--healthcheck` probes a
//! running agent. No database needed.

mod support;

use std::process::Command;
use std::time::Duration;
use support::agent::{run_to_exit, test_config};

fn pgmon(config_yaml: Option<&str>, env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgmon"));
    cmd.env_remove("PGMON_DSN").env_remove("PGMON_CONFIG");
    if let Some(yaml) = config_yaml {
        let path = dir.path().join("pgmon.yaml");
        std::fs::write(&path, yaml).unwrap();
        cmd.arg("--config").arg(path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DSN: (&str, &str) = ("PGMON_DSN", "postgres://monitor:s3cret-pw@127.0.0.1:1/app");

#[test]
fn unknown_key_exits_2_naming_it() {
    let (code, err) = pgmon(Some("limits:\n  top_relatons: 5\n"), &[DSN]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown field `top_relatons`") && err.contains("limits"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn bad_duration_exits_2_naming_key_and_value() {
    let (code, err) = pgmon(Some("sample_intervals:\n  workload: \"sixty\"\n"), &[DSN]);
    assert_eq!(code, 2);
    assert!(
        err.contains("sample_intervals.workload") && err.contains("sixty"),
        "{err}"
    );
}

#[test]
fn missing_dsn_exits_2() {
    let (code, err) = pgmon(Some("cluster: x\n"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("PGMON_DSN"), "{err}");
}

#[test]
fn unreadable_config_file_exits_2_naming_the_path() {
    let out = Command::new(env!("CARGO_BIN_EXE_pgmon"))
        .args(["--config", "/nonexistent/pgmon.yaml"])
        .env(DSN.0, DSN.1)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config file /nonexistent/pgmon.yaml"));
}

#[test]
fn bad_env_override_exits_2_naming_the_key() {
    let (code, err) = pgmon(None, &[DSN, ("PGMON_LIMITS__TOP_QUERIES", "lots")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("limits.top_queries") || err.contains("top_queries"),
        "{err}"
    );
}

#[test]
fn bind_address_taken_exits_2_naming_http_bind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let (code, output) = run_to_exit(
        DSN.1,
        &test_config("").replace("127.0.0.1:0", &addr.to_string()),
        Duration::from_secs(30),
    );
    assert_eq!(code, 2, "{output}");
    assert!(output.contains(&format!("`http.bind` = {addr}")), "{output}");
    assert!(!output.contains("s3cret-pw"), "{output}");
}

#[test]
fn healthcheck_exits_1_when_nothing_listens() {
    let port = support::free_port();
    let (code, err) = pgmon(Some(&format!("http:\n  bind: \"127.0.0.1:{port}\"\n")), &[]);
    assert_eq!(code, 2, "no DSN: {err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgmon.yaml");
    std::fs::write(&path, format!("http:\n  bind: \"127.0.0.1:{port}\"\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pgmon"))
        .arg("--config")
        .arg(&path)
        .arg("--healthcheck")
        .env_remove("PGMON_DSN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not reach"));
}

/// `log.format: pretty` writes colour codes only to a terminal: redirected to a file or a
/// pipe (a container's log, `demo.sh > log`), the lines are plain text.
#[test]
fn pretty_logs_written_to_a_pipe_carry_no_colour_codes() {
    use std::io::Read;
    let (mut cmd, _dir) = support::agent::command(DSN.1, &test_config("log:\n  format: pretty\n"));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    support::eventually(Duration::from_secs(30), "the listening line", || {
        text.lock().unwrap().contains("listening").then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    let text = text.lock().unwrap().clone();
    assert!(text.contains(" INFO "), "pretty lines: {text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a redirected log: {text:?}");
}

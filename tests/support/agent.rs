//! A pgmon agent process under test: the real binary, a config file in a temp dir, its JSON log
//! lines captured, and its HTTP address read from the "listening" log event (it binds port 0).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

pub struct Agent {
    child: Child,
    pub addr: String,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

/// Config for tests: fast loops, loopback port 0, extra YAML appended.
pub fn test_config(extra_yaml: &str) -> String {
    format!(
        "cluster: test-cluster\nhttp:\n  bind: \"127.0.0.1:0\"\n  static_dir: \"/nonexistent\"\nsample_intervals:\n  hot_path: \"1s\"\n  workload: \"2s\"\n  storage: \"3s\"\n  hourly: \"4s\"\nbudgets:\n  hot_path: \"900ms\"\n  workload: \"2s\"\n  storage: \"3s\"\n  hourly: \"4s\"\n{extra_yaml}"
    )
}

pub fn command(dsn: &str, yaml: &str) -> (Command, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgmon.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgmon"));
    cmd.arg("--config")
        .arg(&path)
        .env("PGMON_DSN", dsn)
        .env("RUST_LOG", "info")
        .env_remove("PGMON_CONFIG");
    (cmd, dir)
}

/// Runs the agent expecting it to exit by itself (a refusal or bad input) within `timeout`.
pub fn run_to_exit(dsn: &str, yaml: &str, timeout: Duration) -> (i32, String) {
    let (mut cmd, _dir) = command(dsn, yaml);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status.code().unwrap_or(-1), text);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "agent did not exit within {timeout:?}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Agent {
    pub fn start(dsn: &str, yaml: &str) -> Agent {
        let (mut cmd, dir) = command(dsn, yaml);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    logs.lock().unwrap().push(line);
                }
            });
        }
        let mut agent = Agent {
            child,
            addr: String::new(),
            logs,
            _dir: dir,
        };
        let addr = super::eventually(Duration::from_secs(30), "the agent's listening log line", || {
            if let Some(status) = agent.child.try_wait().unwrap() {
                panic!("agent exited early ({status}): {}", agent.logs());
            }
            agent.logs.lock().unwrap().iter().find_map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).ok()?;
                (v["message"] == "listening").then(|| v["addr"].as_str().unwrap().to_string())
            })
        });
        agent.addr = addr;
        agent
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.get_typed(path);
        (status, body)
    }

    /// GET `path`: status, `content-type` and body.
    pub fn get_typed(&self, path: &str) -> (u16, String, String) {
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let mut resp = http
            .get(format!("http://{}{}", self.addr, path))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, content_type, resp.body_mut().read_to_string().unwrap())
    }

    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path);
        (
            status,
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}")),
        )
    }

    /// Polls `path` until `check` accepts its JSON body.
    pub fn wait_json<T>(
        &self,
        path: &str,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(u16, &serde_json::Value) -> Option<T>,
    ) -> T {
        let mut last = None;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            super::eventually(timeout, what, || {
                let (status, body) = self.get_json(path);
                let out = check(status, &body);
                last = Some((status, body));
                out
            })
        }));
        match result {
            Ok(v) => v,
            Err(_) => panic!(
                "timed out waiting for {what}; last {path}: {last:?}\nagent logs:\n{}",
                self.logs()
            ),
        }
    }

    /// The value of one series in `/metrics`, matched by name and a label substring.
    pub fn metric(&self, name: &str, label_part: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics");
        metric_value(&text, name, label_part)
    }

    /// The sum of every series of a family whose labels contain `label_part` (a family
    /// split by more labels than the test names, such as `pg_stat_io_*` by object and context).
    pub fn metric_sum(&self, name: &str, label_part: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics");
        metric_values(&text, name, label_part).reduce(|a, b| a + b)
    }

    /// The agent's process id (to read its `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn metric_value(text: &str, name: &str, label_part: &str) -> Option<f64> {
    metric_values(text, name, label_part).next()
}

/// Every value of a family's series whose labels contain `label_part`, in exposition order.
pub fn metric_values<'a>(text: &'a str, name: &'a str, label_part: &'a str) -> impl Iterator<Item = f64> + 'a {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(move |l| {
            let series = l.rsplit_once(' ').map(|(s, _)| s).unwrap_or("");
            let family = series.split('{').next().unwrap_or("");
            family == name && series.contains(label_part)
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
}

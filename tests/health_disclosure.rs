//! What an open `/healthz` may say: status and loop health for anyone; the server's error text
//! (which names roles, hosts and databases), the database name, the server version and the
//! fixes only with the `api` scope's credentials, on `/healthz` or `GET /api/v1/health`.

mod support;

use base64::Engine;
use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(60);

fn config_with_api_auth(dir: &std::path::Path) -> String {
    let secret = dir.join("api-password");
    std::fs::write(&secret, "h3alth-s3cret\n").unwrap();
    test_config("").replacen(
        "http:\n",
        &format!(
            "http:\n  auth:\n    api:\n      basic_user: ops\n      basic_password_file: \"{}\"\n",
            secret.display()
        ),
        1,
    )
}

fn get(agent: &Agent, path: &str, authorized: bool) -> (u16, serde_json::Value) {
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut request = http.get(format!("http://{}{}", agent.addr, path));
    if authorized {
        let token = base64::engine::general_purpose::STANDARD.encode("ops:h3alth-s3cret");
        request = request.header("Authorization", &format!("Basic {token}"));
    }
    let mut resp = request.call().unwrap();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

#[test]
fn an_anonymous_healthz_names_no_role_database_or_server_version() {
    let pg = TestPostgres::start();
    pg.psql("postgres", "CREATE DATABASE inventory_db");
    pg.create_monitor_role("watcher_role", "right-pw", "inventory_db");
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_api_auth(dir.path());

    // A wrong password: the server's message names the role.
    let agent = Agent::start(&pg.url("watcher_role", "wrong-pw", "inventory_db"), &config);
    support::eventually(WAIT, "the authentication failure in /healthz", || {
        let (status, body) = get(&agent, "/healthz", false);
        (status == 503 && body["database"]["error"].is_string()).then_some(())
    });
    let (_, anonymous) = get(&agent, "/healthz", false);
    let text = anonymous.to_string();
    assert_eq!(anonymous["detail"], "anonymous", "{text}");
    for secret in ["watcher_role", "inventory_db", "for user", "127.0.0.1"] {
        assert!(!text.contains(secret), "an anonymous /healthz names {secret}: {text}");
    }
    let error = anonymous["database"]["error"].as_str().unwrap();
    assert!(
        error.contains("authentication failed (SQLSTATE 28P01)"),
        "the kind is kept: {error}"
    );
    assert!(
        anonymous["degraded"][0]
            .as_str()
            .unwrap()
            .starts_with("database: database unreachable"),
        "{text}"
    );

    // With the api scope's credentials, /healthz and /api/v1/health say everything.
    for (path, authorized) in [("/healthz", true), ("/api/v1/health", true)] {
        let (_, full) = get(&agent, path, authorized);
        assert_eq!(full["detail"], "full", "{path}: {full}");
        assert!(
            full["database"]["error"]
                .as_str()
                .unwrap()
                .contains("password authentication failed for user \"watcher_role\""),
            "{path}: {full}"
        );
        assert_eq!(full["db"], "inventory_db", "{path}");
    }
    let (status, _) = get(&agent, "/api/v1/health", false);
    assert_eq!(status, 401, "the full report needs the api scope's credentials");
    // Wrong credentials on /healthz: still answered, anonymously.
    let (status, _) = get(&agent, "/healthz", false);
    assert_eq!(status, 503);
    drop(agent);

    // Healthy: no server version or database name for a prober; the API has them.
    let agent = Agent::start(&pg.url("watcher_role", "right-pw", "inventory_db"), &config);
    support::eventually(WAIT, "a healthy agent", || {
        (get(&agent, "/healthz", false).0 == 200).then_some(())
    });
    let (_, anonymous) = get(&agent, "/healthz", false);
    assert!(anonymous["database"]["server_version"].is_null(), "{anonymous}");
    assert!(anonymous["db"].is_null(), "{anonymous}");
    assert_eq!(
        anonymous["loops"]["hot_path"]["status"], "ok",
        "loop health stays open: {anonymous}"
    );
    let (_, full) = get(&agent, "/api/v1/health", true);
    assert!(full["database"]["server_version"].is_string(), "{full}");
    for advisory in anonymous["advisories"].as_array().unwrap() {
        assert!(
            advisory.get("fix").is_none() && advisory["code"].is_string(),
            "{advisory}"
        );
    }
}

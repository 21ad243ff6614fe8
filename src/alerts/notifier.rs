//! Notifier: delivers alert transitions (firing, escalated, resolved) to `notifiers.webhook_url`
//! (generic JSON) and `notifiers.slack_webhook` (Slack payload). It owns a bounded queue and
//! one tokio task that POSTs with a timeout and retries with backoff, so a slow or dead
//! receiver never delays the loops or the HTTP server. A full queue or a delivery that fails
//! every attempt is counted (`pgmon_notifications_failed_total`) and logged, never retried later.

use crate::alerts::engine::Transition;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub const QUEUE_CAPACITY: usize = 256;
pub const ATTEMPTS: u32 = 3;
pub const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct NotifierStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
}

struct Delivery {
    target: &'static str,
    url: String,
    body: Value,
}

#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Delivery>,
    webhook_url: Option<String>,
    slack_webhook: Option<String>,
    cluster: String,
    pub stats: Arc<NotifierStats>,
}

/// The generic webhook body.
pub fn webhook_payload(cluster: &str, transition: &Transition) -> Value {
    match transition {
        Transition::Firing(a) | Transition::Escalated(a) => json!({
            "status": if matches!(transition, Transition::Firing(_)) { "firing" } else { "escalated" },
            "cluster": cluster,
            "kind": a.kind,
            "severity": a.severity,
            "message": a.message,
            "dedupe_key": a.dedupe_key,
            "since": humantime::format_rfc3339_seconds(a.firing_since.unwrap_or(a.since)).to_string(),
        }),
        Transition::Resolved(r) => json!({
            "status": "resolved",
            "cluster": cluster,
            "kind": r.kind,
            "severity": r.severity,
            "message": r.message,
            "dedupe_key": r.dedupe_key,
            "since": humantime::format_rfc3339_seconds(r.started).to_string(),
            "ended": humantime::format_rfc3339_seconds(r.ended).to_string(),
        }),
    }
}

/// A Slack incoming-webhook body.
pub fn slack_payload(cluster: &str, transition: &Transition) -> Value {
    let text = match transition {
        Transition::Firing(a) => format!(
            ":rotating_light: [{}] {} on {cluster}: {}",
            a.severity.as_str(),
            a.kind,
            a.message
        ),
        Transition::Escalated(a) => format!(
            ":arrow_up: [{}] {} on {cluster}: {}",
            a.severity.as_str(),
            a.kind,
            a.message
        ),
        Transition::Resolved(r) => format!(":white_check_mark: resolved {} on {cluster}: {}", r.kind, r.message),
    };
    json!({ "text": text })
}

impl Notifier {
    /// `None` when no target is configured. Must be called inside a tokio runtime.
    pub fn start(webhook_url: &str, slack_webhook: &str, cluster: &str) -> Option<Notifier> {
        let webhook_url = Some(webhook_url.trim().to_string()).filter(|u| !u.is_empty());
        let slack_webhook = Some(slack_webhook.trim().to_string()).filter(|u| !u.is_empty());
        if webhook_url.is_none() && slack_webhook.is_none() {
            return None;
        }
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(NotifierStats::default());
        tokio::spawn(deliver_all(rx, stats.clone()));
        Some(Notifier {
            tx,
            webhook_url,
            slack_webhook,
            cluster: cluster.to_string(),
            stats,
        })
    }

    /// Queues the transition for every target; never waits.
    pub fn notify(&self, transition: &Transition) {
        let deliveries = [
            self.webhook_url
                .as_ref()
                .map(|url| ("webhook", url.clone(), webhook_payload(&self.cluster, transition))),
            self.slack_webhook
                .as_ref()
                .map(|url| ("slack", url.clone(), slack_payload(&self.cluster, transition))),
        ];
        for (target, url, body) in deliveries.into_iter().flatten() {
            if self.tx.try_send(Delivery { target, url, body }).is_err() {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    target_kind = target,
                    "notification dropped: the delivery queue is full (receiver too slow or down)"
                );
            }
        }
    }
}

async fn deliver_all(mut rx: mpsc::Receiver<Delivery>, stats: Arc<NotifierStats>) {
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client for notifications; they are disabled");
            return;
        }
    };
    while let Some(d) = rx.recv().await {
        let mut last_error = String::new();
        let mut delivered = false;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
            }
            match client.post(&d.url).json(&d.body).send().await {
                Ok(resp) if resp.status().is_success() => {
                    delivered = true;
                    break;
                }
                // The URL may carry a token: errors are logged without it.
                Ok(resp) => last_error = format!("HTTP {}", resp.status()),
                Err(e) => last_error = e.without_url().to_string(),
            }
        }
        if delivered {
            stats.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target_kind = d.target, error = %last_error, attempts = ATTEMPTS, "notification not delivered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::engine::{Alert, Phase, ResolvedAlert};
    use crate::alerts::Severity;
    use std::time::SystemTime;

    fn alert() -> Alert {
        Alert {
            kind: crate::alerts::AlertKind::LongTransaction,
            dedupe_key: "long_transaction".into(),
            severity: Severity::Warn,
            message: "Txn 42 age 6m (state=idle in transaction)".into(),
            phase: Phase::Firing,
            labels: vec![],
            since: SystemTime::UNIX_EPOCH,
            firing_since: Some(SystemTime::UNIX_EPOCH),
            last_seen: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn payloads_say_what_changed() {
        let firing = webhook_payload("prod", &Transition::Firing(alert()));
        assert_eq!(
            (
                firing["status"].as_str(),
                firing["severity"].as_str(),
                firing["cluster"].as_str()
            ),
            (Some("firing"), Some("warn"), Some("prod"))
        );
        let resolved = Transition::Resolved(ResolvedAlert {
            kind: crate::alerts::AlertKind::LongTransaction,
            dedupe_key: "long_transaction".into(),
            severity: Severity::Warn,
            message: "m".into(),
            started: SystemTime::UNIX_EPOCH,
            ended: SystemTime::UNIX_EPOCH,
        });
        assert_eq!(webhook_payload("prod", &resolved)["status"], "resolved");
        assert!(slack_payload("prod", &Transition::Firing(alert()))["text"]
            .as_str()
            .unwrap()
            .contains("[warn] long_transaction on prod"));
    }
}

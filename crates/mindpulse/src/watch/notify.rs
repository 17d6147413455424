//! The webhook outbox of a scan: a notification is queued (once) for each new or escalated
//! alert and each hook that wants its level, then every pending one is delivered. A failed
//! delivery stays pending, with its error and attempt count, and is retried on the next
//! scan; it never fails the scan. Logs name the hook, never its URL or secret.

use super::scan::FoundAlert;
use mindpulse_notify::{AlertMessage, Notifier};
use mindpulse_store::{AlertChange, Store};

/// Notifications delivered and left pending by one delivery round.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub pending: usize,
}

/// Pending notifications delivered per scan at most (the rest wait for the next one).
const ROUND: i64 = 500;

/// Queues a notification for each new or escalated alert, per hook that wants its level.
pub async fn queue(store: &Store, notifier: &Notifier, found: &[FoundAlert]) -> anyhow::Result<()> {
    for a in found {
        let event = match a.change {
            AlertChange::New => "new",
            AlertChange::Escalated => "escalated",
            AlertChange::Updated | AlertChange::Unchanged => continue,
        };
        for hook in notifier.targets(&a.level) {
            store.queue_notification(a.id, hook, event).await?;
        }
    }
    Ok(())
}

/// Delivers the pending notifications of the configured hooks.
pub async fn deliver_pending(store: &Store, notifier: &Notifier) -> anyhow::Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    let hooks: Vec<&str> = notifier.hook_names().collect();
    for n in store.pending_notifications(ROUND).await? {
        if !hooks.contains(&n.hook.as_str()) {
            // A hook removed from the configuration: kept, unsent, in case it comes back.
            report.pending += 1;
            continue;
        }
        let Some(alert) = store.alert(n.alert_id).await? else {
            continue;
        };
        let group = alert
            .grp
            .as_deref()
            .map(|g| format!(" {}={g}", alert.group_by.as_deref().unwrap_or("group")))
            .unwrap_or_default();
        let shown = |v: f64| {
            if alert.metric == "volume" {
                format!("{v:.0} posts")
            } else {
                format!("{:.1}%", v * 100.0)
            }
        };
        let msg = AlertMessage {
            id: alert.id,
            metric: alert.metric.clone(),
            group: alert.grp.clone(),
            bucket: alert.peak_bucket.clone(),
            level: alert.level.clone(),
            observed: alert.observed,
            expected: alert.expected,
            score: alert.score,
            p_value: alert.p_value,
            detector: alert.detector.clone(),
            summary: format!(
                "{} {}{group} on {} ({}): {} against {} expected{}",
                alert.level,
                alert.metric,
                alert.peak_bucket,
                alert.zone,
                shown(alert.observed),
                alert.expected.map(shown).unwrap_or_else(|| "no".into()),
                if n.event == "escalated" {
                    ", escalated"
                } else {
                    ""
                }
            ),
            link: None,
        };
        match notifier.deliver(&n.hook, &msg).await {
            Ok(d) => {
                store
                    .notification_attempted(n.id, d.attempts as i32, Ok(()))
                    .await?;
                report.sent += 1;
            }
            Err(e) => {
                tracing::warn!(
                    "alert #{}: webhook {:?} not delivered ({e}); retried on the next scan",
                    alert.id,
                    n.hook
                );
                store
                    .notification_attempted(n.id, e.attempts() as i32, Err(e.to_string()))
                    .await?;
                report.pending += 1;
            }
        }
    }
    Ok(report)
}

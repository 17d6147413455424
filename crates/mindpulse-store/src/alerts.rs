//! The alerts read model: alerts (one row per episode of one series, keyed by a hash of
//! rule, metric, group and first bucket, so a rescan of the same data adds nothing), their
//! review history (append-only: an alert's status is its latest review's, `new` without
//! one) and the webhook outbox (a row per alert, hook and event, retried until delivered).

use crate::{on_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Review statuses.
pub const ALERT_STATUSES: &[&str] = &["new", "ack", "dismissed", "escalated"];

/// An alert as a scan finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub key_hash: String,
    pub rule: String,
    pub metric: String,
    pub group_by: Option<String>,
    pub grp: Option<String>,
    pub bucket_by: String,
    pub zone: String,
    pub first_bucket: String,
    pub last_bucket: String,
    pub peak_bucket: String,
    /// `warning` or `alert`.
    pub level: String,
    pub detector: String,
    /// JSON.
    pub params: String,
    pub observed: f64,
    pub expected: Option<f64>,
    pub score: Option<f64>,
    pub p_value: Option<f64>,
    /// JSON.
    pub evidence: String,
}

/// What storing an alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertChange {
    /// A new episode.
    New,
    /// A stored episode reached a higher level.
    Escalated,
    /// A stored episode grew or its figures changed.
    Updated,
    /// Already stored as it is.
    Unchanged,
}

/// A stored alert with its current status.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub rule: String,
    pub metric: String,
    pub group_by: Option<String>,
    #[serde(rename = "group")]
    pub grp: Option<String>,
    pub bucket_by: String,
    pub zone: String,
    pub first_bucket: String,
    pub last_bucket: String,
    pub peak_bucket: String,
    pub level: String,
    pub detector: String,
    #[serde(skip)]
    pub params: String,
    pub observed: f64,
    pub expected: Option<f64>,
    pub score: Option<f64>,
    pub p_value: Option<f64>,
    #[serde(skip)]
    pub evidence: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: String,
}

/// One review action.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlertReview {
    pub id: i64,
    pub alert_id: i64,
    pub status: String,
    pub note: Option<String>,
    pub reviewer: String,
    pub at: DateTime<Utc>,
}

/// A notification waiting for delivery.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingNotification {
    pub id: i64,
    pub alert_id: i64,
    pub hook: String,
    pub event: String,
    pub attempts: i32,
}

const ALERT_COLUMNS: &str = "a.id, a.rule, a.metric, a.group_by, a.grp, a.bucket_by, a.zone, \
    a.first_bucket, a.last_bucket, a.peak_bucket, a.level, a.detector, a.params, a.observed, \
    a.expected, a.score, a.p_value, a.evidence, a.created_at, a.updated_at, \
    COALESCE((SELECT r.status FROM alert_reviews r WHERE r.alert_id = a.id ORDER BY r.id DESC LIMIT 1), 'new') AS status";

fn level_rank(level: &str) -> u8 {
    match level {
        "alert" => 2,
        "warning" => 1,
        _ => 0,
    }
}

impl Store {
    /// Stores an alert, or brings the stored episode with the same key up to date.
    pub async fn upsert_alert(&self, a: &NewAlert) -> Result<(i64, AlertChange), StoreError> {
        if let Some(old) = self.alert_by_key(&a.key_hash).await? {
            return self.update_alert(old, a).await;
        }
        let now = Utc::now();
        let sql = self.dialect.sql(&format!(
            "{} alerts (key_hash, rule, metric, group_by, grp, bucket_by, zone, first_bucket, last_bucket, \
             peak_bucket, level, detector, params, observed, expected, score, p_value, evidence, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?){}",
            self.dialect.insert_ignore(),
            self.dialect.ignore_suffix("key_hash")
        ))
        .into_owned();
        let inserted = on_pool!(&self.pool, p => {
            sqlx::query(&sql)
                .bind(&a.key_hash)
                .bind(&a.rule)
                .bind(&a.metric)
                .bind(&a.group_by)
                .bind(&a.grp)
                .bind(&a.bucket_by)
                .bind(&a.zone)
                .bind(&a.first_bucket)
                .bind(&a.last_bucket)
                .bind(&a.peak_bucket)
                .bind(&a.level)
                .bind(&a.detector)
                .bind(&a.params)
                .bind(a.observed)
                .bind(a.expected)
                .bind(a.score)
                .bind(a.p_value)
                .bind(&a.evidence)
                .bind(now)
                .bind(now)
                .execute(p)
                .await?
                .rows_affected()
        });
        let Some(row) = self.alert_by_key(&a.key_hash).await? else {
            return Err(StoreError::Invalid(format!(
                "alert {} vanished after it was stored",
                a.key_hash
            )));
        };
        if inserted == 1 {
            Ok((row.id, AlertChange::New))
        } else {
            // Another scan stored it at the same moment.
            self.update_alert(row, a).await
        }
    }

    async fn update_alert(
        &self,
        old: AlertRow,
        a: &NewAlert,
    ) -> Result<(i64, AlertChange), StoreError> {
        let same = old.last_bucket == a.last_bucket
            && old.peak_bucket == a.peak_bucket
            && old.level == a.level
            && old.observed == a.observed
            && old.expected == a.expected
            && old.p_value == a.p_value;
        if same {
            return Ok((old.id, AlertChange::Unchanged));
        }
        let change = if level_rank(&a.level) > level_rank(&old.level) {
            AlertChange::Escalated
        } else {
            AlertChange::Updated
        };
        let sql = self.dialect.sql(
            "UPDATE alerts SET last_bucket = ?, peak_bucket = ?, level = ?, observed = ?, expected = ?, \
             score = ?, p_value = ?, evidence = ?, updated_at = ? WHERE id = ?",
        );
        on_pool!(&self.pool, p => {
            sqlx::query(&sql)
                .bind(&a.last_bucket)
                .bind(&a.peak_bucket)
                .bind(&a.level)
                .bind(a.observed)
                .bind(a.expected)
                .bind(a.score)
                .bind(a.p_value)
                .bind(&a.evidence)
                .bind(Utc::now())
                .bind(old.id)
                .execute(p)
                .await?;
        });
        Ok((old.id, change))
    }

    async fn alert_by_key(&self, key_hash: &str) -> Result<Option<AlertRow>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.key_hash = ?"
            ))
            .into_owned();
        let row = on_pool!(&self.pool, p => {
            sqlx::query_as(&sql).bind(key_hash).fetch_optional(p).await?
        });
        Ok(row)
    }

    /// Alerts, newest episode first, optionally of one status; at most `limit`.
    pub async fn alerts(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut sql = format!("SELECT * FROM (SELECT {ALERT_COLUMNS} FROM alerts a) x");
        if status.is_some() {
            sql.push_str(" WHERE x.status = ?");
        }
        sql.push_str(" ORDER BY x.last_bucket DESC, x.id DESC LIMIT ?");
        let sql = self.dialect.sql(&sql);
        let rows = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_as(&sql);
            if let Some(s) = status {
                q = q.bind(s);
            }
            q.bind(limit).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// One alert.
    pub async fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.id = ?"
            ))
            .into_owned();
        let row = on_pool!(&self.pool, p => {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        Ok(row)
    }

    /// An alert's review history, oldest first.
    pub async fn alert_reviews(&self, id: i64) -> Result<Vec<AlertReview>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT id, alert_id, status, note, reviewer, at FROM alert_reviews WHERE alert_id = ? ORDER BY id",
        );
        let rows = on_pool!(&self.pool, p => {
            sqlx::query_as(&sql).bind(id).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// Records a review action (the alert's status from now on).
    pub async fn review_alert(
        &self,
        id: i64,
        status: &str,
        note: Option<&str>,
        reviewer: &str,
    ) -> Result<AlertReview, StoreError> {
        if !ALERT_STATUSES.contains(&status) || status == "new" {
            return Err(StoreError::Invalid(format!(
                "status {status:?}: expected ack, dismissed or escalated"
            )));
        }
        if reviewer.trim().is_empty() {
            return Err(StoreError::Invalid("a review needs a reviewer".into()));
        }
        if self.alert(id).await?.is_none() {
            return Err(StoreError::Invalid(format!("no alert {id}")));
        }
        let at = Utc::now();
        let sql = self.dialect.sql(
            "INSERT INTO alert_reviews (alert_id, status, note, reviewer, at) VALUES (?, ?, ?, ?, ?)",
        );
        on_pool!(&self.pool, p => {
            sqlx::query(&sql)
                .bind(id)
                .bind(status)
                .bind(note)
                .bind(reviewer.trim())
                .bind(at)
                .execute(p)
                .await?;
        });
        let reviews = self.alert_reviews(id).await?;
        reviews
            .into_iter()
            .last()
            .ok_or_else(|| StoreError::Invalid(format!("the review of alert {id} was not stored")))
    }

    /// Queues a notification of `event` on `alert_id` to `hook` (once: false when queued before).
    pub async fn queue_notification(
        &self,
        alert_id: i64,
        hook: &str,
        event: &str,
    ) -> Result<bool, StoreError> {
        let sql = self.dialect.sql(&format!(
            "{} notifications (alert_id, hook, event, status, attempts, created_at) VALUES (?, ?, ?, 'pending', 0, ?){}",
            self.dialect.insert_ignore(),
            self.dialect.ignore_suffix("alert_id, hook, event")
        ))
        .into_owned();
        let n = on_pool!(&self.pool, p => {
            sqlx::query(&sql)
                .bind(alert_id)
                .bind(hook)
                .bind(event)
                .bind(Utc::now())
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Notifications not delivered yet, oldest first.
    pub async fn pending_notifications(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT id, alert_id, hook, event, attempts FROM notifications WHERE status = 'pending' ORDER BY id LIMIT ?",
        );
        let rows = on_pool!(&self.pool, p => {
            sqlx::query_as(&sql).bind(limit).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// Records a delivery attempt: delivered, or still pending with the error.
    pub async fn notification_attempted(
        &self,
        id: i64,
        attempts: i32,
        outcome: Result<(), String>,
    ) -> Result<(), StoreError> {
        let (status, error, sent) = match &outcome {
            Ok(()) => ("sent", None, Some(Utc::now())),
            Err(e) => ("pending", Some(e.as_str()), None),
        };
        let sql = self.dialect.sql(
            "UPDATE notifications SET status = ?, attempts = attempts + ?, last_error = ?, sent_at = ? WHERE id = ?",
        );
        on_pool!(&self.pool, p => {
            sqlx::query(&sql)
                .bind(status)
                .bind(attempts)
                .bind(error)
                .bind(sent)
                .bind(id)
                .execute(p)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    fn alert(key: &str, last: &str, level: &str, observed: f64) -> NewAlert {
        NewAlert {
            key_hash: key.into(),
            rule: "volume-ewma".into(),
            metric: "volume".into(),
            group_by: Some("region".into()),
            grp: Some("北京".into()),
            bucket_by: "day".into(),
            zone: "Asia/Shanghai".into(),
            first_bucket: "2025-11-20".into(),
            last_bucket: last.into(),
            peak_bucket: last.into(),
            level: level.into(),
            detector: "ewma".into(),
            params: "{}".into(),
            observed,
            expected: Some(10.0),
            score: Some(4.2),
            p_value: Some(0.001),
            evidence: "{}".into(),
        }
    }

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        let a = alert("k1", "2025-11-20", "warning", 30.0);
        let (id, change) = store.upsert_alert(&a).await.unwrap();
        assert_eq!(change, AlertChange::New, "{name}");
        assert_eq!(
            store.upsert_alert(&a).await.unwrap(),
            (id, AlertChange::Unchanged),
            "{name}: a rescan adds nothing"
        );
        let grown = alert("k1", "2025-11-21", "alert", 45.0);
        assert_eq!(
            store.upsert_alert(&grown).await.unwrap(),
            (id, AlertChange::Escalated),
            "{name}"
        );
        let (id2, _) = store
            .upsert_alert(&alert("k2", "2025-11-25", "alert", 50.0))
            .await
            .unwrap();
        let all = store.alerts(None, 10).await.unwrap();
        assert_eq!(
            all.iter().map(|a| a.id).collect::<Vec<_>>(),
            vec![id2, id],
            "{name}: newest first"
        );
        assert!(all.iter().all(|a| a.status == "new"), "{name}");
        assert_eq!(all[1].grp.as_deref(), Some("北京"), "{name}");
        assert_eq!(all[1].last_bucket, "2025-11-21", "{name}");

        store
            .review_alert(id, "ack", Some("looking into it"), "lin")
            .await
            .unwrap();
        store
            .review_alert(id, "escalated", None, "chen")
            .await
            .unwrap();
        let history = store.alert_reviews(id).await.unwrap();
        assert_eq!(history.len(), 2, "{name}: nothing overwritten");
        assert_eq!(
            history[0].note.as_deref(),
            Some("looking into it"),
            "{name}"
        );
        assert_eq!(store.alert(id).await.unwrap().unwrap().status, "escalated");
        let escalated = store.alerts(Some("escalated"), 10).await.unwrap();
        assert_eq!(escalated.len(), 1, "{name}");
        assert_eq!(store.alerts(Some("new"), 10).await.unwrap()[0].id, id2);
        assert!(store.review_alert(id, "closed", None, "lin").await.is_err());
        assert!(store.review_alert(id, "ack", None, " ").await.is_err());
        assert!(store.review_alert(9999, "ack", None, "lin").await.is_err());

        assert!(store.queue_notification(id, "team", "new").await.unwrap());
        assert!(!store.queue_notification(id, "team", "new").await.unwrap());
        assert!(store.queue_notification(id2, "team", "new").await.unwrap());
        let pending = store.pending_notifications(10).await.unwrap();
        assert_eq!(pending.len(), 2, "{name}");
        store
            .notification_attempted(pending[0].id, 3, Err("HTTP 500".into()))
            .await
            .unwrap();
        store
            .notification_attempted(pending[1].id, 1, Ok(()))
            .await
            .unwrap();
        let left = store.pending_notifications(10).await.unwrap();
        assert_eq!(
            left.len(),
            1,
            "{name}: the failed one waits for the next scan"
        );
        assert_eq!(left[0].attempts, 3, "{name}");
        store.close().await;
    }

    #[tokio::test]
    async fn alerts_reviews_and_outbox_on_every_backend() {
        crate::on_every_backend!(suite);
    }
}

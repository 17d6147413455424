//! A short-lived cache of trend answers and overview charts in front of any [`Source`]. The corrected
//! prevalence of a dimension costs tens of milliseconds per query even from the rollups (a
//! seeded parametric bootstrap per cell), and a dashboard asks the same few queries over and
//! over; so each distinct query's rows are kept for a few seconds (`serve --cache-secs`,
//! default 30; 0 turns the cache off). A page may then lag new data by at most that long.
//! Concurrent misses of the same query wait for one computation instead of each running it.
//! The overview's daily charts (with their forecasts) are kept the same way, and [`Source::keep_warm`]
//! recomputes the overview's charts every half `ttl`, so that a visitor never waits for a
//! cold one (at most a few hundred milliseconds of work per refresh on a million posts);
//! everything else passes through.

use crate::source::{
    Account, PostsQuery, SearchQuery, Source, SourceError, TrendQuery, OVERVIEW_HORIZON,
    OVERVIEW_METRICS,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Most distinct queries kept.
const MAX_ENTRIES: usize = 512;

/// A computed answer: the rows, or the error (kept apart so that waiters get it too).
#[derive(Clone)]
enum Answer {
    Rows(Value),
    Bad(String),
    Internal(String),
}

type Slot = Arc<OnceCell<Answer>>;

/// `inner` with its trend answers cached for `ttl`.
pub struct CachedSource<S> {
    inner: S,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Slot)>>,
}

impl<S: Source> CachedSource<S> {
    pub fn new(inner: S, ttl: Duration) -> CachedSource<S> {
        CachedSource {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(q: &TrendQuery) -> String {
        let part = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
        [
            part(&q.metric),
            part(&q.by),
            part(&q.group),
            part(&q.since),
            part(&q.until),
        ]
        .join("\u{1f}")
    }

    /// The answer of `key`: a fresh cached one, or `compute`'s (kept when it is not an error;
    /// concurrent callers of one key share one computation).
    async fn cached<F, Fut>(&self, key: String, compute: F) -> Result<Value, SourceError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Value, SourceError>>,
    {
        if self.ttl.is_zero() {
            return compute().await;
        }
        let slot = self.slot(key.clone());
        let answer = slot
            .get_or_init(|| async {
                match compute().await {
                    Ok(v) => Answer::Rows(v),
                    Err(SourceError::BadRequest(m)) => Answer::Bad(m),
                    Err(SourceError::Internal(m)) => Answer::Internal(m),
                }
            })
            .await
            .clone();
        if !matches!(answer, Answer::Rows(_)) {
            // Errors are not kept: the next request tries again.
            let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            map.remove(&key);
        }
        match answer {
            Answer::Rows(v) => Ok(v),
            Answer::Bad(m) => Err(SourceError::BadRequest(m)),
            Answer::Internal(m) => Err(SourceError::Internal(m)),
        }
    }

    /// Keeps `value` as the fresh answer of `key`.
    fn put(&self, key: String, value: Value) {
        let slot: Slot = Arc::new(OnceCell::new_with(Some(Answer::Rows(value))));
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(key, (Instant::now(), slot));
    }

    fn daily_key(metric: &str, horizon: u32) -> String {
        format!("daily\u{1f}{metric}\u{1f}{horizon}")
    }

    /// Recomputes the overview's charts and keeps them (a metric the source cannot chart,
    /// such as a dimension without scores, is left to fail at request time).
    pub async fn refresh_overview(&self) {
        for metric in OVERVIEW_METRICS {
            match self.inner.daily(metric, OVERVIEW_HORIZON).await {
                Ok(v) => self.put(Self::daily_key(metric, OVERVIEW_HORIZON), v),
                Err(e) => {
                    tracing::debug!(metric, error = %e, "serve: overview chart not kept warm")
                }
            }
        }
    }

    /// The slot of `key`: the live one, or a fresh one (dropping expired entries, and the
    /// oldest when full).
    fn slot(&self, key: String) -> Slot {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some((at, slot)) = map.get(&key) {
            if now.duration_since(*at) < self.ttl {
                return slot.clone();
            }
        }
        map.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
        if map.len() >= MAX_ENTRIES {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let slot: Slot = Arc::new(OnceCell::new());
        map.insert(key, (now, slot.clone()));
        slot
    }
}

impl<S: Source> Source for CachedSource<S> {
    async fn account(&self, name: &str) -> Result<Option<Account>, SourceError> {
        self.inner.account(name).await
    }

    async fn trends(&self, q: &TrendQuery) -> Result<Value, SourceError> {
        self.cached(format!("trends\u{1f}{}", Self::key(q)), || {
            self.inner.trends(q)
        })
        .await
    }

    async fn daily(&self, metric: &str, horizon: u32) -> Result<Value, SourceError> {
        self.cached(Self::daily_key(metric, horizon), || {
            self.inner.daily(metric, horizon)
        })
        .await
    }

    async fn keep_warm(&self) {
        if self.ttl.is_zero() {
            return;
        }
        loop {
            self.refresh_overview().await;
            tokio::time::sleep(self.ttl / 2).await;
        }
    }

    async fn alerts(&self, status: Option<&str>, limit: u32) -> Result<Value, SourceError> {
        self.inner.alerts(status, limit).await
    }

    async fn alert(&self, id: i64) -> Result<Option<Value>, SourceError> {
        self.inner.alert(id).await
    }

    async fn review(
        &self,
        id: i64,
        status: &str,
        note: &str,
        reviewer: &str,
    ) -> Result<bool, SourceError> {
        self.inner.review(id, status, note, reviewer).await
    }

    async fn posts(&self, q: &PostsQuery) -> Result<Value, SourceError> {
        self.inner.posts(q).await
    }

    async fn topics(&self) -> Result<Option<Value>, SourceError> {
        self.inner.topics().await
    }

    async fn topic(&self, number: i64) -> Result<Option<Value>, SourceError> {
        self.inner.topic(number).await
    }

    async fn network_graph(&self, limit: u32) -> Result<Option<Value>, SourceError> {
        self.inner.network_graph(limit).await
    }

    async fn network(&self, limit: u32) -> Result<Option<Value>, SourceError> {
        self.inner.network(limit).await
    }

    async fn search(&self, q: &SearchQuery) -> Result<Value, SourceError> {
        self.inner.search(q).await
    }

    async fn ask(&self, question: &str) -> Result<Value, SourceError> {
        self.inner.ask(question).await
    }

    async fn provenance(&self) -> Result<Value, SourceError> {
        self.inner.provenance().await
    }

    fn zone(&self) -> String {
        self.inner.zone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source that counts its trend computations.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Source for Counting {
        async fn account(&self, _: &str) -> Result<Option<Account>, SourceError> {
            Ok(None)
        }
        async fn trends(&self, q: &TrendQuery) -> Result<Value, SourceError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            match q.metric.as_deref() {
                Some("bad") => Err(SourceError::BadRequest("no such metric".into())),
                _ => Ok(json!([{"computed": n}])),
            }
        }
        async fn daily(&self, metric: &str, _: u32) -> Result<Value, SourceError> {
            let rows = self.trends(&q(metric)).await?;
            Ok(json!({"rows": rows, "forecast": null}))
        }
        async fn alerts(&self, _: Option<&str>, _: u32) -> Result<Value, SourceError> {
            Ok(json!([]))
        }
        async fn alert(&self, _: i64) -> Result<Option<Value>, SourceError> {
            Ok(None)
        }
        async fn review(&self, _: i64, _: &str, _: &str, _: &str) -> Result<bool, SourceError> {
            Ok(false)
        }
        async fn posts(&self, _: &PostsQuery) -> Result<Value, SourceError> {
            Ok(json!([]))
        }
        async fn topics(&self) -> Result<Option<Value>, SourceError> {
            Ok(None)
        }
        async fn network(&self, _: u32) -> Result<Option<Value>, SourceError> {
            Ok(None)
        }
        async fn topic(&self, _: i64) -> Result<Option<Value>, SourceError> {
            Ok(None)
        }
        async fn network_graph(&self, _: u32) -> Result<Option<Value>, SourceError> {
            Ok(None)
        }
        async fn search(&self, _: &SearchQuery) -> Result<Value, SourceError> {
            Ok(json!([]))
        }
        async fn ask(&self, _: &str) -> Result<Value, SourceError> {
            Ok(json!({}))
        }
        async fn provenance(&self) -> Result<Value, SourceError> {
            Ok(json!({}))
        }
        fn zone(&self) -> String {
            "UTC".into()
        }
    }

    fn q(metric: &str) -> TrendQuery {
        TrendQuery {
            metric: Some(metric.into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn one_computation_per_query_while_fresh() {
        let c = Arc::new(CachedSource::new(
            Counting::default(),
            Duration::from_millis(300),
        ));
        let volume = q("volume");
        let (a, b) = tokio::join!(c.trends(&volume), c.trends(&volume));
        assert_eq!(
            a.unwrap(),
            b.unwrap(),
            "concurrent misses share one computation"
        );
        assert_eq!(c.inner.0.load(Ordering::SeqCst), 1);
        c.trends(&q("depression")).await.unwrap();
        assert_eq!(
            c.inner.0.load(Ordering::SeqCst),
            2,
            "another query computes"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(
            c.trends(&q("volume")).await.unwrap(),
            json!([{"computed": 3}])
        );
    }

    #[tokio::test]
    async fn errors_are_not_kept_and_zero_turns_it_off() {
        let c = CachedSource::new(Counting::default(), Duration::from_secs(30));
        for _ in 0..2 {
            assert!(
                matches!(c.trends(&q("bad")).await, Err(SourceError::BadRequest(m)) if m == "no such metric")
            );
        }
        assert_eq!(c.inner.0.load(Ordering::SeqCst), 2);
        let off = CachedSource::new(Counting::default(), Duration::ZERO);
        off.trends(&q("volume")).await.unwrap();
        off.trends(&q("volume")).await.unwrap();
        assert_eq!(off.inner.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_overview_is_kept_warm_so_a_visit_computes_nothing() {
        let c = CachedSource::new(Counting::default(), Duration::from_secs(30));
        c.refresh_overview().await;
        let computed = c.inner.0.load(Ordering::SeqCst);
        assert_eq!(computed, OVERVIEW_METRICS.len(), "one series per metric");
        let chart = c.daily("stress", OVERVIEW_HORIZON).await.unwrap();
        assert_eq!(chart["rows"].as_array().map(Vec::len), Some(1));
        assert!(chart["forecast"].is_null());
        assert_eq!(c.inner.0.load(Ordering::SeqCst), computed, "served warm");
        // A refresh replaces the kept answers with new ones.
        c.refresh_overview().await;
        let again = c.daily("stress", OVERVIEW_HORIZON).await.unwrap();
        assert_ne!(again, chart);
        // Without a cache there is nothing to keep warm: it returns at once.
        let off = CachedSource::new(Counting::default(), Duration::ZERO);
        tokio::time::timeout(Duration::from_secs(1), off.keep_warm())
            .await
            .unwrap();
        assert_eq!(off.inner.0.load(Ordering::SeqCst), 0);
    }
}

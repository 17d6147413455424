//! The read model of `mindpulse trends`: stored posts in a time window, each with its
//! language, platform, region and — for a dimension — the score one scorer gave it,
//! keyset-paged by post id; and the scorer (with its latest run's parameters, which carry
//! the screens' validation rates) that a dimension's scores come from.

use crate::filter::bind_post_filter;
use crate::{on_pool, PostFilter, Store, StoreError};
use chrono::{DateTime, Utc};

/// One post as a series reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SeriesRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub lang: Option<String>,
    pub platform: String,
    pub region: Option<String>,
    /// The dimension's label and value from the scorer (None for a volume series).
    pub label: Option<String>,
    pub value: Option<f64>,
}

/// The scorer a dimension's scores come from, with its latest run's parameters.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScorerOfDimension {
    pub scorer_id: i64,
    pub model_id: String,
    pub version: String,
    /// JSON text.
    pub params: Option<String>,
}

impl Store {
    /// Up to `limit` posts after `after_id` (id order) with a time in the window; with a
    /// `(scorer, dimension)`, only posts that scorer scored on that dimension, with the score.
    pub async fn series_page(
        &self,
        score: Option<(i64, &str)>,
        filter: &PostFilter,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<SeriesRow>, StoreError> {
        let (cols, join) = match score {
            Some(_) => (
                "s.label, s.value",
                " JOIN scores s ON s.post_id = p.id AND s.scorer_id = ? AND s.dimension = ?",
            ),
            None => ("NULL AS label, NULL AS value", ""),
        };
        let mut sql = format!(
            "SELECT p.id, p.created_at, p.lang, p.platform, p.region, {cols} FROM posts p{join} \
             WHERE p.id > ? AND p.created_at IS NOT NULL{}",
            filter.conditions("p", self.dialect)
        );
        sql.push_str(" ORDER BY p.id LIMIT ?");
        let sql = self.dialect.sql(&sql);
        let rows: Vec<SeriesRow> = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_as(&sql);
            if let Some((scorer_id, dimension)) = score {
                q = q.bind(scorer_id).bind(dimension);
            }
            q = bind_post_filter!(q.bind(after_id), filter, self.dialect);
            q.bind(limit).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// The topics of posts (byte order), for grouping a series by topic.
    pub async fn topics_of_posts(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<String>>, StoreError> {
        self.topics_of(ids).await
    }

    /// The scorer whose run is the latest to have stored scores on `dimension` (from
    /// `model_id` when given), with that run's parameters.
    pub async fn scorer_of_dimension(
        &self,
        dimension: &str,
        model_id: Option<&str>,
    ) -> Result<Option<ScorerOfDimension>, StoreError> {
        let model = if model_id.is_some() {
            " AND sc.model_id = ?"
        } else {
            ""
        };
        let sql = format!(
            "SELECT sc.id AS scorer_id, sc.model_id, sc.version, r.params FROM runs r \
             JOIN scorers sc ON sc.id = r.scorer_id WHERE r.kind = 'score'{model} \
             AND EXISTS (SELECT 1 FROM scores s WHERE s.scorer_id = sc.id AND s.dimension = ?) \
             ORDER BY r.id DESC LIMIT 1"
        );
        let sql = self.dialect.sql(&sql);
        let row: Option<ScorerOfDimension> = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_as(&sql);
            if let Some(m) = model_id {
                q = q.bind(m);
            }
            q.bind(dimension).fetch_optional(p).await?
        });
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{sample_posts, TestDb};
    use crate::{NewRun, OnConflict, PostFilter, RunKind, Store, TopicCache};
    use mindpulse_core::{Score, ScorerInfo};

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        let mut posts = sample_posts(6);
        posts[4].dup_kind = Some("exact");
        posts[5].post.created_at = None;
        store
            .insert_posts(
                &posts,
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap();
        let no_dups = PostFilter {
            no_duplicates: true,
            ..PostFilter::default()
        };
        let all = store.series_page(None, &no_dups, 0, 100).await.unwrap();
        assert_eq!(all.len(), 4, "{name}: no duplicate, no post without a time");
        let with_dups = PostFilter::default();
        assert_eq!(
            store
                .series_page(None, &with_dups, 0, 100)
                .await
                .unwrap()
                .len(),
            5,
            "{name}"
        );
        let info = ScorerInfo {
            model_id: "heads".into(),
            model_sha256: None,
            version: "v1".into(),
            params: serde_json::json!({"screens": {"depression": {}}}),
        };
        let scorer = store.ensure_scorer(&info).await.unwrap();
        let run = store
            .start_run(&NewRun {
                kind: Some(RunKind::Score),
                model_id: Some("heads".into()),
                version: Some("v1".into()),
                params: info.params.clone(),
                scorer_id: Some(scorer),
                ..NewRun::default()
            })
            .await
            .unwrap();
        let score = |i: usize, label: &str, value: f64| Score {
            post_id: all[i].id,
            dimension: "depression".into(),
            value,
            scale: "prob:yes".into(),
            label: Some(label.into()),
            rationale: None,
            meta: None,
        };
        store
            .insert_scores(scorer, run, &[score(0, "yes", 0.9), score(1, "no", 0.2)])
            .await
            .unwrap();
        let scored = store
            .series_page(Some((scorer, "depression")), &no_dups, 0, 100)
            .await
            .unwrap();
        assert_eq!(scored.len(), 2, "{name}");
        assert_eq!(scored[0].label.as_deref(), Some("yes"), "{name}");
        assert_eq!(scored[1].value, Some(0.2), "{name}");
        let page = store
            .series_page(None, &no_dups, all[1].id, 100)
            .await
            .unwrap();
        assert_eq!(page.len(), 2, "{name}: keyset paging");
        let found = store
            .scorer_of_dimension("depression", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.scorer_id, scorer, "{name}");
        assert!(found.params.unwrap().contains("screens"), "{name}");
        assert!(
            store
                .scorer_of_dimension("stress", None)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        let topics = store.topics_of_posts(&[all[2].id]).await.unwrap();
        assert_eq!(topics[&all[2].id].len(), 2, "{name}");
        store.close().await;
    }

    #[tokio::test]
    async fn series_reads_on_every_backend() {
        crate::on_every_backend!(suite);
    }
}

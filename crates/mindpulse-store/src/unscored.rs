//! Reads for the scorers (heads and LLM): the posts that still lack a score from a given
//! model and version, keyset-paged by post id so a scoring run resumes where it stopped.
//!
//! A post counts as scored when any score row of a `score` run with the same `model_id`
//! and `version` exists for it (recorded parse failures included: decoding is greedy, so
//! asking again would give the same answer).

use crate::{on_pool, Store, StoreError};
use sqlx::Row;

/// A post to score, with its topics as context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnscoredPost {
    pub id: i64,
    pub text: String,
    pub lang: Option<String>,
    pub topics: Vec<String>,
}

impl Store {
    /// Up to `limit` posts with id greater than `after_id`, in id order, that have no score
    /// from a `score` run with this `model_id` and `version`.
    pub async fn unscored_page(
        &self,
        model_id: &str,
        version: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<UnscoredPost>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT p.id, p.text, p.lang FROM posts p WHERE p.id > ? AND NOT EXISTS (\
             SELECT 1 FROM scores s JOIN runs r ON r.id = s.run_id \
             WHERE s.post_id = p.id AND r.kind = 'score' AND r.model_id = ? AND r.version = ?) \
             ORDER BY p.id LIMIT ?",
        );
        let mut posts: Vec<UnscoredPost> = on_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql)
                .bind(after_id)
                .bind(model_id)
                .bind(version)
                .bind(limit)
                .fetch_all(p)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(UnscoredPost {
                    id: row.try_get("id")?,
                    text: row.try_get("text")?,
                    lang: row.try_get("lang")?,
                    topics: Vec::new(),
                });
            }
            out
        });
        if posts.is_empty() {
            return Ok(posts);
        }
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let mut topics = self.topics_of(&ids).await?;
        for post in &mut posts {
            if let Some(t) = topics.remove(&post.id) {
                post.topics = t;
            }
        }
        Ok(posts)
    }

    /// How many posts lack a score from this `model_id` and `version`.
    pub async fn unscored_count(&self, model_id: &str, version: &str) -> Result<i64, StoreError> {
        let sql = self.dialect.sql(
            "SELECT COUNT(*) FROM posts p WHERE NOT EXISTS (\
             SELECT 1 FROM scores s JOIN runs r ON r.id = s.run_id \
             WHERE s.post_id = p.id AND r.kind = 'score' AND r.model_id = ? AND r.version = ?)",
        );
        let n: i64 = on_pool!(&self.pool, p => sqlx::query_scalar(&sql)
            .bind(model_id)
            .bind(version)
            .fetch_one(p)
            .await?);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;
    use crate::{NewPost, NewRun, NewScore, OnConflict, RunKind, Store, TopicCache};
    use chrono::{TimeZone, Utc};
    use mindpulse_core::{CleanPost, PostKind};

    fn post(i: usize, topics: &[&str]) -> NewPost {
        let text = format!("第{i}条：最近总是睡不着 / post {i}");
        NewPost {
            post: CleanPost {
                platform: "weibo".into(),
                platform_id: format!("m{i}"),
                kind: PostKind::Post,
                parent_id: None,
                root_id: None,
                author: Some("u_0123456789abcdef0123".into()),
                lang: Some(if i.is_multiple_of(2) { "zh" } else { "en" }.into()),
                created_at: Some(Utc.with_ymd_and_hms(2025, 11, 22, 2, 12, 33).unwrap()),
                collected_at: Utc.with_ymd_and_hms(2025, 11, 22, 3, 0, 0).unwrap(),
                topics: topics.iter().map(|s| s.to_string()).collect(),
                repost_count: 0,
                comment_count: 0,
                like_count: 0,
                region: None,
                content_hash: format!("{i:032x}"),
                simhash: None,
                raw: None,
                author_info: None,
                text,
            },
            dup_group: None,
            dup_kind: None,
        }
    }

    async fn score_run(store: &Store, model: &str, version: &str) -> i64 {
        store
            .start_run(&NewRun {
                kind: Some(RunKind::Score),
                model_id: Some(model.into()),
                version: Some(version.into()),
                params: serde_json::json!({}),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    fn score(post_id: i64, dimension: &str, run_id: i64) -> NewScore {
        NewScore {
            post_id,
            dimension: dimension.into(),
            value: 1.0,
            scale: "0-5".into(),
            label: None,
            rationale: Some("“睡不着”".into()),
            run_id,
            meta: None,
        }
    }

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        let batch: Vec<NewPost> = (0..7)
            .map(|i| {
                if i == 2 {
                    post(i, &["失眠", "打工人"])
                } else {
                    post(i, &[])
                }
            })
            .collect();
        store
            .insert_posts(
                &batch,
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap();
        let all = store.unscored_page("qwen", "v1", 0, 100).await.unwrap();
        assert_eq!(all.len(), 7, "{name}");
        let ids: Vec<i64> = all.iter().map(|p| p.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{name}: id order");
        assert_eq!(
            all[2].topics,
            vec!["失眠".to_string(), "打工人".to_string()],
            "{name}"
        );
        assert!(all[2].text.contains("睡不着"), "{name}");
        assert_eq!(all[1].lang.as_deref(), Some("en"), "{name}");

        // Keyset paging.
        let first = store.unscored_page("qwen", "v1", 0, 3).await.unwrap();
        let rest = store
            .unscored_page("qwen", "v1", first[2].id, 100)
            .await
            .unwrap();
        assert_eq!(first.len() + rest.len(), 7, "{name}");
        assert_eq!(rest[0].id, ids[3], "{name}");

        // Scores of this model and version hide posts; other versions, models and run kinds don't.
        let run = score_run(&store, "qwen", "v1").await;
        let other_version = score_run(&store, "qwen", "v2").await;
        let other_model = score_run(&store, "glm", "v1").await;
        store
            .insert_scores(&[
                score(ids[0], "F30_F39", run),
                score(ids[0], "negativity", run),
                score(ids[3], "llm_failure", run),
                score(ids[1], "F30_F39", other_version),
                score(ids[4], "F30_F39", other_model),
            ])
            .await
            .unwrap();
        let left: Vec<i64> = store
            .unscored_page("qwen", "v1", 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(left, vec![ids[1], ids[2], ids[4], ids[5], ids[6]], "{name}");
        assert_eq!(
            store.unscored_count("qwen", "v1").await.unwrap(),
            5,
            "{name}"
        );
        assert_eq!(
            store.unscored_count("qwen", "v2").await.unwrap(),
            6,
            "{name}"
        );
        assert_eq!(
            store.unscored_count("none", "v1").await.unwrap(),
            7,
            "{name}"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn unscored_posts_on_every_backend() {
        for db in TestDb::all().await {
            suite(&db).await;
            db.drop_db().await;
        }
    }
}

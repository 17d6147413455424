//! The discovered-topics read model: each `mindpulse topics build` is stored with its
//! parameters, its topics (number 0 = the largest; encoder space, size, keywords, example
//! post ids, optional label) and every post's assignment (-1 = left unassigned), so
//! `topics list|show`, `export` and the `--discovered` filters read it back. The newest
//! build is the current one. Not to be confused with the `topics` table: the hashtag topics
//! posts carry themselves (`#…#`).

use crate::{on_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Rows per assignment insert.
const CHUNK: usize = 2_000;
/// The number stored for a post that no topic took.
pub const UNASSIGNED: i64 = -1;

/// A stored build.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TopicBuild {
    pub id: i64,
    pub built_at: DateTime<Utc>,
    /// JSON.
    pub params: String,
    pub posts: i64,
    pub topics: i64,
    pub unassigned: i64,
}

/// One topic of a build.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct BuiltTopic {
    pub number: i64,
    pub encoder_id: i64,
    pub size: i64,
    /// JSON: `[[word, weight], …]`.
    pub keywords: String,
    /// JSON: post ids.
    pub examples: String,
    pub label: Option<String>,
}

/// What one build stores.
#[derive(Debug, Clone, Copy)]
pub struct NewTopicBuild<'a> {
    pub params: &'a serde_json::Value,
    pub topics: &'a [BuiltTopic],
    /// (post id, topic number or [`UNASSIGNED`]), one per post of the build.
    pub assignments: &'a [(i64, i64)],
}

impl Store {
    /// Stores a build in one transaction; returns its id.
    pub async fn save_topic_build(&self, build: NewTopicBuild<'_>) -> Result<i64, StoreError> {
        let d = self.dialect;
        let unassigned = build
            .assignments
            .iter()
            .filter(|(_, n)| *n == UNASSIGNED)
            .count() as i64;
        let run_sql = d
            .sql("INSERT INTO topic_builds (built_at, params, posts, topics, unassigned) VALUES (?, ?, ?, ?, ?)")
            .into_owned();
        let (insert, last_id) = d.insert_returning_id(&run_sql);
        let id: i64 = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let q = sqlx::query(&insert)
                .bind(Utc::now())
                .bind(build.params.to_string())
                .bind(build.assignments.len() as i64)
                .bind(build.topics.len() as i64)
                .bind(unassigned);
            let id: i64 = match last_id {
                Some(sql) => {
                    q.execute(&mut *tx).await?;
                    sqlx::query_scalar(sql).fetch_one(&mut *tx).await?
                }
                None => {
                    use sqlx::Row as _;
                    q.fetch_one(&mut *tx).await?.try_get(0)?
                }
            };
            for chunk in build.topics.chunks(CHUNK / 4) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO built_topics (build_id, number, encoder_id, size, keywords, examples, label) ",
                );
                qb.push_values(chunk, |mut b, t| {
                    b.push_bind(id)
                        .push_bind(t.number)
                        .push_bind(t.encoder_id)
                        .push_bind(t.size)
                        .push_bind(t.keywords.clone())
                        .push_bind(t.examples.clone())
                        .push_bind(t.label.clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in build.assignments.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO topic_assignments (build_id, post_id, number) ",
                );
                qb.push_values(chunk, |mut b, (post, number)| {
                    b.push_bind(id).push_bind(*post).push_bind(*number);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// The newest build, if any.
    pub async fn latest_topic_build(&self) -> Result<Option<TopicBuild>, StoreError> {
        let sql = "SELECT id, built_at, params, posts, topics, unassigned FROM topic_builds \
                   ORDER BY id DESC LIMIT 1";
        Ok(on_pool!(&self.pool, p => sqlx::query_as(sql).fetch_optional(p).await?))
    }

    /// The topics of a build, by number.
    pub async fn built_topics(&self, build: i64) -> Result<Vec<BuiltTopic>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT number, encoder_id, size, keywords, examples, label FROM built_topics \
             WHERE build_id = ? ORDER BY number",
        );
        Ok(on_pool!(&self.pool, p => sqlx::query_as(&sql).bind(build).fetch_all(p).await?))
    }

    /// Every assignment of a build, by post id: (post id, number).
    pub async fn topic_assignments(&self, build: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT post_id, number FROM topic_assignments WHERE build_id = ? ORDER BY post_id",
        );
        Ok(on_pool!(&self.pool, p => sqlx::query_as(&sql).bind(build).fetch_all(p).await?))
    }

    /// The topic numbers of some posts in a build (posts not in it are absent).
    pub async fn discovered_topics_of(
        &self,
        build: i64,
        posts: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut out = Vec::with_capacity(posts.len());
        for chunk in posts.chunks(self.dialect.max_params().min(1000) - 1) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = self
                .dialect
                .sql(&format!(
                    "SELECT post_id, number FROM topic_assignments WHERE build_id = ? AND post_id IN ({marks})"
                ))
                .into_owned();
            let rows: Vec<(i64, i64)> = on_pool!(&self.pool, p => {
                let mut q = sqlx::query_as(&sql).bind(build);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await?
            });
            out.extend(rows);
        }
        out.sort_unstable();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sample_posts, TestDb};
    use crate::{DiscoveredTopic, OnConflict, PostFilter, PurgeFilter, TopicCache};
    use mindpulse_core::{EncoderRef, PostEmbedding};

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        store
            .insert_posts(
                &sample_posts(6),
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap();
        let all = store.post_texts(&[1, 2, 3, 4, 5, 6, 99]).await.unwrap();
        assert_eq!(all.len(), 6, "{name}");
        let ids: Vec<i64> = all.iter().map(|p| p.id).collect();
        // Embeddings: two encoders, stored once, read back quantized.
        let mini = EncoderRef {
            name: "minilm".into(),
            sha256: "a".repeat(64),
        };
        let e5 = EncoderRef {
            name: "e5".into(),
            sha256: "b".repeat(64),
        };
        let emb = |post: i64, enc: &EncoderRef| PostEmbedding {
            post_id: post,
            encoder: enc.clone(),
            vector: vec![0.6, -0.8, 0.0],
        };
        let first = [emb(ids[0], &mini), emb(ids[1], &e5), emb(ids[2], &mini)];
        assert_eq!(store.insert_embeddings(&first).await.unwrap(), 3, "{name}");
        assert_eq!(store.insert_embeddings(&first).await.unwrap(), 0, "{name}");
        let encoders = store.encoders().await.unwrap();
        assert_eq!(encoders.len(), 2, "{name}");
        assert_eq!((encoders[0].name.as_str(), encoders[0].dim), ("minilm", 3));
        let page = store
            .embeddings_page(&PostFilter::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(page.len(), 3, "{name}");
        assert_eq!(page[0].values(), vec![95, -127, 0], "{name}");
        assert_eq!(page[1].encoder_id, encoders[1].id, "{name}");
        let paged = store
            .embeddings_page(&PostFilter::default(), ids[0], 1)
            .await
            .unwrap();
        assert_eq!(paged[0].post_id, ids[1], "{name}");
        let missing = store
            .posts_without_embedding(&PostFilter::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(
            missing.iter().map(|p| p.id).collect::<Vec<_>>(),
            ids[3..].to_vec(),
            "{name}"
        );
        // A build: two topics, one post left unassigned.
        let topics = vec![
            BuiltTopic {
                number: 0,
                encoder_id: encoders[0].id,
                size: 3,
                keywords: r#"[["失眠",0.5]]"#.into(),
                examples: format!("[{}]", ids[0]),
                label: None,
            },
            BuiltTopic {
                number: 1,
                encoder_id: encoders[1].id,
                size: 2,
                keywords: "[]".into(),
                examples: "[]".into(),
                label: Some("work".into()),
            },
        ];
        let assignments: Vec<(i64, i64)> = ids
            .iter()
            .zip([0, 0, 1, 0, 1, UNASSIGNED])
            .map(|(&id, n)| (id, n))
            .collect();
        let params = serde_json::json!({"min_size": 2});
        let build = store
            .save_topic_build(NewTopicBuild {
                params: &params,
                topics: &topics,
                assignments: &assignments,
            })
            .await
            .unwrap();
        let latest = store.latest_topic_build().await.unwrap().unwrap();
        assert_eq!(
            (latest.id, latest.posts, latest.topics, latest.unassigned),
            (build, 6, 2, 1),
            "{name}"
        );
        assert_eq!(store.built_topics(build).await.unwrap(), topics, "{name}");
        assert_eq!(
            store.topic_assignments(build).await.unwrap(),
            assignments,
            "{name}"
        );
        assert_eq!(
            store
                .discovered_topics_of(build, &[ids[5], ids[2], 99])
                .await
                .unwrap(),
            vec![(ids[2], 1), (ids[5], UNASSIGNED)],
            "{name}"
        );
        // The filter selects a topic's posts.
        let of_topic_1 = PostFilter {
            discovered: Some(DiscoveredTopic { build, number: 1 }),
            ..PostFilter::default()
        };
        let in_1 = store
            .posts_without_embedding(&of_topic_1, 0, 10)
            .await
            .unwrap();
        assert_eq!(
            in_1.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![ids[4]],
            "{name}"
        );
        // Purging every post takes their embeddings and assignments along.
        let report = store
            .purge(
                &PurgeFilter {
                    before: chrono::Utc::now() + chrono::Duration::days(3650),
                    platform: None,
                },
                false,
                false,
            )
            .await
            .unwrap();
        assert_eq!((report.posts, report.embeddings), (6, 3), "{name}");
        assert!(store.topic_assignments(build).await.unwrap().is_empty());
        store.close().await;
    }

    #[tokio::test]
    async fn embeddings_and_topic_builds_on_every_backend() {
        crate::on_every_backend!(suite);
    }
}

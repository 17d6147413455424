//! Retention: deleting posts older than a date with everything that hangs on them (scores,
//! topic links, score claims, authors left without posts), or only their raw payloads.
//!
//! Ethics boards set how long collected posts may be kept; `mindpulse purge` enforces it.
//! A post's age is its creation time, or its collection time when it has none. Deletes run
//! in batches of post ids, children first, each batch in one transaction, so a purge killed
//! midway leaves no orphan rows and a re-run finishes the job.

use crate::{on_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Which posts a purge removes.
#[derive(Debug, Clone)]
pub struct PurgeFilter {
    /// Posts created (or, without a creation time, collected) before this time.
    pub before: DateTime<Utc>,
    pub platform: Option<String>,
}

/// What a purge removed (or, dry, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub posts: u64,
    pub scores: u64,
    pub topic_links: u64,
    pub score_claims: u64,
    /// Stored embeddings of the purged posts.
    pub embeddings: u64,
    /// Authors with no post left.
    pub authors: u64,
    /// Raw payloads cleared or deleted with their posts (with `raw_only`, the only change).
    pub raw_payloads: u64,
    pub dry_run: bool,
}

const BATCH: usize = 2_000;

impl Store {
    /// Deletes the posts `filter` selects with their scores, topic links (hashtags and
    /// discovered topics), score claims and embeddings, then the authors left without posts; with `raw_only`, clears only their raw
    /// payloads. With `dry_run`, counts what would go and changes nothing.
    pub async fn purge(
        &self,
        filter: &PurgeFilter,
        raw_only: bool,
        dry_run: bool,
    ) -> Result<PurgeReport, StoreError> {
        let mut report = PurgeReport {
            dry_run,
            ..PurgeReport::default()
        };
        let platform_clause = if filter.platform.is_some() {
            " AND platform = ?"
        } else {
            ""
        };
        let age = "COALESCE(created_at, collected_at) < ?";
        let count_sql = self
            .dialect
            .sql(&format!(
                "SELECT COUNT(*) FROM posts WHERE {age} AND raw IS NOT NULL{platform_clause}"
            ))
            .into_owned();
        report.raw_payloads = self.count_with(&count_sql, filter).await?;
        if raw_only {
            if !dry_run {
                let sql = self
                    .dialect
                    .sql(&format!(
                    "UPDATE posts SET raw = NULL WHERE {age} AND raw IS NOT NULL{platform_clause}"
                ))
                    .into_owned();
                let n = on_pool!(&self.pool, p => {
                    let mut q = sqlx::query(&sql).bind(filter.before);
                    if let Some(pl) = &filter.platform {
                        q = q.bind(pl.as_str());
                    }
                    q.execute(p).await?.rows_affected()
                });
                report.raw_payloads = n;
            }
            return Ok(report);
        }

        let select_ids = self
            .dialect
            .sql(&format!(
            "SELECT id FROM posts WHERE {age}{platform_clause} AND id > ? ORDER BY id LIMIT {BATCH}"
        ))
            .into_owned();
        let mut after = 0i64;
        loop {
            let ids: Vec<i64> = on_pool!(&self.pool, p => {
                let mut q = sqlx::query_scalar(&select_ids).bind(filter.before);
                if let Some(pl) = &filter.platform {
                    q = q.bind(pl.as_str());
                }
                q.bind(after).fetch_all(p).await?
            });
            let Some(&last) = ids.last() else { break };
            after = last;
            let batch = self.purge_batch(&ids, dry_run).await?;
            report.posts += batch.posts;
            report.scores += batch.scores;
            report.topic_links += batch.topic_links;
            report.score_claims += batch.score_claims;
            report.embeddings += batch.embeddings;
        }
        report.authors = self.purge_orphan_authors(filter, dry_run).await?;
        // The purged hours lose their counts: recount (all hours; purges are rare).
        if !dry_run && report.posts > 0 && self.rollups_built().await? {
            self.rebuild_rollups().await?;
        }
        Ok(report)
    }

    async fn count_with(&self, sql: &str, filter: &PurgeFilter) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_scalar(sql).bind(filter.before);
            if let Some(pl) = &filter.platform {
                q = q.bind(pl.as_str());
            }
            q.fetch_one(p).await?
        });
        Ok(n.max(0) as u64)
    }

    /// Deletes (or counts) one batch of posts and their children in one transaction.
    async fn purge_batch(&self, ids: &[i64], dry_run: bool) -> Result<PurgeReport, StoreError> {
        let marks = vec!["?"; ids.len()].join(", ");
        let children = [
            ("scores", "post_id"),
            ("post_topics", "post_id"),
            ("score_claims", "post_id"),
            ("embeddings", "post_id"),
            ("topic_assignments", "post_id"),
            ("posts", "id"),
        ];
        let mut counts = [0u64; 6];
        on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            for (i, (table, column)) in children.iter().enumerate() {
                let verb = if dry_run { "SELECT COUNT(*) FROM" } else { "DELETE FROM" };
                let sql = self
                    .dialect
                    .sql(&format!("{verb} {table} WHERE {column} IN ({marks})")).into_owned();
                counts[i] = if dry_run {
                    let mut q = sqlx::query_scalar::<_, i64>(&sql);
                    for id in ids {
                        q = q.bind(*id);
                    }
                    q.fetch_one(&mut *tx).await?.max(0) as u64
                } else {
                    let mut q = sqlx::query(&sql);
                    for id in ids {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await?.rows_affected()
                };
            }
            tx.commit().await?;
        });
        Ok(PurgeReport {
            scores: counts[0],
            score_claims: counts[2],
            embeddings: counts[3],
            topic_links: counts[1] + counts[4],
            posts: counts[5],
            ..PurgeReport::default()
        })
    }

    /// Deletes (or, dry, counts those that would be left without posts) authors with no
    /// post left on the purged platform(s).
    async fn purge_orphan_authors(
        &self,
        filter: &PurgeFilter,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        let platform_clause = if filter.platform.is_some() {
            " AND a.platform = ?"
        } else {
            ""
        };
        let n = if dry_run {
            // Authors all of whose posts are selected.
            let sql = self
                .dialect
                .sql(&format!(
                    "SELECT COUNT(*) FROM authors a WHERE NOT EXISTS (SELECT 1 FROM posts p \
                 WHERE p.platform = a.platform AND p.author = a.pseudonym \
                 AND NOT (COALESCE(p.created_at, p.collected_at) < ?)){platform_clause}"
                ))
                .into_owned();
            self.count_with(&sql, filter).await?
        } else {
            let sql = self
                .dialect
                .sql(&format!(
                    "DELETE FROM authors WHERE NOT EXISTS (SELECT 1 FROM posts p \
                 WHERE p.platform = authors.platform AND p.author = authors.pseudonym){}",
                    if filter.platform.is_some() {
                        " AND authors.platform = ?"
                    } else {
                        ""
                    }
                ))
                .into_owned();
            on_pool!(&self.pool, p => {
                let mut q = sqlx::query(&sql);
                if let Some(pl) = &filter.platform {
                    q = q.bind(pl.as_str());
                }
                q.execute(p).await?.rows_affected()
            })
        };
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    #[tokio::test]
    async fn purge_removes_old_posts_and_what_hangs_on_them_on_every_backend() {
        for db in TestDb::all().await {
            let name = db.backend.name();
            let store = Store::open(&db.url).await.unwrap();
            let ts = |s: &str| match db.backend {
                crate::Backend::Sqlite => format!("'{s}T10:00:00+00:00'"),
                crate::Backend::MySql => format!("'{s} 10:00:00'"),
                crate::Backend::Postgres => format!("'{s} 10:00:00+00'"),
            };
            let rows = [
                ("weibo", "old1", "u_a", Some("2024-01-01")),
                ("weibo", "old2", "u_b", Some("2024-06-01")),
                ("weibo", "new1", "u_b", Some("2025-06-01")),
                ("reddit", "old3", "u_c", Some("2024-01-01")),
                ("weibo", "undated", "u_d", None),
            ];
            for (platform, id, author, created) in rows {
                let created = created.map(&ts).unwrap_or_else(|| "NULL".into());
                store
                    .execute_raw(&format!(
                        "INSERT INTO posts (platform, platform_id, kind, author, text, created_at, collected_at, content_hash, raw) \
                         VALUES ('{platform}', '{id}', 'post', '{author}', 'text', {created}, {}, 'h_{id}', '{{\"id\":1}}')",
                        ts("2024-03-01")
                    ))
                    .await
                    .unwrap();
                // u_b is inserted twice: the second insert fails on the key.
                let _ = store
                    .execute_raw(&format!(
                        "INSERT INTO authors (platform, pseudonym, first_seen, last_seen) VALUES ('{platform}', '{author}', {0}, {0})",
                        ts("2024-01-01")
                    ))
                    .await;
            }
            store
                .execute_raw(&format!(
                    "INSERT INTO topics (platform, keyword, first_seen, last_seen) VALUES ('weibo', 't', {0}, {0})",
                    ts("2024-01-01")
                ))
                .await
                .unwrap();
            store
                .execute_raw(
                    "INSERT INTO post_topics (post_id, topic_id) SELECT id, 1 FROM posts WHERE platform = 'weibo'",
                )
                .await
                .unwrap();
            store
                .execute_raw(&format!(
                    "INSERT INTO scorers (model_id, version, created_at) VALUES ('m', 'v', {})",
                    ts("2024-01-01")
                ))
                .await
                .unwrap();
            store
                .execute_raw(&format!(
                    "INSERT INTO runs (kind, started_at, status) VALUES ('score', {}, 'done')",
                    ts("2024-01-01")
                ))
                .await
                .unwrap();
            store
                .execute_raw(
                    "INSERT INTO scores (post_id, scorer_id, dimension, value, scale, run_id) SELECT id, 1, 'd', 0.5, 'prob', 1 FROM posts",
                )
                .await
                .unwrap();

            let weibo_before_2025 = PurgeFilter {
                before: "2025-01-01T00:00:00Z".parse().unwrap(),
                platform: Some("weibo".into()),
            };
            let dry = store.purge(&weibo_before_2025, false, true).await.unwrap();
            // old1, old2 and the undated one (collected 2024-03-01).
            assert_eq!(
                (dry.posts, dry.scores, dry.topic_links, dry.authors),
                (3, 3, 3, 2),
                "{name}: {dry:?}"
            );
            assert_eq!(
                store.count_posts().await.unwrap(),
                5,
                "{name}: dry changes nothing"
            );

            let raw = store.purge(&weibo_before_2025, true, false).await.unwrap();
            assert_eq!((raw.raw_payloads, raw.posts), (3, 0), "{name}");
            assert_eq!(store.count_posts().await.unwrap(), 5, "{name}");

            let done = store.purge(&weibo_before_2025, false, false).await.unwrap();
            assert_eq!(
                (done.posts, done.scores, done.topic_links, done.authors),
                (3, 3, 3, 2),
                "{name}: {done:?}"
            );
            assert_eq!(store.count_posts().await.unwrap(), 2, "{name}");
            let again = store.purge(&weibo_before_2025, false, false).await.unwrap();
            assert_eq!(again.posts + again.scores + again.authors, 0, "{name}");
            store.close().await;
            db.drop_db().await;
        }
    }
}

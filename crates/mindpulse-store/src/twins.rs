//! Exact duplicates across writers: every writer keeps its own duplicate index in memory,
//! so two imports (or an import and a crawl) running at once cannot see each other's
//! copies. After each stored batch a writer asks the database instead: any unflagged post
//! whose text (content hash) an earlier post, by id, already has is flagged `exact`.
//!
//! Run after the batch's commit, this closes the race: of two copies stored at once, the
//! writer that commits last sees both and flags the later one, whichever process wrote it.

use crate::{on_pool, Backend, Store, StoreError};

/// Hashes per statement.
const CHUNK: usize = 500;

impl Store {
    /// Flags as exact duplicates the unflagged posts with one of `hashes` (all posts when
    /// None) that have an earlier twin; returns how many were flagged.
    pub async fn flag_exact_twins(&self, hashes: Option<&[String]>) -> Result<u64, StoreError> {
        match hashes {
            None => self.flag_exact_twins_chunk(None).await,
            Some(all) => {
                let mut unique: Vec<&String> = all.iter().collect();
                unique.sort_unstable();
                unique.dedup();
                let mut n = 0;
                for chunk in unique.chunks(CHUNK) {
                    n += self.flag_exact_twins_chunk(Some(chunk)).await?;
                }
                Ok(n)
            }
        }
    }

    async fn flag_exact_twins_chunk(&self, hashes: Option<&[&String]>) -> Result<u64, StoreError> {
        let within = |col: &str| match hashes {
            Some(h) => format!(" AND {col} IN ({})", vec!["?"; h.len()].join(", ")),
            None => String::new(),
        };
        let sql = match self.dialect.backend {
            // MySQL cannot read the table it updates in a WHERE subquery; a grouped
            // derived table is materialized first.
            Backend::MySql => format!(
                "UPDATE posts q JOIN (SELECT f.content_hash AS h, MIN(f.id) AS first_id FROM posts f \
                 WHERE 1 = 1{} GROUP BY f.content_hash) r ON r.h = q.content_hash \
                 SET q.dup_kind = 'exact', q.dup_group = q.content_hash \
                 WHERE q.dup_kind IS NULL AND q.id > r.first_id",
                within("f.content_hash")
            ),
            Backend::Sqlite | Backend::Postgres => format!(
                "UPDATE posts SET dup_kind = 'exact', dup_group = content_hash \
                 WHERE dup_kind IS NULL{} AND EXISTS (SELECT 1 FROM posts e \
                 WHERE e.content_hash = posts.content_hash AND e.id < posts.id)",
                within("content_hash")
            ),
        };
        let sql = self.dialect.sql(&sql).into_owned();
        let n = on_pool!(&self.pool, p => {
            let mut q = sqlx::query(&sql);
            for h in hashes.unwrap_or(&[]) {
                q = q.bind(h.as_str());
            }
            q.execute(p).await?.rows_affected()
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{sample_posts, TestDb};
    use crate::{OnConflict, Store, TopicCache};

    #[tokio::test]
    async fn copies_stored_by_two_writers_are_flagged_once_on_every_backend() {
        for db in TestDb::all().await {
            let name = db.backend.name();
            let store = Store::open(&db.url).await.unwrap();
            // Two writers store the same texts under other ids, neither flagging anything.
            let first = sample_posts(6);
            let mut second = sample_posts(6);
            for p in &mut second {
                p.post.platform_id.push_str("-again");
            }
            for batch in [&first, &second] {
                store
                    .insert_posts(
                        batch,
                        None,
                        None,
                        OnConflict::Ignore,
                        &mut TopicCache::new(),
                    )
                    .await
                    .unwrap();
            }
            let hashes: Vec<String> = second.iter().map(|p| p.post.content_hash.clone()).collect();
            let distinct = {
                let mut h = hashes.clone();
                h.sort();
                h.dedup();
                h.len() as u64
            };
            let flagged = store.flag_exact_twins(Some(&hashes)).await.unwrap();
            // Every post after the first of its text: the second writer's six, plus any
            // repeats among the samples themselves.
            assert_eq!(flagged, 12 - distinct, "{name}");
            assert_eq!(
                store.flag_exact_twins(None).await.unwrap(),
                0,
                "{name}: idempotent"
            );
            store.close().await;
            db.drop_db().await;
        }
    }
}

//! Bulk loads into SQLite: secondary indexes kept current row by row cost a random B-tree
//! descent per post and index (about a third of the writer's time on a million posts);
//! building them once after the load sorts instead. So a large import into a table smaller
//! than itself drops the indexes that nothing in the import reads (posts by time, by
//! parent, topic links by topic) and builds them again at the end. The unique keys that
//! make imports idempotent are never dropped. An import killed in between leaves them
//! missing until the next command opens the database: [`Store::migrate`] creates any that
//! are missing.

use crate::{on_pool, Backend, Store, StoreError};

/// The indexes a bulk load may drop, with the statements that build them.
const SECONDARY: &[(&str, &str)] = &[
    (
        "posts_created_at",
        "CREATE INDEX IF NOT EXISTS posts_created_at ON posts (created_at)",
    ),
    (
        "posts_parent",
        "CREATE INDEX IF NOT EXISTS posts_parent ON posts (platform, parent_platform_id)",
    ),
    (
        "posts_root",
        "CREATE INDEX IF NOT EXISTS posts_root ON posts (platform, root_platform_id, kind)",
    ),
    (
        "posts_content_hash",
        "CREATE INDEX IF NOT EXISTS posts_content_hash ON posts (content_hash)",
    ),
    (
        "post_topics_topic",
        "CREATE INDEX IF NOT EXISTS post_topics_topic ON post_topics (topic_id)",
    ),
];

/// Below this many expected posts the indexes stay.
const MIN_BULK: u64 = 100_000;

/// What [`Store::begin_bulk_load`] dropped.
#[derive(Debug, Default)]
#[must_use = "end the bulk load to build the indexes again"]
pub struct BulkLoad {
    dropped: bool,
}

impl BulkLoad {
    pub fn dropped_indexes(&self) -> bool {
        self.dropped
    }
}

impl Store {
    /// Before an import of about `expected_posts` posts: on SQLite, when that is at least
    /// 100,000 and more than the posts already stored, drops the secondary indexes (see the
    /// module docs). A no-op elsewhere.
    pub async fn begin_bulk_load(&self, expected_posts: u64) -> Result<BulkLoad, StoreError> {
        if self.dialect.backend != Backend::Sqlite || expected_posts < MIN_BULK {
            return Ok(BulkLoad::default());
        }
        let stored = self.count_posts().await?.max(0) as u64;
        if expected_posts <= stored {
            return Ok(BulkLoad::default());
        }
        on_pool!(&self.pool, p => {
            for (name, _) in SECONDARY {
                sqlx::query(&format!("DROP INDEX IF EXISTS {name}")).execute(p).await?;
            }
        });
        tracing::debug!(
            expected_posts,
            stored,
            "bulk load: secondary indexes dropped"
        );
        Ok(BulkLoad { dropped: true })
    }

    /// Builds again what [`Store::begin_bulk_load`] dropped, then flags the exact
    /// duplicates a concurrent writer stored meanwhile (the per-batch check needs the
    /// content-hash index, so a bulk load leaves it to this one pass).
    pub async fn end_bulk_load(&self, bulk: BulkLoad) -> Result<(), StoreError> {
        if bulk.dropped {
            let started = std::time::Instant::now();
            self.ensure_secondary_indexes().await?;
            let flagged = self.flag_exact_twins(None).await?;
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                flagged,
                "bulk load: secondary indexes built, exact duplicates flagged"
            );
        }
        Ok(())
    }

    /// Creates the secondary indexes that are missing (SQLite).
    pub(crate) async fn ensure_secondary_indexes(&self) -> Result<(), StoreError> {
        if self.dialect.backend != Backend::Sqlite {
            return Ok(());
        }
        on_pool!(&self.pool, p => {
            let mut conn = p.acquire().await?;
            // Sort through temporary files, not memory: building an index over a million
            // rows would otherwise hold the whole sort in RAM.
            sqlx::query("PRAGMA temp_store = FILE").execute(&mut *conn).await?;
            let mut built = Ok(());
            for (_, create) in SECONDARY {
                if let Err(e) = sqlx::query(create).execute(&mut *conn).await {
                    built = Err(e);
                    break;
                }
            }
            sqlx::query("PRAGMA temp_store = MEMORY").execute(&mut *conn).await?;
            built?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{sample_posts, TestDb};
    use crate::{OnConflict, Store, TopicCache};

    async fn index_names(store: &Store) -> Vec<String> {
        crate::on_pool!(&store.pool, p => sqlx::query_scalar::<_, String>(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetch_all(p).await.unwrap())
    }

    #[tokio::test]
    async fn a_bulk_load_drops_and_rebuilds_the_secondary_indexes() {
        let db = TestDb::sqlite();
        let store = Store::open(&db.url).await.unwrap();
        let all = index_names(&store).await;
        assert!(all.contains(&"posts_created_at".to_string()), "{all:?}");
        // Small imports keep them.
        let small = store.begin_bulk_load(50_000).await.unwrap();
        assert!(!small.dropped_indexes());
        let bulk = store.begin_bulk_load(500_000).await.unwrap();
        assert!(bulk.dropped_indexes());
        assert!(!index_names(&store)
            .await
            .contains(&"posts_created_at".to_string()));
        store
            .insert_posts(
                &sample_posts(10),
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap();
        store.end_bulk_load(bulk).await.unwrap();
        assert_eq!(index_names(&store).await, all);
        // A load killed before its end: the next open builds them again.
        let killed = store.begin_bulk_load(500_000).await.unwrap();
        assert!(killed.dropped_indexes());
        store.close().await;
        let store = Store::open(&db.url).await.unwrap();
        assert_eq!(index_names(&store).await, all);
        store.close().await;
    }
}

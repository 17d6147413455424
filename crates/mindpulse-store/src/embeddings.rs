//! The embeddings read model: per post and encoder, the sentence embedding the heads run
//! computed, stored as int8 with one scale per vector (value ≈ scale × byte;
//! [`mindpulse_core::quantize_i8`]), so `topics` and `search` read them instead of running
//! the encoder again. Posts scored before embeddings were kept are found with
//! [`Store::posts_without_embedding`] and embedded on demand by the caller.

use crate::filter::bind_post_filter;
use crate::{on_pool, PostFilter, Store, StoreError};
use mindpulse_core::{quantize_i8, EncoderRef, PostEmbedding};
use std::collections::BTreeMap;

/// Columns of one embedding row.
const COLUMNS: usize = 4;

/// An encoder whose embeddings are stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EncoderRow {
    pub id: i64,
    pub name: String,
    pub sha256: String,
    pub dim: i64,
}

/// One stored embedding, still quantized.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredEmbedding {
    pub post_id: i64,
    pub encoder_id: i64,
    pub scale: f64,
    pub vec: Vec<u8>,
}

impl StoredEmbedding {
    /// The bytes as the signed values they are.
    pub fn values(&self) -> Vec<i8> {
        self.vec.iter().map(|&b| b as i8).collect()
    }
}

/// A post as a search hit shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct SearchPost {
    pub id: i64,
    pub platform: String,
    pub platform_id: String,
    pub text: String,
    pub lang: Option<String>,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A post's text for embedding it on demand.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PostText {
    pub id: i64,
    pub text: String,
    pub lang: Option<String>,
}

impl Store {
    /// The id of an encoder, recorded when new.
    pub async fn ensure_encoder(
        &self,
        encoder: &EncoderRef,
        dim: usize,
    ) -> Result<i64, StoreError> {
        let d = self.dialect;
        let insert = format!(
            "{} encoders (name, sha256, dim) VALUES (?, ?, ?){}",
            d.insert_ignore(),
            d.ignore_suffix("sha256")
        );
        let insert = d.sql(&insert);
        let select = d.sql("SELECT id FROM encoders WHERE sha256 = ?");
        let id: i64 = on_pool!(&self.pool, p => {
            sqlx::query(&insert)
                .bind(&encoder.name)
                .bind(&encoder.sha256)
                .bind(dim as i64)
                .execute(p)
                .await?;
            sqlx::query_scalar(&select).bind(&encoder.sha256).fetch_one(p).await?
        });
        Ok(id)
    }

    /// Every encoder with stored embeddings, by id.
    pub async fn encoders(&self) -> Result<Vec<EncoderRow>, StoreError> {
        let sql = "SELECT id, name, sha256, dim FROM encoders ORDER BY id";
        Ok(on_pool!(&self.pool, p => sqlx::query_as(sql).fetch_all(p).await?))
    }

    /// Stores embeddings (quantized to int8); one already stored for the same post and
    /// encoder is kept. Returns how many rows were new.
    pub async fn insert_embeddings(&self, embeddings: &[PostEmbedding]) -> Result<u64, StoreError> {
        if embeddings.is_empty() {
            return Ok(0);
        }
        let mut ids: BTreeMap<&EncoderRef, i64> = BTreeMap::new();
        for e in embeddings {
            if !ids.contains_key(&e.encoder) {
                let id = self.ensure_encoder(&e.encoder, e.vector.len()).await?;
                ids.insert(&e.encoder, id);
            }
        }
        let rows: Vec<(i64, i64, f64, Vec<u8>)> = embeddings
            .iter()
            .map(|e| {
                let (scale, q) = quantize_i8(&e.vector);
                let bytes = q.iter().map(|&b| b as u8).collect();
                (e.post_id, ids[&e.encoder], f64::from(scale), bytes)
            })
            .collect();
        let d = self.dialect;
        let prefix = format!(
            "{} embeddings (post_id, encoder_id, scale, vec) ",
            d.insert_ignore()
        );
        let suffix = d.ignore_suffix("post_id, encoder_id");
        let chunk_rows = d.max_params() / COLUMNS;
        let n = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut n = 0u64;
            for chunk in rows.chunks(chunk_rows) {
                let mut qb = sqlx::QueryBuilder::new(&prefix);
                qb.push_values(chunk, |mut b, (post, encoder, scale, bytes)| {
                    b.push_bind(*post)
                        .push_bind(*encoder)
                        .push_bind(*scale)
                        .push_bind(bytes.clone());
                });
                qb.push(&suffix);
                n += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// A page of the stored embeddings of the posts `filter` selects, with post ids above
    /// `after`, by post id then encoder.
    pub async fn embeddings_page(
        &self,
        filter: &PostFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEmbedding>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT e.post_id, e.encoder_id, e.scale, e.vec FROM embeddings e \
                 JOIN posts p ON p.id = e.post_id WHERE e.post_id > ?{} \
                 ORDER BY e.post_id, e.encoder_id LIMIT ?",
                filter.conditions("p", self.dialect)
            ))
            .into_owned();
        Ok(on_pool!(&self.pool, p => {
            let q = sqlx::query_as(&sql).bind(after);
            bind_post_filter!(q, filter, self.dialect).bind(limit).fetch_all(p).await?
        }))
    }

    /// A page of the posts `filter` selects that have no stored embedding yet, with ids
    /// above `after`, by id.
    pub async fn posts_without_embedding(
        &self,
        filter: &PostFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<PostText>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT p.id, p.text, p.lang FROM posts p WHERE p.id > ?{} \
                 AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.post_id = p.id) \
                 ORDER BY p.id LIMIT ?",
                filter.conditions("p", self.dialect)
            ))
            .into_owned();
        Ok(on_pool!(&self.pool, p => {
            let q = sqlx::query_as(&sql).bind(after);
            bind_post_filter!(q, filter, self.dialect).bind(limit).fetch_all(p).await?
        }))
    }

    /// The texts of posts by id (those that exist), by id.
    pub async fn post_texts(&self, ids: &[i64]) -> Result<Vec<PostText>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.dialect.max_params().min(1000)) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = self
                .dialect
                .sql(&format!(
                    "SELECT id, text, lang FROM posts WHERE id IN ({marks}) ORDER BY id"
                ))
                .into_owned();
            let rows: Vec<PostText> = on_pool!(&self.pool, p => {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await?
            });
            out.extend(rows);
        }
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    /// A page of every post's text with ids above `after`, by id (the search index's feed).
    pub async fn post_texts_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<PostText>, StoreError> {
        let sql = self
            .dialect
            .sql("SELECT id, text, lang FROM posts WHERE id > ? ORDER BY id LIMIT ?");
        Ok(on_pool!(&self.pool, p => {
            sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(p).await?
        }))
    }

    /// How many embeddings are stored.
    pub async fn count_embeddings(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM embeddings";
        Ok(on_pool!(&self.pool, p => sqlx::query_scalar(sql).fetch_one(p).await?))
    }

    /// The stored embeddings of some posts, by post id then encoder.
    pub async fn embeddings_of(&self, ids: &[i64]) -> Result<Vec<StoredEmbedding>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(self.dialect.max_params().min(1000)) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = self
                .dialect
                .sql(&format!(
                    "SELECT post_id, encoder_id, scale, vec FROM embeddings WHERE post_id IN ({marks})"
                ))
                .into_owned();
            let rows: Vec<StoredEmbedding> = on_pool!(&self.pool, p => {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await?
            });
            out.extend(rows);
        }
        out.sort_by_key(|e| (e.post_id, e.encoder_id));
        Ok(out)
    }

    /// The ids of the posts `filter` selects, by id.
    pub async fn post_ids(&self, filter: &PostFilter) -> Result<Vec<i64>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT p.id FROM posts p WHERE 1 = 1{} ORDER BY p.id",
                filter.conditions("p", self.dialect)
            ))
            .into_owned();
        Ok(on_pool!(&self.pool, p => {
            let q = sqlx::query_scalar(&sql);
            bind_post_filter!(q, filter, self.dialect).fetch_all(p).await?
        }))
    }

    /// Posts by id as search hits show them (those that still exist), in the order asked.
    pub async fn search_posts(&self, ids: &[i64]) -> Result<Vec<SearchPost>, StoreError> {
        let mut found: std::collections::HashMap<i64, SearchPost> = Default::default();
        for chunk in ids.chunks(self.dialect.max_params().min(1000)) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = self
                .dialect
                .sql(&format!(
                    "SELECT id, platform, platform_id, text, lang, created_at FROM posts WHERE id IN ({marks})"
                ))
                .into_owned();
            let rows: Vec<SearchPost> = on_pool!(&self.pool, p => {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await?
            });
            found.extend(rows.into_iter().map(|r| (r.id, r)));
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}

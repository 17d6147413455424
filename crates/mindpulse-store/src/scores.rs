//! Writing scores: long format, one row per post, scorer and dimension.
//!
//! A scorer is a `(model id, version)` pair in `scorers`; a score is unique per post,
//! scorer and dimension, whichever run wrote it, and inserts keep the row already there.
//! So a batch scored twice (a worker that stalled past its lease while another worker took
//! the batch over) stores nothing twice, and re-running a scorer never duplicates a row.

use crate::{on_pool, Store, StoreError};
use chrono::Utc;
use mindpulse_core::{Score, ScorerInfo};

const SCORE_COLUMNS: usize = 9;

impl Store {
    /// The id of the scorer `info.model_id` + `info.version`, created when new (the first
    /// model hash seen is kept; runs record theirs).
    pub async fn ensure_scorer(&self, info: &ScorerInfo) -> Result<i64, StoreError> {
        let d = self.dialect;
        let insert = format!(
            "{} scorers (model_id, version, model_sha256, created_at) VALUES (?, ?, ?, ?){}",
            d.insert_ignore(),
            d.ignore_suffix("model_id, version")
        );
        let insert = d.sql(&insert);
        let select = d.sql("SELECT id FROM scorers WHERE model_id = ? AND version = ?");
        let now = Utc::now();
        let id: i64 = on_pool!(&self.pool, p => {
            sqlx::query(&insert)
                .bind(&info.model_id)
                .bind(&info.version)
                .bind(&info.model_sha256)
                .bind(now)
                .execute(p)
                .await?;
            sqlx::query_scalar(&select).bind(&info.model_id).bind(&info.version).fetch_one(p).await?
        });
        Ok(id)
    }

    /// Stores scores of one scorer written by one run, in one transaction. A score already
    /// stored for the same post, scorer and dimension is kept. Returns how many rows were new.
    pub async fn insert_scores(
        &self,
        scorer_id: i64,
        run_id: i64,
        scores: &[Score],
    ) -> Result<u64, StoreError> {
        if scores.is_empty() {
            return Ok(0);
        }
        let d = self.dialect;
        let prefix = format!(
            "{} scores (post_id, scorer_id, dimension, value, scale, label, rationale, run_id, meta) ",
            d.insert_ignore()
        );
        let suffix = d.ignore_suffix("post_id, scorer_id, dimension");
        let chunk_rows = d.max_params() / SCORE_COLUMNS;
        let metas: Vec<Option<String>> = scores
            .iter()
            .map(|s| s.meta.as_ref().map(|m| m.to_string()))
            .collect();
        let n = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut n = 0u64;
            for (chunk, meta) in scores.chunks(chunk_rows).zip(metas.chunks(chunk_rows)) {
                let mut qb = sqlx::QueryBuilder::new(&prefix);
                qb.push_values(chunk.iter().zip(meta), |mut b, (s, m)| {
                    b.push_bind(s.post_id)
                        .push_bind(scorer_id)
                        .push_bind(s.dimension.as_str())
                        .push_bind(s.value)
                        .push_bind(s.scale.as_str())
                        .push_bind(s.label.as_deref())
                        .push_bind(s.rationale.as_deref())
                        .push_bind(run_id)
                        .push_bind(m.as_deref());
                });
                qb.push(&suffix);
                n += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            n
        });
        Ok(n)
    }
}

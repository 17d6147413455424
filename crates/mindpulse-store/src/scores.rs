//! Writing scores: long format, one row per post, dimension and run.

use crate::{on_pool, Store, StoreError};

/// One score to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScore {
    pub post_id: i64,
    /// Canonical dimension id (`depression`, `F30_F39`, …).
    pub dimension: String,
    pub value: f64,
    /// What `value` means: `prob`, `0-5`, `class`, …
    pub scale: String,
    pub label: Option<String>,
    pub rationale: Option<String>,
    pub run_id: i64,
    /// Extra provenance as JSON text (language route, truncation, …).
    pub meta: Option<String>,
}

const SCORE_COLUMNS: usize = 8;

impl Store {
    /// Inserts scores; a score already stored for the same post, dimension and run is kept.
    /// Returns how many rows were new.
    pub async fn insert_scores(&self, scores: &[NewScore]) -> Result<u64, StoreError> {
        if scores.is_empty() {
            return Ok(0);
        }
        let d = self.dialect;
        let prefix = format!(
            "{} scores (post_id, dimension, value, scale, label, rationale, run_id, meta) ",
            d.insert_ignore()
        );
        let suffix = d.ignore_suffix("post_id, dimension, run_id");
        let chunk_rows = d.max_params() / SCORE_COLUMNS;
        let n = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut n = 0u64;
            for chunk in scores.chunks(chunk_rows) {
                let mut qb = sqlx::QueryBuilder::new(&prefix);
                qb.push_values(chunk, |mut b, s| {
                    b.push_bind(s.post_id)
                        .push_bind(s.dimension.as_str())
                        .push_bind(s.value)
                        .push_bind(s.scale.as_str())
                        .push_bind(s.label.as_deref())
                        .push_bind(s.rationale.as_deref())
                        .push_bind(s.run_id)
                        .push_bind(s.meta.as_deref());
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

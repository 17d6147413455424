//! The example posts behind an alert: posts of one bucket and group, for a dimension the
//! flagged ones with the highest probability first, for volume the most shared first.
//! Authors are the pseudonyms stored at ingest and texts the redacted ones; nothing here
//! reads or returns a raw identity.

use crate::filter::bind_post_filter;
use crate::{on_pool, PostFilter, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One example post.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ExamplePost {
    pub platform: String,
    pub platform_id: String,
    pub author: Option<String>,
    pub text: String,
    pub created_at: Option<DateTime<Utc>>,
    /// The probability on the alert's dimension (None for volume).
    pub p: Option<f64>,
}

/// A group restriction beside the [`PostFilter`]: the region (None: posts without one).
#[derive(Debug, Clone, PartialEq)]
pub enum RegionIs<'a> {
    Any,
    Exactly(Option<&'a str>),
}

impl Store {
    /// Up to `limit` posts the filter selects (in `region`), for `(scorer, dimension)` only
    /// the flagged ones, highest probability first; else the most reposted and commented.
    pub async fn example_posts(
        &self,
        filter: &PostFilter,
        region: RegionIs<'_>,
        score: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<ExamplePost>, StoreError> {
        let (cols, join, order) = match score {
            Some(_) => (
                "s.value AS p",
                " JOIN scores s ON s.post_id = p.id AND s.scorer_id = ? AND s.dimension = ? AND s.label = 'yes'",
                "s.value DESC, p.id",
            ),
            None => (
                "NULL AS p",
                "",
                "p.repost_count + p.comment_count DESC, p.id",
            ),
        };
        let region_sql = match region {
            RegionIs::Any => String::new(),
            RegionIs::Exactly(None) => " AND p.region IS NULL".to_string(),
            RegionIs::Exactly(Some(_)) => format!(" AND {}", self.dialect.exact_eq_col("p.region")),
        };
        let sql = self.dialect.sql(&format!(
            "SELECT p.platform, p.platform_id, p.author, p.text, p.created_at, {cols} FROM posts p{join} \
             WHERE p.created_at IS NOT NULL{}{region_sql} ORDER BY {order} LIMIT ?",
            filter.conditions("p", self.dialect)
        ))
        .into_owned();
        let rows = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_as(&sql);
            if let Some((scorer, dimension)) = score {
                q = q.bind(scorer).bind(dimension);
            }
            q = bind_post_filter!(q, filter, self.dialect);
            if let RegionIs::Exactly(Some(r)) = region {
                q = q.bind(r);
                if self.dialect.exact_binds_twice() {
                    q = q.bind(r);
                }
            }
            q.bind(limit).fetch_all(p).await?
        });
        Ok(rows)
    }
}

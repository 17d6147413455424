//! Reading back: paged export of posts (with topics and scores), summary statistics,
//! and the duplicate-index seed for imports.
//!
//! Reads are keyset-paged (`id > after ORDER BY id LIMIT n`) so that exports of any
//! size stream with bounded memory on every backend.

use crate::{on_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// Which posts an export covers.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub topic: Option<String>,
    pub platform: Option<String>,
}

/// A stored score as exported.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExportScore {
    pub dimension: String,
    pub value: f64,
    pub scale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    pub run_id: i64,
}

/// A stored post as exported.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExportPost {
    pub id: i64,
    pub platform: String,
    pub platform_id: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub root_id: Option<String>,
    pub author: Option<String>,
    pub text: String,
    pub lang: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub collected_at: DateTime<Utc>,
    pub repost_count: i64,
    pub comment_count: i64,
    pub like_count: i64,
    pub region: Option<String>,
    pub content_hash: String,
    pub dup_group: Option<String>,
    pub dup_kind: Option<String>,
    pub topics: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<ExportScore>>,
}

/// One (content hash, simhash, group) triple to seed an import's duplicate index.
#[derive(Debug, Clone, PartialEq)]
pub struct DupSeed {
    pub id: i64,
    pub content_hash: String,
    pub simhash: Option<i64>,
    pub dup_group: Option<String>,
}

/// A labelled count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Count {
    pub key: String,
    pub n: i64,
}

/// Summary statistics of the database.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Stats {
    pub posts: i64,
    pub authors: i64,
    pub topics: i64,
    pub scores: i64,
    pub by_platform: Vec<Count>,
    pub by_kind: Vec<Count>,
    pub by_lang: Vec<Count>,
    pub by_day: Vec<Count>,
    pub top_topics: Vec<Count>,
    pub duplicates: Vec<Count>,
    pub scores_by_dimension: Vec<Count>,
    pub runs: i64,
    pub rejected: i64,
}

impl Store {
    /// Up to `limit` posts with id greater than `after_id` matching `filter`, in id order.
    pub async fn export_page(
        &self,
        filter: &ExportFilter,
        after_id: i64,
        limit: i64,
        with_scores: bool,
    ) -> Result<Vec<ExportPost>, StoreError> {
        let mut sql = String::from(
            "SELECT id, platform, platform_id, kind, parent_platform_id, root_platform_id, author, text, lang, created_at, collected_at, \
             repost_count, comment_count, like_count, region, content_hash, dup_group, dup_kind FROM posts WHERE id > ?",
        );
        if filter.since.is_some() {
            sql.push_str(" AND created_at >= ?");
        }
        if filter.until.is_some() {
            sql.push_str(" AND created_at < ?");
        }
        if filter.platform.is_some() {
            sql.push_str(" AND platform = ?");
        }
        if filter.topic.is_some() {
            // Exactly this keyword, on MySQL too (whose collation folds case and accents).
            sql.push_str(&format!(
                " AND id IN (SELECT pt.post_id FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE {})",
                self.dialect.exact_eq("t.keyword")
            ));
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        let sql = self.dialect.sql(&sql);
        let mut posts: Vec<ExportPost> = on_pool!(&self.pool, p => {
            let mut q = sqlx::query(&sql).bind(after_id);
            if let Some(s) = filter.since {
                q = q.bind(s);
            }
            if let Some(u) = filter.until {
                q = q.bind(u);
            }
            if let Some(pl) = &filter.platform {
                q = q.bind(pl.as_str());
            }
            if let Some(t) = &filter.topic {
                q = q.bind(t.as_str());
                if self.dialect.exact_binds_twice() {
                    q = q.bind(t.as_str());
                }
            }
            let rows = q.bind(limit).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(ExportPost {
                    id: row.try_get("id")?,
                    platform: row.try_get("platform")?,
                    platform_id: row.try_get("platform_id")?,
                    kind: row.try_get("kind")?,
                    parent_id: row.try_get("parent_platform_id")?,
                    root_id: row.try_get("root_platform_id")?,
                    author: row.try_get("author")?,
                    text: row.try_get("text")?,
                    lang: row.try_get("lang")?,
                    created_at: row.try_get("created_at")?,
                    collected_at: row.try_get("collected_at")?,
                    repost_count: row.try_get("repost_count")?,
                    comment_count: row.try_get("comment_count")?,
                    like_count: row.try_get("like_count")?,
                    region: row.try_get("region")?,
                    content_hash: row.try_get("content_hash")?,
                    dup_group: row.try_get("dup_group")?,
                    dup_kind: row.try_get("dup_kind")?,
                    topics: Vec::new(),
                    scores: None,
                });
            }
            out
        });
        if posts.is_empty() {
            return Ok(posts);
        }
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let topics = self.topics_of(&ids).await?;
        let mut scores = if with_scores {
            self.scores_of(&ids).await?
        } else {
            HashMap::new()
        };
        for post in &mut posts {
            if let Some(t) = topics.get(&post.id) {
                post.topics = t.clone();
            }
            if with_scores {
                post.scores = Some(scores.remove(&post.id).unwrap_or_default());
            }
        }
        Ok(posts)
    }

    /// The topic keywords of each post, in byte order (the same on every backend, whatever
    /// its collation).
    pub(crate) async fn topics_of(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        let mut map: HashMap<i64, Vec<String>> = HashMap::new();
        on_pool!(&self.pool, p => {
            for chunk in ids.chunks(5000) {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT pt.post_id, t.keyword FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.post_id IN (",
                );
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                sep.push_unseparated(") ORDER BY pt.post_id, t.keyword");
                for row in qb.build().fetch_all(p).await? {
                    let post_id: i64 = row.try_get(0)?;
                    let keyword: String = row.try_get(1)?;
                    map.entry(post_id).or_default().push(keyword);
                }
            }
        });
        for keywords in map.values_mut() {
            keywords.sort();
        }
        Ok(map)
    }

    async fn scores_of(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<ExportScore>>, StoreError> {
        let mut map: HashMap<i64, Vec<ExportScore>> = HashMap::new();
        on_pool!(&self.pool, p => {
            for chunk in ids.chunks(5000) {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT post_id, dimension, value, scale, label, rationale, run_id FROM scores WHERE post_id IN (",
                );
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                sep.push_unseparated(") ORDER BY post_id, dimension, run_id");
                for row in qb.build().fetch_all(p).await? {
                    let post_id: i64 = row.try_get("post_id")?;
                    map.entry(post_id).or_default().push(ExportScore {
                        dimension: row.try_get("dimension")?,
                        value: row.try_get("value")?,
                        scale: row.try_get("scale")?,
                        label: row.try_get("label")?,
                        rationale: row.try_get("rationale")?,
                        run_id: row.try_get("run_id")?,
                    });
                }
            }
        });
        Ok(map)
    }

    /// Up to `limit` duplicate-index seeds with id greater than `after_id`.
    pub async fn dup_seed_page(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<DupSeed>, StoreError> {
        let sql = self
            .dialect
            .sql("SELECT id, content_hash, simhash, dup_group FROM posts WHERE id > ? ORDER BY id LIMIT ?");
        let seeds = on_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql).bind(after_id).bind(limit).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(DupSeed {
                    id: row.try_get(0)?,
                    content_hash: row.try_get(1)?,
                    simhash: row.try_get(2)?,
                    dup_group: row.try_get(3)?,
                });
            }
            out
        });
        Ok(seeds)
    }

    /// Counts posts, authors, topics and scores, grouped the ways `mindpulse stats` shows.
    pub async fn stats(&self, days: i64) -> Result<Stats, StoreError> {
        let d = self.dialect;
        let day = d.day_of("created_at");
        let by_day_sql = format!(
            "SELECT {day} AS k, COUNT(*) AS n FROM posts WHERE created_at IS NOT NULL GROUP BY {day} ORDER BY k DESC LIMIT ?"
        );
        let by_day_sql = d.sql(&by_day_sql);
        let grouped = |col: &str| {
            format!("SELECT COALESCE({col}, '?') AS k, COUNT(*) AS n FROM posts GROUP BY {col} ORDER BY n DESC, k")
        };
        let by_platform_sql = grouped("platform");
        let by_kind_sql = grouped("kind");
        let by_lang_sql = grouped("lang");
        let dup_sql = "SELECT dup_kind AS k, COUNT(*) AS n FROM posts WHERE dup_kind IS NOT NULL GROUP BY dup_kind ORDER BY dup_kind";
        let topics_sql = "SELECT t.keyword AS k, COUNT(*) AS n FROM post_topics pt JOIN topics t ON t.id = pt.topic_id \
                          GROUP BY t.id, t.keyword ORDER BY n DESC, k LIMIT 20";
        let scores_sql = "SELECT dimension AS k, COUNT(*) AS n FROM scores GROUP BY dimension ORDER BY dimension";
        let stats = on_pool!(&self.pool, p => {
            let count = |sql: &'static str| async move {
                let n: i64 = sqlx::query_scalar(sql).fetch_one(p).await?;
                Ok::<i64, sqlx::Error>(n)
            };
            let pairs = |rows: Vec<_>| -> Result<Vec<Count>, sqlx::Error> {
                let mut v = Vec::new();
                for row in rows {
                    let row: &_ = &row;
                    v.push(Count { key: Row::try_get(row, "k")?, n: Row::try_get(row, "n")? });
                }
                Ok(v)
            };
            let rejected: Vec<i64> = sqlx::query_scalar("SELECT n_rejected FROM runs").fetch_all(p).await?;
            Stats {
                posts: count("SELECT COUNT(*) FROM posts").await?,
                authors: count("SELECT COUNT(*) FROM authors").await?,
                topics: count("SELECT COUNT(*) FROM topics").await?,
                scores: count("SELECT COUNT(*) FROM scores").await?,
                by_platform: pairs(sqlx::query(&by_platform_sql).fetch_all(p).await?)?,
                by_kind: pairs(sqlx::query(&by_kind_sql).fetch_all(p).await?)?,
                by_lang: pairs(sqlx::query(&by_lang_sql).fetch_all(p).await?)?,
                by_day: pairs(sqlx::query(&by_day_sql).bind(days).fetch_all(p).await?)?,
                top_topics: pairs(sqlx::query(topics_sql).fetch_all(p).await?)?,
                duplicates: pairs(sqlx::query(dup_sql).fetch_all(p).await?)?,
                scores_by_dimension: pairs(sqlx::query(scores_sql).fetch_all(p).await?)?,
                runs: rejected.len() as i64,
                rejected: rejected.iter().sum(),
            }
        });
        Ok(stats)
    }

    /// Number of stored posts.
    pub async fn count_posts(&self) -> Result<i64, StoreError> {
        let n: i64 = on_pool!(&self.pool, p => sqlx::query_scalar("SELECT COUNT(*) FROM posts").fetch_one(p).await?);
        Ok(n)
    }
}

impl Store {
    /// How many posts stored by `run_id` are flagged (exact, near) duplicates.
    pub async fn run_duplicate_counts(&self, run_id: i64) -> Result<(u64, u64), StoreError> {
        let sql = self
            .dialect
            .sql("SELECT dup_kind, COUNT(*) FROM posts WHERE run_id = ? AND dup_kind IS NOT NULL GROUP BY dup_kind");
        let rows: Vec<(String, i64)> =
            on_pool!(&self.pool, p => sqlx::query_as(&sql).bind(run_id).fetch_all(p).await?);
        let mut exact = 0;
        let mut near = 0;
        for (kind, n) in rows {
            match kind.as_str() {
                "exact" => exact = n as u64,
                "near" => near = n as u64,
                _ => {}
            }
        }
        Ok((exact, near))
    }
}

impl Store {
    /// Distinct score dimensions present, sorted.
    pub async fn score_dimensions(&self) -> Result<Vec<String>, StoreError> {
        let dims: Vec<String> = on_pool!(&self.pool, p => sqlx::query_scalar(
            "SELECT DISTINCT dimension FROM scores ORDER BY dimension"
        ).fetch_all(p).await?);
        Ok(dims)
    }
}

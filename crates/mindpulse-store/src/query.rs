//! Reading back: paged export of posts (with topics and scores), summary statistics,
//! and the duplicate-index seed for imports.
//!
//! Reads are keyset-paged (`id > after ORDER BY id LIMIT n`) so that exports of any
//! size stream with bounded memory on every backend.

use crate::filter::bind_post_filter;
use crate::{on_pool, PostFilter, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// A stored score as exported, with its scorer and the score's own provenance (`meta`:
/// head and version, route, class probabilities, …, as JSON text).
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct ExportScore {
    #[serde(skip)]
    pub post_id: i64,
    pub dimension: String,
    pub value: f64,
    pub scale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    pub run_id: i64,
    /// The scorer's model id (`heads`, an LLM) and version.
    pub model_id: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
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

/// Summary statistics of the stored posts a [`PostFilter`] selects.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    /// The time zone of `by_day`.
    pub zone: String,
    pub posts: i64,
    /// Distinct (pseudonymous) authors of those posts.
    pub authors: i64,
    /// Distinct topics of those posts.
    pub topics: i64,
    /// Posts without a creation time: counted here, left out of every time-based view.
    pub without_time: i64,
    /// Score rows (one per post, scorer and dimension), routing rows excepted.
    pub scores: i64,
    pub by_platform: Vec<Count>,
    pub by_kind: Vec<Count>,
    pub by_lang: Vec<Count>,
    /// Most recent days first, in `zone`.
    pub by_day: Vec<Count>,
    pub top_topics: Vec<Count>,
    /// Posts flagged as the same text (`exact`) or nearly the same text (`near`) as an
    /// earlier post. (A record already stored is not stored again: imports count those as
    /// `already_stored`.)
    pub duplicates: Vec<Count>,
    pub scores_by_dimension: Vec<Count>,
    /// Which encoder read each post (`route` rows: a token count, not a score).
    pub routing: Vec<Count>,
    /// All runs and records rejected by all imports (not narrowed by the filter).
    pub runs: i64,
    pub rejected: i64,
}

/// The dimension of the rows that record which encoder read a post.
pub const ROUTING_DIMENSION: &str = "route";

/// Posts per UTC quarter hour: the day text, hour and quarter, and the count.
#[derive(Debug, sqlx::FromRow)]
struct QuarterCount {
    d: String,
    h: i64,
    q: i64,
    n: i64,
}

impl Store {
    /// Up to `limit` posts with id greater than `after_id` matching `filter`, in id order.
    pub async fn export_page(
        &self,
        filter: &PostFilter,
        after_id: i64,
        limit: i64,
        with_scores: bool,
    ) -> Result<Vec<ExportPost>, StoreError> {
        let sql = format!(
            "SELECT id, platform, platform_id, kind, parent_platform_id, root_platform_id, author, text, lang, created_at, collected_at, \
             repost_count, comment_count, like_count, region, content_hash, dup_group, dup_kind FROM posts p WHERE p.id > ?{} \
             ORDER BY p.id LIMIT ?",
            filter.conditions("p", self.dialect)
        );
        let sql = self.dialect.sql(&sql);
        let mut posts: Vec<ExportPost> = on_pool!(&self.pool, p => {
            let q = bind_post_filter!(sqlx::query(&sql).bind(after_id), filter, self.dialect);
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
                    "SELECT s.post_id, s.dimension, s.value, s.scale, s.label, s.rationale, s.run_id, s.meta, \
                     sc.model_id, sc.version FROM scores s JOIN scorers sc ON sc.id = s.scorer_id WHERE s.post_id IN (",
                );
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                sep.push_unseparated(") ORDER BY s.post_id, s.dimension, s.run_id");
                let rows: Vec<ExportScore> = qb.build_query_as().fetch_all(p).await?;
                for score in rows {
                    map.entry(score.post_id).or_default().push(score);
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
    pub async fn stats(
        &self,
        filter: &PostFilter,
        zone: chrono_tz::Tz,
        days: usize,
    ) -> Result<Stats, StoreError> {
        let d = self.dialect;
        let cond = filter.conditions("p", d);
        let sql = |s: String| d.sql(&s).into_owned();
        let grouped = |col: &str| {
            sql(format!(
                "SELECT COALESCE(p.{col}, '(unknown)') AS k, COUNT(*) AS n FROM posts p WHERE 1 = 1{cond} \
                 GROUP BY p.{col} ORDER BY n DESC, k"
            ))
        };
        let (by_platform_sql, by_kind_sql, by_lang_sql) =
            (grouped("platform"), grouped("kind"), grouped("lang"));
        let counts_sql = sql(format!(
            "SELECT COUNT(*), COUNT(DISTINCT p.author), COUNT(*) - COUNT(p.created_at) \
             FROM posts p WHERE 1 = 1{cond}"
        ));
        let topics_sql = sql(format!(
            "SELECT COUNT(DISTINCT pt.topic_id) FROM post_topics pt JOIN posts p ON p.id = pt.post_id WHERE 1 = 1{cond}"
        ));
        let dup_sql = sql(format!(
            "SELECT p.dup_kind AS k, COUNT(*) AS n FROM posts p WHERE p.dup_kind IS NOT NULL{cond} \
             GROUP BY p.dup_kind ORDER BY p.dup_kind"
        ));
        let top_topics_sql = sql(format!(
            "SELECT t.keyword AS k, COUNT(*) AS n FROM post_topics pt JOIN topics t ON t.id = pt.topic_id \
             JOIN posts p ON p.id = pt.post_id WHERE 1 = 1{cond} GROUP BY t.id, t.keyword ORDER BY n DESC, k LIMIT 20"
        ));
        let scores_sql = sql(format!(
            "SELECT s.dimension AS k, COUNT(*) AS n FROM scores s JOIN posts p ON p.id = s.post_id \
             WHERE 1 = 1{cond} GROUP BY s.dimension ORDER BY s.dimension"
        ));
        let routing_sql = sql(format!(
            "SELECT COALESCE(s.label, '(unknown)') AS k, COUNT(*) AS n FROM scores s JOIN posts p ON p.id = s.post_id \
             WHERE s.dimension = '{ROUTING_DIMENSION}'{cond} GROUP BY s.label ORDER BY n DESC, k"
        ));
        let (day, hour, quarter) = d.quarter_hour_of("p.created_at");
        let quarters_sql = sql(format!(
            "SELECT {day} AS d, {hour} AS h, {quarter} AS q, COUNT(*) AS n FROM posts p \
             WHERE p.created_at IS NOT NULL{cond} GROUP BY {day}, {hour}, {quarter}"
        ));
        let pairs = |rows: Vec<(String, i64)>| -> Vec<Count> {
            rows.into_iter().map(|(key, n)| Count { key, n }).collect()
        };
        let mut stats = on_pool!(&self.pool, p => {
            let (posts, authors, without_time): (i64, i64, i64) =
                bind_post_filter!(sqlx::query_as(&counts_sql), filter, d).fetch_one(p).await?;
            let topics: i64 = bind_post_filter!(sqlx::query_scalar(&topics_sql), filter, d).fetch_one(p).await?;
            let rejected: Vec<i64> = sqlx::query_scalar("SELECT n_rejected FROM runs").fetch_all(p).await?;
            let scores_by_dimension: Vec<Count> = pairs(
                bind_post_filter!(sqlx::query_as(&scores_sql), filter, d).fetch_all(p).await?,
            )
            .into_iter()
            .filter(|c| c.key != ROUTING_DIMENSION)
            .collect();
            let quarters: Vec<QuarterCount> =
                bind_post_filter!(sqlx::query_as(&quarters_sql), filter, d).fetch_all(p).await?;
            Stats {
                zone: zone.name().to_string(),
                posts,
                authors,
                topics,
                without_time,
                scores: scores_by_dimension.iter().map(|c| c.n).sum(),
                by_platform: pairs(bind_post_filter!(sqlx::query_as(&by_platform_sql), filter, d).fetch_all(p).await?),
                by_kind: pairs(bind_post_filter!(sqlx::query_as(&by_kind_sql), filter, d).fetch_all(p).await?),
                by_lang: pairs(bind_post_filter!(sqlx::query_as(&by_lang_sql), filter, d).fetch_all(p).await?),
                by_day: days_in_zone(&quarters, zone, days)?,
                top_topics: pairs(bind_post_filter!(sqlx::query_as(&top_topics_sql), filter, d).fetch_all(p).await?),
                duplicates: pairs(bind_post_filter!(sqlx::query_as(&dup_sql), filter, d).fetch_all(p).await?),
                scores_by_dimension,
                routing: pairs(bind_post_filter!(sqlx::query_as(&routing_sql), filter, d).fetch_all(p).await?),
                runs: rejected.len() as i64,
                rejected: rejected.iter().sum(),
            }
        });
        stats.by_day.truncate(days);
        Ok(stats)
    }

    /// Number of stored posts.
    pub async fn count_posts(&self) -> Result<i64, StoreError> {
        let n: i64 = on_pool!(&self.pool, p => sqlx::query_scalar("SELECT COUNT(*) FROM posts").fetch_one(p).await?);
        Ok(n)
    }
}

impl Store {
    /// How many posts stored by `run_id` have no creation time.
    pub async fn run_posts_without_time(&self, run_id: i64) -> Result<u64, StoreError> {
        let sql = self
            .dialect
            .sql("SELECT COUNT(*) FROM posts WHERE run_id = ? AND created_at IS NULL");
        let n: i64 =
            on_pool!(&self.pool, p => sqlx::query_scalar(&sql).bind(run_id).fetch_one(p).await?);
        Ok(n as u64)
    }

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
    /// Distinct score dimensions present, sorted (routing rows are not scores).
    pub async fn score_dimensions(&self) -> Result<Vec<String>, StoreError> {
        let dims: Vec<String> = on_pool!(&self.pool, p => sqlx::query_scalar(
            "SELECT DISTINCT dimension FROM scores WHERE dimension <> 'route' ORDER BY dimension"
        ).fetch_all(p).await?);
        Ok(dims)
    }
}

/// Posts per day in `zone`, most recent first, from counts per UTC quarter hour (every
/// time zone in use today is a whole number of quarter hours from UTC).
fn days_in_zone(
    quarters: &[QuarterCount],
    zone: chrono_tz::Tz,
    days: usize,
) -> Result<Vec<Count>, StoreError> {
    use chrono::{NaiveDate, NaiveTime};
    let mut per_day: std::collections::BTreeMap<NaiveDate, i64> = Default::default();
    for c in quarters {
        let start = NaiveDate::parse_from_str(&c.d, "%Y-%m-%d")
            .ok()
            .zip(NaiveTime::from_hms_opt(c.h as u32, (c.q * 15) as u32, 0))
            .map(|(day, time)| day.and_time(time).and_utc())
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "a stored creation time reads as day {:?}, hour {}, quarter {}",
                    c.d, c.h, c.q
                ))
            })?;
        *per_day
            .entry(start.with_timezone(&zone).date_naive())
            .or_default() += c.n;
    }
    Ok(per_day
        .into_iter()
        .rev()
        .take(days)
        .map(|(day, n)| Count {
            key: day.format("%Y-%m-%d").to_string(),
            n,
        })
        .collect())
}

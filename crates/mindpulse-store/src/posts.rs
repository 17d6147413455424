//! Writing posts: batched multi-row inserts of clean posts with their authors and topic
//! links, in one transaction per batch, idempotent on `(platform, platform_id)`.

use crate::{on_pool, Store, StoreError};
use chrono::Utc;
use mindpulse_core::{CleanAuthor, CleanPost};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

/// What to do when a post with the same platform id is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Keep the stored row as it is (imports: re-importing a file adds nothing).
    #[default]
    Ignore,
    /// Refresh the engagement counts and region (crawls: re-collecting updates counts).
    UpdateCounts,
}

/// A clean post plus its duplicate flags, ready to insert.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub post: CleanPost,
    /// Content hash (hex) of the first-seen member of this post's duplicate group.
    pub dup_group: Option<String>,
    /// `exact` or `near` when the post duplicates an earlier one.
    pub dup_kind: Option<&'static str>,
}

/// What one insert call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertReport {
    /// Posts newly stored.
    pub inserted: u64,
    /// Posts whose platform id was already stored (skipped or refreshed).
    pub existing: u64,
}

/// Topic ids known to this writer, so each topic is looked up once per import.
#[derive(Debug, Default)]
pub struct TopicCache {
    ids: HashMap<(String, String), i64>,
}

impl TopicCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(crate) fn get(&self, platform: &str, keyword: &str) -> Option<i64> {
        // Allocation-free lookups would need a borrowed key type; topics per batch are few.
        self.ids
            .get(&(platform.to_string(), keyword.to_string()))
            .copied()
    }

    pub(crate) fn insert(&mut self, platform: &str, keyword: &str, id: i64) {
        self.ids
            .insert((platform.to_string(), keyword.to_string()), id);
    }

    pub(crate) fn merge(&mut self, other: TopicCache) {
        self.ids.extend(other.ids);
    }
}

const POST_COLUMNS: &str = "platform, platform_id, source_id, run_id, kind, parent_platform_id, root_platform_id, author, text, lang, \
     created_at, collected_at, repost_count, comment_count, like_count, region, content_hash, simhash, dup_group, dup_kind, raw";
const POST_COLUMN_COUNT: usize = 21;

impl Store {
    /// Inserts a batch of posts in one transaction: the posts (ignoring or refreshing
    /// ones already stored), their authors (upserted by pseudonym) and their topic links.
    pub async fn insert_posts(
        &self,
        batch: &[NewPost],
        source_id: Option<i64>,
        run_id: Option<i64>,
        on_conflict: OnConflict,
        topics: &mut TopicCache,
    ) -> Result<InsertReport, StoreError> {
        if batch.is_empty() {
            return Ok(InsertReport::default());
        }
        match &self.pool {
            crate::Pool::Sqlite(pool) => {
                return crate::posts_sqlite::insert_posts(
                    pool,
                    batch,
                    source_id,
                    run_id,
                    on_conflict,
                    topics,
                )
                .await
            }
            crate::Pool::Postgres(pool) => {
                return crate::posts_pg::insert_posts(
                    pool,
                    batch,
                    source_id,
                    run_id,
                    on_conflict,
                    topics,
                )
                .await
            }
            crate::Pool::MySql(_) => {}
        }
        let d = self.dialect;
        let chunk_rows = (d.max_params() / POST_COLUMN_COUNT).max(1);
        let insert_prefix = format!("{} posts ({POST_COLUMNS}) ", d.insert_ignore());
        let insert_suffix = d.ignore_suffix("platform, platform_id");
        let update_sql = format!(
            "UPDATE posts SET repost_count = ?, comment_count = ?, like_count = ?, region = COALESCE(?, region) \
             WHERE platform = ? AND {}",
            d.exact_eq("platform_id")
        );
        let update_sql = d.sql(&update_sql);
        let twice = d.exact_binds_twice();
        let authors = distinct_authors(batch);
        let author_prefix =
            "INSERT INTO authors (platform, pseudonym, verified_type, follower_bucket, region, first_seen, last_seen) ";
        let author_suffix = d.upsert_suffix(
            "platform, pseudonym",
            "authors",
            &["verified_type", "follower_bucket", "region", "last_seen"],
            true,
        );
        let now = Utc::now();

        let report = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut inserted = 0u64;
            for chunk in batch.chunks(chunk_rows) {
                let mut qb = sqlx::QueryBuilder::new(&insert_prefix);
                qb.push_values(chunk, |mut b, np| {
                    let post = &np.post;
                    b.push_bind(post.platform.as_str())
                        .push_bind(post.platform_id.as_str())
                        .push_bind(source_id)
                        .push_bind(run_id)
                        .push_bind(post.kind.as_str())
                        .push_bind(post.parent_id.as_deref())
                        .push_bind(post.root_id.as_deref())
                        .push_bind(post.author.as_deref())
                        .push_bind(post.text.as_str())
                        .push_bind(post.lang.as_deref())
                        .push_bind(post.created_at)
                        .push_bind(post.collected_at)
                        .push_bind(post.repost_count)
                        .push_bind(post.comment_count)
                        .push_bind(post.like_count)
                        .push_bind(post.region.as_deref())
                        .push_bind(post.content_hash.as_str())
                        .push_bind(post.simhash)
                        .push_bind(np.dup_group.as_deref())
                        .push_bind(np.dup_kind)
                        .push_bind(post.raw.as_deref());
                });
                qb.push(&insert_suffix);
                let res = qb.build().execute(&mut *tx).await?;
                inserted += res.rows_affected();
            }
            if on_conflict == OnConflict::UpdateCounts && (inserted as usize) < batch.len() {
                for np in batch {
                    let post = &np.post;
                    let mut q = sqlx::query(&update_sql)
                        .bind(post.repost_count)
                        .bind(post.comment_count)
                        .bind(post.like_count)
                        .bind(post.region.as_deref())
                        .bind(post.platform.as_str())
                        .bind(post.platform_id.as_str());
                    if twice {
                        q = q.bind(post.platform_id.as_str());
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            if !authors.is_empty() {
                for chunk in authors.chunks(chunk_rows) {
                    let mut qb = sqlx::QueryBuilder::new(author_prefix);
                    qb.push_values(chunk, |mut b, (platform, a)| {
                        b.push_bind(*platform)
                            .push_bind(a.pseudonym.as_str())
                            .push_bind(a.verified_type)
                            .push_bind(a.follower_bucket.as_deref())
                            .push_bind(a.region.as_deref())
                            .push_bind(now)
                            .push_bind(now);
                    });
                    qb.push(&author_suffix);
                    qb.build().execute(&mut *tx).await?;
                }
            }

            // Topic links: make sure every topic has an id, then link the batch's posts.
            let mut wanted: Vec<(&str, &str)> = Vec::new();
            for np in batch {
                for t in &np.post.topics {
                    let key = (np.post.platform.clone(), t.clone());
                    if !topics.ids.contains_key(&key) && !wanted.contains(&(np.post.platform.as_str(), t.as_str())) {
                        wanted.push((np.post.platform.as_str(), t.as_str()));
                    }
                }
            }
            if !wanted.is_empty() {
                let ins = format!(
                    "{} topics (platform, keyword, first_seen, last_seen) VALUES (?, ?, ?, ?){}",
                    d.insert_ignore(),
                    d.ignore_suffix("platform, keyword")
                );
                let ins = d.sql(&ins);
                let sel = format!("SELECT id FROM topics WHERE platform = ? AND {}", d.exact_eq("keyword"));
                let sel = d.sql(&sel);
                for (platform, keyword) in wanted {
                    sqlx::query(&ins).bind(platform).bind(keyword).bind(now).bind(now).execute(&mut *tx).await?;
                    let mut q = sqlx::query_scalar(&sel).bind(platform).bind(keyword);
                    if twice {
                        q = q.bind(keyword);
                    }
                    let id: i64 = q.fetch_one(&mut *tx).await?;
                    topics.ids.insert((platform.to_string(), keyword.to_string()), id);
                }
            }
            let with_topics: Vec<&NewPost> = batch.iter().filter(|np| !np.post.topics.is_empty()).collect();
            if !with_topics.is_empty() {
                let mut by_platform: HashMap<&str, Vec<&str>> = HashMap::new();
                for np in &with_topics {
                    by_platform.entry(np.post.platform.as_str()).or_default().push(np.post.platform_id.as_str());
                }
                let mut post_ids: HashMap<(String, String), i64> = HashMap::new();
                for (platform, ids) in by_platform {
                    for chunk in ids.chunks(chunk_rows.min(5000)) {
                        let mut qb = sqlx::QueryBuilder::new("SELECT id, platform_id FROM posts WHERE platform = ");
                        qb.push_bind(platform);
                        qb.push(" AND platform_id IN (");
                        let mut sep = qb.separated(", ");
                        for id in chunk {
                            sep.push_bind(*id);
                        }
                        sep.push_unseparated(")");
                        let rows = qb.build().fetch_all(&mut *tx).await?;
                        for row in rows {
                            let id: i64 = row.try_get(0)?;
                            let pid: String = row.try_get(1)?;
                            post_ids.insert((platform.to_string(), pid), id);
                        }
                    }
                }
                let mut links: Vec<(i64, i64)> = Vec::new();
                for np in with_topics {
                    let key = (np.post.platform.clone(), np.post.platform_id.clone());
                    let Some(&post_id) = post_ids.get(&key) else { continue };
                    for t in &np.post.topics {
                        if let Some(&topic_id) = topics.ids.get(&(np.post.platform.clone(), t.clone())) {
                            links.push((post_id, topic_id));
                        }
                    }
                }
                links.sort_unstable();
                links.dedup();
                let link_prefix = format!("{} post_topics (post_id, topic_id) ", d.insert_ignore());
                let link_suffix = d.ignore_suffix("post_id, topic_id");
                for chunk in links.chunks(chunk_rows) {
                    let mut qb = sqlx::QueryBuilder::new(&link_prefix);
                    qb.push_values(chunk, |mut b, (post_id, topic_id)| {
                        b.push_bind(*post_id).push_bind(*topic_id);
                    });
                    qb.push(&link_suffix);
                    qb.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            InsertReport {
                inserted,
                existing: batch.len() as u64 - inserted.min(batch.len() as u64),
            }
        });
        Ok(report)
    }
}

/// The batch's authors, one per (platform, pseudonym), in key order, each fact at its
/// newest known value (as a sequence of COALESCE upserts would leave it; MySQL upserts each
/// key once per statement).
pub(crate) fn distinct_authors(batch: &[NewPost]) -> Vec<(&str, CleanAuthor)> {
    let mut authors: BTreeMap<(&str, &str), CleanAuthor> = BTreeMap::new();
    for np in batch {
        if let Some(a) = &np.post.author_info {
            authors
                .entry((np.post.platform.as_str(), a.pseudonym.as_str()))
                .and_modify(|known| merge_author(known, a))
                .or_insert_with(|| a.clone());
        }
    }
    authors
        .into_iter()
        .map(|((platform, _), a)| (platform, a))
        .collect()
}

/// `known` updated with the facts `newer` has.
fn merge_author(known: &mut CleanAuthor, newer: &CleanAuthor) {
    if newer.verified_type.is_some() {
        known.verified_type = newer.verified_type;
    }
    if newer.follower_bucket.is_some() {
        known.follower_bucket.clone_from(&newer.follower_bucket);
    }
    if newer.region.is_some() {
        known.region.clone_from(&newer.region);
    }
}

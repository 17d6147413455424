//! The PostgreSQL fast path for bulk inserts: `COPY` into per-connection staging tables,
//! then one set-based statement each for posts, authors and topic links.
//!
//! A multi-row `INSERT … VALUES` with tens of thousands of bind parameters is parsed and
//! planned anew for every batch, and topic links needed a second round trip per batch to
//! learn the new post ids; here the rows stream in as `COPY` text and the server joins the
//! staging table against `posts` once. Same semantics as the generic path: posts are
//! inserted or ignored on `(platform, platform_id)` (or have their counts refreshed), authors
//! are upserted keeping known facts, topic links are added for every post of the batch.

use crate::posts::{NewPost, OnConflict};
use crate::{InsertReport, StoreError, TopicCache};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::PgPool;
use std::collections::HashMap;
use std::fmt::Write as _;

const STAGE: &str = "CREATE TEMP TABLE IF NOT EXISTS posts_stage (\
    n INTEGER, platform TEXT, platform_id TEXT, kind TEXT, parent_platform_id TEXT, root_platform_id TEXT, \
    author TEXT, text TEXT, lang TEXT, created_at TIMESTAMPTZ, collected_at TIMESTAMPTZ, repost_count BIGINT, \
    comment_count BIGINT, like_count BIGINT, region TEXT, content_hash TEXT, simhash BIGINT, dup_group TEXT, \
    dup_kind TEXT, raw TEXT) ON COMMIT DELETE ROWS";
const AUTHORS_STAGE: &str = "CREATE TEMP TABLE IF NOT EXISTS authors_stage (\
    n INTEGER, platform TEXT, pseudonym TEXT, verified_type BIGINT, follower_bucket TEXT, region TEXT) \
    ON COMMIT DELETE ROWS";
const COPY_POSTS: &str = "COPY posts_stage FROM STDIN";
const COPY_AUTHORS: &str = "COPY authors_stage FROM STDIN";

/// Appends one `COPY` text-format field (tab-separated, `\N` for NULL).
fn field(buf: &mut String, value: Option<&str>) {
    match value {
        None => buf.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => buf.push_str("\\\\"),
                    '\n' => buf.push_str("\\n"),
                    '\r' => buf.push_str("\\r"),
                    '\t' => buf.push_str("\\t"),
                    c => buf.push(c),
                }
            }
        }
    }
}

fn num(buf: &mut String, value: Option<i64>) {
    match value {
        None => buf.push_str("\\N"),
        Some(v) => {
            let _ = write!(buf, "{v}");
        }
    }
}

fn time(buf: &mut String, value: Option<&DateTime<Utc>>) {
    match value {
        None => buf.push_str("\\N"),
        Some(t) => buf.push_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// The batch as `COPY` text rows of `posts_stage` (`n` = the post's place in the batch).
fn posts_copy(batch: &[NewPost]) -> String {
    let mut buf = String::with_capacity(batch.len() * 512);
    for (i, np) in batch.iter().enumerate() {
        let p = &np.post;
        num(&mut buf, Some(i as i64));
        for v in [
            Some(p.platform.as_str()),
            Some(p.platform_id.as_str()),
            Some(p.kind.as_str()),
            p.parent_id.as_deref(),
            p.root_id.as_deref(),
            p.author.as_deref(),
            Some(p.text.as_str()),
            p.lang.as_deref(),
        ] {
            buf.push('\t');
            field(&mut buf, v);
        }
        buf.push('\t');
        time(&mut buf, p.created_at.as_ref());
        buf.push('\t');
        time(&mut buf, Some(&p.collected_at));
        for v in [p.repost_count, p.comment_count, p.like_count] {
            buf.push('\t');
            num(&mut buf, Some(v));
        }
        buf.push('\t');
        field(&mut buf, p.region.as_deref());
        buf.push('\t');
        field(&mut buf, Some(&p.content_hash));
        buf.push('\t');
        num(&mut buf, p.simhash);
        for v in [np.dup_group.as_deref(), np.dup_kind, p.raw.as_deref()] {
            buf.push('\t');
            field(&mut buf, v);
        }
        buf.push('\n');
    }
    buf
}

/// The batch's authors as `COPY` rows (`n` orders them: each fact takes its newest known
/// value, as a sequence of COALESCE upserts would).
fn authors_copy(batch: &[NewPost]) -> String {
    let mut buf = String::new();
    for (i, np) in batch.iter().enumerate() {
        let Some(a) = &np.post.author_info else {
            continue;
        };
        num(&mut buf, Some(i as i64));
        buf.push('\t');
        field(&mut buf, Some(&np.post.platform));
        buf.push('\t');
        field(&mut buf, Some(&a.pseudonym));
        buf.push('\t');
        num(&mut buf, a.verified_type);
        buf.push('\t');
        field(&mut buf, a.follower_bucket.as_deref());
        buf.push('\t');
        field(&mut buf, a.region.as_deref());
        buf.push('\n');
    }
    buf
}

async fn copy(
    conn: &mut sqlx::PgConnection,
    statement: &str,
    data: String,
) -> Result<u64, sqlx::Error> {
    let mut copy = conn.copy_in_raw(statement).await?;
    for chunk in data.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    copy.finish().await
}

pub(crate) async fn insert_posts(
    pool: &PgPool,
    batch: &[NewPost],
    source_id: Option<i64>,
    run_id: Option<i64>,
    on_conflict: OnConflict,
    topics: &mut TopicCache,
) -> Result<InsertReport, StoreError> {
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    sqlx::query(STAGE).execute(&mut *tx).await?;
    copy(&mut tx, COPY_POSTS, posts_copy(batch)).await?;
    if on_conflict == OnConflict::UpdateCounts {
        sqlx::query(
            "UPDATE posts p SET repost_count = s.repost_count, comment_count = s.comment_count, \
             like_count = s.like_count, region = COALESCE(s.region, p.region) \
             FROM posts_stage s WHERE p.platform = s.platform AND p.platform_id = s.platform_id",
        )
        .execute(&mut *tx)
        .await?;
    }
    // The first of repeated ids in one batch wins, as with row-by-row inserts, and ids are
    // given in input order.
    let inserted = sqlx::query(
        "INSERT INTO posts (platform, platform_id, source_id, run_id, kind, parent_platform_id, root_platform_id, \
         author, text, lang, created_at, collected_at, repost_count, comment_count, like_count, region, content_hash, \
         simhash, dup_group, dup_kind, raw) \
         SELECT platform, platform_id, $1, $2, kind, parent_platform_id, root_platform_id, author, text, lang, \
         created_at, collected_at, repost_count, comment_count, like_count, region, content_hash, simhash, dup_group, \
         dup_kind, raw FROM (SELECT DISTINCT ON (platform, platform_id) * FROM posts_stage \
         ORDER BY platform, platform_id, n) s ORDER BY n \
         ON CONFLICT (platform, platform_id) DO NOTHING",
    )
    .bind(source_id)
    .bind(run_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();

    let authors = authors_copy(batch);
    if !authors.is_empty() {
        sqlx::query(AUTHORS_STAGE).execute(&mut *tx).await?;
        copy(&mut tx, COPY_AUTHORS, authors).await?;
        sqlx::query(
            "INSERT INTO authors (platform, pseudonym, verified_type, follower_bucket, region, first_seen, last_seen) \
             SELECT platform, pseudonym, \
             (array_agg(verified_type ORDER BY n DESC) FILTER (WHERE verified_type IS NOT NULL))[1], \
             (array_agg(follower_bucket ORDER BY n DESC) FILTER (WHERE follower_bucket IS NOT NULL))[1], \
             (array_agg(region ORDER BY n DESC) FILTER (WHERE region IS NOT NULL))[1], $1, $1 \
             FROM authors_stage GROUP BY platform, pseudonym \
             ON CONFLICT (platform, pseudonym) DO UPDATE SET \
             verified_type = COALESCE(excluded.verified_type, authors.verified_type), \
             follower_bucket = COALESCE(excluded.follower_bucket, authors.follower_bucket), \
             region = COALESCE(excluded.region, authors.region), last_seen = excluded.last_seen",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }

    // Topic links: make sure every topic has an id, then link every post of the batch.
    let mut staged: HashMap<(String, String), i64> = HashMap::new();
    for np in batch {
        for t in &np.post.topics {
            let key = (np.post.platform.clone(), t.clone());
            if topics.get(&key.0, &key.1).is_some() || staged.contains_key(&key) {
                continue;
            }
            sqlx::query(
                "INSERT INTO topics (platform, keyword, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (platform, keyword) DO NOTHING",
            )
            .bind(&key.0)
            .bind(&key.1)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let id: i64 =
                sqlx::query_scalar("SELECT id FROM topics WHERE platform = $1 AND keyword = $2")
                    .bind(&key.0)
                    .bind(&key.1)
                    .fetch_one(&mut *tx)
                    .await?;
            staged.insert(key, id);
        }
    }
    let (mut ns, mut topic_ids) = (Vec::new(), Vec::new());
    for (i, np) in batch.iter().enumerate() {
        for t in &np.post.topics {
            let id = topics
                .get(&np.post.platform, t)
                .or_else(|| staged.get(&(np.post.platform.clone(), t.clone())).copied());
            if let Some(id) = id {
                ns.push(i as i32);
                topic_ids.push(id);
            }
        }
    }
    if !ns.is_empty() {
        sqlx::query(
            "INSERT INTO post_topics (post_id, topic_id) \
             SELECT DISTINCT p.id, l.topic_id FROM UNNEST($1::int4[], $2::int8[]) AS l(n, topic_id) \
             JOIN posts_stage s ON s.n = l.n JOIN posts p ON p.platform = s.platform AND p.platform_id = s.platform_id \
             ON CONFLICT (post_id, topic_id) DO NOTHING",
        )
        .bind(&ns)
        .bind(&topic_ids)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    // Topic ids become known to the writer only once they are committed.
    for ((platform, keyword), id) in staged {
        topics.insert(&platform, &keyword, id);
    }
    Ok(InsertReport {
        inserted,
        existing: batch.len() as u64 - inserted.min(batch.len() as u64),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_fields_escape_what_the_text_format_needs() {
        let mut buf = String::new();
        super::field(&mut buf, Some("a\tb\\c\nd\re"));
        assert_eq!(buf, "a\\tb\\\\c\\nd\\re");
        buf.clear();
        super::field(&mut buf, None);
        assert_eq!(buf, "\\N");
    }
}

//! The SQLite fast path for bulk inserts.
//!
//! sqlx passes every bound value through its worker thread and re-binds whole multi-row
//! statements; for million-post imports into the embedded default that overhead dominates.
//! Here the batch runs on sqlx's own pooled connection, locked for us, through rusqlite's
//! prepared single-row statements inside one `BEGIN IMMEDIATE` transaction (opened and
//! committed through sqlx, so a busy database is waited out off the runtime's thread): the same SQL
//! semantics as the generic path (insert-or-ignore on `(platform, platform_id)`, author
//! upserts, topic links), and the same text encoding of timestamps as sqlx uses, so rows
//! written here read back identically through sqlx.

use crate::posts::{NewPost, OnConflict};
use crate::{InsertReport, StoreError, TopicCache};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sqlx::SqlitePool;

/// sqlx's text form of a timestamp on SQLite.
fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Invalid(format!("sqlite: {e}"))
}

pub(crate) async fn insert_posts(
    pool: &SqlitePool,
    batch: &[NewPost],
    source_id: Option<i64>,
    run_id: Option<i64>,
    on_conflict: OnConflict,
    topics: &mut TopicCache,
) -> Result<InsertReport, StoreError> {
    // The write lock is taken through sqlx, whose worker thread waits out a busy database:
    // waiting here, on the runtime's thread, would starve a task of this process that holds
    // the lock in a transaction of its own and needs the thread to finish it.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut staged = TopicCache::new();
    let result = {
        let mut handle = tx.lock_handle().await?;
        let raw = handle.as_raw_handle();
        // SAFETY: `lock_handle` gives us exclusive use of this connection until `handle` is
        // dropped (sqlx's worker does not touch it meanwhile); rusqlite's `from_handle`
        // borrows the handle without closing it on drop, and `db` is dropped before `handle`.
        let db = unsafe { Connection::from_handle(raw.as_ptr()) }.map_err(sql_err)?;
        let result = write_in_tx(
            &db,
            batch,
            source_id,
            run_id,
            on_conflict,
            topics,
            &mut staged,
        );
        drop(db);
        drop(handle);
        result
    };
    match result {
        Ok(report) => {
            tx.commit().await?;
            // Topic ids become known to the writer only once they are committed.
            topics.merge(staged);
            Ok(report)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

fn write_in_tx(
    db: &Connection,
    batch: &[NewPost],
    source_id: Option<i64>,
    run_id: Option<i64>,
    on_conflict: OnConflict,
    topics: &TopicCache,
    staged: &mut TopicCache,
) -> Result<InsertReport, StoreError> {
    let now = ts(&Utc::now());
    let mut insert = db
        .prepare_cached(
            "INSERT INTO posts (platform, platform_id, source_id, run_id, kind, parent_platform_id, root_platform_id, author, text, lang, \
             created_at, collected_at, repost_count, comment_count, like_count, region, content_hash, simhash, dup_group, dup_kind, raw) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) \
             ON CONFLICT (platform, platform_id) DO NOTHING",
        )
        .map_err(sql_err)?;
    let mut existing_id = db
        .prepare_cached("SELECT id FROM posts WHERE platform = ?1 AND platform_id = ?2")
        .map_err(sql_err)?;
    let mut refresh = db
        .prepare_cached(
            "UPDATE posts SET repost_count = ?1, comment_count = ?2, like_count = ?3, region = COALESCE(?4, region) WHERE id = ?5",
        )
        .map_err(sql_err)?;
    let mut author = db
        .prepare_cached(
            "INSERT INTO authors (platform, pseudonym, verified_type, follower_bucket, region, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (platform, pseudonym) DO UPDATE SET \
             verified_type = COALESCE(excluded.verified_type, authors.verified_type), \
             follower_bucket = COALESCE(excluded.follower_bucket, authors.follower_bucket), \
             region = COALESCE(excluded.region, authors.region), last_seen = excluded.last_seen",
        )
        .map_err(sql_err)?;
    let mut topic_insert = db
        .prepare_cached(
            "INSERT INTO topics (platform, keyword, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3) ON CONFLICT (platform, keyword) DO NOTHING",
        )
        .map_err(sql_err)?;
    let mut topic_select = db
        .prepare_cached("SELECT id FROM topics WHERE platform = ?1 AND keyword = ?2")
        .map_err(sql_err)?;
    let mut link = db
        .prepare_cached("INSERT INTO post_topics (post_id, topic_id) VALUES (?1, ?2) ON CONFLICT (post_id, topic_id) DO NOTHING")
        .map_err(sql_err)?;

    let mut report = InsertReport::default();

    for np in batch {
        let p = &np.post;
        let created = p.created_at.as_ref().map(ts);
        let inserted = insert
            .execute(params![
                p.platform,
                p.platform_id,
                source_id,
                run_id,
                p.kind.as_str(),
                p.parent_id,
                p.root_id,
                p.author,
                p.text,
                p.lang,
                created,
                ts(&p.collected_at),
                p.repost_count,
                p.comment_count,
                p.like_count,
                p.region,
                p.content_hash,
                p.simhash,
                np.dup_group,
                np.dup_kind,
                p.raw,
            ])
            .map_err(sql_err)?;
        let post_id = if inserted == 1 {
            report.inserted += 1;
            Some(db.last_insert_rowid())
        } else {
            report.existing += 1;
            let needs_id = on_conflict == OnConflict::UpdateCounts || !p.topics.is_empty();
            let id: Option<i64> = if needs_id {
                existing_id
                    .query_row(params![p.platform, p.platform_id], |r| r.get(0))
                    .optional()
                    .map_err(sql_err)?
            } else {
                None
            };
            if let (Some(id), OnConflict::UpdateCounts) = (id, on_conflict) {
                refresh
                    .execute(params![
                        p.repost_count,
                        p.comment_count,
                        p.like_count,
                        p.region,
                        id
                    ])
                    .map_err(sql_err)?;
            }
            id
        };
        let Some(post_id) = post_id else { continue };
        for keyword in &p.topics {
            let topic_id = match topics
                .get(&p.platform, keyword)
                .or_else(|| staged.get(&p.platform, keyword))
            {
                Some(id) => id,
                None => {
                    topic_insert
                        .execute(params![p.platform, keyword, now])
                        .map_err(sql_err)?;
                    let id: i64 = topic_select
                        .query_row(params![p.platform, keyword], |r| r.get(0))
                        .map_err(sql_err)?;
                    staged.insert(&p.platform, keyword, id);
                    id
                }
            };
            link.execute(params![post_id, topic_id]).map_err(sql_err)?;
        }
    }
    // Each author once per batch, in key order (neighbouring keys share B-tree pages).
    for (platform, a) in crate::posts::distinct_authors(batch) {
        author
            .execute(params![
                platform,
                a.pseudonym,
                a.verified_type,
                a.follower_bucket,
                a.region,
                now
            ])
            .map_err(sql_err)?;
    }
    Ok(report)
}

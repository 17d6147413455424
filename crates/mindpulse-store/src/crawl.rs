//! Crawl bookkeeping: jobs (one per crawl invocation that has not finished), their
//! resumable tasks (query, cursor, status), per-run coverage, hot-search topics with rank
//! history, and the look-ups a crawler needs to tell new items from known ones.
//!
//! A crawler keeps *all* of its position here, never in memory only: a killed run is
//! resumed by the next one from the stored task cursors. Nothing stored here may identify
//! a person: task queries hold post/comment ids, topics and hashtags, never a cookie or a
//! raw user id.

use crate::{on_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashSet;

/// A crawl job: the unit a crawl command resumes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrawlJob {
    pub id: i64,
    /// Stable name of what the job does (e.g. `weibo:run`, `mastodon:host:tag`); a new
    /// invocation with the same name resumes an unfinished job.
    pub name: String,
    pub platform: String,
    /// `running`, `interrupted`, `done` or `failed`.
    pub status: String,
    /// The job's parameters as JSON.
    pub spec: Option<String>,
    /// The run currently (or last) working on the job.
    pub run_id: Option<i64>,
    /// `host:pid` of the process holding the job.
    pub owner: Option<String>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// A task to add to a job.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCrawlTask {
    /// Unique within the job (adding the same key twice adds nothing).
    pub key: String,
    pub kind: String,
    /// Lower runs first.
    pub priority: i64,
    /// What to fetch, as JSON (no raw user ids).
    pub query: String,
}

/// A stored task with its cursor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrawlTask {
    pub id: i64,
    pub job_id: i64,
    pub key: String,
    pub kind: String,
    pub priority: i64,
    pub query: String,
    /// Where the task stopped, as JSON; None before the first page.
    pub cursor: Option<String>,
    /// `pending`, `running`, `done`, `failed`, `skipped` or `retried` (a failed task a
    /// later job took up).
    pub status: String,
    pub reported_total: Option<i64>,
    /// How many later jobs took this task up again after it failed.
    pub attempts: i64,
}

/// A stored post's conversation as far as it is collected: the totals the platform
/// reported with the post, and the comments (replies included) and reposts stored under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationState {
    pub platform_id: String,
    pub comment_count: i64,
    pub repost_count: i64,
    pub comments_stored: i64,
    pub reposts_stored: i64,
    /// An earlier crawl read the post's comment pages to the end (set by the caller from
    /// [`Store::done_crawl_task_keys`]).
    pub comments_read_to_end: bool,
    /// An earlier crawl read the post's repost pages to the end.
    pub reposts_read_to_end: bool,
}

impl ConversationState {
    /// Every comment the platform reported is stored, or an earlier crawl read them all
    /// (the reported total counts deleted and hidden comments too).
    pub fn comments_complete(&self) -> bool {
        self.comments_read_to_end || self.comments_stored >= self.comment_count
    }

    /// Every repost the platform reported is stored, or an earlier crawl read them all.
    pub fn reposts_complete(&self) -> bool {
        self.reposts_read_to_end || self.reposts_stored >= self.repost_count
    }
}

/// Which stored posts a conversation crawl is for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostSelection {
    /// A topic keyword (matched with and without the surrounding `#`).
    pub topic: Option<String>,
    /// Created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Created before this time.
    pub until: Option<DateTime<Utc>>,
}

/// What a run saw for one query: the coverage report's row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub run_id: i64,
    /// The task key (unique per run).
    pub key: String,
    pub platform: String,
    pub kind: String,
    /// Human-readable query (`#topic# 2026-11-20..2026-11-22`, `comments of 49…`).
    pub query: String,
    pub pages_asked: i64,
    pub pages_fetched: i64,
    pub pages_failed: i64,
    pub items_seen: i64,
    pub items_new: i64,
    pub items_duplicate: i64,
    /// The total the platform reported, where the response carries one.
    pub reported_total: Option<i64>,
}

/// One hot-search entry as seen at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSighting {
    pub keyword: String,
    pub rank: Option<i64>,
    pub heat: Option<i64>,
    pub label: Option<String>,
    pub note: Option<String>,
}

/// A row of the `topics` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicRecord {
    pub id: i64,
    pub platform: String,
    pub keyword: String,
    pub rank: Option<i64>,
    pub heat: Option<i64>,
    pub label: Option<String>,
    pub note: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Number of rank-history rows.
    pub sightings: i64,
}

/// A row of the `authors` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorRecord {
    pub pseudonym: String,
    pub verified_type: Option<i64>,
    pub follower_bucket: Option<String>,
    pub region: Option<String>,
}

const JOB_COLUMNS: &str =
    "id, name, platform, status, spec, run_id, owner, started_at, heartbeat_at, finished_at, note";
const TASK_COLUMNS: &str =
    "id, job_id, task_key, kind, priority, query, cursor_json, status, reported_total, attempts";

/// Reads a [`CrawlJob`] from a row of any backend (a macro: the row types differ).
macro_rules! job_from_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<CrawlJob, sqlx::Error>(CrawlJob {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            platform: row.try_get("platform")?,
            status: row.try_get("status")?,
            spec: row.try_get("spec")?,
            run_id: row.try_get("run_id")?,
            owner: row.try_get("owner")?,
            started_at: row.try_get("started_at")?,
            heartbeat_at: row.try_get("heartbeat_at")?,
            finished_at: row.try_get("finished_at")?,
            note: row.try_get("note")?,
        })
    }};
}

/// Reads a [`CrawlTask`] from a row of any backend.
macro_rules! task_from_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<CrawlTask, sqlx::Error>(CrawlTask {
            id: row.try_get("id")?,
            job_id: row.try_get("job_id")?,
            key: row.try_get("task_key")?,
            kind: row.try_get("kind")?,
            priority: row.try_get("priority")?,
            query: row.try_get("query")?,
            cursor: row.try_get("cursor_json")?,
            status: row.try_get("status")?,
            reported_total: row.try_get("reported_total")?,
            attempts: row.try_get("attempts")?,
        })
    }};
}

impl Store {
    /// The newest job called `name`, whatever its status.
    pub async fn latest_crawl_job(&self, name: &str) -> Result<Option<CrawlJob>, StoreError> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM crawl_jobs WHERE name = ? ORDER BY id DESC LIMIT 1");
        let sql = self.dialect.sql(&sql);
        let job = on_pool!(&self.pool, p => {
            match sqlx::query(&sql).bind(name).fetch_optional(p).await? {
                Some(row) => Some(job_from_row!(&row)?),
                None => None,
            }
        });
        Ok(job)
    }

    /// The job with this id.
    pub async fn crawl_job(&self, id: i64) -> Result<Option<CrawlJob>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM crawl_jobs WHERE id = ?");
        let sql = self.dialect.sql(&sql);
        let job = on_pool!(&self.pool, p => {
            match sqlx::query(&sql).bind(id).fetch_optional(p).await? {
                Some(row) => Some(job_from_row!(&row)?),
                None => None,
            }
        });
        Ok(job)
    }

    /// Creates a job in status `running`, held by `owner` for `run_id`.
    pub async fn create_crawl_job(
        &self,
        name: &str,
        platform: &str,
        spec: &str,
        owner: &str,
        run_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let now = Utc::now();
        let cols = "(name, platform, status, spec, run_id, owner, started_at, heartbeat_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)";
        let id: i64 = match &self.pool {
            crate::Pool::MySql(p) => {
                let sql = format!("INSERT INTO crawl_jobs {cols}");
                let res = sqlx::query(&sql)
                    .bind(name)
                    .bind(platform)
                    .bind(spec)
                    .bind(run_id)
                    .bind(owner)
                    .bind(now)
                    .bind(now)
                    .execute(p)
                    .await?;
                i64::try_from(res.last_insert_id())
                    .map_err(|_| StoreError::Invalid("job id overflow".into()))?
            }
            pool => {
                let sql = format!("INSERT INTO crawl_jobs {cols} RETURNING id");
                let sql = self.dialect.sql(&sql);
                on_pool!(pool, p => sqlx::query_scalar(&sql)
                    .bind(name)
                    .bind(platform)
                    .bind(spec)
                    .bind(run_id)
                    .bind(owner)
                    .bind(now)
                    .bind(now)
                    .fetch_one(p)
                    .await?)
            }
        };
        Ok(id)
    }

    /// Takes over an unfinished job: status `running`, the new owner and run.
    ///
    /// Succeeds only when the job still has the status and owner the caller saw
    /// (`expect_owner`), so two processes cannot both take over the same job.
    pub async fn claim_crawl_job(
        &self,
        id: i64,
        expect_status: &str,
        expect_owner: Option<&str>,
        owner: &str,
        run_id: Option<i64>,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let sql = self.dialect.sql(
            "UPDATE crawl_jobs SET status = 'running', owner = ?, run_id = ?, heartbeat_at = ?, finished_at = NULL, note = NULL \
             WHERE id = ? AND status = ? AND (owner = ? OR (owner IS NULL AND ? IS NULL))",
        );
        let n = on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(owner)
            .bind(run_id)
            .bind(now)
            .bind(id)
            .bind(expect_status)
            .bind(expect_owner)
            .bind(expect_owner)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Marks the job as alive now.
    pub async fn heartbeat_crawl_job(&self, id: i64) -> Result<(), StoreError> {
        let sql = self
            .dialect
            .sql("UPDATE crawl_jobs SET heartbeat_at = ? WHERE id = ?");
        on_pool!(&self.pool, p => sqlx::query(&sql).bind(Utc::now()).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends (`done`, `failed`) or pauses (`interrupted`) a job, with a note.
    pub async fn finish_crawl_job(
        &self,
        id: i64,
        status: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let finished = if status == "done" || status == "failed" {
            Some(now)
        } else {
            None
        };
        let sql = self
            .dialect
            .sql("UPDATE crawl_jobs SET status = ?, heartbeat_at = ?, finished_at = ?, note = ? WHERE id = ?");
        on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(status)
            .bind(now)
            .bind(finished)
            .bind(note)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Adds tasks to a job; keys already present are left alone. Returns how many were new.
    pub async fn add_crawl_tasks(
        &self,
        job_id: i64,
        tasks: &[NewCrawlTask],
    ) -> Result<u64, StoreError> {
        if tasks.is_empty() {
            return Ok(0);
        }
        let d = self.dialect;
        let prefix = format!(
            "{} crawl_tasks (job_id, task_key, kind, priority, query, status, updated_at) ",
            d.insert_ignore()
        );
        let suffix = d.ignore_suffix("job_id, task_key");
        let now = Utc::now();
        let rows = (d.max_params() / 7).max(1);
        let n = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut n = 0u64;
            for chunk in tasks.chunks(rows) {
                let mut qb = sqlx::QueryBuilder::new(&prefix);
                qb.push_values(chunk, |mut b, t| {
                    b.push_bind(job_id)
                        .push_bind(t.key.as_str())
                        .push_bind(t.kind.as_str())
                        .push_bind(t.priority)
                        .push_bind(t.query.as_str())
                        .push_bind("pending")
                        .push_bind(now);
                });
                qb.push(&suffix);
                n += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// The next task to work on: an unfinished one (`running` first: it was cut short),
    /// lowest priority value first, then oldest.
    pub async fn next_crawl_task(&self, job_id: i64) -> Result<Option<CrawlTask>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM crawl_tasks WHERE job_id = ? AND status IN ('pending', 'running') \
             ORDER BY priority, CASE WHEN status = 'running' THEN 0 ELSE 1 END, id LIMIT 1"
        );
        let sql = self.dialect.sql(&sql);
        let task = on_pool!(&self.pool, p => {
            match sqlx::query(&sql).bind(job_id).fetch_optional(p).await? {
                Some(row) => Some(task_from_row!(&row)?),
                None => None,
            }
        });
        Ok(task)
    }

    /// Like [`Store::next_crawl_task`], leaving out the tasks in `busy` (being worked on by
    /// this process's other steps).
    pub async fn next_crawl_task_except(
        &self,
        job_id: i64,
        busy: &[i64],
    ) -> Result<Option<CrawlTask>, StoreError> {
        if busy.is_empty() {
            return self.next_crawl_task(job_id).await;
        }
        let marks = vec!["?"; busy.len()].join(", ");
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM crawl_tasks WHERE job_id = ? AND status IN ('pending', 'running') \
             AND id NOT IN ({marks}) \
             ORDER BY priority, CASE WHEN status = 'running' THEN 0 ELSE 1 END, id LIMIT 1"
        );
        let sql = self.dialect.sql(&sql);
        let task = on_pool!(&self.pool, p => {
            let mut q = sqlx::query(&sql).bind(job_id);
            for id in busy {
                q = q.bind(*id);
            }
            match q.fetch_optional(p).await? {
                Some(row) => Some(task_from_row!(&row)?),
                None => None,
            }
        });
        Ok(task)
    }

    /// Takes up the failed tasks of `kinds` that jobs of `platform` left (a page that failed
    /// after its retries, with the cursor it failed at): each is copied into `job_id` as
    /// pending, with one more attempt, and the old row becomes `retried` (the job's own
    /// failed tasks are simply opened again). Tasks of other jobs still running and tasks
    /// tried `max_attempts` times are left alone; a key `job_id` already has is not copied
    /// (the job does that work anyway). Returns how many were taken up.
    pub async fn adopt_failed_crawl_tasks(
        &self,
        platform: &str,
        job_id: i64,
        kinds: &[&str],
        max_attempts: i64,
    ) -> Result<u64, StoreError> {
        if kinds.is_empty() {
            return Ok(0);
        }
        let marks = vec!["?"; kinds.len()].join(", ");
        let find_sql = format!(
            "SELECT t.id, t.job_id, t.task_key, t.kind, t.priority, t.query, t.cursor_json, t.status, t.reported_total, t.attempts \
             FROM crawl_tasks t JOIN crawl_jobs j ON j.id = t.job_id \
             WHERE t.status = 'failed' AND t.kind IN ({marks}) AND j.platform = ? \
             AND (j.status <> 'running' OR t.job_id = ?) AND t.attempts < ? ORDER BY t.id"
        );
        let find = self.dialect.sql(&find_sql);
        let taken = self.dialect.sql(
            "UPDATE crawl_tasks SET status = 'retried', updated_at = ? WHERE id = ? AND status = 'failed'",
        );
        let reopen = self.dialect.sql(
            "UPDATE crawl_tasks SET status = 'pending', attempts = attempts + 1, updated_at = ? WHERE id = ? AND status = 'failed'",
        );
        let d = self.dialect;
        let insert_sql = format!(
            "{} crawl_tasks (job_id, task_key, kind, priority, query, cursor_json, status, reported_total, attempts, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?){}",
            d.insert_ignore(),
            d.ignore_suffix("job_id, task_key")
        );
        let insert = d.sql(&insert_sql);
        let n = on_pool!(&self.pool, p => {
            let mut q = sqlx::query(&find);
            for k in kinds {
                q = q.bind(*k);
            }
            let rows = q.bind(platform).bind(job_id).bind(max_attempts).fetch_all(p).await?;
            let mut failed = Vec::with_capacity(rows.len());
            for row in &rows {
                failed.push(task_from_row!(row)?);
            }
            let mut n = 0u64;
            for t in failed {
                if t.job_id == job_id {
                    // The job's own failed task (a resumed job): open again in place.
                    n += sqlx::query(&reopen).bind(Utc::now()).bind(t.id).execute(p).await?.rows_affected();
                    continue;
                }
                let mut tx = p.begin().await?;
                let now = Utc::now();
                let claimed = sqlx::query(&taken).bind(now).bind(t.id).execute(&mut *tx).await?.rows_affected();
                if claimed == 1 {
                    n += sqlx::query(&insert)
                        .bind(job_id)
                        .bind(t.key.as_str())
                        .bind(t.kind.as_str())
                        .bind(t.priority)
                        .bind(t.query.as_str())
                        .bind(t.cursor.as_deref())
                        .bind(t.reported_total)
                        .bind(t.attempts + 1)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
            }
            n
        });
        Ok(n)
    }

    /// Failed tasks of `platform` that no later job has taken up yet (the next crawl
    /// retries those with fewer than `max_attempts` attempts).
    pub async fn failed_crawl_tasks(&self, platform: &str) -> Result<Vec<CrawlTask>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT t.id, t.job_id, t.task_key, t.kind, t.priority, t.query, t.cursor_json, t.status, t.reported_total, t.attempts \
             FROM crawl_tasks t JOIN crawl_jobs j ON j.id = t.job_id WHERE t.status = 'failed' AND j.platform = ? ORDER BY t.id",
        );
        let tasks = on_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql).bind(platform).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(task_from_row!(row)?);
            }
            out
        });
        Ok(tasks)
    }

    /// Platform ids of the stored posts and reposts (not comments) of `platform` that
    /// `selection` picks, oldest first.
    pub async fn select_post_ids(
        &self,
        platform: &str,
        selection: &PostSelection,
    ) -> Result<Vec<String>, StoreError> {
        let mut sql = String::from(
            "SELECT platform_id FROM posts WHERE platform = ? AND kind IN ('post', 'repost')",
        );
        if selection.since.is_some() {
            sql.push_str(" AND created_at >= ?");
        }
        if selection.until.is_some() {
            sql.push_str(" AND created_at < ?");
        }
        let topic = selection.topic.as_deref().map(|t| {
            let bare = t.trim().trim_matches('#').trim().to_string();
            (format!("#{bare}#"), bare)
        });
        if topic.is_some() {
            // Exactly these keywords, on MySQL too (whose collation folds case and accents).
            let eq = self.dialect.exact_eq("t.keyword");
            sql.push_str(&format!(
                " AND id IN (SELECT pt.post_id FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE ({eq}) OR ({eq}))"
            ));
        }
        sql.push_str(" ORDER BY created_at, platform_id");
        let sql = self.dialect.sql(&sql);
        let ids = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_scalar::<_, String>(&sql).bind(platform);
            if let Some(s) = selection.since {
                q = q.bind(s);
            }
            if let Some(u) = selection.until {
                q = q.bind(u);
            }
            if let Some((hashed, bare)) = &topic {
                for k in [hashed, bare] {
                    q = q.bind(k.as_str());
                    if self.dialect.exact_binds_twice() {
                        q = q.bind(k.as_str());
                    }
                }
            }
            q.fetch_all(p).await?
        });
        Ok(ids)
    }

    /// How complete the stored conversation of each of these posts is (posts not stored are
    /// left out).
    pub async fn conversation_states(
        &self,
        platform: &str,
        platform_ids: &[String],
    ) -> Result<Vec<ConversationState>, StoreError> {
        let mut out = Vec::with_capacity(platform_ids.len());
        let per = (self.dialect.max_params() - 1).clamp(1, 500);
        for chunk in platform_ids.chunks(per) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql_text = format!(
                "SELECT p.platform_id, p.comment_count, p.repost_count, \
                 (SELECT COUNT(*) FROM posts c WHERE c.platform = p.platform AND c.root_platform_id = p.platform_id AND c.kind = 'comment') AS comments_stored, \
                 (SELECT COUNT(*) FROM posts r WHERE r.platform = p.platform AND r.root_platform_id = p.platform_id AND r.kind = 'repost') AS reposts_stored \
                 FROM posts p WHERE p.platform = ? AND p.platform_id IN ({marks}) ORDER BY p.platform_id"
            );
            let sql = self.dialect.sql(&sql_text);
            let rows = on_pool!(&self.pool, p => {
                let mut q = sqlx::query(&sql).bind(platform);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                let rows = q.fetch_all(p).await?;
                let mut v = Vec::with_capacity(rows.len());
                for row in rows {
                    v.push(ConversationState {
                        platform_id: row.try_get("platform_id")?,
                        comment_count: row.try_get("comment_count")?,
                        repost_count: row.try_get("repost_count")?,
                        comments_stored: row.try_get("comments_stored")?,
                        reposts_stored: row.try_get("reposts_stored")?,
                        comments_read_to_end: false,
                        reposts_read_to_end: false,
                    });
                }
                v
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Which of `keys` name a task of `platform` that some job finished (read to its end).
    pub async fn done_crawl_task_keys(
        &self,
        platform: &str,
        keys: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        let per = (self.dialect.max_params() - 1).clamp(1, 500);
        for chunk in keys.chunks(per) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql_text = format!(
                "SELECT DISTINCT t.task_key FROM crawl_tasks t JOIN crawl_jobs j ON j.id = t.job_id \
                 WHERE t.task_key IN ({marks}) AND t.status = 'done' AND j.platform = ?"
            );
            let sql = self.dialect.sql(&sql_text);
            let found: Vec<String> = on_pool!(&self.pool, p => {
                let mut q = sqlx::query_scalar(&sql);
                for k in chunk {
                    q = q.bind(k.as_str());
                }
                q.bind(platform).fetch_all(p).await?
            });
            out.extend(found);
        }
        Ok(out)
    }

    /// Every task of a job, in working order.
    pub async fn crawl_tasks(&self, job_id: i64) -> Result<Vec<CrawlTask>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM crawl_tasks WHERE job_id = ? ORDER BY priority, id"
        );
        let sql = self.dialect.sql(&sql);
        let tasks = on_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql).bind(job_id).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(task_from_row!(row)?);
            }
            out
        });
        Ok(tasks)
    }

    /// Saves a task's position (and status, and the platform's reported total when known).
    pub async fn save_crawl_task(
        &self,
        id: i64,
        cursor: Option<&str>,
        status: &str,
        reported_total: Option<i64>,
    ) -> Result<(), StoreError> {
        let sql = self.dialect.sql(
            "UPDATE crawl_tasks SET cursor_json = ?, status = ?, reported_total = COALESCE(?, reported_total), updated_at = ? WHERE id = ?",
        );
        on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(cursor)
            .bind(status)
            .bind(reported_total)
            .bind(Utc::now())
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Marks every unfinished task of a job with `status` (e.g. `skipped` when a time budget ends).
    pub async fn close_open_crawl_tasks(
        &self,
        job_id: i64,
        status: &str,
    ) -> Result<u64, StoreError> {
        let sql = self.dialect.sql(
            "UPDATE crawl_tasks SET status = ?, updated_at = ? WHERE job_id = ? AND status IN ('pending', 'running')",
        );
        let n = on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(status)
            .bind(Utc::now())
            .bind(job_id)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n)
    }

    /// Writes the coverage of one query in one run (absolute values; replaces the row).
    pub async fn record_coverage(&self, c: &Coverage) -> Result<(), StoreError> {
        let d = self.dialect;
        let sql = format!(
            "INSERT INTO crawl_coverage (run_id, task_key, platform, kind, query, pages_asked, pages_fetched, pages_failed, \
             items_seen, items_new, items_duplicate, reported_total, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?){}",
            d.upsert_suffix(
                "run_id, task_key",
                "crawl_coverage",
                &[
                    "pages_asked",
                    "pages_fetched",
                    "pages_failed",
                    "items_seen",
                    "items_new",
                    "items_duplicate",
                    "reported_total",
                    "updated_at"
                ],
                false
            )
        );
        let sql = d.sql(&sql);
        on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(c.run_id)
            .bind(c.key.as_str())
            .bind(c.platform.as_str())
            .bind(c.kind.as_str())
            .bind(c.query.as_str())
            .bind(c.pages_asked)
            .bind(c.pages_fetched)
            .bind(c.pages_failed)
            .bind(c.items_seen)
            .bind(c.items_new)
            .bind(c.items_duplicate)
            .bind(c.reported_total)
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Coverage rows of one run, or of the latest crawl run that has any when `run_id` is None.
    pub async fn coverage(&self, run_id: Option<i64>) -> Result<Vec<Coverage>, StoreError> {
        let run_id = match run_id {
            Some(id) => id,
            None => {
                let latest: Option<i64> = on_pool!(&self.pool, p => sqlx::query_scalar("SELECT MAX(run_id) FROM crawl_coverage").fetch_one(p).await?);
                match latest {
                    Some(id) => id,
                    None => return Ok(Vec::new()),
                }
            }
        };
        let sql = self.dialect.sql(
            "SELECT run_id, task_key, platform, kind, query, pages_asked, pages_fetched, pages_failed, items_seen, items_new, \
             items_duplicate, reported_total FROM crawl_coverage WHERE run_id = ? ORDER BY updated_at, task_key",
        );
        let rows = on_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql).bind(run_id).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(Coverage {
                    run_id: row.try_get("run_id")?,
                    key: row.try_get("task_key")?,
                    platform: row.try_get("platform")?,
                    kind: row.try_get("kind")?,
                    query: row.try_get("query")?,
                    pages_asked: row.try_get("pages_asked")?,
                    pages_fetched: row.try_get("pages_fetched")?,
                    pages_failed: row.try_get("pages_failed")?,
                    items_seen: row.try_get("items_seen")?,
                    items_new: row.try_get("items_new")?,
                    items_duplicate: row.try_get("items_duplicate")?,
                    reported_total: row.try_get("reported_total")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Upserts hot-search topics seen at `seen_at`: rank, heat, label and note refreshed,
    /// `first_seen` kept, `last_seen` moved, and one rank-history row per topic and time.
    /// Returns the topic ids in input order.
    pub async fn upsert_topic_sightings(
        &self,
        platform: &str,
        seen_at: DateTime<Utc>,
        topics: &[TopicSighting],
    ) -> Result<Vec<i64>, StoreError> {
        let d = self.dialect;
        let rank = d.rank_col();
        let insert = format!(
            "{} topics (platform, keyword, {rank}, heat, label, note, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?){}",
            d.insert_ignore(),
            d.ignore_suffix("platform, keyword")
        );
        let insert = d.sql(&insert);
        let update = format!(
            "UPDATE topics SET {rank} = ?, heat = ?, label = COALESCE(?, label), note = COALESCE(?, note), last_seen = ? \
             WHERE platform = ? AND {}",
            d.exact_eq("keyword")
        );
        let update = d.sql(&update);
        let select = format!(
            "SELECT id FROM topics WHERE platform = ? AND {}",
            d.exact_eq("keyword")
        );
        let select = d.sql(&select);
        let twice = d.exact_binds_twice();
        let history = format!(
            "{} topic_ranks (topic_id, seen_at, {rank}, heat) VALUES (?, ?, ?, ?){}",
            d.insert_ignore(),
            d.ignore_suffix("topic_id, seen_at")
        );
        let history = d.sql(&history);
        let ids = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut ids = Vec::with_capacity(topics.len());
            for t in topics {
                sqlx::query(&insert)
                    .bind(platform)
                    .bind(t.keyword.as_str())
                    .bind(t.rank)
                    .bind(t.heat)
                    .bind(t.label.as_deref())
                    .bind(t.note.as_deref())
                    .bind(seen_at)
                    .bind(seen_at)
                    .execute(&mut *tx)
                    .await?;
                let mut up = sqlx::query(&update)
                    .bind(t.rank)
                    .bind(t.heat)
                    .bind(t.label.as_deref())
                    .bind(t.note.as_deref())
                    .bind(seen_at)
                    .bind(platform)
                    .bind(t.keyword.as_str());
                if twice {
                    up = up.bind(t.keyword.as_str());
                }
                up.execute(&mut *tx).await?;
                let mut sel = sqlx::query_scalar(&select).bind(platform).bind(t.keyword.as_str());
                if twice {
                    sel = sel.bind(t.keyword.as_str());
                }
                let id: i64 = sel.fetch_one(&mut *tx).await?;
                sqlx::query(&history).bind(id).bind(seen_at).bind(t.rank).bind(t.heat).execute(&mut *tx).await?;
                ids.push(id);
            }
            tx.commit().await?;
            ids
        });
        Ok(ids)
    }

    /// Topics of a platform, best (lowest) current rank first, then most recently seen.
    pub async fn topics(&self, platform: &str, limit: i64) -> Result<Vec<TopicRecord>, StoreError> {
        let rank = self.dialect.rank_col();
        let sql = format!(
            "SELECT t.id, t.platform, t.keyword, t.{rank} AS r, t.heat, t.label, t.note, t.first_seen, t.last_seen, \
             (SELECT COUNT(*) FROM topic_ranks h WHERE h.topic_id = t.id) AS sightings \
             FROM topics t WHERE t.platform = ? ORDER BY t.last_seen DESC, CASE WHEN t.{rank} IS NULL THEN 1 ELSE 0 END, t.{rank}, t.id LIMIT ?"
        );
        let sql = self.dialect.sql(&sql);
        let topics = on_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql).bind(platform).bind(limit).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(TopicRecord {
                    id: row.try_get("id")?,
                    platform: row.try_get("platform")?,
                    keyword: row.try_get("keyword")?,
                    rank: row.try_get("r")?,
                    heat: row.try_get("heat")?,
                    label: row.try_get("label")?,
                    note: row.try_get("note")?,
                    first_seen: row.try_get("first_seen")?,
                    last_seen: row.try_get("last_seen")?,
                    sightings: row.try_get("sightings")?,
                });
            }
            out
        });
        Ok(topics)
    }

    /// Which of `ids` are already stored as posts of `platform`.
    pub async fn existing_platform_ids(
        &self,
        platform: &str,
        ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        if ids.is_empty() {
            return Ok(found);
        }
        on_pool!(&self.pool, p => {
            for chunk in ids.chunks(1000) {
                let mut qb = sqlx::QueryBuilder::new("SELECT platform_id FROM posts WHERE platform = ");
                qb.push_bind(platform);
                qb.push(" AND platform_id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(id.as_str());
                }
                sep.push_unseparated(")");
                for row in qb.build().fetch_all(p).await? {
                    let id: String = row.try_get(0)?;
                    found.insert(id);
                }
            }
        });
        Ok(found)
    }

    /// Every author of a platform, by pseudonym.
    pub async fn authors(&self, platform: &str) -> Result<Vec<AuthorRecord>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT pseudonym, verified_type, follower_bucket, region FROM authors WHERE platform = ? ORDER BY pseudonym",
        );
        let out = on_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql).bind(platform).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(AuthorRecord {
                    pseudonym: row.try_get("pseudonym")?,
                    verified_type: row.try_get("verified_type")?,
                    follower_bucket: row.try_get("follower_bucket")?,
                    region: row.try_get("region")?,
                });
            }
            out
        });
        Ok(out)
    }

    /// Whether an author's profile facts (follower bucket) are already stored.
    pub async fn author_profiled(
        &self,
        platform: &str,
        pseudonym: &str,
    ) -> Result<bool, StoreError> {
        let sql = self.dialect.sql(
            "SELECT COUNT(*) FROM authors WHERE platform = ? AND pseudonym = ? AND follower_bucket IS NOT NULL",
        );
        let n: i64 = on_pool!(&self.pool, p => sqlx::query_scalar(&sql).bind(platform).bind(pseudonym).fetch_one(p).await?);
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;
    use crate::*;
    use chrono::{TimeZone, Utc};

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{name}: open: {e}"));
        let run = store
            .start_run(&NewRun {
                kind: Some(RunKind::Crawl),
                ..Default::default()
            })
            .await
            .unwrap();

        // Jobs: create, find, claim only with the expected owner, finish.
        assert!(store.latest_crawl_job("weibo:run").await.unwrap().is_none());
        let job = store
            .create_crawl_job("weibo:run", "weibo", "{}", "host:1", Some(run))
            .await
            .unwrap();
        let j = store.latest_crawl_job("weibo:run").await.unwrap().unwrap();
        assert_eq!(
            (j.id, j.status.as_str(), j.owner.as_deref(), j.run_id),
            (job, "running", Some("host:1"), Some(run))
        );
        assert!(
            !store
                .claim_crawl_job(job, "running", Some("host:2"), "host:3", Some(run))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            store
                .claim_crawl_job(job, "running", Some("host:1"), "host:3", Some(run))
                .await
                .unwrap(),
            "{name}"
        );
        store.heartbeat_crawl_job(job).await.unwrap();
        store
            .finish_crawl_job(job, "interrupted", Some("rate limited"))
            .await
            .unwrap();
        let j = store.crawl_job(job).await.unwrap().unwrap();
        assert_eq!(
            (j.status.as_str(), j.note.as_deref(), j.finished_at),
            ("interrupted", Some("rate limited"), None)
        );
        assert!(store
            .claim_crawl_job(job, "interrupted", Some("host:3"), "host:4", None)
            .await
            .unwrap());

        // Tasks: idempotent by key, worked in priority order, cursor saved.
        let t = |key: &str, kind: &str, priority: i64| NewCrawlTask {
            key: key.into(),
            kind: kind.into(),
            priority,
            query: format!("{{\"q\":\"{key}\"}}"),
        };
        let added = store
            .add_crawl_tasks(
                job,
                &[
                    t("b", "comments", 2),
                    t("a", "search", 1),
                    t("a", "search", 1),
                ],
            )
            .await
            .unwrap();
        assert_eq!(added, 2, "{name}");
        assert_eq!(
            store
                .add_crawl_tasks(job, &[t("a", "search", 1)])
                .await
                .unwrap(),
            0
        );
        let next = store.next_crawl_task(job).await.unwrap().unwrap();
        assert_eq!(
            (
                next.key.as_str(),
                next.status.as_str(),
                next.cursor.as_deref()
            ),
            ("a", "pending", None)
        );
        store
            .save_crawl_task(next.id, Some(r#"{"page":3}"#), "running", Some(120))
            .await
            .unwrap();
        let again = store.next_crawl_task(job).await.unwrap().unwrap();
        assert_eq!(
            (again.cursor.as_deref(), again.reported_total),
            (Some(r#"{"page":3}"#), Some(120))
        );
        store
            .save_crawl_task(next.id, None, "done", None)
            .await
            .unwrap();
        let next = store.next_crawl_task(job).await.unwrap().unwrap();
        assert_eq!(next.key, "b");
        assert_eq!(
            store.close_open_crawl_tasks(job, "skipped").await.unwrap(),
            1
        );
        assert!(store.next_crawl_task(job).await.unwrap().is_none());
        let all = store.crawl_tasks(job).await.unwrap();
        assert_eq!(
            all.iter().map(|t| t.status.as_str()).collect::<Vec<_>>(),
            vec!["done", "skipped"]
        );
        assert_eq!(
            all[0].reported_total,
            Some(120),
            "{name}: total kept when saving None"
        );

        // Coverage: one row per run and key, replaced on update; latest run by default.
        let mut c = Coverage {
            run_id: run,
            key: "a".into(),
            platform: "weibo".into(),
            kind: "search".into(),
            query: "#话题#".into(),
            pages_asked: 1,
            ..Default::default()
        };
        store.record_coverage(&c).await.unwrap();
        c.pages_asked = 3;
        c.pages_fetched = 2;
        c.pages_failed = 1;
        c.items_seen = 20;
        c.items_new = 15;
        c.items_duplicate = 5;
        c.reported_total = Some(99);
        store.record_coverage(&c).await.unwrap();
        assert_eq!(
            store.coverage(Some(run)).await.unwrap(),
            vec![c.clone()],
            "{name}"
        );
        assert_eq!(store.coverage(None).await.unwrap(), vec![c]);
        assert!(store.coverage(Some(run + 100)).await.unwrap().is_empty());

        // Hot topics: first/last seen, rank refreshed, one history row per sighting.
        let t1 = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        let t2 = Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap();
        let s = |kw: &str, rank: i64, heat: i64| TopicSighting {
            keyword: kw.into(),
            rank: Some(rank),
            heat: Some(heat),
            label: Some("热".into()),
            note: Some(kw.into()),
        };
        let ids = store
            .upsert_topic_sightings("weibo", t1, &[s("考研倒计时", 0, 100), s("打工人", 1, 90)])
            .await
            .unwrap();
        let ids2 = store
            .upsert_topic_sightings("weibo", t2, &[s("打工人", 0, 300)])
            .await
            .unwrap();
        assert_eq!(ids[1], ids2[0]);
        // The same sighting twice adds no history row.
        store
            .upsert_topic_sightings("weibo", t2, &[s("打工人", 0, 300)])
            .await
            .unwrap();
        let topics = store.topics("weibo", 10).await.unwrap();
        let worker = topics.iter().find(|t| t.keyword == "打工人").unwrap();
        assert_eq!(
            (worker.rank, worker.heat, worker.sightings),
            (Some(0), Some(300), 2),
            "{name}"
        );
        assert_eq!((worker.first_seen, worker.last_seen), (t1, t2));
        assert_eq!(worker.label.as_deref(), Some("热"));

        // Known ids and profiled authors.
        assert!(store
            .existing_platform_ids("weibo", &["x".into()])
            .await
            .unwrap()
            .is_empty());
        assert!(!store.author_profiled("weibo", "u_x").await.unwrap());
        store.close().await;
    }

    #[tokio::test]
    async fn crawl_bookkeeping_on_every_backend() {
        for db in TestDb::all().await {
            suite(&db).await;
            db.drop_db().await;
        }
    }
}

//! Leases: how any number of score workers, on any number of machines, share one database
//! without scoring a post twice and without losing a batch when a worker dies.
//!
//! The database is the coordinator. A worker claims a batch of posts that have no score
//! from its scorer and no live claim: one `score_leases` row (owner, deadline by the
//! database clock) and one `score_claims` row per post. The claims' primary key
//! (scorer, post) lets at most one lease hold a post. Where the server has
//! `FOR UPDATE SKIP LOCKED` (PostgreSQL, MySQL 8, MariaDB 10.6+), concurrent claims skip
//! the posts another claim is locking, so workers never queue behind each other; SQLite
//! serializes writers anyway (`BEGIN IMMEDIATE`), and on older MySQL servers the primary
//! key alone decides who wins a post.
//!
//! A worker renews its leases while it works ([`Store::renew_leases`]). A worker killed
//! with SIGKILL stops renewing; once its deadline passes, the next claim takes the lease
//! over with a compare-and-set on the deadline ([`Store::claim_batch`]) and scores what of
//! the batch is still unscored. Finishing a lease deletes it and its claims.

use crate::{on_pool, Backend, Store, StoreError};
use chrono::{DateTime, Utc};
use mindpulse_core::PostToScore;
use serde::Serialize;

/// What a worker asks for when it claims a batch.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    pub scorer_id: i64,
    /// The run that works the batch (recorded on the lease).
    pub run_id: i64,
    /// The worker: unique per process and scorer (`host:pid:tag`).
    pub owner: &'a str,
    /// Most posts in the batch.
    pub max_posts: i64,
    /// How long the lease lasts without a renewal, in milliseconds.
    pub lease_ms: i64,
    /// Only posts with a larger id: the worker's keyset cursor (0: from the start).
    pub after_id: i64,
    /// Only posts from this source (a crawler scores what it collected).
    pub source_id: Option<i64>,
}

/// A batch of claimed posts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    pub id: i64,
    pub scorer_id: i64,
    pub owner: String,
    pub n_posts: i64,
    pub first_post_id: Option<i64>,
    pub last_post_id: Option<i64>,
    /// How many times workers took this batch over after its deadline passed.
    pub takeovers: i64,
    /// True when this claim took over an expired lease of another worker.
    #[sqlx(skip)]
    pub taken_over: bool,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A batch to score.
    Lease(Lease),
    /// Nothing to claim now. `held_by_others` leases of other workers still hold unscored
    /// posts (of the requested source, when one was given): they finish them, or their
    /// deadline passes and a later claim takes them over.
    Nothing { held_by_others: i64 },
}

/// A live lease, for `mindpulse score --status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaseStatus {
    pub id: i64,
    pub owner: String,
    pub run_id: Option<i64>,
    pub n_posts: i64,
    pub first_post_id: Option<i64>,
    pub last_post_id: Option<i64>,
    pub age_s: f64,
    /// Seconds until the deadline (negative: expired, waiting to be taken over).
    pub expires_in_s: f64,
    pub takeovers: i64,
}

/// A score run that is running (or was, with no heartbeat since), for `--status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerStatus {
    pub run_id: i64,
    pub owner: Option<String>,
    pub started_at: DateTime<Utc>,
    /// Posts this run has scored so far.
    pub posts: i64,
    pub posts_per_s: f64,
    /// Seconds since its last heartbeat.
    pub silent_s: f64,
}

/// One scorer's progress over the whole database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorerStatus {
    pub scorer_id: i64,
    pub model_id: String,
    pub version: String,
    pub posts: i64,
    pub scored: i64,
    pub unscored: i64,
    pub workers: Vec<WorkerStatus>,
    pub leases: Vec<LeaseStatus>,
}

#[derive(sqlx::FromRow)]
struct LeaseRow {
    id: i64,
    owner: String,
    run_id: Option<i64>,
    n_posts: i64,
    first_post_id: Option<i64>,
    last_post_id: Option<i64>,
    claimed_ms: i64,
    expires_ms: i64,
    takeovers: i64,
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    owner: Option<String>,
    started_at: DateTime<Utc>,
    n_input: i64,
    heartbeat_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ScorerRow {
    id: i64,
    model_id: String,
    version: String,
}

#[derive(sqlx::FromRow)]
struct PostRow {
    id: i64,
    text: String,
    lang: Option<String>,
}

/// How many expired leases one claim looks at before it tries new posts.
const TAKEOVER_CANDIDATES: i64 = 4;

/// How often a claim retries when every candidate it saw was claimed by someone else first.
const CLAIM_RACES: usize = 8;

impl Store {
    /// Claims a batch for a worker: first an expired lease of a dead worker (taken over),
    /// else up to `max_posts` unscored, unclaimed posts after `after_id`.
    pub async fn claim_batch(&self, req: &ClaimRequest<'_>) -> Result<Claim, StoreError> {
        if let Some(lease) = self.take_over_expired(req).await? {
            return Ok(Claim::Lease(lease));
        }
        for _ in 0..CLAIM_RACES {
            match self.claim_new(req).await? {
                NewClaim::Claimed(lease) => return Ok(Claim::Lease(lease)),
                NewClaim::NoCandidates => break,
                NewClaim::Raced => continue,
            }
        }
        let held_by_others = self.leases_held_by_others(req).await?;
        Ok(Claim::Nothing { held_by_others })
    }

    async fn take_over_expired(&self, req: &ClaimRequest<'_>) -> Result<Option<Lease>, StoreError> {
        let d = self.dialect;
        let now = d.now_ms();
        let find = d.sql(&format!(
            "SELECT id FROM score_leases WHERE scorer_id = ? AND expires_ms < {now} ORDER BY id LIMIT ?"
        ))
        .into_owned();
        let cas = d
            .sql(&format!(
                "UPDATE score_leases SET owner = ?, run_id = ?, heartbeat_ms = {now}, expires_ms = {now} + ?, \
                 takeovers = takeovers + 1 WHERE id = ? AND expires_ms < {now}"
            ))
            .into_owned();
        let load = d.sql(
            "SELECT id, scorer_id, owner, n_posts, first_post_id, last_post_id, takeovers FROM score_leases WHERE id = ?",
        );
        let lease: Option<Lease> = on_pool!(&self.pool, p => {
            let ids: Vec<i64> = sqlx::query_scalar(&find)
                .bind(req.scorer_id)
                .bind(TAKEOVER_CANDIDATES)
                .fetch_all(p)
                .await?;
            let mut won = None;
            for id in ids {
                let n = sqlx::query(&cas)
                    .bind(req.owner)
                    .bind(req.run_id)
                    .bind(req.lease_ms)
                    .bind(id)
                    .execute(p)
                    .await?
                    .rows_affected();
                if n == 1 {
                    let mut lease: Lease = sqlx::query_as(&load).bind(id).fetch_one(p).await?;
                    lease.taken_over = true;
                    won = Some(lease);
                    break;
                }
            }
            won
        });
        if let Some(l) = &lease {
            tracing::info!(
                lease = l.id,
                posts = l.n_posts,
                "took over an expired lease (its worker stopped renewing it)"
            );
        }
        Ok(lease)
    }

    async fn claim_new(&self, req: &ClaimRequest<'_>) -> Result<NewClaim, StoreError> {
        let d = self.dialect;
        let now = d.now_ms();
        let lock = match d.backend {
            Backend::Postgres => " FOR NO KEY UPDATE OF p SKIP LOCKED",
            Backend::MySql if self.skip_locked => " FOR UPDATE SKIP LOCKED",
            Backend::MySql | Backend::Sqlite => "",
        };
        let source = if req.source_id.is_some() {
            " AND p.source_id = ?"
        } else {
            ""
        };
        let candidates = d
            .sql(&format!(
                "SELECT p.id FROM posts p WHERE p.id > ?{source} \
                 AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.post_id = p.id AND s.scorer_id = ?) \
                 AND NOT EXISTS (SELECT 1 FROM score_claims c WHERE c.scorer_id = ? AND c.post_id = p.id) \
                 ORDER BY p.id LIMIT ?{lock}"
            ))
            .into_owned();
        let insert_lease = d
            .sql(&format!(
                "INSERT INTO score_leases (scorer_id, run_id, owner, n_posts, first_post_id, last_post_id, claimed_ms, heartbeat_ms, expires_ms) \
                 VALUES (?, ?, ?, ?, ?, ?, {now}, {now}, {now} + ?)"
            ))
            .into_owned();
        let lease_id_sql = d.sql("SELECT MAX(id) FROM score_leases WHERE owner = ?");
        let claims_prefix = format!(
            "{} score_claims (scorer_id, post_id, lease_id) ",
            d.insert_ignore()
        );
        let claims_suffix = d.ignore_suffix("scorer_id, post_id");
        let claimed_sql =
            d.sql("SELECT post_id FROM score_claims WHERE lease_id = ? ORDER BY post_id");
        let update_lease = d.sql(
            "UPDATE score_leases SET n_posts = ?, first_post_id = ?, last_post_id = ? WHERE id = ?",
        );
        let delete_lease = d.sql("DELETE FROM score_leases WHERE id = ?");
        let load = d.sql(
            "SELECT id, scorer_id, owner, n_posts, first_post_id, last_post_id, takeovers FROM score_leases WHERE id = ?",
        );
        let chunk_rows = d.max_params() / 3;
        let outcome = on_pool!(&self.pool, p => {
            let mut tx = p.begin_with(d.begin_write()).await?;
            let mut q = sqlx::query_scalar(&candidates).bind(req.after_id);
            if let Some(source_id) = req.source_id {
                q = q.bind(source_id);
            }
            let ids: Vec<i64> = q
                .bind(req.scorer_id)
                .bind(req.scorer_id)
                .bind(req.max_posts)
                .fetch_all(&mut *tx)
                .await?;
            if ids.is_empty() {
                tx.rollback().await?;
                NewClaim::NoCandidates
            } else {
                sqlx::query(&insert_lease)
                    .bind(req.scorer_id)
                    .bind(req.run_id)
                    .bind(req.owner)
                    .bind(ids.len() as i64)
                    .bind(ids.first().copied())
                    .bind(ids.last().copied())
                    .bind(req.lease_ms)
                    .execute(&mut *tx)
                    .await?;
                // The owner is unique to this worker, which creates one lease at a time.
                let lease_id: i64 = sqlx::query_scalar(&lease_id_sql)
                    .bind(req.owner)
                    .fetch_one(&mut *tx)
                    .await?;
                for chunk in ids.chunks(chunk_rows) {
                    let mut qb = sqlx::QueryBuilder::new(&claims_prefix);
                    qb.push_values(chunk, |mut b, post_id| {
                        b.push_bind(req.scorer_id).push_bind(*post_id).push_bind(lease_id);
                    });
                    qb.push(&claims_suffix);
                    qb.build().execute(&mut *tx).await?;
                }
                let claimed: Vec<i64> = sqlx::query_scalar(&claimed_sql)
                    .bind(lease_id)
                    .fetch_all(&mut *tx)
                    .await?;
                if claimed.is_empty() {
                    sqlx::query(&delete_lease).bind(lease_id).execute(&mut *tx).await?;
                    tx.commit().await?;
                    NewClaim::Raced
                } else {
                    if claimed.len() != ids.len() {
                        sqlx::query(&update_lease)
                            .bind(claimed.len() as i64)
                            .bind(claimed.first().copied())
                            .bind(claimed.last().copied())
                            .bind(lease_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let lease: Lease = sqlx::query_as(&load).bind(lease_id).fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    NewClaim::Claimed(lease)
                }
            }
        });
        Ok(outcome)
    }

    /// Live leases of other workers of this scorer (holding posts of the source, when given).
    async fn leases_held_by_others(&self, req: &ClaimRequest<'_>) -> Result<i64, StoreError> {
        let d = self.dialect;
        let sql = match req.source_id {
            None => "SELECT COUNT(*) FROM score_leases l WHERE l.scorer_id = ? AND l.owner <> ?".to_string(),
            Some(_) => "SELECT COUNT(*) FROM score_leases l WHERE l.scorer_id = ? AND l.owner <> ? AND EXISTS (\
                        SELECT 1 FROM score_claims c JOIN posts p ON p.id = c.post_id \
                        WHERE c.lease_id = l.id AND p.source_id = ?)"
                .to_string(),
        };
        let sql = d.sql(&sql);
        let n: i64 = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_scalar(&sql).bind(req.scorer_id).bind(req.owner);
            if let Some(s) = req.source_id {
                q = q.bind(s);
            }
            q.fetch_one(p).await?
        });
        Ok(n)
    }

    /// The posts of a lease that still have no score from its scorer, in id order, with
    /// their topics.
    pub async fn lease_posts(&self, lease: &Lease) -> Result<Vec<PostToScore>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT p.id, p.text, p.lang FROM score_claims c JOIN posts p ON p.id = c.post_id \
             WHERE c.lease_id = ? AND c.scorer_id = ? \
             AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.post_id = p.id AND s.scorer_id = ?) \
             ORDER BY p.id",
        );
        let rows: Vec<PostRow> = on_pool!(&self.pool, p => sqlx::query_as(&sql)
            .bind(lease.id)
            .bind(lease.scorer_id)
            .bind(lease.scorer_id)
            .fetch_all(p)
            .await?);
        self.with_topics(rows).await
    }

    /// Posts to score, with their topics.
    async fn with_topics(&self, rows: Vec<PostRow>) -> Result<Vec<PostToScore>, StoreError> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut topics = self.topics_of(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| PostToScore {
                topics: topics.remove(&r.id).unwrap_or_default(),
                id: r.id,
                text: r.text,
                lang: r.lang,
            })
            .collect())
    }

    /// Pushes the deadline of every lease `owner` holds to `lease_ms` from now (the
    /// database clock). Returns how many leases it still holds.
    pub async fn renew_leases(&self, owner: &str, lease_ms: i64) -> Result<u64, StoreError> {
        let d = self.dialect;
        let now = d.now_ms();
        let sql = d
            .sql(&format!(
                "UPDATE score_leases SET heartbeat_ms = {now}, expires_ms = {now} + ? WHERE owner = ?"
            ))
            .into_owned();
        let n = on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(lease_ms)
            .bind(owner)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n)
    }

    /// Ends a lease: deletes it and its claims, so what of it is still unscored can be
    /// claimed again. Returns false when `owner` no longer held it (another worker took it
    /// over after its deadline; that worker finishes it).
    pub async fn finish_lease(&self, lease_id: i64, owner: &str) -> Result<bool, StoreError> {
        let d = self.dialect;
        let delete_lease = d.sql("DELETE FROM score_leases WHERE id = ? AND owner = ?");
        let delete_claims = d.sql("DELETE FROM score_claims WHERE lease_id = ?");
        let held = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(&delete_lease)
                .bind(lease_id)
                .bind(owner)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query(&delete_claims).bind(lease_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n == 1
        });
        Ok(held)
    }

    /// How many posts have no score from this scorer (of this source, when given).
    pub async fn unscored_count(
        &self,
        scorer_id: i64,
        source_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let source = if source_id.is_some() {
            " AND p.source_id = ?"
        } else {
            ""
        };
        let sql = format!(
            "SELECT COUNT(*) FROM posts p WHERE NOT EXISTS (\
             SELECT 1 FROM scores s WHERE s.post_id = p.id AND s.scorer_id = ?){source}"
        );
        let sql = self.dialect.sql(&sql);
        let n: i64 = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_scalar(&sql).bind(scorer_id);
            if let Some(s) = source_id {
                q = q.bind(s);
            }
            q.fetch_one(p).await?
        });
        Ok(n)
    }

    /// Every scorer with its progress, live workers and leases (`mindpulse score --status`).
    /// Workers are score runs still marked running; those silent for longer than
    /// `stale_ms` are left out (see [`Store::interrupt_stale_runs`]).
    pub async fn score_status(&self, stale_ms: i64) -> Result<Vec<ScorerStatus>, StoreError> {
        let d = self.dialect;
        let now_sql = format!("SELECT {}", d.now_ms());
        let scorers_sql = "SELECT id, model_id, version FROM scorers ORDER BY id";
        let runs_sql = d.sql(
            "SELECT id, owner, started_at, n_input, heartbeat_ms FROM runs \
             WHERE kind = 'score' AND status = 'running' AND scorer_id = ? ORDER BY id",
        );
        let leases_sql = d.sql(
            "SELECT id, owner, run_id, n_posts, first_post_id, last_post_id, claimed_ms, expires_ms, takeovers \
             FROM score_leases WHERE scorer_id = ? ORDER BY id",
        );
        let posts = self.count_posts().await?;
        let (now_ms, scorers): (i64, Vec<ScorerRow>) = on_pool!(&self.pool, p => (
            sqlx::query_scalar(&now_sql).fetch_one(p).await?,
            sqlx::query_as(scorers_sql).fetch_all(p).await?,
        ));
        let mut out = Vec::with_capacity(scorers.len());
        for s in scorers {
            let (runs, leases): (Vec<RunRow>, Vec<LeaseRow>) = on_pool!(&self.pool, p => (
                sqlx::query_as(&runs_sql).bind(s.id).fetch_all(p).await?,
                sqlx::query_as(&leases_sql).bind(s.id).fetch_all(p).await?,
            ));
            let unscored = self.unscored_count(s.id, None).await?;
            let workers = runs
                .into_iter()
                .filter_map(|r| {
                    let beat = r.heartbeat_ms?;
                    let silent_ms = now_ms - beat;
                    if silent_ms > stale_ms {
                        return None;
                    }
                    let elapsed_s =
                        ((beat - r.started_at.timestamp_millis()) as f64 / 1000.0).max(1e-3);
                    Some(WorkerStatus {
                        run_id: r.id,
                        owner: r.owner,
                        started_at: r.started_at,
                        posts: r.n_input,
                        posts_per_s: r.n_input as f64 / elapsed_s,
                        silent_s: silent_ms as f64 / 1000.0,
                    })
                })
                .collect();
            let leases = leases
                .into_iter()
                .map(|l| LeaseStatus {
                    id: l.id,
                    owner: l.owner,
                    run_id: l.run_id,
                    n_posts: l.n_posts,
                    first_post_id: l.first_post_id,
                    last_post_id: l.last_post_id,
                    age_s: (now_ms - l.claimed_ms) as f64 / 1000.0,
                    expires_in_s: (l.expires_ms - now_ms) as f64 / 1000.0,
                    takeovers: l.takeovers,
                })
                .collect();
            out.push(ScorerStatus {
                scorer_id: s.id,
                model_id: s.model_id,
                version: s.version,
                posts,
                scored: posts - unscored,
                unscored,
                workers,
                leases,
            });
        }
        Ok(out)
    }

    /// Posts after `after_id` in id order with no score from the scorer (`None`: every
    /// post), without claiming them: for benchmarks and single-process reads.
    pub async fn posts_to_score(
        &self,
        scorer_id: Option<i64>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<PostToScore>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT p.id, p.text, p.lang FROM posts p WHERE p.id > ? \
             AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.post_id = p.id AND s.scorer_id = ?) \
             ORDER BY p.id LIMIT ?",
        );
        let rows: Vec<PostRow> = on_pool!(&self.pool, p => sqlx::query_as(&sql)
            .bind(after_id)
            .bind(scorer_id.unwrap_or(-1))
            .bind(limit)
            .fetch_all(p)
            .await?);
        self.with_topics(rows).await
    }
}

enum NewClaim {
    Claimed(Lease),
    NoCandidates,
    Raced,
}

#[cfg(test)]
#[path = "leases_tests.rs"]
mod tests;

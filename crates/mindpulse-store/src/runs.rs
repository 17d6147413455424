//! Sources and runs: who brought data in, and the provenance of every import, crawl and
//! scoring run (model id and file hash, head or prompt version, parameters, counts).

use crate::{on_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Import,
    Crawl,
    Score,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Import => "import",
            RunKind::Crawl => "crawl",
            RunKind::Score => "score",
        }
    }
}

/// How a run ended (or that it is still going).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Done,
    Failed,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// A run about to start.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub kind: Option<RunKind>,
    pub source_id: Option<i64>,
    pub model_id: Option<String>,
    pub model_sha256: Option<String>,
    /// Head or prompt version for scoring runs; importer version for imports.
    pub version: Option<String>,
    /// Parameters as JSON.
    pub params: serde_json::Value,
    /// The scorer a score run writes for (see [`Store::ensure_scorer`]).
    pub scorer_id: Option<i64>,
    /// The process that runs it (`host:pid:tag`), for `score --status` and stale-run checks.
    pub owner: Option<String>,
}

/// Counts a run reports when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub input: i64,
    pub accepted: i64,
    /// Records whose platform id was already stored (not stored again).
    pub already_stored: i64,
    pub rejected: i64,
    pub failed: i64,
}

/// A row of the `runs` table.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub kind: String,
    pub source: Option<String>,
    pub model_id: Option<String>,
    pub model_sha256: Option<String>,
    pub version: Option<String>,
    pub params: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    pub counts: RunCounts,
    /// Why the run ended as it did, or what went wrong on the side (None when nothing).
    pub note: Option<String>,
}

impl Store {
    /// Returns the id of the source called `name`, creating it when new.
    pub async fn ensure_source(
        &self,
        name: &str,
        kind: &str,
        platform: Option<&str>,
    ) -> Result<i64, StoreError> {
        let d = self.dialect;
        let insert = format!(
            "{} sources (name, kind, platform, created_at) VALUES (?, ?, ?, ?){}",
            d.insert_ignore(),
            d.ignore_suffix("name")
        );
        let insert = d.sql(&insert);
        let select = d.sql("SELECT id FROM sources WHERE name = ?");
        let now = Utc::now();
        let id: i64 = on_pool!(&self.pool, p => {
            sqlx::query(&insert).bind(name).bind(kind).bind(platform).bind(now).execute(p).await?;
            sqlx::query_scalar(&select).bind(name).fetch_one(p).await?
        });
        Ok(id)
    }

    /// Records the start of a run and returns its id.
    pub async fn start_run(&self, run: &NewRun) -> Result<i64, StoreError> {
        let kind = run.kind.unwrap_or(RunKind::Import).as_str();
        let params = run.params.to_string();
        let now = Utc::now();
        let d = self.dialect;
        let cols = format!(
            "(kind, source_id, model_id, model_sha256, version, params, started_at, status, scorer_id, owner, heartbeat_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {})",
            d.now_ms()
        );
        let id: i64 = match &self.pool {
            crate::Pool::MySql(p) => {
                let sql = format!("INSERT INTO runs {cols}");
                let res = sqlx::query(&sql)
                    .bind(kind)
                    .bind(run.source_id)
                    .bind(&run.model_id)
                    .bind(&run.model_sha256)
                    .bind(&run.version)
                    .bind(&params)
                    .bind(now)
                    .bind(RunStatus::Running.as_str())
                    .bind(run.scorer_id)
                    .bind(&run.owner)
                    .execute(p)
                    .await?;
                i64::try_from(res.last_insert_id())
                    .map_err(|_| StoreError::Invalid("run id overflow".into()))?
            }
            pool => {
                let sql = format!("INSERT INTO runs {cols} RETURNING id");
                let sql = d.sql(&sql);
                on_pool!(pool, p => sqlx::query_scalar(&sql)
                    .bind(kind)
                    .bind(run.source_id)
                    .bind(&run.model_id)
                    .bind(&run.model_sha256)
                    .bind(&run.version)
                    .bind(&params)
                    .bind(now)
                    .bind(RunStatus::Running.as_str())
                    .bind(run.scorer_id)
                    .bind(&run.owner)
                    .fetch_one(p)
                    .await?)
            }
        };
        Ok(id)
    }

    /// Stores the counts so far (called periodically so a killed run still tells the truth)
    /// and beats the run's heartbeat.
    pub async fn update_run_counts(&self, id: i64, counts: RunCounts) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE runs SET n_input = ?, n_accepted = ?, n_duplicate = ?, n_rejected = ?, n_failed = ?, heartbeat_ms = {} WHERE id = ?",
            self.dialect.now_ms()
        );
        let sql = self.dialect.sql(&sql);
        on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(counts.input)
            .bind(counts.accepted)
            .bind(counts.already_stored)
            .bind(counts.rejected)
            .bind(counts.failed)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Beats a running run's heartbeat (the database clock).
    pub async fn heartbeat_run(&self, id: i64) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE runs SET heartbeat_ms = {} WHERE id = ?",
            self.dialect.now_ms()
        );
        let sql = self.dialect.sql(&sql);
        on_pool!(&self.pool, p => sqlx::query(&sql).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Marks runs of `kind` that are still `running` but whose heartbeat is older than
    /// `stale_ms` (by the database clock) as `interrupted`: their process died without
    /// saying so (SIGKILL, power loss). What they stored is rolled up now, as their end
    /// would have done. Returns how many were marked.
    pub async fn interrupt_stale_runs(
        &self,
        kind: RunKind,
        stale_ms: i64,
    ) -> Result<u64, StoreError> {
        let d = self.dialect;
        let stale = format!(
            "kind = ? AND status = 'running' AND heartbeat_ms IS NOT NULL AND heartbeat_ms < {} - ?",
            d.now_ms()
        );
        let select = d
            .sql(&format!("SELECT id FROM runs WHERE {stale}"))
            .into_owned();
        let ids: Vec<i64> = on_pool!(&self.pool, p => sqlx::query_scalar(&select)
            .bind(kind.as_str())
            .bind(stale_ms)
            .fetch_all(p)
            .await?);
        let update = d
            .sql(&format!(
                "UPDATE runs SET status = 'interrupted', finished_at = ?, \
             note = 'no heartbeat: the process stopped without finishing the run' \
             WHERE id = ? AND {stale}"
            ))
            .into_owned();
        let mut n = 0;
        for id in ids {
            let marked = on_pool!(&self.pool, p => sqlx::query(&update)
                .bind(Utc::now())
                .bind(id)
                .bind(kind.as_str())
                .bind(stale_ms)
                .execute(p)
                .await?
                .rows_affected());
            if marked == 1 {
                n += 1;
                if let Err(e) = self.refresh_rollups_after_run(id).await {
                    tracing::warn!(
                        "run {id}: the rollups could not be refreshed ({e}); they are marked stale until `mindpulse rollups rebuild`"
                    );
                }
            }
        }
        Ok(n)
    }

    /// Records the end of a run with its final counts.
    pub async fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        counts: RunCounts,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = self.dialect.sql(
            "UPDATE runs SET finished_at = ?, status = ?, n_input = ?, n_accepted = ?, n_duplicate = ?, n_rejected = ?, n_failed = ?, note = ? WHERE id = ?",
        );
        let now = Utc::now();
        on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(now)
            .bind(status.as_str())
            .bind(counts.input)
            .bind(counts.accepted)
            .bind(counts.already_stored)
            .bind(counts.rejected)
            .bind(counts.failed)
            .bind(note)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))?;
        // The run's record is written; the rollups follow. A failed refresh marks them not
        // built (readers scan posts) rather than failing a run whose data is stored.
        if let Err(e) = self.refresh_rollups_after_run(id).await {
            tracing::warn!(
                "run {id}: the rollups could not be refreshed ({e}); they are marked stale until `mindpulse rollups rebuild`"
            );
        }
        Ok(())
    }

    /// Runs, newest first (all kinds when `kind` is None).
    pub async fn runs(
        &self,
        kind: Option<RunKind>,
        limit: i64,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT r.id, r.kind, s.name AS source, r.model_id, r.model_sha256, r.version, r.params, r.started_at, r.finished_at, r.status, \
             r.n_input, r.n_accepted, r.n_duplicate, r.n_rejected, r.n_failed, r.note \
             FROM runs r LEFT JOIN sources s ON s.id = r.source_id {} ORDER BY r.id DESC LIMIT ?",
            if kind.is_some() { "WHERE r.kind = ?" } else { "" }
        );
        let sql = self.dialect.sql(&sql);
        let runs = on_pool!(&self.pool, p => {
            let mut q = sqlx::query(&sql);
            if let Some(k) = kind {
                q = q.bind(k.as_str());
            }
            let rows = q.bind(limit).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(RunRecord {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    source: row.try_get("source")?,
                    model_id: row.try_get("model_id")?,
                    model_sha256: row.try_get("model_sha256")?,
                    version: row.try_get("version")?,
                    params: row.try_get("params")?,
                    started_at: row.try_get("started_at")?,
                    finished_at: row.try_get("finished_at")?,
                    status: row.try_get("status")?,
                    counts: RunCounts {
                        input: row.try_get("n_input")?,
                        accepted: row.try_get("n_accepted")?,
                        already_stored: row.try_get("n_duplicate")?,
                        rejected: row.try_get("n_rejected")?,
                        failed: row.try_get("n_failed")?,
                    },
                    note: row.try_get("note")?,
                });
            }
            out
        });
        Ok(runs)
    }
}

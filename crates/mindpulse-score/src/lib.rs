//! mindpulse-score: the one resumable score driver.
//!
//! Every scorer — the encoder heads, the LLM scorer, anything that implements
//! [`PostScorer`] — is run by [`run`]: one loop, one progress callback, one way to stop.
//!
//! * **Leased batches.** The driver claims a batch of stored posts that have no score from
//!   its scorer ([`Store::claim_batch`]), scores it, stores the scores in one transaction
//!   and ends the lease. Any number of drivers, in one process or on many machines, can run
//!   against one PostgreSQL, MySQL/MariaDB or SQLite database: a post is claimed by at most
//!   one live lease, and scores are unique per (post, scorer, dimension), so a batch scored
//!   twice stores nothing twice.
//! * **Heartbeats and takeover.** A background task renews the driver's leases and its
//!   run's heartbeat every third of the lease. A driver killed with SIGKILL stops renewing;
//!   once its lease expires, the next claim of another driver takes the batch over.
//! * **Resumable.** What is scored is in the database; a run that stops (Ctrl-C, SIGTERM,
//!   a crash, `--limit`) is continued by the next one. At the end of a pass the driver
//!   looks once more from the first post (posts committed late by a concurrent import,
//!   batches released by a failed scorer), and waits while other drivers still hold leases,
//!   so that no post is left behind by a driver that died.
//! * **Follow mode.** With `follow`, the driver keeps claiming new posts as they arrive,
//!   until it is told to stop (SIGTERM finishes the current batch first).
//!
//! The driver records a `score` run per invocation with the scorer's provenance (model id,
//! file hash, version, parameters), its counts kept current while it runs.

use mindpulse_core::{PostScorer, Score, ScoredPage, ScorerInfo};
use mindpulse_store::{
    Claim, ClaimRequest, Lease, NewRun, RunCounts, RunKind, RunStatus, Store, StoreError,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a driver runs.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// Posts per claimed batch (one scorer call, one write transaction).
    pub batch_size: usize,
    /// Score at most this many posts, then stop.
    pub limit: Option<u64>,
    /// How long a claimed batch stays ours without a renewal.
    pub lease: Duration,
    /// Keep claiming new posts as they arrive instead of stopping when none are left.
    pub follow: bool,
    /// How long to wait before looking again when nothing is claimable.
    pub poll: Duration,
    /// Only posts of this source (the crawler scores what its source collected).
    pub source_id: Option<i64>,
    /// Recorded in the run's parameters beside the scorer's own (batch size, threads, …).
    pub params: serde_json::Value,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            batch_size: 256,
            limit: None,
            lease: Duration::from_secs(300),
            follow: false,
            poll: Duration::from_secs(10),
            source_id: None,
            params: serde_json::Value::Null,
        }
    }
}

/// A snapshot for progress bars.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Posts this run scored so far.
    pub posts: u64,
    /// Posts without a score when the run started (None in follow mode).
    pub total: Option<u64>,
    pub elapsed: Duration,
}

/// Count, mean and labels of one dimension over a run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DimSummary {
    pub n: u64,
    pub sum: f64,
    pub labels: BTreeMap<String, u64>,
}

impl DimSummary {
    pub fn mean(&self) -> f64 {
        self.sum / self.n.max(1) as f64
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub scorer_id: i64,
    pub model_id: String,
    pub version: String,
    /// Posts that got scores in this run.
    pub posts: u64,
    /// Score rows newly stored (rows another worker had stored already are not counted).
    pub rows: u64,
    /// Batches worked, and how many of them were taken over from a worker that stopped.
    pub batches: u64,
    pub takeovers: u64,
    /// The scorer's counters, summed (`truncated`, `parse_failures`, …).
    pub counters: BTreeMap<String, u64>,
    pub dims: BTreeMap<String, DimSummary>,
    pub interrupted: bool,
    pub seconds: f64,
    /// Time spent claiming, reading and ending leases (the cost of coordination).
    pub lease_seconds: f64,
    /// Time spent in the scorer.
    pub score_seconds: f64,
    /// Time spent storing scores.
    pub write_seconds: f64,
    /// Posts still without a score from this scorer after the run (of the source, if any).
    pub remaining: i64,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "scoring stopped (run {run_id}: {posts} posts scored; run again to continue): {message}"
    )]
    Scorer {
        run_id: i64,
        posts: u64,
        message: String,
    },
}

/// The longest wait between looks while other workers still hold batches.
const WAIT_FOR_OTHERS: Duration = Duration::from_millis(500);

/// Retries of a database call that failed with a transient error (deadlock, busy file,
/// dropped connection) before the run gives up.
const RETRIES: u32 = 4;

/// Runs `scorer` over every stored post it has not scored yet (see the crate docs).
/// `stop` ends the run after the current batch (recorded as interrupted); `progress` is
/// called after every batch.
pub async fn run(
    store: &Store,
    scorer: Arc<dyn PostScorer>,
    opts: &DriverOptions,
    stop: &AtomicBool,
    progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<RunSummary, DriverError> {
    let started = Instant::now();
    let info = scorer.info().clone();
    let lease_ms = opts.lease.as_millis().clamp(100, i64::MAX as u128) as i64;
    // A run silent for three leases (at least a minute) died without saying so.
    let stale_ms = (3 * lease_ms).max(60_000);
    let n = store.interrupt_stale_runs(RunKind::Score, stale_ms).await?;
    if n > 0 {
        tracing::info!("marked {n} score run(s) without a heartbeat as interrupted");
    }
    let scorer_id = store.ensure_scorer(&info).await?;
    let owner = owner_tag(&info);
    let run_id = store
        .start_run(&NewRun {
            kind: Some(RunKind::Score),
            model_id: Some(info.model_id.clone()),
            model_sha256: info.model_sha256.clone(),
            version: Some(info.version.clone()),
            params: run_params(&info, opts),
            scorer_id: Some(scorer_id),
            owner: Some(owner.clone()),
            ..NewRun::default()
        })
        .await?;
    tracing::info!(run_id, model = %info.model_id, version = %info.version, %owner, "score run started");
    let total = if opts.follow {
        None
    } else {
        let left = store
            .unscored_count(scorer_id, opts.source_id)
            .await?
            .max(0) as u64;
        Some(opts.limit.map_or(left, |l| l.min(left)))
    };
    let heartbeat = Heartbeat::start(store.clone(), owner.clone(), run_id, lease_ms);
    let mut summary = RunSummary {
        run_id,
        scorer_id,
        model_id: info.model_id.clone(),
        version: info.version.clone(),
        ..RunSummary::default()
    };
    let mut state = Loop {
        store,
        scorer: scorer.as_ref(),
        opts,
        stop,
        scorer_id,
        run_id,
        owner: &owner,
        lease_ms,
        summary: &mut summary,
        counts: RunCounts::default(),
    };
    let result = state
        .work(&|posts| {
            progress(&Progress {
                posts,
                total,
                elapsed: started.elapsed(),
            })
        })
        .await;
    let counts = state.counts;
    heartbeat.stop().await;
    summary.seconds = started.elapsed().as_secs_f64();
    let (status, note, error) = match result {
        Ok(()) if summary.interrupted => (
            RunStatus::Interrupted,
            Some("interrupted".to_string()),
            None,
        ),
        Ok(()) => (RunStatus::Done, None, None),
        Err(e) => (RunStatus::Failed, Some(e.to_string()), Some(e)),
    };
    summary.remaining = store
        .unscored_count(scorer_id, opts.source_id)
        .await
        .unwrap_or(-1);
    let note = note.unwrap_or_else(|| {
        format!(
            "{} posts scored in {} batches ({} taken over); {} posts left",
            summary.posts, summary.batches, summary.takeovers, summary.remaining
        )
    });
    store
        .finish_run(run_id, status, counts, Some(&note))
        .await?;
    match error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// The run's parameters: the scorer's, plus the driver's.
fn run_params(info: &ScorerInfo, opts: &DriverOptions) -> serde_json::Value {
    let mut params = match &info.params {
        serde_json::Value::Object(m) => serde_json::Value::Object(m.clone()),
        serde_json::Value::Null => serde_json::json!({}),
        other => serde_json::json!({ "scorer": other }),
    };
    params["batch_size"] = serde_json::json!(opts.batch_size);
    params["lease_s"] = serde_json::json!(opts.lease.as_secs_f64());
    params["follow"] = serde_json::json!(opts.follow);
    if let Some(s) = opts.source_id {
        params["source_id"] = serde_json::json!(s);
    }
    if let serde_json::Value::Object(extra) = &opts.params {
        for (k, v) in extra {
            params[k] = v.clone();
        }
    }
    params
}

/// A lease owner unique to this driver: `host:pid:model:nanos`.
fn owner_tag(info: &ScorerInfo) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let model: String = info.model_id.chars().take(40).collect();
    format!(
        "{}:{model}:{nanos:08x}",
        mindpulse_core::process::host_pid()
    )
}

/// The driver loop's state.
struct Loop<'a> {
    store: &'a Store,
    scorer: &'a dyn PostScorer,
    opts: &'a DriverOptions,
    stop: &'a AtomicBool,
    scorer_id: i64,
    run_id: i64,
    owner: &'a str,
    lease_ms: i64,
    summary: &'a mut RunSummary,
    counts: RunCounts,
}

impl Loop<'_> {
    async fn work(&mut self, progress: &(dyn Fn(u64) + Send + Sync)) -> Result<(), DriverError> {
        let batch = self.opts.batch_size.max(1) as u64;
        // The keyset cursor: claims look after it; a pass that finds nothing there looks once
        // more from the first post.
        let mut cursor = 0i64;
        let mut high = 0i64;
        let mut last_full_pass = Instant::now();
        // In follow mode, look below the high-water mark again this often (posts that a
        // concurrent import committed after later ones).
        let rescan_every = (self.opts.poll * 30).max(Duration::from_secs(60));
        loop {
            if self.stop.load(Ordering::SeqCst) {
                self.summary.interrupted = true;
                return Ok(());
            }
            let want = match self.opts.limit {
                Some(l) if self.summary.posts >= l => return Ok(()),
                Some(l) => (l - self.summary.posts).min(batch),
                None => batch,
            };
            let t0 = Instant::now();
            let req = ClaimRequest {
                scorer_id: self.scorer_id,
                run_id: self.run_id,
                owner: self.owner,
                max_posts: want as i64,
                lease_ms: self.lease_ms,
                after_id: cursor,
                source_id: self.opts.source_id,
            };
            let claim = retry("claiming a batch", || self.store.claim_batch(&req)).await;
            self.summary.lease_seconds += t0.elapsed().as_secs_f64();
            match claim? {
                Claim::Lease(lease) => {
                    if !lease.taken_over {
                        cursor = cursor.max(lease.last_post_id.unwrap_or(cursor));
                        high = high.max(cursor);
                    }
                    self.batch(&lease).await?;
                    progress(self.summary.posts);
                }
                Claim::Nothing { held_by_others } => {
                    let due = !self.opts.follow || last_full_pass.elapsed() >= rescan_every;
                    if cursor > 0 && due {
                        cursor = 0;
                        last_full_pass = Instant::now();
                        continue;
                    }
                    if !self.opts.follow && held_by_others == 0 {
                        return Ok(());
                    }
                    // Other workers' batches usually end within a batch's time: look again
                    // soon, so the pass ends when theirs do (or takes over a dead one's).
                    let wait = if held_by_others > 0 {
                        tracing::debug!(held_by_others, "waiting for the leases of other workers");
                        self.opts.poll.min(WAIT_FOR_OTHERS)
                    } else {
                        self.opts.poll
                    };
                    self.sleep(wait.min(Duration::from_millis(self.lease_ms as u64)))
                        .await;
                    if self.opts.follow {
                        cursor = high;
                    }
                }
            }
        }
    }

    /// Scores one claimed batch, stores its scores and ends the lease.
    async fn batch(&mut self, lease: &Lease) -> Result<(), DriverError> {
        let t0 = Instant::now();
        let posts = retry("reading a batch", || self.store.lease_posts(lease)).await?;
        self.summary.lease_seconds += t0.elapsed().as_secs_f64();
        self.summary.batches += 1;
        if lease.taken_over {
            self.summary.takeovers += 1;
        }
        let page = if posts.is_empty() {
            ScoredPage::default()
        } else {
            let t1 = Instant::now();
            let page = score_page(self.scorer, &posts).await;
            self.summary.score_seconds += t1.elapsed().as_secs_f64();
            page
        };
        let t2 = Instant::now();
        // The embeddings first: a post whose scores are stored is never claimed again, so
        // its embedding must already be there.
        if !page.embeddings.is_empty() {
            retry("storing embeddings", || {
                self.store.insert_embeddings(&page.embeddings)
            })
            .await?;
        }
        let rows = retry("storing scores", || {
            self.store
                .insert_scores(self.scorer_id, self.run_id, &page.scores)
        })
        .await?;
        self.summary.write_seconds += t2.elapsed().as_secs_f64();
        let scored = self.tally(&page, rows);
        // Posts the scorer recorded as failures (a failure row, no scores) and posts it
        // left without any row count as failed.
        let recorded_failures = page
            .counters
            .get("failed")
            .copied()
            .unwrap_or(0)
            .min(scored);
        self.counts.input += posts.len() as i64;
        self.counts.accepted += (scored - recorded_failures) as i64;
        self.counts.failed += (posts.len() as u64 - scored + recorded_failures) as i64;
        let t3 = Instant::now();
        let held = retry("ending a lease", || {
            self.store.finish_lease(lease.id, self.owner)
        })
        .await?;
        if !held {
            tracing::warn!(
                lease = lease.id,
                "the lease expired while this batch was scored and another worker took it over; \
                 the scores already stored are kept once (raise --lease-secs)"
            );
        }
        retry("updating the run", || {
            self.store.update_run_counts(self.run_id, self.counts)
        })
        .await?;
        self.summary.lease_seconds += t3.elapsed().as_secs_f64();
        if let Some(message) = page.fatal {
            tracing::error!(run_id = self.run_id, "the scorer failed: {message}");
            return Err(DriverError::Scorer {
                run_id: self.run_id,
                posts: self.summary.posts,
                message,
            });
        }
        Ok(())
    }

    /// Adds a page to the summary; returns how many posts got at least one score.
    fn tally(&mut self, page: &ScoredPage, rows: u64) -> u64 {
        self.summary.rows += rows;
        for (k, v) in &page.counters {
            *self.summary.counters.entry(k.clone()).or_default() += v;
        }
        let mut posts: Vec<i64> = page.scores.iter().map(|s| s.post_id).collect();
        posts.sort_unstable();
        posts.dedup();
        for s in &page.scores {
            add_to_dims(&mut self.summary.dims, s);
        }
        self.summary.posts += posts.len() as u64;
        posts.len() as u64
    }

    /// Sleeps, waking early when asked to stop.
    async fn sleep(&self, total: Duration) {
        let until = Instant::now() + total;
        while Instant::now() < until && !self.stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(100).min(until - Instant::now())).await;
        }
    }
}

fn add_to_dims(dims: &mut BTreeMap<String, DimSummary>, s: &Score) {
    let d = dims.entry(s.dimension.clone()).or_default();
    d.n += 1;
    d.sum += s.value;
    if let Some(l) = &s.label {
        *d.labels.entry(l.clone()).or_default() += 1;
    }
}

/// Runs a scorer's page. CPU-bound scorers compute inside their future, so on a
/// multi-threaded runtime the page runs in `block_in_place` and the heartbeat keeps
/// beating on the other workers.
async fn score_page(scorer: &dyn PostScorer, posts: &[mindpulse_core::PostToScore]) -> ScoredPage {
    let handle = tokio::runtime::Handle::current();
    if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
        tokio::task::block_in_place(|| handle.block_on(scorer.score_page(posts)))
    } else {
        scorer.score_page(posts).await
    }
}

/// Calls `f` again after transient database errors, with a short backoff.
async fn retry<T, F, Fut>(what: &str, mut f: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < RETRIES && e.is_retryable() => {
                attempt += 1;
                tracing::warn!("{what} failed ({e}); retrying ({attempt}/{RETRIES})");
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The background task that renews a driver's leases and beats its run's heartbeat.
struct Heartbeat {
    done: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    fn start(store: Store, owner: String, run_id: i64, lease_ms: i64) -> Heartbeat {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let every = Duration::from_millis((lease_ms / 3).max(30) as u64);
        let task = tokio::spawn(async move {
            let mut next = Instant::now() + every;
            while !flag.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20).min(every)).await;
                if Instant::now() < next {
                    continue;
                }
                next = Instant::now() + every;
                if let Err(e) = store.renew_leases(&owner, lease_ms).await {
                    tracing::warn!("renewing leases failed: {e}");
                }
                if let Err(e) = store.heartbeat_run(run_id).await {
                    tracing::warn!("run heartbeat failed: {e}");
                }
            }
        });
        Heartbeat { done, task }
    }

    async fn stop(self) {
        self.done.store(true, Ordering::SeqCst);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests;

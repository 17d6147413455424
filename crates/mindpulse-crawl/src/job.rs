//! The job runner shared by every crawler: finds or resumes the job, records the run,
//! works through the job's tasks one step (one page) at a time, saves each task's cursor
//! and the coverage after every step, and stops cleanly on interrupt, rate limits, an
//! expired cookie or the time budget.
//!
//! Everything needed to continue lives in the database (`crawl_jobs`, `crawl_tasks`), so
//! a run killed at any point is continued by the next invocation of the same command:
//! the page being worked on when it died is fetched again, which refreshes counts and
//! duplicates nothing.

use crate::error::CrawlError;
use mindpulse_clean::Cleaner;
use mindpulse_core::process::hostname;
use mindpulse_core::RawPost;
use mindpulse_ingest::{RawWriter, WriteReport};
use mindpulse_store::{
    Coverage, CrawlJob, CrawlTask, NewCrawlTask, NewRun, OnConflict, RunCounts, RunKind, RunStatus,
    Store,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a job held by another machine must be silent before it is taken over.
pub const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

/// Jobs this process is working on (to tell a live job from one a dropped run left).
static ACTIVE: Mutex<Option<HashSet<(String, i64)>>> = Mutex::new(None);

fn set_active(db: &str, id: i64, on: bool) {
    if let Ok(mut g) = ACTIVE.lock() {
        let set = g.get_or_insert_with(HashSet::new);
        if on {
            set.insert((db.to_string(), id));
        } else {
            set.remove(&(db.to_string(), id));
        }
    }
}

/// Marks a job as worked on by this process while alive; dropping the run (as a kill
/// would) unmarks it, so the job counts as abandoned.
struct ActiveGuard(String, i64);

impl ActiveGuard {
    fn new(db: &str, id: i64) -> ActiveGuard {
        set_active(db, id, true);
        ActiveGuard(db.to_string(), id)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        set_active(&self.0, self.1, false);
    }
}

fn is_active_here(db: &str, id: i64) -> bool {
    ACTIVE
        .lock()
        .map(|g| {
            g.as_ref()
                .is_some_and(|s| s.contains(&(db.to_string(), id)))
        })
        .unwrap_or(false)
}

/// `host:pid` of this process.
pub fn owner_id() -> String {
    mindpulse_core::process::host_pid()
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether the holder of a `running` job is still at work.
fn holder_alive(db: &str, job: &CrawlJob) -> bool {
    let Some(owner) = job.owner.as_deref() else {
        return false;
    };
    let Some((host, pid)) = owner.rsplit_once(':') else {
        return false;
    };
    if host == hostname() {
        let Ok(pid) = pid.parse::<i32>() else {
            return false;
        };
        if pid as u32 == std::process::id() {
            return is_active_here(db, job.id);
        }
        return pid_alive(pid);
    }
    let silent = chrono::Utc::now() - job.heartbeat_at;
    silent.to_std().map(|d| d < STALE_AFTER).unwrap_or(true)
}

/// What one step of a task did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// The cursor to continue from; None when the task is finished.
    pub cursor: Option<String>,
    /// The platform's reported total, when the page carried one.
    pub reported_total: Option<i64>,
}

/// What runs after a crawl that stored new posts: the CLI scores them with the scorers of
/// `[score]` through the score driver.
pub trait ScoreHook: Send + Sync {
    /// Scores the unscored posts of the crawler's source (this run's and any that an
    /// earlier run left unscored); returns how many were scored.
    fn score_source<'a>(
        &'a self,
        store: &'a Store,
        source_id: i64,
    ) -> Pin<Box<dyn Future<Output = Result<u64, String>> + Send + 'a>>;
}

/// Everything a crawler's step may use. Steps of different tasks run at the same time
/// (up to `[crawl] concurrency`): each has its own coverage row, and they share the
/// writer (one write at a time) and the heartbeat.
pub struct StepCtx<'a> {
    pub store: &'a Store,
    sink: &'a tokio::sync::Mutex<RawWriter>,
    cleaner: &'a Cleaner,
    pub job_id: i64,
    pub run_id: i64,
    coverage: Coverage,
    last_beat: &'a Mutex<Instant>,
}

impl StepCtx<'_> {
    /// The coverage row of `task` (the task this step works on) in this run.
    pub fn cov(&mut self, task: &CrawlTask) -> &mut Coverage {
        debug_assert_eq!(
            task.key, self.coverage.key,
            "a step only counts for its own task"
        );
        &mut self.coverage
    }

    /// The cleaner the writer uses (pseudonyms of authors the crawler looks up).
    pub fn cleaner(&self) -> &Cleaner {
        self.cleaner
    }

    /// Stores posts and counts them as items of `task`.
    pub async fn write(
        &mut self,
        task: &CrawlTask,
        posts: Vec<RawPost>,
    ) -> Result<WriteReport, CrawlError> {
        let n = posts.len() as i64;
        let r = self.sink.lock().await.write(posts).await?;
        let c = self.cov(task);
        c.items_seen += n;
        c.items_new += r.inserted as i64;
        c.items_duplicate += r.existing as i64;
        Ok(r)
    }

    pub async fn add_tasks(&mut self, tasks: &[NewCrawlTask]) -> Result<u64, CrawlError> {
        Ok(self.store.add_crawl_tasks(self.job_id, tasks).await?)
    }

    /// Tells other processes the job and its run are alive (at most once a minute).
    pub async fn heartbeat(&mut self) -> Result<(), CrawlError> {
        let due = self
            .last_beat
            .lock()
            .map(|mut b| {
                let due = b.elapsed() > Duration::from_secs(60);
                if due {
                    *b = Instant::now();
                }
                due
            })
            .unwrap_or(true);
        if due {
            self.store.heartbeat_crawl_job(self.job_id).await?;
            self.store.heartbeat_run(self.run_id).await?;
        }
        Ok(())
    }
}

/// A short human-readable form of a task query for the coverage report.
pub fn describe_query(kind: &str, query: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(query).unwrap_or(serde_json::Value::Null);
    let s = |k: &str| {
        v.get(k).and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        })
    };
    match kind {
        "hot" => "hot search".into(),
        "search" => {
            let mut d = format!(
                "{} {}..{}",
                s("q").unwrap_or_default(),
                s("since").unwrap_or_default(),
                s("until").unwrap_or_default()
            );
            if let Some(p) = s("province") {
                d.push_str(&format!(" province {p}"));
            }
            d
        }
        "comments" => format!("comments of {}", s("mid").unwrap_or_default()),
        "replies" => format!(
            "replies to {} (post {})",
            s("cid").unwrap_or_default(),
            s("mid").unwrap_or_default()
        ),
        "reposts" => format!("reposts of {}", s("mid").unwrap_or_default()),
        "tag" => format!(
            "#{} on {}",
            s("tag").unwrap_or_default(),
            s("instance").unwrap_or_default()
        ),
        _ => query.to_string(),
    }
}

/// A crawler: how to work one step of a task. Steps of different tasks may run at the
/// same time, so a stepper keeps any state of its own behind a lock.
pub(crate) trait Stepper {
    async fn step(&self, ctx: &mut StepCtx<'_>, task: &CrawlTask)
        -> Result<StepResult, CrawlError>;
}

/// What to run.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Resume key: an unfinished job with this name is continued.
    pub name: String,
    pub platform: String,
    /// Recorded with the job and the run (never secrets).
    pub params: serde_json::Value,
    /// Tasks of a new job.
    pub seed: Vec<NewCrawlTask>,
    /// Time cap; None for no cap.
    pub budget: Option<Duration>,
    /// Take over a job another live process seems to hold.
    pub force: bool,
    /// Name of the `sources` row.
    pub source_name: String,
    /// Kinds of failed tasks (of this or earlier jobs of the platform) this job takes up
    /// again from where they failed; empty for none.
    pub retry_kinds: Vec<&'static str>,
}

/// How many later runs take up a failed task before it is left failed for good.
pub const MAX_TASK_ATTEMPTS: i64 = 3;

/// How a job run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Every task done.
    Done,
    /// The time budget ran out; the rest was skipped.
    BudgetReached,
    /// SIGINT/SIGTERM; resumable.
    Interrupted,
    /// Rate limited; resumable.
    RateLimited,
    /// Cookie expired; resumable.
    LoginRequired,
    /// Database or other fatal error; resumable.
    Failed,
}

/// What a job run did.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub job_id: i64,
    pub run_id: i64,
    pub resumed: bool,
    pub ending: Ending,
    /// The reason for anything but `done`.
    pub message: Option<String>,
    pub counts: RunCounts,
    pub tasks_done: usize,
    pub tasks_failed: usize,
    pub tasks_skipped: usize,
    pub tasks_open: usize,
    pub requests: u64,
    pub scored: Option<u64>,
    pub seconds: f64,
}

/// Runs (or resumes) a job with `stepper` until it finishes or stops.
pub(crate) async fn run_job<S: Stepper>(
    store: &Store,
    cleaner: Arc<Cleaner>,
    spec: &JobSpec,
    stepper: &S,
    fetcher: &crate::http::Fetcher,
    scorer: Option<&dyn ScoreHook>,
) -> Result<JobReport, CrawlError> {
    let started = Instant::now();
    let owner = owner_id();
    let source_id = store
        .ensure_source(&spec.source_name, "crawl", Some(&spec.platform))
        .await?;
    let latest = store.latest_crawl_job(&spec.name).await?;
    let resumable = latest.filter(|j| j.status == "running" || j.status == "interrupted");
    if let Some(j) = &resumable {
        if j.status == "running" && !spec.force && holder_alive(store.url(), j) {
            return Err(CrawlError::Busy(format!(
                "job {} ({}) is being run by {} (last seen {}); not starting a second run (use --force to take it over)",
                j.id,
                j.name,
                j.owner.as_deref().unwrap_or("?"),
                j.heartbeat_at.format("%Y-%m-%d %H:%M:%S UTC")
            )));
        }
    }
    let run_id = store
        .start_run(&NewRun {
            kind: Some(RunKind::Crawl),
            source_id: Some(source_id),
            version: Some(concat!("mindpulse-crawl ", env!("CARGO_PKG_VERSION")).to_string()),
            params: serde_json::json!({"job": spec.name, "params": spec.params, "resumed_job": resumable.as_ref().map(|j| j.id)}),
            ..Default::default()
        })
        .await?;
    let (job_id, resumed) = match &resumable {
        Some(j) => {
            if !store
                .claim_crawl_job(j.id, &j.status, j.owner.as_deref(), &owner, Some(run_id))
                .await?
            {
                store
                    .finish_run(
                        run_id,
                        RunStatus::Failed,
                        RunCounts::default(),
                        Some("job taken by another process"),
                    )
                    .await?;
                return Err(CrawlError::Busy(format!(
                    "job {} was taken over by another process just now",
                    j.id
                )));
            }
            tracing::info!(job = j.id, "resuming {} where it stopped", spec.name);
            (j.id, true)
        }
        None => {
            let id = store
                .create_crawl_job(
                    &spec.name,
                    &spec.platform,
                    &spec.params.to_string(),
                    &owner,
                    Some(run_id),
                )
                .await?;
            store.add_crawl_tasks(id, &spec.seed).await?;
            (id, false)
        }
    };
    if !spec.retry_kinds.is_empty() {
        let n = store
            .adopt_failed_crawl_tasks(&spec.platform, job_id, &spec.retry_kinds, MAX_TASK_ATTEMPTS)
            .await?;
        if n > 0 {
            tracing::info!(
                "{n} task(s) that failed in an earlier run are tried again from where they failed"
            );
        }
    }
    fetcher.resume();
    let guard = ActiveGuard::new(store.url(), job_id);
    let result = work(
        store, cleaner, spec, stepper, fetcher, source_id, run_id, job_id, started,
    )
    .await;
    drop(guard);
    let (ending, message, counts, failed_tasks) = match result {
        Ok(w) => w,
        Err(e) => {
            let _ = store
                .finish_crawl_job(job_id, "interrupted", Some(&e.to_string()))
                .await;
            let _ = store
                .finish_run(
                    run_id,
                    RunStatus::Failed,
                    RunCounts::default(),
                    Some(&e.to_string()),
                )
                .await;
            return Err(e);
        }
    };
    let (job_status, run_status) = match ending {
        Ending::Done | Ending::BudgetReached => ("done", RunStatus::Done),
        Ending::Interrupted | Ending::RateLimited | Ending::LoginRequired => {
            ("interrupted", RunStatus::Interrupted)
        }
        Ending::Failed => ("interrupted", RunStatus::Failed),
    };
    let tasks = store.crawl_tasks(job_id).await?;
    let count = |s: &str| tasks.iter().filter(|t| t.status == s).count();
    let tasks_open = count("pending") + count("running");
    let note = message.clone().or_else(|| {
        (failed_tasks > 0).then(|| format!("{failed_tasks} task(s) failed (see coverage)"))
    });
    store
        .finish_crawl_job(job_id, job_status, note.as_deref())
        .await?;
    store
        .finish_run(run_id, run_status, counts, note.as_deref())
        .await?;
    let mut scored = None;
    let stopped_by_user = matches!(ending, Ending::Interrupted | Ending::Failed);
    if let (Some(scorer), false) = (scorer, stopped_by_user) {
        if counts.accepted > 0 {
            match scorer.score_source(store, source_id).await {
                Ok(n) => scored = Some(n),
                Err(e) => tracing::warn!(
                    "scoring the new posts of run {run_id} failed (they are stored; `mindpulse score` scores them): {e}"
                ),
            }
        }
    }
    Ok(JobReport {
        job_id,
        run_id,
        resumed,
        ending,
        message,
        counts,
        tasks_done: count("done"),
        tasks_failed: count("failed"),
        tasks_skipped: count("skipped"),
        tasks_open,
        requests: fetcher.requests_sent(),
        scored,
        seconds: started.elapsed().as_secs_f64(),
    })
}

type Worked = (Ending, Option<String>, RunCounts, usize);

/// What the workers of one run share; the lock is never held across an await.
#[derive(Default)]
struct Shared {
    coverage: HashMap<String, Coverage>,
    /// Tasks a worker is stepping now (each task runs in one step at a time).
    busy: Vec<i64>,
    /// The first error that stops the run; the steps still in flight end (halted) first.
    stop: Option<CrawlError>,
    budget_reached: bool,
    failed_tasks: usize,
}

/// What a worker does next.
enum Pick {
    Step(Box<(CrawlTask, Coverage)>),
    /// Nothing open now, but running steps may add tasks.
    Wait,
    Exit,
}

/// Runs the job's tasks with up to `[crawl] concurrency` steps in flight. Each worker
/// picks the next open task no other worker holds, steps it and saves its cursor and
/// coverage; all workers are polled together, so none waits on a paused one. Politeness
/// per host is the fetcher's: workers on one host queue there, workers on different
/// hosts overlap. The first rate limit, expired cookie or interrupt halts the fetcher,
/// which ends every step in flight; each keeps its task's cursor.
#[allow(clippy::too_many_arguments)]
async fn work<S: Stepper>(
    store: &Store,
    cleaner: Arc<Cleaner>,
    spec: &JobSpec,
    stepper: &S,
    fetcher: &crate::http::Fetcher,
    source_id: i64,
    run_id: i64,
    job_id: i64,
    started: Instant,
) -> Result<Worked, CrawlError> {
    // Items are keyed by (platform, platform id): re-collecting one refreshes its counts.
    let sink = RawWriter::open(
        store.clone(),
        cleaner.clone(),
        Some(source_id),
        Some(run_id),
        OnConflict::UpdateCounts,
    )
    .await?;
    let sink = tokio::sync::Mutex::new(sink);
    let last_beat = Mutex::new(Instant::now());
    let slots = fetcher.politeness().concurrency.max(1);
    let shared = Mutex::new(Shared::default());
    let picking = tokio::sync::Mutex::new(());
    let finished_one = tokio::sync::Notify::new();
    let lock = || shared.lock().unwrap_or_else(|e| e.into_inner());

    let pick = || async {
        // One worker picks at a time, so two never take the same task.
        let _one = picking.lock().await;
        let busy = {
            let s = lock();
            if s.stop.is_some() || s.budget_reached {
                return Ok(Pick::Exit);
            }
            s.busy.clone()
        };
        if fetcher.cancelled() {
            return Ok(Pick::Exit);
        }
        if let Some(budget) = spec.budget {
            if started.elapsed() >= budget {
                lock().budget_reached = true;
                return Ok(Pick::Exit);
            }
        }
        let Some(task) = store.next_crawl_task_except(job_id, &busy).await? else {
            return Ok(if busy.is_empty() {
                Pick::Exit
            } else {
                Pick::Wait
            });
        };
        if task.status == "pending" {
            store
                .save_crawl_task(task.id, task.cursor.as_deref(), "running", None)
                .await?;
        }
        let mut s = lock();
        s.busy.push(task.id);
        let cov = s
            .coverage
            .get(&task.key)
            .cloned()
            .unwrap_or_else(|| Coverage {
                run_id,
                key: task.key.clone(),
                platform: spec.platform.clone(),
                kind: task.kind.clone(),
                query: describe_query(&task.kind, &task.query),
                ..Coverage::default()
            });
        Ok::<_, CrawlError>(Pick::Step(Box::new((task, cov))))
    };

    let worker = || async {
        loop {
            let (task, cov) = match pick().await? {
                Pick::Step(step) => *step,
                Pick::Wait => {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(100), finished_one.notified())
                            .await;
                    continue;
                }
                Pick::Exit => {
                    finished_one.notify_waiters();
                    return Ok::<_, CrawlError>(());
                }
            };
            let mut ctx = StepCtx {
                store,
                sink: &sink,
                cleaner: &cleaner,
                job_id,
                run_id,
                coverage: cov,
                last_beat: &last_beat,
            };
            let outcome = stepper.step(&mut ctx, &task).await;
            let mut cov = ctx.coverage;
            match outcome {
                Ok(StepResult {
                    cursor: Some(c),
                    reported_total,
                }) => {
                    store
                        .save_crawl_task(task.id, Some(&c), "running", reported_total)
                        .await?;
                }
                Ok(StepResult {
                    cursor: None,
                    reported_total,
                }) => {
                    store
                        .save_crawl_task(task.id, task.cursor.as_deref(), "done", reported_total)
                        .await?;
                }
                Err(e) if e.stops_run() => {
                    // A step ended by the halt of another one keeps its task's cursor.
                    let mut s = lock();
                    if s.stop.is_none() {
                        fetcher.halt();
                        s.stop = Some(e);
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        "task {} ({}) failed; kept with its position for the next run: {e}",
                        task.id,
                        describe_query(&task.kind, &task.query)
                    );
                    lock().failed_tasks += 1;
                    store
                        .save_crawl_task(task.id, task.cursor.as_deref(), "failed", None)
                        .await?;
                }
            }
            if cov.reported_total.is_none() {
                cov.reported_total = task.reported_total;
            }
            store.record_coverage(&cov).await?;
            let counts = {
                let sink = sink.lock().await;
                let mut s = lock();
                s.coverage.insert(task.key.clone(), cov);
                s.busy.retain(|id| *id != task.id);
                totals(&sink, &s.coverage)
            };
            store.update_run_counts(run_id, counts).await?;
            store.heartbeat_crawl_job(job_id).await?;
            if let Ok(mut b) = last_beat.lock() {
                *b = Instant::now();
            }
            finished_one.notify_waiters();
        }
    };
    futures_util::future::try_join_all((0..slots).map(|_| worker())).await?;

    let (stop, budget_reached, failed_tasks, counts) = {
        let sink = sink.lock().await;
        let mut s = lock();
        let counts = totals(&sink, &s.coverage);
        (s.stop.take(), s.budget_reached, s.failed_tasks, counts)
    };
    if let Some(e) = stop {
        let ending = match &e {
            CrawlError::Cancelled if fetcher.interrupted() => Ending::Interrupted,
            CrawlError::Cancelled => Ending::Failed,
            CrawlError::RateLimited { .. } => Ending::RateLimited,
            CrawlError::LoginRequired { .. } => Ending::LoginRequired,
            _ => Ending::Failed,
        };
        tracing::warn!("stopping: {e}");
        return Ok((ending, Some(e.to_string()), counts, failed_tasks));
    }
    if fetcher.interrupted() {
        return Ok((
            Ending::Interrupted,
            Some("interrupted".into()),
            counts,
            failed_tasks,
        ));
    }
    if budget_reached {
        let skipped = store.close_open_crawl_tasks(job_id, "skipped").await?;
        let msg = format!(
            "time budget of {} min reached; {skipped} task(s) not finished were skipped",
            spec.budget.unwrap_or_default().as_secs_f64() / 60.0
        );
        tracing::warn!("{msg}");
        return Ok((Ending::BudgetReached, Some(msg), counts, failed_tasks));
    }
    Ok((Ending::Done, None, counts, failed_tasks))
}

fn totals(sink: &RawWriter, coverage: &HashMap<String, Coverage>) -> RunCounts {
    RunCounts {
        failed: coverage.values().map(|c| c.pages_failed).sum(),
        ..sink.counts
    }
}

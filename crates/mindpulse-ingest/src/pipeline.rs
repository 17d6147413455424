//! The import loop itself: producer thread (read, clean, flag duplicates) and async
//! writer (batched inserts, run accounting).

use crate::writer::{Flagger, Writer};
use crate::RejectsWriter;
use chrono::{DateTime, Utc};
use mindpulse_clean::Cleaner;
use mindpulse_core::{Reject, Source};
use mindpulse_store::{
    NewPost, NewRun, OnConflict, RunCounts, RunKind, RunStatus, Store, StoreError,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A generous size of one input record, to estimate from a file's size how many posts an
/// import brings at least (for the bulk-load decision).
const BYTES_PER_POST_AT_MOST: u64 = 1000;

/// How many rejects are logged one by one before the rest are only counted.
const LOGGED_REJECTS: u64 = 20;

/// Settings of one import.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Name of the source row (`--source`, or the file name).
    pub source_name: String,
    /// Kind of source: `import`, `crawl`, …
    pub source_kind: String,
    pub platform: Option<String>,
    /// Posts per database transaction.
    pub batch_size: usize,
    /// Read and clean everything, write nothing.
    pub dry_run: bool,
    /// Stop at the first rejected record. Records are read and cleaned in chunks (up to
    /// 1024): the other rejects of the chunk being processed are still counted and written
    /// to the rejects file; its good records after the stop are not stored.
    pub strict: bool,
    pub on_conflict: OnConflict,
    /// Where rejects go (`<file>.rejects.jsonl`); None keeps them only in the log.
    pub rejects_path: Option<PathBuf>,
    /// Recorded in the run's `params`.
    pub params: serde_json::Value,
    pub run_kind: RunKind,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            source_name: "import".into(),
            source_kind: "import".into(),
            platform: None,
            batch_size: 2000,
            dry_run: false,
            strict: false,
            on_conflict: OnConflict::Ignore,
            rejects_path: None,
            params: serde_json::Value::Null,
            run_kind: RunKind::Import,
        }
    }
}

/// A snapshot for progress bars.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestProgress {
    pub records: u64,
    pub stored: u64,
    pub rejected: u64,
    pub bytes: u64,
    pub total_bytes: Option<u64>,
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestReport {
    pub run_id: Option<i64>,
    pub source: String,
    /// Records read (accepted + already stored + rejected).
    pub input: u64,
    /// Posts newly stored.
    pub accepted: u64,
    /// Records whose platform id was already stored (not stored again).
    pub already_stored: u64,
    pub rejected: u64,
    /// Accepted posts without a creation time (left out of every time-based view).
    pub without_time: u64,
    /// Newly stored posts flagged as exact / near duplicates of earlier text.
    pub exact_duplicates: u64,
    pub near_duplicates: u64,
    /// PII items replaced by placeholders.
    pub pii_redacted: u64,
    pub mentions_pseudonymized: u64,
    pub interrupted: bool,
    /// The reject that stopped a `--strict` import.
    pub stopped_at: Option<String>,
    pub rejects_file: Option<PathBuf>,
    /// The rejects file could not be written (the rejects are still counted and logged,
    /// and the good records stored).
    pub rejects_error: Option<String>,
    pub seconds: f64,
}

/// Why an import could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the reading thread failed: {0}")]
    Producer(String),
}

/// A batch from the producer thread to the writer, with the progress when it was cut.
enum Msg {
    Batch(Vec<NewPost>, IngestProgress),
}

#[derive(Default)]
struct ProducerSummary {
    input: u64,
    rejected: u64,
    exact: u64,
    near: u64,
    pii: u64,
    mentions: u64,
    stopped_at: Option<String>,
    rejects_error: Option<(PathBuf, std::io::Error)>,
    rejects_written: u64,
    progress: IngestProgress,
}

/// Imports everything `source` yields. With `store = None` (or `dry_run`) nothing is
/// written: records are read, cleaned and counted.
pub async fn ingest(
    store: Option<&Store>,
    source: Box<dyn Source>,
    cleaner: Arc<Cleaner>,
    opts: IngestOptions,
    cancel: Arc<AtomicBool>,
    mut on_progress: impl FnMut(&IngestProgress),
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let collected_at = Utc::now();
    let store = if opts.dry_run { None } else { store };
    let description = source.describe();

    let mut flagger = Flagger::empty();
    let (source_id, run_id) = match store {
        Some(store) => {
            flagger = Flagger::seeded(store).await?;
            let source_id = store
                .ensure_source(
                    &opts.source_name,
                    &opts.source_kind,
                    opts.platform.as_deref(),
                )
                .await?;
            let run_id = store
                .start_run(&NewRun {
                    kind: Some(opts.run_kind),
                    source_id: Some(source_id),
                    version: Some(concat!("mindpulse ", env!("CARGO_PKG_VERSION")).to_string()),
                    params: opts.params.clone(),
                    ..Default::default()
                })
                .await?;
            (Some(source_id), Some(run_id))
        }
        None => (None, None),
    };

    // A large import into a smaller table builds the secondary indexes once at the end.
    let bulk = match (store, source.progress().1) {
        (Some(store), Some(total_bytes)) => Some(
            store
                .begin_bulk_load(total_bytes / BYTES_PER_POST_AT_MOST)
                .await?,
        ),
        _ => None,
    };

    // Two batches in flight: one being written, one being filled.
    let (tx, mut rx) = mpsc::channel::<Msg>(2);
    let producer_opts = opts.clone();
    let producer_cancel = cancel.clone();
    let producer = tokio::task::spawn_blocking(move || {
        produce(
            source,
            &cleaner,
            flagger,
            &producer_opts,
            collected_at,
            &producer_cancel,
            &tx,
        )
    });

    let mut report = IngestReport {
        run_id,
        source: description,
        rejects_file: None,
        ..Default::default()
    };
    let mut writer = store.map(|s| Writer::new(s.clone(), source_id, run_id, opts.on_conflict));
    if let (Some(w), Some(b)) = (writer.as_mut(), bulk.as_ref()) {
        if b.dropped_indexes() {
            w.skip_twin_check();
        }
    }
    let mut write_error = None;
    let mut last_progress = IngestProgress::default();
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Batch(batch, progress) => {
                if let Some(writer) = writer.as_mut() {
                    match writer.write(&batch).await {
                        Ok(r) => {
                            report.accepted += r.inserted;
                            report.already_stored += r.existing;
                        }
                        Err(e) => {
                            write_error = Some(e);
                            break;
                        }
                    }
                } else {
                    report.accepted += batch.len() as u64;
                    report.without_time +=
                        batch.iter().filter(|p| p.post.created_at.is_none()).count() as u64;
                }
                last_progress = IngestProgress {
                    stored: report.accepted,
                    ..progress
                };
                on_progress(&last_progress);
                if let (Some(store), Some(run_id)) = (store, run_id) {
                    let counts = RunCounts {
                        input: (progress.records) as i64,
                        accepted: report.accepted as i64,
                        already_stored: report.already_stored as i64,
                        rejected: progress.rejected as i64,
                        failed: 0,
                    };
                    if let Err(e) = store.update_run_counts(run_id, counts).await {
                        write_error = Some(e);
                        break;
                    }
                }
            }
        }
    }
    drop(rx);
    let produced = producer.await;
    if let (Some(store), Some(bulk)) = (store, bulk) {
        if let Err(e) = store.end_bulk_load(bulk).await {
            write_error.get_or_insert(e);
        }
    }

    let summary = match produced {
        Ok(s) => s,
        Err(e) => {
            if let (Some(store), Some(run_id)) = (store, run_id) {
                let _ = store
                    .finish_run(
                        run_id,
                        RunStatus::Failed,
                        RunCounts::default(),
                        Some("reader thread failed"),
                    )
                    .await;
            }
            return Err(IngestError::Producer(e.to_string()));
        }
    };
    report.input = summary.input;
    report.rejected = summary.rejected;
    report.pii_redacted = summary.pii;
    report.mentions_pseudonymized = summary.mentions;
    report.stopped_at = summary.stopped_at;
    report.interrupted = cancel.load(Ordering::Relaxed);
    if summary.rejects_written > 0 {
        report.rejects_file = opts.rejects_path.clone();
    }
    on_progress(&IngestProgress {
        stored: report.accepted,
        ..summary.progress.max_with(last_progress)
    });

    let counts = RunCounts {
        input: report.input as i64,
        accepted: report.accepted as i64,
        already_stored: report.already_stored as i64,
        rejected: report.rejected as i64,
        failed: 0,
    };
    if let Some((path, source)) = &summary.rejects_error {
        report.rejects_file = None;
        report.rejects_error = Some(format!(
            "cannot write rejects to {}: {source}",
            path.display()
        ));
    }
    if let (Some(store), Some(run_id)) = (store, run_id) {
        let (status, note) = if let Some(e) = &write_error {
            (RunStatus::Failed, Some(e.to_string()))
        } else if report.interrupted {
            (RunStatus::Interrupted, Some("interrupted".to_string()))
        } else if let Some(stop) = &report.stopped_at {
            (
                RunStatus::Failed,
                Some(format!("--strict: stopped at {stop}")),
            )
        } else {
            (RunStatus::Done, report.rejects_error.clone())
        };
        // The run's end is recorded even when the connections were just lost.
        let mut attempt = 0u32;
        loop {
            match store
                .finish_run(run_id, status, counts, note.as_deref())
                .await
            {
                Err(e) if e.is_retryable() && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                        .await;
                }
                other => break other?,
            }
        }
        let (exact, near) = store.run_duplicate_counts(run_id).await?;
        report.exact_duplicates = exact;
        report.near_duplicates = near;
        report.without_time = store.run_posts_without_time(run_id).await?;
    } else {
        report.exact_duplicates = summary.exact;
        report.near_duplicates = summary.near;
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

impl IngestProgress {
    fn max_with(self, other: IngestProgress) -> IngestProgress {
        IngestProgress {
            records: self.records.max(other.records),
            stored: self.stored.max(other.stored),
            rejected: self.rejected.max(other.rejected),
            bytes: self.bytes.max(other.bytes),
            total_bytes: self.total_bytes.or(other.total_bytes),
        }
    }
}

/// The producer: reads the source, cleans, flags duplicates, sends batches.
fn produce(
    mut source: Box<dyn Source>,
    cleaner: &Cleaner,
    mut flagger: Flagger,
    opts: &IngestOptions,
    collected_at: DateTime<Utc>,
    cancel: &AtomicBool,
    tx: &mpsc::Sender<Msg>,
) -> ProducerSummary {
    let mut s = ProducerSummary::default();
    let mut rejects = opts.rejects_path.as_ref().map(RejectsWriter::new);
    let batch_size = opts.batch_size.max(1);
    let mut batch: Vec<NewPost> = Vec::with_capacity(batch_size);
    let mut last_send = Instant::now();

    // Counts, logs and writes one reject to the rejects file.
    let mut record = |s: &mut ProducerSummary, reject: &Reject| {
        s.rejected += 1;
        if s.rejected <= LOGGED_REJECTS {
            tracing::warn!("{reject}");
        } else if s.rejected == LOGGED_REJECTS + 1 {
            tracing::warn!("more rejects: see the rejects file and the summary");
        }
        if let Some(w) = rejects.as_mut() {
            if s.rejects_error.is_none() {
                if let Err(e) = w.write(reject) {
                    s.rejects_error = Some((w.path().to_path_buf(), e));
                }
            }
        }
    };

    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    // False once the writer has stopped (a database error it reports itself).
    let mut writer_alive = true;
    'read: loop {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let chunk = read_chunk(source.as_mut());
        if chunk.is_empty() {
            break;
        }
        let mut items = clean_chunk(chunk, cleaner, collected_at, workers).into_iter();
        while let Some(item) = items.next() {
            s.input += 1;
            let keep_going = match item {
                Err(reject) => {
                    record(&mut s, &reject);
                    if opts.strict {
                        s.stopped_at = Some(reject.to_string());
                    }
                    !opts.strict
                }
                Ok(cleaned) => {
                    s.pii += u64::from(cleaned.pii.total().saturating_sub(cleaned.pii.mentions));
                    s.mentions += u64::from(cleaned.pii.mentions);
                    batch.push(flagger.flag(cleaned));
                    true
                }
            };
            let full = batch.len() >= batch_size;
            // Small trickles (slow sources) are flushed at least every two seconds.
            let stale = !batch.is_empty() && last_send.elapsed() > Duration::from_secs(2);
            if full || stale || !keep_going {
                let progress = snapshot(&s, source.as_ref());
                let out = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                if tx.blocking_send(Msg::Batch(out, progress)).is_err() {
                    writer_alive = false;
                    break 'read;
                }
                last_send = Instant::now();
            }
            if !keep_going {
                // --strict: the rest of this chunk was already read and cleaned. Its good
                // records are not stored, but every bad one is in the rejects file (and
                // counted), so one run shows all the problems it saw.
                for late in items.by_ref() {
                    if let Err(reject) = late {
                        s.input += 1;
                        record(&mut s, &reject);
                    }
                }
                break 'read;
            }
        }
    }
    if writer_alive && !batch.is_empty() {
        let progress = snapshot(&s, source.as_ref());
        // A send error means the writer stopped; it reports why.
        let _ = tx.blocking_send(Msg::Batch(batch, progress));
    }
    // Whatever happened above, every reject seen so far reaches the file.
    if let Some(w) = rejects.as_mut() {
        if let Err(e) = w.flush() {
            if s.rejects_error.is_none() {
                s.rejects_error = Some((w.path().to_path_buf(), e));
            }
        }
        s.rejects_written = w.written();
    }
    s.exact = flagger.exact;
    s.near = flagger.near;
    s.progress = snapshot(&s, source.as_ref());
    s
}

/// Most items cleaned together; a chunk is also cut after [`CHUNK_WAIT`] so slow sources
/// (crawlers) are not held back.
const CHUNK: usize = 1024;
const CHUNK_WAIT: Duration = Duration::from_millis(500);

/// Reads the next chunk of items from the source (empty at the end).
fn read_chunk(source: &mut dyn Source) -> Vec<mindpulse_core::SourceItem> {
    let started = Instant::now();
    let mut chunk = Vec::with_capacity(CHUNK);
    while chunk.len() < CHUNK {
        match source.next() {
            Some(item) => chunk.push(item),
            None => break,
        }
        if started.elapsed() > CHUNK_WAIT {
            break;
        }
    }
    chunk
}

/// Cleans a chunk on up to `workers` threads, keeping the input order (so duplicate
/// flags, which depend on what came first, are the same on every run).
fn clean_chunk(
    chunk: Vec<mindpulse_core::SourceItem>,
    cleaner: &Cleaner,
    collected_at: DateTime<Utc>,
    workers: usize,
) -> Vec<Result<mindpulse_clean::Cleaned, Reject>> {
    let clean_one = |item: mindpulse_core::SourceItem| -> Result<mindpulse_clean::Cleaned, Reject> {
        let raw = item?;
        let origin = raw.origin.clone();
        cleaner
            .clean(raw, collected_at)
            .map_err(|e| Reject::new(&origin, e.to_string()))
    };
    if workers <= 1 || chunk.len() < 64 {
        return chunk.into_iter().map(clean_one).collect();
    }
    let per = chunk.len().div_ceil(workers);
    let mut parts: Vec<Vec<mindpulse_core::SourceItem>> = Vec::with_capacity(workers);
    let mut rest = chunk;
    while rest.len() > per {
        let tail = rest.split_off(per);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    std::thread::scope(|scope| {
        let mut parts = parts.into_iter();
        let first = parts.next().unwrap_or_default();
        let handles: Vec<_> = parts
            .map(|part| scope.spawn(move || part.into_iter().map(clean_one).collect::<Vec<_>>()))
            .collect();
        let mut out: Vec<_> = first.into_iter().map(clean_one).collect();
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                // A panic while cleaning is a bug; keep going would lose records silently.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

fn snapshot(s: &ProducerSummary, source: &dyn Source) -> IngestProgress {
    let (bytes, total_bytes) = source.progress();
    IngestProgress {
        records: s.input,
        stored: 0,
        rejected: s.rejected,
        bytes,
        total_bytes,
    }
}

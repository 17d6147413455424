//! The writing end of every ingest, shared by imports and crawls.
//!
//! * [`Flagger`]: exact and near duplicate flags against everything already stored (the
//!   index is seeded from the database) and everything flagged since.
//! * [`Writer`]: batched inserts of flagged posts with their authors and topic links
//!   (topic ids cached per writer), idempotent on `(platform, platform id)`.
//! * [`RawWriter`]: cleaning + flagging + writing for sources that deliver raw posts a page
//!   at a time (the crawlers); it tells which posts were new.

use mindpulse_clean::{hex16, Cleaned, Cleaner, DupIndex, DupVerdict};
use mindpulse_core::RawPost;
use mindpulse_store::{
    InsertReport, NewPost, OnConflict, RunCounts, Store, StoreError, TopicCache,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// Duplicate flags for newly stored posts.
#[derive(Default)]
pub struct Flagger {
    index: DupIndex,
    /// Posts flagged so far, by kind.
    pub exact: u64,
    pub near: u64,
}

impl Flagger {
    /// A flagger that knows nothing yet (a dry run).
    pub fn empty() -> Flagger {
        Flagger::default()
    }

    /// A flagger that knows every post stored in `store`.
    pub async fn seeded(store: &Store) -> Result<Flagger, StoreError> {
        let mut f = Flagger::empty();
        let started = Instant::now();
        let mut after = 0i64;
        let mut n = 0u64;
        loop {
            let page = store.dup_seed_page(after, 50_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for seed in &page {
                let Some(hash) = parse_hex16(&seed.content_hash) else {
                    continue;
                };
                let group = seed.dup_group.as_deref().and_then(parse_hex16);
                f.index.seed(hash, seed.simhash.map(|s| s as u64), group);
                n += 1;
            }
        }
        if n > 0 {
            tracing::debug!(
                posts = n,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "duplicate index seeded"
            );
        }
        Ok(f)
    }

    /// The post with its duplicate flags; what it flags is remembered for later posts.
    pub fn flag(&mut self, cleaned: Cleaned) -> NewPost {
        let (dup_group, dup_kind) = match self.index.check(cleaned.content_hash, cleaned.simhash) {
            DupVerdict::New => (None, None),
            DupVerdict::Exact { group } => {
                self.exact += 1;
                (Some(hex16(&group)), Some("exact"))
            }
            DupVerdict::Near { group, .. } => {
                self.near += 1;
                (Some(hex16(&group)), Some("near"))
            }
        };
        NewPost {
            post: cleaned.post,
            dup_group,
            dup_kind,
        }
    }
}

fn parse_hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// How often a batch is tried again after a passing failure.
const WRITE_RETRIES: u32 = 3;

/// Batched inserts for one source and run.
pub struct Writer {
    store: Store,
    topics: TopicCache,
    source_id: Option<i64>,
    run_id: Option<i64>,
    on_conflict: OnConflict,
    /// Ask the database after each batch for exact duplicates another writer stored.
    check_twins: bool,
}

impl Writer {
    pub fn new(
        store: Store,
        source_id: Option<i64>,
        run_id: Option<i64>,
        on_conflict: OnConflict,
    ) -> Writer {
        Writer {
            store,
            topics: TopicCache::new(),
            source_id,
            run_id,
            on_conflict,
            check_twins: true,
        }
    }

    /// Leaves the cross-writer duplicate check to the end of a bulk load, which has
    /// dropped the index it needs (see [`Store::end_bulk_load`]).
    pub fn skip_twin_check(&mut self) {
        self.check_twins = false;
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stores a batch in one transaction; then flags the batch's posts (or another
    /// writer's copies of them) that an earlier post of the same text makes exact
    /// duplicates, which this writer's own index could not know.
    ///
    /// A batch whose transaction failed for a passing reason (a deadlock, a connection the
    /// server closed or an administrator killed) is tried again, a few times: it was rolled
    /// back whole, and stored posts are skipped by their keys, so nothing doubles.
    pub async fn write(&mut self, batch: &[NewPost]) -> Result<InsertReport, StoreError> {
        let mut attempt = 0u32;
        loop {
            match self.write_once(batch).await {
                Err(e) if e.is_retryable() && attempt < WRITE_RETRIES => {
                    attempt += 1;
                    tracing::warn!(
                        "storing a batch failed ({e}); trying again ({attempt} of {WRITE_RETRIES})"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                        .await;
                }
                result => return result,
            }
        }
    }

    async fn write_once(&mut self, batch: &[NewPost]) -> Result<InsertReport, StoreError> {
        let report = self
            .store
            .insert_posts(
                batch,
                self.source_id,
                self.run_id,
                self.on_conflict,
                &mut self.topics,
            )
            .await?;
        if self.check_twins && report.inserted > 0 {
            let unflagged: Vec<String> = batch
                .iter()
                .filter(|p| p.dup_kind.is_none())
                .map(|p| p.post.content_hash.clone())
                .collect();
            let flagged = self.store.flag_exact_twins(Some(&unflagged)).await?;
            if flagged > 0 {
                tracing::debug!(
                    flagged,
                    "exact duplicates of another writer's posts flagged"
                );
            }
        }
        Ok(report)
    }
}

/// What one [`RawWriter::write`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Platform ids stored for the first time, in input order.
    pub new_ids: Vec<String>,
    pub inserted: u64,
    /// Already stored (skipped, or counts refreshed).
    pub existing: u64,
    /// Could not be cleaned (logged).
    pub rejected: u64,
}

/// Cleans, flags and stores raw posts a page at a time (the crawlers' ingest).
pub struct RawWriter {
    cleaner: Arc<Cleaner>,
    flagger: Flagger,
    writer: Writer,
    collected_at: chrono::DateTime<chrono::Utc>,
    /// Totals so far.
    pub counts: RunCounts,
}

impl RawWriter {
    /// A writer for `run_id` whose duplicate flags know everything already stored.
    pub async fn open(
        store: Store,
        cleaner: Arc<Cleaner>,
        source_id: Option<i64>,
        run_id: Option<i64>,
        on_conflict: OnConflict,
    ) -> Result<RawWriter, StoreError> {
        let flagger = Flagger::seeded(&store).await?;
        Ok(RawWriter {
            cleaner,
            flagger,
            writer: Writer::new(store, source_id, run_id, on_conflict),
            collected_at: chrono::Utc::now(),
            counts: RunCounts::default(),
        })
    }

    pub fn cleaner(&self) -> &Cleaner {
        &self.cleaner
    }

    pub fn store(&self) -> &Store {
        self.writer.store()
    }

    /// Cleans and stores `posts` (one platform per call) in one transaction. Posts already
    /// stored are not flagged as duplicates of themselves: only new ones go through the
    /// duplicate index.
    pub async fn write(&mut self, posts: Vec<RawPost>) -> Result<WriteReport, StoreError> {
        let mut report = WriteReport::default();
        if posts.is_empty() {
            return Ok(report);
        }
        let platform = posts[0].platform.clone();
        let ids: Vec<String> = posts.iter().filter_map(|p| p.platform_id.clone()).collect();
        let known = self.store().existing_platform_ids(&platform, &ids).await?;
        let mut seen_now: HashSet<String> = HashSet::new();
        let mut batch = Vec::with_capacity(posts.len());
        for raw in posts {
            self.counts.input += 1;
            let origin = raw.origin.clone();
            let cleaned = match self.cleaner.clean(raw, self.collected_at) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("{origin}: item rejected: {e}");
                    report.rejected += 1;
                    continue;
                }
            };
            let id = cleaned.post.platform_id.clone();
            let is_new = !known.contains(&id) && seen_now.insert(id.clone());
            if is_new {
                report.new_ids.push(id);
                batch.push(self.flagger.flag(cleaned));
            } else {
                batch.push(NewPost {
                    post: cleaned.post,
                    dup_group: None,
                    dup_kind: None,
                });
            }
        }
        if !batch.is_empty() {
            let r = self.writer.write(&batch).await?;
            report.inserted = r.inserted;
            report.existing = r.existing;
        }
        self.counts.accepted += report.inserted as i64;
        self.counts.already_stored += report.existing as i64;
        self.counts.rejected += report.rejected as i64;
        Ok(report)
    }
}

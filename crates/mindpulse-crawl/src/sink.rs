//! Where crawled posts go: the same cleaning as imports (normalization, PII redaction,
//! pseudonymized authors and @mentions, language, duplicate flags), then
//! `Store::insert_posts` with [`OnConflict::UpdateCounts`], so re-collecting an item
//! refreshes its counts and never duplicates it.

use crate::error::CrawlError;
use chrono::{DateTime, Utc};
use mindpulse_clean::{hex16, Cleaner, DupIndex, DupVerdict};
use mindpulse_core::RawPost;
use mindpulse_store::{NewPost, OnConflict, RunCounts, Store, TopicCache};
use std::collections::HashSet;
use std::sync::Arc;

/// What one write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Platform ids stored for the first time, in input order.
    pub new_ids: Vec<String>,
    pub inserted: u64,
    /// Already stored (counts refreshed).
    pub existing: u64,
    /// Could not be cleaned (logged).
    pub rejected: u64,
}

/// The cleaning + storing end of a crawl run.
pub struct Sink {
    store: Store,
    cleaner: Arc<Cleaner>,
    dup: DupIndex,
    topics: TopicCache,
    source_id: Option<i64>,
    run_id: Option<i64>,
    collected_at: DateTime<Utc>,
    /// Totals of this run.
    pub counts: RunCounts,
}

impl Sink {
    /// A sink writing for `run_id`, with the duplicate index seeded from the database.
    pub async fn new(
        store: Store,
        cleaner: Arc<Cleaner>,
        source_id: Option<i64>,
        run_id: Option<i64>,
    ) -> Result<Sink, CrawlError> {
        let mut dup = DupIndex::new();
        let mut after = 0i64;
        loop {
            let page = store.dup_seed_page(after, 50_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for seed in &page {
                let Some(hash) = parse_hex16(&seed.content_hash) else {
                    continue;
                };
                let group = seed.dup_group.as_deref().and_then(parse_hex16);
                dup.seed(hash, seed.simhash.map(|s| s as u64), group);
            }
        }
        Ok(Sink {
            store,
            cleaner,
            dup,
            topics: TopicCache::new(),
            source_id,
            run_id,
            collected_at: Utc::now(),
            counts: RunCounts::default(),
        })
    }

    pub fn cleaner(&self) -> &Cleaner {
        &self.cleaner
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Cleans and stores `posts` (one platform per call) in one transaction.
    pub async fn write(&mut self, posts: Vec<RawPost>) -> Result<WriteReport, CrawlError> {
        let mut report = WriteReport::default();
        if posts.is_empty() {
            return Ok(report);
        }
        let platform = posts[0].platform.clone();
        let ids: Vec<String> = posts.iter().filter_map(|p| p.platform_id.clone()).collect();
        let known = self.store.existing_platform_ids(&platform, &ids).await?;
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
            let (dup_group, dup_kind) = if is_new {
                match self.dup.check(cleaned.content_hash, cleaned.simhash) {
                    DupVerdict::New => (None, None),
                    DupVerdict::Exact { group } => (Some(hex16(&group)), Some("exact")),
                    DupVerdict::Near { group, .. } => (Some(hex16(&group)), Some("near")),
                }
            } else {
                (None, None)
            };
            if is_new {
                report.new_ids.push(id);
            }
            batch.push(NewPost {
                post: cleaned.post,
                dup_group,
                dup_kind,
            });
        }
        if !batch.is_empty() {
            let r = self
                .store
                .insert_posts(
                    &batch,
                    self.source_id,
                    self.run_id,
                    OnConflict::UpdateCounts,
                    &mut self.topics,
                )
                .await?;
            report.inserted = r.inserted;
            report.existing = r.existing;
        }
        self.counts.accepted += report.inserted as i64;
        self.counts.duplicate += report.existing as i64;
        self.counts.rejected += report.rejected as i64;
        Ok(report)
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

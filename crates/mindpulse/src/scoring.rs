//! Scoring wiring shared by `score`, `quickstart`, `bench score` and the crawlers: which
//! scorer to build (the heads or the LLM), the one score driver run with a progress bar,
//! the summary it prints, and the hook that scores what a crawl collected.

use crate::config::ScoreConfig;
use anyhow::Context as _;
use clap::ValueEnum;
use mindpulse_core::PostScorer;
use mindpulse_heads::{HeadSet, HeadsScorer};
use mindpulse_llm_scorer::LlmSettings;
use mindpulse_score::{DriverError, DriverOptions, RunSummary};
use mindpulse_store::Store;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScorerKind {
    /// Encoder heads (sentiment, emotion, depression, stress, suicide risk, substance use, …).
    Heads,
    /// The LLM scorer (ICD-10 F-blocks + negativity, 0–5, with rationale).
    Llm,
}

impl ScorerKind {
    /// A name from the config (`[score] scorers`).
    pub fn from_config(name: &str) -> anyhow::Result<ScorerKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "heads" => Ok(ScorerKind::Heads),
            "llm" => Ok(ScorerKind::Llm),
            other => anyhow::bail!(
                "[score] scorers: unknown scorer {other:?} (expected \"heads\" or \"llm\")"
            ),
        }
    }

    /// Posts per claimed batch when none is configured.
    pub fn default_batch(self) -> usize {
        match self {
            ScorerKind::Heads => 256,
            ScorerKind::Llm => 16,
        }
    }
}

/// Loads the heads (from `dir`, else the built-in ones) with their encoders.
pub fn heads_scorer(dir: Option<&Path>, threads: usize) -> anyhow::Result<HeadsScorer> {
    let heads = HeadSet::load(dir)?;
    Ok(HeadsScorer::new(heads, threads)?)
}

/// Builds a scorer of `kind`.
pub async fn build(
    kind: ScorerKind,
    heads_dir: Option<&Path>,
    threads: usize,
    llm: &LlmSettings,
) -> anyhow::Result<Arc<dyn PostScorer>> {
    Ok(match kind {
        ScorerKind::Heads => {
            let dir = heads_dir.map(Path::to_path_buf);
            let scorer = tokio::task::spawn_blocking(move || heads_scorer(dir.as_deref(), threads))
                .await
                .context("loading the heads")??;
            Arc::new(scorer)
        }
        ScorerKind::Llm => {
            let built = mindpulse_llm_scorer::build(llm).await?;
            Arc::new(built.post_scorer())
        }
    })
}

/// Runs the driver with a progress bar (hidden when progress is off).
pub async fn drive(
    store: &Store,
    scorer: Arc<dyn PostScorer>,
    opts: &DriverOptions,
    show_progress: bool,
    stop: &AtomicBool,
) -> Result<RunSummary, DriverError> {
    let pb = crate::progress::bar(show_progress, None, "score");
    let bar = pb.clone();
    let started = Instant::now();
    let progress = move |p: &mindpulse_score::Progress| {
        let rate = crate::progress::rate_msg(p.posts, started.elapsed().as_secs_f64());
        match p.total {
            Some(t) => bar.set_message(format!(
                "{rate}, {} posts to score",
                crate::progress::thousands(t)
            )),
            None => bar.set_message(rate),
        }
    };
    let result = mindpulse_score::run(store, scorer, opts, stop, &progress).await;
    pb.finish_and_clear();
    result
}

/// Dimensions that describe the run rather than the posts (left out of the table).
const BOOKKEEPING: &[&str] = &["route", "llm_failure"];

/// The human-readable summary of a run.
pub fn render_summary(s: &RunSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scored {} posts in {:.1}s (run {}, {} {}; {} rows; {} batches{}){}",
        s.posts,
        s.seconds,
        s.run_id,
        s.model_id,
        s.version,
        s.rows,
        s.batches,
        if s.takeovers > 0 {
            format!(", {} taken over from stopped workers", s.takeovers)
        } else {
            String::new()
        },
        if s.interrupted {
            " — interrupted, run again to continue"
        } else {
            ""
        }
    );
    if !s.counters.is_empty() {
        let parts: Vec<String> = s.counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  {}", parts.join(", "));
    }
    if s.remaining >= 0 {
        let _ = writeln!(
            out,
            "  {} posts still without a score from this scorer",
            s.remaining
        );
    }
    let dims: Vec<_> = s
        .dims
        .iter()
        .filter(|(k, _)| !BOOKKEEPING.contains(&k.as_str()))
        .collect();
    if !dims.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<26} {:>7} {:>7}  most frequent labels",
            "dimension", "posts", "mean"
        );
        for (k, d) in dims {
            let mut labels: Vec<(&String, &u64)> = d.labels.iter().collect();
            labels.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = labels
                .iter()
                .take(4)
                .map(|(l, n)| format!("{l} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "{:<26} {:>7} {:>7.3}  {}",
                k,
                d.n,
                d.mean(),
                top.join(", ")
            );
        }
    }
    out
}

/// What the configured scorers do after a crawl: score the unscored posts of the crawl's
/// source (this run's and any an earlier run left unscored), loading each scorer on first
/// use and keeping it for later runs of `schedule`.
pub struct CrawlScoring {
    kinds: Vec<ScorerKind>,
    heads_dir: Option<PathBuf>,
    threads: usize,
    batch_size: Option<usize>,
    lease: Duration,
    llm: LlmSettings,
    show_progress: bool,
    stop: Arc<AtomicBool>,
    loaded: tokio::sync::Mutex<Vec<(ScorerKind, Arc<dyn PostScorer>)>>,
}

impl CrawlScoring {
    /// The scorers of `[score]`; None when it names none.
    pub fn from_config(
        config: &ScoreConfig,
        show_progress: bool,
        stop: Arc<AtomicBool>,
    ) -> anyhow::Result<Option<CrawlScoring>> {
        let kinds = config
            .scorers
            .iter()
            .map(|s| ScorerKind::from_config(s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if kinds.is_empty() {
            tracing::info!("[score] scorers is empty: new posts are stored unscored");
            return Ok(None);
        }
        Ok(Some(CrawlScoring {
            kinds,
            heads_dir: config.heads.clone(),
            threads: crate::commands::resolve_threads(config.threads.unwrap_or(0)),
            batch_size: config.batch_size,
            lease: Duration::from_secs_f64(config.lease_secs.unwrap_or(300.0).max(1.0)),
            llm: config.llm.settings(),
            show_progress,
            stop,
            loaded: tokio::sync::Mutex::new(Vec::new()),
        }))
    }

    async fn scorer(&self, kind: ScorerKind) -> anyhow::Result<Arc<dyn PostScorer>> {
        let mut loaded = self.loaded.lock().await;
        if let Some((_, s)) = loaded.iter().find(|(k, _)| *k == kind) {
            return Ok(s.clone());
        }
        let s = build(kind, self.heads_dir.as_deref(), self.threads, &self.llm).await?;
        loaded.push((kind, s.clone()));
        Ok(s)
    }

    async fn score(&self, store: &Store, source_id: i64) -> Result<u64, String> {
        let mut scored = 0;
        for &kind in &self.kinds {
            let scorer = self
                .scorer(kind)
                .await
                .map_err(|e| format!("cannot load the {kind:?} scorer: {e:#}"))?;
            let opts = DriverOptions {
                batch_size: self.batch_size.unwrap_or(kind.default_batch()),
                lease: self.lease,
                source_id: Some(source_id),
                ..DriverOptions::default()
            };
            let s = drive(store, scorer, &opts, self.show_progress, &self.stop)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(
                run_id = s.run_id,
                posts = s.posts,
                "scored the crawled posts with {}",
                s.model_id
            );
            scored += s.posts;
        }
        Ok(scored)
    }
}

impl mindpulse_crawl::ScoreHook for CrawlScoring {
    fn score_source<'a>(
        &'a self,
        store: &'a Store,
        source_id: i64,
    ) -> Pin<Box<dyn Future<Output = Result<u64, String>> + Send + 'a>> {
        Box::pin(self.score(store, source_id))
    }
}

//! `mindpulse score` (heads: every stored post without a score from the current head set;
//! batched, resumable, Ctrl-C finishes the current batch) and `mindpulse bench score`
//! (end to end on 10,000 stored posts, beside plain embedding of the same texts).

use crate::commands::eval::load_heads;
use crate::commands::llm_score::{self, LlmArgs};
use crate::commands::measure::peak_rss_mib;
use crate::context::Context;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use mindpulse_heads::embed::Embedder;
use mindpulse_heads::{HeadSet, Route};
use mindpulse_store::{NewRun, NewScore, RunCounts, RunKind, RunStatus, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScorerKind {
    /// Encoder heads (sentiment, emotion, depression, stress, suicide risk, substance use, …).
    Heads,
    /// The LLM scorer (ICD-10 F-blocks + negativity, 0–5, with rationale).
    Llm,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Which scorer.
    #[arg(long, value_enum, default_value = "heads")]
    pub scorer: ScorerKind,
    /// Score at most this many posts.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Posts per batch (one transaction each).
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Encoder threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Heads directory (default: the heads built into this binary).
    #[arg(long, env = "MINDPULSE_HEADS")]
    pub heads: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Args)]
pub struct BenchScoreArgs {
    /// Posts to store and score.
    #[arg(long, default_value_t = 10_000)]
    pub posts: u64,
    /// Encoder threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Working directory (default: a temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub async fn run(ctx: &Context, args: ScoreArgs) -> anyhow::Result<ExitCode> {
    match args.scorer {
        ScorerKind::Llm => llm_score::score(ctx, args).await,
        ScorerKind::Heads => {
            let store = ctx.store().await?;
            let heads = load_heads(args.heads.as_deref())?;
            let cancel = super::cancel_on_signal();
            let opts = HeadsRun {
                limit: args.limit,
                batch_size: args.batch_size.max(1),
                threads: super::resolve_threads(args.threads),
                show_progress: ctx.show_progress,
            };
            let summary = score_with_heads(&store, &heads, &opts, cancel).await?;
            if args.json {
                println!("{}", serde_json::to_string(&summary.to_json())?);
            } else {
                print!("{}", summary.render());
            }
            store.close().await;
            Ok(if summary.interrupted {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Options of a heads scoring run.
pub struct HeadsRun {
    pub limit: Option<u64>,
    pub batch_size: usize,
    pub threads: usize,
    pub show_progress: bool,
}

/// Per-dimension aggregate for the summary.
#[derive(Debug, Default, Clone)]
pub struct DimSummary {
    pub n: u64,
    pub sum: f64,
    pub labels: BTreeMap<String, u64>,
}

/// What a scoring run did.
#[derive(Debug, Default, Clone)]
pub struct ScoreSummary {
    pub run_id: i64,
    pub posts: u64,
    pub rows: u64,
    pub skipped_empty: u64,
    pub truncated: u64,
    pub by_route: BTreeMap<String, u64>,
    pub dims: BTreeMap<String, DimSummary>,
    pub interrupted: bool,
    pub seconds: f64,
    pub embed_seconds: f64,
}

impl ScoreSummary {
    pub fn to_json(&self) -> serde_json::Value {
        let dims: serde_json::Map<String, serde_json::Value> = self
            .dims
            .iter()
            .map(|(k, d)| {
                (
                    k.clone(),
                    serde_json::json!({"n": d.n, "mean": d.sum / d.n.max(1) as f64, "labels": d.labels}),
                )
            })
            .collect();
        serde_json::json!({
            "run_id": self.run_id, "posts": self.posts, "rows": self.rows,
            "skipped_empty": self.skipped_empty, "truncated": self.truncated,
            "by_route": self.by_route, "dimensions": dims, "interrupted": self.interrupted,
            "seconds": self.seconds,
        })
    }

    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scored {} posts in {:.1}s (run {}; {} rows; routes {:?}; {} without scorable text; {} truncated){}",
            self.posts,
            self.seconds,
            self.run_id,
            self.rows,
            self.by_route,
            self.skipped_empty,
            self.truncated,
            if self.interrupted { " — interrupted, run again to continue" } else { "" }
        );
        if !self.dims.is_empty() {
            let _ = writeln!(
                s,
                "\n{:<26} {:>7} {:>7}  most frequent labels",
                "dimension", "posts", "mean"
            );
            for (k, d) in &self.dims {
                let mut labels: Vec<(&String, &u64)> = d.labels.iter().collect();
                labels.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let top: Vec<String> = labels
                    .iter()
                    .take(4)
                    .map(|(l, n)| format!("{l} {n}"))
                    .collect();
                let _ = writeln!(
                    s,
                    "{:<26} {:>7} {:>7.3}  {}",
                    k,
                    d.n,
                    d.sum / d.n.max(1) as f64,
                    top.join(", ")
                );
            }
        }
        s
    }
}

/// True when a text has nothing an encoder can read (empty, or only emoji/punctuation/symbols).
fn has_scorable_text(text: &str) -> bool {
    text.chars().any(|c| c.is_alphanumeric())
}

/// The model id under which heads runs are recorded.
pub const HEADS_MODEL_ID: &str = "heads";

/// Scores every post that has no score from this head set yet.
pub async fn score_with_heads(
    store: &Store,
    heads: &HeadSet,
    opts: &HeadsRun,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<ScoreSummary> {
    let started = Instant::now();
    let version = heads.version();
    let mut embedders: BTreeMap<Route, Embedder> = BTreeMap::new();
    let mut encoders = serde_json::Map::new();
    for route in heads.routes() {
        let e = Embedder::load(route.encoder(), opts.threads, None).with_context(|| {
            format!(
                "loading encoder {} (install it with `mindpulse models install {}`)",
                route.encoder(),
                route.encoder()
            )
        })?;
        heads.check_encoder(route, &e.sha256)?;
        encoders.insert(e.name.clone(), serde_json::json!(e.sha256));
        embedders.insert(route, e);
    }
    let combined_sha = mindpulse_models::hash::sha256_bytes(
        serde_json::Value::Object(encoders.clone())
            .to_string()
            .as_bytes(),
    );
    let run_id = store
        .start_run(&NewRun {
            kind: Some(RunKind::Score),
            model_id: Some(HEADS_MODEL_ID.into()),
            model_sha256: Some(combined_sha),
            version: Some(version.clone()),
            params: serde_json::json!({
                "scorer": "heads", "encoders": encoders, "heads": heads.versions(),
                "routing": {"en": Route::English.encoder(), "other": Route::Multilingual.encoder()},
                "batch_size": opts.batch_size, "threads": opts.threads,
            }),
            ..NewRun::default()
        })
        .await?;
    let total = store.unscored_count(HEADS_MODEL_ID, &version).await?;
    let total = opts.limit.map_or(total as u64, |l| l.min(total as u64));
    let pb = crate::progress::bar(opts.show_progress, None, "score");
    let mut summary = ScoreSummary {
        run_id,
        ..ScoreSummary::default()
    };
    let mut after = 0i64;
    let mut failed: Option<anyhow::Error> = None;
    loop {
        if cancel.load(Ordering::SeqCst) {
            summary.interrupted = true;
            break;
        }
        let want = opts.limit.map_or(opts.batch_size as u64, |l| {
            (l - summary.posts).min(opts.batch_size as u64)
        });
        if want == 0 {
            break;
        }
        let page = store
            .unscored_page(HEADS_MODEL_ID, &version, after, want as i64)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let mut rows: Vec<NewScore> = Vec::new();
        // Group the page by route; texts without anything to read get only a route row.
        let mut groups: BTreeMap<Route, Vec<usize>> = BTreeMap::new();
        for (i, p) in page.iter().enumerate() {
            let route = Route::for_lang(p.lang.as_deref());
            if has_scorable_text(&p.text) && embedders.contains_key(&route) {
                groups.entry(route).or_default().push(i);
            } else {
                summary.skipped_empty += 1;
                rows.push(NewScore {
                    post_id: p.id,
                    dimension: "route".into(),
                    value: 0.0,
                    scale: "tokens".into(),
                    label: Some(
                        if has_scorable_text(&p.text) {
                            "no_heads"
                        } else {
                            "no_text"
                        }
                        .into(),
                    ),
                    rationale: None,
                    run_id,
                    meta: Some(serde_json::json!({"lang": p.lang}).to_string()),
                });
            }
        }
        for (route, idx) in groups {
            let Some(e) = embedders.get(&route) else {
                continue;
            };
            let texts: Vec<String> = idx
                .iter()
                .map(|&i| format!("{}{}", e.prefix, page[i].text))
                .collect();
            let t0 = Instant::now();
            let emb = match e.encoder.encode(&texts) {
                Ok(v) => v,
                Err(err) => {
                    failed = Some(anyhow::anyhow!(
                        "encoding a batch of {} posts: {err}",
                        texts.len()
                    ));
                    break;
                }
            };
            summary.embed_seconds += t0.elapsed().as_secs_f64();
            for (j, &i) in idx.iter().enumerate() {
                let post = &page[i];
                let truncated = emb.truncated[j];
                if truncated > 0 {
                    summary.truncated += 1;
                }
                *summary
                    .by_route
                    .entry(route.short().to_string())
                    .or_default() += 1;
                rows.push(NewScore {
                    post_id: post.id,
                    dimension: "route".into(),
                    value: emb.tokens[j] as f64,
                    scale: "tokens".into(),
                    label: Some(format!("{}:{}", route.short(), e.name)),
                    rationale: None,
                    run_id,
                    meta: Some(
                        serde_json::json!({"lang": post.lang, "encoder_sha256": e.sha256, "truncated_tokens": truncated})
                            .to_string(),
                    ),
                });
                for s in heads.score(route, emb.row(j)) {
                    let d = summary.dims.entry(s.dimension.clone()).or_default();
                    d.n += 1;
                    d.sum += s.value;
                    if let Some(l) = &s.label {
                        *d.labels.entry(l.clone()).or_default() += 1;
                    }
                    rows.push(NewScore {
                        post_id: post.id,
                        dimension: s.dimension,
                        value: s.value,
                        scale: s.scale,
                        label: s.label,
                        rationale: None,
                        run_id,
                        meta: Some(s.meta.to_string()),
                    });
                }
            }
        }
        if failed.is_some() {
            break;
        }
        summary.rows += store.insert_scores(&rows).await?;
        summary.posts += page.len() as u64;
        pb.set_message(format!("{}/{} posts", summary.posts, total));
        store
            .update_run_counts(
                run_id,
                RunCounts {
                    input: summary.posts as i64,
                    accepted: summary.posts as i64,
                    ..RunCounts::default()
                },
            )
            .await?;
    }
    pb.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    let counts = RunCounts {
        input: summary.posts as i64,
        accepted: summary.posts as i64,
        failed: i64::from(failed.is_some()),
        ..RunCounts::default()
    };
    let (status, note) = match (&failed, summary.interrupted) {
        (Some(e), _) => (RunStatus::Failed, Some(e.to_string())),
        (None, true) => (RunStatus::Interrupted, None),
        (None, false) => (RunStatus::Done, None),
    };
    store
        .finish_run(run_id, status, counts, note.as_deref())
        .await?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(summary)
}

pub async fn bench(ctx: &Context, args: BenchScoreArgs) -> anyhow::Result<ExitCode> {
    use mindpulse_clean::{CleanOptions, Cleaner, PseudonymKey};
    use mindpulse_collect::{open, Format, ImportOptions};
    use mindpulse_ingest::{ingest, IngestOptions};
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("bench-score.jsonl");
    let mut gen = mindpulse_synth::Generator::new(mindpulse_synth::SynthOptions::default());
    let file = std::io::BufWriter::new(std::fs::File::create(&input)?);
    gen.write_jsonl(file, args.posts)?;
    let db = dir.join("bench-score.db");
    let _ = std::fs::remove_file(&db);
    let store = Store::open(&format!("sqlite://{}", db.display())).await?;
    let cleaner = Arc::new(Cleaner::new(
        PseudonymKey::from_secret("bench"),
        CleanOptions::default(),
    ));
    let source = open(&input, Format::Jsonl, &ImportOptions::default())?;
    let never = Arc::new(AtomicBool::new(false));
    ingest(
        Some(&store),
        source,
        cleaner,
        IngestOptions::default(),
        never.clone(),
        |_| {},
    )
    .await?;
    let heads = load_heads(None)?;
    // 1. Embedding alone: the same texts, the same routes, the same batches of 256.
    let version = heads.version();
    let mut posts = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .unscored_page(HEADS_MODEL_ID, &version, after, 10_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        posts.extend(page);
    }
    let mut embedders: BTreeMap<Route, Embedder> = BTreeMap::new();
    for r in heads.routes() {
        embedders.insert(r, Embedder::load(r.encoder(), args.threads, None)?);
    }
    let t0 = Instant::now();
    for chunk in posts.chunks(256) {
        let mut groups: BTreeMap<Route, Vec<String>> = BTreeMap::new();
        for p in chunk {
            let r = Route::for_lang(p.lang.as_deref());
            if let (true, Some(e)) = (has_scorable_text(&p.text), embedders.get(&r)) {
                groups
                    .entry(r)
                    .or_default()
                    .push(format!("{}{}", e.prefix, p.text));
            }
        }
        for (r, texts) in groups {
            if let Some(e) = embedders.get(&r) {
                e.encoder.encode(&texts)?;
            }
        }
    }
    let embed_s = t0.elapsed().as_secs_f64();
    drop(embedders);
    // 2. The whole scoring run.
    let opts = HeadsRun {
        limit: None,
        batch_size: 256,
        threads: args.threads,
        show_progress: ctx.show_progress,
    };
    let s = score_with_heads(&store, &heads, &opts, never).await?;
    let n = posts.len() as f64;
    println!(
        "bench score: {} stored posts (routes {:?}), {} threads",
        posts.len(),
        s.by_route,
        args.threads
    );
    println!("| what | seconds | posts/s | vs embedding alone |");
    println!("|---|---|---|---|");
    println!(
        "| embedding alone (same texts, routes, batches) | {embed_s:.2} | {:.1} | 1.00× |",
        n / embed_s
    );
    println!(
        "| `score`: read + embed + {} heads + write | {:.2} | {:.1} | {:.3}× ({:+.1}%) |",
        heads.heads.len(),
        s.seconds,
        n / s.seconds,
        s.seconds / embed_s,
        (s.seconds / embed_s - 1.0) * 100.0
    );
    println!(
        "peak RSS {:.0} MiB; {} score rows written",
        peak_rss_mib(),
        s.rows
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

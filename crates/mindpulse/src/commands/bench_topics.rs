//! `mindpulse bench topics`: our topic model (`mindpulse-topics`: PCA, kNN-graph Louvain
//! communities (and, for comparison, HDBSCAN), c-TF-IDF, outliers reassigned) against BERTopic's default pipeline (UMAP + HDBSCAN + c-TF-IDF,
//! `scripts/bertopic_peer.py` in the venv of `scripts/setup_topics_venv.sh`) on the SAME
//! embeddings, in one run.
//!
//! Quality: dreaddit/train (2,838 Reddit posts from 10 subreddits, its `subreddit` column
//! the reference), embedded once with the heads' English encoder (cached). Both sides get
//! the same minimum topic size and seed. Reported: topics found, the share left unassigned
//! (BERTopic's outliers, topic −1), the normalized mutual information with the subreddits
//! (arithmetic normalization as scikit-learn's; the unassigned posts count as one more
//! cluster, the same on both sides, so leaving posts out is not free), and whether two runs
//! of ours are identical. Speed: `--scale` posts (English posts of the labelled sets in
//! `../shared/data`, deduplicated, embedded with the same cached encoder), fit time of each
//! side (BERTopic's `fit_transform` only; ours `build`, keywords included).

use anyhow::{bail, Context as _};
use clap::Args;
use mindpulse_encoder::npy::NpyWriter;
use mindpulse_heads::embed::{default_cache_dir, Embedder};
use mindpulse_heads::Route;
use mindpulse_topics::{nmi, TopicParams, Words};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// English sets whose texts make up the `--scale` corpus, in this order.
const SCALE_SETS: &[&str] = &[
    "dreaddit/train.tsv",
    "goemotions_original/train.tsv",
    "goemotions_original/val.tsv",
    "tweeteval_offensive/train.tsv",
    "smm4h2020_task4/train.tsv",
    "tweeteval_hate/train.tsv",
    "reddit_depression_cleaned/all.tsv",
    "imhi_sad/train.tsv",
    "vader_tweets/all.tsv",
    "tweeteval_emotion/train.tsv",
    "tweeteval_irony/train.tsv",
    "depseverity/train.tsv",
    "socialcd_3k/train.tsv",
    "irf_burden/train.tsv",
    "sdcnl/train.tsv",
    "cams/train.tsv",
    "tweeteval_sentiment/val.tsv",
    "tweeteval_hate/val.tsv",
    "tweeteval_offensive/val.tsv",
    "tweeteval_irony/val.tsv",
];

#[derive(Debug, Args)]
pub struct BenchTopicsArgs {
    /// Folder of the labelled sets (default: $MINDPULSE_DATA, else ../shared/data).
    #[arg(long, env = "MINDPULSE_DATA")]
    pub data: Option<PathBuf>,
    /// Smallest topic, both sides.
    #[arg(long, default_value_t = 15)]
    pub min_size: usize,
    /// Seed of BERTopic's UMAP.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Posts of the speed run (0: skip it).
    #[arg(long, default_value_t = 100_000)]
    pub scale: usize,
    /// Encoder threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Python of the topics venv (default: scripts/setup_topics_venv.sh's).
    #[arg(long, env = "MINDPULSE_TOPICS_PYTHON")]
    pub python: Option<PathBuf>,
    /// Only our side.
    #[arg(long)]
    pub no_python: bool,
}

/// What the peer writes.
#[derive(Debug, Deserialize)]
struct PeerOut {
    labels: Vec<i64>,
    n_topics: usize,
    outlier_share: f64,
    fit_seconds: f64,
    versions: BTreeMap<String, String>,
}

/// One side's figures on one corpus.
struct Side {
    topics: usize,
    unassigned: f64,
    nmi: Option<f64>,
    seconds: f64,
}

/// Reads `text` and, when asked, another column of a labelled TSV.
fn read_tsv(path: &Path, column: Option<&str>) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let header = r.headers()?.clone();
    let find = |name: &str| header.iter().position(|h| h == name);
    let text_at = find("text").with_context(|| format!("{}: no `text` column", path.display()))?;
    let other_at = match column {
        Some(c) => Some(find(c).with_context(|| format!("{}: no `{c}` column", path.display()))?),
        None => None,
    };
    let (mut texts, mut others) = (Vec::new(), Vec::new());
    for (i, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        let Some(text) = rec.get(text_at) else {
            continue;
        };
        if let Some(at) = other_at {
            let Some(v) = rec.get(at) else {
                bail!(
                    "{}: line {}: no `{}` value",
                    path.display(),
                    i + 2,
                    column.unwrap_or("")
                );
            };
            others.push(v.to_string());
        }
        texts.push(text.to_string());
    }
    Ok((texts, others))
}

/// Unit-length embeddings of `texts` with the heads' English encoder (cached on disk).
fn embed(texts: &[String], threads: usize) -> anyhow::Result<(Vec<f32>, usize)> {
    let mut e = Embedder::load(
        Route::English.encoder(),
        super::resolve_threads(threads),
        Some(&default_cache_dir()),
    )
    .with_context(|| {
        format!(
            "loading {} (install it with `mindpulse models install {}`)",
            Route::English.encoder(),
            Route::English.encoder()
        )
    })?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    let f = e.embed(&refs, &mut |done, total| {
        eprint!("\rembedding {done}/{total} new texts");
    })?;
    if started.elapsed().as_secs_f64() > 1.0 {
        eprintln!();
    }
    let dim = f.dim;
    let mut data = Vec::with_capacity(f.data.len());
    for row in f.data.chunks_exact(dim) {
        data.extend(mindpulse_heads::scorer::unit(row));
    }
    Ok((data, dim))
}

/// Our side: labels (−1 unassigned), figures, and a fingerprint of the whole model.
fn ours(
    texts: &[String],
    vectors: &[f32],
    dim: usize,
    params: &TopicParams,
) -> anyhow::Result<(Vec<i64>, Side, blake3::Hash)> {
    let ids: Vec<i64> = (1..=texts.len() as i64).collect();
    let words = Words::new();
    let started = Instant::now();
    let model = mindpulse_topics::build(
        mindpulse_topics::TopicInput {
            ids: &ids,
            embeddings: vectors,
            dim,
            texts,
        },
        params,
        &words,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let labels: Vec<i64> = model
        .assignment
        .iter()
        .map(|a| a.map_or(-1, i64::from))
        .collect();
    let fingerprint = blake3::hash(format!("{model:?}").as_bytes());
    Ok((
        labels,
        Side {
            topics: model.topics.len(),
            unassigned: model.unassigned as f64 / texts.len().max(1) as f64,
            nmi: None,
            seconds,
        },
        fingerprint,
    ))
}

/// BERTopic on the same texts and embeddings.
fn bertopic(
    python: &Path,
    texts: &[String],
    vectors: &[f32],
    dim: usize,
    min_size: usize,
    seed: u64,
) -> anyhow::Result<(PeerOut, Side)> {
    let dir = tempfile::tempdir()?;
    let docs = dir.path().join("docs.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&docs)?);
    for (i, t) in texts.iter().enumerate() {
        serde_json::to_writer(&mut w, &serde_json::json!({"id": i + 1, "text": t}))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    drop(w);
    let npy = dir.path().join("E.npy");
    let mut m = NpyWriter::new(std::fs::File::create(&npy)?, dim)?;
    for row in vectors.chunks_exact(dim) {
        m.write_row(row)?;
    }
    m.finish()?;
    let out = dir.path().join("out.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bertopic_peer.py");
    let status = std::process::Command::new(python)
        .arg(&script)
        .arg("--docs")
        .arg(&docs)
        .arg("--embeddings")
        .arg(&npy)
        .arg("--out")
        .arg(&out)
        .arg("--min-topic-size")
        .arg(min_size.to_string())
        .arg("--seed")
        .arg(seed.to_string())
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!("{} failed ({status})", script.display());
    }
    let peer: PeerOut = serde_json::from_slice(&std::fs::read(&out)?)
        .with_context(|| format!("reading {}", out.display()))?;
    if peer.labels.len() != texts.len() {
        bail!(
            "BERTopic returned {} labels for {} texts",
            peer.labels.len(),
            texts.len()
        );
    }
    let side = Side {
        topics: peer.n_topics,
        unassigned: peer.outlier_share,
        nmi: None,
        seconds: peer.fit_seconds,
    };
    Ok((peer, side))
}

/// Category codes of string labels.
fn codes(labels: &[String]) -> Vec<i64> {
    let mut ids: BTreeMap<&str, i64> = BTreeMap::new();
    labels
        .iter()
        .map(|l| {
            let n = ids.len() as i64;
            *ids.entry(l.as_str()).or_insert(n)
        })
        .collect()
}

pub async fn run(args: BenchTopicsArgs) -> anyhow::Result<ExitCode> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(mindpulse_heads::data::default_data_dir);
    let python = if args.no_python {
        None
    } else {
        Some(crate::measure::topics_python(args.python.as_deref())?)
    };
    // Quality on dreaddit.
    let (texts, subreddits) = read_tsv(&data.join("dreaddit/train.tsv"), Some("subreddit"))?;
    let truth = codes(&subreddits);
    let (vectors, dim) = embed(&texts, args.threads)?;
    let graph = TopicParams {
        min_size: args.min_size,
        ..TopicParams::default()
    };
    let hdbscan = TopicParams {
        min_size: args.min_size,
        ..TopicParams::hdbscan()
    };
    let (labels, mut mine, first) = ours(&texts, &vectors, dim, &graph)?;
    mine.nmi = Some(nmi(&truth, &labels));
    let (_, _, second) = ours(&texts, &vectors, dim, &graph)?;
    let (labels, mut with_hdbscan, _) = ours(&texts, &vectors, dim, &hdbscan)?;
    with_hdbscan.nmi = Some(nmi(&truth, &labels));
    let mut rows = vec![
        ("mindpulse-topics (kNN graph, default)".to_string(), mine),
        (
            "mindpulse-topics (HDBSCAN on PCA-8)".to_string(),
            with_hdbscan,
        ),
    ];
    let mut versions = BTreeMap::new();
    if let Some(py) = &python {
        let (peer, mut side) = bertopic(py, &texts, &vectors, dim, args.min_size, args.seed)?;
        side.nmi = Some(nmi(&truth, &peer.labels));
        versions = peer.versions;
        rows.push(("BERTopic (UMAP+HDBSCAN)".to_string(), side));
    }
    println!(
        "dreaddit/train: {} posts, {} subreddits; embeddings {} ({dim}-d), min topic size {}",
        texts.len(),
        truth.iter().collect::<HashSet<_>>().len(),
        Route::English.encoder(),
        args.min_size
    );
    println!();
    println!("| model | topics | unassigned | NMI with subreddit | fit (s) |");
    println!("|---|---:|---:|---:|---:|");
    for (name, s) in &rows {
        println!(
            "| {name} | {} | {:.1} % | {:.3} | {:.2} |",
            s.topics,
            s.unassigned * 100.0,
            s.nmi.unwrap_or(f64::NAN),
            s.seconds
        );
    }
    println!();
    println!(
        "reruns of ours identical: {} (blake3 of the whole model {})",
        if first == second { "yes" } else { "NO" },
        &first.to_hex()[..16]
    );
    if !versions.is_empty() {
        let v: Vec<String> = versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("peer: {}", v.join(", "));
    }
    if args.scale == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    // Speed on --scale posts.
    let mut seen = HashSet::new();
    let mut corpus = Vec::with_capacity(args.scale);
    for set in SCALE_SETS {
        let path = data.join(set);
        if !path.exists() {
            continue;
        }
        let (t, _) = read_tsv(&path, None)?;
        for text in t {
            if corpus.len() < args.scale && !text.trim().is_empty() && seen.insert(text.clone()) {
                corpus.push(text);
            }
        }
    }
    let (vectors, dim) = embed(&corpus, args.threads)?;
    let (_, mine, _) = ours(&corpus, &vectors, dim, &graph)?;
    let mut rows = vec![("mindpulse-topics (kNN graph, default)".to_string(), mine)];
    if let Some(py) = &python {
        let (_, side) = bertopic(py, &corpus, &vectors, dim, args.min_size, args.seed)?;
        rows.push(("BERTopic (UMAP+HDBSCAN)".to_string(), side));
    }
    println!();
    println!(
        "{} English posts of the labelled sets (deduplicated), same embeddings both sides:",
        corpus.len()
    );
    println!();
    println!("| model | topics | unassigned | fit (s) |");
    println!("|---|---:|---:|---:|");
    for (name, s) in &rows {
        println!(
            "| {name} | {} | {:.1} % | {:.1} |",
            s.topics,
            s.unassigned * 100.0,
            s.seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}

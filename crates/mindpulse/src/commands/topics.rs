//! `mindpulse topics`: what people talk about. `build` clusters the posts of a window on
//! the sentence embeddings the heads run stored (posts scored before embeddings were kept
//! are embedded now, once, and stored), per encoder space: PCA, Louvain communities of the
//! nearest-neighbour graph (or HDBSCAN with `--method hdbscan`), c-TF-IDF keywords
//! over words (jieba segmentation for Chinese, stopwords of both languages), and outliers
//! reassigned to their nearest topic so at most 10 % stay unassigned (`mindpulse-topics`).
//! The same posts and parameters give byte-identical topics on any machine. `list` and
//! `show` read the newest build: size, keywords, example posts (pseudonymous, redacted at
//! ingest) and, per topic, the daily volume and the corrected prevalence of each population
//! dimension, with the same small-cell suppression as `trends`.

use crate::context::Context;
use crate::topic_views::{detail, encoder_names, summary, TopicSummary};
use crate::zone::Zone;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use mindpulse_core::{dequantize_i8, PostToScore};
use mindpulse_store::{BuiltTopic, NewTopicBuild, PostFilter, Store, TopicBuild, UNASSIGNED};
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

/// Posts embedded per encoder call when embeddings are missing.
const EMBED_PAGE: i64 = 512;
/// Embeddings read per page.
const READ_PAGE: i64 = 20_000;

#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    pub command: TopicsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Find the topics of the posts in a window and store them (the newest build is current).
    Build(BuildArgs),
    /// The topics of the newest build: size, share, keywords.
    List(ListArgs),
    /// One topic: keywords, example posts, daily volume and corrected prevalence.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub window: crate::post_filter::WindowArgs,
    /// Leave out exact and near duplicates.
    #[arg(long)]
    pub no_duplicates: bool,
    /// Smallest topic (for HDBSCAN its min_cluster_size).
    #[arg(long, default_value_t = 15)]
    pub min_size: usize,
    /// How posts are clustered.
    #[arg(long, value_enum, default_value = "graph")]
    pub method: MethodArg,
    /// Components kept by the PCA before clustering (default 32 for graph, 8 for hdbscan).
    #[arg(long)]
    pub dims: Option<usize>,
    /// Graph: modularity resolution (larger: more, smaller topics).
    #[arg(long, default_value_t = 1.0)]
    pub resolution: f64,
    /// Largest share of posts left unassigned (outliers are reassigned to their nearest
    /// topic until at most this share remains).
    #[arg(long, default_value_t = 0.10)]
    pub max_unassigned: f64,
    /// Threads of the encoder, for posts that have no stored embedding yet (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Louvain communities of the 15-nearest-neighbour graph (seeded).
    Graph,
    /// HDBSCAN (excess of mass).
    Hdbscan,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Most topics listed (largest first).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print exactly one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The topic number (as `topics list` shows it).
    pub number: i64,
    /// Time zone of the days (IANA name; default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Example posts shown.
    #[arg(long, default_value_t = 5)]
    pub examples: usize,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: TopicsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TopicsCommand::Build(a) => build(ctx, a).await,
        TopicsCommand::List(a) => list(ctx, a).await,
        TopicsCommand::Show(a) => show(ctx, a).await,
    }
}

/// One encoder space's posts, in post id order.
#[derive(Default)]
struct Space {
    ids: Vec<i64>,
    vectors: Vec<f32>,
    dim: usize,
}

async fn build(ctx: &Context, args: BuildArgs) -> anyhow::Result<ExitCode> {
    if args.min_size < 2 {
        bail!("--min-size {}: expected 2 or more", args.min_size);
    }
    if let Some(d) = args.dims {
        if !(1..=128).contains(&d) {
            bail!("--dims {d}: expected 1 to 128");
        }
    }
    if !(args.resolution.is_finite() && args.resolution > 0.0) {
        bail!(
            "--resolution {}: expected a positive number",
            args.resolution
        );
    }
    if !(0.0..=1.0).contains(&args.max_unassigned) {
        bail!(
            "--max-unassigned {}: expected a share between 0 and 1",
            args.max_unassigned
        );
    }
    let (zone, window) = args.window.resolve(&ctx.config)?;
    let filter = PostFilter {
        no_duplicates: args.no_duplicates,
        ..window
    };
    let store = ctx.existing_store().await?;
    let result = build_in(&store, &args, &filter, &zone).await;
    store.close().await;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "topics #{}: {} posts → {} topics, {} unassigned ({:.1} %); {} posts embedded now; read {:.1}s, computed {:.1}s",
        report.id,
        report.posts,
        report.topics,
        report.unassigned,
        100.0 * report.unassigned as f64 / (report.posts.max(1)) as f64,
        report.embedded_now,
        report.seconds.read,
        report.seconds.compute
    );
    if report.no_text > 0 {
        println!(
            "({} posts have nothing an encoder can read and are not in the build)",
            report.no_text
        );
    }
    println!("next: mindpulse topics list · topics show N · export (with each post's topic)");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct Seconds {
    embed: f64,
    read: f64,
    compute: f64,
}

#[derive(Debug, Serialize)]
struct BuildReport {
    id: i64,
    posts: usize,
    topics: usize,
    unassigned: usize,
    reassigned_by_similarity: usize,
    reassigned_to_cap: usize,
    embedded_now: usize,
    no_text: usize,
    seconds: Seconds,
}

/// Embeds the selected posts that have no stored embedding yet, with the heads' encoders.
async fn embed_missing(
    store: &Store,
    filter: &PostFilter,
    threads: usize,
) -> anyhow::Result<(usize, usize)> {
    let mut scorer = None;
    let (mut embedded, mut no_text) = (0usize, 0usize);
    let mut after = 0i64;
    loop {
        let page = store
            .posts_without_embedding(filter, after, EMBED_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        // Posts with nothing an encoder can read never get an embedding: counted, and the
        // encoders are not loaded for them.
        let (readable, unreadable): (Vec<_>, Vec<_>) = page
            .into_iter()
            .partition(|p| mindpulse_heads::has_scorable_text(&p.text));
        no_text += unreadable.len();
        if readable.is_empty() {
            continue;
        }
        if scorer.is_none() {
            let threads = super::resolve_threads(threads);
            eprintln!("topics: embedding posts stored before embeddings were kept …");
            let s =
                tokio::task::spawn_blocking(move || crate::scoring::heads_scorer(None, threads))
                    .await
                    .context("loading the encoders")??;
            scorer = Some(std::sync::Arc::new(s));
        }
        let Some(s) = scorer.clone() else { break };
        let posts: Vec<PostToScore> = readable
            .into_iter()
            .map(|p| PostToScore {
                id: p.id,
                text: p.text,
                lang: p.lang,
                topics: Vec::new(),
            })
            .collect();
        let n = posts.len();
        let embeddings = tokio::task::spawn_blocking(move || s.embed_posts(&posts))
            .await
            .context("embedding posts")??;
        no_text += n - embeddings.len();
        embedded += embeddings.len();
        store.insert_embeddings(&embeddings).await?;
    }
    Ok((embedded, no_text))
}

async fn build_in(
    store: &Store,
    args: &BuildArgs,
    filter: &PostFilter,
    zone: &Zone,
) -> anyhow::Result<BuildReport> {
    let t0 = Instant::now();
    let (embedded_now, no_text) = embed_missing(store, filter, args.threads).await?;
    let embed_s = t0.elapsed().as_secs_f64();
    // Read every embedding of the window, one per post (the first encoder's when a post
    // has two), grouped by encoder space.
    let t1 = Instant::now();
    let encoders: BTreeMap<i64, mindpulse_store::EncoderRow> = store
        .encoders()
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let mut spaces: BTreeMap<i64, Space> = BTreeMap::new();
    let mut after = 0i64;
    let mut last_post = 0i64;
    loop {
        let page = store.embeddings_page(filter, after, READ_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.post_id;
        for e in page {
            if e.post_id == last_post {
                continue;
            }
            last_post = e.post_id;
            let space = spaces.entry(e.encoder_id).or_default();
            let v = dequantize_i8(e.scale as f32, &e.values());
            if space.dim == 0 {
                space.dim = v.len();
            }
            if v.len() != space.dim {
                bail!(
                    "post {}: a stored embedding of {} values where encoder {} has {}",
                    e.post_id,
                    v.len(),
                    e.encoder_id,
                    space.dim
                );
            }
            space.ids.push(e.post_id);
            space.vectors.extend(v);
        }
    }
    let posts: usize = spaces.values().map(|s| s.ids.len()).sum();
    if posts == 0 {
        bail!("no posts with readable text in the selection: nothing to build (import and score posts first)");
    }
    let read_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let words = mindpulse_topics::Words::new();
    let base = match args.method {
        MethodArg::Graph => mindpulse_topics::TopicParams::default(),
        MethodArg::Hdbscan => mindpulse_topics::TopicParams::hdbscan(),
    };
    let params = mindpulse_topics::TopicParams {
        min_size: args.min_size,
        dims: args.dims.unwrap_or(base.dims),
        resolution: args.resolution,
        max_unassigned: args.max_unassigned,
        ..base
    };
    // (encoder, local topic) with its size and smallest member, to number them globally.
    let mut found: Vec<(i64, mindpulse_topics::Topic)> = Vec::new();
    let mut local: Vec<(i64, i64, Option<u32>)> = Vec::with_capacity(posts);
    let (mut by_similarity, mut to_cap) = (0, 0);
    for (&encoder_id, space) in &spaces {
        let texts: Vec<String> = store
            .post_texts(&space.ids)
            .await?
            .into_iter()
            .map(|p| p.text)
            .collect();
        if texts.len() != space.ids.len() {
            bail!("posts were deleted while the topics were built; run it again");
        }
        let input = mindpulse_topics::TopicInput {
            ids: &space.ids,
            embeddings: &space.vectors,
            dim: space.dim,
            texts: &texts,
        };
        let model = mindpulse_topics::build(input, &params, &words)
            .with_context(|| format!("the topics of encoder {encoder_id}"))?;
        by_similarity += model.reassigned_by_similarity;
        to_cap += model.reassigned_to_cap;
        for (id, a) in space.ids.iter().zip(&model.assignment) {
            local.push((*id, encoder_id, *a));
        }
        for t in model.topics {
            found.push((encoder_id, t));
        }
    }
    // Global numbers: largest first, then by encoder and local number (all deterministic).
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by(|&a, &b| {
        found[b]
            .1
            .size
            .cmp(&found[a].1.size)
            .then(found[a].0.cmp(&found[b].0))
            .then(found[a].1.number.cmp(&found[b].1.number))
    });
    let mut number_of: BTreeMap<(i64, u32), i64> = BTreeMap::new();
    let mut topics = Vec::with_capacity(found.len());
    for (global, &i) in order.iter().enumerate() {
        let (encoder_id, t) = &found[i];
        number_of.insert((*encoder_id, t.number), global as i64);
        topics.push(BuiltTopic {
            number: global as i64,
            encoder_id: *encoder_id,
            size: t.size as i64,
            keywords: serde_json::to_string(&t.keywords)?,
            examples: serde_json::to_string(&t.examples)?,
            label: None,
        });
    }
    let mut assignments: Vec<(i64, i64)> = local
        .iter()
        .map(|(id, enc, a)| {
            let n = a
                .and_then(|a| number_of.get(&(*enc, a)).copied())
                .unwrap_or(UNASSIGNED);
            (*id, n)
        })
        .collect();
    assignments.sort_unstable();
    let unassigned = assignments.iter().filter(|(_, n)| *n == UNASSIGNED).count();
    let compute_s = t2.elapsed().as_secs_f64();
    let encoders_used: Vec<serde_json::Value> = spaces
        .keys()
        .filter_map(|id| encoders.get(id))
        .map(|e| serde_json::json!({"id": e.id, "name": e.name, "sha256": e.sha256}))
        .collect();
    let build_params = serde_json::json!({
        "since": filter.since.map(|t| t.to_rfc3339()),
        "until": filter.until.map(|t| t.to_rfc3339()),
        "lang": filter.lang,
        "platform": filter.platform,
        "no_duplicates": filter.no_duplicates,
        "zone": zone.name(),
        "method": format!("{:?}", params.method).to_lowercase(),
        "neighbours": params.neighbours,
        "resolution": params.resolution,
        "seed": params.seed,
        "min_size": params.min_size,
        "dims": params.dims,
        "max_fit": params.max_fit,
        "keywords": params.keywords,
        "min_similarity": params.min_similarity,
        "max_unassigned": params.max_unassigned,
        "encoders": encoders_used,
        "pipeline": "pca, clusters, outliers reassigned, c-tf-idf (mindpulse-topics)",
    });
    let id = store
        .save_topic_build(NewTopicBuild {
            params: &build_params,
            topics: &topics,
            assignments: &assignments,
        })
        .await?;
    Ok(BuildReport {
        id,
        posts,
        topics: topics.len(),
        unassigned,
        reassigned_by_similarity: by_similarity,
        reassigned_to_cap: to_cap,
        embedded_now,
        no_text,
        seconds: Seconds {
            embed: embed_s,
            read: read_s,
            compute: compute_s,
        },
    })
}

async fn latest(store: &Store) -> anyhow::Result<TopicBuild> {
    store
        .latest_topic_build()
        .await?
        .context("no topics built yet: run `mindpulse topics build` first")
}

async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let result = async {
        let build = latest(&store).await?;
        let topics = store.built_topics(build.id).await?;
        let encoders = encoder_names(&store).await?;
        anyhow::Ok((build, topics, encoders))
    }
    .await;
    store.close().await;
    let (build, topics, encoders) = result?;
    let out: Vec<TopicSummary> = topics
        .iter()
        .take(args.limit.max(1))
        .map(|t| summary(t, &build, &encoders))
        .collect();
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "topics #{} ({} posts, {} topics, {} unassigned = {:.1} %), largest first:",
        build.id,
        build.posts,
        build.topics,
        build.unassigned,
        100.0 * build.unassigned as f64 / build.posts.max(1) as f64
    );
    for t in &out {
        let words: Vec<&str> = t.keywords.iter().take(8).map(|(w, _)| w.as_str()).collect();
        println!(
            "#{:<4} {:>7} posts {:>5.1} %  {}",
            t.number,
            t.size,
            t.share * 100.0,
            words.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(ctx: &Context, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let zone = Zone::resolve(args.tz.as_deref(), &ctx.config)?;
    let min_cell = crate::series::configured_min_cell(&ctx.config);
    let method = crate::series::configured_method(&ctx.config);
    let store = ctx.existing_store().await?;
    let result = async {
        let build = latest(&store).await?;
        let topics = store.built_topics(build.id).await?;
        let Some(topic) = topics.iter().find(|t| t.number == args.number) else {
            bail!(
                "topic {} is not in build #{} (it has topics 0 to {}): see `mindpulse topics list`",
                args.number,
                build.id,
                topics.len().saturating_sub(1)
            );
        };
        detail(
            &store,
            &build,
            topic,
            &zone,
            min_cell,
            method,
            args.examples,
        )
        .await
    }
    .await;
    store.close().await;
    let detail = result?;
    if args.json {
        println!("{}", serde_json::to_string(&detail)?);
        return Ok(ExitCode::SUCCESS);
    }
    let t = &detail.topic;
    println!(
        "topic {} of build #{}: {} posts ({:.1} %), encoder {}",
        t.number,
        detail.build,
        t.size,
        t.share * 100.0,
        t.encoder
    );
    let words: Vec<String> = t
        .keywords
        .iter()
        .map(|(w, s)| format!("{w} ({s:.3})"))
        .collect();
    println!("keywords: {}", words.join(", "));
    println!("examples (pseudonymous):");
    for e in &detail.examples {
        let text: String = e.text.chars().take(160).collect();
        println!("  [{}] {}", e.id, text.replace('\n', " "));
    }
    println!(
        "per day in {} (cells under {} posts suppressed; prevalence corrected with {}):",
        detail.zone,
        detail.min_cell,
        method.name().to_uppercase()
    );
    let dims: Vec<&String> = detail.prevalence.keys().collect();
    let mut header = format!("{:<12} {:>7}", "day", "posts");
    for d in &dims {
        header.push_str(&format!(" {:>22}", d));
    }
    println!("{header}");
    for row in &detail.volume {
        let mut line = format!(
            "{:<12} {:>7}",
            row.bucket,
            if row.suppressed {
                "<".to_string() + &detail.min_cell.to_string()
            } else {
                row.value.map(|v| format!("{v:.0}")).unwrap_or_default()
            }
        );
        for d in &dims {
            let cell = detail.prevalence[*d]
                .iter()
                .find(|r| r.bucket == row.bucket)
                .map(|r| match (r.suppressed, r.value) {
                    (false, Some(v)) => format!(
                        "{:.1}% ({:.1}–{:.1})",
                        v * 100.0,
                        r.ci_low.unwrap_or(0.0) * 100.0,
                        r.ci_high.unwrap_or(0.0) * 100.0
                    ),
                    _ => "suppressed".to_string(),
                })
                .unwrap_or_else(|| "-".to_string());
            line.push_str(&format!(" {cell:>22}"));
        }
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

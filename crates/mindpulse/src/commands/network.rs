//! `mindpulse network`: who is being heard. `build` derives the directed reply, repost and
//! mention network between pseudonymous authors from the stored posts (an edge from the
//! author who acts to the author answered, reposted or mentioned, weighted by the number of
//! such acts), computes PageRank (damping 0.85, weighted, dangling mass spread uniformly, as
//! NetworkX does), in/out degree and seeded Louvain communities (`mindpulse-network`), and
//! stores the build; `top`, `communities` and `export` read the newest build.
//!
//! Authors are the pseudonyms stored at ingest; the network exists to see populations
//! (communities, what they talk about, how much distress is in them), and `communities`
//! applies the same small-cell suppression as `trends`.

use crate::context::Context;
use crate::output_file::OutputFile;
use crate::series::{scores_of, POPULATION};
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use mindpulse_analyze::{Series, Tally};
use mindpulse_store::{NetworkNode, PostFilter};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Build the network of the posts in a window (replies, reposts, mentions) and store it.
    Build(BuildArgs),
    /// The most central authors of the newest build (pseudonymous).
    Top(TopArgs),
    /// The communities of the newest build: size, top topics, corrected prevalence.
    Communities(CommunitiesArgs),
    /// Write the newest build as GEXF or GraphML (opens in Gephi).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub window: crate::post_filter::WindowArgs,
    /// Only posts with this topic (hashtag, subreddit, hot-search topic).
    #[arg(long)]
    pub topic: Option<String>,
    /// Seed of the community detection (same seed, same communities).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Modularity resolution (larger: more, smaller communities).
    #[arg(long, default_value_t = 1.0)]
    pub resolution: f64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankBy {
    Pagerank,
    InDegree,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    #[arg(long, value_enum, default_value = "pagerank")]
    pub by: RankBy,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    /// Print exactly one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CommunitiesArgs {
    /// Most communities listed (largest first).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print exactly one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Gexf,
    Graphml,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: GraphFormat,
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(ctx: &Context, args: NetworkArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        NetworkCommand::Build(a) => build(ctx, a).await,
        NetworkCommand::Top(a) => top(ctx, a).await,
        NetworkCommand::Communities(a) => communities(ctx, a).await,
        NetworkCommand::Export(a) => export(ctx, a).await,
    }
}

/// The post filter a build was made with (also what `communities` counts posts over).
fn filter_of(params: &serde_json::Value) -> anyhow::Result<PostFilter> {
    let time = |k: &str| -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
        params[k]
            .as_str()
            .map(|s| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .with_context(|| format!("the stored build's {k} {s:?}"))
            })
            .transpose()
    };
    Ok(PostFilter {
        since: time("since")?,
        until: time("until")?,
        topic: params["topic"].as_str().map(str::to_string),
        platform: params["platform"].as_str().map(str::to_string),
        lang: params["lang"].as_str().map(str::to_string),
        ..PostFilter::default()
    })
}

async fn build(ctx: &Context, args: BuildArgs) -> anyhow::Result<ExitCode> {
    if !(args.resolution.is_finite() && args.resolution > 0.0) {
        bail!(
            "--resolution {}: expected a positive number",
            args.resolution
        );
    }
    let (zone, window) = args.window.resolve(&ctx.config)?;
    let filter = PostFilter {
        topic: args.topic.clone(),
        ..window
    };
    let store = ctx.existing_store().await?;
    let started = Instant::now();
    let edges = store.interaction_edges(&filter).await;
    let edges = match edges {
        Ok(e) => e,
        Err(e) => {
            store.close().await;
            return Err(e.into());
        }
    };
    let read_s = started.elapsed().as_secs_f64();
    if edges.is_empty() {
        store.close().await;
        bail!("no replies, reposts or mentions between authors in the selected posts: nothing to build");
    }
    let started = Instant::now();
    let graph = mindpulse_network::Graph::from_edges(edges.iter().cloned())
        .context("the interaction edges")?;
    let pagerank =
        mindpulse_network::pagerank(&graph, &mindpulse_network::PageRankOptions::default())
            .context("PageRank")?;
    let degrees = mindpulse_network::degrees(&graph);
    let community = mindpulse_network::communities(&graph, args.seed, args.resolution)
        .context("communities")?;
    let modularity =
        mindpulse_network::modularity(&graph, &community, args.resolution).context("modularity")?;
    let compute_s = started.elapsed().as_secs_f64();
    let nodes: Vec<NetworkNode> = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, author)| NetworkNode {
            author: author.clone(),
            pagerank: pagerank[i],
            in_degree: degrees.in_degree[i],
            out_degree: degrees.out_degree[i],
            in_count: i64::from(degrees.in_count[i]),
            out_count: i64::from(degrees.out_count[i]),
            community: i64::from(community[i]),
        })
        .collect();
    let params = serde_json::json!({
        "since": filter.since.map(|t| t.to_rfc3339()),
        "until": filter.until.map(|t| t.to_rfc3339()),
        "topic": filter.topic,
        "platform": filter.platform,
        "lang": filter.lang,
        "seed": args.seed,
        "resolution": args.resolution,
        "alpha": 0.85,
        "zone": zone.name(),
    });
    let saved = store
        .save_network(&params, Some(modularity), &nodes, &edges)
        .await;
    store.close().await;
    let id = saved?;
    let n_communities = community
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "id": id, "nodes": nodes.len(), "edges": edges.len(),
                "communities": n_communities, "modularity": modularity,
                "seconds": {"read": read_s, "compute": compute_s},
            })
        );
    } else {
        println!(
            "network #{id}: {} authors, {} edges (replies, reposts, mentions); {n_communities} communities, modularity {modularity:.3}; read {read_s:.1}s, computed {compute_s:.2}s\nnext: mindpulse network top · network communities · network export --format gexf --out network.gexf",
            nodes.len(),
            edges.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn latest(store: &mindpulse_store::Store) -> anyhow::Result<mindpulse_store::NetworkRun> {
    store
        .latest_network()
        .await?
        .context("no network built yet: run `mindpulse network build` first")
}

async fn top(ctx: &Context, args: TopArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let result = async {
        let run = latest(&store).await?;
        let nodes = store
            .network_nodes(run.id, args.by == RankBy::InDegree, args.limit.max(1))
            .await?;
        anyhow::Ok((run, nodes))
    }
    .await;
    store.close().await;
    let (run, nodes) = result?;
    if args.json {
        println!("{}", serde_json::to_string(&nodes)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "network #{} ({} authors, {} edges), by {}:",
        run.id,
        run.nodes,
        run.edges,
        match args.by {
            RankBy::Pagerank => "PageRank",
            RankBy::InDegree => "weighted in-degree",
        }
    );
    println!(
        "{:<24} {:>10} {:>9} {:>9} {:>9}",
        "author (pseudonym)", "pagerank", "in", "out", "community"
    );
    for n in &nodes {
        println!(
            "{:<24} {:>10.6} {:>9.0} {:>9.0} {:>9}",
            n.author, n.pagerank, n.in_degree, n.out_degree, n.community
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct TopicCount {
    topic: String,
    posts: i64,
}

#[derive(Debug, Serialize)]
struct Prevalence {
    n: Option<u64>,
    value: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    suppressed: bool,
}

#[derive(Debug, Serialize)]
struct Community {
    community: i64,
    size: usize,
    posts: i64,
    pagerank: f64,
    top_topics: Vec<TopicCount>,
    prevalence: BTreeMap<String, Prevalence>,
}

async fn communities(ctx: &Context, args: CommunitiesArgs) -> anyhow::Result<ExitCode> {
    let min_cell = crate::series::configured_min_cell(&ctx.config);
    let method = crate::series::configured_method(&ctx.config);
    let store = ctx.existing_store().await?;
    let result = async {
        let run = latest(&store).await?;
        let params: serde_json::Value =
            serde_json::from_str(&run.params).context("the stored build's parameters")?;
        let filter = filter_of(&params)?;
        let nodes = store.network_nodes(run.id, false, i64::MAX).await?;
        let mut size: BTreeMap<i64, (usize, f64)> = BTreeMap::new();
        for n in &nodes {
            let e = size.entry(n.community).or_default();
            e.0 += 1;
            e.1 += n.pagerank;
        }
        let volume = store.community_tallies(run.id, None, &filter).await?;
        let topics = store.community_topics(run.id, &filter).await?;
        let mut dims = Vec::new();
        for dim in POPULATION {
            let Ok(Some(scores)) = scores_of(&store, dim).await else {
                continue;
            };
            let tallies = store
                .community_tallies(run.id, Some((scores.scorer_id, dim)), &filter)
                .await?;
            dims.push((dim.to_string(), scores, tallies));
        }
        anyhow::Ok((run, size, volume, topics, dims))
    }
    .await;
    store.close().await;
    let (run, size, volume, topics, dims) = result?;
    let mut out: Vec<Community> = size
        .iter()
        .map(|(c, (members, pr))| {
            let posts: i64 = volume
                .iter()
                .filter(|t| t.community == *c)
                .map(|t| t.n)
                .sum();
            let mut prevalence = BTreeMap::new();
            for (dim, scores, tallies) in &dims {
                let mut series = Series::new();
                for t in tallies.iter().filter(|t| t.community == *c) {
                    series.add_tally(
                        "all",
                        None,
                        t.lang.as_deref().unwrap_or("und"),
                        &Tally {
                            n: t.n.max(0) as u64,
                            flagged: t.flagged.max(0) as u64,
                            sum_p: t.sum_p,
                            sum_p2: t.sum_p2,
                        },
                    );
                }
                let row = series
                    .prevalence(&|l| scores.rates.get(l), method, min_cell)
                    .into_iter()
                    .next();
                prevalence.insert(
                    dim.clone(),
                    match row {
                        Some(r) => Prevalence {
                            n: r.n,
                            value: r.value,
                            ci_low: r.ci_low,
                            ci_high: r.ci_high,
                            suppressed: r.suppressed,
                        },
                        None => Prevalence {
                            n: None,
                            value: None,
                            ci_low: None,
                            ci_high: None,
                            suppressed: true,
                        },
                    },
                );
            }
            Community {
                community: *c,
                size: *members,
                posts,
                pagerank: *pr,
                top_topics: topics
                    .iter()
                    .filter(|t| t.community == *c)
                    .take(5)
                    .map(|t| TopicCount {
                        topic: t.topic.clone(),
                        posts: t.posts,
                    })
                    .collect(),
                prevalence,
            }
        })
        .collect();
    // Small communities: their size is shown, their posts' numbers are not.
    for c in &mut out {
        if c.posts < min_cell as i64 {
            c.top_topics.clear();
        }
    }
    out.sort_by(|a, b| b.size.cmp(&a.size).then(a.community.cmp(&b.community)));
    out.truncate(args.limit.max(1));
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "network #{} ({} authors, {} edges, modularity {}): communities, largest first; prevalence corrected with {}, cells under {min_cell} posts suppressed",
        run.id,
        run.nodes,
        run.edges,
        run.modularity.map(|m| format!("{m:.3}")).unwrap_or_else(|| "-".into()),
        method.name().to_uppercase()
    );
    for c in &out {
        let prev: Vec<String> = c
            .prevalence
            .iter()
            .map(|(d, p)| match p.value {
                Some(v) if !p.suppressed => format!(
                    "{d} {:.1}% ({:.1}–{:.1})",
                    v * 100.0,
                    p.ci_low.unwrap_or(0.0) * 100.0,
                    p.ci_high.unwrap_or(0.0) * 100.0
                ),
                _ => format!("{d} suppressed"),
            })
            .collect();
        println!(
            "#{:<5} {:>6} authors {:>7} posts  PageRank {:.3}  topics: {}\n       {}",
            c.community,
            c.size,
            c.posts,
            c.pagerank,
            if c.top_topics.is_empty() {
                "-".to_string()
            } else {
                c.top_topics
                    .iter()
                    .map(|t| format!("{} ({})", t.topic, t.posts))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if prev.is_empty() {
                "no scores yet".to_string()
            } else {
                prev.join(" · ")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(ctx: &Context, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let result = async {
        let run = latest(&store).await?;
        let nodes = store.network_nodes(run.id, false, i64::MAX).await?;
        let edges = store.network_edges(run.id).await?;
        anyhow::Ok((run, nodes, edges))
    }
    .await;
    store.close().await;
    let (run, nodes, edges) = result?;
    let graph = mindpulse_network::Graph::from_edges(
        edges
            .iter()
            .map(|e| (e.source.clone(), e.target.clone(), e.weight)),
    )
    .context("the stored edges")?;
    let by_author: BTreeMap<&str, &NetworkNode> =
        nodes.iter().map(|n| (n.author.as_str(), n)).collect();
    let attrs = mindpulse_network::NodeAttrs {
        pagerank: graph
            .nodes()
            .iter()
            .map(|a| by_author.get(a.as_str()).map_or(0.0, |n| n.pagerank))
            .collect(),
        in_degree: graph
            .nodes()
            .iter()
            .map(|a| by_author.get(a.as_str()).map_or(0.0, |n| n.in_degree))
            .collect(),
        out_degree: graph
            .nodes()
            .iter()
            .map(|a| by_author.get(a.as_str()).map_or(0.0, |n| n.out_degree))
            .collect(),
        community: graph
            .nodes()
            .iter()
            .map(|a| by_author.get(a.as_str()).map_or(0, |n| n.community as u32))
            .collect(),
    };
    let mut out = OutputFile::create(&args.out, args.force, &ctx.db_url)?;
    {
        let mut w = std::io::BufWriter::new(&mut out);
        match args.format {
            GraphFormat::Gexf => mindpulse_network::write_gexf(&graph, &attrs, &mut w)?,
            GraphFormat::Graphml => mindpulse_network::write_graphml(&graph, &attrs, &mut w)?,
        }
        w.flush()?;
    }
    out.finish()?;
    eprintln!(
        "network #{}: {} authors and {} edges written to {}",
        run.id,
        graph.node_count(),
        graph.edge_count(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

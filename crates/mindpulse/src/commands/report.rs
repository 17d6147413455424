//! `mindpulse report --since D --until D [--lang zh|en] --out report.html`: one
//! self-contained HTML file for people who will never run a command — the period's volume
//! and each population dimension's corrected prevalence with 95 % CIs (from the rollups
//! when they cover the window), the alerts that touch the period with their review status
//! and notes, the newest topics and network summary, and a methods section (crawl
//! coverage, models with their validated figures, what the numbers do not mean). It reads
//! the store and hands plain view types to `mindpulse_serve::report`, which renders them
//! with no script and nothing fetched. Written like an export (`output_file`): never over
//! the database or an existing file without --force, never half-written.

use crate::context::Context;
use crate::series::{read_series, scores_of, Read, POPULATION};
use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use mindpulse_analyze::{Bucket, TrendRow};
use mindpulse_serve::report::{
    AlertLine, CoverageLine, Dimension, ModelLine, Network, Report, TopicLine, Topics,
};
use mindpulse_serve::{Locale, Point};
use mindpulse_store::{PostFilter, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    Day,
    Week,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day of the period (YYYY-MM-DD in --tz, or a time).
    #[arg(long)]
    pub since: String,
    /// End of the period, exclusive (YYYY-MM-DD in --tz, or a time).
    #[arg(long)]
    pub until: String,
    /// Time zone of the days (IANA name; default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Only posts in this language (zh, en, …).
    #[arg(long)]
    pub lang: Option<String>,
    /// Only posts of this platform.
    #[arg(long)]
    pub platform: Option<String>,
    /// The report's language: en or zh (default: --lang when it is one of them, else en).
    #[arg(long)]
    pub locale: Option<String>,
    /// One point per day or per week.
    #[arg(long, value_enum, default_value = "day")]
    pub by: ReportBy,
    /// Topics shown (largest first).
    #[arg(long, default_value_t = 10)]
    pub topics: usize,
    /// Where to write the HTML file.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite --out when it exists.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let zone = crate::zone::Zone::resolve(args.tz.as_deref(), &ctx.config)?;
    let (since, until) = zone.window(Some(&args.since), Some(&args.until))?;
    if let (Some(s), Some(u)) = (since, until) {
        if s >= u {
            bail!(
                "--since {} is not before --until {}: the period is empty",
                args.since,
                args.until
            );
        }
    }
    let locale = match args.locale.as_deref() {
        Some(code) => {
            Locale::parse(code).with_context(|| format!("--locale {code:?}: expected en or zh"))?
        }
        None => args
            .lang
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or(Locale::En),
    };
    let filter = PostFilter {
        since,
        until,
        no_duplicates: true,
        lang: args.lang.clone(),
        platform: args.platform.clone(),
        ..Default::default()
    };
    let min_cell = crate::series::configured_min_cell(&ctx.config);
    let method = crate::series::configured_method(&ctx.config);
    let bucket = match args.by {
        ReportBy::Day => Bucket::Day,
        ReportBy::Week => Bucket::Week,
    };
    let mut out = crate::output_file::OutputFile::create(&args.out, args.force, &ctx.db_url)?;
    let store = ctx.existing_store().await?;
    let read = async {
        let read = |metric: &'static str, b: Bucket| {
            read_series(&store, metric, None, &filter, b, zone.tz, Read::Rollups)
        };
        let (series, _, _) = read("volume", bucket).await?;
        let volume: Vec<Point> = series.volume(min_cell).iter().map(point).collect();
        let (all, _, _) = read("volume", Bucket::All).await?;
        let posts = all.volume(1).first().and_then(|r| r.n).unwrap_or(0);
        let mut dimensions = Vec::new();
        let mut models = Vec::new();
        let mut scored = 0u64;
        for dim in POPULATION {
            let Some(scores) = scores_of(&store, dim).await.ok().flatten() else {
                continue;
            };
            let (series, rates, source) = read(dim, bucket).await?;
            let rows = series.prevalence(&|l| rates.get(l), method, min_cell);
            let (all, _, _) = read(dim, Bucket::All).await?;
            let overall = all
                .prevalence(&|l| rates.get(l), method, min_cell)
                .first()
                .map(point);
            scored = scored.max(all.volume(1).first().and_then(|r| r.n).unwrap_or(0));
            dimensions.push(Dimension {
                name: dim.to_string(),
                points: rows.iter().map(point).collect(),
                overall,
                source: format!(
                    "{}; {}",
                    source.unwrap_or_default(),
                    method.name().to_uppercase()
                ),
            });
            let scorer = store.scorer_of_dimension(dim, None).await?;
            models.push(ModelLine {
                dimension: dim.to_string(),
                model: scorer
                    .map(|s| model_name(&s.model_id, &s.version, s.params.as_deref()))
                    .unwrap_or_default(),
                rates: scores
                    .rates
                    .iter()
                    .map(|(lang, r)| {
                        (
                            lang.clone(),
                            r.tp as f64 / r.n_pos.max(1) as f64,
                            1.0 - r.fp as f64 / r.n_neg.max(1) as f64,
                        )
                    })
                    .collect(),
            });
        }
        let days = (
            since
                .map(|t| zone.day_of(t).to_string())
                .unwrap_or_default(),
            until
                .map(|t| zone.day_of(t).to_string())
                .unwrap_or_else(|| "9999".into()),
        );
        let alerts = alerts_in(&store, &days.0, &days.1).await?;
        let topics = topics(&store, args.topics).await?;
        let network = network(&store).await?;
        let coverage = store
            .coverage(None)
            .await?
            .into_iter()
            .map(|c| CoverageLine {
                query: c.query,
                asked: c.pages_asked.max(0) as u64,
                got: c.pages_fetched.max(0) as u64,
                missed: c.pages_failed.max(0) as u64,
            })
            .collect();
        anyhow::Ok(Report {
            locale,
            period: format!(
                "{} – {} ({})",
                args.since.trim(),
                args.until.trim(),
                zone.name()
            ),
            generated: chrono::Utc::now()
                .with_timezone(&zone.tz)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string(),
            filters: [
                args.lang.as_ref().map(|l| format!("lang = {l}")),
                args.platform.as_ref().map(|p| format!("platform = {p}")),
            ]
            .into_iter()
            .flatten()
            .collect(),
            posts,
            scored,
            min_cell,
            volume,
            bucket: match args.by {
                ReportBy::Day => "day".into(),
                ReportBy::Week => "week".into(),
            },
            dimensions,
            alerts,
            topics,
            network,
            coverage,
            models,
        })
    }
    .await;
    store.close().await;
    let report = read?;
    let html = mindpulse_serve::report::render(&report);
    use std::io::Write as _;
    out.write_all(html.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    out.finish()?;
    eprintln!(
        "report: {} posts, {} dimensions, {} alerts → {}",
        report.posts,
        report.dimensions.len(),
        report.alerts.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A trend row as a chart point (suppressed rows have no value).
fn point(r: &TrendRow) -> Point {
    Point {
        bucket: r.bucket.clone(),
        value: if r.suppressed { None } else { r.value },
        low: r.ci_low,
        high: r.ci_high,
        n: r.n,
    }
}

/// `model version` and, when the scoring run recorded it, the model file's sha256 prefix.
fn model_name(model_id: &str, version: &str, params: Option<&str>) -> String {
    let sha = params
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|v| {
            ["model_sha256", "sha256", "encoder_sha256"]
                .iter()
                .find_map(|k| v[*k].as_str().map(str::to_string))
        });
    match sha {
        Some(sha) => format!("{model_id} {version} @{}", &sha[..sha.len().min(12)]),
        None => format!("{model_id} {version}"),
    }
}

/// Alerts whose buckets touch the days [from, to), with their review notes.
async fn alerts_in(store: &Store, from: &str, to: &str) -> anyhow::Result<Vec<AlertLine>> {
    let day = |b: &str| b.chars().take(10).collect::<String>();
    let mut out = Vec::new();
    for a in store.alerts(None, 1000).await? {
        if day(&a.last_bucket).as_str() < from || day(&a.first_bucket).as_str() >= to {
            continue;
        }
        let notes = store
            .alert_reviews(a.id)
            .await?
            .into_iter()
            .map(|r| (r.status, r.note.unwrap_or_default()))
            .collect();
        out.push(AlertLine {
            id: a.id,
            rule: a.rule,
            metric: a.metric,
            group: a.grp,
            first_bucket: a.first_bucket,
            last_bucket: a.last_bucket,
            level: a.level,
            status: a.status,
            notes,
        });
    }
    out.sort_by_key(|a| a.id);
    Ok(out)
}

/// The newest topic build's `limit` largest topics with three example posts each.
async fn topics(store: &Store, limit: usize) -> anyhow::Result<Option<Topics>> {
    let Some(build) = store.latest_topic_build().await? else {
        return Ok(None);
    };
    let mut built = store.built_topics(build.id).await?;
    built.sort_by(|a, b| b.size.cmp(&a.size).then(a.number.cmp(&b.number)));
    let mut topics = Vec::new();
    for t in built.into_iter().take(limit) {
        let keywords: Vec<(String, f64)> = serde_json::from_str(&t.keywords)
            .with_context(|| format!("the keywords of topic {} in build {}", t.number, build.id))?;
        let example_ids: Vec<i64> = serde_json::from_str(&t.examples)
            .with_context(|| format!("the examples of topic {} in build {}", t.number, build.id))?;
        let examples = store
            .post_texts(&example_ids[..example_ids.len().min(3)])
            .await?
            .into_iter()
            .map(|p| p.text)
            .collect();
        topics.push(TopicLine {
            number: t.number,
            size: t.size.max(0) as u64,
            keywords: keywords.into_iter().take(8).map(|(w, _)| w).collect(),
            examples,
        });
    }
    Ok(Some(Topics {
        build: build.id,
        posts: build.posts.max(0) as u64,
        unassigned: build.unassigned.max(0) as u64,
        topics,
    }))
}

/// The newest network build: sizes of its ten largest communities (no author named).
async fn network(store: &Store) -> anyhow::Result<Option<Network>> {
    let Some(run) = store.latest_network().await? else {
        return Ok(None);
    };
    let mut sizes: BTreeMap<i64, u64> = BTreeMap::new();
    for n in store.network_nodes(run.id, false, i64::MAX).await? {
        *sizes.entry(n.community).or_default() += 1;
    }
    let mut communities: Vec<(i64, u64)> = sizes.into_iter().collect();
    communities.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    communities.truncate(10);
    Ok(Some(Network {
        build: run.id,
        nodes: run.nodes.max(0) as u64,
        edges: run.edges.max(0) as u64,
        modularity: run.modularity,
        communities,
    }))
}

//! `mindpulse alerts`: outbreak-style alerts on the stored series and the review queue.
//!
//! - `scan` runs the `[[alerts.rules]]` (default: volume and every population dimension,
//!   ESSENCE EWMA by day) over the stored series, stores each new episode with its
//!   evidence, and notifies the `[[alerts.webhooks]]`; re-running over the same data adds
//!   nothing. A webhook that fails never fails the scan: its notification stays in the
//!   outbox and is retried on the next scan.
//! - `list [--status …]`, `show ID` and `review ID --status … --note … --reviewer …` are the
//!   review queue; every review is kept (who, when, what), nothing is overwritten.

use crate::context::Context;
use crate::series::POPULATION;
use crate::zone::Zone;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use std::process::ExitCode;

use crate::watch::{scan_and_notify, DeliveryReport, FoundAlert, ScanSpec, Skipped};

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Run the alert rules over the stored series; store and notify new alerts.
    Scan(ScanArgs),
    /// The review queue, newest first.
    List(ListArgs),
    /// One alert with its evidence and review history.
    Show(ShowArgs),
    /// Record a review: acknowledge, dismiss or escalate an alert, with a note.
    Review(ReviewArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Only the rules of this metric (`volume` or a population dimension).
    #[arg(long)]
    pub metric: Option<String>,
    /// Only episodes that reach this day (YYYY-MM-DD in --tz) or time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only data before this day or time (exclusive).
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone of the buckets and of --since/--until days (default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Store alerts but send no notification now (they wait in the outbox).
    #[arg(long)]
    pub no_notify: bool,
    /// Print exactly one JSON array of the alerts found (new or already stored) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    New,
    Ack,
    Dismissed,
    Escalated,
}

impl StatusArg {
    fn as_str(self) -> &'static str {
        match self {
            StatusArg::New => "new",
            StatusArg::Ack => "ack",
            StatusArg::Dismissed => "dismissed",
            StatusArg::Escalated => "escalated",
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Most alerts listed.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print exactly one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub id: i64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    pub id: i64,
    /// ack, dismissed or escalated.
    #[arg(long, value_enum)]
    pub status: StatusArg,
    #[arg(long)]
    pub note: Option<String>,
    /// Who reviews (a team member's name; kept in the history).
    #[arg(long)]
    pub reviewer: String,
}

pub async fn run(ctx: &Context, args: AlertsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AlertsCommand::Scan(a) => run_scan(ctx, a).await,
        AlertsCommand::List(a) => list(ctx, a).await,
        AlertsCommand::Show(a) => show(ctx, a).await,
        AlertsCommand::Review(a) => review(ctx, a).await,
    }
}

/// The rules a scan runs: the configured ones, else the defaults; only `metric`'s when given.
fn rules(ctx: &Context, metric: Option<&str>) -> anyhow::Result<Vec<mindpulse_detect::Rule>> {
    let all = crate::watch::configured_rules(&ctx.config);
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|r| metric.is_none_or(|m| r.metric == m))
        .collect();
    if chosen.is_empty() {
        if let Some(m) = metric {
            bail!(
                "no alert rule watches --metric {m:?} (the population dimensions are {}, or volume; \
                 rules come from [[alerts.rules]])",
                POPULATION.join(", ")
            );
        }
    }
    Ok(chosen)
}

async fn run_scan(ctx: &Context, args: ScanArgs) -> anyhow::Result<ExitCode> {
    let rules = rules(ctx, args.metric.as_deref())?;
    let zone = Zone::resolve(args.tz.as_deref(), &ctx.config)?;
    let (since, until) = zone.window(args.since.as_deref(), args.until.as_deref())?;
    // Webhooks are resolved (secrets read) before any work, so a missing secret is said at once.
    let notifier = mindpulse_notify::Notifier::new(ctx.config.alerts.webhooks.clone())
        .context("[[alerts.webhooks]]")?;
    let store = ctx.existing_store().await?;
    let spec = ScanSpec::new(&ctx.config, &rules, zone, since, until);
    let result = scan_and_notify(&store, &spec, &notifier, !args.no_notify).await;
    store.close().await;
    let (found, skipped, delivery) = result?;
    if args.json {
        println!("{}", serde_json::to_string(&found)?);
    } else {
        print_scan(&rules, &spec, &found, &skipped, &delivery);
    }
    for s in &skipped {
        eprintln!("rule {:?} skipped: {}", s.rule, s.reason);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_scan(
    rules: &[mindpulse_detect::Rule],
    spec: &ScanSpec<'_>,
    found: &[FoundAlert],
    skipped: &[Skipped],
    delivery: &DeliveryReport,
) {
    let new = found
        .iter()
        .filter(|a| a.change == mindpulse_store::AlertChange::New)
        .count();
    println!(
        "alerts scan: {} rule(s), days in {}; {} alert(s) in the window, {new} new; {} rule(s) skipped",
        rules.len(),
        spec.zone.name(),
        found.len(),
        skipped.len()
    );
    for a in found {
        println!(
            "  #{:<5} {:<8} {:<22} {:<16} {}  observed {} expected {}  {}  ({:?})",
            a.id,
            a.level,
            a.rule,
            a.group.as_deref().unwrap_or("all"),
            a.bucket,
            fmt_value(&a.metric, a.observed),
            a.expected
                .map(|e| fmt_value(&a.metric, e))
                .unwrap_or_else(|| "-".into()),
            a.p_value
                .map(|p| format!("p={p:.2e}"))
                .unwrap_or_else(|| a.score.map(|s| format!("score={s:.2}")).unwrap_or_default()),
            a.change
        );
    }
    if delivery.sent + delivery.pending > 0 {
        println!(
            "notifications: {} sent, {} pending (retried on the next scan)",
            delivery.sent, delivery.pending
        );
    }
}

fn fmt_value(metric: &str, v: f64) -> String {
    if metric == "volume" {
        format!("{v:.0}")
    } else {
        format!("{:.1}%", v * 100.0)
    }
}

async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let rows = store
        .alerts(args.status.map(StatusArg::as_str), args.limit.max(1))
        .await;
    store.close().await;
    let rows = rows?;
    if args.json {
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!(
            "no alerts{}",
            args.status
                .map(|s| format!(" with status {}", s.as_str()))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<6} {:<10} {:<8} {:<22} {:<16} {:<23} {:>10} {:>10}",
        "id", "status", "level", "rule", "group", "buckets", "observed", "expected"
    );
    for a in &rows {
        println!(
            "{:<6} {:<10} {:<8} {:<22} {:<16} {:<23} {:>10} {:>10}",
            a.id,
            a.status,
            a.level,
            a.rule,
            a.grp.as_deref().unwrap_or("all"),
            if a.first_bucket == a.last_bucket {
                a.first_bucket.clone()
            } else {
                format!("{}…{}", a.first_bucket, a.last_bucket)
            },
            fmt_value(&a.metric, a.observed),
            a.expected
                .map(|e| fmt_value(&a.metric, e))
                .unwrap_or_else(|| "-".into())
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(ctx: &Context, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let found = async {
        let alert = store.alert(args.id).await?;
        let reviews = store.alert_reviews(args.id).await?;
        anyhow::Ok((alert, reviews))
    }
    .await;
    store.close().await;
    let (alert, reviews) = found?;
    let Some(alert) = alert else {
        bail!("no alert {} (see `mindpulse alerts list`)", args.id);
    };
    let evidence: serde_json::Value =
        serde_json::from_str(&alert.evidence).context("the stored evidence is not JSON")?;
    let params: serde_json::Value =
        serde_json::from_str(&alert.params).context("the stored parameters are not JSON")?;
    if args.json {
        let mut v = serde_json::to_value(&alert)?;
        v["params"] = params;
        v["evidence"] = evidence;
        v["reviews"] = serde_json::to_value(&reviews)?;
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "alert #{} — {} ({}), status {}\nrule {}: {} {}, by {} in {}\nbuckets {} … {}, peak {}: observed {} expected {} score {} p {}",
        alert.id,
        alert.level,
        alert.detector,
        alert.status,
        alert.rule,
        alert.metric,
        alert
            .grp
            .as_deref()
            .map(|g| format!("{} = {g}", alert.group_by.as_deref().unwrap_or("group")))
            .unwrap_or_else(|| "(all posts)".into()),
        alert.bucket_by,
        alert.zone,
        alert.first_bucket,
        alert.last_bucket,
        alert.peak_bucket,
        fmt_value(&alert.metric, alert.observed),
        alert.expected.map(|e| fmt_value(&alert.metric, e)).unwrap_or_else(|| "-".into()),
        alert.score.map(|s| format!("{s:.3}")).unwrap_or_else(|| "-".into()),
        alert.p_value.map(|p| format!("{p:.2e}")).unwrap_or_else(|| "-".into()),
    );
    println!("detector parameters: {params}");
    if let Some(window) = evidence["window"].as_array() {
        println!("series (bucket, posts, value, expected, level):");
        for w in window {
            let v = |k: &str| {
                w[k].as_f64()
                    .map(|x| fmt_value(&alert.metric, x))
                    .unwrap_or_else(|| "-".into())
            };
            println!(
                "  {}  {:>7}  {:>8}  {:>8}  {}",
                w["bucket"].as_str().unwrap_or(""),
                w["posts"]
                    .as_u64()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "<small>".into()),
                v("value"),
                v("expected"),
                w["level"].as_str().unwrap_or("")
            );
        }
    }
    if let Some(topics) = evidence["topics"].as_array().filter(|t| !t.is_empty()) {
        println!("topics that grew most:");
        for t in topics {
            println!(
                "  {}  {} posts in the episode, {:.1} per bucket before",
                t["topic"].as_str().unwrap_or(""),
                t["posts_in_episode"],
                t["per_bucket_before"].as_f64().unwrap_or(0.0)
            );
        }
    }
    if let Some(examples) = evidence["examples"].as_array().filter(|e| !e.is_empty()) {
        println!("example posts (pseudonymous, redacted):");
        for e in examples {
            let text: String = e["text"].as_str().unwrap_or("").chars().take(140).collect();
            println!(
                "  [{} {}] {}: {}",
                e["platform"].as_str().unwrap_or(""),
                e["platform_id"].as_str().unwrap_or(""),
                e["author"].as_str().unwrap_or("-"),
                text.replace('\n', " ")
            );
        }
    }
    if reviews.is_empty() {
        println!("no reviews yet");
    } else {
        println!("history:");
        for r in &reviews {
            println!(
                "  {}  {}  {}{}",
                r.at.format("%Y-%m-%d %H:%M:%SZ"),
                r.reviewer,
                r.status,
                r.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn review(ctx: &Context, args: ReviewArgs) -> anyhow::Result<ExitCode> {
    if args.status == StatusArg::New {
        bail!("--status new: a review sets ack, dismissed or escalated");
    }
    let store = ctx.existing_store().await?;
    let result = store
        .review_alert(
            args.id,
            args.status.as_str(),
            args.note.as_deref(),
            &args.reviewer,
        )
        .await;
    store.close().await;
    let r = result?;
    println!(
        "alert #{}: {} by {} at {}",
        r.alert_id,
        r.status,
        r.reviewer,
        r.at.format("%Y-%m-%d %H:%M:%SZ")
    );
    Ok(ExitCode::SUCCESS)
}

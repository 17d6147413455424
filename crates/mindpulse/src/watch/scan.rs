//! `mindpulse alerts scan`: every rule's series (read from the rollups when they cover it),
//! its detector, its episodes; each episode in the scanned window stored once with its
//! evidence (detector and parameters, the series around it, observed against expected, the
//! topics that grew most, example posts) and queued for the webhooks when it is new or
//! reaches a higher level.
//!
//! Each series is read with 70 buckets of history before `--since`, so the detectors' full
//! baselines (28 buckets and a guard band at most) lie inside the data read: a rescan of the
//! same data finds the same episodes with the same figures and stores nothing new.

use super::buckets::{detect, group_series, GroupSeries, Step};
use crate::series::{read_series, GroupBy, Read, POPULATION};
use crate::zone::Zone;
use anyhow::Context as _;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use mindpulse_analyze::{Bucket, Method, TrendRow};
use mindpulse_detect::{Level, Point, Rule};
use mindpulse_store::{AlertChange, NewAlert, PostFilter, RegionIs, Store};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Buckets of history read before the window.
const HISTORY: i64 = 70;
/// Buckets of the series shown before an episode in its evidence.
const EVIDENCE_BEFORE: usize = 28;

/// What a scan looks at.
pub struct ScanSpec<'a> {
    pub rules: &'a [Rule],
    pub zone: Zone,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Cells with fewer posts are never shown (and never alert).
    pub min_cell: u64,
    pub method: Method,
    /// Example posts per alert.
    pub examples: i64,
}

impl<'a> ScanSpec<'a> {
    /// A scan of `rules` with the configuration's cell size, correction and examples.
    pub fn new(
        config: &crate::config::Config,
        rules: &'a [Rule],
        zone: Zone,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> ScanSpec<'a> {
        ScanSpec {
            rules,
            zone,
            since,
            until,
            min_cell: crate::series::configured_min_cell(config),
            method: crate::series::configured_method(config),
            examples: i64::from(config.alerts.examples.unwrap_or(5)),
        }
    }
}

/// The configured rules, else the defaults.
pub fn configured_rules(config: &crate::config::Config) -> Vec<Rule> {
    if config.alerts.rules.is_empty() {
        default_rules()
    } else {
        config.alerts.rules.clone()
    }
}

/// One alert a scan found (stored now or before).
#[derive(Debug, Clone, Serialize)]
pub struct FoundAlert {
    pub id: i64,
    pub rule: String,
    pub metric: String,
    pub group_by: Option<String>,
    pub group: Option<String>,
    /// The peak bucket.
    pub bucket: String,
    pub first_bucket: String,
    pub last_bucket: String,
    pub level: String,
    pub observed: f64,
    pub expected: Option<f64>,
    pub score: Option<f64>,
    pub p_value: Option<f64>,
    pub detector: String,
    /// `new`, `escalated`, `updated` or `unchanged`.
    pub change: AlertChange,
}

/// A rule that could not run (no scores on its dimension yet, …).
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub rule: String,
    pub reason: String,
}

fn group_of(name: Option<&str>) -> Option<GroupBy> {
    match name? {
        "topic" => Some(GroupBy::Topic),
        "region" => Some(GroupBy::Region),
        "platform" => Some(GroupBy::Platform),
        "lang" => Some(GroupBy::Lang),
        _ => None,
    }
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Alert => "alert",
        Level::Warning => "warning",
        Level::None => "none",
    }
}

/// The UTC interval of a bucket.
fn bucket_span(zone: &Zone, day: NaiveDate, step: Step) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        zone.day_start(day),
        zone.day_start(day + Duration::days(step.days())),
    )
}

/// Runs the rules; returns the alerts found in the window and the rules skipped.
pub async fn scan(
    store: &Store,
    spec: &ScanSpec<'_>,
) -> anyhow::Result<(Vec<FoundAlert>, Vec<Skipped>)> {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for rule in spec.rules {
        match scan_rule(store, spec, rule, &mut found).await {
            Ok(()) => {}
            Err(e) => {
                let reason = format!("{e:#}");
                if reason.contains("no scores on dimension") {
                    skipped.push(Skipped {
                        rule: rule.name.clone(),
                        reason,
                    });
                } else {
                    return Err(e.context(format!("rule {:?}", rule.name)));
                }
            }
        }
    }
    Ok((found, skipped))
}

async fn scan_rule(
    store: &Store,
    spec: &ScanSpec<'_>,
    rule: &Rule,
    found: &mut Vec<FoundAlert>,
) -> anyhow::Result<()> {
    let step = if rule.by() == "week" {
        Step::Week
    } else {
        Step::Day
    };
    let bucket = match step {
        Step::Day => Bucket::Day,
        Step::Week => Bucket::Week,
    };
    let volume = rule.metric == "volume";
    let group = group_of(rule.group_by.as_deref());
    let detector = rule
        .detector()
        .with_context(|| format!("rule {:?}", rule.name))?;
    let filter = PostFilter {
        since: spec
            .since
            .map(|s| s - Duration::days(HISTORY * step.days())),
        until: spec.until,
        platform: rule.platform.clone(),
        no_duplicates: true,
        ..PostFilter::default()
    };
    let tz = spec.zone.tz;
    let (series, rates, source) = read_series(
        store,
        &rule.metric,
        group,
        &filter,
        bucket,
        tz,
        Read::Rollups,
    )
    .await?;
    let rows = if volume {
        series.volume(1)
    } else {
        series.prevalence(&|l| rates.get(l), spec.method, 1)
    };
    let scorer = if volume {
        None
    } else {
        store
            .scorer_of_dimension(&rule.metric, None)
            .await?
            .map(|s| s.scorer_id)
    };
    let min_count = rule.min_count().max(spec.min_cell);
    let mut topic_rows: Option<Vec<TrendRow>> = None;
    for s in group_series(&rows, volume, step) {
        let (points, episodes) = detect(detector.as_ref(), &s, step, min_count);
        for e in episodes {
            let (first_start, _) = bucket_span(&spec.zone, s.buckets[e.start], step);
            let (_, last_end) = bucket_span(&spec.zone, s.buckets[e.end], step);
            if spec.since.is_some_and(|since| last_end <= since)
                || spec.until.is_some_and(|until| first_start >= until)
            {
                continue;
            }
            if topic_rows.is_none() && group != Some(GroupBy::Topic) {
                let (topics, _, _) = read_series(
                    store,
                    "volume",
                    Some(GroupBy::Topic),
                    &filter,
                    bucket,
                    tz,
                    Read::Rollups,
                )
                .await?;
                topic_rows = Some(topics.volume(1));
            }
            let peak = &points[e.peak];
            let unit_back = |v: f64| if volume { v } else { v / 100.0 };
            let examples = examples(store, spec, rule, &s, e.peak, step, scorer).await?;
            let evidence = json!({
                "rule": rule.name,
                "metric": rule.metric,
                "unit": if volume { "posts per bucket" } else { "corrected prevalence (share of posts)" },
                "group_by": rule.group_by,
                "group": s.group,
                "by": rule.by(),
                "zone": spec.zone.name(),
                "detector": {"name": detector.name(), "params": detector.params()},
                "min_count": min_count,
                "source": source,
                "peak": {
                    "bucket": s.buckets[e.peak].to_string(),
                    "posts": s.n[e.peak],
                    "observed": unit_back(peak.observed),
                    "expected": finite(peak.expected).map(unit_back),
                    "score": finite(peak.score),
                    "p_value": finite(peak.p_value),
                },
                "window": window(&s, &points, e.start, e.end, spec.min_cell, volume),
                "topics": topic_rows.as_deref().map(|t| grown_topics(t, &s.buckets, e.start, e.end)),
                "examples": examples,
            });
            let group_text = s.group.clone();
            let first_bucket = s.buckets[e.start].to_string();
            let key = blake3::hash(
                [
                    rule.name.as_str(),
                    &rule.metric,
                    rule.group_by.as_deref().unwrap_or(""),
                    group_text.as_deref().unwrap_or(""),
                    &first_bucket,
                ]
                .join("\u{1f}")
                .as_bytes(),
            )
            .to_hex()
            .to_string();
            let alert = NewAlert {
                key_hash: key,
                rule: rule.name.clone(),
                metric: rule.metric.clone(),
                group_by: rule.group_by.clone(),
                grp: group_text.clone(),
                bucket_by: rule.by().to_string(),
                zone: spec.zone.name().to_string(),
                first_bucket: first_bucket.clone(),
                last_bucket: s.buckets[e.end].to_string(),
                peak_bucket: s.buckets[e.peak].to_string(),
                level: level_name(e.level).to_string(),
                detector: detector.name().to_string(),
                params: detector.params().to_string(),
                observed: unit_back(peak.observed),
                expected: finite(peak.expected).map(unit_back),
                score: finite(peak.score),
                p_value: finite(peak.p_value),
                evidence: evidence.to_string(),
            };
            let (id, change) = store.upsert_alert(&alert).await?;
            found.push(FoundAlert {
                id,
                rule: alert.rule,
                metric: alert.metric,
                group_by: alert.group_by,
                group: alert.grp,
                bucket: alert.peak_bucket,
                first_bucket: alert.first_bucket,
                last_bucket: alert.last_bucket,
                level: alert.level,
                observed: alert.observed,
                expected: alert.expected,
                score: alert.score,
                p_value: alert.p_value,
                detector: alert.detector,
                change,
            });
        }
    }
    Ok(())
}

/// The series around an episode: up to 28 buckets before it and the episode itself; small
/// cells shown without numbers.
fn window(
    s: &GroupSeries,
    points: &[Point],
    start: usize,
    end: usize,
    min_cell: u64,
    volume: bool,
) -> serde_json::Value {
    let from = start.saturating_sub(EVIDENCE_BEFORE);
    let unit_back = |v: f64| if volume { v } else { v / 100.0 };
    (from..=end)
        .map(|i| {
            let shown = s.n[i] >= min_cell;
            let p = &points[i];
            json!({
                "bucket": s.buckets[i].to_string(),
                "posts": shown.then_some(s.n[i]),
                "value": if shown { finite(Some(p.observed)).map(unit_back) } else { None },
                "expected": finite(p.expected).map(unit_back),
                "score": finite(p.score),
                "p_value": finite(p.p_value),
                "level": level_name(p.level),
                "suppressed": !shown,
            })
        })
        .collect()
}

/// The topics whose posts per bucket grew most in the episode against the 28 buckets
/// before it (among all posts of the rule's platform), at most 5, each with at least 3
/// posts in the episode.
fn grown_topics(
    rows: &[TrendRow],
    buckets: &[NaiveDate],
    start: usize,
    end: usize,
) -> serde_json::Value {
    let day = |i: usize| buckets[i].to_string();
    let base_from = day(start.saturating_sub(EVIDENCE_BEFORE));
    let (ep_from, ep_to) = (day(start), day(end));
    let base_len = start - start.saturating_sub(EVIDENCE_BEFORE);
    let ep_len = end - start + 1;
    let mut by_topic: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in rows {
        let Some(topic) = r.group.as_deref() else {
            continue;
        };
        if topic == "(no topic)" {
            continue;
        }
        let n = r.n.unwrap_or(0);
        let e = by_topic.entry(topic).or_default();
        if r.bucket >= ep_from && r.bucket <= ep_to {
            e.0 += n;
        } else if r.bucket >= base_from && r.bucket < ep_from {
            e.1 += n;
        }
    }
    let mut grown: Vec<(f64, &str, u64, f64)> = by_topic
        .into_iter()
        .filter(|(_, (ep, _))| *ep >= 3)
        .map(|(t, (ep, base))| {
            let ep_rate = ep as f64 / ep_len as f64;
            let base_rate = if base_len > 0 {
                base as f64 / base_len as f64
            } else {
                0.0
            };
            (ep_rate - base_rate, t, ep, base_rate)
        })
        .filter(|g| g.0 > 0.0)
        .collect();
    grown.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    grown
        .into_iter()
        .take(5)
        .map(|(growth, topic, ep, base_rate)| {
            json!({
                "topic": topic,
                "posts_in_episode": ep,
                "per_bucket_before": base_rate,
                "growth_per_bucket": growth,
            })
        })
        .collect()
}

/// Example posts of the peak bucket and the series' group.
async fn examples(
    store: &Store,
    spec: &ScanSpec<'_>,
    rule: &Rule,
    s: &GroupSeries,
    peak: usize,
    step: Step,
    scorer: Option<i64>,
) -> anyhow::Result<Vec<mindpulse_store::ExamplePost>> {
    if spec.examples <= 0 {
        return Ok(Vec::new());
    }
    let (since, until) = bucket_span(&spec.zone, s.buckets[peak], step);
    let mut filter = PostFilter {
        since: Some(since),
        until: Some(until),
        platform: rule.platform.clone(),
        no_duplicates: true,
        ..PostFilter::default()
    };
    let mut region = RegionIs::Any;
    let group = s.group.as_deref();
    match (group_of(rule.group_by.as_deref()), group) {
        (Some(GroupBy::Platform), Some(g)) => filter.platform = Some(g.to_string()),
        (Some(GroupBy::Lang), Some(g)) if g != "und" => filter.lang = Some(g.to_string()),
        (Some(GroupBy::Topic), Some(g)) if g != "(no topic)" => filter.topic = Some(g.to_string()),
        (Some(GroupBy::Region), Some(g)) => {
            region = RegionIs::Exactly((g != "(unknown)").then_some(g));
        }
        _ => {}
    }
    let score = scorer.map(|id| (id, rule.metric.as_str()));
    Ok(store
        .example_posts(&filter, region, score, spec.examples)
        .await?)
}

/// The default rules: volume and each population dimension, EWMA by day.
pub fn default_rules() -> Vec<Rule> {
    mindpulse_detect::default_rules(POPULATION)
}

#[cfg(test)]
mod tests {
    //! A scan on a corrected prevalence, in process: 60 days of scored posts whose flagged
    //! share quadruples for three days.
    use super::*;
    use chrono::TimeZone;
    use mindpulse_core::{Score, ScorerInfo};
    use mindpulse_store::{NewRun, OnConflict, RunCounts, RunKind, RunStatus, TopicCache};

    #[tokio::test]
    async fn a_surge_in_a_corrected_prevalence_is_one_alert_with_flagged_examples() {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", tmp.path().join("s.db").display());
        let store = Store::open(&url).await.unwrap();
        let start = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap();
        let per_day = 50;
        let mut posts = mindpulse_store::testing::sample_posts(60 * per_day);
        for (i, p) in posts.iter_mut().enumerate() {
            let day = (i / per_day) as i64;
            p.post.platform_id = format!("s{i}");
            p.post.content_hash = format!("{i:032x}");
            p.post.lang = Some("en".into());
            p.post.topics = Vec::new();
            p.post.created_at =
                Some(start + Duration::days(day) + Duration::minutes((i % per_day) as i64 * 20));
        }
        store
            .insert_posts(
                &posts,
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap();
        let rates = serde_json::json!({
            "n_pos": 200, "tp": 180, "n_neg": 2000, "fp": 40,
            "mean_p_pos": 0.8, "var_p_pos": 0.02, "mean_p_neg": 0.1, "var_p_neg": 0.01,
            "recall_validated": true
        });
        let info = ScorerInfo {
            model_id: "heads".into(),
            model_sha256: None,
            version: "t".into(),
            params: serde_json::json!({"screens": {"depression": {"en": {"rates": rates}}}}),
        };
        let scorer = store.ensure_scorer(&info).await.unwrap();
        let run = store
            .start_run(&NewRun {
                kind: Some(RunKind::Score),
                model_id: Some("heads".into()),
                version: Some("t".into()),
                params: info.params.clone(),
                scorer_id: Some(scorer),
                ..NewRun::default()
            })
            .await
            .unwrap();
        let stored = store
            .series_page(None, &PostFilter::default(), 0, 100_000)
            .await
            .unwrap();
        let scores: Vec<Score> = stored
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let day = i / per_day;
                let k = i % per_day;
                // 10 % flagged (a little more on some weekdays); 40 % on days 50–52.
                let flagged_per_day = if (50..53).contains(&day) {
                    20
                } else {
                    5 + day % 3
                };
                let flag = k < flagged_per_day;
                let p = if flag {
                    0.6 + (k % 4) as f64 * 0.1
                } else {
                    0.1
                };
                Score {
                    post_id: r.id,
                    dimension: "depression".into(),
                    value: p,
                    scale: "prob:yes".into(),
                    label: Some(if flag { "yes" } else { "no" }.into()),
                    rationale: None,
                    meta: None,
                }
            })
            .collect();
        store.insert_scores(scorer, run, &scores).await.unwrap();
        store
            .finish_run(run, RunStatus::Done, RunCounts::default(), None)
            .await
            .unwrap();

        let rules = vec![Rule {
            name: "depression-ewma".into(),
            metric: "depression".into(),
            group_by: None,
            by: None,
            detector: "ewma".into(),
            params: None,
            platform: None,
            min_count: Some(20),
        }];
        let config = crate::config::Config::default();
        let spec = ScanSpec::new(&config, &rules, Zone { tz: chrono_tz::UTC }, None, None);
        let (found, skipped) = scan(&store, &spec).await.unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        let alerts: Vec<_> = found.iter().filter(|a| a.level == "alert").collect();
        assert_eq!(alerts.len(), 1, "{found:#?}");
        let a = alerts[0];
        assert!(
            ("2025-10-21"..="2025-10-23").contains(&a.bucket.as_str()),
            "{a:?}"
        );
        // The observed corrected share ((0.4 − 0.02) / 0.88 ≈ 0.43) against a baseline near 0.1.
        assert!(a.observed > 0.35 && a.observed < 0.5, "{a:?}");
        assert!(a.expected.unwrap() < 0.15, "{a:?}");
        let row = store.alert(a.id).await.unwrap().unwrap();
        let evidence: serde_json::Value = serde_json::from_str(&row.evidence).unwrap();
        let examples = evidence["examples"].as_array().unwrap();
        assert_eq!(examples.len(), 5);
        let ps: Vec<f64> = examples.iter().map(|e| e["p"].as_f64().unwrap()).collect();
        assert!(ps.windows(2).all(|w| w[0] >= w[1]), "highest first: {ps:?}");
        assert!(ps.iter().all(|p| *p >= 0.6), "flagged posts only: {ps:?}");
        assert_eq!(evidence["peak"]["posts"], per_day as u64);
        // Rescanning stores nothing new.
        let (again, _) = scan(&store, &spec).await.unwrap();
        assert!(again.iter().all(|a| a.change == AlertChange::Unchanged));
        store.close().await;
    }
}

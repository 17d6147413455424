//! Reading stored posts into trend series, shared by `trends` and `quickstart`: the posts
//! of a metric (`volume` or a population dimension) with their bucket and group, and the
//! screen's validation rates recorded with the scoring run.

use anyhow::{bail, Context as _};
use chrono::TimeZone as _;
use chrono_tz::Tz;
use clap::ValueEnum;
use mindpulse_analyze::{Bucket, Obs, Rates, Series, Tally};
use mindpulse_store::{PostFilter, Store};
use std::collections::BTreeMap;

/// A bucket length as the commands take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum By {
    Hour,
    Day,
    Week,
}

impl By {
    pub fn bucket(self) -> Bucket {
        match self {
            By::Hour => Bucket::Hour,
            By::Day => Bucket::Day,
            By::Week => Bucket::Week,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            By::Hour => "hour",
            By::Day => "day",
            By::Week => "week",
        }
    }
}

/// The prevalence correction as the commands take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Adjusted classify-and-count (flags corrected with recall and false-flag rate).
    Acc,
    /// Probabilistic ACC (mean calibrated probabilities corrected the same way).
    Pacc,
}

impl MethodArg {
    pub fn method(self) -> mindpulse_analyze::Method {
        match self {
            MethodArg::Acc => mindpulse_analyze::Method::Acc,
            MethodArg::Pacc => mindpulse_analyze::Method::Pacc,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupBy {
    Topic,
    Region,
    Platform,
    Lang,
}

/// Posts read per page.
pub const PAGE: i64 = 20_000;

/// The dimensions a screen measures in any post.
pub const POPULATION: &[&str] = &["depression", "suicide_risk", "stress", "substance_use"];

pub type Built = (Series, BTreeMap<String, Rates>, Option<String>);

/// Where a series is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The rollups when they are built and cover the query, else the posts.
    Rollups,
    /// Every post (`--scan`).
    Scan,
}

/// Reads the posts of `metric` (`volume` or a dimension) into a series, with the screen's
/// validation rates by language and a line saying where the scores come from.
pub async fn read_series(
    store: &Store,
    metric: &str,
    group: Option<GroupBy>,
    filter: &PostFilter,
    bucket: Bucket,
    tz: Tz,
    read: Read,
) -> anyhow::Result<Built> {
    let (score, rates, source) = match scores_of(store, metric).await? {
        Some(d) => (Some(d.scorer_id), d.rates, Some(d.source)),
        None => (None, BTreeMap::new(), None),
    };
    if read == Read::Rollups {
        if let Some(series) =
            from_rollups(store, score.map(|s| (s, metric)), group, filter, bucket, tz).await?
        {
            return Ok((series, rates, source));
        }
    }
    let mut series = Series::new();
    let mut after = 0i64;
    loop {
        let page = store
            .series_page(score.map(|s| (s, metric)), filter, after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let topics = if group == Some(GroupBy::Topic) {
            let ids: Vec<i64> = page.iter().map(|r| r.id).collect();
            store.topics_of_posts(&ids).await?
        } else {
            Default::default()
        };
        for r in &page {
            let lang = r.lang.as_deref().unwrap_or("und");
            let obs = Obs {
                at: r.created_at,
                lang,
                flagged: r.label.as_deref() == Some("yes"),
                p: r.value.unwrap_or(0.0),
            };
            let key = bucket.of(r.created_at, tz);
            match group {
                None => series.add(&key, None, &obs),
                Some(GroupBy::Platform) => series.add(&key, Some(&r.platform), &obs),
                Some(GroupBy::Region) => {
                    series.add(&key, Some(r.region.as_deref().unwrap_or("(unknown)")), &obs)
                }
                Some(GroupBy::Lang) => series.add(&key, Some(lang), &obs),
                Some(GroupBy::Topic) => match topics.get(&r.id) {
                    Some(ts) if !ts.is_empty() => {
                        for t in ts {
                            series.add(&key, Some(t), &obs);
                        }
                    }
                    _ => series.add(&key, Some("(no topic)"), &obs),
                },
            }
        }
    }
    Ok((series, rates, source))
}

/// The series from the rollups, or None when they cannot answer the query exactly: not
/// built, a filter they do not carry (language, kind, topic), a bound inside an hour, or a
/// bucket that splits a UTC hour (a time zone whose offset is not a whole number of hours).
async fn from_rollups(
    store: &Store,
    score: Option<(i64, &str)>,
    group: Option<GroupBy>,
    filter: &PostFilter,
    bucket: Bucket,
    tz: Tz,
) -> anyhow::Result<Option<Series>> {
    use chrono::Offset as _;
    use mindpulse_store::{
        slot_of, slot_start, Fold, FoldBy, RollupGroup, RollupQuery, SLOT_SECONDS,
    };
    let on_hour = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.is_none_or(|t| t.timestamp().rem_euclid(SLOT_SECONDS) == 0)
    };
    if filter.lang.is_some()
        || filter.kind.is_some()
        || filter.region.is_some()
        || filter.topic.is_some()
        || filter.discovered.is_some()
        || !on_hour(filter.since)
        || !on_hour(filter.until)
        || !store.rollups_built().await?
    {
        return Ok(None);
    }
    // A zone with one whole-hour offset over the window: the database sums the hours into
    // days or weeks (far fewer rows); otherwise hours are read and bucketed here.
    let fold = match bucket {
        Bucket::Hour => None,
        Bucket::Day | Bucket::Week | Bucket::All => {
            let span = store.rollup_span().await?;
            let lo = filter.since.map(slot_of).or(span.map(|s| s.0));
            let hi = filter.until.map(slot_of).or(span.map(|s| s.1 + 1));
            fixed_offset_hours(tz, lo, hi).map(|offset_hours| Fold {
                offset_hours,
                per: match bucket {
                    Bucket::Day => FoldBy::Day,
                    Bucket::Week => FoldBy::Week,
                    _ => FoldBy::All,
                },
            })
        }
    };
    let query = RollupQuery {
        score,
        group: match group {
            None => RollupGroup::None,
            Some(GroupBy::Platform) => RollupGroup::Platform,
            Some(GroupBy::Lang) => RollupGroup::Lang,
            Some(GroupBy::Region) => RollupGroup::Region,
            Some(GroupBy::Topic) => RollupGroup::Topic,
        },
        since_slot: filter.since.map(slot_of),
        until_slot: filter.until.map(slot_of),
        platform: filter.platform.as_deref(),
        no_duplicates: filter.no_duplicates,
        fold,
    };
    let cells = store.rollup_cells(&query).await?;
    let mut series = Series::new();
    let mut last_slot = None;
    let mut key = String::new();
    for c in &cells {
        if last_slot != Some(c.slot) {
            let Some(start) = slot_start(c.slot) else {
                return Ok(None);
            };
            let end = start + chrono::Duration::seconds(SLOT_SECONDS - 1);
            let offset = |t: chrono::DateTime<chrono::Utc>| {
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc()
            };
            if offset(start) != offset(end) || i64::from(offset(start)) % SLOT_SECONDS != 0 {
                return Ok(None);
            }
            key = bucket.of(start, tz);
            last_slot = Some(c.slot);
        }
        let lang = c.lang.as_deref().unwrap_or("und");
        let tally = Tally {
            n: c.n.max(0) as u64,
            flagged: c.flagged.max(0) as u64,
            sum_p: c.sum_p,
            sum_p2: c.sum_p2,
        };
        let grp = match group {
            None => None,
            Some(GroupBy::Platform) => c.platform.as_deref(),
            Some(GroupBy::Lang) => Some(lang),
            Some(GroupBy::Region) => Some(c.grp.as_deref().unwrap_or("(unknown)")),
            Some(GroupBy::Topic) => Some(c.grp.as_deref().unwrap_or("(no topic)")),
        };
        series.add_tally(&key, grp, lang, &tally);
    }
    Ok(Some(series))
}

/// The zone's offset in whole hours when it is the same at every hour from slot `lo` to
/// `hi` (checked at every day boundary and at both ends; zones change offset at most twice
/// a year), else None.
fn fixed_offset_hours(tz: Tz, lo: Option<i64>, hi: Option<i64>) -> Option<i64> {
    use chrono::Offset as _;
    let (lo, hi) = (lo?, hi?);
    let offset = |slot: i64| {
        mindpulse_store::slot_start(slot).map(|t| {
            i64::from(
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        })
    };
    let first = offset(lo)?;
    if first % 3600 != 0 {
        return None;
    }
    let mut slot = lo;
    while slot < hi {
        if offset(slot)? != first {
            return None;
        }
        slot += 24;
    }
    (offset(hi)? == first).then_some(first / 3600)
}

/// Where a dimension's scores come from: the scorer of its latest scoring run, the
/// screen's validation rates by language recorded with that run, and a line saying so.
pub struct DimensionScores {
    pub scorer_id: i64,
    pub rates: BTreeMap<String, Rates>,
    pub source: String,
}

/// The scores of `metric` (None for `volume`); an error naming what to do when the
/// database has none.
pub async fn scores_of(store: &Store, metric: &str) -> anyhow::Result<Option<DimensionScores>> {
    if metric == "volume" {
        return Ok(None);
    }
    let mut rates = BTreeMap::new();
    let Some(scorer) = store.scorer_of_dimension(metric, None).await? else {
        let hint = if POPULATION.contains(&metric) {
            "run `mindpulse score` first".to_string()
        } else {
            format!(
                "the population dimensions are {} (or `volume`)",
                POPULATION.join(", ")
            )
        };
        bail!(
            "no scores on dimension {:?} in this database: {hint}",
            metric
        );
    };
    let params: serde_json::Value = scorer
        .params
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("the scoring run's parameters are not JSON")?
        .unwrap_or_default();
    if let Some(langs) = params["screens"][metric].as_object() {
        for (lang, v) in langs {
            let r: Rates = serde_json::from_value(v["rates"].clone())
                .with_context(|| format!("the screen rates of {}/{lang}", metric))?;
            rates.insert(lang.clone(), r);
        }
    }
    if rates.is_empty() {
        tracing::warn!(
            "the scores of {} come from {} {}, which records no screen rates: the shares are not corrected (re-score with the current heads)",
            metric, scorer.model_id, scorer.version
        );
    }
    let source = format!(
        "scores of {} {} (scorer {}), validation rates for {}",
        scorer.model_id,
        scorer.version,
        scorer.scorer_id,
        if rates.is_empty() {
            "no language".to_string()
        } else {
            rates.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    );
    Ok(Some(DimensionScores {
        scorer_id: scorer.scorer_id,
        rates,
        source,
    }))
}

/// The population dimensions this database has scores for, in [`POPULATION`] order.
pub async fn scored_dimensions(store: &Store) -> anyhow::Result<Vec<&'static str>> {
    let mut scored = Vec::new();
    for d in POPULATION {
        if store.scorer_of_dimension(d, None).await?.is_some() {
            scored.push(*d);
        }
    }
    Ok(scored)
}

/// `--min-cell` when given (at least 1), else `[trends] min_cell`.
pub fn min_cell_or_configured(arg: Option<u64>, config: &crate::config::Config) -> u64 {
    arg.map(|m| m.max(1))
        .unwrap_or_else(|| configured_min_cell(config))
}

/// `--method` when given, else `[trends] method`.
pub fn method_or_configured(
    arg: Option<MethodArg>,
    config: &crate::config::Config,
) -> mindpulse_analyze::Method {
    arg.map(MethodArg::method)
        .unwrap_or_else(|| configured_method(config))
}

/// `[trends] min_cell` (cells with fewer posts are suppressed), default 10.
pub fn configured_min_cell(config: &crate::config::Config) -> u64 {
    config.trends.min_cell.unwrap_or(10).max(1)
}

/// `[trends] method` (checked when the file was loaded), default ACC.
pub fn configured_method(config: &crate::config::Config) -> mindpulse_analyze::Method {
    match config.trends.method.as_deref() {
        Some("pacc") => mindpulse_analyze::Method::Pacc,
        _ => mindpulse_analyze::Method::Acc,
    }
}

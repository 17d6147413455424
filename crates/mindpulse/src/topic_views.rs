//! A discovered topic as `topics list --json` prints it and the web interface's topics API
//! returns it: number, size, share of the build's posts, c-TF-IDF keywords with weights,
//! label, encoder space; and one topic in detail as `topics show --json` prints it and
//! `/api/topics/N` returns it: example posts, its daily volume and the corrected daily
//! prevalence of each scored population dimension (small cells suppressed as in `trends`).

use crate::series::{read_series, scored_dimensions, Read};
use crate::zone::Zone;
use mindpulse_analyze::{Bucket, Method, TrendRow};
use mindpulse_store::{BuiltTopic, DiscoveredTopic, PostFilter, Store, TopicBuild};
use serde::Serialize;
use std::collections::BTreeMap;

/// A topic as `list` shows it.
#[derive(Debug, Serialize)]
pub(crate) struct TopicSummary {
    pub(crate) number: i64,
    pub(crate) size: i64,
    pub(crate) share: f64,
    pub(crate) keywords: Vec<(String, f64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) label: Option<String>,
    pub(crate) encoder: String,
}

pub(crate) fn summary(
    t: &BuiltTopic,
    build: &TopicBuild,
    encoders: &BTreeMap<i64, String>,
) -> TopicSummary {
    TopicSummary {
        number: t.number,
        size: t.size,
        share: t.size as f64 / build.posts.max(1) as f64,
        keywords: serde_json::from_str(&t.keywords).unwrap_or_default(),
        label: t.label.clone(),
        encoder: encoders.get(&t.encoder_id).cloned().unwrap_or_default(),
    }
}

pub(crate) async fn encoder_names(store: &Store) -> anyhow::Result<BTreeMap<i64, String>> {
    Ok(store
        .encoders()
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect())
}

/// An example post of a topic (pseudonymous; texts were redacted at ingest).
#[derive(Debug, Serialize)]
pub(crate) struct Example {
    pub(crate) id: i64,
    pub(crate) text: String,
}

/// One topic over time.
#[derive(Debug, Serialize)]
pub(crate) struct TopicDetail {
    pub(crate) build: i64,
    #[serde(flatten)]
    pub(crate) topic: TopicSummary,
    pub(crate) examples: Vec<Example>,
    /// Posts per day.
    pub(crate) volume: Vec<TrendRow>,
    /// Per population dimension, the corrected prevalence per day.
    pub(crate) prevalence: BTreeMap<String, Vec<TrendRow>>,
    pub(crate) zone: String,
    pub(crate) min_cell: u64,
}

/// `topic` of `build` in detail: up to `examples` example posts, and per day in `zone` its
/// posts and each scored population dimension's corrected prevalence.
pub(crate) async fn detail(
    store: &Store,
    build: &TopicBuild,
    topic: &BuiltTopic,
    zone: &Zone,
    min_cell: u64,
    method: Method,
    examples: usize,
) -> anyhow::Result<TopicDetail> {
    let encoders = encoder_names(store).await?;
    let example_ids: Vec<i64> = serde_json::from_str(&topic.examples).unwrap_or_default();
    let examples: Vec<Example> = store
        .post_texts(&example_ids[..example_ids.len().min(examples)])
        .await?
        .into_iter()
        .map(|p| Example {
            id: p.id,
            text: p.text,
        })
        .collect();
    let filter = PostFilter {
        discovered: Some(DiscoveredTopic {
            build: build.id,
            number: topic.number,
        }),
        ..PostFilter::default()
    };
    let (series, _, _) = read_series(
        store,
        "volume",
        None,
        &filter,
        Bucket::Day,
        zone.tz,
        Read::Scan,
    )
    .await?;
    let volume = series.volume(min_cell);
    let mut prevalence = BTreeMap::new();
    for dim in scored_dimensions(store).await? {
        let (series, rates, _) =
            read_series(store, dim, None, &filter, Bucket::Day, zone.tz, Read::Scan).await?;
        prevalence.insert(
            dim.to_string(),
            series.prevalence(&|l| rates.get(l), method, min_cell),
        );
    }
    Ok(TopicDetail {
        build: build.id,
        topic: summary(topic, build, &encoders),
        examples,
        volume,
        prevalence,
        zone: zone.name().to_string(),
        min_cell,
    })
}

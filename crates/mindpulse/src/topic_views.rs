//! A discovered topic as `topics list --json` prints it and the web interface's topics API
//! returns it: number, size, share of the build's posts, c-TF-IDF keywords with weights,
//! label, encoder space.

use mindpulse_store::{BuiltTopic, Store, TopicBuild};
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

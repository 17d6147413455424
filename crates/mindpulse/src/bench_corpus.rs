//! The labelled corpora the search and ask benchmarks share: a TSV's texts with a label,
//! embedded with the heads' encoder of their language (cached on disk) and indexed for
//! hybrid search, each post numbered from 1 in file order.

use anyhow::Context as _;
use mindpulse_core::quantize_i8;
use mindpulse_heads::embed::{default_cache_dir, Embedder};
use mindpulse_heads::Route;
use mindpulse_search::SearchIndex;
use mindpulse_topics::Words;
use std::collections::BTreeMap;
use std::path::Path;

/// Texts of a TSV with one label column (`label_column`, or a fixed label).
pub fn read(
    path: &Path,
    label_column: Option<&str>,
    fixed: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let header = r.headers()?.clone();
    let text_at = header
        .iter()
        .position(|h| h == "text")
        .with_context(|| format!("{}: no `text` column", path.display()))?;
    let label_at = match label_column {
        Some(c) => Some(
            header
                .iter()
                .position(|h| h == c)
                .with_context(|| format!("{}: no `{c}` column", path.display()))?,
        ),
        None => None,
    };
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        let text = rec.get(text_at).unwrap_or_default().to_string();
        let label = match label_at {
            Some(at) => rec.get(at).unwrap_or_default().to_string(),
            None => fixed.to_string(),
        };
        out.push((text, label));
    }
    Ok(out)
}

/// One language's corpus indexed, with its encoder for the queries.
pub struct Corpus {
    pub index: SearchIndex,
    pub labels: BTreeMap<i64, String>,
    pub texts: Vec<String>,
    pub embedder: Embedder,
}

pub fn corpus(
    posts: &[(String, String)],
    route: Route,
    threads: usize,
    words: &Words,
) -> anyhow::Result<Corpus> {
    let mut embedder = Embedder::load(
        route.encoder(),
        crate::commands::resolve_threads(threads),
        Some(&default_cache_dir()),
    )
    .with_context(|| {
        format!(
            "loading {} (mindpulse models install {})",
            route.encoder(),
            route.encoder()
        )
    })?;
    let texts: Vec<&str> = posts.iter().map(|(t, _)| t.as_str()).collect();
    let features = embedder.embed(&texts, &mut |done, total| {
        eprint!("\rembedding {done}/{total}")
    })?;
    let key = embedder.sha256.clone();
    let mut index = SearchIndex::new();
    let mut labels = BTreeMap::new();
    for (i, (text, label)) in posts.iter().enumerate() {
        let id = i as i64 + 1;
        let (scale, q) = quantize_i8(&mindpulse_heads::scorer::unit(features.row(i)));
        index.add_post(id, &words.words(text), Some((key.as_str(), &q, scale)))?;
        labels.insert(id, label.clone());
    }
    Ok(Corpus {
        index,
        labels,
        texts: posts.iter().map(|(t, _)| t.clone()).collect(),
        embedder,
    })
}

impl Corpus {
    /// The query embedded as the posts were, keyed by the encoder's sha256.
    pub fn query_vector(&self, query: &str) -> anyhow::Result<(String, Vec<f32>)> {
        let emb = self
            .embedder
            .encoder
            .encode(&[format!("{}{query}", self.embedder.prefix)])?;
        Ok((
            self.embedder.sha256.clone(),
            mindpulse_heads::scorer::unit(emb.row(0)),
        ))
    }
}

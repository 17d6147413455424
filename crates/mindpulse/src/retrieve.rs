//! Retrieval shared by `search` and `ask`: the hybrid index of the stored posts
//! (`mindpulse-search`: BM25 over [`mindpulse_topics::Words`] tokens, cosine over the
//! stored int8 embeddings, reciprocal-rank fusion), kept in a file next to the database
//! and brought up to date incrementally before each query:
//!
//! - posts with ids above the index's watermark are added (their words, and their
//!   embedding when one is stored);
//! - when the database's number of embeddings changed since the last sync (posts scored
//!   after they were indexed), the posts whose vector the index lacks are re-added with it;
//! - when the database holds fewer posts than the index (a purge), or the file is missing,
//!   corrupt or from another tokenizer, the index is rebuilt from scratch;
//! - a hit whose post is gone is dropped from the answer.
//!
//! The file is `DB.search` beside an SQLite database, else
//! `$MINDPULSE_CACHE/search/<hash of the URL without its password>.idx`.

use anyhow::Context as _;
use mindpulse_search::SearchIndex;
use mindpulse_store::{PostFilter, SearchPost, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Bumped whenever [`mindpulse_topics::Words`] tokenizes differently.
const TOKENIZER: &str = "words-1";
/// Posts read per page while indexing.
const PAGE: i64 = 5_000;

/// What the index file records about itself (its `meta`).
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
struct Meta {
    tokenizer: String,
    /// The store's embedding count at the last sync: when it changes, posts scored after
    /// they were indexed are looked for (a count of the index's own vectors would never
    /// match when a post has embeddings from two encoders, and every query would scan).
    embeddings_seen: i64,
}

/// Where the index of the database at `db_url` lives.
pub fn index_path(db_url: &str) -> PathBuf {
    if let Some(file) = mindpulse_store::sqlite_file(db_url) {
        let mut name = file
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".search");
        return file.with_file_name(name);
    }
    let redacted = mindpulse_store::redact_url(db_url);
    let hash = blake3::hash(redacted.as_bytes()).to_hex();
    mindpulse_models::cache_dir()
        .join("search")
        .join(format!("{}.idx", &hash[..16]))
}

/// The index, up to date with the store; also how many posts were (re)indexed now.
pub async fn current_index(
    store: &Store,
    path: &Path,
    words: &mindpulse_topics::Words,
) -> anyhow::Result<(SearchIndex, usize)> {
    let mut index = match SearchIndex::load(path) {
        Ok(i) if serde_json::from_str::<Meta>(&i.meta).is_ok_and(|m| m.tokenizer == TOKENIZER) => i,
        Ok(_) => SearchIndex::new(),
        Err(e) if e.needs_rebuild() => {
            tracing::warn!(path = %path.display(), error = %e, "the search index is unusable; rebuilding it");
            SearchIndex::new()
        }
        Err(e) => {
            if path.exists() {
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
            SearchIndex::new()
        }
    };
    let posts = store.count_posts().await?;
    if index.len() as i64 > posts {
        index = SearchIndex::new();
    }
    // Counted before the posts are read: a fresh index gets every embedding stored by then.
    let stored = store.count_embeddings().await?;
    let fresh = index.is_empty();
    let mut meta: Meta = serde_json::from_str(&index.meta).unwrap_or_default();
    meta.tokenizer = TOKENIZER.to_string();
    let encoders: BTreeMap<i64, String> = store
        .encoders()
        .await?
        .into_iter()
        .map(|e| (e.id, e.sha256))
        .collect();
    let mut changed = 0usize;
    // New posts.
    loop {
        let page = store.post_texts_after(index.watermark, PAGE).await?;
        let Some(last) = page.last() else { break };
        let last = last.id;
        let ids: Vec<i64> = page.iter().map(|p| p.id).collect();
        let embeddings = store.embeddings_of(&ids).await?;
        add_page(&mut index, &page, &embeddings, &encoders, words)?;
        changed += page.len();
        index.watermark = last;
    }
    // Posts embedded after they were indexed.
    if !fresh && stored != meta.embeddings_seen {
        let mut after = 0i64;
        loop {
            let page = store
                .embeddings_page(&PostFilter::default(), after, PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.post_id;
            let missing: Vec<i64> = page
                .iter()
                .filter(|e| {
                    index.contains(e.post_id)
                        && !encoders
                            .values()
                            .any(|sha| index.vectors().contains(sha, e.post_id))
                })
                .map(|e| e.post_id)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if missing.is_empty() {
                continue;
            }
            let texts = store.post_texts(&missing).await?;
            let embeddings = store.embeddings_of(&missing).await?;
            add_page(&mut index, &texts, &embeddings, &encoders, words)?;
            changed += texts.len();
        }
    }
    meta.embeddings_seen = stored;
    let meta = serde_json::to_string(&meta)?;
    if changed > 0 || index.meta != meta {
        index.meta = meta;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        index
            .save(path)
            .with_context(|| format!("writing the search index {}", path.display()))?;
    }
    Ok((index, changed))
}

/// Indexes posts with their first stored embedding.
fn add_page(
    index: &mut SearchIndex,
    posts: &[mindpulse_store::PostText],
    embeddings: &[mindpulse_store::StoredEmbedding],
    encoders: &BTreeMap<i64, String>,
    words: &mindpulse_topics::Words,
) -> anyhow::Result<()> {
    let mut first: BTreeMap<i64, &mindpulse_store::StoredEmbedding> = BTreeMap::new();
    for e in embeddings {
        first.entry(e.post_id).or_insert(e);
    }
    for p in posts {
        let terms = words.words(&p.text);
        let values;
        let embedding = match first.get(&p.id) {
            Some(e) => match encoders.get(&e.encoder_id) {
                Some(sha) => {
                    values = e.values();
                    Some((sha.as_str(), values.as_slice(), e.scale as f32))
                }
                None => None,
            },
            None => None,
        };
        index
            .add_post(p.id, &terms, embedding)
            .with_context(|| format!("indexing post {}", p.id))?;
    }
    Ok(())
}

/// One hit with its post.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    #[serde(flatten)]
    pub post: SearchPost,
    /// The fused score (reciprocal-rank fusion of the word and meaning rankings).
    pub score: f64,
    /// Rank among the word (BM25) matches, when it is one.
    pub bm25_rank: Option<usize>,
    /// Rank among the nearest embeddings, when it is one.
    pub vector_rank: Option<usize>,
}

/// A query: its text, how many hits, and which posts may be hits.
pub struct Query<'a> {
    pub text: &'a str,
    pub limit: usize,
    pub filter: &'a PostFilter,
    /// Embed the query with the encoder of its language, when vectors of it are indexed.
    pub vectors: bool,
    pub threads: usize,
}

/// Searches the index for `query`; hits whose post is gone are dropped.
pub async fn search(
    store: &Store,
    index: &SearchIndex,
    words: &mindpulse_topics::Words,
    query: &Query<'_>,
) -> anyhow::Result<Vec<Found>> {
    let terms = words.words(query.text);
    let mut vectors = Vec::new();
    if query.vectors {
        if let Some(v) = query_vector(index, query.text, query.threads).await? {
            vectors.push(v);
        }
    }
    if terms.is_empty() && vectors.is_empty() {
        anyhow::bail!(
            "the query {:?} has no searchable words (only stopwords, numbers or punctuation)",
            query.text
        );
    }
    let allowed: Option<HashSet<i64>> = if query.filter.is_empty() {
        None
    } else {
        Some(store.post_ids(query.filter).await?.into_iter().collect())
    };
    let allow = |id: i64| allowed.as_ref().is_none_or(|a| a.contains(&id));
    let hits = index.search(
        &terms,
        &vectors,
        query.limit.saturating_mul(2).max(20),
        Some(&allow),
    )?;
    let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
    let mut posts: BTreeMap<i64, SearchPost> = store
        .search_posts(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(hits
        .into_iter()
        .filter_map(|h| {
            posts.remove(&h.id).map(|post| Found {
                post,
                score: h.score,
                bm25_rank: h.bm25_rank,
                vector_rank: h.vector_rank,
            })
        })
        .take(query.limit)
        .collect())
}

/// The query embedded by the heads' encoder of its language, keyed by that encoder's
/// sha256, when the index holds vectors of that encoder.
async fn query_vector(
    index: &SearchIndex,
    text: &str,
    threads: usize,
) -> anyhow::Result<Option<(String, Vec<f32>)>> {
    // Short queries often have too few words to detect their language: mostly Latin
    // letters then go to the English encoder, as most such posts are routed.
    let lang = mindpulse_clean::lang::detect_lang(text).or_else(|| {
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let latin = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
        (letters > 0 && latin * 2 > letters).then_some("en")
    });
    let route = mindpulse_heads::Route::for_lang(lang);
    let name = route.encoder();
    let resolved = match mindpulse_models::resolve(name) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(encoder = name, error = %e, "searching by words only");
            return Ok(None);
        }
    };
    if !index
        .vectors()
        .encoders()
        .iter()
        .any(|e| e.0 == resolved.sha256)
    {
        return Ok(None);
    }
    let text = text.to_string();
    let threads = crate::commands::resolve_threads(threads);
    let vector = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<f32>> {
        let e = mindpulse_heads::embed::Embedder::load(name, threads, None)?;
        let emb = e.encoder.encode(&[format!("{}{text}", e.prefix)])?;
        Ok(mindpulse_heads::scorer::unit(emb.row(0)))
    })
    .await
    .context("embedding the query")??;
    Ok(Some((resolved.sha256, vector)))
}

//! mindpulse-search: hybrid search over posts — lexical (BM25) and semantic (sentence
//! embeddings) — fused by reciprocal rank. It computes; it never touches the database
//! (the caller reads posts out, tokenizes and embeds them, feeds them in, and keeps the
//! index in a file of its own between runs).
//!
//! # What goes in
//!
//! A post is an `i64` id (the database's post id), its terms (the caller's tokenizer:
//! jieba for Chinese plus English words, stopwords removed; this crate never splits or
//! normalizes text, so queries must be tokenized the same way) and optionally its
//! sentence embedding quantized to int8: `q: &[i8]` with a `scale` such that the
//! embedding ≈ scale · q, L2-normalized before quantization, tagged with the encoder
//! it came from (a short key such as the encoder's sha256). Vectors from different
//! encoders live in separate stores and are only compared with queries from the same
//! encoder, so switching encoders never mixes incomparable spaces.
//!
//! ```
//! use mindpulse_search::SearchIndex;
//! let t = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
//! let mut ix = SearchIndex::new();
//! ix.add_post(1, &t("失眠 焦虑 exam"), Some(("enc", &[127, 0][..], 1.0 / 127.0)))?;
//! ix.add_post(2, &t("sunny weekend"), Some(("enc", &[0, 127][..], 1.0 / 127.0)))?;
//! ix.add_post(3, &t("焦虑 工作 压力 加班"), None)?;
//! let hits = ix.search(&t("焦虑"), &[("enc".into(), vec![0.9, 0.1])], 10, None)?;
//! assert_eq!(hits[0].id, 1); // first in both lists
//! assert_eq!((hits[0].bm25_rank, hits[0].vector_rank), (Some(1), Some(1)));
//! # Ok::<(), mindpulse_search::SearchError>(())
//! ```
//!
//! # The parts
//!
//! | module | what | reference |
//! |---|---|---|
//! | [`bm25`] | inverted index, Okapi BM25 with k1 = 1.2, b = 0.75 and Lucene's idf | Robertson & Zaragoza 2009 |
//! | [`vectors`] | brute-force cosine over int8 vectors, per encoder, multi-threaded | |
//! | [`fuse`] | reciprocal-rank fusion, k = 60 | Cormack, Clarke & Büttcher 2009 |
//! | [`file`](mod@file) | one checksummed binary file, written atomically | |
//!
//! [`SearchIndex::search`] takes the BM25 top N and, for each query vector, the vector
//! top N, with N = max(5·limit, 50), and fuses them by RRF into `limit` [`Hit`]s, each
//! with its fused score and its rank in each list. Without a query vector the result is
//! the BM25 list alone, scored as a one-list fusion (1/(60 + rank)), so scores mean the
//! same thing whether or not a query was embedded. The caller's filters (date, language,
//! topic) come in as one predicate on the post id, applied to each list *before* its cut
//! to N, so a selective filter never empties the result while matching posts exist.
//!
//! Everything is deterministic: every list is ordered by score descending then id
//! ascending (a total order), sums run in fixed orders, and the multi-threaded vector scan
//! merges per-thread selections under that order, so the same index and query give the
//! same hits, to the bit, on any machine with any thread count.
//!
//! # Scale
//!
//! Sized for a few million posts of ~20 terms on one machine: postings are `(u32, u16)`
//! pairs (8 bytes each), a document costs about 40 bytes plus 6 per distinct term in
//! the forward index that keeps statistics exact under removal, and a 384-dimensional
//! int8 vector 396 bytes. A BM25 query touches only the postings of its terms (plus one
//! `f64` per slot for the accumulator); a vector query scans every row of its encoder
//! (brute force: 10⁶ × 384 multiply-adds, split over the machine's cores). The watermark
//! (highest post id indexed) and `meta` (e.g. the tokenizer version) let the caller index
//! incrementally and decide when a stored index is stale.

pub mod bm25;
mod error;
pub mod file;
pub mod fuse;
mod topk;
pub mod vectors;

pub use bm25::Index;
pub use error::SearchError;
pub use fuse::rrf;
pub use vectors::VectorStore;

use std::collections::HashMap;
use std::path::Path;

/// A filter on post ids (the caller's `--since`/`--lang`/`--topic`): `true` keeps the
/// post. `Sync` because the vector scan calls it from several threads.
pub type Allow<'a> = &'a (dyn Fn(i64) -> bool + Sync);

/// A post's embedding as [`SearchIndex::add_post`] takes it: (encoder key, int8 values,
/// scale).
pub type Embedding<'a> = (&'a str, &'a [i8], f32);

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The post id.
    pub id: i64,
    /// The fused (RRF) score: Σ 1/(60 + rank) over the lists the post is in.
    pub score: f64,
    /// The post's rank (from 1) in the BM25 list, if it is in it.
    pub bm25_rank: Option<usize>,
    /// The post's best rank (from 1) among the vector lists, if it is in one.
    pub vector_rank: Option<usize>,
}

/// The lexical and semantic indexes of a set of posts, with the caller's bookkeeping.
///
/// Every post is in the BM25 index (possibly with no terms); a post has at most one
/// vector. Equality is logical (same posts, terms, vectors, watermark and meta).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchIndex {
    bm25: Index,
    vectors: VectorStore,
    /// The highest post id indexed, as the caller records it (this crate only stores it).
    pub watermark: i64,
    /// Free-form caller metadata, e.g. the tokenizer version (stored, never read).
    pub meta: String,
}

impl SearchIndex {
    /// An empty index with watermark 0 and empty meta.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lexical index.
    pub fn bm25(&self) -> &Index {
        &self.bm25
    }

    /// The vector stores.
    pub fn vectors(&self) -> &VectorStore {
        &self.vectors
    }

    /// Scan vectors on exactly `threads` threads (0: the default); results do not
    /// depend on it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.vectors = self.vectors.with_threads(threads);
        self
    }

    /// Number of posts.
    pub fn len(&self) -> usize {
        self.bm25.len()
    }

    /// Whether no post is indexed.
    pub fn is_empty(&self) -> bool {
        self.bm25.is_empty()
    }

    /// Whether post `id` is indexed.
    pub fn contains(&self, id: i64) -> bool {
        self.bm25.contains(id)
    }

    /// Indexes post `id`, replacing whatever it was indexed as (terms and vector; a post
    /// re-added without a vector loses its old one). On error nothing changes.
    pub fn add_post(
        &mut self,
        id: i64,
        terms: &[String],
        embedding: Option<Embedding<'_>>,
    ) -> Result<(), SearchError> {
        if let Some((encoder, q, scale)) = embedding {
            let had = self.vectors.contains(encoder, id);
            // A replaced vector may be the encoder's last: then any dimension is fine.
            let lone = had
                && self
                    .vectors
                    .encoders()
                    .iter()
                    .any(|e| e.0 == encoder && e.2 == 1);
            if lone {
                VectorStore::new().check(encoder, q, scale)?;
            } else {
                self.vectors.check(encoder, q, scale)?;
            }
        }
        self.bm25.add(id, terms)?;
        self.vectors.remove(id);
        if let Some((encoder, q, scale)) = embedding {
            self.vectors.add(encoder, id, q, scale)?;
        }
        Ok(())
    }

    /// Removes post `id`; returns whether it was indexed.
    pub fn remove_post(&mut self, id: i64) -> bool {
        self.vectors.remove(id);
        self.bm25.remove(id)
    }

    /// Searches: BM25 over `query_terms` (skipped if empty) and cosine over each
    /// `(encoder, query vector)`, each list cut to N = max(5·limit, 50) after `allow`,
    /// fused by RRF (k = 60) into at most `limit` hits, best first (ties by id). A query
    /// vector for an encoder with no vectors contributes an empty list; one of the wrong
    /// dimension, or zero or non-finite, is an error.
    pub fn search(
        &self,
        query_terms: &[String],
        query_vectors: &[(String, Vec<f32>)],
        limit: usize,
        allow: Option<Allow<'_>>,
    ) -> Result<Vec<Hit>, SearchError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let n = limit.saturating_mul(5).max(50);
        let bm25 = if query_terms.is_empty() {
            Vec::new()
        } else {
            self.bm25.search_filtered(query_terms, n, allow)
        };
        let mut vector_lists: Vec<Vec<(i64, f64)>> = Vec::with_capacity(query_vectors.len());
        for (encoder, q) in query_vectors {
            let list = self.vectors.nearest_filtered(encoder, q, n, allow)?;
            vector_lists.push(list.into_iter().map(|(id, s)| (id, s as f64)).collect());
        }
        let mut lists: Vec<&[(i64, f64)]> = vec![&bm25];
        lists.extend(vector_lists.iter().map(Vec::as_slice));
        let fused = rrf(&lists, fuse::DEFAULT_K, limit)?;
        let bm25_rank: HashMap<i64, usize> = bm25
            .iter()
            .enumerate()
            .map(|(i, &(id, _))| (id, i + 1))
            .collect();
        let mut vector_rank: HashMap<i64, usize> = HashMap::new();
        for list in &vector_lists {
            for (i, &(id, _)) in list.iter().enumerate() {
                let r = vector_rank.entry(id).or_insert(i + 1);
                *r = (*r).min(i + 1);
            }
        }
        Ok(fused
            .into_iter()
            .map(|(id, score)| Hit {
                id,
                score,
                bm25_rank: bm25_rank.get(&id).copied(),
                vector_rank: vector_rank.get(&id).copied(),
            })
            .collect())
    }

    /// Writes the index to `path` atomically (see [`file`](mod@file)).
    pub fn save(&self, path: &Path) -> Result<(), SearchError> {
        file::save(self, path)
    }

    /// Reads an index written by [`SearchIndex::save`]. A truncated, corrupt, foreign or
    /// other-version file is an error with [`SearchError::needs_rebuild`] true.
    pub fn load(path: &Path) -> Result<SearchIndex, SearchError> {
        file::load(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_owned).collect()
    }

    fn unit(v: &[f32]) -> (Vec<i8>, f32) {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let max = v.iter().fold(0f32, |m, x| m.max((x / n).abs()));
        let scale = max / 127.0;
        (
            v.iter().map(|x| (x / n / scale).round() as i8).collect(),
            scale,
        )
    }

    fn sample() -> SearchIndex {
        let mut ix = SearchIndex::new().with_threads(2);
        let posts: [(i64, &str, Option<[f32; 3]>); 6] = [
            (1, "焦虑 考试 exam", Some([1.0, 0.1, 0.0])),
            (2, "happy weekend sun", Some([0.0, 1.0, 0.1])),
            (3, "焦虑 失眠", Some([0.9, 0.0, 0.3])),
            (4, "考试 成绩", None),
            (5, "lonely night 失眠", Some([0.2, 0.1, 1.0])),
            (6, "焦虑", Some([0.7, 0.7, 0.0])),
        ];
        for (id, text, v) in posts {
            let q = v.map(|v| unit(&v));
            ix.add_post(
                id,
                &t(text),
                q.as_ref().map(|(q, s)| ("enc", q.as_slice(), *s)),
            )
            .unwrap();
        }
        ix.watermark = 6;
        ix.meta = "jieba-0.42+stop-v3".into();
        ix
    }

    #[test]
    fn hybrid_search_fuses_both_lists() {
        let ix = sample();
        let bm = ix.bm25().search(&t("焦虑"), 100);
        assert_eq!(bm.iter().map(|x| x.0).collect::<Vec<_>>(), vec![6, 3, 1]);
        let vq = vec![("enc".to_owned(), vec![1.0, 0.0, 0.0])];
        let vec_list = ix.vectors().nearest("enc", &vq[0].1, 100).unwrap();
        assert_eq!(
            vec_list.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![1, 3, 6, 5, 2]
        );
        let hits = ix.search(&t("焦虑"), &vq, 10, None).unwrap();
        let r = |a: usize| 1.0 / (60.0 + a as f64);
        // 1: bm25 3, vec 1; 3: 2 and 2; 6: 1 and 3; 5: vec 4; 2: vec 5.
        // 1/61 + 1/63 = 0.0322665 > 2/62 = 0.0322581: agreeing at rank 2 loses to
        // ranks 1 and 3.
        let expect = [
            (1, r(3) + r(1), Some(3), Some(1)),
            (6, r(1) + r(3), Some(1), Some(3)),
            (3, r(2) + r(2), Some(2), Some(2)),
            (5, r(4), None, Some(4)),
            (2, r(5), None, Some(5)),
        ];
        assert_eq!(hits.len(), 5);
        for (h, e) in hits.iter().zip(expect) {
            assert_eq!(
                (h.id, h.bm25_rank, h.vector_rank),
                (e.0, e.2, e.3),
                "{hits:?}"
            );
            assert!((h.score - e.1).abs() < 1e-15);
        }
        // 1 and 6 tie exactly (1/61 + 1/63): id order.
        assert_eq!(hits[0].score, hits[1].score);
        assert_eq!(
            ix.search(&t("焦虑"), &vq, 2, None).unwrap(),
            hits[..2].to_vec()
        );
    }

    #[test]
    fn bm25_alone_filters_and_replacement() {
        let mut ix = sample();
        let hits = ix.search(&t("焦虑"), &[], 10, None).unwrap();
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![6, 3, 1]);
        assert_eq!(hits[0].score, 1.0 / 61.0);
        assert_eq!(hits[2].score, 1.0 / 63.0);
        assert!(hits.iter().all(|h| h.vector_rank.is_none()));
        let not6 = |id: i64| id != 6;
        let hits = ix
            .search(
                &t("焦虑"),
                &[("enc".into(), vec![1.0, 0.0, 0.0])],
                10,
                Some(&not6),
            )
            .unwrap();
        assert!(hits.iter().all(|h| h.id != 6));
        // With 6 filtered out before the cuts, 3 is BM25's first and 1 its second.
        let three = hits.iter().find(|h| h.id == 3).unwrap();
        assert_eq!((three.bm25_rank, three.vector_rank), (Some(1), Some(2)));
        assert_eq!(hits[0].id, 1); // 1/62 + 1/61, tied with 3, smaller id
        assert_eq!(hits[0].score, three.score);
        // An unknown encoder contributes nothing; a wrong dimension is an error.
        let a = ix
            .search(&t("焦虑"), &[("other".into(), vec![1.0])], 10, None)
            .unwrap();
        assert_eq!(a, ix.search(&t("焦虑"), &[], 10, None).unwrap());
        assert!(ix
            .search(&t("焦虑"), &[("enc".into(), vec![1.0])], 10, None)
            .is_err());
        assert!(ix.search(&[], &[], 10, None).unwrap().is_empty());
        assert!(ix.search(&t("焦虑"), &[], 0, None).unwrap().is_empty());
        // Replacement: terms and vector both; a bad vector changes nothing.
        assert!(ix
            .add_post(6, &t("weekend"), Some(("enc", &[1, 2], 0.1)))
            .is_err());
        assert_eq!(ix.search(&t("焦虑"), &[], 10, None).unwrap()[0].id, 6);
        ix.add_post(6, &t("weekend"), None).unwrap();
        assert_eq!(ix.len(), 6);
        assert!(!ix.vectors().contains("enc", 6));
        assert!(ix
            .search(&t("焦虑"), &[], 10, None)
            .unwrap()
            .iter()
            .all(|h| h.id != 6));
        assert!(ix.remove_post(1));
        assert!(!ix.remove_post(1));
        assert_eq!(ix.len(), 5);
        assert_eq!(ix.vectors().len(), 3);
    }

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("search.idx");
        let mut ix = sample();
        ix.remove_post(2);
        ix.add_post(9, &[], None).unwrap();
        ix.save(&path).unwrap();
        let back = SearchIndex::load(&path).unwrap();
        assert_eq!(back, ix);
        assert_eq!(back.watermark, 6);
        assert_eq!(back.meta, "jieba-0.42+stop-v3");
        let vq = vec![("enc".to_owned(), vec![0.3, 0.2, 0.9])];
        for q in ["焦虑", "失眠 night", "考试 exam exam"] {
            assert_eq!(
                back.search(&t(q), &vq, 10, None).unwrap(),
                ix.search(&t(q), &vq, 10, None).unwrap()
            );
        }
        // Overwrite in place; no temporary files remain.
        ix.meta = "v2".into();
        ix.save(&path).unwrap();
        assert_eq!(SearchIndex::load(&path).unwrap().meta, "v2");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("search.idx")]);
        // An empty index round-trips too.
        SearchIndex::new().save(&path).unwrap();
        assert_eq!(SearchIndex::load(&path).unwrap(), SearchIndex::new());
    }
}

//! Okapi BM25 over an inverted index of the caller's terms.
//!
//! Terms are interned to `u32`; each term's postings are a `Vec<(slot, tf)>` sorted by
//! slot (a slot is a document's position in insertion order, so appending keeps them
//! sorted); document lengths sit in a `Vec<u32>`, and a forward index (each slot's
//! distinct terms and frequencies) lets removal keep the collection statistics exact.
//! Removal is lazy: the slot is tombstoned in a bitmap and skipped by searches; once the
//! dead slots outnumber the live ones (and exceed [`COMPACT_MIN_DEAD`]) the index is
//! rebuilt from its live slots, and the file writer always writes the live slots only.
//!
//! Scoring (S. Robertson, H. Zaragoza, "The probabilistic relevance framework: BM25 and
//! beyond", FnTIR 3(4), 2009), with N live documents, n(t) of them containing t,
//! tf(t, d) occurrences of t in d, |d| the number of terms of d and avgdl the mean |d|:
//!
//! ```text
//! idf(t)      = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))            (as Lucene's BM25Similarity)
//! score(d, q) = Σ_{t ∈ q} idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl))
//! ```
//!
//! with k1 = 1.2 and b = 0.75. The sum runs over query-term *occurrences*: a term given
//! twice counts twice, as a Lucene `BooleanQuery` of two identical `TermQuery` clauses
//! does. Two differences from Lucene, neither changing the ranking: Lucene ≥ 8 drops the
//! constant factor (k1 + 1), and Lucene stores |d| lossily in one byte where we keep it
//! exactly. Query terms are summed in byte order of the term, and ties broken by doc id
//! ascending, so results do not depend on insertion history. A term frequency above
//! 65,535 in one document is saturated there (|d| stays exact).

use crate::file::{Reader, Sink};
use crate::topk::TopK;
use crate::{Allow, SearchError};
use std::collections::HashMap;
use std::io::{self, Write};

/// BM25's term-frequency saturation.
pub const K1: f64 = 1.2;
/// BM25's length normalization.
pub const B: f64 = 0.75;
/// Dead slots above which (and above the live count) the index compacts itself.
pub const COMPACT_MIN_DEAD: usize = 4096;

/// An inverted index of documents (`i64` ids, e.g. post ids) as bags of terms.
#[derive(Debug, Clone, Default)]
pub struct Index {
    term_ids: HashMap<String, u32>,
    terms: Vec<String>,
    /// Live documents containing each term.
    df: Vec<u32>,
    postings: Vec<Vec<(u32, u16)>>,
    /// Per slot: doc id, length, alive bit, start in `fwd`.
    ids: Vec<i64>,
    lens: Vec<u32>,
    alive: Vec<u64>,
    fwd: Vec<(u32, u16)>,
    fwd_start: Vec<usize>,
    slot_of: HashMap<i64, u32>,
    live: usize,
    total_len: u64,
}

impl PartialEq for Index {
    /// Logical equality: the same live documents with the same terms, frequencies and
    /// lengths, whatever the slots, term ids or tombstones.
    fn eq(&self, other: &Self) -> bool {
        self.live == other.live && self.total_len == other.total_len && {
            let mut a = self.documents();
            let mut b = other.documents();
            a.sort();
            b.sort();
            a == b
        }
    }
}

/// One document as [`Index::documents`] lists it: id, length, (term, tf) by term.
pub type DocumentView<'a> = (i64, u32, Vec<(&'a str, u16)>);

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live documents.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no document is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Whether `doc` is indexed.
    pub fn contains(&self, doc: i64) -> bool {
        self.slot_of.contains_key(&doc)
    }

    /// Number of distinct terms in live documents.
    pub fn vocabulary_size(&self) -> usize {
        self.df.iter().filter(|&&d| d > 0).count()
    }

    /// Slots in use, live or tombstoned (what a compaction would shrink to `len()`).
    pub fn slots(&self) -> usize {
        self.ids.len()
    }

    /// Every live document, in slot order (for inspection and tests).
    pub fn documents(&self) -> Vec<DocumentView<'_>> {
        (0..self.ids.len())
            .filter(|&s| self.is_alive(s))
            .map(|s| {
                let mut terms: Vec<(&str, u16)> = self
                    .doc_terms(s)
                    .iter()
                    .map(|&(t, tf)| (self.terms[t as usize].as_str(), tf))
                    .collect();
                terms.sort();
                (self.ids[s], self.lens[s], terms)
            })
            .collect()
    }

    /// Indexes `doc` as the bag `terms` (order does not matter, repeats count), replacing
    /// what `doc` was indexed as before. An empty bag is a document of length 0.
    pub fn add(&mut self, doc: i64, terms: &[String]) -> Result<(), SearchError> {
        let len = u32::try_from(terms.len()).map_err(|_| SearchError::TooLarge {
            what: "terms in one document",
            limit: u32::MAX as u64,
        })?;
        if self.terms.len().saturating_add(terms.len()) > u32::MAX as usize {
            return Err(SearchError::TooLarge {
                what: "distinct terms",
                limit: u32::MAX as u64,
            });
        }
        self.remove_quiet(doc);
        if self.ids.len() >= u32::MAX as usize {
            self.compact();
            if self.ids.len() >= u32::MAX as usize {
                return Err(SearchError::TooLarge {
                    what: "documents",
                    limit: u32::MAX as u64 - 1,
                });
            }
        }
        let mut ids: Vec<u32> = terms.iter().map(|t| self.intern(t)).collect();
        ids.sort_unstable();
        let mut pairs: Vec<(u32, u16)> = Vec::new();
        for t in ids {
            match pairs.last_mut() {
                Some((last, tf)) if *last == t => *tf = tf.saturating_add(1),
                _ => pairs.push((t, 1)),
            }
        }
        self.push_slot(doc, len, &pairs);
        self.maybe_compact();
        Ok(())
    }

    /// Removes `doc`; returns whether it was indexed.
    pub fn remove(&mut self, doc: i64) -> bool {
        let was = self.remove_quiet(doc);
        if was {
            self.maybe_compact();
        }
        was
    }

    /// The `k` best documents for the query, best first, as `(doc id, BM25 score)`.
    pub fn search(&self, query_terms: &[String], k: usize) -> Vec<(i64, f64)> {
        self.search_filtered(query_terms, k, None)
    }

    /// As [`Index::search`], considering only documents `allow` accepts (the filter is
    /// applied before the cut to `k`, so it never shortens the list needlessly).
    pub fn search_filtered(
        &self,
        query_terms: &[String],
        k: usize,
        allow: Option<Allow<'_>>,
    ) -> Vec<(i64, f64)> {
        if k == 0 || self.live == 0 || self.total_len == 0 {
            return Vec::new();
        }
        let n = self.live as f64;
        let avgdl = self.total_len as f64 / n;
        // Query terms with multiplicity, in byte order of the term.
        let mut q: Vec<&str> = query_terms.iter().map(String::as_str).collect();
        q.sort_unstable();
        let mut weighted: Vec<(u32, f64)> = Vec::new();
        let mut i = 0;
        while i < q.len() {
            let mut j = i + 1;
            while j < q.len() && q[j] == q[i] {
                j += 1;
            }
            if let Some(&t) = self.term_ids.get(q[i]) {
                let df = self.df[t as usize];
                if df > 0 {
                    let df = df as f64;
                    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                    weighted.push((t, idf * (j - i) as f64));
                }
            }
            i = j;
        }
        if weighted.is_empty() {
            return Vec::new();
        }
        let mut acc = vec![0f64; self.ids.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (t, w) in weighted {
            for &(slot, tf) in &self.postings[t as usize] {
                let s = slot as usize;
                if !self.is_alive(s) {
                    continue;
                }
                let tf = tf as f64;
                let norm = K1 * (1.0 - B + B * self.lens[s] as f64 / avgdl);
                // Every contribution is > 0 (idf > 0, tf ≥ 1), so 0 means untouched.
                if acc[s] == 0.0 {
                    touched.push(slot);
                }
                acc[s] += w * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut top = TopK::new(k);
        for slot in touched {
            let s = slot as usize;
            let id = self.ids[s];
            if allow.is_none_or(|f| f(id)) {
                top.push(id, acc[s]);
            }
        }
        top.into_sorted()
    }

    /// Rebuilds the index from its live documents: drops tombstones and terms no live
    /// document contains. Results are unchanged.
    pub fn compact(&mut self) {
        let old = std::mem::take(self);
        let mut remap = vec![u32::MAX; old.terms.len()];
        for (t, term) in old.terms.into_iter().enumerate() {
            if old.df[t] > 0 {
                remap[t] = self.terms.len() as u32;
                self.term_ids.insert(term.clone(), self.terms.len() as u32);
                self.terms.push(term);
                self.df.push(0);
                self.postings.push(Vec::with_capacity(old.df[t] as usize));
            }
        }
        let mut pairs = Vec::new();
        for s in 0..old.ids.len() {
            if old.alive[s / 64] >> (s % 64) & 1 == 1 {
                pairs.clear();
                pairs.extend(
                    old.fwd[old.fwd_start[s]..old.fwd_start[s + 1]]
                        .iter()
                        .map(|&(t, tf)| (remap[t as usize], tf)),
                );
                self.push_slot(old.ids[s], old.lens[s], &pairs);
            }
        }
    }

    fn maybe_compact(&mut self) {
        let dead = self.ids.len() - self.live;
        if dead > COMPACT_MIN_DEAD && dead > self.live {
            self.compact();
        }
    }

    fn is_alive(&self, s: usize) -> bool {
        self.alive[s / 64] >> (s % 64) & 1 == 1
    }

    fn doc_terms(&self, s: usize) -> &[(u32, u16)] {
        let start = self.fwd_start.get(s).copied().unwrap_or(0);
        let end = self.fwd_start.get(s + 1).copied().unwrap_or(start);
        &self.fwd[start..end]
    }

    fn intern(&mut self, term: &str) -> u32 {
        if let Some(&t) = self.term_ids.get(term) {
            return t;
        }
        let t = self.terms.len() as u32;
        self.term_ids.insert(term.to_owned(), t);
        self.terms.push(term.to_owned());
        self.df.push(0);
        self.postings.push(Vec::new());
        t
    }

    /// Appends a live slot; `pairs` are distinct term ids, ascending, with tf ≥ 1.
    fn push_slot(&mut self, doc: i64, len: u32, pairs: &[(u32, u16)]) {
        let slot = self.ids.len();
        if self.fwd_start.is_empty() {
            self.fwd_start.push(0);
        }
        for &(t, tf) in pairs {
            self.postings[t as usize].push((slot as u32, tf));
            self.df[t as usize] += 1;
        }
        self.fwd.extend_from_slice(pairs);
        self.fwd_start.push(self.fwd.len());
        self.ids.push(doc);
        self.lens.push(len);
        if slot.is_multiple_of(64) {
            self.alive.push(0);
        }
        self.alive[slot / 64] |= 1 << (slot % 64);
        self.slot_of.insert(doc, slot as u32);
        self.live += 1;
        self.total_len += len as u64;
    }

    fn remove_quiet(&mut self, doc: i64) -> bool {
        let Some(slot) = self.slot_of.remove(&doc) else {
            return false;
        };
        let s = slot as usize;
        self.alive[s / 64] &= !(1 << (s % 64));
        for i in self.fwd_start[s]..self.fwd_start[s + 1] {
            let t = self.fwd[i].0 as usize;
            self.df[t] -= 1;
        }
        self.live -= 1;
        self.total_len -= self.lens[s] as u64;
        true
    }

    /// Writes the live documents: the live vocabulary (renumbered in term-id order, so
    /// each document's term ids stay ascending), then each document.
    pub(crate) fn write_to<W: Write>(&self, out: &mut Sink<W>) -> io::Result<()> {
        let mut remap = vec![u32::MAX; self.terms.len()];
        let mut n = 0u32;
        for (t, &df) in self.df.iter().enumerate() {
            if df > 0 {
                remap[t] = n;
                n += 1;
            }
        }
        out.u32(n)?;
        for (t, term) in self.terms.iter().enumerate() {
            if self.df[t] > 0 {
                out.str(term)?;
            }
        }
        out.u32(self.live as u32)?;
        for s in (0..self.ids.len()).filter(|&s| self.is_alive(s)) {
            let pairs = self.doc_terms(s);
            out.i64(self.ids[s])?;
            out.u32(self.lens[s])?;
            out.u32(pairs.len() as u32)?;
            for &(t, tf) in pairs {
                out.u32(remap[t as usize])?;
                out.u16(tf)?;
            }
        }
        Ok(())
    }

    /// Reads what [`Index::write_to`] wrote, checking every count against the bytes
    /// left and every id against its table.
    pub(crate) fn read_from(r: &mut Reader<'_>) -> Result<Index, String> {
        let mut ix = Index::new();
        let n_terms = r.count("terms", 4)?;
        for _ in 0..n_terms {
            let term = r.str("term")?;
            if ix.term_ids.contains_key(&term) {
                return Err(format!("term {term:?} appears twice in the vocabulary"));
            }
            ix.intern(&term);
        }
        let n_docs = r.count("documents", 16)?;
        let mut pairs: Vec<(u32, u16)> = Vec::new();
        for _ in 0..n_docs {
            let id = r.i64()?;
            let len = r.u32()?;
            let n_pairs = r.count("document terms", 6)?;
            pairs.clear();
            let mut sum_tf = 0u64;
            for _ in 0..n_pairs {
                let t = r.u32()?;
                let tf = r.u16()?;
                if t as usize >= n_terms {
                    return Err(format!("document {id} names term {t} of {n_terms}"));
                }
                if pairs.last().is_some_and(|&(p, _)| p >= t) {
                    return Err(format!("document {id}: term ids not strictly ascending"));
                }
                if tf == 0 {
                    return Err(format!("document {id}: term frequency 0"));
                }
                sum_tf += tf as u64;
                pairs.push((t, tf));
            }
            if sum_tf > len as u64 {
                return Err(format!(
                    "document {id}: term frequencies sum to {sum_tf} > its length {len}"
                ));
            }
            if ix.slot_of.contains_key(&id) {
                return Err(format!("document {id} appears twice"));
            }
            ix.push_slot(id, len, &pairs);
        }
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_owned).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Corpus: d1 = "sad lonely sad" (|d|=3), d2 = "happy day" (2), d3 = "sad day" (2).
    /// N = 3, avgdl = 7/3.
    /// idf(sad): n = 2 → ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln(1.6) = 0.470003629245736
    /// idf(day): n = 2 → ln(1.6) too; idf(happy): n = 1 → ln(1 + 2.5/1.5) = ln(8/3).
    /// norm(|d|) = 1.2·(0.25 + 0.75·|d|/(7/3)):
    ///   |d| = 3: 1.2·(0.25 + 0.964285714…) = 1.2·1.214285714… = 1.457142857142857
    ///   |d| = 2: 1.2·(0.25 + 0.642857142…) = 1.2·0.892857142… = 1.071428571428571
    /// query "sad":
    ///   d1: tf 2 → ln1.6 · 2·2.2/(2 + 1.457142857) = ln1.6 · 4.4/3.457142857 = ln1.6 · 1.272727…
    ///       (4.4/3.457142857142857 = 1.2727272727 = 14/11) → 0.598186437221846
    ///   d3: tf 1 → ln1.6 · 2.2/(1 + 1.071428571) = ln1.6 · 2.2/2.071428571 = ln1.6 · 1.062068966
    ///       (= 77/72.5 = 154/145) → 0.499176364 (≈ 0.470003629 · 1.062068966)
    /// query "happy day" on d2: ln(8/3)·154/145 + ln1.6·154/145.
    #[test]
    fn hand_computed_three_docs() {
        let mut ix = Index::new();
        ix.add(1, &t("sad lonely sad")).unwrap();
        ix.add(2, &t("happy day")).unwrap();
        ix.add(3, &t("sad day")).unwrap();
        let idf_sad = 1.6f64.ln();
        let idf_happy = (8.0f64 / 3.0).ln();
        let r = ix.search(&t("sad"), 10);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, 1);
        assert!(close(r[0].1, idf_sad * 14.0 / 11.0), "{r:?}");
        assert!(close(r[0].1, 0.598186437221846), "{r:?}");
        assert_eq!(r[1].0, 3);
        assert!(close(r[1].1, idf_sad * 154.0 / 145.0), "{r:?}");
        let r = ix.search(&t("happy day"), 10);
        assert_eq!(r[0].0, 2);
        assert!(
            close(r[0].1, (idf_happy + idf_sad) * 154.0 / 145.0),
            "{r:?}"
        );
        assert_eq!(r[1].0, 3);
        assert!(close(r[1].1, idf_sad * 154.0 / 145.0));
        // A repeated query term counts once per occurrence.
        let r2 = ix.search(&t("sad sad"), 10);
        assert!(close(r2[0].1, 2.0 * idf_sad * 14.0 / 11.0));
        // Unknown terms contribute nothing; an empty or unknown query finds nothing.
        assert_eq!(ix.search(&t("sad zzz"), 10), ix.search(&t("sad"), 10));
        assert!(ix.search(&t("zzz"), 10).is_empty());
        assert!(ix.search(&[], 10).is_empty());
        assert!(ix.search(&t("sad"), 0).is_empty());
    }

    #[test]
    fn ranking_order_and_ties_by_id() {
        let mut ix = Index::new();
        ix.add(10, &t("anxiety exam stress")).unwrap();
        ix.add(7, &t("anxiety exam stress")).unwrap();
        ix.add(3, &t("weather sunny")).unwrap();
        ix.add(5, &t("anxiety anxiety anxiety attack")).unwrap();
        ix.add(8, &t("exam")).unwrap();
        let r = ix.search(&t("anxiety exam"), 10);
        let ids: Vec<i64> = r.iter().map(|x| x.0).collect();
        // 7 and 10 are identical: tie broken by id ascending.
        assert_eq!(ids, vec![7, 10, 5, 8]);
        assert_eq!(r[0].1, r[1].1);
        assert!(r.windows(2).all(|w| w[0].1 >= w[1].1));
        assert_eq!(ix.search(&t("anxiety exam"), 2).len(), 2);
        let f = |id: i64| id != 7;
        let r = ix.search_filtered(&t("anxiety exam"), 2, Some(&f));
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![10, 5]);
    }

    #[test]
    fn remove_and_replace_keep_statistics_exact() {
        let mut a = Index::new();
        a.add(1, &t("sad lonely sad")).unwrap();
        a.add(2, &t("happy day")).unwrap();
        a.add(3, &t("sad day")).unwrap();
        a.add(4, &t("zebra sad")).unwrap();
        a.add(2, &t("totally different")).unwrap(); // replaces
        a.add(2, &t("happy day")).unwrap(); // and back
        assert!(a.remove(4));
        assert!(!a.remove(4));
        assert!(!a.contains(4));
        let mut b = Index::new();
        b.add(1, &t("sad lonely sad")).unwrap();
        b.add(2, &t("happy day")).unwrap();
        b.add(3, &t("sad day")).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a.vocabulary_size(), 4);
        assert_eq!(a, b);
        for q in ["sad", "happy day", "zebra", "totally day"] {
            assert_eq!(a.search(&t(q), 10), b.search(&t(q), 10), "{q}");
        }
        let before = a.search(&t("sad day"), 10);
        a.compact();
        assert_eq!(a.slots(), 3);
        assert_eq!(a.search(&t("sad day"), 10), before);
        assert!(a.search(&t("zebra"), 10).is_empty());
    }

    #[test]
    fn automatic_compaction_preserves_results() {
        let words = ["a", "b", "c", "d", "e", "f", "g"];
        let doc = |i: i64| -> Vec<String> {
            (0..(i % 5 + 1))
                .map(|j| words[((i + j * 3) % 7) as usize].to_owned())
                .collect()
        };
        let mut ix = Index::new();
        let mut fresh = Index::new();
        for i in 0..3000i64 {
            ix.add(i, &doc(i)).unwrap();
            if i % 10 == 0 {
                fresh.add(i, &doc(i)).unwrap();
            }
        }
        for i in 0..3000i64 {
            if i % 10 != 0 {
                ix.remove(i);
            }
        }
        assert_eq!(
            ix.slots(),
            3000,
            "2700 dead ≤ COMPACT_MIN_DEAD: not compacted yet"
        );
        // Re-adding churns slots until the dead ones trigger a compaction.
        for _ in 0..6 {
            for i in (0..3000i64).step_by(10) {
                ix.add(i, &doc(i)).unwrap();
            }
        }
        assert!(ix.slots() < 3000, "compaction ran: {} slots", ix.slots());
        assert_eq!(ix.len(), 300);
        assert_eq!(ix, fresh);
        for q in ["a", "b c", "g g", "a b c d e f g"] {
            assert_eq!(ix.search(&t(q), 50), fresh.search(&t(q), 50), "{q}");
        }
    }
}

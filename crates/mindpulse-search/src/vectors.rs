//! Brute-force cosine search over int8 sentence embeddings, one flat store per encoder.
//!
//! Each encoder (a short key such as the encoder's sha256) has its own store: a row-major
//! `Vec<i8>` of `dim`-long rows, one `f32` scale per row (the stored vector is
//! scale · q, quantized from an L2-normalized embedding), the rows' doc ids, and a map
//! from doc id to row. Removal swaps the last row into the hole, so a store is always
//! dense; a store left empty is dropped (with its dimension).
//!
//! A query is L2-normalized, and a row's score is scale · Σ qᵢ·xᵢ, the cosine with the
//! stored embedding up to quantization error (the dequantized row's norm is 1 up to that
//! error; we do not renormalize it). The scan is brute force, split into contiguous
//! chunks of rows over `std::thread::scope` threads when the store is large; each chunk
//! keeps its own top k under the crate's total order (score descending, then doc id
//! ascending) and the chunks' selections merge into the one top k that order defines, so
//! the result does not depend on the number of threads. Each row's dot product is summed
//! in a fixed order (8 lanes, then the tail), so it does not either.

use crate::file::{Reader, Sink};
use crate::topk::TopK;
use crate::{Allow, SearchError};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

/// Multiply-adds below which a scan stays on the calling thread.
const PARALLEL_MIN_WORK: usize = 1 << 21;

/// One encoder's vectors.
#[derive(Debug, Clone, Default)]
struct Flat {
    dim: usize,
    ids: Vec<i64>,
    scales: Vec<f32>,
    data: Vec<i8>,
    row_of: HashMap<i64, usize>,
}

impl Flat {
    fn row(&self, r: usize) -> &[i8] {
        &self.data[r * self.dim..(r + 1) * self.dim]
    }

    fn push(&mut self, doc: i64, q: &[i8], scale: f32) {
        self.row_of.insert(doc, self.ids.len());
        self.ids.push(doc);
        self.scales.push(scale);
        self.data.extend_from_slice(q);
    }

    fn remove(&mut self, doc: i64) -> bool {
        let Some(r) = self.row_of.remove(&doc) else {
            return false;
        };
        let last = self.ids.len() - 1;
        if r != last {
            let moved = self.ids[last];
            self.ids[r] = moved;
            self.scales[r] = self.scales[last];
            self.data
                .copy_within(last * self.dim..(last + 1) * self.dim, r * self.dim);
            self.row_of.insert(moved, r);
        }
        self.ids.pop();
        self.scales.pop();
        self.data.truncate(last * self.dim);
        true
    }

    /// Top k of rows `lo..hi`.
    fn scan(&self, q: &[f32], lo: usize, hi: usize, k: usize, allow: Option<Allow<'_>>) -> TopK {
        let mut top = TopK::new(k);
        for r in lo..hi {
            let id = self.ids[r];
            if allow.is_none_or(|f| f(id)) {
                let s = self.scales[r] * dot(q, self.row(r));
                top.push(id, s as f64);
            }
        }
        top
    }

    /// Rows sorted by doc id, for logical equality.
    fn sorted_rows(&self) -> Vec<(i64, u32, &[i8])> {
        let mut v: Vec<(i64, u32, &[i8])> = (0..self.ids.len())
            .map(|r| (self.ids[r], self.scales[r].to_bits(), self.row(r)))
            .collect();
        v.sort_unstable_by_key(|x| x.0);
        v
    }
}

/// Σ qᵢ·xᵢ in a fixed order: eight running lanes, combined pairwise, plus the tail.
fn dot(q: &[f32], x: &[i8]) -> f32 {
    let mut acc = [0f32; 8];
    let qc = q.chunks_exact(8);
    let xc = x.chunks_exact(8);
    let tail: f32 = qc
        .remainder()
        .iter()
        .zip(xc.remainder())
        .map(|(&a, &b)| a * f32::from(b))
        .sum();
    for (a, b) in qc.zip(xc) {
        for ((s, &a), &b) in acc.iter_mut().zip(a).zip(b) {
            *s += a * f32::from(b);
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Int8 embeddings of documents, per encoder key.
#[derive(Debug, Clone, Default)]
pub struct VectorStore {
    encoders: BTreeMap<String, Flat>,
    threads: usize,
}

impl PartialEq for VectorStore {
    /// Logical equality: the same encoders, dimensions and (doc, scale, row) sets,
    /// whatever the row order or thread setting.
    fn eq(&self, other: &Self) -> bool {
        self.encoders.len() == other.encoders.len()
            && self
                .encoders
                .iter()
                .zip(&other.encoders)
                .all(|((ka, a), (kb, b))| {
                    ka == kb && a.dim == b.dim && a.sorted_rows() == b.sorted_rows()
                })
    }
}

impl VectorStore {
    /// An empty store that scans on as many threads as the machine offers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scan on exactly `threads` threads (when there are at least that many rows);
    /// 0 restores the default (the machine's parallelism, for large stores only).
    /// Results do not depend on it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Total number of vectors, all encoders together.
    pub fn len(&self) -> usize {
        self.encoders.values().map(|f| f.ids.len()).sum()
    }

    /// Whether no vector is stored.
    pub fn is_empty(&self) -> bool {
        self.encoders.is_empty()
    }

    /// The encoders with vectors, in key order, as `(key, dim, number of vectors)`.
    pub fn encoders(&self) -> Vec<(&str, usize, usize)> {
        self.encoders
            .iter()
            .map(|(k, f)| (k.as_str(), f.dim, f.ids.len()))
            .collect()
    }

    /// Whether `doc` has a vector from `encoder`.
    pub fn contains(&self, encoder: &str, doc: i64) -> bool {
        self.encoders
            .get(encoder)
            .is_some_and(|f| f.row_of.contains_key(&doc))
    }

    /// Every doc id with a vector, encoder by encoder.
    pub(crate) fn all_docs(&self) -> impl Iterator<Item = i64> + '_ {
        self.encoders.values().flat_map(|f| f.ids.iter().copied())
    }

    /// Checks what [`VectorStore::add`] would reject, without changing anything.
    pub fn check(&self, encoder: &str, q: &[i8], scale: f32) -> Result<(), SearchError> {
        if q.is_empty() {
            return Err(SearchError::InvalidVector("empty vector".into()));
        }
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(SearchError::InvalidVector(format!(
                "scale {scale} must be finite and ≥ 0"
            )));
        }
        if q.len() > u32::MAX as usize {
            return Err(SearchError::TooLarge {
                what: "dimensions",
                limit: u32::MAX as u64,
            });
        }
        if let Some(f) = self.encoders.get(encoder) {
            if f.dim != q.len() {
                return Err(SearchError::DimensionMismatch {
                    encoder: encoder.to_owned(),
                    expected: f.dim,
                    got: q.len(),
                });
            }
        }
        Ok(())
    }

    /// Stores `doc`'s vector `scale · q` from `encoder`, replacing the vector it had from
    /// that encoder (its vectors from other encoders stay). The first vector of an
    /// encoder fixes its dimension.
    pub fn add(
        &mut self,
        encoder: &str,
        doc: i64,
        q: &[i8],
        scale: f32,
    ) -> Result<(), SearchError> {
        self.check(encoder, q, scale)?;
        let f = self
            .encoders
            .entry(encoder.to_owned())
            .or_insert_with(|| Flat {
                dim: q.len(),
                ..Flat::default()
            });
        f.remove(doc);
        f.push(doc, q, scale);
        Ok(())
    }

    /// Removes `doc`'s vectors from every encoder; returns whether it had any.
    pub fn remove(&mut self, doc: i64) -> bool {
        let mut any = false;
        for f in self.encoders.values_mut() {
            any |= f.remove(doc);
        }
        self.encoders.retain(|_, f| !f.ids.is_empty());
        any
    }

    /// Removes `doc`'s vector from `encoder`; returns whether it had one.
    pub fn remove_from(&mut self, encoder: &str, doc: i64) -> bool {
        let Some(f) = self.encoders.get_mut(encoder) else {
            return false;
        };
        let was = f.remove(doc);
        if f.ids.is_empty() {
            self.encoders.remove(encoder);
        }
        was
    }

    /// The `k` documents whose `encoder` vectors are nearest `query` by cosine, best
    /// first, as `(doc id, cosine)`. An encoder with no vectors gives an empty list; a
    /// query of the wrong dimension, or zero, NaN or infinite, is an error.
    pub fn nearest(
        &self,
        encoder: &str,
        query: &[f32],
        k: usize,
    ) -> Result<Vec<(i64, f32)>, SearchError> {
        self.nearest_filtered(encoder, query, k, None)
    }

    /// As [`VectorStore::nearest`], considering only documents `allow` accepts (applied
    /// before the cut to `k`).
    pub fn nearest_filtered(
        &self,
        encoder: &str,
        query: &[f32],
        k: usize,
        allow: Option<Allow<'_>>,
    ) -> Result<Vec<(i64, f32)>, SearchError> {
        let Some(f) = self.encoders.get(encoder) else {
            return Ok(Vec::new());
        };
        if query.len() != f.dim {
            return Err(SearchError::DimensionMismatch {
                encoder: encoder.to_owned(),
                expected: f.dim,
                got: query.len(),
            });
        }
        let norm = query
            .iter()
            .map(|&x| x as f64 * x as f64)
            .sum::<f64>()
            .sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(SearchError::InvalidVector(format!(
                "query vector has norm {norm}: it must be finite and non-zero"
            )));
        }
        let q: Vec<f32> = query.iter().map(|&x| (x as f64 / norm) as f32).collect();
        if k == 0 {
            return Ok(Vec::new());
        }
        let rows = f.ids.len();
        let threads = self.thread_count(rows, f.dim);
        let top = if threads <= 1 {
            f.scan(&q, 0, rows, k, allow)
        } else {
            let chunk = rows.div_ceil(threads);
            std::thread::scope(|s| {
                let q = &q;
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let lo = (t * chunk).min(rows);
                        let hi = (lo + chunk).min(rows);
                        s.spawn(move || f.scan(q, lo, hi, k, allow))
                    })
                    .collect();
                let mut top = TopK::new(k);
                for h in handles {
                    match h.join() {
                        Ok(part) => top.merge(part),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                top
            })
        };
        Ok(top
            .into_sorted()
            .into_iter()
            .map(|(id, s)| (id, s as f32))
            .collect())
    }

    fn thread_count(&self, rows: usize, dim: usize) -> usize {
        if self.threads > 0 {
            return self.threads.min(rows).max(1);
        }
        let work = rows.saturating_mul(dim);
        if work < PARALLEL_MIN_WORK {
            return 1;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.min(work / (PARALLEL_MIN_WORK / 2)).max(1)
    }

    /// Writes each encoder (in key order): key, dim, rows, then the rows' doc ids,
    /// scales and int8 data.
    pub(crate) fn write_to<W: Write>(&self, out: &mut Sink<W>) -> io::Result<()> {
        out.u32(self.encoders.len() as u32)?;
        for (key, f) in &self.encoders {
            out.str(key)?;
            out.u32(f.dim as u32)?;
            let rows = u32::try_from(f.ids.len())
                .map_err(|_| io::Error::other("more than 2³² − 1 vectors for one encoder"))?;
            out.u32(rows)?;
            for &id in &f.ids {
                out.i64(id)?;
            }
            for &s in &f.scales {
                out.f32(s)?;
            }
            let mut buf = Vec::with_capacity(1 << 16);
            for chunk in f.data.chunks(1 << 16) {
                buf.clear();
                buf.extend(chunk.iter().map(|&v| v as u8));
                out.bytes(&buf)?;
            }
        }
        Ok(())
    }

    /// Reads what [`VectorStore::write_to`] wrote, checking every count against the
    /// bytes left.
    pub(crate) fn read_from(r: &mut Reader<'_>) -> Result<VectorStore, String> {
        let mut store = VectorStore::new();
        let n = r.count("encoders", 12)?;
        let mut prev: Option<String> = None;
        for _ in 0..n {
            let key = r.str("encoder key")?;
            if prev.as_ref().is_some_and(|p| *p >= key) {
                return Err(format!("encoder {key:?} out of order or repeated"));
            }
            let dim = r.u32()? as usize;
            let rows = r.count("vectors", 12usize.saturating_add(dim))?;
            if dim == 0 || rows == 0 {
                return Err(format!("encoder {key:?}: dim {dim}, {rows} vectors"));
            }
            let mut f = Flat {
                dim,
                ..Flat::default()
            };
            f.ids.reserve_exact(rows);
            for row in 0..rows {
                let id = r.i64()?;
                if f.row_of.insert(id, row).is_some() {
                    return Err(format!("encoder {key:?}: document {id} appears twice"));
                }
                f.ids.push(id);
            }
            f.scales.reserve_exact(rows);
            for _ in 0..rows {
                let s = r.f32()?;
                if !(s.is_finite() && s >= 0.0) {
                    return Err(format!("encoder {key:?}: scale {s}"));
                }
                f.scales.push(s);
            }
            let bytes = r.take(rows * dim)?;
            f.data = bytes.iter().map(|&b| b as i8).collect();
            store.encoders.insert(key.clone(), f);
            prev = Some(key);
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64, for reproducible random vectors.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        /// Roughly normal (sum of uniforms).
        fn gauss(&mut self) -> f32 {
            (0..4)
                .map(|_| (self.next() >> 40) as f32 / (1u64 << 24) as f32)
                .sum::<f32>()
                - 2.0
        }
        fn unit(&mut self, dim: usize) -> Vec<f32> {
            let v: Vec<f32> = (0..dim).map(|_| self.gauss()).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        }
    }

    fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = max / 127.0;
        (v.iter().map(|x| (x / scale).round() as i8).collect(), scale)
    }

    #[test]
    fn int8_nearest_matches_f32_brute_force() {
        let (dim, n) = (64, 500);
        let mut rng = Rng(7);
        let docs: Vec<Vec<f32>> = (0..n).map(|_| rng.unit(dim)).collect();
        let mut store = VectorStore::new();
        for (i, v) in docs.iter().enumerate() {
            let (q, s) = quantize(v);
            store.add("enc", i as i64 * 3, &q, s).unwrap();
        }
        for trial in 0..10 {
            let query: Vec<f32> = rng.unit(dim).iter().map(|x| x * 2.5).collect(); // not unit
            let mut exact: Vec<(i64, f32)> = docs
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        i as i64 * 3,
                        v.iter().zip(&query).map(|(a, b)| a * b).sum::<f32>() / 2.5,
                    )
                })
                .collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let got = store.nearest("enc", &query, 10).unwrap();
            assert_eq!(got.len(), 10);
            // Quantization error of a cosine is ≤ Σ|qᵢ|·scale/2 ≈ small; allow 0.01.
            let tol = 0.01;
            let tenth = exact[9].1;
            let exact_of: HashMap<i64, f32> = exact.iter().copied().collect();
            for &(id, s) in &got {
                assert!((s - exact_of[&id]).abs() < tol, "trial {trial}: {id} {s}");
                assert!(
                    exact_of[&id] >= tenth - 2.0 * tol,
                    "trial {trial}: {id} not near top 10"
                );
            }
            for &(id, s) in &exact[..10] {
                if s > got[9].1 + 2.0 * tol {
                    assert!(got.iter().any(|g| g.0 == id), "trial {trial}: missed {id}");
                }
            }
            let overlap = exact[..10]
                .iter()
                .filter(|e| got.iter().any(|g| g.0 == e.0))
                .count();
            assert!(overlap >= 8, "trial {trial}: overlap {overlap}");
        }
    }

    #[test]
    fn threads_do_not_change_results_and_filter_applies_before_cut() {
        let dim = 13; // exercises the tail of the dot product
        let mut rng = Rng(11);
        let mut one = VectorStore::new().with_threads(1);
        for i in 0..300i64 {
            // Many exact duplicates, so ties by id matter.
            let v = rng.unit(dim);
            let (q, s) = quantize(&v);
            one.add("e", 1000 - i, &q, s).unwrap();
            one.add("e", 2000 - i, &q, s).unwrap();
        }
        let three = one.clone().with_threads(3);
        let seven = one.clone().with_threads(7);
        let query = rng.unit(dim);
        let a = one.nearest("e", &query, 25).unwrap();
        assert_eq!(a, three.nearest("e", &query, 25).unwrap());
        assert_eq!(a, seven.nearest("e", &query, 25).unwrap());
        assert!(a
            .windows(2)
            .all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));
        let even = |id: i64| id % 2 == 0;
        let f = three
            .nearest_filtered("e", &query, 25, Some(&even))
            .unwrap();
        assert_eq!(f.len(), 25);
        assert!(f.iter().all(|x| x.0 % 2 == 0));
        assert_eq!(
            f,
            one.nearest_filtered("e", &query, 25, Some(&even)).unwrap()
        );
    }

    #[test]
    fn add_remove_replace_and_errors() {
        let mut s = VectorStore::new();
        s.add("a", 1, &[127, 0], 1.0 / 127.0).unwrap();
        s.add("a", 2, &[0, 127], 1.0 / 127.0).unwrap();
        s.add("a", 3, &[90, 90], 1.0 / 127.0).unwrap();
        s.add("b", 1, &[1, 2, 3], 0.1).unwrap();
        assert_eq!(s.len(), 4);
        let r = s.nearest("a", &[1.0, 0.0], 3).unwrap();
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 3, 2]);
        assert!((r[0].1 - 1.0).abs() < 1e-6 && r[2].1.abs() < 1e-6);
        // Replace 1 so it points the other way; remove 2 (swap-remove moves 3).
        s.add("a", 1, &[-127, 0], 1.0 / 127.0).unwrap();
        assert!(s.remove_from("a", 2));
        let r = s.nearest("a", &[1.0, 0.0], 3).unwrap();
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![3, 1]);
        assert!(s.remove(1));
        assert!(!s.contains("b", 1));
        assert_eq!(s.encoders(), vec![("a", 2, 1)]);
        assert!(s.nearest("zzz", &[1.0], 3).unwrap().is_empty());
        assert!(matches!(
            s.nearest("a", &[1.0, 2.0, 3.0], 3),
            Err(SearchError::DimensionMismatch {
                expected: 2,
                got: 3,
                ..
            })
        ));
        assert!(matches!(
            s.add("a", 9, &[1], 1.0),
            Err(SearchError::DimensionMismatch { .. })
        ));
        assert!(s.nearest("a", &[0.0, 0.0], 3).is_err());
        assert!(s.nearest("a", &[f32::NAN, 0.0], 3).is_err());
        assert!(s.add("c", 9, &[], 1.0).is_err());
        assert!(s.add("c", 9, &[1], f32::INFINITY).is_err());
        assert!(s.add("c", 9, &[1], -1.0).is_err());
        assert_eq!(s.len(), 1);
    }
}

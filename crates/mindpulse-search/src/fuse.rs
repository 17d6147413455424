//! Reciprocal-rank fusion (G. Cormack, C. Clarke, S. Büttcher, "Reciprocal rank fusion
//! outperforms Condorcet and individual rank learning methods", SIGIR 2009).
//!
//! A document's fused score is Σ over the lists it appears in of 1 / (k + rank), rank
//! counting from 1 and k = 60 by default, as in the paper. Only ranks matter, not the
//! lists' own scores, which is why BM25 scores and cosines can be fused without
//! calibration. A document listed twice in one list counts at its first (best) rank only.
//! The sum runs over the lists in the order given, and the result is sorted by fused
//! score descending, then doc id ascending.

use crate::topk::sort_ranked;
use crate::SearchError;
use std::collections::{HashMap, HashSet};

/// The paper's (and Elasticsearch's) `rank_constant`.
pub const DEFAULT_K: f64 = 60.0;

/// Fuses ranked lists (best first; the scores in them are ignored) into one list of at
/// most `limit` `(doc id, Σ 1/(k + rank))`. `k` must be finite and ≥ 0.
pub fn rrf(lists: &[&[(i64, f64)]], k: f64, limit: usize) -> Result<Vec<(i64, f64)>, SearchError> {
    if !(k.is_finite() && k >= 0.0) {
        return Err(SearchError::InvalidParameter(format!(
            "RRF constant k = {k}: it must be finite and ≥ 0"
        )));
    }
    let mut fused: HashMap<i64, f64> = HashMap::new();
    let mut seen: HashSet<i64> = HashSet::new();
    for list in lists {
        seen.clear();
        for (i, &(id, _)) in list.iter().enumerate() {
            if seen.insert(id) {
                *fused.entry(id).or_insert(0.0) += 1.0 / (k + (i + 1) as f64);
            }
        }
    }
    let mut out: Vec<(i64, f64)> = fused.into_iter().collect();
    sort_ranked(&mut out);
    out.truncate(limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_arithmetic() {
        let a: &[(i64, f64)] = &[(1, 9.0), (2, 8.0), (3, 7.0)];
        let b: &[(i64, f64)] = &[(3, 0.9), (4, 0.8), (1, 0.7)];
        let r = rrf(&[a, b], 60.0, 10).unwrap();
        // 1: 1/61 + 1/63 = 0.032266…; 3: 1/63 + 1/61 (same); 2: 1/62; 4: 1/62.
        let s13 = 1.0 / 61.0 + 1.0 / 63.0;
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 3, 2, 4]);
        assert!((r[0].1 - s13).abs() < 1e-15 && (r[1].1 - s13).abs() < 1e-15);
        assert_eq!(r[2].1, 1.0 / 62.0);
        assert_eq!(r[3].1, 1.0 / 62.0);
        assert!((0.0322664 - s13).abs() < 1e-6);
        // k = 0: 1/rank.
        let r = rrf(&[a], 0.0, 2).unwrap();
        assert_eq!(r, vec![(1, 1.0), (2, 0.5)]);
    }

    #[test]
    fn duplicates_empty_and_bad_k() {
        let a: &[(i64, f64)] = &[(5, 1.0), (5, 1.0), (6, 0.0)];
        let r = rrf(&[a], 60.0, 10).unwrap();
        assert_eq!(r, vec![(5, 1.0 / 61.0), (6, 1.0 / 63.0)]);
        assert!(rrf(&[], 60.0, 10).unwrap().is_empty());
        assert!(rrf(&[a], 60.0, 0).unwrap().is_empty());
        assert!(rrf(&[a], -1.0, 10).is_err());
        assert!(rrf(&[a], f64::NAN, 10).is_err());
    }
}

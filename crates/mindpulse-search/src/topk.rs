//! Selecting the k best `(doc id, score)` pairs under one total order: score descending
//! (by `f64::total_cmp`), then doc id ascending. Because the order is total and doc ids
//! are unique within a list, the k best are one well-defined set whatever order the
//! candidates arrive in, so partial selections (one per thread) merge deterministically.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A candidate; `Ord` puts the *worse* candidate first-greater, so a max-heap's top is
/// the worst candidate kept.
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f64,
    id: i64,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

/// Keeps the k best candidates pushed into it.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    /// An empty selection of at most `k` candidates.
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096)),
        }
    }

    /// Offers a candidate.
    pub(crate) fn push(&mut self, id: i64, score: f64) {
        if self.k == 0 {
            return;
        }
        let e = Entry { score, id };
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if e < *worst {
                *worst = e;
            }
        }
    }

    /// Offers every candidate another selection kept.
    pub(crate) fn merge(&mut self, other: TopK) {
        for e in other.heap {
            self.push(e.id, e.score);
        }
    }

    /// The candidates kept, best first.
    pub(crate) fn into_sorted(self) -> Vec<(i64, f64)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.id, e.score))
            .collect()
    }
}

/// Sorts pairs best first under the crate's total order (score desc, id asc).
pub(crate) fn sort_ranked(v: &mut [(i64, f64)]) {
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_with_ties_by_id() {
        let mut t = TopK::new(3);
        for (id, s) in [(5, 1.0), (1, 2.0), (9, 2.0), (3, 1.0), (2, 0.5), (4, 1.0)] {
            t.push(id, s);
        }
        assert_eq!(t.into_sorted(), vec![(1, 2.0), (9, 2.0), (3, 1.0)]);
    }

    #[test]
    fn merge_equals_single_pass() {
        let items: Vec<(i64, f64)> = (0..100).map(|i| (i, ((i * 37) % 11) as f64)).collect();
        let mut one = TopK::new(7);
        for &(id, s) in &items {
            one.push(id, s);
        }
        let mut a = TopK::new(7);
        let mut b = TopK::new(7);
        for &(id, s) in &items {
            if id % 3 == 0 {
                a.push(id, s)
            } else {
                b.push(id, s)
            }
        }
        a.merge(b);
        assert_eq!(a.into_sorted(), one.into_sorted());
        assert!(TopK::new(0).into_sorted().is_empty());
    }
}

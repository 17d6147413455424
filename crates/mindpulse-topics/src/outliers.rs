//! Fewer outliers: HDBSCAN leaves many posts as noise (often a third or more on real
//! posts), and a topic table that leaves out that many posts describes the collection
//! badly. As BERTopic's `reduce_outliers(strategy="embeddings")`, a noise post joins the
//! topic whose centroid (the mean of its members' *original* embeddings, not the reduced
//! ones) is most similar by cosine, when that similarity is at least `min_similarity`.
//! If more than `max_unassigned` of all posts are still without a topic afterwards, the
//! remaining ones closest to a centroid (highest similarity first, lower row on ties)
//! join their nearest topic too, until at most that share (rounded down to whole posts)
//! is left. Centroids are computed once, from the clustering's members, so the result
//! does not depend on the order of reassignment. Sums run in row order in `f64`.

/// What [`reassign`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Reassigned {
    /// Per row: its topic after reassignment.
    pub assignment: Vec<Option<u32>>,
    /// Posts reassigned because their similarity reached `min_similarity`.
    pub by_similarity: usize,
    /// Posts reassigned to bring the unassigned share down to `max_unassigned`.
    pub to_cap: usize,
    /// Posts still without a topic.
    pub unassigned: usize,
}

/// Mean embedding of each topic's members (row-major `n_topics × dim`, `f64`).
pub fn centroids(
    embeddings: &[f32],
    dim: usize,
    assignment: &[Option<u32>],
    n_topics: usize,
) -> Vec<f64> {
    let mut sum = vec![0.0f64; n_topics * dim];
    let mut count = vec![0usize; n_topics];
    for (r, t) in assignment.iter().enumerate() {
        let Some(t) = t.map(|t| t as usize).filter(|&t| t < n_topics) else {
            continue;
        };
        count[t] += 1;
        for (s, &x) in sum[t * dim..(t + 1) * dim]
            .iter_mut()
            .zip(&embeddings[r * dim..(r + 1) * dim])
        {
            *s += f64::from(x);
        }
    }
    for t in 0..n_topics {
        let c = count[t].max(1) as f64;
        sum[t * dim..(t + 1) * dim].iter_mut().for_each(|s| *s /= c);
    }
    sum
}

/// Cosine similarity of an `f32` row and an `f64` vector (0 when either is zero).
pub fn cosine(row: &[f32], c: &[f64]) -> f64 {
    let (mut dot, mut nr, mut nc) = (0.0, 0.0, 0.0);
    for (&x, &y) in row.iter().zip(c) {
        let x = f64::from(x);
        dot += x * y;
        nr += x * x;
        nc += y * y;
    }
    if nr == 0.0 || nc == 0.0 {
        0.0
    } else {
        dot / (nr.sqrt() * nc.sqrt())
    }
}

/// Reassigns the rows without a topic (see the module doc).
pub fn reassign(
    embeddings: &[f32],
    dim: usize,
    assignment: &[Option<u32>],
    n_topics: usize,
    min_similarity: f64,
    max_unassigned: f64,
) -> Reassigned {
    let n = assignment.len();
    let mut out = assignment.to_vec();
    let mut by_similarity = 0;
    let mut to_cap = 0;
    if n_topics > 0 {
        let cents = centroids(embeddings, dim, assignment, n_topics);
        // (similarity, row, topic) of every row still without a topic.
        let mut rest: Vec<(f64, usize, u32)> = Vec::new();
        for (r, t) in assignment.iter().enumerate() {
            if t.is_some() {
                continue;
            }
            let row = &embeddings[r * dim..(r + 1) * dim];
            let mut best = (f64::NEG_INFINITY, 0u32);
            for c in 0..n_topics {
                let s = cosine(row, &cents[c * dim..(c + 1) * dim]);
                if s > best.0 {
                    best = (s, c as u32);
                }
            }
            if best.0 >= min_similarity {
                out[r] = Some(best.1);
                by_similarity += 1;
            } else {
                rest.push((best.0, r, best.1));
            }
        }
        let cap = (max_unassigned * n as f64).floor() as usize;
        if rest.len() > cap {
            rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let take = rest.len() - cap;
            for &(_, r, t) in &rest[..take] {
                out[r] = Some(t);
            }
            to_cap = take;
        }
    }
    let unassigned = out.iter().filter(|t| t.is_none()).count();
    Reassigned {
        assignment: out,
        by_similarity,
        to_cap,
        unassigned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_first_then_the_cap() {
        // Two topics along x and y; rows 2..6 are noise.
        let e: Vec<f32> = vec![
            1.0, 0.0, // 0: topic 0
            0.0, 1.0, // 1: topic 1
            0.9, 0.1, // 2: close to topic 0 (cos 0.994)
            0.6, 0.8, // 3: topic 1 by cos 0.8
            -1.0, 0.05, // 4: far from both (cos 0.05 to y)
            -1.0, -0.2, // 5: farthest (cos ≤ 0)
            -0.7, 0.7, // 6: cos 0.707 to y
            -1.0, 0.0, // 7: cos −1 to x, 0 to y
        ];
        let a = vec![Some(0), Some(1), None, None, None, None, None, None];
        let r = reassign(&e, 2, &a, 2, 0.5, 0.25);
        assert_eq!(r.by_similarity, 3); // rows 2, 3, 6
        assert_eq!(r.assignment[2], Some(0));
        assert_eq!(r.assignment[3], Some(1));
        assert_eq!(r.assignment[6], Some(1));
        // 3 left (4, 5, 7), cap floor(0.25 · 8) = 2: the closest one (row 4) joins.
        assert_eq!(r.to_cap, 1);
        assert_eq!(r.assignment[4], Some(1));
        assert_eq!(r.unassigned, 2);
        assert_eq!(r.assignment[5], None);
        assert_eq!(r.assignment[7], None);
    }

    #[test]
    fn no_topics_nothing_to_do() {
        let r = reassign(&[1.0, 0.0], 2, &[None], 0, 0.5, 0.1);
        assert_eq!((r.by_similarity, r.to_cap, r.unassigned), (0, 0, 1));
    }
}

//! HDBSCAN* (R. Campello, D. Moulavi, J. Sander, "Density-based clustering based on
//! hierarchical density estimates", PAKDD 2013), computed as the `hdbscan` Python package
//! (L. McInnes, J. Healy, S. Astels, JOSS 2017) does with `min_cluster_size = m`,
//! `min_samples = m`, `cluster_selection_method = "eom"`, `allow_single_cluster = False`,
//! Euclidean distance:
//!
//! 1. core distance of a point = distance to its `min_samples`-th nearest *other* point
//!    (the package's `KDTree.query(k = min_samples + 1)[:, -1]`; capped at n − 1);
//! 2. minimum spanning tree of the mutual-reachability graph
//!    (max(core a, core b, d(a, b))) by Prim's algorithm on the dense graph, O(n²),
//!    starting at point 0, the next point the closest (lowest index on ties);
//! 3. single-linkage tree (edges sorted by weight, stable, so ties keep Prim's order);
//! 4. condensed tree: walking down from the root, a split where both sides have at least
//!    `min_cluster_size` points makes two new clusters, a smaller side "falls out" as
//!    points at λ = 1 / distance (distances below 1e-12, i.e. duplicates, count as 1e-12
//!    so λ stays finite);
//! 5. stability of a cluster = Σ over its points and child clusters (λ_leave − λ_birth) ·
//!    size; excess-of-mass selection from the leaves up, the root never selected;
//! 6. a point's label is its nearest selected ancestor, −1 (noise) when it has none.
//!
//! Labels are numbered 0.. in the order of their condensed-tree clusters (as the package
//! numbers them). Everything is deterministic: ties go to the lower index.
//!
//! **Large inputs.** Prim's on the dense graph is O(n²) time and O(n) memory; above
//! `max_fit` points, [`cluster`] fits on a deterministic subsample, every ⌈n / max_fit⌉-th
//! point in input order (so at most `max_fit` points), and labels each other point with
//! the label of its nearest fitted point (lowest index on ties) when that point is not
//! noise and the distance is at most its core distance, i.e. when the point would lie
//! inside that fitted point's core neighbourhood; otherwise it is noise. Core distances and
//! that labelling run on threads by blocks of rows, each row computed alone, so the thread
//! count changes nothing.

use crate::num::sq_dist;
use crate::reduce::threads;

/// The result of [`cluster`].
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Per input point: cluster 0.., or −1 for noise.
    pub labels: Vec<i64>,
    /// Number of clusters.
    pub clusters: usize,
    /// Indices of the points HDBSCAN was fitted on (all of them when n ≤ `max_fit`).
    pub fitted: Vec<usize>,
}

const MIN_DIST: f64 = 1e-12;

/// Runs `f(i)` for every `i in 0..n` on threads by contiguous blocks; results in order.
pub(crate) fn par_map<T: Send, F: Fn(usize) -> T + Sync>(n: usize, f: F) -> Vec<T> {
    let t = threads().min(n.max(1));
    if t <= 1 || n < 256 {
        return (0..n).map(f).collect();
    }
    let block = n.div_ceil(t);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..t)
            .map(|w| {
                s.spawn(move || {
                    (w * block..((w + 1) * block).min(n))
                        .map(f)
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Core distances of the `n` points (`dim` columns) with `min_samples` neighbours.
pub fn core_distances(points: &[f64], dim: usize, min_samples: usize) -> Vec<f64> {
    let n = points.len() / dim.max(1);
    if n < 2 {
        return vec![0.0; n];
    }
    let k = min_samples.clamp(1, n - 1);
    par_map(n, |i| {
        let a = &points[i * dim..(i + 1) * dim];
        let mut d: Vec<f64> = (0..n)
            .filter(|&j| j != i)
            .map(|j| sq_dist(a, &points[j * dim..(j + 1) * dim]))
            .collect();
        let (_, kth, _) = d.select_nth_unstable_by(k - 1, f64::total_cmp);
        kth.sqrt()
    })
}

/// HDBSCAN labels (−1 noise) of all `n` points, and their core distances.
pub fn hdbscan(
    points: &[f64],
    dim: usize,
    min_cluster_size: usize,
    min_samples: usize,
) -> (Vec<i64>, Vec<f64>) {
    let n = points.len() / dim.max(1);
    let core = core_distances(points, dim, min_samples);
    if n < 2 || n < min_cluster_size {
        return (vec![-1; n], core);
    }
    let mst = prim(points, dim, &core);
    let hierarchy = single_linkage(n, mst);
    let condensed = condense(n, &hierarchy, min_cluster_size.max(2));
    (select_eom(n, &condensed), core)
}

/// (a, b, weight) edges of the mutual-reachability MST, in Prim's order.
fn prim(points: &[f64], dim: usize, core: &[f64]) -> Vec<(usize, usize, f64)> {
    let n = core.len();
    let mut in_tree = vec![false; n];
    let mut best = vec![f64::INFINITY; n];
    let mut from = vec![0usize; n];
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    let mut cur = 0usize;
    in_tree[0] = true;
    for _ in 1..n {
        let a = &points[cur * dim..(cur + 1) * dim];
        let mut next = usize::MAX;
        let mut next_d = f64::INFINITY;
        for j in 0..n {
            if in_tree[j] {
                continue;
            }
            let d = sq_dist(a, &points[j * dim..(j + 1) * dim]).sqrt();
            let mr = d.max(core[cur]).max(core[j]);
            if mr < best[j] {
                best[j] = mr;
                from[j] = cur;
            }
            if next == usize::MAX || best[j] < next_d {
                next = j;
                next_d = best[j];
            }
        }
        edges.push((from[next], next, next_d));
        in_tree[next] = true;
        cur = next;
    }
    edges
}

/// One merge of the single-linkage tree: children (points < n, merges n + i), distance, size.
#[derive(Debug, Clone, Copy)]
struct Merge {
    left: usize,
    right: usize,
    dist: f64,
    size: usize,
}

fn single_linkage(n: usize, mut mst: Vec<(usize, usize, f64)>) -> Vec<Merge> {
    mst.sort_by(|x, y| x.2.total_cmp(&y.2));
    let mut parent: Vec<usize> = (0..2 * n - 1).collect();
    let mut size = vec![1usize; 2 * n - 1];
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        let mut root = x;
        while parent[root] != root {
            root = parent[root];
        }
        while parent[x] != root {
            let p = parent[x];
            parent[x] = root;
            x = p;
        }
        root
    }
    let mut out = Vec::with_capacity(n - 1);
    for (i, (a, b, w)) in mst.into_iter().enumerate() {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        let node = n + i;
        parent[ra] = node;
        parent[rb] = node;
        size[node] = size[ra] + size[rb];
        out.push(Merge {
            left: ra,
            right: rb,
            dist: w,
            size: size[node],
        });
    }
    out
}

/// A row of the condensed tree: cluster `parent` (labels n..) loses `child` (a point < n
/// or a cluster ≥ n) at `lambda`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    parent: usize,
    child: usize,
    lambda: f64,
    size: usize,
}

fn condense(n: usize, h: &[Merge], min_size: usize) -> Vec<Row> {
    let root = 2 * n - 2;
    let node_size = |x: usize| if x < n { 1 } else { h[x - n].size };
    let mut relabel = vec![0usize; 2 * n - 1];
    relabel[root] = n;
    let mut next_label = n + 1;
    let mut ignore = vec![false; 2 * n - 1];
    let mut rows = Vec::new();
    // Breadth-first from the root, left before right, as the package walks it.
    let bfs = |start: usize| -> Vec<usize> {
        let mut out = Vec::new();
        let mut level = vec![start];
        while !level.is_empty() {
            out.extend_from_slice(&level);
            level = level
                .iter()
                .filter(|&&x| x >= n)
                .flat_map(|&x| [h[x - n].left, h[x - n].right])
                .collect();
        }
        out
    };
    for node in bfs(root) {
        if node < n || ignore[node] {
            continue;
        }
        let m = h[node - n];
        let lambda = 1.0 / m.dist.max(MIN_DIST);
        let (l, r) = (m.left, m.right);
        let (ls, rs) = (node_size(l), node_size(r));
        let me = relabel[node];
        let fall_out = |side: usize, rows: &mut Vec<Row>, ignore: &mut Vec<bool>| {
            for sub in bfs(side) {
                if sub < n {
                    rows.push(Row {
                        parent: me,
                        child: sub,
                        lambda,
                        size: 1,
                    });
                }
                ignore[sub] = true;
            }
        };
        if ls >= min_size && rs >= min_size {
            for (side, s) in [(l, ls), (r, rs)] {
                relabel[side] = next_label;
                next_label += 1;
                rows.push(Row {
                    parent: me,
                    child: relabel[side],
                    lambda,
                    size: s,
                });
            }
        } else if ls < min_size && rs < min_size {
            fall_out(l, &mut rows, &mut ignore);
            fall_out(r, &mut rows, &mut ignore);
        } else if ls < min_size {
            relabel[r] = me;
            fall_out(l, &mut rows, &mut ignore);
        } else {
            relabel[l] = me;
            fall_out(r, &mut rows, &mut ignore);
        }
    }
    rows
}

/// Excess-of-mass selection and labelling (−1 noise), clusters numbered in label order.
fn select_eom(n: usize, rows: &[Row]) -> Vec<i64> {
    let max_label = rows
        .iter()
        .map(|r| r.parent.max(r.child))
        .max()
        .unwrap_or(n);
    let clusters = max_label + 1 - n; // labels n..=max_label
    let mut birth = vec![0.0f64; clusters];
    let mut parent_of = vec![usize::MAX; clusters];
    for r in rows.iter().filter(|r| r.child >= n) {
        birth[r.child - n] = r.lambda;
        parent_of[r.child - n] = r.parent - n;
    }
    let mut stability = vec![0.0f64; clusters];
    for r in rows {
        stability[r.parent - n] += (r.lambda - birth[r.parent - n]) * r.size as f64;
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); clusters];
    for r in rows.iter().filter(|r| r.child >= n) {
        children[r.parent - n].push(r.child - n);
    }
    let mut selected = vec![false; clusters];
    // Children have larger labels than their parents: go from the last label down,
    // leaving out the root (label 0 here).
    for c in (1..clusters).rev() {
        let sub: f64 = children[c].iter().map(|&k| stability[k]).sum();
        if sub > stability[c] {
            stability[c] = sub;
        } else {
            selected[c] = true;
            let mut stack = children[c].clone();
            while let Some(k) = stack.pop() {
                selected[k] = false;
                stack.extend_from_slice(&children[k]);
            }
        }
    }
    // Nearest selected ancestor (or self) of every cluster, parents before children.
    let mut owner = vec![usize::MAX; clusters];
    for c in 1..clusters {
        owner[c] = if selected[c] { c } else { owner[parent_of[c]] };
    }
    let mut number = vec![-1i64; clusters];
    let mut next = 0;
    for c in 0..clusters {
        if selected[c] {
            number[c] = next;
            next += 1;
        }
    }
    let mut labels = vec![-1i64; n];
    for r in rows.iter().filter(|r| r.child < n) {
        let o = owner[r.parent - n];
        if o != usize::MAX {
            labels[r.child] = number[o];
        }
    }
    labels
}

/// HDBSCAN with `min_cluster_size = min_samples = min_size` on the `n` points (`dim`
/// columns), fitted on at most `max_fit` of them (see the module doc).
pub fn cluster(points: &[f64], dim: usize, min_size: usize, max_fit: usize) -> Clustering {
    let n = points.len() / dim.max(1);
    let stride = n.div_ceil(max_fit.max(1)).max(1);
    let fitted: Vec<usize> = (0..n).step_by(stride).collect();
    let sub: Vec<f64> = if stride == 1 {
        points.to_vec()
    } else {
        fitted
            .iter()
            .flat_map(|&i| points[i * dim..(i + 1) * dim].iter().copied())
            .collect()
    };
    let (sub_labels, core) = hdbscan(&sub, dim, min_size, min_size);
    let labels = if stride == 1 {
        sub_labels
    } else {
        par_map(n, |i| {
            if i.is_multiple_of(stride) {
                return sub_labels[i / stride];
            }
            let a = &points[i * dim..(i + 1) * dim];
            let mut best = (f64::INFINITY, 0usize);
            for (f, &j) in fitted.iter().enumerate() {
                let d = sq_dist(a, &points[j * dim..(j + 1) * dim]);
                if d < best.0 {
                    best = (d, f);
                }
            }
            let (d, f) = best;
            if sub_labels[f] >= 0 && d.sqrt() <= core[f] {
                sub_labels[f]
            } else {
                -1
            }
        })
    };
    let clusters = labels
        .iter()
        .copied()
        .max()
        .map_or(0, |m| (m + 1).max(0) as usize);
    Clustering {
        labels,
        clusters,
        fitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::{Normal as _, SplitMix64};

    fn blobs(centers: &[(f64, f64)], per: usize, sd: f64, seed: u64) -> (Vec<f64>, Vec<usize>) {
        let mut rng = SplitMix64::new(seed);
        let mut pts = Vec::new();
        let mut truth = Vec::new();
        for (c, &(x, y)) in centers.iter().enumerate() {
            for _ in 0..per {
                pts.push(x + sd * rng.normal());
                pts.push(y + sd * rng.normal());
                truth.push(c);
            }
        }
        (pts, truth)
    }

    #[test]
    fn core_distance_is_the_kth_other_neighbour() {
        let pts = [0.0, 1.0, 3.0, 7.0];
        assert_eq!(core_distances(&pts, 1, 1), vec![1.0, 1.0, 2.0, 4.0]);
        assert_eq!(core_distances(&pts, 1, 2), vec![3.0, 2.0, 3.0, 6.0]);
        assert_eq!(core_distances(&pts, 1, 9), vec![7.0, 6.0, 4.0, 7.0]);
    }

    #[test]
    fn finds_three_blobs_and_noise() {
        let (mut pts, truth) = blobs(&[(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)], 40, 0.7, 3);
        // Two far-away points: noise.
        pts.extend_from_slice(&[30.0, 30.0, -30.0, 25.0]);
        let c = cluster(&pts, 2, 10, 20_000);
        assert_eq!(c.clusters, 3);
        assert_eq!(c.labels[120], -1);
        assert_eq!(c.labels[121], -1);
        for blob in 0..3 {
            let ls: Vec<i64> = (0..120)
                .filter(|&i| truth[i] == blob)
                .map(|i| c.labels[i])
                .collect();
            let first = ls[0];
            assert!(first >= 0);
            assert!(ls.iter().filter(|&&l| l == first).count() >= 36, "{ls:?}");
        }
        assert_eq!(c, cluster(&pts, 2, 10, 20_000));
    }

    #[test]
    fn subsample_fit_labels_the_rest() {
        let (pts, truth) = blobs(&[(0.0, 0.0), (10.0, 0.0)], 150, 0.7, 4);
        let full = cluster(&pts, 2, 10, 20_000);
        let sub = cluster(&pts, 2, 10, 100);
        assert_eq!(sub.fitted.len(), 100);
        assert_eq!(sub.clusters, 2);
        let agree = (0..300)
            .filter(|&i| sub.labels[i] >= 0 && full.labels[i] >= 0)
            .filter(|&i| (sub.labels[i] == sub.labels[0]) == (truth[i] == 0))
            .count();
        assert!(agree >= 270, "{agree}");
    }

    #[test]
    fn one_tight_group_is_not_a_cluster_of_its_own() {
        // allow_single_cluster = False: uniform noise gives no cluster, or several small.
        let pts: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let c = cluster(&pts, 1, 40, 20_000);
        assert_eq!(c.clusters, 0);
        assert!(c.labels.iter().all(|&l| l == -1));
    }

    #[test]
    fn duplicates_keep_lambda_finite() {
        let mut pts = vec![0.0; 40];
        pts.extend(std::iter::repeat_n(5.0, 40));
        let c = cluster(&pts, 1, 10, 20_000);
        assert_eq!(c.clusters, 2);
        assert!(c.labels[..40].iter().all(|&l| l == c.labels[0]));
        assert!(c.labels[40..]
            .iter()
            .all(|&l| l == c.labels[40] && l != c.labels[0]));
    }
}

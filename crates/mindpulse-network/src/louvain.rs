//! Communities by the Louvain method on the graph made undirected, and Newman's
//! modularity of a partition.
//!
//! The algorithm follows NetworkX 3.4's `louvain_communities` (Blondel, Guillaume,
//! Lambiotte & Lefebvre, "Fast unfolding of communities in large networks", J. Stat.
//! Mech. P10008, 2008) on the undirected graph: each level visits the nodes in a seeded
//! random order and moves each to the neighbouring community of largest positive
//! modularity gain (NetworkX's gain formula; ties: the first neighbour community met);
//! then communities become nodes (internal weight as a self-loop) and the next level
//! starts; it stops when a level raises modularity by no more than [`THRESHOLD`]
//! (NetworkX's default 1e-7). Two differences: the random order is a SplitMix64 stream,
//! not Python's Mersenne Twister; and within a level, instead of sweeping all nodes again
//! until a sweep moves none, a node is revisited only when a neighbour has moved away
//! from its community's reach (the "fast local moving" queue of Traag, Waltman & van Eck
//! 2019 and Ozaki, Tezuka & Inaba 2016), which ends at the same kind of local optimum
//! (no single move gains) in a fraction of the work. The queue runs in rounds: the first
//! visits every node in the seeded order, each next one the nodes queued during the
//! previous round, again in the seeded order. So partitions differ from NetworkX's, but
//! their modularity is as good (the crate's NetworkX test checks this).
//!
//! For speed (5 million edges in well under a second on one core), each level's nodes
//! are numbered in its seeded random order (the undirected graph is built renumbered,
//! and each level's communities get a fresh seeded order as the next level's nodes), so
//! a round walks the arrays front to back; the best move maximises
//! w(u, c) − Σ_c · γ d_u / 2m (NetworkX's gain times m, without divisions) with per-
//! community scratch in flat arrays; levels are aggregated by a counting sort of the
//! edges by community, and a level's modularity is read off the aggregated graph. Every
//! sum runs in a fixed order on one thread: a seed gives the same partition, to the bit.
//!
//! Louvain rather than Leiden (Traag, Waltman & van Eck, Sci. Rep. 9:5233, 2019): Leiden
//! guarantees connected communities and usually gains a little modularity, but Louvain
//! is the method NetworkX ships and researchers cite, and it is what this crate is checked
//! against; `mindpulse bench network` reports igraph's Leiden next to it.

use crate::graph::Undirected;
use crate::rng::SplitMix64;
use crate::{Graph, NetworkError};

/// A level stops the algorithm when it raises modularity by no more than this.
pub const THRESHOLD: f64 = 1e-7;

/// Marks a community not met yet among the current node's neighbours (weights are ≥ 0).
const UNSEEN: f64 = -1.0;

fn check_resolution(resolution: f64) -> Result<(), NetworkError> {
    if resolution.is_finite() && resolution >= 0.0 {
        Ok(())
    } else {
        Err(NetworkError::InvalidParameter(format!(
            "resolution = {resolution} is not a finite number ≥ 0"
        )))
    }
}

/// Community of every node (indexed like [`Graph::nodes`]) by Louvain on the undirected
/// graph (an edge {u, v} weighs w(u→v) + w(v→u)), at `resolution` γ (1 = classic
/// modularity; larger gives smaller communities). The same seed gives the same partition.
/// Communities are numbered by size, largest first (ties: the one holding the lowest
/// node index first). A graph without edge weight gives every node its own community.
pub fn communities(g: &Graph, seed: u64, resolution: f64) -> Result<Vec<u32>, NetworkError> {
    check_resolution(resolution)?;
    let n = g.node_count();
    let mut rng = SplitMix64::new(seed);
    // Level nodes are numbered in the seeded random visiting order, so that a level's
    // sweep walks its arrays front to back.
    let mut order: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut order);
    let mut level = Undirected::from_graph_in_order(g, &order);
    let m = level.total;
    // Level node of every graph node.
    let mut assign = vec![0u32; n];
    for (i, &u) in order.iter().enumerate() {
        assign[u as usize] = i as u32;
    }
    drop(order);
    if m > 0.0 {
        let mut q = singleton_modularity(&level, m, resolution);
        loop {
            let (com, improved) = one_level(&level, m, resolution);
            // Communities numbered in a fresh seeded random order: the next level's.
            let (mut com, k) = renumber_dense(&com, level.node_count());
            let mut shuffled: Vec<u32> = (0..k as u32).collect();
            rng.shuffle(&mut shuffled);
            for c in &mut com {
                *c = shuffled[*c as usize];
            }
            for a in &mut assign {
                *a = com[*a as usize];
            }
            if !improved {
                break;
            }
            let next = aggregate(&level, &com, k);
            let new_q = singleton_modularity(&next, m, resolution);
            if new_q - q <= THRESHOLD {
                break;
            }
            q = new_q;
            level = next;
        }
    }
    Ok(by_size(&assign))
}

/// Modularity of a partition of the undirected graph (as NetworkX's
/// `nx.community.modularity` on it): Q = Σ_c [L_c / m − γ (K_c / 2m)²], L_c the weight of
/// edges inside c (a self-loop once), K_c the sum of its nodes' degrees (a self-loop
/// twice), m the total weight. `communities[i]` is node i's label (any `u32`s). 0 for a
/// graph without edge weight.
pub fn modularity(g: &Graph, communities: &[u32], resolution: f64) -> Result<f64, NetworkError> {
    check_resolution(resolution)?;
    if communities.len() != g.node_count() {
        return Err(NetworkError::LengthMismatch {
            what: "communities",
            got: communities.len(),
            nodes: g.node_count(),
        });
    }
    let u = Undirected::from_graph(g);
    if u.total <= 0.0 {
        return Ok(0.0);
    }
    let (com, k) = renumber(communities);
    Ok(level_modularity(&u, &com, k, u.total, resolution))
}

/// Labels compressed to 0..k in increasing label order, and k.
fn renumber(labels: &[u32]) -> (Vec<u32>, usize) {
    let mut uniq = labels.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    let com = labels
        .iter()
        .map(|l| uniq.binary_search(l).map_or(0, |i| i as u32))
        .collect();
    (com, uniq.len())
}

/// Relabels by community size, largest first, ties by lowest member.
fn by_size(labels: &[u32]) -> Vec<u32> {
    let (com, k) = renumber(labels);
    let mut size = vec![0usize; k];
    let mut first = vec![usize::MAX; k];
    for (i, &c) in com.iter().enumerate() {
        size[c as usize] += 1;
        first[c as usize] = first[c as usize].min(i);
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_unstable_by_key(|&c| (std::cmp::Reverse(size[c]), first[c]));
    let mut new = vec![0u32; k];
    for (rank, &c) in order.iter().enumerate() {
        new[c] = rank as u32;
    }
    com.iter().map(|&c| new[c as usize]).collect()
}

/// Modularity of `com` (labels 0..k) on a level graph of total weight m.
fn level_modularity(level: &Undirected, com: &[u32], k: usize, m: f64, res: f64) -> f64 {
    let mut inner = vec![0.0; k];
    let mut deg = vec![0.0; k];
    for u in 0..level.node_count() {
        let c = com[u] as usize;
        deg[c] += level.degree[u];
        let mut twice = 0.0;
        for e in level.offsets[u]..level.offsets[u + 1] {
            if com[level.nbrs[e] as usize] as usize == c {
                twice += level.weights[e];
            }
        }
        inner[c] += level.self_loop[u] + twice / 2.0;
    }
    let norm = 1.0 / (4.0 * m * m);
    inner
        .iter()
        .zip(&deg)
        .map(|(l, d)| l / m - res * d * d * norm)
        .sum()
}

/// One Louvain level (NetworkX's `_one_level`): the community of every level node, and
/// whether any node moved.
fn one_level(level: &Undirected, m: f64, res: f64) -> (Vec<u32>, bool) {
    let n = level.node_count();
    let mut com: Vec<u32> = (0..n as u32).collect();
    // Per community: [weight from the current node (UNSEEN when not yet met), total degree],
    // side by side, so the gain of a community reads one cache line.
    let mut acc: Vec<[f64; 2]> = level.degree.iter().map(|&d| [UNSEEN, d]).collect();
    let max_row = (0..n)
        .map(|u| level.offsets[u + 1] - level.offsets[u])
        .max()
        .unwrap_or(0);
    // The current node's neighbour communities (row order), and the distinct ones in the
    // order first met.
    let mut nbr_com: Vec<u32> = Vec::with_capacity(max_row);
    let mut touched: Vec<u32> = vec![0; max_row + 1];
    // Moving u from its community to c gains (NetworkX's formula)
    //   [w(u, c) − w(u, c_u∖u)] / m − γ d_u [Σ_c − Σ_{c_u∖u}] / (2m²),
    // so the best c maximises w(u, c) − Σ_c · γ d_u / (2m); staying scores the same way.
    let scale = res / (2.0 * m);
    let mut improved = false;
    // Fast local moving in rounds: the first holds every node in index order (the seeded
    // order); a node that moves queues its neighbours outside its new community that are
    // not queued already, and each round visits the nodes queued during the previous one,
    // in index order.
    let mut round: Vec<u32> = (0..n as u32).collect();
    let mut next: Vec<u32> = Vec::new();
    let mut queued = vec![true; n];
    while !round.is_empty() {
        for &u in &round {
            let u = u as usize;
            queued[u] = false;
            let cu = com[u];
            let deg = level.degree[u];
            let row = level.offsets[u]..level.offsets[u + 1];
            let nbrs = &level.nbrs[row.clone()];
            let weights = &level.weights[row];
            // Gather first (independent loads), then accumulate in row order.
            nbr_com.clear();
            nbr_com.extend(nbrs.iter().map(|&v| com[v as usize]));
            let mut len = 0;
            for (&c, &w) in nbr_com.iter().zip(weights) {
                let slot = &mut acc[c as usize];
                let fresh = slot[0] == UNSEEN;
                touched[len] = c;
                len += fresh as usize;
                slot[0] = if fresh { 0.0 } else { slot[0] } + w;
            }
            let k = deg * scale;
            let own = &mut acc[cu as usize];
            own[1] -= deg;
            let mut best = if own[0] == UNSEEN { 0.0 } else { own[0] } - own[1] * k;
            let mut best_c = cu;
            for &c in &touched[..len] {
                let slot = &mut acc[c as usize];
                let score = slot[0] - slot[1] * k;
                slot[0] = UNSEEN;
                if score > best {
                    best = score;
                    best_c = c;
                }
            }
            acc[best_c as usize][1] += deg;
            if best_c != cu {
                com[u] = best_c;
                improved = true;
                for (&v, &c) in nbrs.iter().zip(&nbr_com) {
                    if c != best_c && !queued[v as usize] {
                        queued[v as usize] = true;
                        next.push(v);
                    }
                }
            }
        }
        next.sort_unstable();
        std::mem::swap(&mut round, &mut next);
        next.clear();
    }
    (com, improved)
}

/// The level graph whose nodes are the communities `com` (0..k) of `level`: a community's
/// self-loop is the weight inside it, its row the summed weight to each other community
/// (in the order first met walking its members by index, then their rows).
fn aggregate(level: &Undirected, com: &[u32], k: usize) -> Undirected {
    // Counting sort of the rows' entries by the community of their node: bucket c gets
    // (community of the neighbour, weight) for every edge leaving c, by node then row.
    let mut start = vec![0usize; k + 1];
    for (u, &c) in com.iter().enumerate() {
        start[c as usize + 1] += level.offsets[u + 1] - level.offsets[u];
    }
    for c in 0..k {
        start[c + 1] += start[c];
    }
    let mut fill = start[..k].to_vec();
    let mut to = vec![0u32; start[k]];
    let mut weight = vec![0.0f64; start[k]];
    let mut self_w = vec![0.0f64; k];
    let mut twice = vec![0.0f64; k];
    for (u, &c) in com.iter().enumerate() {
        let c = c as usize;
        self_w[c] += level.self_loop[u];
        let row = level.offsets[u]..level.offsets[u + 1];
        for (&v, &w) in level.nbrs[row.clone()].iter().zip(&level.weights[row]) {
            let d = com[v as usize];
            if d as usize == c {
                twice[c] += w;
            } else {
                to[fill[c]] = d;
                weight[fill[c]] = w;
                fill[c] += 1;
            }
        }
    }
    let mut out = Undirected {
        offsets: Vec::with_capacity(k + 1),
        total: level.total,
        ..Default::default()
    };
    out.offsets.push(0);
    let mut nbw = vec![UNSEEN; k];
    let mut touched: Vec<u32> = Vec::new();
    for c in 0..k {
        for (&d, &w) in to[start[c]..fill[c]].iter().zip(&weight[start[c]..fill[c]]) {
            let slot = &mut nbw[d as usize];
            if *slot == UNSEEN {
                *slot = 0.0;
                touched.push(d);
            }
            *slot += w;
        }
        let loop_w = self_w[c] + twice[c] / 2.0;
        let mut deg = 2.0 * loop_w;
        for d in touched.drain(..) {
            let w = std::mem::replace(&mut nbw[d as usize], UNSEEN);
            out.nbrs.push(d);
            out.weights.push(w);
            deg += w;
        }
        out.offsets.push(out.nbrs.len());
        out.self_loop.push(loop_w);
        out.degree.push(deg);
    }
    out
}

/// Modularity of the partition of a level graph into single nodes (the partition of the
/// original graph that the level stands for): Σ_c [L_c / m − γ (K_c / 2m)²].
fn singleton_modularity(level: &Undirected, m: f64, res: f64) -> f64 {
    let norm = 1.0 / (4.0 * m * m);
    level
        .self_loop
        .iter()
        .zip(&level.degree)
        .map(|(l, d)| l / m - res * d * d * norm)
        .sum()
}

/// Labels below `n` compressed to 0..k in increasing label order, and k (linear time).
fn renumber_dense(labels: &[u32], n: usize) -> (Vec<u32>, usize) {
    let mut new = vec![u32::MAX; n];
    for &l in labels {
        new[l as usize] = 0;
    }
    let mut k = 0u32;
    for x in &mut new {
        if *x == 0 {
            *x = k;
            k += 1;
        }
    }
    (
        labels.iter().map(|&l| new[l as usize]).collect(),
        k as usize,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two 5-cliques joined by one edge (both directions of every edge).
    fn barbell() -> Graph {
        let mut e = Vec::new();
        for base in [0, 5] {
            for i in 0..5 {
                for j in 0..5 {
                    if i != j {
                        e.push((format!("n{}", base + i), format!("n{}", base + j), 1.0));
                    }
                }
            }
        }
        e.push(("n4".into(), "n5".into(), 1.0));
        Graph::from_edges(e).unwrap()
    }

    #[test]
    fn finds_the_two_cliques() {
        let g = barbell();
        for seed in 0..10 {
            let c = communities(&g, seed, 1.0).unwrap();
            let a = c[g.node_index("n0").unwrap() as usize];
            let b = c[g.node_index("n9").unwrap() as usize];
            assert_ne!(a, b);
            for i in 0..5 {
                assert_eq!(c[g.node_index(&format!("n{i}")).unwrap() as usize], a);
                assert_eq!(c[g.node_index(&format!("n{}", i + 5)).unwrap() as usize], b);
            }
            // Undirected: each clique weighs 20 (10 edges of 1 + 1), the bridge 1, m = 41;
            // each side L = 20, K = 2 · 20 + 1.
            let q = modularity(&g, &c, 1.0).unwrap();
            let expect = 2.0 * (20.0 / 41.0 - (41.0f64 / 82.0).powi(2));
            assert!((q - expect).abs() < 1e-12, "{q} vs {expect}");
        }
    }

    #[test]
    fn modularity_known_values() {
        let g = barbell();
        let all = vec![7u32; g.node_count()];
        // One community: Q = 1 − 1 = 0.
        assert!(modularity(&g, &all, 1.0).unwrap().abs() < 1e-15);
        // Resolution 0: Q = fraction of weight inside communities.
        let single: Vec<u32> = (0..g.node_count() as u32).collect();
        assert_eq!(modularity(&g, &single, 0.0).unwrap(), 0.0);
        assert!(modularity(&g, &all[1..], 1.0).is_err());
        assert!(modularity(&g, &all, f64::NAN).is_err());
        // Self-loop: one node with a loop of weight 2 and nothing else: L = 2, K = 4, m = 2.
        let l = Graph::from_edges([("a", "a", 2.0)]).unwrap();
        assert_eq!(modularity(&l, &[0], 1.0).unwrap(), 0.0);
    }

    #[test]
    fn edge_cases_do_not_panic() {
        assert!(communities(&Graph::default(), 1, 1.0).unwrap().is_empty());
        let iso = Graph::from_indexed_edges(vec!["b".into(), "a".into()], &[]).unwrap();
        assert_eq!(communities(&iso, 1, 1.0).unwrap(), [0, 1]);
        let zero = Graph::from_edges([("a", "b", 0.0)]).unwrap();
        assert_eq!(communities(&zero, 1, 1.0).unwrap(), [0, 1]);
        assert_eq!(modularity(&zero, &[0, 0], 1.0).unwrap(), 0.0);
        let loops = Graph::from_edges([("a", "a", 1.0), ("b", "b", 1.0)]).unwrap();
        let c = communities(&loops, 1, 1.0).unwrap();
        assert_ne!(c[0], c[1]);
        assert!(communities(&loops, 1, -1.0).is_err());
    }

    #[test]
    fn deterministic_per_seed_and_numbered_by_size() {
        let n = 400;
        let mut r = SplitMix64::new(11);
        let names: Vec<String> = (0..n).map(|i| format!("{i:04}")).collect();
        let edges: Vec<(u32, u32, f64)> = (0..3000)
            .map(|_| {
                let a = r.below(n);
                // Mostly within blocks of 40.
                let b = if r.next_f64() < 0.9 {
                    (a / 40) * 40 + r.below(40)
                } else {
                    r.below(n)
                };
                (a as u32, b as u32, 1.0)
            })
            .collect();
        let g = Graph::from_indexed_edges(names, &edges).unwrap();
        let a = communities(&g, 5, 1.0).unwrap();
        assert_eq!(a, communities(&g, 5, 1.0).unwrap());
        let mut sizes = vec![0usize; *a.iter().max().unwrap() as usize + 1];
        for &c in &a {
            sizes[c as usize] += 1;
        }
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
        let q = modularity(&g, &a, 1.0).unwrap();
        assert!(
            q > 0.7,
            "planted blocks should give high modularity, got {q}"
        );
        // Higher resolution: at least as many communities.
        let fine = communities(&g, 5, 4.0).unwrap();
        assert!(fine.iter().max() >= a.iter().max());
    }
}

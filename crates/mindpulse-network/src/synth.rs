//! Seeded synthetic interaction graphs with the shape of real reply/repost networks, for
//! tests and `mindpulse bench network`: heavy-tailed in- and out-degrees, reciprocity,
//! planted communities, repeated interactions.
//!
//! Every node gets a popularity (how often it is answered) and an activity (how often it
//! acts), both Pareto-distributed, so degrees follow power laws as in Twitter/Reddit
//! interaction graphs (the "fitness" or "hidden variable" model of Caldarelli, Capocci,
//! De Los Rios & Muñoz, PRL 89:258702, 2002, the static form of preferential attachment).
//! Nodes belong to communities of Pareto-distributed sizes. An act picks its author by
//! activity and, with probability 1 − `mixing`, a target in the author's community, else
//! anywhere, by popularity; with probability `reciprocity` the target answers back. Each
//! row carries a count of acts (1 + geometric), and the same pair can occur in several
//! rows (they are summed when the graph is built). No self-loops.

use crate::rng::SplitMix64;

/// Parameters of [`social_graph`].
#[derive(Debug, Clone, PartialEq)]
pub struct SocialSpec {
    /// Number of authors (nodes; some may end up without edges).
    pub nodes: usize,
    /// Number of edge rows.
    pub edges: usize,
    /// Number of planted communities (≥ 1).
    pub communities: usize,
    /// Probability that an act leaves the author's community.
    pub mixing: f64,
    /// Probability that an act is answered back (adds a reverse row).
    pub reciprocity: f64,
    /// Seed: the graph depends on nothing else.
    pub seed: u64,
}

impl SocialSpec {
    /// `edges` rows on edges / 10 authors in about one community per 1,000 authors,
    /// 20 % of acts across communities, 25 % answered back.
    pub fn with_edges(edges: usize, seed: u64) -> Self {
        let nodes = (edges / 10).max(2);
        Self {
            nodes,
            edges,
            communities: (nodes / 1000).max(1),
            mixing: 0.2,
            reciprocity: 0.25,
            seed,
        }
    }
}

/// A generated graph: node ids (16 hex digits, pseudonym-like, in generation order),
/// edge rows as indices into them, and each node's planted community.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    /// Node ids.
    pub nodes: Vec<String>,
    /// (from, to, acts) rows.
    pub edges: Vec<(u32, u32, f64)>,
    /// Planted community of each node.
    pub planted: Vec<u32>,
}

/// Pareto(x_min = 1) with tail exponent `a` (density ∝ x^−(a+1)).
fn pareto(r: &mut SplitMix64, a: f64) -> f64 {
    (1.0 - r.next_f64()).powf(-1.0 / a)
}

/// Cumulative sums of `w`.
fn cumulative(w: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect()
}

/// An index in `lo..hi` drawn with probability ∝ its weight.
fn draw(r: &mut SplitMix64, cum: &[f64], lo: usize, hi: usize) -> usize {
    let base = if lo == 0 { 0.0 } else { cum[lo - 1] };
    let x = base + r.next_f64() * (cum[hi - 1] - base);
    (lo + cum[lo..hi].partition_point(|&c| c <= x)).min(hi - 1)
}

/// The graph of `spec` (empty when it has fewer than 2 nodes).
pub fn social_graph(spec: &SocialSpec) -> Synthetic {
    let n = spec.nodes.min(u32::MAX as usize - 1);
    let mut r = SplitMix64::new(spec.seed);
    let salt = r.next_u64();
    let nodes: Vec<String> = (0..n as u64)
        .map(|i| format!("{:016x}", SplitMix64::new(i ^ salt).next_u64()))
        .collect();
    if n < 2 {
        return Synthetic {
            nodes,
            edges: Vec::new(),
            planted: vec![0; n],
        };
    }
    // Community sizes: Pareto weights, at least 2 members each, contiguous ranges.
    let k = spec.communities.clamp(1, n / 2);
    let cw: Vec<f64> = (0..k).map(|_| pareto(&mut r, 1.5)).collect();
    let total: f64 = cw.iter().sum();
    let spare = n - 2 * k;
    let mut start = Vec::with_capacity(k + 1);
    start.push(0usize);
    let mut acc = 0.0;
    for (c, w) in cw.iter().enumerate() {
        acc += w;
        let end = if c + 1 == k {
            n
        } else {
            2 * (c + 1) + ((acc / total) * spare as f64) as usize
        };
        start.push(end.max(start[c] + 2).min(n));
    }
    let mut planted = vec![0u32; n];
    for c in 0..k {
        for p in &mut planted[start[c]..start[c + 1]] {
            *p = c as u32;
        }
    }
    let popularity: Vec<f64> = (0..n).map(|_| pareto(&mut r, 1.2)).collect();
    let activity: Vec<f64> = (0..n).map(|_| pareto(&mut r, 1.5)).collect();
    let pop = cumulative(&popularity);
    let act = cumulative(&activity);
    let acts = |r: &mut SplitMix64| {
        let mut w = 1.0;
        while w < 50.0 && r.next_f64() < 0.35 {
            w += 1.0;
        }
        w
    };
    let mut edges = Vec::with_capacity(spec.edges);
    let mut tries = 0usize;
    while edges.len() < spec.edges && tries < 4 * spec.edges + 100 {
        tries += 1;
        let a = draw(&mut r, &act, 0, n);
        let c = planted[a] as usize;
        let b = if r.next_f64() >= spec.mixing {
            draw(&mut r, &pop, start[c], start[c + 1])
        } else {
            draw(&mut r, &pop, 0, n)
        };
        if a == b {
            continue;
        }
        let w = acts(&mut r);
        edges.push((a as u32, b as u32, w));
        if edges.len() < spec.edges && r.next_f64() < spec.reciprocity {
            let w = acts(&mut r);
            edges.push((b as u32, a as u32, w));
        }
    }
    Synthetic {
        nodes,
        edges,
        planted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{communities, degrees, modularity, Graph};

    #[test]
    fn shape_of_the_graph() {
        let spec = SocialSpec::with_edges(50_000, 9);
        let s = social_graph(&spec);
        assert_eq!(s, social_graph(&spec));
        assert_eq!(s.edges.len(), 50_000);
        assert_eq!(s.nodes.len(), 5_000);
        assert!(s.edges.iter().all(|&(a, b, w)| a != b && w >= 1.0));
        let g = Graph::from_indexed_edges(s.nodes.clone(), &s.edges).unwrap();
        assert_eq!(g.node_count(), 5_000);
        let d = degrees(&g);
        // Heavy tail: the top in-degree is far above the mean.
        let max = d.in_count.iter().copied().max().unwrap() as f64;
        let mean = g.edge_count() as f64 / 5_000.0;
        assert!(max > 20.0 * mean, "max {max} mean {mean}");
        // Reciprocity: a good share of edges have their reverse.
        let recip = g
            .edges()
            .filter(|&(a, b, _)| g.out_edges(b).0.binary_search(&a).is_ok())
            .count() as f64
            / g.edge_count() as f64;
        assert!(recip > 0.15, "reciprocity {recip}");
        // Planted communities: modularity clearly positive, and Louvain finds at least as good.
        let planted: Vec<u32> = {
            let mut p = vec![0; g.node_count()];
            for (i, id) in s.nodes.iter().enumerate() {
                p[g.node_index(id).unwrap() as usize] = s.planted[i];
            }
            p
        };
        let q_planted = modularity(&g, &planted, 1.0).unwrap();
        assert!(q_planted > 0.4, "{q_planted}");
        let found = communities(&g, 1, 1.0).unwrap();
        assert!(modularity(&g, &found, 1.0).unwrap() >= q_planted - 0.01);
    }

    #[test]
    fn tiny_specs() {
        for nodes in [0, 1, 2, 3] {
            let s = social_graph(&SocialSpec {
                nodes,
                edges: 10,
                communities: 5,
                mixing: 0.5,
                reciprocity: 0.5,
                seed: 1,
            });
            assert_eq!(s.nodes.len(), nodes);
            assert!(s
                .edges
                .iter()
                .all(|&(a, b, _)| (a as usize) < nodes && (b as usize) < nodes));
        }
    }
}

//! The directed, weighted interaction graph in compressed sparse row (CSR) form, both ways
//! round (out-edges and in-edges), and its undirected view for community detection.
//!
//! Node ids are strings (pseudonyms), interned to `u32` indices in sorted id order, so the
//! same edges give the same graph, with the same indices, whatever order they come in.
//! Parallel edges are summed into one; self-loops are kept (as NetworkX keeps them).

use crate::NetworkError;
use std::collections::HashMap;

/// A directed, weighted graph between string-named nodes.
///
/// Node `i` is `nodes()[i]`; the nodes are sorted by id (byte order). Each (source,
/// target) pair is one edge whose weight is the sum of the weights given for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    nodes: Vec<String>,
    out_offsets: Vec<usize>,
    out_targets: Vec<u32>,
    out_weights: Vec<f64>,
    in_offsets: Vec<usize>,
    in_sources: Vec<u32>,
    in_weights: Vec<f64>,
}

fn check_weight(from: &str, to: &str, weight: f64) -> Result<(), NetworkError> {
    if weight.is_finite() && weight >= 0.0 {
        Ok(())
    } else {
        Err(NetworkError::InvalidWeight {
            from: from.to_string(),
            to: to.to_string(),
            weight,
        })
    }
}

/// Builds a [`Graph`] edge by edge from string ids, without allocating an id twice.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    index: HashMap<String, u32>,
    names: Vec<String>,
    edges: Vec<(u32, u32, f64)>,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node (an author with no interaction yet) and returns its provisional index;
    /// adding an existing node does nothing.
    pub fn add_node(&mut self, id: &str) -> Result<u32, NetworkError> {
        if let Some(&i) = self.index.get(id) {
            return Ok(i);
        }
        let i = u32::try_from(self.names.len())
            .ok()
            .filter(|&i| i < u32::MAX)
            .ok_or(NetworkError::TooManyNodes)?;
        self.index.insert(id.to_string(), i);
        self.names.push(id.to_string());
        Ok(i)
    }

    /// Adds `weight` acts from `from` to `to` (weights must be finite and ≥ 0; 0 is kept
    /// as an edge that carries no weight).
    pub fn add_edge(&mut self, from: &str, to: &str, weight: f64) -> Result<(), NetworkError> {
        check_weight(from, to, weight)?;
        let a = self.add_node(from)?;
        let b = self.add_node(to)?;
        self.edges.push((a, b, weight));
        Ok(())
    }

    /// The finished graph.
    pub fn build(self) -> Graph {
        // The names are distinct (interned) and the indices in range: this cannot fail.
        Graph::assemble(self.names, self.edges)
    }
}

impl Graph {
    /// The graph of these `(from, to, weight)` edges; nodes are the ids that occur.
    pub fn from_edges<I, S>(edges: I) -> Result<Graph, NetworkError>
    where
        I: IntoIterator<Item = (S, S, f64)>,
        S: AsRef<str>,
    {
        let mut b = GraphBuilder::new();
        for (from, to, w) in edges {
            b.add_edge(from.as_ref(), to.as_ref(), w)?;
        }
        Ok(b.build())
    }

    /// The graph on the nodes `nodes` (distinct ids, any order; nodes without edges are
    /// kept) with edges given as indices into `nodes`. The fast path for large inputs.
    pub fn from_indexed_edges(
        nodes: Vec<String>,
        edges: &[(u32, u32, f64)],
    ) -> Result<Graph, NetworkError> {
        let n = nodes.len();
        if n >= u32::MAX as usize {
            return Err(NetworkError::TooManyNodes);
        }
        let mut sorted: Vec<&String> = nodes.iter().collect();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(NetworkError::DuplicateNode(w[0].clone()));
        }
        for (index, &(a, b, w)) in edges.iter().enumerate() {
            for node in [a, b] {
                if node as usize >= n {
                    return Err(NetworkError::NodeOutOfRange {
                        index,
                        node,
                        nodes: n,
                    });
                }
            }
            check_weight(&nodes[a as usize], &nodes[b as usize], w)?;
        }
        Ok(Graph::assemble(nodes, edges.to_vec()))
    }

    /// Sorts the nodes, remaps the edges, and builds both CSR directions. Preconditions:
    /// distinct names, indices in range, valid weights.
    fn assemble(names: Vec<String>, mut edges: Vec<(u32, u32, f64)>) -> Graph {
        let n = names.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        let mut rank = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        let mut names: Vec<Option<String>> = names.into_iter().map(Some).collect();
        let nodes: Vec<String> = order
            .iter()
            .map(|&old| names[old as usize].take().unwrap_or_default())
            .collect();
        for e in &mut edges {
            e.0 = rank[e.0 as usize];
            e.1 = rank[e.1 as usize];
        }
        // Counting sort by source, then each row by target (stable: parallel edges are
        // summed in input order).
        let mut counts = vec![0usize; n + 1];
        for e in &edges {
            counts[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut rows: Vec<(u32, f64)> = vec![(0, 0.0); edges.len()];
        for &(a, b, w) in &edges {
            rows[next[a as usize]] = (b, w);
            next[a as usize] += 1;
        }
        drop(edges);
        let mut out_offsets = Vec::with_capacity(n + 1);
        let mut out_targets = Vec::with_capacity(rows.len());
        let mut out_weights = Vec::with_capacity(rows.len());
        out_offsets.push(0);
        for u in 0..n {
            let row = &mut rows[counts[u]..counts[u + 1]];
            row.sort_by_key(|e| e.0);
            for &(t, w) in row.iter() {
                if out_targets.len() > out_offsets[u] && out_targets.last() == Some(&t) {
                    if let Some(last) = out_weights.last_mut() {
                        *last += w;
                    }
                } else {
                    out_targets.push(t);
                    out_weights.push(w);
                }
            }
            out_offsets.push(out_targets.len());
        }
        drop(rows);
        // Transpose: walking sources in order leaves every in-row sorted by source.
        let mut in_offsets = vec![0usize; n + 1];
        for &t in &out_targets {
            in_offsets[t as usize + 1] += 1;
        }
        for i in 0..n {
            in_offsets[i + 1] += in_offsets[i];
        }
        let mut fill = in_offsets.clone();
        let mut in_sources = vec![0u32; out_targets.len()];
        let mut in_weights = vec![0.0f64; out_targets.len()];
        for u in 0..n {
            for k in out_offsets[u]..out_offsets[u + 1] {
                let t = out_targets[k] as usize;
                in_sources[fill[t]] = u as u32;
                in_weights[fill[t]] = out_weights[k];
                fill[t] += 1;
            }
        }
        Graph {
            nodes,
            out_offsets,
            out_targets,
            out_weights,
            in_offsets,
            in_sources,
            in_weights,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of distinct directed edges (parallel edges count once; self-loops count).
    pub fn edge_count(&self) -> usize {
        self.out_targets.len()
    }

    /// Node ids, sorted; node `i` is `nodes()[i]`.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// Index of node `id` (binary search), if it is in the graph.
    pub fn node_index(&self, id: &str) -> Option<u32> {
        self.nodes
            .binary_search_by(|n| n.as_str().cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    /// Targets and weights of node `u`'s out-edges, sorted by target.
    /// Panics if `u` is not a node index (`u < node_count()`).
    pub fn out_edges(&self, u: u32) -> (&[u32], &[f64]) {
        let r = self.out_offsets[u as usize]..self.out_offsets[u as usize + 1];
        (&self.out_targets[r.clone()], &self.out_weights[r])
    }

    /// Sources and weights of node `v`'s in-edges, sorted by source.
    /// Panics if `v` is not a node index (`v < node_count()`).
    pub fn in_edges(&self, v: u32) -> (&[u32], &[f64]) {
        let r = self.in_offsets[v as usize]..self.in_offsets[v as usize + 1];
        (&self.in_sources[r.clone()], &self.in_weights[r])
    }

    /// Every edge as (source, target, weight), by source then target.
    pub fn edges(&self) -> impl Iterator<Item = (u32, u32, f64)> + '_ {
        (0..self.nodes.len()).flat_map(move |u| {
            let (t, w) = self.out_edges(u as u32);
            t.iter().zip(w).map(move |(&t, &w)| (u as u32, t, w))
        })
    }

    pub(crate) fn in_csr(&self) -> (&[usize], &[u32], &[f64]) {
        (&self.in_offsets, &self.in_sources, &self.in_weights)
    }

    pub(crate) fn out_offsets(&self) -> &[usize] {
        &self.out_offsets
    }

    pub(crate) fn out_weights(&self) -> &[f64] {
        &self.out_weights
    }
}

/// The graph made undirected: an edge {u, v} (u ≠ v) weighs w(u→v) + w(v→u); a
/// self-loop keeps its weight. Rows hold no self-loops (they are in `self_loop`);
/// `degree` counts a self-loop twice, as NetworkX's `G.degree(weight=...)` does, and
/// `total` is the total edge weight m (Σ degree = 2m).
#[derive(Debug, Clone, Default)]
pub(crate) struct Undirected {
    pub offsets: Vec<usize>,
    pub nbrs: Vec<u32>,
    pub weights: Vec<f64>,
    pub self_loop: Vec<f64>,
    pub degree: Vec<f64>,
    pub total: f64,
}

impl Undirected {
    pub fn node_count(&self) -> usize {
        self.self_loop.len()
    }

    /// Merges each node's sorted out-row and in-row.
    pub fn from_graph(g: &Graph) -> Undirected {
        let identity: Vec<u32> = (0..g.node_count() as u32).collect();
        Undirected::from_graph_in_order(g, &identity)
    }

    /// The undirected graph with its nodes renumbered: node `i` is the graph's node
    /// `order[i]` (`order` a permutation of the node indices). Each row lists the merged
    /// out- and in-neighbours in the graph's node order, renumbered.
    pub fn from_graph_in_order(g: &Graph, order: &[u32]) -> Undirected {
        let n = g.node_count();
        debug_assert_eq!(order.len(), n);
        let mut rank = vec![0u32; n];
        for (i, &u) in order.iter().enumerate() {
            rank[u as usize] = i as u32;
        }
        // Two passes over the graph in its own order (reading its arrays front to back):
        // the length of every merged row, then the rows, each written where its node's
        // new number puts it.
        let mut offsets = vec![0usize; n + 1];
        for u in 0..n as u32 {
            let mut len = 0;
            merge_rows(g, u, |_, _| len += 1);
            offsets[rank[u as usize] as usize + 1] = len;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut nbrs = vec![0u32; offsets[n]];
        let mut weights = vec![0.0f64; offsets[n]];
        let mut self_loop = vec![0.0; n];
        let mut degree = vec![0.0; n];
        for u in 0..n as u32 {
            let i = rank[u as usize] as usize;
            let mut at = offsets[i];
            let mut deg = 0.0;
            let lp = merge_rows(g, u, |v, w| {
                nbrs[at] = rank[v as usize];
                weights[at] = w;
                at += 1;
                deg += w;
            });
            self_loop[i] = lp;
            degree[i] = deg + 2.0 * lp;
        }
        let total = g.out_weights().iter().sum();
        Undirected {
            offsets,
            nbrs,
            weights,
            self_loop,
            degree,
            total,
        }
    }
}

/// Walks node u's out-row and in-row (both sorted) together, calling `f(v, weight)` for
/// every neighbour v ≠ u in increasing order (w(u→v) + w(v→u)); returns u's self-loop
/// weight (0 without one).
#[inline(always)]
fn merge_rows(g: &Graph, u: u32, mut f: impl FnMut(u32, f64)) -> f64 {
    let (ot, ow) = g.out_edges(u);
    let (it, iw) = g.in_edges(u);
    let (mut a, mut b) = (0, 0);
    let mut self_loop = 0.0;
    loop {
        // Node indices are below u32::MAX, so it marks an exhausted row.
        let x = ot.get(a).copied().unwrap_or(u32::MAX);
        let y = it.get(b).copied().unwrap_or(u32::MAX);
        if x == y {
            if x == u32::MAX {
                break;
            }
            a += 1;
            b += 1;
            if x == u {
                // u→u appears in both rows: one self-loop.
                self_loop = ow[a - 1];
            } else {
                f(x, ow[a - 1] + iw[b - 1]);
            }
        } else if x < y {
            a += 1;
            f(x, ow[a - 1]);
        } else {
            b += 1;
            f(y, iw[b - 1]);
        }
    }
    self_loop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g() -> Graph {
        Graph::from_edges([
            ("b", "a", 1.0),
            ("a", "b", 2.0),
            ("a", "b", 0.5),
            ("c", "c", 3.0),
            ("a", "c", 1.0),
            ("d", "a", 0.0),
        ])
        .unwrap()
    }

    #[test]
    fn nodes_are_sorted_and_parallel_edges_summed() {
        let g = g();
        assert_eq!(g.nodes(), ["a", "b", "c", "d"]);
        assert_eq!(g.node_count(), 4);
        assert_eq!(g.edge_count(), 5);
        assert_eq!(g.out_edges(0), (&[1u32, 2][..], &[2.5, 1.0][..]));
        assert_eq!(g.in_edges(0), (&[1u32, 3][..], &[1.0, 0.0][..]));
        assert_eq!(g.in_edges(2), (&[0u32, 2][..], &[1.0, 3.0][..]));
        assert_eq!(g.node_index("c"), Some(2));
        assert_eq!(g.node_index("zz"), None);
        let all: Vec<_> = g.edges().collect();
        assert_eq!(all.len(), 5);
        assert_eq!(all[0], (0, 1, 2.5));
    }

    #[test]
    fn input_order_does_not_matter() {
        let mut e = vec![
            ("x", "y", 1.0),
            ("y", "z", 2.0),
            ("z", "x", 3.0),
            ("x", "y", 1.0),
        ];
        let a = Graph::from_edges(e.clone()).unwrap();
        e.reverse();
        assert_eq!(a, Graph::from_edges(e).unwrap());
    }

    #[test]
    fn bad_weights_and_indices_are_errors() {
        for w in [f64::NAN, f64::INFINITY, -1.0] {
            assert!(matches!(
                Graph::from_edges([("a", "b", w)]),
                Err(NetworkError::InvalidWeight { .. })
            ));
        }
        let names = vec!["a".to_string(), "b".to_string()];
        assert!(matches!(
            Graph::from_indexed_edges(names.clone(), &[(0, 2, 1.0)]),
            Err(NetworkError::NodeOutOfRange { node: 2, .. })
        ));
        assert!(matches!(
            Graph::from_indexed_edges(vec!["a".into(), "a".into()], &[]),
            Err(NetworkError::DuplicateNode(_))
        ));
        let g =
            Graph::from_indexed_edges(vec!["z".into(), "iso".into(), "a".into()], &[(0, 2, 1.0)])
                .unwrap();
        assert_eq!(g.nodes(), ["a", "iso", "z"]);
        assert_eq!(g.out_edges(2), (&[0u32][..], &[1.0][..]));
    }

    #[test]
    fn empty_graph() {
        let g = Graph::from_edges(Vec::<(String, String, f64)>::new()).unwrap();
        assert_eq!((g.node_count(), g.edge_count()), (0, 0));
        let u = Undirected::from_graph(&g);
        assert_eq!(u.node_count(), 0);
        assert_eq!(u.total, 0.0);
    }

    #[test]
    fn undirected_view_sums_both_directions() {
        let u = Undirected::from_graph(&g());
        // a: b (2.5 + 1), c (1), d (0)
        assert_eq!(&u.nbrs[u.offsets[0]..u.offsets[1]], &[1, 2, 3]);
        assert_eq!(&u.weights[u.offsets[0]..u.offsets[1]], &[3.5, 1.0, 0.0]);
        // c: a (1) and a self-loop of 3, counted twice in the degree.
        assert_eq!(&u.nbrs[u.offsets[2]..u.offsets[3]], &[0]);
        assert_eq!(u.self_loop[2], 3.0);
        assert_eq!(u.degree[2], 7.0);
        assert_eq!(u.total, 7.5);
        assert_eq!(u.degree.iter().sum::<f64>(), 2.0 * u.total);
    }

    #[test]
    fn renumbered_undirected_view() {
        let g = g();
        let u = Undirected::from_graph(&g);
        let order = [2u32, 0, 3, 1];
        let p = Undirected::from_graph_in_order(&g, &order);
        let rank = [1u32, 3, 0, 2];
        assert_eq!(p.total, u.total);
        for (i, &old) in order.iter().enumerate() {
            let o = old as usize;
            assert_eq!(p.self_loop[i], u.self_loop[o]);
            assert_eq!(p.degree[i], u.degree[o]);
            let got: Vec<(u32, f64)> = (p.offsets[i]..p.offsets[i + 1])
                .map(|e| (p.nbrs[e], p.weights[e]))
                .collect();
            let want: Vec<(u32, f64)> = (u.offsets[o]..u.offsets[o + 1])
                .map(|e| (rank[u.nbrs[e] as usize], u.weights[e]))
                .collect();
            assert_eq!(got, want);
        }
    }
}

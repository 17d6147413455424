//! In- and out-degrees, weighted (acts) and unweighted (distinct partners).

use crate::Graph;

/// Degrees of every node, indexed like [`Graph::nodes`]. A self-loop counts once in each
/// direction (as in NetworkX's `DiGraph.in_degree`/`out_degree`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Degrees {
    /// Σ weights of in-edges (acts received).
    pub in_degree: Vec<f64>,
    /// Σ weights of out-edges (acts made).
    pub out_degree: Vec<f64>,
    /// Number of distinct authors who act towards the node.
    pub in_count: Vec<u32>,
    /// Number of distinct authors the node acts towards.
    pub out_count: Vec<u32>,
}

/// Weighted and unweighted in- and out-degrees.
pub fn degrees(g: &Graph) -> Degrees {
    let n = g.node_count() as u32;
    let mut d = Degrees::default();
    for u in 0..n {
        let (ot, ow) = g.out_edges(u);
        let (it, iw) = g.in_edges(u);
        d.out_degree.push(ow.iter().sum());
        d.in_degree.push(iw.iter().sum());
        d.out_count.push(ot.len() as u32);
        d.in_count.push(it.len() as u32);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_and_unweighted() {
        let g = Graph::from_edges([
            ("a", "b", 2.0),
            ("a", "b", 1.0),
            ("a", "a", 1.0),
            ("c", "b", 0.5),
        ])
        .unwrap();
        let d = degrees(&g);
        assert_eq!(d.out_degree, [4.0, 0.0, 0.5]);
        assert_eq!(d.in_degree, [1.0, 3.5, 0.0]);
        assert_eq!(d.out_count, [2, 0, 1]);
        assert_eq!(d.in_count, [1, 2, 0]);
        assert_eq!(degrees(&Graph::default()), Degrees::default());
    }
}

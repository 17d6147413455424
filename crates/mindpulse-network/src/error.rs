//! The crate's one error type.

use thiserror::Error;

/// What can go wrong building a graph or running an algorithm on it.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NetworkError {
    /// An edge weight that is NaN, infinite or negative.
    #[error("edge {from:?} -> {to:?} has weight {weight}: weights must be finite and ≥ 0")]
    InvalidWeight {
        /// The edge's source.
        from: String,
        /// The edge's target.
        to: String,
        /// The offending weight.
        weight: f64,
    },
    /// An edge that names a node index outside the node list.
    #[error("edge {index} names node {node}, but the graph has {nodes} nodes")]
    NodeOutOfRange {
        /// Position of the edge in its input.
        index: usize,
        /// The node index it names.
        node: u32,
        /// Number of nodes.
        nodes: usize,
    },
    /// The same node id given twice in a node list.
    #[error("node id {0:?} is given twice")]
    DuplicateNode(String),
    /// More nodes than a `u32` index can hold.
    #[error("more than {} nodes", u32::MAX)]
    TooManyNodes,
    /// A parameter outside its domain (the message says which).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// A per-node vector whose length is not the number of nodes.
    #[error("{what} has {got} entries, the graph has {nodes} nodes")]
    LengthMismatch {
        /// Which vector.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Number of nodes.
        nodes: usize,
    },
    /// Power iteration did not converge (NetworkX raises `PowerIterationFailedConvergence`).
    #[error("PageRank power iteration failed to converge within {0} iterations")]
    NotConverged(usize),
}

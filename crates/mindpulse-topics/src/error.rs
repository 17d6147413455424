//! The crate's one error type.

use thiserror::Error;

/// What can be wrong with the input or the parameters of [`crate::build`].
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TopicsError {
    /// No posts at all.
    #[error("no posts to find topics in")]
    Empty,
    /// The embedding matrix does not have `rows × dim` entries, or `dim` is 0.
    #[error("embeddings have {got} values, expected {rows} rows × {dim} dimensions")]
    DimMismatch {
        /// Number of values given.
        got: usize,
        /// Number of posts (ids).
        rows: usize,
        /// The stated dimension.
        dim: usize,
    },
    /// A per-post slice whose length is not the number of posts.
    #[error("{what} has {got} entries, there are {rows} posts")]
    LengthMismatch {
        /// Which slice.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Number of posts.
        rows: usize,
    },
    /// A NaN or infinite embedding value.
    #[error("embedding of row {row} has a non-finite value at dimension {col}")]
    NonFinite {
        /// Row (post position in the input).
        row: usize,
        /// Dimension.
        col: usize,
    },
    /// Post ids must be strictly increasing (the caller sorts by id).
    #[error("post ids must be strictly increasing: row {row} has id {id} after {previous}")]
    IdsNotIncreasing {
        /// Row of the offending id.
        row: usize,
        /// The id before it.
        previous: i64,
        /// The offending id.
        id: i64,
    },
    /// A parameter outside its domain (the message says which).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}

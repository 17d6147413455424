//! mindpulse-topics: what the posts are about, found from their sentence embeddings and
//! described by their words. It computes; it never touches the database (the caller
//! reads the embedded posts out, calls [`build`], and stores or prints the topics).
//!
//! # The model
//!
//! The method is BERTopic's (M. Grootendorst, "BERTopic: neural topic modeling with a
//! class-based TF-IDF procedure", arXiv:2203.05794, 2022) with the two parts that make it
//! irreproducible or lossy replaced:
//!
//! | step | module | what | BERTopic |
//! |---|---|---|---|
//! | 1 | [`reduce`] | PCA of the 384-d embeddings to `dims` (32) components | UMAP to 5 (seeded, still varies across machines and thread counts) |
//! | 2 | [`graph`] | Louvain communities of the 15-nearest-neighbour graph (Jaccard weights, seeded); communities under `min_size` (15) are noise. Or [`cluster`]: HDBSCAN, `min_cluster_size = min_samples = min_size`, excess of mass, on 8 components | HDBSCAN via the `hdbscan` package |
//! | 3 | [`outliers`] | noise posts join the most similar topic centroid (cosine ≥ 0.5), then the closest ones until ≤ 10 % are left | `reduce_outliers(strategy="embeddings")`, optional |
//! | 4 | [`ctfidf`] | class-based TF-IDF keywords over [`words`] tokens | `ClassTfidfTransformer` over a `CountVectorizer` |
//! | – | [`metrics`] | normalized mutual information, to compare with a reference | – |
//!
//! Topics are numbered 0.. by size, largest first (ties: the topic whose smallest post id
//! is smaller first); each comes with its keywords and weights, its centroid (mean
//! embedding) and the ids of the posts closest to that centroid. Posts are "unassigned"
//! when even after step 3 they are not close to any topic, at most `max_unassigned` of
//! them.
//!
//! ```no_run
//! use mindpulse_topics::{build, TopicInput, TopicParams, Words};
//! # let (ids, embeddings, texts): (Vec<i64>, Vec<f32>, Vec<String>) = (vec![], vec![], vec![]);
//! let words = Words::new(); // loads jieba's dictionary: build once
//! let model = build(
//!     TopicInput { ids: &ids, embeddings: &embeddings, dim: 384, texts: &texts },
//!     &TopicParams::default(),
//!     &words,
//! )?;
//! for t in &model.topics {
//!     println!("{} ({} posts): {:?}", t.number, t.size, t.keywords);
//! }
//! # Ok::<(), mindpulse_topics::TopicsError>(())
//! ```
//!
//! # Reproducible to the byte
//!
//! The same input and parameters give the same [`TopicModel`] (compare with `==`) on every
//! machine and thread count: there is no randomness except a fixed-seed start block for
//! PCA's subspace iteration; sums run in a fixed order in `f64` (threads split work by
//! output rows, never a sum); ties are broken by index or word; no hash-map order reaches
//! the output; and the only transcendental function in the output path, the logarithm of
//! c-TF-IDF, is computed from IEEE additions and multiplications ([`num::ln`]) rather than
//! the C library's `ln`, whose last bit varies between platforms.
//!
//! # Errors and small inputs
//!
//! Empty input, a dimension that does not match the embeddings, NaN or infinite values,
//! post ids that are not strictly increasing and out-of-range parameters are
//! [`TopicsError`]s, never panics. Fewer posts than `min_size` is not an error: the model
//! has no topics and every post is unassigned.
//!
//! # Scale
//!
//! PCA's covariance is O(n · d²) (threads by matrix rows); the kNN graph O(n²·d) by brute
//! force on threads (HDBSCAN O(n²) by Prim's algorithm on the dense mutual-reachability
//! graph); all are fitted on at most `max_fit` (20 000) posts, every ⌈n / max_fit⌉-th
//! one, and the other posts take the label most common among their nearest fitted posts
//! (HDBSCAN: of their nearest fitted post when they lie within its core distance; see
//! [`graph`] and [`cluster`]). Tokenizing is linear in the text.

pub mod cluster;
pub mod ctfidf;
mod error;
pub mod graph;
pub mod metrics;
mod model;
pub mod num;
pub mod outliers;
pub mod reduce;
pub mod stopwords;
pub mod words;

pub use ctfidf::Keyword;
pub use error::TopicsError;
pub use metrics::nmi;
pub use model::{build, Method, Topic, TopicInput, TopicModel, TopicParams};
pub use words::{is_stopword, Words};

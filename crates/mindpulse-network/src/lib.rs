//! mindpulse-network: the interaction network between pseudonymous authors, and what
//! researchers compute on it. It computes; it never touches the database (the caller
//! reads the edges out, runs what it needs, and stores or exports the results).
//!
//! # The graph
//!
//! An edge goes from the author who replies to, reposts or mentions to the author
//! answered, reposted or mentioned; its weight is the number of such acts (or any
//! finite weight ≥ 0). [`Graph`] holds the graph in compressed sparse row form both ways
//! round (out-edges and in-edges, `u32` node indices, `f64` weights). Node ids are
//! strings, interned in sorted order, so node `i` is `nodes()[i]` whatever order the edges
//! came in. Parallel edges are summed into one; self-loops are kept, as NetworkX keeps
//! them. A weight that is NaN, infinite or negative is an error
//! ([`NetworkError::InvalidWeight`]), never a panic.
//!
//! ```
//! use mindpulse_network::{Graph, PageRankOptions, pagerank};
//! let g = Graph::from_edges([("ana", "bo", 2.0), ("bo", "ana", 1.0), ("cy", "ana", 1.0)])?;
//! let pr = pagerank(&g, &PageRankOptions::default())?;
//! assert!(pr[0] > pr[2]); // "ana" is answered the most
//! # Ok::<(), mindpulse_network::NetworkError>(())
//! ```
//!
//! # The algorithms
//!
//! | function | what | reference |
//! |---|---|---|
//! | [`pagerank`] | PageRank, exactly as NetworkX 3.4's `nx.pagerank(G, alpha=0.85, weight="weight")` | Page, Brin, Motwani & Winograd 1999; Langville & Meyer 2005 |
//! | [`degrees`] | weighted and unweighted in-/out-degree | |
//! | [`communities`] | Louvain on the undirected graph, seeded, as NetworkX's `louvain_communities` | Blondel et al. 2008 |
//! | [`modularity`] | Newman's modularity with resolution γ | Newman & Girvan 2004; Reichardt & Bornholdt 2006 |
//! | [`force_layout`] | a seeded force-directed drawing of a few hundred nodes (the web interface's graph view) | Fruchterman & Reingold 1991 |
//! | [`write_gexf`], [`write_graphml`] | export for Gephi, Cytoscape, igraph, NetworkX | GEXF 1.3; GraphML 1.0 |
//! | [`synth::social_graph`] | seeded synthetic reply networks for tests and benchmarks | Caldarelli et al. 2002 |
//!
//! **PageRank** (L. Page, S. Brin, R. Motwani, T. Winograd, "The PageRank citation
//! ranking: bringing order to the Web", Stanford InfoLab 1999-66) is the stationary
//! distribution of a random walk that follows an out-edge with probability ∝ its weight
//! with probability α (0.85) and jumps to a uniformly random node otherwise; a node with
//! no out-weight (dangling) jumps uniformly. We compute it as NetworkX 3.4 does
//! (`_pagerank_scipy`; A. Langville, C. Meyer, "A survey of eigenvector methods of web
//! information retrieval", SIAM Review 47(1), 2005): x₀ = 1/N, then
//! x ← α (xᵀ D⁻¹A + (Σ_dangling x) / N) + (1 − α) / N, until Σ|x − x_prev| < N · tol
//! (tol = 1e-6), failing after `max_iter` (100) iterations as NetworkX raises
//! `PowerIterationFailedConvergence`. The crate's test `tests/networkx.rs` runs NetworkX
//! itself and requires every node within 1e-6. The iteration runs on `threads` threads
//! with fixed blocks and a fixed summation order, so the result does not depend on the
//! thread count, to the bit. igraph's default (PRPACK; D. Gleich et al., "Fast parallel
//! PageRank: a linear system approach", 2015) solves the same system to a tighter
//! tolerance, so the two agree to about N · tol / N.
//!
//! **Communities** come from the Louvain method (V. Blondel, J.-L. Guillaume, R. Lambiotte,
//! E. Lefebvre, "Fast unfolding of communities in large networks", J. Stat. Mech. 2008
//! P10008) on the graph made undirected (an edge {u, v} weighs w(u→v) + w(v→u)): local
//! moves of single nodes to the neighbouring community of largest modularity gain, in a
//! seeded random order (a node is visited again only when a neighbour moved: the "fast
//! local moving" queue of Leiden's authors), then aggregation of communities into nodes,
//! level after level, until a level gains no more than 1e-7; NetworkX 3.4's
//! `louvain_communities` takes the same steps (sweeping all nodes until none moves), and
//! its modularity the NetworkX test compares with ours (a seeded
//! heuristic: partitions differ, their quality must not). We chose Louvain over Leiden
//! (V. Traag, L. Waltman, N. van Eck, "From Louvain to Leiden: guaranteeing well-connected
//! communities", Sci. Rep. 9:5233, 2019) because it is what NetworkX offers and what the
//! literature on social-media networks mostly reports; Leiden's connectedness guarantee
//! matters little for the summary statistics we draw, and `mindpulse bench network` shows
//! igraph's Leiden next to ours. Interaction direction is dropped because modularity's
//! directed form (Leicht & Newman, PRL 100:118703, 2008) rewards the same splits in reply
//! networks, where most ties are reciprocated, and the undirected one is what Gephi shows.
//!
//! **Modularity** (M. Newman, M. Girvan, "Finding and evaluating community structure in
//! networks", PRE 69:026113, 2004; resolution γ after J. Reichardt, S. Bornholdt, PRE
//! 74:016110, 2006) is Q = Σ_c [L_c / m − γ (K_c / 2m)²] on the undirected graph, as
//! `nx.community.modularity` computes it.
//!
//! **Export**: GEXF 1.3 (<https://gexf.net/>, what Gephi reads natively) and GraphML
//! (U. Brandes et al., "GraphML progress report", Graph Drawing 2001), both with each
//! node's id as label, any of PageRank, degrees and community as typed attributes, and
//! weighted directed edges.
//!
//! # Scale
//!
//! Everything is linear in the edges (plus sorting them once to build the graph): the
//! graph is arrays of `u32` and `f64`, a PageRank iteration is one pass over the in-edge
//! arrays, and a Louvain pass one over the undirected rows (numbered in the pass's seeded
//! visiting order, so it reads them front to back). `mindpulse bench network` times 5
//! million edges against NetworkX and python-igraph.

mod degree;
mod error;
mod export;
mod graph;
mod layout;
mod louvain;
mod pagerank;
pub mod rng;
pub mod synth;

pub use degree::{degrees, Degrees};
pub use error::NetworkError;
pub use export::{write_gexf, write_graphml, xml_escape, NodeAttrs};
pub use graph::{Graph, GraphBuilder};
pub use layout::force_layout;
pub use louvain::{communities, modularity, THRESHOLD};
pub use pagerank::{pagerank, PageRankOptions, BLOCK};

//! PageRank exactly as NetworkX 3.4 computes `nx.pagerank(G, alpha, weight="weight")`
//! (its `_pagerank_scipy`): power iteration on the row-normalized weighted adjacency
//! matrix, the mass of dangling nodes spread uniformly, uniform teleportation, stop when
//! the L1 change of an iteration is below N·tol, fail after `max_iter` iterations.
//!
//! One iteration is a sparse matrix–vector product over the in-edge CSR. With more than
//! one thread the rows are cut into fixed blocks of [`BLOCK`] nodes and each thread takes
//! a contiguous run of blocks; every row is summed by one thread in in-edge order, and the
//! L1 change is summed per block and then over blocks in order, so the result is the
//! same to the bit whatever the thread count.

use crate::{Graph, NetworkError};

/// Nodes per block of the threaded iteration (and of the L1 sum).
pub const BLOCK: usize = 4096;

/// Parameters of [`pagerank`]; `Default` is NetworkX's defaults with all cores.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRankOptions {
    /// Damping factor, in [0, 1] (NetworkX: 0.85).
    pub alpha: f64,
    /// Convergence when Σ|x − x_prev| < N · tol (NetworkX: 1e-6); > 0.
    pub tol: f64,
    /// Iterations before giving up (NetworkX: 100).
    pub max_iter: usize,
    /// Worker threads; 0 = as many as the machine has.
    pub threads: usize,
}

impl Default for PageRankOptions {
    fn default() -> Self {
        Self {
            alpha: 0.85,
            tol: 1e-6,
            max_iter: 100,
            threads: 0,
        }
    }
}

/// The PageRank of every node, indexed like [`Graph::nodes`], summing to 1.
///
/// Errors: `alpha` outside [0, 1], `tol` not > 0 ([`NetworkError::InvalidParameter`]);
/// no convergence within `max_iter` ([`NetworkError::NotConverged`]). An empty graph
/// gives an empty vector.
pub fn pagerank(g: &Graph, opts: &PageRankOptions) -> Result<Vec<f64>, NetworkError> {
    if !(0.0..=1.0).contains(&opts.alpha) {
        return Err(NetworkError::InvalidParameter(format!(
            "alpha = {} is not in [0, 1]",
            opts.alpha
        )));
    }
    if !(opts.tol > 0.0 && opts.tol.is_finite()) {
        return Err(NetworkError::InvalidParameter(format!(
            "tol = {} is not a positive number",
            opts.tol
        )));
    }
    let n = g.node_count();
    if n == 0 {
        return Ok(Vec::new());
    }
    let alpha = opts.alpha;
    // S = row sums; Q = diag(1/S) where S ≠ 0; A ← Q·A (NetworkX multiplies by 1/S).
    let oo = g.out_offsets();
    let ow = g.out_weights();
    let inv: Vec<f64> = (0..n)
        .map(|u| {
            let s: f64 = ow[oo[u]..oo[u + 1]].iter().sum();
            if s != 0.0 {
                1.0 / s
            } else {
                0.0
            }
        })
        .collect();
    let dangling: Vec<u32> = (0..n as u32).filter(|&u| inv[u as usize] == 0.0).collect();
    let (offsets, sources, weights) = g.in_csr();
    let a: Vec<f64> = sources
        .iter()
        .zip(weights)
        .map(|(&s, &w)| inv[s as usize] * w)
        .collect();
    let p = 1.0 / n as f64;
    let mut x = vec![p; n];
    let mut next = vec![0.0; n];
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |t| t.get()),
        t => t,
    };
    let blocks = n.div_ceil(BLOCK);
    let threads = threads.clamp(1, blocks);
    let per_thread = blocks.div_ceil(threads);
    let csr = Csr {
        offsets,
        sources,
        a: &a,
    };
    let mut partial = vec![0.0f64; blocks];
    for _ in 0..opts.max_iter {
        let dsum: f64 = dangling.iter().map(|&u| x[u as usize]).sum();
        let step = Step {
            csr: &csr,
            x: &x,
            alpha,
            dsum_p: dsum * p,
            one_minus_alpha_p: (1.0 - alpha) * p,
        };
        if threads == 1 {
            step.run(0, &mut next, &mut partial);
        } else {
            std::thread::scope(|s| {
                let chunks = next
                    .chunks_mut(per_thread * BLOCK)
                    .zip(partial.chunks_mut(per_thread));
                for (t, (out, part)) in chunks.enumerate() {
                    let step = &step;
                    s.spawn(move || step.run(t * per_thread * BLOCK, out, part));
                }
            });
        }
        let err: f64 = partial.iter().sum();
        std::mem::swap(&mut x, &mut next);
        if err < n as f64 * opts.tol {
            return Ok(x);
        }
    }
    Err(NetworkError::NotConverged(opts.max_iter))
}

/// The in-edge CSR with normalized weights a_ij = w_ij / S_i.
struct Csr<'a> {
    offsets: &'a [usize],
    sources: &'a [u32],
    a: &'a [f64],
}

/// One power iteration over a run of rows.
struct Step<'a> {
    csr: &'a Csr<'a>,
    x: &'a [f64],
    alpha: f64,
    dsum_p: f64,
    one_minus_alpha_p: f64,
}

impl Step<'_> {
    /// Rows `first .. first + out.len()` into `out`; the L1 change of each block into
    /// `partial` (`first` is a multiple of [`BLOCK`]).
    fn run(&self, first: usize, out: &mut [f64], partial: &mut [f64]) {
        let Csr {
            offsets,
            sources,
            a,
        } = *self.csr;
        for (b, (chunk, err)) in out.chunks_mut(BLOCK).zip(partial.iter_mut()).enumerate() {
            let start = first + b * BLOCK;
            let mut e = 0.0;
            for (k, slot) in chunk.iter_mut().enumerate() {
                let j = start + k;
                let r = offsets[j]..offsets[j + 1];
                let mut acc = 0.0;
                for (&i, &w) in sources[r.clone()].iter().zip(&a[r]) {
                    acc += self.x[i as usize] * w;
                }
                let v = self.alpha * (acc + self.dsum_p) + self.one_minus_alpha_p;
                e += (v - self.x[j]).abs();
                *slot = v;
            }
            *err = e;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn two_cycle_and_symmetry() {
        let g = Graph::from_edges([("a", "b", 1.0), ("b", "a", 1.0)]).unwrap();
        close(
            &pagerank(&g, &PageRankOptions::default()).unwrap(),
            &[0.5, 0.5],
            1e-12,
        );
    }

    #[test]
    fn hand_computed_star_with_dangling_centre() {
        // b → a, c → a; a dangles. Stationary: x_a = 0.05 + 0.85 (x_b + x_c + x_a/3),
        // x_b = x_c = 0.05 + 0.85 x_a / 3 (N = 3).
        let g = Graph::from_edges([("b", "a", 1.0), ("c", "a", 2.0)]).unwrap();
        let opts = PageRankOptions {
            tol: 1e-14,
            max_iter: 1000,
            ..Default::default()
        };
        let x = pagerank(&g, &opts).unwrap();
        let q = 0.85 / 3.0;
        // x_b = 0.05 + q x_a, x_a = 1 − 2 x_b.
        let xa = (1.0 - 0.1) / (1.0 + 2.0 * q);
        let xb = 0.05 + q * xa;
        close(&x, &[xa, xb, xb], 1e-12);
        assert!((x.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bit_identical_across_thread_counts() {
        // A graph of several blocks.
        let n = 3 * BLOCK + 17;
        let mut r = crate::rng::SplitMix64::new(3);
        let names: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let edges: Vec<(u32, u32, f64)> = (0..8 * n)
            .map(|_| {
                (
                    r.below(n) as u32,
                    r.below(n / 3) as u32,
                    (r.below(4) + 1) as f64 * 0.5,
                )
            })
            .collect();
        let g = Graph::from_indexed_edges(names, &edges).unwrap();
        let one = pagerank(
            &g,
            &PageRankOptions {
                threads: 1,
                ..Default::default()
            },
        )
        .unwrap();
        for threads in [2, 3, 5, 64] {
            let t = pagerank(
                &g,
                &PageRankOptions {
                    threads,
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(one.iter().zip(&t).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(
            pagerank(&Graph::default(), &PageRankOptions::default()).unwrap(),
            Vec::<f64>::new()
        );
        // One node, no edges; all dangling; zero weights: uniform.
        let one = Graph::from_indexed_edges(vec!["a".into()], &[]).unwrap();
        close(
            &pagerank(&one, &PageRankOptions::default()).unwrap(),
            &[1.0],
            1e-15,
        );
        let zero = Graph::from_edges([("a", "b", 0.0), ("b", "c", 0.0)]).unwrap();
        let x = pagerank(&zero, &PageRankOptions::default()).unwrap();
        close(&x, &[1.0 / 3.0; 3], 1e-15);
        let self_loop = Graph::from_edges([("a", "a", 1.0), ("b", "a", 1.0)]).unwrap();
        let x = pagerank(&self_loop, &PageRankOptions::default()).unwrap();
        assert!(x[0] > x[1]);
        for bad in [f64::NAN, -0.1, 1.5] {
            let o = PageRankOptions {
                alpha: bad,
                ..Default::default()
            };
            assert!(matches!(
                pagerank(&one, &o),
                Err(NetworkError::InvalidParameter(_))
            ));
        }
        let o = PageRankOptions {
            tol: 0.0,
            ..Default::default()
        };
        assert!(pagerank(&one, &o).is_err());
        let o = PageRankOptions {
            max_iter: 0,
            ..Default::default()
        };
        assert_eq!(pagerank(&one, &o), Err(NetworkError::NotConverged(0)));
        let cyc = Graph::from_edges([
            ("a", "b", 1.0),
            ("b", "c", 1.0),
            ("c", "a", 5.0),
            ("a", "c", 1.0),
        ])
        .unwrap();
        let o = PageRankOptions {
            max_iter: 2,
            tol: 1e-15,
            ..Default::default()
        };
        assert_eq!(pagerank(&cyc, &o), Err(NetworkError::NotConverged(2)));
    }
}

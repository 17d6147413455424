//! Quantized matrix × activations products, parallel over output rows.
//!
//! `y[m × n] = x[m × k] · Wᵀ` where `W` (n rows of k values) stays in its GGUF encoding.
//! The activations are quantized once per row ([`Acts`]); the work is split into tiles of
//! weight rows × token rows so a tile of weights stays in L1 while it meets every token row.
//! Each output value is one call of the same row kernel whatever `m` is, so a token's result
//! does not depend on how the prompt was batched (prefix caching is bit-exact).

use crate::quant::{
    dequantize_row, dot_kernel, quantize_row_q8, quantize_row_q8k, ActKind, BlockQ8, BlockQ8K,
    DotKernel, GgmlType,
};
use rayon::prelude::*;

/// A weight matrix: `rows` rows of `cols` values in the file buffer at `offset`.
#[derive(Debug, Clone)]
pub struct QMatrix {
    pub name: String,
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub offset: usize,
    pub row_bytes: usize,
    kernel: KernelFn,
}

#[derive(Clone, Copy)]
struct KernelFn(DotKernel);

impl std::fmt::Debug for KernelFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DotKernel")
    }
}

impl QMatrix {
    pub fn new(
        name: &str,
        ty: GgmlType,
        rows: usize,
        cols: usize,
        offset: usize,
        simd: bool,
    ) -> QMatrix {
        QMatrix {
            name: name.to_string(),
            ty,
            rows,
            cols,
            offset,
            row_bytes: cols / ty.block_len() * ty.block_bytes(),
            kernel: KernelFn(dot_kernel(ty, simd)),
        }
    }

    fn row<'d>(&self, data: &'d [u8], r: usize) -> &'d [u8] {
        let s = self.offset + r * self.row_bytes;
        &data[s..s + self.row_bytes]
    }

    /// Row `r` as floats.
    pub fn dequantize_row(&self, data: &[u8], r: usize, out: &mut [f32]) {
        dequantize_row(self.ty, self.row(data, r), &mut out[..self.cols]);
    }
}

/// Activation rows encoded for one [`ActKind`].
pub enum Acts {
    F32 { data: Vec<f32>, k: usize },
    Q8 { data: Vec<BlockQ8>, per_row: usize },
    Q8K { data: Vec<BlockQ8K>, per_row: usize },
}

impl Acts {
    /// Encodes `m` rows of `k` values (`x.len() == m * k`).
    pub fn quantize(kind: ActKind, x: &[f32], k: usize) -> Acts {
        let m = x.len() / k;
        match kind {
            ActKind::F32 => Acts::F32 {
                data: x.to_vec(),
                k,
            },
            ActKind::Q8 => {
                let per_row = k / 32;
                let mut data = vec![BlockQ8::default(); m * per_row];
                data.par_chunks_mut(per_row)
                    .zip(x.par_chunks(k))
                    .with_min_len(8)
                    .for_each(|(q, x)| quantize_row_q8(x, q));
                Acts::Q8 { data, per_row }
            }
            ActKind::Q8K => {
                let per_row = k / 256;
                let mut data = vec![BlockQ8K::default(); m * per_row];
                data.par_chunks_mut(per_row)
                    .zip(x.par_chunks(k))
                    .with_min_len(8)
                    .for_each(|(q, x)| quantize_row_q8k(x, q));
                Acts::Q8K { data, per_row }
            }
        }
    }

    pub fn kind(&self) -> ActKind {
        match self {
            Acts::F32 { .. } => ActKind::F32,
            Acts::Q8 { .. } => ActKind::Q8,
            Acts::Q8K { .. } => ActKind::Q8K,
        }
    }
}

/// Raw output pointer shared by the tiles; each tile writes a disjoint set of elements.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: tiles write disjoint (row, column) elements; see `matmul`.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// Tokens per tile: a tile's activations stay in L2 while its weight rows sit in L1.
const TOKEN_TILE: usize = 64;

/// `out[i * n + r] = W[r] · x[i]` for all `m` activation rows. Runs on the current rayon pool.
pub fn matmul(w: &QMatrix, data: &[u8], acts: &Acts, m: usize, out: &mut [f32]) {
    let n_out = w.rows;
    let n = n_out;
    assert_eq!(out.len(), m * n, "{}: output size", w.name);
    assert_eq!(
        acts.kind(),
        w.ty.act_kind(),
        "{}: activation encoding",
        w.name
    );
    let threads = rayon::current_num_threads().max(1);
    // Weight rows per task: enough tasks to balance the threads, few enough to keep the
    // per-task overhead small.
    let target_tasks = threads * if m == 1 { 4 } else { 8 };
    let rows_per_task = (n.div_ceil(target_tasks)).clamp(4, 256).div_ceil(4) * 4;
    let n_tasks = n.div_ceil(rows_per_task);
    let ptr = OutPtr(out.as_mut_ptr());
    let kernel = w.kernel.0;
    (0..n_tasks).into_par_iter().for_each(|t| {
        let r0 = t * rows_per_task;
        let r1 = (r0 + rows_per_task).min(n);
        let p = ptr;
        for i0 in (0..m).step_by(TOKEN_TILE) {
            let i1 = (i0 + TOKEN_TILE).min(m);
            for r in r0..r1 {
                let wr = w.row(data, r);
                let mut i = i0;
                while i < i1 {
                    // Four activation rows per call when the kernel has a 4-row form.
                    let (vals, n): ([f32; 4], usize) = match (kernel, acts) {
                        (DotKernel::Q8(f, four), Acts::Q8 { data, per_row }) => {
                            let row = |i: usize| &data[i * per_row..(i + 1) * per_row];
                            match four {
                                Some(f4) if i + 4 <= i1 => {
                                    (f4(wr, [row(i), row(i + 1), row(i + 2), row(i + 3)]), 4)
                                }
                                _ => ([f(wr, row(i)), 0.0, 0.0, 0.0], 1),
                            }
                        }
                        (DotKernel::Q8K(f, four), Acts::Q8K { data, per_row }) => {
                            let row = |i: usize| &data[i * per_row..(i + 1) * per_row];
                            match four {
                                Some(f4) if i + 4 <= i1 => {
                                    (f4(wr, [row(i), row(i + 1), row(i + 2), row(i + 3)]), 4)
                                }
                                _ => ([f(wr, row(i)), 0.0, 0.0, 0.0], 1),
                            }
                        }
                        (DotKernel::F32(f), Acts::F32 { data, k }) => {
                            ([f(wr, &data[i * k..(i + 1) * k]), 0.0, 0.0, 0.0], 1)
                        }
                        _ => ([f32::NAN; 4], 1), // excluded by the assertion above
                    };
                    for (j, v) in vals.iter().take(n).enumerate() {
                        // SAFETY: i + j < m and r < n, so the index is inside `out`; (i + j, r)
                        // belongs to this task alone (rows r0..r1 are partitioned).
                        unsafe { *p.0.add((i + j) * n_out + r) = *v };
                    }
                    i += n;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{simd_available, GgmlType};

    #[test]
    fn matmul_matches_row_by_row_and_is_batch_independent() {
        let mut rng = crate::quant::tests_support::Rng::new(11);
        let (n, k, m) = (37, 512, 70);
        for ty in [
            GgmlType::Q8_0,
            GgmlType::Q4_K,
            GgmlType::Q6_K,
            GgmlType::F32,
        ] {
            let data =
                crate::quant::tests_support::random_blocks(ty, n * k / ty.block_len(), &mut rng);
            let w = QMatrix::new("w", ty, n, k, 0, simd_available());
            let x: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("pool");
            let mut out = vec![0f32; m * n];
            pool.install(|| {
                let acts = Acts::quantize(ty.act_kind(), &x, k);
                matmul(&w, &data, &acts, m, &mut out);
            });
            // Against dequantized float math.
            let mut row = vec![0f32; k];
            for r in 0..n {
                w.dequantize_row(&data, r, &mut row);
                for i in 0..m {
                    let exact: f32 = row
                        .iter()
                        .zip(&x[i * k..(i + 1) * k])
                        .map(|(a, b)| a * b)
                        .sum();
                    let norm: f32 = row
                        .iter()
                        .zip(&x[i * k..(i + 1) * k])
                        .map(|(a, b)| (a * b).abs())
                        .sum();
                    assert!(
                        (out[i * n + r] - exact).abs() <= 0.02 * norm + 1e-5,
                        "{ty:?} ({i},{r})"
                    );
                }
            }
            // One row at a time gives bit-identical results.
            for i in [0, 33, m - 1] {
                let mut one = vec![0f32; n];
                let acts = Acts::quantize(ty.act_kind(), &x[i * k..(i + 1) * k], k);
                matmul(&w, &data, &acts, 1, &mut one);
                assert_eq!(one, out[i * n..(i + 1) * n].to_vec(), "{ty:?} row {i}");
            }
        }
    }
}

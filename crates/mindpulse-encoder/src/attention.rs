//! Multi-head self-attention over packed variable-length sequences: each sequence attends
//! only to itself, so no padding between sequences is computed. Per sequence and head,
//! `Q·Kᵀ` and `P·V` run on a strided variant of the GEMM micro-kernel; the softmax is vectorized.
//! The `1/√d` scale is folded into the query weights at load time.

use crate::gemm::{tile, AlignedBuf, TileEpilogue, MR, NR};
use crate::kernels::softmax_unnormalized;
use crate::simd::Isa;

/// Reusable buffers (one set per worker thread).
#[derive(Default)]
pub struct AttnScratch {
    inv: Vec<f32>,
    zero: Vec<f32>,
    k: AlignedBuf,
    s: AlignedBuf,
    v: AlignedBuf,
}

/// `ctx[t, h·d..(h+1)·d] = softmax(Q_h Kᵀ_h) V_h` for every sequence `(start, len)` of the
/// packed batch. `qkv` rows hold `[Q | K | V]` (`3·hidden` wide), `ctx` rows are `hidden` wide.
///
/// Only `Kᵀ` is packed (it must be transposed); `Q`, the probabilities and `V` are read in
/// place by the strided micro-kernel. Score rows are padded to a multiple of 16 and the
/// padding masked, so the softmax runs on whole vectors.
pub fn attention(
    isa: Isa,
    qkv: &[f32],
    hidden: usize,
    heads: usize,
    seqs: &[(usize, usize)],
    ctx: &mut [f32],
    sc: &mut AttnScratch,
) {
    let d = hidden / heads;
    let ld = 3 * hidden;
    let v_in_place = d.is_multiple_of(NR);
    for &(start, len) in seqs {
        if len == 0 {
            continue;
        }
        let np = len.div_ceil(NR) * NR; // key columns padded to whole panels
        let dp = d.div_ceil(NR); // value panels
        sc.k.resize(np * d);
        sc.s.resize(len * np);
        sc.inv.resize(len, 0.0);
        sc.zero.resize(d, 0.0);
        if !v_in_place {
            sc.v.resize(dp * NR * len);
        }
        let base = start * ld;
        let rows = &qkv[base..(start + len) * ld];
        for h in 0..heads {
            let (qo, ko, vo) = (h * d, hidden + h * d, 2 * hidden + h * d);
            // Kᵀ_h as B panels: k[jp·d·NR + kk·NR + t] = K[jp·NR + t][kk].
            pack_kt(isa, rows, ld, ko, d, len, sc.k.as_mut_slice(), &sc.zero);
            // S = Q Kᵀ (len × np).
            let s = sc.s.as_mut_slice();
            for ir in (0..len).step_by(MR) {
                let nrows = MR.min(len - ir);
                let a_off = std::array::from_fn(|r| (ir + if r < nrows { r } else { 0 }) * ld + qo);
                for jp in 0..np / NR {
                    tile(
                        isa,
                        d,
                        rows,
                        a_off,
                        sc.k.as_slice(),
                        jp * d * NR,
                        NR,
                        &mut s[ir * np + jp * NR..],
                        np,
                        nrows,
                        NR,
                        &TileEpilogue::PLAIN,
                    );
                }
            }
            // exp(s − max) over the real keys; 1/Σ is applied to P·V's rows.
            softmax_unnormalized(isa, s, np, len, &mut sc.inv);
            // O_h = P V_h into ctx.
            let (vb, v_base, ldb): (&[f32], usize, usize) = if v_in_place {
                (rows, vo, ld)
            } else {
                let v = sc.v.as_mut_slice();
                for jp in 0..dp {
                    let cols = NR.min(d - jp * NR);
                    let panel = &mut v[jp * len * NR..(jp + 1) * len * NR];
                    for kk in 0..len {
                        let src = &rows[kk * ld + vo + jp * NR..kk * ld + vo + jp * NR + cols];
                        let dst = &mut panel[kk * NR..kk * NR + NR];
                        dst[..cols].copy_from_slice(src);
                        dst[cols..].fill(0.0);
                    }
                }
                (sc.v.as_slice(), 0, NR)
            };
            let s = sc.s.as_slice();
            for ir in (0..len).step_by(MR) {
                let nrows = MR.min(len - ir);
                let a_off = std::array::from_fn(|r| (ir + if r < nrows { r } else { 0 }) * np);
                for jp in 0..dp {
                    let cols = NR.min(d - jp * NR);
                    let b_off = if v_in_place {
                        v_base + jp * NR
                    } else {
                        jp * len * NR
                    };
                    let b_ld = if v_in_place { ldb } else { NR };
                    let ep = TileEpilogue {
                        row_scale: Some(&sc.inv[ir..ir + nrows]),
                        ..TileEpilogue::PLAIN
                    };
                    tile(
                        isa,
                        len,
                        s,
                        a_off,
                        vb,
                        b_off,
                        b_ld,
                        &mut ctx[(start + ir) * hidden + h * d + jp * NR..],
                        hidden,
                        nrows,
                        cols,
                        &ep,
                    );
                }
            }
        }
    }
}

/// Packs `K_h` (rows of `rows`, `ld` apart, head columns from `ko`, `d` wide, `len` keys)
/// transposed into `NR`-key panels, zero-padded: `out[jp·d·NR + kk·NR + t] = K[jp·NR + t][kk]`.
/// With AVX2, 8 × 8 blocks are transposed in registers.
#[allow(clippy::too_many_arguments)]
fn pack_kt(
    isa: Isa,
    rows: &[f32],
    ld: usize,
    ko: usize,
    d: usize,
    len: usize,
    out: &mut [f32],
    zero: &[f32],
) {
    let np = len.div_ceil(NR) * NR;
    assert!(out.len() >= np * d && zero.len() >= d && rows.len() >= (len - 1) * ld + ko + d);
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma && d.is_multiple_of(8) {
        for jp in 0..np / NR {
            for half in 0..2 {
                let src: [&[f32]; 8] = std::array::from_fn(|r| {
                    let j = jp * NR + half * 8 + r;
                    if j < len {
                        &rows[j * ld + ko..j * ld + ko + d]
                    } else {
                        &zero[..d]
                    }
                });
                let dst = &mut out[jp * d * NR..(jp + 1) * d * NR];
                // SAFETY: AVX2 detected; each source holds d floats and dst d·NR floats
                // (d a multiple of 8; bounds asserted above and by the slicing).
                unsafe { avx2::transpose_rows(src, d, &mut dst[half * 8..]) };
            }
        }
        return;
    }
    let _ = isa;
    for jp in 0..np / NR {
        let panel = &mut out[jp * d * NR..(jp + 1) * d * NR];
        for t in 0..NR {
            let j = jp * NR + t;
            for kk in 0..d {
                panel[kk * NR + t] = if j < len { rows[j * ld + ko + kk] } else { 0.0 };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use crate::gemm::NR;
    use std::arch::x86_64::*;

    /// Writes element `kk` of the 8 sources to `dst[kk·NR .. kk·NR + 8]`, for kk < d.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn transpose_rows(src: [&[f32]; 8], d: usize, dst: &mut [f32]) {
        assert!(src.iter().all(|s| s.len() >= d) && dst.len() >= (d - 1) * NR + 8);
        let o = dst.as_mut_ptr();
        let mut kk = 0;
        while kk < d {
            let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src[i].as_ptr().add(kk)));
            let cols = crate::simd::avx2::transpose8(r);
            for (i, c) in cols.iter().enumerate() {
                _mm256_storeu_ps(o.add((kk + i) * NR), *c);
            }
            kk += 8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(qkv: &[f32], hidden: usize, heads: usize, seqs: &[(usize, usize)]) -> Vec<f32> {
        let d = hidden / heads;
        let ld = 3 * hidden;
        let total: usize = seqs.iter().map(|s| s.1).sum();
        let mut out = vec![0f32; total * hidden];
        for &(start, len) in seqs {
            for h in 0..heads {
                for i in 0..len {
                    let mut sc = vec![0f64; len];
                    for (j, s) in sc.iter_mut().enumerate() {
                        for kk in 0..d {
                            *s += qkv[(start + i) * ld + h * d + kk] as f64
                                * qkv[(start + j) * ld + hidden + h * d + kk] as f64;
                        }
                    }
                    let max = sc.iter().copied().fold(f64::MIN, f64::max);
                    let sum: f64 = sc.iter().map(|s| (s - max).exp()).sum();
                    for kk in 0..d {
                        let mut o = 0f64;
                        for (j, s) in sc.iter().enumerate() {
                            o += (s - max).exp() / sum
                                * qkv[(start + j) * ld + 2 * hidden + h * d + kk] as f64;
                        }
                        out[(start + i) * hidden + h * d + kk] = o as f32;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_naive_attention() {
        let mut isas = vec![Isa::Scalar];
        if Isa::detect() != Isa::Scalar {
            isas.push(Isa::detect());
        }
        for (hidden, heads) in [(64, 2), (48, 2), (40, 5)] {
            let lens = [1usize, 5, 6, 17, 33];
            let mut seqs = Vec::new();
            let mut t = 0;
            for l in lens {
                seqs.push((t, l));
                t += l;
            }
            let mut s = 12345u32;
            let qkv: Vec<f32> = (0..t * 3 * hidden)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    (s as f32 / u32::MAX as f32 - 0.5) * 3.0
                })
                .collect();
            let want = naive(&qkv, hidden, heads, &seqs);
            for isa in &isas {
                let mut ctx = vec![f32::NAN; t * hidden];
                attention(
                    *isa,
                    &qkv,
                    hidden,
                    heads,
                    &seqs,
                    &mut ctx,
                    &mut AttnScratch::default(),
                );
                for (g, w) in ctx.iter().zip(&want) {
                    assert!(
                        (g - w).abs() < 1e-5,
                        "{isa:?} hidden={hidden} heads={heads}: {g} vs {w}"
                    );
                }
            }
        }
    }
}

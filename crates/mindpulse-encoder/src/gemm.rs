//! Packed single-precision GEMM: `C = act(β·C + A·B + bias)` with `A` row-major
//! (`m × k`, activations) and `B` pre-packed once (weights, `k × n`).
//!
//! Layout and loops follow the BLIS/GotoBLAS scheme, sized for the encoder's shapes
//! (`k, n` ∈ {384, 768, 1152, 1536, 3072}; `m` = all tokens of a batch):
//! * `B` is packed at load time into column panels of [`NR`] = 16 floats, one panel per
//!   `KC`-deep block, so the micro-kernel reads it contiguously (from L1 up to k = 384,
//!   from L2 beyond);
//! * `A` is packed per `MC × KC` block into row panels of [`MR`] = 6 (stays in L2; reading
//!   `A` in place, six row streams at once, measured ~10% slower on the square layers);
//! * the AVX2/FMA micro-kernel keeps a 6 × 16 tile of `C` in 12 ymm registers
//!   (2 loads + 6 broadcasts per 12 FMAs), and fuses the epilogue — accumulate into `C`
//!   (residual connections), bias, GELU — while the tile is still in registers.
//!
//! A scalar kernel with the same packing serves CPUs without AVX2/FMA.

use crate::kernels::Act;
use crate::simd::Isa;

/// Rows of the micro-tile.
pub const MR: usize = 6;
/// Columns of the micro-tile (two ymm registers).
pub const NR: usize = 16;
/// Maximum depth of a packed block. Large on purpose: Zen 3 streams a `KC × NR` panel from L2
/// fast enough, and one block means each `C` tile is finished in registers in one pass
/// (measured 2–8% faster than 256/384 on the 1536-deep down projection).
pub const KC: usize = 1536;
/// Rows of `A` packed per block (`MC × KC` floats stay in L2).
pub const MC: usize = 48;

/// A 64-byte aligned, zero-initialized `f32` buffer.
#[derive(Default, Clone)]
pub struct AlignedBuf {
    raw: Vec<f32>,
    off: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` floats.
    pub fn zeroed(len: usize) -> AlignedBuf {
        let mut b = AlignedBuf::default();
        b.resize(len);
        b
    }

    /// Makes room for `len` floats (contents are unspecified after growing).
    pub fn resize(&mut self, len: usize) {
        if len <= self.raw.len().saturating_sub(self.off) {
            self.len = len;
            return;
        }
        self.raw = vec![0.0; len + 16];
        let addr = self.raw.as_ptr() as usize;
        self.off = ((64 - addr % 64) % 64) / 4;
        self.len = len;
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.raw[self.off..self.off + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.raw[self.off..self.off + self.len]
    }
}

/// `B` (`k × n`) packed into `NR`-wide column panels per `kc`-deep block.
#[derive(Clone)]
pub struct PackedB {
    k: usize,
    n: usize,
    kc: usize,
    panels: usize,
    data: AlignedBuf,
}

impl PackedB {
    /// Packs a PyTorch `Linear` weight (`n × k`, row-major: out × in) as `B = Wᵀ`.
    pub fn from_linear(w: &[f32], n: usize, k: usize) -> PackedB {
        assert_eq!(w.len(), n * k, "weight shape");
        Self::pack(k, n, KC, |kk, j| w[j * k + kk])
    }

    /// Packs a row-major `k × n` matrix.
    pub fn from_kn(b: &[f32], k: usize, n: usize) -> PackedB {
        assert_eq!(b.len(), n * k, "matrix shape");
        Self::pack(k, n, KC, |kk, j| b[kk * n + j])
    }

    fn pack(k: usize, n: usize, kc: usize, at: impl Fn(usize, usize) -> f32) -> PackedB {
        let kc = block_depth(k, kc);
        let panels = n.div_ceil(NR);
        let mut data = AlignedBuf::zeroed(k * panels * NR);
        let d = data.as_mut_slice();
        let mut pc = 0;
        while pc < k {
            let kb = kc.min(k - pc);
            let base = pc * panels * NR;
            for jp in 0..panels {
                let pbase = base + jp * kb * NR;
                for kk in 0..kb {
                    for t in 0..NR {
                        let j = jp * NR + t;
                        d[pbase + kk * NR + t] = if j < n { at(pc + kk, j) } else { 0.0 };
                    }
                }
            }
            pc += kb;
        }
        PackedB {
            k,
            n,
            kc,
            panels,
            data,
        }
    }

    /// Depth `k` (rows of `B`, inner dimension).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Width `n` (columns of `B`, output features).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.as_slice().len() * 4
    }
}

/// Splits `k` into equal blocks of at most `max` (e.g. 384 → 2 × 192, 1536 → 6 × 256).
fn block_depth(k: usize, max: usize) -> usize {
    let blocks = k.div_ceil(max).max(1);
    k.div_ceil(blocks).max(1)
}

/// What happens to a finished tile of `C`.
#[derive(Clone, Copy)]
pub struct Epilogue<'a> {
    /// Added per column (length ≥ n).
    pub bias: Option<&'a [f32]>,
    /// Add the product to what `C` holds (β = 1; e.g. the residual) instead of overwriting it.
    pub accumulate: bool,
    /// Applied last.
    pub act: Act,
}

impl Epilogue<'_> {
    /// Plain `C = A·B`.
    pub const NONE: Epilogue<'static> = Epilogue {
        bias: None,
        accumulate: false,
        act: Act::None,
    };
}

/// `C[m × n] (ldc) = act(β·C + A[m × k] (lda) · B + bias)`; `apack` is scratch.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    isa: Isa,
    m: usize,
    a: &[f32],
    lda: usize,
    b: &PackedB,
    c: &mut [f32],
    ldc: usize,
    ep: Epilogue<'_>,
    apack: &mut AlignedBuf,
) {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    assert!(lda >= k && ldc >= n, "leading dimensions");
    assert!(a.len() >= (m - 1) * lda + k, "A too short");
    assert!(c.len() >= (m - 1) * ldc + n, "C too short");
    if let Some(bias) = ep.bias {
        assert!(bias.len() >= n, "bias too short");
    }
    if k == 0 {
        // Degenerate: C = act(β·C + bias).
        for row in c.chunks_mut(ldc).take(m) {
            for (j, v) in row[..n].iter_mut().enumerate() {
                let x = if ep.accumulate { *v } else { 0.0 } + ep.bias.map_or(0.0, |b| b[j]);
                *v = ep.act.apply_scalar(x);
            }
        }
        return;
    }
    let bdata = b.data.as_slice();
    apack.resize(MC.min(m.div_ceil(MR) * MR) * b.kc);
    let mut ic = 0;
    while ic < m {
        let mc = MC.min(m - ic);
        let mut pc = 0;
        while pc < k {
            let kb = b.kc.min(k - pc);
            let first = pc == 0;
            let last = pc + kb == k;
            let block = pc * b.panels * NR;
            pack_a(isa, &a[ic * lda..], lda, mc, pc, kb, apack.as_mut_slice());
            let ap = apack.as_slice();
            for jp in 0..b.panels {
                let col = jp * NR;
                let cols = NR.min(n - col);
                let tile_ep = TileEpilogue {
                    row_scale: None,
                    load_c: ep.accumulate || !first,
                    bias: if last {
                        ep.bias.map(|bias| &bias[col..col + cols])
                    } else {
                        None
                    },
                    act: if last { ep.act } else { Act::None },
                };
                let b_off = block + jp * kb * NR;
                let mut ir = 0;
                while ir < mc {
                    let rows = MR.min(mc - ir);
                    let row0 = ic + ir;
                    packed_tile(
                        isa,
                        kb,
                        &ap[ir * kb..(ir + MR) * kb],
                        &bdata[b_off..b_off + kb * NR],
                        &mut c[row0 * ldc + col..],
                        ldc,
                        rows,
                        cols,
                        &tile_ep,
                    );
                    ir += MR;
                }
            }
            pc += kb;
        }
        ic += mc;
    }
}

/// Packs rows `0..mc` and columns `pc..pc+kb` of `a` into `MR`-row panels (`kb × MR` each,
/// zero-padded to a whole panel).
fn pack_a(isa: Isa, a: &[f32], lda: usize, mc: usize, pc: usize, kb: usize, out: &mut [f32]) {
    let mut ir = 0;
    while ir < mc {
        let rows = MR.min(mc - ir);
        let dst = &mut out[ir * kb..(ir + MR) * kb];
        if rows == MR {
            let r: [&[f32]; MR] =
                std::array::from_fn(|i| &a[(ir + i) * lda + pc..(ir + i) * lda + pc + kb]);
            let mut k0 = 0;
            #[cfg(target_arch = "x86_64")]
            if isa == Isa::Avx2Fma && kb > 8 {
                // SAFETY: AVX2 detected; rows hold kb floats, dst kb·MR floats; the helper only
                // transposes groups of 8 with at least one k step after them.
                k0 = unsafe { avx2::pack_panel(r, kb, dst) };
            }
            for kk in k0..kb {
                for i in 0..MR {
                    dst[kk * MR + i] = r[i][kk];
                }
            }
        } else {
            for (kk, d) in dst.chunks_exact_mut(MR).enumerate() {
                for (i, v) in d.iter_mut().enumerate() {
                    *v = if i < rows {
                        a[(ir + i) * lda + pc + kk]
                    } else {
                        0.0
                    };
                }
            }
        }
        ir += MR;
    }
}

/// Bias pointer for a tile: the slice itself when whole, else a zero-padded copy in `buf`.
fn bias_ptr(bias: Option<&[f32]>, cols: usize, buf: &mut [f32; NR]) -> *const f32 {
    match bias {
        Some(b) if cols == NR => b.as_ptr(),
        Some(b) => {
            buf[..cols].copy_from_slice(&b[..cols]);
            buf.as_ptr()
        }
        None => std::ptr::null(),
    }
}

/// One `rows × cols` tile of the main GEMM from a packed `A` panel (`kb × MR`) and a packed
/// `B` panel (`kb × NR`).
#[allow(clippy::too_many_arguments)]
#[inline]
fn packed_tile(
    isa: Isa,
    kb: usize,
    ap: &[f32],
    bp: &[f32],
    c: &mut [f32],
    ldc: usize,
    rows: usize,
    cols: usize,
    ep: &TileEpilogue<'_>,
) {
    assert!(ap.len() >= kb * MR && bp.len() >= kb * NR, "panels");
    assert!(
        (1..=MR).contains(&rows) && (1..=NR).contains(&cols) && c.len() >= (rows - 1) * ldc + cols,
        "C tile"
    );
    assert!(ep.bias.is_none_or(|bias| bias.len() >= cols), "bias");
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        let mut buf = [0f32; NR];
        let bias = bias_ptr(ep.bias, cols, &mut buf);
        if rows == MR && cols == NR {
            // SAFETY: AVX2+FMA detected; the panels hold kb·MR and kb·NR floats, C holds a
            // full MR × NR tile with stride ldc (asserted above), bias is null or NR floats.
            unsafe {
                avx2::kernel_packed(
                    kb,
                    ap.as_ptr(),
                    bp.as_ptr(),
                    c.as_mut_ptr(),
                    ldc,
                    ep.load_c,
                    bias,
                    ep.act,
                )
            };
        } else {
            let mut t = [0f32; MR * NR];
            if ep.load_c {
                for r in 0..rows {
                    t[r * NR..r * NR + cols].copy_from_slice(&c[r * ldc..r * ldc + cols]);
                }
            }
            // SAFETY: as above, with the local full tile `t` (stride NR) as destination.
            unsafe {
                avx2::kernel_packed(
                    kb,
                    ap.as_ptr(),
                    bp.as_ptr(),
                    t.as_mut_ptr(),
                    NR,
                    ep.load_c,
                    bias,
                    ep.act,
                )
            };
            for r in 0..rows {
                c[r * ldc..r * ldc + cols].copy_from_slice(&t[r * NR..r * NR + cols]);
            }
        }
        return;
    }
    let a_off = std::array::from_fn(|r| r);
    scalar_tile(kb, ap, a_off, MR, bp, 0, NR, c, ldc, rows, cols, ep);
}

#[allow(clippy::too_many_arguments)]
fn scalar_tile(
    kb: usize,
    a: &[f32],
    a_off: [usize; MR],
    acs: usize,
    b: &[f32],
    b_off: usize,
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
    cols: usize,
    ep: &TileEpilogue<'_>,
) {
    for r in 0..rows {
        for t in 0..cols {
            let mut acc = 0f32;
            for p in 0..kb {
                acc += a[a_off[r] + p * acs] * b[b_off + p * ldb + t];
            }
            let dst = &mut c[r * ldc + t];
            if ep.load_c {
                acc += *dst;
            }
            if let Some(bias) = ep.bias {
                acc += bias[t];
            }
            if let Some(s) = ep.row_scale {
                acc *= s[r];
            }
            *dst = ep.act.apply_scalar(acc);
        }
    }
}

/// The epilogue of one micro-tile.
pub(crate) struct TileEpilogue<'a> {
    /// Start from the values in `C` (β = 1).
    pub load_c: bool,
    /// Bias for this tile's columns (length = cols).
    pub bias: Option<&'a [f32]>,
    /// Per-row factor for this tile's rows (length ≥ rows), applied after the bias; used by
    /// attention to apply the softmax's 1/Σ to `P·V` instead of to every probability.
    pub row_scale: Option<&'a [f32]>,
    pub act: Act,
}

impl TileEpilogue<'_> {
    /// Overwrite `C` with the plain product.
    pub const PLAIN: TileEpilogue<'static> = TileEpilogue {
        load_c: false,
        bias: None,
        row_scale: None,
        act: Act::None,
    };
}

/// One `rows × cols` (≤ MR × NR) tile of `C = ep(A·B)` with operands read in place (used by
/// attention): row `r` of `A` is
/// `a[a_off[r]..a_off[r] + kb]` (offsets past `rows` must still be valid rows; their results
/// are discarded) and row `p` of `B` is `b[b_off + p·ldb..][..NR]`. `c` starts at the tile's top-left element, rows `ldc` apart.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn tile(
    isa: Isa,
    kb: usize,
    a: &[f32],
    a_off: [usize; MR],
    b: &[f32],
    b_off: usize,
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
    cols: usize,
    ep: &TileEpilogue<'_>,
) {
    assert!(
        a_off.iter().all(|&o| o + kb <= a.len()),
        "A rows out of bounds"
    );
    assert!(
        kb == 0 || b_off + (kb - 1) * ldb + NR <= b.len(),
        "B out of bounds"
    );
    assert!(
        (1..=MR).contains(&rows) && (1..=NR).contains(&cols) && c.len() >= (rows - 1) * ldc + cols,
        "C tile"
    );
    assert!(ep.bias.is_none_or(|bias| bias.len() >= cols), "bias");
    assert!(ep.row_scale.is_none_or(|s| s.len() >= rows), "row scale");
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        let mut buf = [0f32; NR];
        let bias = bias_ptr(ep.bias, cols, &mut buf);
        let mut sbuf = [1f32; MR];
        let scale = match ep.row_scale {
            Some(s) if rows == MR => s.as_ptr(),
            Some(s) => {
                sbuf[..rows].copy_from_slice(&s[..rows]);
                sbuf.as_ptr()
            }
            None => std::ptr::null(),
        };
        let ap: [*const f32; MR] = std::array::from_fn(|r| a[a_off[r]..].as_ptr());
        let bp = b[b_off..].as_ptr();
        if rows == MR && cols == NR && c.len() >= (MR - 1) * ldc + NR {
            // SAFETY: AVX2+FMA detected; each A row holds kb floats, B rows p < kb hold NR
            // floats at b_off + p·ldb, C holds a full MR × NR tile (all asserted above), and
            // bias is null or points at NR floats, scale null or at MR floats.
            unsafe {
                avx2::kernel_strided(
                    kb,
                    ap,
                    bp,
                    ldb,
                    c.as_mut_ptr(),
                    ldc,
                    ep.load_c,
                    bias,
                    scale,
                    ep.act,
                )
            };
        } else {
            let mut t = [0f32; MR * NR];
            if ep.load_c {
                for r in 0..rows {
                    t[r * NR..r * NR + cols].copy_from_slice(&c[r * ldc..r * ldc + cols]);
                }
            }
            // SAFETY: as above, with the local full tile `t` (stride NR) as destination.
            unsafe {
                avx2::kernel_strided(
                    kb,
                    ap,
                    bp,
                    ldb,
                    t.as_mut_ptr(),
                    NR,
                    ep.load_c,
                    bias,
                    scale,
                    ep.act,
                )
            };
            for r in 0..rows {
                c[r * ldc..r * ldc + cols].copy_from_slice(&t[r * NR..r * NR + cols]);
            }
        }
        return;
    }
    let _ = isa;
    scalar_tile(kb, a, a_off, 1, b, b_off, ldb, c, ldc, rows, cols, ep);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Act, MR, NR};
    use crate::simd::avx2 as v;
    use std::arch::x86_64::*;

    /// The 6 × 16 micro-kernel body: `A[r][p]` at `a_r + p·acs`, `B[p]` at `b + p·ldb`
    /// (constants for the packed kernel, so addressing folds into displacements).
    macro_rules! kernel_body {
        ($kb:expr, $a:expr, $acs:expr, $b:expr, $ldb:expr, $c:expr, $ldc:expr, $load_c:expr, $bias:expr, $scale:expr, $act:expr) => {{
            let [a0, a1, a2, a3, a4, a5] = $a;
            let mut c00 = _mm256_setzero_ps();
            let mut c01 = _mm256_setzero_ps();
            let mut c10 = _mm256_setzero_ps();
            let mut c11 = _mm256_setzero_ps();
            let mut c20 = _mm256_setzero_ps();
            let mut c21 = _mm256_setzero_ps();
            let mut c30 = _mm256_setzero_ps();
            let mut c31 = _mm256_setzero_ps();
            let mut c40 = _mm256_setzero_ps();
            let mut c41 = _mm256_setzero_ps();
            let mut c50 = _mm256_setzero_ps();
            let mut c51 = _mm256_setzero_ps();
            let mut bp: *const f32 = $b;
            let mut p = 0usize;
            macro_rules! step {
                () => {{
                    let b0 = _mm256_loadu_ps(bp);
                    let b1 = _mm256_loadu_ps(bp.add(8));
                    let x = _mm256_broadcast_ss(&*a0.add(p * $acs));
                    c00 = _mm256_fmadd_ps(x, b0, c00);
                    c01 = _mm256_fmadd_ps(x, b1, c01);
                    let x = _mm256_broadcast_ss(&*a1.add(p * $acs));
                    c10 = _mm256_fmadd_ps(x, b0, c10);
                    c11 = _mm256_fmadd_ps(x, b1, c11);
                    let x = _mm256_broadcast_ss(&*a2.add(p * $acs));
                    c20 = _mm256_fmadd_ps(x, b0, c20);
                    c21 = _mm256_fmadd_ps(x, b1, c21);
                    let x = _mm256_broadcast_ss(&*a3.add(p * $acs));
                    c30 = _mm256_fmadd_ps(x, b0, c30);
                    c31 = _mm256_fmadd_ps(x, b1, c31);
                    let x = _mm256_broadcast_ss(&*a4.add(p * $acs));
                    c40 = _mm256_fmadd_ps(x, b0, c40);
                    c41 = _mm256_fmadd_ps(x, b1, c41);
                    let x = _mm256_broadcast_ss(&*a5.add(p * $acs));
                    c50 = _mm256_fmadd_ps(x, b0, c50);
                    c51 = _mm256_fmadd_ps(x, b1, c51);
                    bp = bp.add($ldb);
                    p += 1;
                }};
            }
            while p + 4 <= $kb {
                step!();
                step!();
                step!();
                step!();
            }
            while p < $kb {
                step!();
            }
            let mut acc = [c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51];
            let (c, ldc, bias, scale): (*mut f32, usize, *const f32, *const f32) =
                ($c, $ldc, $bias, $scale);
            if $load_c {
                for r in 0..MR {
                    let row = c.add(r * ldc);
                    acc[2 * r] = _mm256_add_ps(acc[2 * r], _mm256_loadu_ps(row));
                    acc[2 * r + 1] = _mm256_add_ps(acc[2 * r + 1], _mm256_loadu_ps(row.add(8)));
                }
            }
            if !bias.is_null() {
                let b0 = _mm256_loadu_ps(bias);
                let b1 = _mm256_loadu_ps(bias.add(8));
                for r in 0..MR {
                    acc[2 * r] = _mm256_add_ps(acc[2 * r], b0);
                    acc[2 * r + 1] = _mm256_add_ps(acc[2 * r + 1], b1);
                }
            }
            if !scale.is_null() {
                for r in 0..MR {
                    let f = _mm256_broadcast_ss(&*scale.add(r));
                    acc[2 * r] = _mm256_mul_ps(acc[2 * r], f);
                    acc[2 * r + 1] = _mm256_mul_ps(acc[2 * r + 1], f);
                }
            }
            match $act {
                Act::None => {}
                Act::Gelu => {
                    for x in acc.iter_mut() {
                        *x = v::gelu(*x);
                    }
                }
                Act::GeluTanh => {
                    for x in acc.iter_mut() {
                        *x = v::gelu_tanh(*x);
                    }
                }
                Act::Relu => {
                    for x in acc.iter_mut() {
                        *x = _mm256_max_ps(*x, _mm256_setzero_ps());
                    }
                }
            }
            for r in 0..MR {
                let row = c.add(r * ldc);
                _mm256_storeu_ps(row, acc[2 * r]);
                _mm256_storeu_ps(row.add(8), acc[2 * r + 1]);
            }
        }};
    }

    /// Packs 8-column groups of six rows into a `kb × MR` panel with 8 × 8 register
    /// transposes (two zero rows); each store spills two junk lanes into the next k step,
    /// which the following store (or the caller's scalar tail) overwrites. Returns the first
    /// k left to the caller (≥ 1 step always remains).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn pack_panel(r: [&[f32]; MR], kb: usize, dst: &mut [f32]) -> usize {
        assert!(r.iter().all(|x| x.len() >= kb) && dst.len() >= kb * MR);
        let o = dst.as_mut_ptr();
        let z = _mm256_setzero_ps();
        let mut k0 = 0;
        while k0 + 8 < kb {
            let v = [
                _mm256_loadu_ps(r[0].as_ptr().add(k0)),
                _mm256_loadu_ps(r[1].as_ptr().add(k0)),
                _mm256_loadu_ps(r[2].as_ptr().add(k0)),
                _mm256_loadu_ps(r[3].as_ptr().add(k0)),
                _mm256_loadu_ps(r[4].as_ptr().add(k0)),
                _mm256_loadu_ps(r[5].as_ptr().add(k0)),
                z,
                z,
            ];
            let cols = v::transpose8(v);
            for (i, c) in cols.iter().enumerate() {
                // (k0 + i)·MR + 8 ≤ (k0 + 8)·MR + 2 ≤ kb·MR since k0 + 8 < kb.
                _mm256_storeu_ps(o.add((k0 + i) * MR), *c);
            }
            k0 += 8;
        }
        k0
    }

    /// Packed `A` (`kb × MR` panel) and packed `B` (`kb × NR` panel).
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn kernel_packed(
        kb: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        load_c: bool,
        bias: *const f32,
        act: Act,
    ) {
        let rows = [a, a.add(1), a.add(2), a.add(3), a.add(4), a.add(5)];
        kernel_body!(
            kb,
            rows,
            MR,
            b,
            NR,
            c,
            ldc,
            load_c,
            bias,
            std::ptr::null(),
            act
        )
    }

    /// `A` from six row pointers, `B` rows `ldb` apart.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn kernel_strided(
        kb: usize,
        a: [*const f32; MR],
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        load_c: bool,
        bias: *const f32,
        scale: *const f32,
        act: Act,
    ) {
        kernel_body!(kb, a, 1, b, ldb, c, ldc, load_c, bias, scale, act)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s as f32 / u32::MAX as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn gemm_matches_naive_all_shapes_and_epilogues() {
        let mut isas = vec![Isa::Scalar];
        if Isa::detect() != Isa::Scalar {
            isas.push(Isa::detect());
        }
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 5, 3),
            (6, 16, 16),
            (13, 300, 40),
            (100, 384, 48),
            (200, 600, 33),
            (97, 1536, 32),
        ] {
            let a = data(m * (k + 3), 1);
            let lda = k + 3;
            let w = data(n * k, 2); // n × k (Linear weight)
            let bias = data(n, 3);
            let c0 = data(m * (n + 1), 4);
            let ldc = n + 1;
            let packed = PackedB::from_linear(&w, n, k);
            let mut apack = AlignedBuf::default();
            for isa in &isas {
                for (accumulate, use_bias, act) in [
                    (false, false, Act::None),
                    (true, true, Act::Gelu),
                    (false, true, Act::Relu),
                    (true, false, Act::GeluTanh),
                ] {
                    let mut c = c0.clone();
                    let ep = Epilogue {
                        bias: use_bias.then_some(&bias[..]),
                        accumulate,
                        act,
                    };
                    gemm(*isa, m, &a, lda, &packed, &mut c, ldc, ep, &mut apack);
                    for i in 0..m {
                        for j in 0..n {
                            let mut s = 0f64;
                            for kk in 0..k {
                                s += a[i * lda + kk] as f64 * w[j * k + kk] as f64;
                            }
                            if accumulate {
                                s += c0[i * ldc + j] as f64;
                            }
                            if use_bias {
                                s += bias[j] as f64;
                            }
                            let want = act.apply_scalar(s as f32);
                            let got = c[i * ldc + j];
                            assert!(
                                (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                                "{isa:?} m={m} k={k} n={n} ({i},{j}): {got} vs {want}"
                            );
                        }
                        // Padding column untouched.
                        assert_eq!(c[i * ldc + n], c0[i * ldc + n]);
                    }
                }
            }
        }
    }

    #[test]
    fn from_kn_equals_from_linear_transposed() {
        let (k, n) = (37, 21);
        let b = data(k * n, 9);
        let mut w = vec![0.0; k * n];
        for kk in 0..k {
            for j in 0..n {
                w[j * k + kk] = b[kk * n + j];
            }
        }
        assert_eq!(
            PackedB::from_kn(&b, k, n).data.as_slice(),
            PackedB::from_linear(&w, n, k).data.as_slice()
        );
    }

    #[test]
    fn block_depths() {
        assert_eq!(block_depth(384, 256), 192);
        assert_eq!(block_depth(1536, 256), 256);
        assert_eq!(block_depth(100, 256), 100);
        assert_eq!(block_depth(32, 256), 32);
    }
}

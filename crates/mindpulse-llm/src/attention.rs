//! Causal grouped-query attention of a batch of queries over the KV cache.
//!
//! A tiled ("flash") kernel: every task takes one KV head, the queries of all query heads
//! that share it for a tile of batch rows, and a range of key positions. It walks the keys
//! in blocks, scores the block, folds it into an online softmax (running max and sum) and
//! accumulates the weighted values, so each key and value row is read once per tile instead
//! of once per query head and row, and no score row as long as the context is ever stored.
//!
//! Keys and values are IEEE halves (see the KV cache); each block of them is widened to f32
//! once per task, and the query heads of a row are scored and accumulated two at a time, so
//! each loaded key or value feeds two FMAs.
//!
//! Prefill splits the work over KV heads × row tiles; decoding (a few rows) also splits the
//! key range, and the partial results are merged exactly (log-sum-exp). The split depends
//! only on the shapes, never on the thread count, so results are the same on any machine
//! with the same kernels. AVX2 kernels when available; the scalar path is the reference
//! for them, and `reference` (the plain per-row softmax, in f64) is the reference for both.

use rayon::prelude::*;

/// Head counts and width of one attention layer.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
}

impl Shape {
    fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }
    fn group(&self) -> usize {
        self.n_head / self.n_head_kv
    }
}

/// Query vectors scored and accumulated together (they share every key and value load).
const PAIR: usize = 2;
/// Batch rows per task when the batch is large (prefill).
const ROW_TILE: usize = 16;
/// Keys scored and folded into the softmax at a time.
const KEY_BLOCK: usize = 64;
/// Keys per task when the key range is split.
const KEY_SPLIT: usize = 256;
/// Below this many KV-head × row-tile tasks (decoding, short feeds) the key range is split
/// too, so that every core gets work.
const MIN_TASKS: usize = 16;

/// One task: a KV head, batch rows `rows`, key positions `keys`.
#[derive(Debug, Clone)]
struct Task {
    kv_head: usize,
    rows: std::ops::Range<usize>,
    keys: std::ops::Range<usize>,
}

/// A task's result for each of its query vectors (row-major over rows, then the group's
/// heads): running max, running sum of `exp(score - max)`, unnormalized output.
struct Partial {
    max: Vec<f32>,
    sum: Vec<f32>,
    out: Vec<f32>,
}

impl Partial {
    fn new(n_vec: usize, hd: usize) -> Partial {
        Partial {
            max: vec![f32::NEG_INFINITY; n_vec],
            sum: vec![0.0; n_vec],
            out: vec![0.0; n_vec * hd],
        }
    }

    fn clear(&mut self) {
        self.max.fill(f32::NEG_INFINITY);
        self.sum.fill(0.0);
        self.out.fill(0.0);
    }

    /// Folds another state of vector `from` into this state's vector `to`: the log-sum-exp
    /// merge. Folding into an empty state copies, so merging the same [`KEY_SPLIT`] chunks in
    /// the same order gives the same bits however the chunks were spread over tasks.
    fn fold(&mut self, to: usize, other: &Partial, from: usize, hd: usize) {
        let (m, l) = (other.max[from], other.sum[from]);
        let o = &other.out[from * hd..(from + 1) * hd];
        let dst = &mut self.out[to * hd..(to + 1) * hd];
        if l == 0.0 {
            return;
        }
        if self.sum[to] == 0.0 {
            self.max[to] = m;
            self.sum[to] = l;
            dst.copy_from_slice(o);
            return;
        }
        let new_max = self.max[to].max(m);
        let (a, b) = ((self.max[to] - new_max).exp(), (m - new_max).exp());
        self.sum[to] = self.sum[to] * a + l * b;
        for (d, &x) in dst.iter_mut().zip(o) {
            *d = *d * a + x * b;
        }
        self.max[to] = new_max;
    }
}

/// Attention of `q` (`m` rows of `n_head * head_dim`, positions `p0..p0 + m`) over the
/// cache `kc`/`vc` (one stream per KV head of `p0 + m` rows of `head_dim`, the batch's own
/// included), written to `out` (`m` rows of `n_head * head_dim`). Must run inside the
/// rayon pool.
pub fn attention(
    shape: Shape,
    q: &[f32],
    kc: &[Vec<u16>],
    vc: &[Vec<u16>],
    p0: usize,
    out: &mut [f32],
    simd: bool,
) {
    let (hd, qd) = (shape.head_dim, shape.q_dim());
    let m = q.len() / qd;
    if m == 0 {
        return;
    }
    let simd = simd && hd % 32 == 0;
    let tasks = plan(shape, m, p0);
    let partials: Vec<Partial> = if tasks.len() == 1 {
        vec![run_task(shape, &tasks[0], q, kc, vc, p0, simd)]
    } else {
        tasks
            .par_iter()
            .map(|t| run_task(shape, t, q, kc, vc, p0, simd))
            .collect()
    };

    // Fold the key chunks of each query vector in key order, then normalize.
    let group = shape.group();
    let mut all = Partial::new(m * shape.n_head, hd);
    for (t, p) in tasks.iter().zip(&partials) {
        for local in 0..p.sum.len() {
            let (r, g) = (t.rows.start + local / group, local % group);
            all.fold(r * shape.n_head + t.kv_head * group + g, p, local, hd);
        }
    }
    for (slot, (o, &l)) in out.chunks_exact_mut(hd).zip(&all.sum).enumerate() {
        let inv = if l > 0.0 { 1.0 / l } else { 0.0 };
        for (d, &x) in o.iter_mut().zip(&all.out[slot * hd..(slot + 1) * hd]) {
            *d = x * inv;
        }
    }
}

/// The tasks for a batch of `m` rows at positions `p0..`: KV heads × row tiles, and when
/// that gives fewer than [`MIN_TASKS`], also key ranges of [`KEY_SPLIT`] positions.
fn plan(shape: Shape, m: usize, p0: usize) -> Vec<Task> {
    let row_tile = ROW_TILE.min(m);
    let key_split = if shape.n_head_kv * m.div_ceil(row_tile) < MIN_TASKS {
        KEY_SPLIT
    } else {
        p0 + m
    };
    let mut tasks = Vec::new();
    for kv_head in 0..shape.n_head_kv {
        for r0 in (0..m).step_by(row_tile) {
            let r1 = (r0 + row_tile).min(m);
            // The tile's last row sees keys up to p0 + r1 - 1.
            let visible = p0 + r1;
            for k0 in (0..visible).step_by(key_split) {
                tasks.push(Task {
                    kv_head,
                    rows: r0..r1,
                    keys: k0..(k0 + key_split).min(visible),
                });
            }
        }
    }
    tasks
}

fn run_task(
    shape: Shape,
    task: &Task,
    q: &[f32],
    kc: &[Vec<u16>],
    vc: &[Vec<u16>],
    p0: usize,
    simd: bool,
) -> Partial {
    let (hd, qd, group) = (shape.head_dim, shape.q_dim(), shape.group());
    let scale = 1.0 / (hd as f32).sqrt();
    let n_vec = task.rows.len() * group;
    // `part` folds the task's [`KEY_SPLIT`] chunks in order; `chunk` is the online softmax
    // within the current one.
    let mut part = Partial::new(n_vec, hd);
    let mut chunk = Partial::new(n_vec, hd);
    let (kh, vh) = (&kc[task.kv_head], &vc[task.kv_head]);
    // The block's keys and values widened to f32 once, for every query vector of the task.
    let mut keys = vec![0f32; KEY_BLOCK * hd];
    let mut values = vec![0f32; KEY_BLOCK * hd];
    let mut scores = [0f32; PAIR * KEY_BLOCK];
    let mut b0 = task.keys.start;
    while b0 < task.keys.end {
        let b1 = (b0 + KEY_BLOCK).min(task.keys.end);
        let nb = b1 - b0;
        kernels::widen(&kh[b0 * hd..b1 * hd], &mut keys[..nb * hd], simd);
        kernels::widen(&vh[b0 * hd..b1 * hd], &mut values[..nb * hd], simd);
        for (ri, r) in task.rows.clone().enumerate() {
            // Causal mask: row r (position p0 + r) sees keys 0..=p0 + r.
            let end = b1.min(p0 + r + 1);
            if end <= b0 {
                continue;
            }
            let n = end - b0;
            // The group's query heads of this row, two at a time (they share the keys).
            for g0 in (0..group).step_by(PAIR) {
                let nq = PAIR.min(group - g0);
                let h0 = task.kv_head * group + g0;
                let qs = &q[r * qd + h0 * hd..r * qd + (h0 + nq) * hd];
                let s = &mut scores[..nq * n];
                kernels::scores(hd, qs, &keys[..n * hd], scale, s, simd);
                let v0 = ri * group + g0;
                for (i, s) in s.chunks_exact_mut(n).enumerate() {
                    let v = v0 + i;
                    let block_max = s.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                    let new_max = chunk.max[v].max(block_max);
                    let block_sum = kernels::exp_shifted(s, new_max, simd);
                    if chunk.max[v] != f32::NEG_INFINITY && chunk.max[v] != new_max {
                        let c = (chunk.max[v] - new_max).exp();
                        chunk.sum[v] *= c;
                        chunk.out[v * hd..(v + 1) * hd]
                            .iter_mut()
                            .for_each(|x| *x *= c);
                    }
                    chunk.sum[v] += block_sum;
                    chunk.max[v] = new_max;
                }
                let o = &mut chunk.out[v0 * hd..(v0 + nq) * hd];
                kernels::accumulate(hd, o, s, &values[..n * hd], simd);
            }
        }
        if b1.is_multiple_of(KEY_SPLIT) || b1 == task.keys.end {
            for v in 0..n_vec {
                part.fold(v, &chunk, v, hd);
            }
            chunk.clear();
        }
        b0 = b1;
    }
    part
}

mod kernels {
    //! The inner loops, dispatched to AVX2 when `simd` (only true when AVX2, FMA and F16C
    //! were detected, and the head width is a multiple of 32). `q` and `o` hold one or two
    //! query vectors of `hd` values each; scores and weights are laid out `[vector][key]`.
    use crate::quant::f16_to_f32;

    /// Widens IEEE halves to f32.
    #[inline]
    pub fn widen(h: &[u16], out: &mut [f32], simd: bool) {
        assert_eq!(h.len(), out.len());
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: features detected by the caller; sizes asserted above.
            return unsafe { super::x86::widen(h, out) };
        }
        let _ = simd;
        for (o, &x) in out.iter_mut().zip(h) {
            *o = f16_to_f32(x);
        }
    }

    /// `out[i * n + t] = scale * q_i · keys[t * hd..][..hd]` for the one or two vectors in `q`.
    #[inline]
    pub fn scores(hd: usize, q: &[f32], keys: &[f32], scale: f32, out: &mut [f32], simd: bool) {
        let (nq, n) = (q.len() / hd, keys.len() / hd);
        assert!((1..=2).contains(&nq) && q.len() == nq * hd && keys.len() == n * hd);
        assert_eq!(out.len(), nq * n);
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: features detected by the caller; sizes asserted above; hd % 32 == 0.
            return unsafe {
                if nq == 2 {
                    super::x86::scores::<2>(hd, q, keys, scale, out)
                } else {
                    super::x86::scores::<1>(hd, q, keys, scale, out)
                }
            };
        }
        let _ = simd;
        for (qi, out) in q.chunks_exact(hd).zip(out.chunks_exact_mut(n)) {
            for (o, k) in out.iter_mut().zip(keys.chunks_exact(hd)) {
                *o = crate::quant::dot_f32(qi, k, false) * scale;
            }
        }
    }

    /// `s = exp(s - max)`; returns the sum.
    #[inline]
    pub fn exp_shifted(s: &mut [f32], max: f32, simd: bool) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: features detected by the caller.
            return unsafe { super::x86::exp_shifted(s, max) };
        }
        let _ = simd;
        let mut sum = 0.0;
        for v in s.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        sum
    }

    /// `o_i += Σ_t p[i * n + t] * values[t * hd..][..hd]` for the one or two vectors in `o`.
    #[inline]
    pub fn accumulate(hd: usize, o: &mut [f32], p: &[f32], values: &[f32], simd: bool) {
        let (nq, n) = (o.len() / hd, values.len() / hd);
        assert!((1..=2).contains(&nq) && o.len() == nq * hd && values.len() == n * hd);
        assert_eq!(p.len(), nq * n);
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: features detected by the caller; sizes asserted above; hd % 32 == 0.
            return unsafe {
                if nq == 2 {
                    super::x86::accumulate::<2>(hd, o, p, values)
                } else {
                    super::x86::accumulate::<1>(hd, o, p, values)
                }
            };
        }
        let _ = simd;
        for (oi, pi) in o.chunks_exact_mut(hd).zip(p.chunks_exact(n)) {
            for (&w, v) in pi.iter().zip(values.chunks_exact(hd)) {
                crate::quant::axpy(oi, w, v);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)] // register tiles read best with explicit indices
mod x86 {
    //! AVX2 / FMA / F16C inner loops for head widths that are multiples of 32.
    use std::arch::x86_64::*;

    /// `Q` query vectors against four key rows at a time (`Q × 4` accumulators), the four
    /// dot products of each vector summed across lanes together.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn scores<const Q: usize>(
        hd: usize,
        q: &[f32],
        keys: &[f32],
        scale: f32,
        out: &mut [f32],
    ) {
        let n = keys.len() / hd;
        let (qp, kp, op) = (q.as_ptr(), keys.as_ptr(), out.as_mut_ptr());
        let mut t = 0;
        while t + 4 <= n {
            let mut acc = [[_mm256_setzero_ps(); 4]; Q];
            let mut c = 0;
            while c < hd {
                let mut qc = [_mm256_setzero_ps(); Q];
                for (i, v) in qc.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(qp.add(i * hd + c));
                }
                for j in 0..4 {
                    let k = _mm256_loadu_ps(kp.add((t + j) * hd + c));
                    for i in 0..Q {
                        acc[i][j] = _mm256_fmadd_ps(qc[i], k, acc[i][j]);
                    }
                }
                c += 8;
            }
            for (i, a) in acc.iter().enumerate() {
                let h01 = _mm256_hadd_ps(a[0], a[1]);
                let h23 = _mm256_hadd_ps(a[2], a[3]);
                let h = _mm256_hadd_ps(h01, h23);
                let r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
                _mm_storeu_ps(op.add(i * n + t), _mm_mul_ps(r, _mm_set1_ps(scale)));
            }
            t += 4;
        }
        while t < n {
            for i in 0..Q {
                let mut a = _mm256_setzero_ps();
                let mut c = 0;
                while c < hd {
                    a = _mm256_fmadd_ps(
                        _mm256_loadu_ps(qp.add(i * hd + c)),
                        _mm256_loadu_ps(kp.add(t * hd + c)),
                        a,
                    );
                    c += 8;
                }
                let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                let s = _mm_add_ss(s, _mm_movehdup_ps(s));
                *op.add(i * n + t) = _mm_cvtss_f32(s) * scale;
            }
            t += 1;
        }
    }

    /// IEEE halves → f32, eight at a time.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn widen(h: &[u16], out: &mut [f32]) {
        let n = h.len();
        let mut i = 0;
        while i + 8 <= n {
            let v = _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr().add(i) as *const __m128i));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), v);
            i += 8;
        }
        for j in i..n {
            out[j] = crate::quant::f16_to_f32(h[j]);
        }
    }

    /// `exp(x)` for 8 lanes (Cephes' polynomial; relative error about 1e-7 on the range
    /// used here, inputs below -87 give about 1e-38).
    #[inline(always)]
    unsafe fn exp8(x: __m256) -> __m256 {
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(-87.3)),
            _mm256_set1_ps(88.3),
        );
        let fx = _mm256_floor_ps(_mm256_fmadd_ps(
            x,
            _mm256_set1_ps(std::f32::consts::LOG2_E),
            _mm256_set1_ps(0.5),
        ));
        let x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693_359_4), x);
        let x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.121_944_4e-4), x);
        let z = _mm256_mul_ps(x, x);
        let mut y = _mm256_set1_ps(1.987_569_1e-4);
        y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.398_199_9e-3));
        y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.333_452e-3));
        y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.166_579_6e-2));
        y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.666_666_5e-1));
        y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(0.5));
        y = _mm256_fmadd_ps(y, z, _mm256_add_ps(x, _mm256_set1_ps(1.0)));
        let n = _mm256_cvtps_epi32(fx);
        let pow2 = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
        _mm256_mul_ps(y, _mm256_castsi256_ps(pow2))
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp_shifted(s: &mut [f32], max: f32) -> f32 {
        let n = s.len();
        let p = s.as_mut_ptr();
        let m = _mm256_set1_ps(max);
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i + 8 <= n {
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), m));
            _mm256_storeu_ps(p.add(i), e);
            acc = _mm256_add_ps(acc, e);
            i += 8;
        }
        let mut tail = [0f32; 8];
        let rest = n - i;
        if rest > 0 {
            tail[..rest].copy_from_slice(&s[i..]);
            let mut v = _mm256_sub_ps(_mm256_loadu_ps(tail.as_ptr()), m);
            // Lanes past the end contribute nothing to the sum.
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let live = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest as i32), lane);
            v = _mm256_blendv_ps(_mm256_set1_ps(-1.0e30), v, _mm256_castsi256_ps(live));
            let e = _mm256_and_ps(exp8(v), _mm256_castsi256_ps(live));
            _mm256_storeu_ps(tail.as_mut_ptr(), e);
            s[i..].copy_from_slice(&tail[..rest]);
            acc = _mm256_add_ps(acc, e);
        }
        let lo = _mm256_castps256_ps128(acc);
        let r = _mm_add_ps(lo, _mm256_extractf128_ps(acc, 1));
        let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
        let r = _mm_add_ss(r, _mm_movehdup_ps(r));
        _mm_cvtss_f32(r)
    }

    /// `o_i += Σ_t p_i[t] * v_t` for `Q` vectors, 32 output lanes of each held in registers
    /// at a time (`Q × 4` accumulators).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn accumulate<const Q: usize>(hd: usize, o: &mut [f32], p: &[f32], values: &[f32]) {
        let n = values.len() / hd;
        let (vp, op, pp) = (values.as_ptr(), o.as_mut_ptr(), p.as_ptr());
        let mut c = 0;
        while c < hd {
            let mut acc = [[_mm256_setzero_ps(); 4]; Q];
            for (i, a) in acc.iter_mut().enumerate() {
                for (l, v) in a.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(op.add(i * hd + c + 8 * l));
                }
            }
            for t in 0..n {
                let v = vp.add(t * hd + c);
                let vs = [
                    _mm256_loadu_ps(v),
                    _mm256_loadu_ps(v.add(8)),
                    _mm256_loadu_ps(v.add(16)),
                    _mm256_loadu_ps(v.add(24)),
                ];
                for (i, a) in acc.iter_mut().enumerate() {
                    let w = _mm256_set1_ps(*pp.add(i * n + t));
                    for l in 0..4 {
                        a[l] = _mm256_fmadd_ps(w, vs[l], a[l]);
                    }
                }
            }
            for (i, a) in acc.iter().enumerate() {
                for (l, v) in a.iter().enumerate() {
                    _mm256_storeu_ps(op.add(i * hd + c + 8 * l), *v);
                }
            }
            c += 32;
        }
    }
}

/// The plain per-row, per-head softmax attention: the reference the tiled kernel is
/// tested against.
#[cfg(test)]
pub fn reference(
    shape: Shape,
    q: &[f32],
    kc: &[Vec<u16>],
    vc: &[Vec<u16>],
    p0: usize,
    out: &mut [f32],
) {
    use crate::quant::f16_to_f32;
    let (hd, qd, group) = (shape.head_dim, shape.q_dim(), shape.group());
    let scale = 1.0 / (hd as f32).sqrt();
    for (i, o) in out.chunks_mut(qd).enumerate() {
        let n_ctx = p0 + i + 1;
        for h in 0..shape.n_head {
            let kvh = h / group;
            let qh = &q[i * qd + h * hd..i * qd + (h + 1) * hd];
            let mut s: Vec<f64> = (0..n_ctx)
                .map(|j| {
                    let k = &kc[kvh][j * hd..(j + 1) * hd];
                    qh.iter()
                        .zip(k)
                        .map(|(&a, &b)| a as f64 * f16_to_f32(b) as f64)
                        .sum::<f64>()
                        * scale as f64
                })
                .collect();
            let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for v in &mut s {
                *v = (*v - max).exp();
                sum += *v;
            }
            for (c, oc) in o[h * hd..(h + 1) * hd].iter_mut().enumerate() {
                let acc: f64 = s
                    .iter()
                    .enumerate()
                    .map(|(j, w)| w * f16_to_f32(vc[kvh][j * hd + c]) as f64)
                    .sum();
                *oc = (acc / sum) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::tests_support::Rng;

    fn random(n: usize, rng: &mut Rng, amp: f32) -> Vec<f32> {
        (0..n).map(|_| rng.f32() * amp).collect()
    }

    /// A random KV cache stream per head: `n` positions as halves.
    fn cache(shape: Shape, n: usize, rng: &mut Rng, amp: f32) -> Vec<Vec<u16>> {
        (0..shape.n_head_kv)
            .map(|_| {
                random(n * shape.head_dim, rng, amp)
                    .into_iter()
                    .map(crate::quant::f32_to_f16)
                    .collect()
            })
            .collect()
    }

    /// The kernel sets this CPU runs.
    fn simd_options() -> Vec<bool> {
        if crate::quant::simd_available() {
            vec![false, true]
        } else {
            vec![false]
        }
    }

    fn check(shape: Shape, m: usize, p0: usize, simd: bool) {
        let mut rng = Rng::new((m * 1000 + p0) as u64 + shape.head_dim as u64);
        let qd = shape.q_dim();
        // Large amplitudes make the softmax peaked, which exercises the running max.
        let q = random(m * qd, &mut rng, 3.0);
        let kc = cache(shape, p0 + m, &mut rng, 3.0);
        let vc = cache(shape, p0 + m, &mut rng, 1.0);
        let mut want = vec![0f32; m * qd];
        reference(shape, &q, &kc, &vc, p0, &mut want);
        let mut got = vec![7f32; m * qd];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        pool.install(|| attention(shape, &q, &kc, &vc, p0, &mut got, simd));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 + 1e-4 * w.abs(),
                "m={m} p0={p0} simd={simd} hd={} at {i}: {g} vs {w}",
                shape.head_dim
            );
        }
    }

    #[test]
    fn tiled_matches_reference_for_prefill_decode_and_splits() {
        let shapes = [
            Shape {
                n_head: 9,
                n_head_kv: 3,
                head_dim: 64,
            },
            Shape {
                n_head: 4,
                n_head_kv: 4,
                head_dim: 32,
            },
            // Not a multiple of 32: the scalar path even when SIMD is on.
            Shape {
                n_head: 2,
                n_head_kv: 1,
                head_dim: 24,
            },
        ];
        for simd in simd_options() {
            for shape in shapes {
                for (m, p0) in [
                    (1, 0),
                    (1, 5),
                    (1, 700),
                    (3, 300),
                    (4, 257),
                    (5, 0),
                    (17, 0),
                    (40, 130),
                    (33, 65),
                ] {
                    check(shape, m, p0, simd);
                }
            }
        }
    }

    /// A row's result does not depend on the batch it came in or on how the keys were split
    /// over tasks (bit for bit), which keeps prefix caching exact.
    #[test]
    fn rows_are_bit_identical_whatever_the_batch_and_split() {
        let shape = Shape {
            n_head: 9,
            n_head_kv: 3,
            head_dim: 64,
        };
        let (p0, m) = (600, 100);
        let (qd, hd) = (shape.q_dim(), shape.head_dim);
        let mut rng = Rng::new(99);
        let q = random(m * qd, &mut rng, 3.0);
        let kc = cache(shape, p0 + m, &mut rng, 3.0);
        let vc = cache(shape, p0 + m, &mut rng, 1.0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        for simd in simd_options() {
            // 100 rows: enough tasks, the keys are not split.
            let mut full = vec![0f32; m * qd];
            pool.install(|| attention(shape, &q, &kc, &vc, p0, &mut full, simd));
            // Fewer rows: the keys are split into chunks across tasks.
            for (start, len) in [(0, 1), (99, 1), (5, 3), (16, 20), (40, 60)] {
                let n = p0 + start + len;
                let cut = |c: &Vec<Vec<u16>>| -> Vec<Vec<u16>> {
                    c.iter().map(|h| h[..n * hd].to_vec()).collect()
                };
                let mut got = vec![0f32; len * qd];
                let qs = &q[start * qd..(start + len) * qd];
                pool.install(|| {
                    attention(shape, qs, &cut(&kc), &cut(&vc), p0 + start, &mut got, simd)
                });
                let want = &full[start * qd..(start + len) * qd];
                assert!(
                    got.iter()
                        .zip(want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "rows {start}..{} (simd {simd}) differ from the full batch",
                    start + len
                );
            }
        }
    }

    #[test]
    fn plan_depends_on_shapes_only_and_covers_every_visible_key() {
        let shape = Shape {
            n_head: 9,
            n_head_kv: 3,
            head_dim: 64,
        };
        // Decoding at 600 keys: 3 heads × 3 key ranges.
        let t = plan(shape, 1, 599);
        assert_eq!(t.len(), 9);
        assert_eq!(t[2].keys, 512..600);
        // Prefill of 40 rows: 3 heads × 3 row tiles, each over all keys it can see.
        let t = plan(shape, 40, 10);
        assert_eq!(t.len(), 9);
        assert_eq!((t[1].rows.clone(), t[1].keys.clone()), (16..32, 0..42));
        assert_eq!((t[2].rows.clone(), t[2].keys.clone()), (32..40, 0..50));
        // The same far into the context: too few tasks, so the keys are split as well.
        let t = plan(shape, 40, 600);
        assert_eq!(t.len(), 3 * 3 * 3);
        assert_eq!((t[8].rows.clone(), t[8].keys.clone()), (32..40, 512..640));
        // Many rows: enough tasks without splitting the keys.
        let t = plan(shape, 100, 600);
        assert_eq!(t.len(), 3 * 7);
        assert_eq!(t[6].keys, 0..700);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_exp_is_accurate() {
        if !crate::quant::simd_available() {
            return;
        }
        let xs: Vec<f32> = (0..301).map(|i| -60.0 + i as f32 * 0.2).collect();
        let mut s = xs.clone();
        // SAFETY: features detected above.
        let sum = unsafe { x86::exp_shifted(&mut s, 0.0) };
        let mut want_sum = 0f64;
        for (x, e) in xs.iter().zip(&s) {
            let w = (*x as f64).exp();
            want_sum += w;
            assert!(
                ((*e as f64) - w).abs() <= 2e-7 * w,
                "exp({x}) = {e}, want {w}"
            );
        }
        assert!(((sum as f64) - want_sum).abs() <= 1e-6 * want_sum);
    }
}

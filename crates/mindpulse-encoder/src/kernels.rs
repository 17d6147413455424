//! Row-wise fused kernels outside the GEMM: LayerNorm, softmax, activations over slices,
//! embedding sum, pooling and L2 normalization. Each dispatches to AVX2/FMA when the CPU has
//! it and otherwise runs the scalar twin; unit tests compare both with naive versions.

use crate::simd::{self, Isa};

/// Activation applied in a GEMM epilogue or over a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Identity.
    None,
    /// Exact (erf) GELU, BERT's `gelu`.
    Gelu,
    /// Tanh-approximated GELU (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// `max(x, 0)`.
    Relu,
}

impl Act {
    /// Scalar application.
    #[inline]
    pub fn apply_scalar(self, x: f32) -> f32 {
        match self {
            Act::None => x,
            Act::Gelu => simd::gelu_scalar(x),
            Act::GeluTanh => simd::gelu_tanh_scalar(x),
            Act::Relu => x.max(0.0),
        }
    }
}

/// Applies `act` to every element of `x` in place.
pub fn activate(isa: Isa, act: Act, x: &mut [f32]) {
    if act == Act::None {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        // SAFETY: AVX2+FMA were detected at run time (Isa::Avx2Fma).
        unsafe { avx2::activate(act, x) };
        return;
    }
    let _ = isa;
    for v in x {
        *v = act.apply_scalar(*v);
    }
}

/// LayerNorm of each `width`-long row of `x` in place: `(x − mean)/√(var + eps)·γ + β`.
pub fn layer_norm(isa: Isa, x: &mut [f32], width: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    assert!(
        gamma.len() == width && beta.len() == width && width > 0 && x.len().is_multiple_of(width)
    );
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        for row in x.chunks_exact_mut(width) {
            // SAFETY: AVX2+FMA detected; all slices have length `width` (asserted above).
            unsafe { avx2::layer_norm_row(row, gamma, beta, eps) };
        }
        return;
    }
    let _ = isa;
    for row in x.chunks_exact_mut(width) {
        layer_norm_row_scalar(row, gamma, beta, eps);
    }
}

fn layer_norm_row_scalar(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let rstd = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * rstd * g + b;
    }
}

/// Softmax of `row` in place (numerically stable: the row maximum is subtracted first).
pub fn softmax(isa: Isa, row: &mut [f32]) {
    if row.is_empty() {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        // SAFETY: AVX2+FMA detected at run time.
        unsafe { avx2::softmax(row) };
        return;
    }
    let _ = isa;
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = simd::exp_scalar(*v - max);
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Row-wise `exp(x − max)` over the first `len` of each `np`-wide row of `s` (the rest is
/// set to 0), with `inv[i] = 1/Σ` of row `i`: a softmax whose normalization is left to the
/// caller (attention applies it to `P·V`, a `d`-wide row instead of an `L`-wide one).
pub fn softmax_unnormalized(isa: Isa, s: &mut [f32], np: usize, len: usize, inv: &mut [f32]) {
    assert!(np >= len && len > 0 && s.len() >= len * np && inv.len() >= len);
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma && np.is_multiple_of(8) {
        // SAFETY: AVX2+FMA detected; rows are np (a multiple of 8) floats, asserted above.
        unsafe { avx2::softmax_unnormalized(s, np, len, inv) };
        return;
    }
    let _ = isa;
    for (row, iv) in s.chunks_exact_mut(np).take(len).zip(inv.iter_mut()) {
        let max = row[..len].iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row[..len].iter_mut() {
            *v = simd::exp_scalar(*v - max);
            sum += *v;
        }
        row[len..].fill(0.0);
        *iv = 1.0 / sum;
    }
}

/// `dst += src`, element-wise.
pub fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// Scales `v` to unit L2 norm (left as is when its norm is 0); returns the original norm.
pub fn l2_normalize(v: &mut [f32]) -> f32 {
    let norm = v
        .iter()
        .map(|x| (*x as f64) * (*x as f64))
        .sum::<f64>()
        .sqrt() as f32;
    if norm > 0.0 {
        let inv = 1.0 / norm.max(1e-12);
        for x in v.iter_mut() {
            *x *= inv;
        }
    }
    norm
}

/// Mean of `rows` rows of `width` values (row-major) into `out`.
pub fn mean_rows(x: &[f32], width: usize, out: &mut [f32]) {
    out.fill(0.0);
    let rows = x.len() / width.max(1);
    for row in x.chunks_exact(width) {
        add_assign(out, row);
    }
    if rows > 0 {
        let inv = 1.0 / rows as f32;
        for v in out.iter_mut() {
            *v *= inv;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Act;
    use crate::simd::avx2 as v;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn activate(act: Act, x: &mut [f32]) {
        let n8 = x.len() / 8 * 8;
        let p = x.as_mut_ptr();
        let mut i = 0;
        while i < n8 {
            // SAFETY (caller + loop bound): i + 8 <= x.len().
            let a = _mm256_loadu_ps(p.add(i));
            let y = match act {
                Act::None => a,
                Act::Gelu => v::gelu(a),
                Act::GeluTanh => v::gelu_tanh(a),
                Act::Relu => _mm256_max_ps(a, _mm256_setzero_ps()),
            };
            _mm256_storeu_ps(p.add(i), y);
            i += 8;
        }
        for e in &mut x[n8..] {
            *e = act.apply_scalar(*e);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn layer_norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let n = row.len();
        let n8 = n / 8 * 8;
        let p = row.as_mut_ptr();
        let mut s0 = _mm256_setzero_ps();
        let mut i = 0;
        while i < n8 {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(p.add(i)));
            i += 8;
        }
        let mut sum = v::hsum(s0);
        for e in &row[n8..] {
            sum += e;
        }
        let mean = sum / n as f32;
        let m = _mm256_set1_ps(mean);
        let mut q0 = _mm256_setzero_ps();
        i = 0;
        while i < n8 {
            let d = _mm256_sub_ps(_mm256_loadu_ps(p.add(i)), m);
            q0 = _mm256_fmadd_ps(d, d, q0);
            i += 8;
        }
        let mut var = v::hsum(q0);
        for e in &row[n8..] {
            var += (e - mean) * (e - mean);
        }
        let rstd = 1.0 / (var / n as f32 + eps).sqrt();
        let r = _mm256_set1_ps(rstd);
        let g = gamma.as_ptr();
        let b = beta.as_ptr();
        i = 0;
        while i < n8 {
            let d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), m), r);
            let y = _mm256_fmadd_ps(d, _mm256_loadu_ps(g.add(i)), _mm256_loadu_ps(b.add(i)));
            _mm256_storeu_ps(p.add(i), y);
            i += 8;
        }
        for j in n8..n {
            row[j] = (row[j] - mean) * rstd * gamma[j] + beta[j];
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn softmax_unnormalized(s: &mut [f32], np: usize, len: usize, inv: &mut [f32]) {
        // Lane mask for the last, partial vector of real keys.
        let full = len / 8 * 8;
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let tail = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
            _mm256_set1_epi32((len - full) as i32),
            lane,
        ));
        let ninf = _mm256_set1_ps(f32::NEG_INFINITY);
        for (i, iv) in inv.iter_mut().enumerate().take(len) {
            let p = s.as_mut_ptr().add(i * np);
            let mut mx = ninf;
            let mut j = 0;
            while j < full {
                mx = _mm256_max_ps(mx, _mm256_loadu_ps(p.add(j)));
                j += 8;
            }
            if full < len {
                let x = _mm256_blendv_ps(ninf, _mm256_loadu_ps(p.add(full)), tail);
                _mm256_storeu_ps(p.add(full), x);
                mx = _mm256_max_ps(mx, x);
                j = full + 8;
            }
            while j < np {
                _mm256_storeu_ps(p.add(j), ninf);
                j += 8;
            }
            let m = _mm256_set1_ps(v::hmax(mx));
            let mut sum = _mm256_setzero_ps();
            j = 0;
            let end = len.div_ceil(8) * 8;
            while j < end {
                let e = v::exp(_mm256_sub_ps(_mm256_loadu_ps(p.add(j)), m));
                let e = _mm256_and_ps(
                    e,
                    if j == full {
                        tail
                    } else {
                        _mm256_castsi256_ps(_mm256_set1_epi32(-1))
                    },
                );
                _mm256_storeu_ps(p.add(j), e);
                sum = _mm256_add_ps(sum, e);
                j += 8;
            }
            *iv = 1.0 / v::hsum(sum);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn softmax(row: &mut [f32]) {
        let n = row.len();
        let n8 = n / 8 * 8;
        let p = row.as_mut_ptr();
        let mut mx = _mm256_set1_ps(f32::NEG_INFINITY);
        let mut i = 0;
        while i < n8 {
            mx = _mm256_max_ps(mx, _mm256_loadu_ps(p.add(i)));
            i += 8;
        }
        let mut max = v::hmax(mx);
        for e in &row[n8..] {
            max = max.max(*e);
        }
        let m = _mm256_set1_ps(max);
        let mut s = _mm256_setzero_ps();
        i = 0;
        while i < n8 {
            let e = v::exp(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), m));
            _mm256_storeu_ps(p.add(i), e);
            s = _mm256_add_ps(s, e);
            i += 8;
        }
        let mut sum = v::hsum(s);
        for e in &mut row[n8..] {
            *e = crate::simd::exp_scalar(*e - max);
            sum += *e;
        }
        let inv = 1.0 / sum;
        let iv = _mm256_set1_ps(inv);
        i = 0;
        while i < n8 {
            _mm256_storeu_ps(p.add(i), _mm256_mul_ps(_mm256_loadu_ps(p.add(i)), iv));
            i += 8;
        }
        for e in &mut row[n8..] {
            *e *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, scale: f32) -> Vec<f32> {
        // Deterministic pseudo-random values in [-scale, scale].
        let mut s = 0x9e37_79b9_u32;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn isas() -> Vec<Isa> {
        let mut v = vec![Isa::Scalar];
        if Isa::detect() != Isa::Scalar {
            v.push(Isa::detect());
        }
        v
    }

    #[test]
    fn exp_matches_std() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.043;
            let (a, b) = (simd::exp_scalar(x), x.exp());
            assert!(((a - b) / b).abs() < 3e-7, "exp({x}) = {a}, std {b}");
        }
        assert!(simd::exp_scalar(-200.0) < 1e-37);
    }

    #[test]
    fn erf_and_gelu_match_reference() {
        // Reference erf in f64.
        fn erf64(x: f64) -> f64 {
            let a = x.abs();
            if a <= 3.0 {
                // Taylor series (no harmful cancellation below 3).
                let (mut sum, mut term, mut n) = (a, a, 0.0);
                while term.abs() > 1e-18 && n < 200.0 {
                    n += 1.0;
                    term *= -a * a / n;
                    sum += term / (2.0 * n + 1.0);
                }
                return (sum * 2.0 / std::f64::consts::PI.sqrt()).copysign(x);
            }
            // Asymptotic erfc series, summed while its terms shrink.
            let (mut sum, mut term, mut n) = (1.0, 1.0f64, 0.0);
            loop {
                n += 1.0;
                let next = -term * (2.0 * n - 1.0) / (2.0 * a * a);
                if next.abs() >= term.abs() {
                    break;
                }
                term = next;
                sum += term;
            }
            let erfc = (-a * a).exp() / (a * std::f64::consts::PI.sqrt()) * sum;
            (1.0 - erfc).copysign(x)
        }
        for i in -600..=600 {
            let x = i as f32 * 0.01;
            let e = erf64(x as f64);
            assert!(
                (simd::erf_scalar(x) as f64 - e).abs() < 5e-7,
                "erf({x}) = {} vs {e}",
                simd::erf_scalar(x)
            );
            let g = 0.5 * x as f64 * (1.0 + erf64(x as f64 / std::f64::consts::SQRT_2));
            assert!(
                (simd::gelu_scalar(x) as f64 - g).abs() < 5e-7 * (1.0 + x.abs() as f64),
                "gelu({x})"
            );
            let t = 0.5
                * x as f64
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt()
                        * (x as f64 + 0.044715 * (x as f64).powi(3)))
                    .tanh());
            assert!(
                (simd::gelu_tanh_scalar(x) as f64 - t).abs() < 1e-6 * (1.0 + t.abs()),
                "gelu_tanh({x})"
            );
        }
    }

    #[test]
    fn activations_vector_equal_scalar() {
        let x = data(1003, 8.0);
        for isa in isas() {
            for act in [Act::Gelu, Act::GeluTanh, Act::Relu, Act::None] {
                let mut y = x.clone();
                activate(isa, act, &mut y);
                for (a, b) in y.iter().zip(&x) {
                    let want = act.apply_scalar(*b);
                    assert!(
                        (a - want).abs() <= 1e-6 * (1.0 + want.abs()),
                        "{isa:?} {act:?}({b}) = {a}, want {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn layer_norm_matches_naive() {
        for width in [1, 7, 8, 33, 384] {
            let x = data(width * 5, 3.0);
            let gamma = data(width, 1.0);
            let beta = data(width, 0.5);
            for isa in isas() {
                let mut y = x.clone();
                layer_norm(isa, &mut y, width, &gamma, &beta, 1e-12);
                for (r, row) in x.chunks(width).enumerate() {
                    let mean = row.iter().map(|v| *v as f64).sum::<f64>() / width as f64;
                    let var =
                        row.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / width as f64;
                    for j in 0..width {
                        let want = (row[j] as f64 - mean) / (var + 1e-12).sqrt() * gamma[j] as f64
                            + beta[j] as f64;
                        let got = y[r * width + j] as f64;
                        assert!(
                            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                            "{isa:?} w={width}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn softmax_matches_naive() {
        for n in [1, 5, 8, 17, 64, 257] {
            let x = data(n, 20.0);
            for isa in isas() {
                let mut y = x.clone();
                softmax(isa, &mut y);
                let max = x.iter().copied().fold(f32::MIN, f32::max) as f64;
                let sum: f64 = x.iter().map(|v| (*v as f64 - max).exp()).sum();
                for (g, v) in y.iter().zip(&x) {
                    let want = (*v as f64 - max).exp() / sum;
                    assert!((*g as f64 - want).abs() < 1e-6, "{isa:?} n={n}");
                }
            }
        }
    }

    #[test]
    fn unnormalized_softmax_matches_softmax() {
        for (np, len) in [(8, 1), (16, 9), (16, 16), (48, 44), (64, 57)] {
            let x = data(np * len, 15.0);
            for isa in isas() {
                let mut s = x.clone();
                let mut inv = vec![0.0; len];
                softmax_unnormalized(isa, &mut s, np, len, &mut inv);
                for i in 0..len {
                    let mut want = x[i * np..i * np + len].to_vec();
                    softmax(Isa::Scalar, &mut want);
                    for j in 0..np {
                        let got = s[i * np + j] * inv[i];
                        let w = if j < len { want[j] } else { 0.0 };
                        assert!(
                            (got - w).abs() < 1e-6,
                            "{isa:?} np={np} len={len} ({i},{j}): {got} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn pooling_and_normalize() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out = [0.0; 2];
        mean_rows(&x, 2, &mut out);
        assert_eq!(out, [3.0, 4.0]);
        let mut v = [3.0, 4.0];
        assert_eq!(l2_normalize(&mut v), 5.0);
        assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
        let mut z = [0.0, 0.0];
        assert_eq!(l2_normalize(&mut z), 0.0);
    }
}

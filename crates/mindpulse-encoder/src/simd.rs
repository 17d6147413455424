//! Runtime CPU feature detection and the AVX2/FMA vector math shared by the kernels
//! (`exp`, `erf`, `tanh` on 8 lanes), each with a scalar twin of the same formula.
//!
//! The approximations are the classic single-precision ones: Cephes `expf` (≈1 ulp) and, for
//! `erf`, the odd/even rational minimax fit used by Eigen and XLA on [-4, 4] (absolute error
//! ≈1e-7, no `exp` needed: 12 FMAs and a Newton-refined reciprocal), so the fused kernels agree with
//! PyTorch to float rounding.

/// The instruction set the kernels use, detected once per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable scalar code.
    Scalar,
    /// x86-64 AVX2 + FMA (8 × f32 lanes).
    Avx2Fma,
}

impl Isa {
    /// The best instruction set this CPU supports (cached after the first call).
    /// `MINDPULSE_ENCODER_SCALAR=1` forces the scalar code (for tests and comparisons).
    pub fn detect() -> Isa {
        use std::sync::OnceLock;
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            if std::env::var_os("MINDPULSE_ENCODER_SCALAR").is_some_and(|v| v == "1") {
                return Isa::Scalar;
            }
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    return Isa::Avx2Fma;
                }
            }
            Isa::Scalar
        })
    }
}

// Cephes expf constants.
pub(crate) const EXP_HI: f32 = 88.376_26;
pub(crate) const EXP_LO: f32 = -87.336_55; // keeps 2^n a normal number
pub(crate) const LOG2E: f32 = std::f32::consts::LOG2_E;
pub(crate) const LN2_HI: f32 = 0.693_359_4;
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
pub(crate) const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    5e-1,
];

// erf(x) ≈ x·P(x²)/Q(x²) on [-4, 4] (Eigen's generic_fast_erf_float).
pub(crate) const ERF_CLAMP: f32 = 4.0;
pub(crate) const ERF_ALPHA: [f32; 7] = [
    -2.726_142_3e-10,
    2.770_681_4e-8,
    -2.101_024e-6,
    -5.692_506_5e-5,
    -7.349_906_3e-4,
    -2.9546e-3,
    -1.609_603_3e-2,
];
pub(crate) const ERF_BETA: [f32; 5] = [
    -1.456_607_2e-5,
    -2.133_740_5e-4,
    -1.682_827e-3,
    -7.373_329e-3,
    -1.426_474e-2,
];

/// Scalar `exp` with the same polynomial as the vector version.
#[inline]
pub fn exp_scalar(x: f32) -> f32 {
    let x = x.clamp(EXP_LO, EXP_HI);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut y = EXP_P[0];
    for &c in &EXP_P[1..] {
        y = y * r + c;
    }
    let y = y * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Scalar `erf`, absolute error ≈1e-7.
#[inline]
pub fn erf_scalar(x: f32) -> f32 {
    let x = x.clamp(-ERF_CLAMP, ERF_CLAMP);
    let x2 = x * x;
    let mut p = ERF_ALPHA[0];
    for &c in &ERF_ALPHA[1..] {
        p = p.mul_add(x2, c);
    }
    let mut q = ERF_BETA[0];
    for &c in &ERF_BETA[1..] {
        q = q.mul_add(x2, c);
    }
    x * p / q
}

/// Exact (erf) GELU: `x/2 · (1 + erf(x/√2))`.
#[inline]
pub fn gelu_scalar(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_scalar(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Tanh GELU (`gelu_new`, `gelu_pytorch_tanh`): `x/2 · (1 + tanh(√(2/π)(x + 0.044715x³)))`.
#[inline]
pub fn gelu_tanh_scalar(x: f32) -> f32 {
    let u = 0.797_884_6 * (x + 0.044_715 * x * x * x);
    // tanh(u) = 1 - 2/(exp(2u)+1)
    let t = 1.0 - 2.0 / (exp_scalar(2.0 * u) + 1.0);
    0.5 * x * (1.0 + t)
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    //! 8-lane versions; callable only where AVX2 and FMA were detected.
    use super::*;
    use std::arch::x86_64::*;

    /// `exp` on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp(x: __m256) -> __m256 {
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(EXP_LO)),
            _mm256_set1_ps(EXP_HI),
        );
        let n = _mm256_floor_ps(_mm256_fmadd_ps(
            x,
            _mm256_set1_ps(LOG2E),
            _mm256_set1_ps(0.5),
        ));
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
        let mut y = _mm256_set1_ps(EXP_P[0]);
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P[1]));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P[2]));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P[3]));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P[4]));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P[5]));
        let r2 = _mm256_mul_ps(r, r);
        y = _mm256_fmadd_ps(y, r2, r);
        y = _mm256_add_ps(y, _mm256_set1_ps(1.0));
        let e = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        ));
        _mm256_mul_ps(y, _mm256_castsi256_ps(e))
    }

    /// `erf` on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn erf(x: __m256) -> __m256 {
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(-ERF_CLAMP)),
            _mm256_set1_ps(ERF_CLAMP),
        );
        let x2 = _mm256_mul_ps(x, x);
        let mut p = _mm256_set1_ps(ERF_ALPHA[0]);
        p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(ERF_ALPHA[1]));
        p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(ERF_ALPHA[2]));
        p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(ERF_ALPHA[3]));
        p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(ERF_ALPHA[4]));
        p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(ERF_ALPHA[5]));
        p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(ERF_ALPHA[6]));
        let mut q = _mm256_set1_ps(ERF_BETA[0]);
        q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(ERF_BETA[1]));
        q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(ERF_BETA[2]));
        q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(ERF_BETA[3]));
        q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(ERF_BETA[4]));
        // An exact division, as in `erf_scalar`: the reciprocal estimate (`vrcpps`) differs
        // between CPU vendors, which made embeddings, and heads trained on them, differ in
        // the last bits between Intel and AMD machines.
        _mm256_div_ps(_mm256_mul_ps(x, p), q)
    }

    /// Exact GELU on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu(x: __m256) -> __m256 {
        let e = erf(_mm256_mul_ps(
            x,
            _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2),
        ));
        let hx = _mm256_mul_ps(x, _mm256_set1_ps(0.5));
        _mm256_fmadd_ps(hx, e, hx)
    }

    /// Tanh GELU on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu_tanh(x: __m256) -> __m256 {
        let x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        let u = _mm256_mul_ps(
            _mm256_set1_ps(0.797_884_6),
            _mm256_fmadd_ps(_mm256_set1_ps(0.044_715), x3, x),
        );
        let one = _mm256_set1_ps(1.0);
        let e = exp(_mm256_add_ps(u, u));
        let t = _mm256_sub_ps(
            one,
            _mm256_div_ps(_mm256_set1_ps(2.0), _mm256_add_ps(e, one)),
        );
        let hx = _mm256_mul_ps(x, _mm256_set1_ps(0.5));
        _mm256_fmadd_ps(hx, t, hx)
    }

    /// 8 × 8 transpose: output `i` holds element `i` of every input.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }

    /// Horizontal sum of 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    /// Horizontal max of 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn hmax(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_max_ps(lo, hi);
        let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_max_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }
}

//! ggml tensor types: block layouts, dequantization, activation quantization and the
//! quantized dot products (portable scalar code, plus AVX2/FMA/F16C kernels chosen at run time).
//!
//! Weights stay in their GGUF encoding. Activations are quantized once per row into the
//! weight type's "vec-dot" partner: [`BlockQ8`] (32 values, for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0)
//! or [`BlockQ8K`] (256 values, for the k-quants); float weights use f32 activations.
//! The scalar kernels are the reference the SIMD kernels are tested against.

// The kernels index blocks the way the ggml layouts are specified (q[l], q[l + 32], …);
// iterator rewrites would obscure the correspondence.
#![allow(clippy::needless_range_loop)]

/// The ggml tensor types this runtime knows (ids as in ggml.h).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
}

/// Which activation encoding a weight type's dot product takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActKind {
    F32,
    Q8,
    Q8K,
}

impl GgmlType {
    pub fn from_id(id: u32) -> Option<GgmlType> {
        Some(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            6 => GgmlType::Q5_0,
            7 => GgmlType::Q5_1,
            8 => GgmlType::Q8_0,
            10 => GgmlType::Q2_K,
            11 => GgmlType::Q3_K,
            12 => GgmlType::Q4_K,
            13 => GgmlType::Q5_K,
            14 => GgmlType::Q6_K,
            30 => GgmlType::BF16,
            _ => return None,
        })
    }

    /// Values per block.
    pub fn block_len(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
                32
            }
            GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::Q4_K | GgmlType::Q5_K | GgmlType::Q6_K => {
                256
            }
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 18,
            GgmlType::Q4_1 => 20,
            GgmlType::Q5_0 => 22,
            GgmlType::Q5_1 => 24,
            GgmlType::Q8_0 => 34,
            GgmlType::Q2_K => 84,
            GgmlType::Q3_K => 110,
            GgmlType::Q4_K => 144,
            GgmlType::Q5_K => 176,
            GgmlType::Q6_K => 210,
        }
    }

    /// Whether this runtime can compute with the type (Q2_K / Q3_K are parsed, not computed).
    pub fn supported(self) -> bool {
        !matches!(self, GgmlType::Q2_K | GgmlType::Q3_K)
    }

    pub fn act_kind(self) -> ActKind {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => ActKind::F32,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
                ActKind::Q8
            }
            _ => ActKind::Q8K,
        }
    }
}

/// 32 activations quantized to i8: value ≈ `d * qs[i]`; `s = d * Σ qs`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8 {
    pub d: f32,
    pub s: f32,
    pub qs: [i8; 32],
}

/// 256 activations quantized to i8 with the sums of each group of 16 (for the k-quant minima).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8K {
    pub d: f32,
    pub qs: [i8; 256],
    pub bsums: [i16; 16],
}

impl Default for BlockQ8 {
    fn default() -> Self {
        BlockQ8 {
            d: 0.0,
            s: 0.0,
            qs: [0; 32],
        }
    }
}

impl Default for BlockQ8K {
    fn default() -> Self {
        BlockQ8K {
            d: 0.0,
            qs: [0; 256],
            bsums: [0; 16],
        }
    }
}

/// IEEE half → f32 (exact, handles subnormals, infinities and NaN).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let bits = if exp == 0 {
        if mant == 0 {
            sign
        } else {
            // Subnormal: value = mant * 2^-24.
            let v = mant as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
    } else if exp == 31 {
        sign | 0x7f80_0000 | (mant << 13)
    } else {
        sign | ((exp + 112) << 23) | (mant << 13)
    };
    f32::from_bits(bits)
}

/// f32 → IEEE half, round to nearest even (used by tests to build blocks).
pub fn f32_to_f16(v: f32) -> u16 {
    let x = v.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let mant = x & 0x7f_ffff;
    if exp == 255 {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 31 {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = mant | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rounded = (m + half - 1 + ((m >> shift) & 1)) >> shift;
        return sign | rounded as u16;
    }
    let half = 0x0fff + ((mant >> 13) & 1);
    let m = mant + half;
    if m & 0x80_0000 != 0 {
        let e = e + 1;
        if e >= 31 {
            return sign | 0x7c00;
        }
        return sign | ((e as u16) << 10);
    }
    sign | ((e as u16) << 10) | ((m >> 13) as u16)
}

#[inline(always)]
fn rd_f16(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// The 6-bit scale and minimum `j` (0..8) of a Q4_K / Q5_K block.
#[inline(always)]
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

fn scales_mins_k4(q: &[u8]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut mn = [0u8; 8];
    for j in 0..8 {
        let (s, m) = scale_min_k4(j, q);
        sc[j] = s;
        mn[j] = m;
    }
    (sc, mn)
}

/// Dequantizes one row (`data` holds whole blocks, `out.len()` values).
pub fn dequantize_row(ty: GgmlType, data: &[u8], out: &mut [f32]) {
    let bl = ty.block_len();
    let bb = ty.block_bytes();
    debug_assert_eq!(data.len(), out.len() / bl * bb);
    match ty {
        GgmlType::F32 => {
            for (o, c) in out.iter_mut().zip(data.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, c) in out.iter_mut().zip(data.chunks_exact(2)) {
                *o = f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }
        }
        GgmlType::BF16 => {
            for (o, c) in out.iter_mut().zip(data.chunks_exact(2)) {
                *o = f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16);
            }
        }
        GgmlType::Q4_0 => {
            for (y, b) in out.chunks_exact_mut(32).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 0);
                for j in 0..16 {
                    y[j] = ((b[2 + j] & 0xf) as i32 - 8) as f32 * d;
                    y[j + 16] = ((b[2 + j] >> 4) as i32 - 8) as f32 * d;
                }
            }
        }
        GgmlType::Q4_1 => {
            for (y, b) in out.chunks_exact_mut(32).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 0);
                let m = rd_f16(b, 2);
                for j in 0..16 {
                    y[j] = (b[4 + j] & 0xf) as f32 * d + m;
                    y[j + 16] = (b[4 + j] >> 4) as f32 * d + m;
                }
            }
        }
        GgmlType::Q5_0 => {
            for (y, b) in out.chunks_exact_mut(32).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 0);
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                for j in 0..16 {
                    let x0 = (b[6 + j] & 0xf) as u32 | (((qh >> j) & 1) << 4);
                    let x1 = (b[6 + j] >> 4) as u32 | (((qh >> (j + 16)) & 1) << 4);
                    y[j] = (x0 as i32 - 16) as f32 * d;
                    y[j + 16] = (x1 as i32 - 16) as f32 * d;
                }
            }
        }
        GgmlType::Q5_1 => {
            for (y, b) in out.chunks_exact_mut(32).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 0);
                let m = rd_f16(b, 2);
                let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                for j in 0..16 {
                    let x0 = (b[8 + j] & 0xf) as u32 | (((qh >> j) & 1) << 4);
                    let x1 = (b[8 + j] >> 4) as u32 | (((qh >> (j + 16)) & 1) << 4);
                    y[j] = x0 as f32 * d + m;
                    y[j + 16] = x1 as f32 * d + m;
                }
            }
        }
        GgmlType::Q8_0 => {
            for (y, b) in out.chunks_exact_mut(32).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 0);
                for j in 0..32 {
                    y[j] = (b[2 + j] as i8) as f32 * d;
                }
            }
        }
        GgmlType::Q4_K => {
            for (y, b) in out.chunks_exact_mut(256).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 0);
                let dmin = rd_f16(b, 2);
                let (sc, mn) = scales_mins_k4(&b[4..16]);
                let qs = &b[16..144];
                for j in 0..4 {
                    let (d1, m1) = (d * sc[2 * j] as f32, dmin * mn[2 * j] as f32);
                    let (d2, m2) = (d * sc[2 * j + 1] as f32, dmin * mn[2 * j + 1] as f32);
                    let q = &qs[32 * j..32 * j + 32];
                    for l in 0..32 {
                        y[64 * j + l] = d1 * (q[l] & 0xf) as f32 - m1;
                        y[64 * j + 32 + l] = d2 * (q[l] >> 4) as f32 - m2;
                    }
                }
            }
        }
        GgmlType::Q5_K => {
            for (y, b) in out.chunks_exact_mut(256).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 0);
                let dmin = rd_f16(b, 2);
                let (sc, mn) = scales_mins_k4(&b[4..16]);
                let qh = &b[16..48];
                let qs = &b[48..176];
                for j in 0..4 {
                    let (d1, m1) = (d * sc[2 * j] as f32, dmin * mn[2 * j] as f32);
                    let (d2, m2) = (d * sc[2 * j + 1] as f32, dmin * mn[2 * j + 1] as f32);
                    let u1 = 1u8 << (2 * j);
                    let u2 = 2u8 << (2 * j);
                    let q = &qs[32 * j..32 * j + 32];
                    for l in 0..32 {
                        let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                        let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
                        y[64 * j + l] = d1 * ((q[l] & 0xf) + h1) as f32 - m1;
                        y[64 * j + 32 + l] = d2 * ((q[l] >> 4) + h2) as f32 - m2;
                    }
                }
            }
        }
        GgmlType::Q6_K => {
            for (y, b) in out.chunks_exact_mut(256).zip(data.chunks_exact(bb)) {
                let d = rd_f16(b, 208);
                for n in 0..2 {
                    let ql = &b[64 * n..64 * n + 64];
                    let qh = &b[128 + 32 * n..128 + 32 * n + 32];
                    let sc = &b[192 + 8 * n..192 + 8 * n + 8];
                    let y = &mut y[128 * n..128 * n + 128];
                    for l in 0..32 {
                        let is = l / 16;
                        let q1 = ((ql[l] & 0xf) | ((qh[l] & 3) << 4)) as i32 - 32;
                        let q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                        let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                        let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                        y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                        y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                        y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                        y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
                    }
                }
            }
        }
        GgmlType::Q2_K | GgmlType::Q3_K => {
            // Rejected when the model is loaded (`supported()`); never reached.
            out.fill(0.0);
        }
    }
}

/// Quantizes one row of activations into 32-value blocks.
pub fn quantize_row_q8(x: &[f32], out: &mut [BlockQ8]) {
    for (b, x) in out.iter_mut().zip(x.chunks_exact(32)) {
        let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d > 0.0 { 1.0 / d } else { 0.0 };
        let mut sum = 0i32;
        for (q, &v) in b.qs.iter_mut().zip(x) {
            let r = (v * id).round() as i32;
            *q = r.clamp(-127, 127) as i8;
            sum += *q as i32;
        }
        b.d = d;
        b.s = d * sum as f32;
    }
}

/// Quantizes one row of activations into 256-value blocks.
pub fn quantize_row_q8k(x: &[f32], out: &mut [BlockQ8K]) {
    for (b, x) in out.iter_mut().zip(x.chunks_exact(256)) {
        let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d > 0.0 { 1.0 / d } else { 0.0 };
        for (q, &v) in b.qs.iter_mut().zip(x) {
            *q = ((v * id).round() as i32).clamp(-127, 127) as i8;
        }
        for (s, g) in b.bsums.iter_mut().zip(b.qs.chunks_exact(16)) {
            *s = g.iter().map(|&q| q as i16).sum();
        }
        b.d = d;
    }
}

/// A row dot product between one weight row (raw bytes) and one activation row.
#[derive(Clone, Copy)]
pub enum DotKernel {
    F32(fn(&[u8], &[f32]) -> f32),
    /// One activation row, and optionally four at once (same result per row).
    Q8(fn(&[u8], &[BlockQ8]) -> f32, Option<Dot4<BlockQ8>>),
    Q8K(fn(&[u8], &[BlockQ8K]) -> f32, Option<Dot4<BlockQ8K>>),
}

/// A weight row against four activation rows at once.
pub type Dot4<B> = fn(&[u8], [&[B]; 4]) -> [f32; 4];

/// Whether the AVX2 + FMA + F16C kernels can run on this CPU.
pub fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The dot kernel for weights of type `ty` (`simd`: use the AVX2 kernels; only pass true
/// when [`simd_available`] said so).
pub fn dot_kernel(ty: GgmlType, simd: bool) -> DotKernel {
    #[cfg(target_arch = "x86_64")]
    if simd {
        match ty {
            GgmlType::F32 => return DotKernel::F32(x86::dot_f32w),
            GgmlType::F16 => return DotKernel::F32(x86::dot_f16w),
            GgmlType::Q4_0 => return DotKernel::Q8(x86::dot_q4_0, Some(x86::dot4_q4_0)),
            GgmlType::Q4_1 => return DotKernel::Q8(x86::dot_q4_1, Some(x86::dot4_q4_1)),
            GgmlType::Q5_0 => return DotKernel::Q8(x86::dot_q5_0, Some(x86::dot4_q5_0)),
            GgmlType::Q5_1 => return DotKernel::Q8(x86::dot_q5_1, Some(x86::dot4_q5_1)),
            GgmlType::Q8_0 => return DotKernel::Q8(x86::dot_q8_0, Some(x86::dot4_q8_0)),
            GgmlType::Q4_K => return DotKernel::Q8K(x86::dot_q4_k, Some(x86::dot4_q4_k)),
            GgmlType::Q6_K => return DotKernel::Q8K(x86::dot_q6_k, Some(x86::dot4_q6_k)),
            _ => {}
        }
    }
    let _ = simd;
    match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => DotKernel::F32(match ty {
            GgmlType::F32 => scalar::dot_f32w,
            GgmlType::F16 => scalar::dot_f16w,
            _ => scalar::dot_bf16w,
        }),
        GgmlType::Q4_0 => DotKernel::Q8(scalar::dot_q4_0, None),
        GgmlType::Q4_1 => DotKernel::Q8(scalar::dot_q4_1, None),
        GgmlType::Q5_0 => DotKernel::Q8(scalar::dot_q5_0, None),
        GgmlType::Q5_1 => DotKernel::Q8(scalar::dot_q5_1, None),
        GgmlType::Q8_0 => DotKernel::Q8(scalar::dot_q8_0, None),
        GgmlType::Q4_K => DotKernel::Q8K(scalar::dot_q4_k, None),
        GgmlType::Q5_K => DotKernel::Q8K(scalar::dot_q5_k, None),
        GgmlType::Q6_K => DotKernel::Q8K(scalar::dot_q6_k, None),
        GgmlType::Q2_K | GgmlType::Q3_K => DotKernel::Q8K(scalar::dot_unsupported, None),
    }
}

/// f32 · f32 (attention); AVX2 when available.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32], simd: bool) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is only true when AVX2/FMA were detected at load time.
        return unsafe { x86::dot_f32_f32(a, b) };
    }
    let _ = simd;
    scalar::dot_f32_f32(a, b)
}

/// `y += a * x` (attention value accumulation).
#[inline]
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

pub(crate) mod scalar {
    //! Portable kernels; the reference for the SIMD ones.
    use super::*;

    pub fn dot_f32_f32(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0f32; 8];
        let ca = a.chunks_exact(8);
        let cb = b.chunks_exact(8);
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for i in 0..8 {
                acc[i] += x[i] * y[i];
            }
        }
        let mut s: f32 = acc.iter().sum();
        for (x, y) in ra.iter().zip(rb) {
            s += x * y;
        }
        s
    }

    pub fn dot_f32w(w: &[u8], a: &[f32]) -> f32 {
        w.chunks_exact(4)
            .zip(a)
            .map(|(c, &x)| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * x)
            .sum()
    }

    pub fn dot_f16w(w: &[u8], a: &[f32]) -> f32 {
        w.chunks_exact(2)
            .zip(a)
            .map(|(c, &x)| f16_to_f32(u16::from_le_bytes([c[0], c[1]])) * x)
            .sum()
    }

    pub fn dot_bf16w(w: &[u8], a: &[f32]) -> f32 {
        w.chunks_exact(2)
            .zip(a)
            .map(|(c, &x)| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16) * x)
            .sum()
    }

    pub fn dot_q4_0(w: &[u8], a: &[BlockQ8]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(18).zip(a) {
            let mut s = 0i32;
            for j in 0..16 {
                s += ((b[2 + j] & 0xf) as i32 - 8) * y.qs[j] as i32;
                s += ((b[2 + j] >> 4) as i32 - 8) * y.qs[j + 16] as i32;
            }
            sum += rd_f16(b, 0) * y.d * s as f32;
        }
        sum
    }

    pub fn dot_q4_1(w: &[u8], a: &[BlockQ8]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(20).zip(a) {
            let mut s = 0i32;
            for j in 0..16 {
                s += (b[4 + j] & 0xf) as i32 * y.qs[j] as i32;
                s += (b[4 + j] >> 4) as i32 * y.qs[j + 16] as i32;
            }
            sum += rd_f16(b, 0) * y.d * s as f32 + rd_f16(b, 2) * y.s;
        }
        sum
    }

    pub fn dot_q5_0(w: &[u8], a: &[BlockQ8]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(22).zip(a) {
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            let mut s = 0i32;
            for j in 0..16 {
                let x0 = ((b[6 + j] & 0xf) as u32 | (((qh >> j) & 1) << 4)) as i32 - 16;
                let x1 = ((b[6 + j] >> 4) as u32 | (((qh >> (j + 16)) & 1) << 4)) as i32 - 16;
                s += x0 * y.qs[j] as i32 + x1 * y.qs[j + 16] as i32;
            }
            sum += rd_f16(b, 0) * y.d * s as f32;
        }
        sum
    }

    pub fn dot_q5_1(w: &[u8], a: &[BlockQ8]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(24).zip(a) {
            let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let mut s = 0i32;
            for j in 0..16 {
                let x0 = ((b[8 + j] & 0xf) as u32 | (((qh >> j) & 1) << 4)) as i32;
                let x1 = ((b[8 + j] >> 4) as u32 | (((qh >> (j + 16)) & 1) << 4)) as i32;
                s += x0 * y.qs[j] as i32 + x1 * y.qs[j + 16] as i32;
            }
            sum += rd_f16(b, 0) * y.d * s as f32 + rd_f16(b, 2) * y.s;
        }
        sum
    }

    pub fn dot_q8_0(w: &[u8], a: &[BlockQ8]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(34).zip(a) {
            let mut s = 0i32;
            for j in 0..32 {
                s += (b[2 + j] as i8) as i32 * y.qs[j] as i32;
            }
            sum += rd_f16(b, 0) * y.d * s as f32;
        }
        sum
    }

    pub fn dot_q4_k(w: &[u8], a: &[BlockQ8K]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(144).zip(a) {
            let (sc, mn) = scales_mins_k4(&b[4..16]);
            let qs = &b[16..144];
            let mut sumi = 0i32;
            for j in 0..4 {
                let q = &qs[32 * j..32 * j + 32];
                let (mut lo, mut hi) = (0i32, 0i32);
                for l in 0..32 {
                    lo += (q[l] & 0xf) as i32 * y.qs[64 * j + l] as i32;
                    hi += (q[l] >> 4) as i32 * y.qs[64 * j + 32 + l] as i32;
                }
                sumi += sc[2 * j] as i32 * lo + sc[2 * j + 1] as i32 * hi;
            }
            let mut summ = 0i32;
            for j in 0..8 {
                summ += mn[j] as i32 * (y.bsums[2 * j] as i32 + y.bsums[2 * j + 1] as i32);
            }
            sum += y.d * (rd_f16(b, 0) * sumi as f32 - rd_f16(b, 2) * summ as f32);
        }
        sum
    }

    pub fn dot_q5_k(w: &[u8], a: &[BlockQ8K]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(176).zip(a) {
            let (sc, mn) = scales_mins_k4(&b[4..16]);
            let qh = &b[16..48];
            let qs = &b[48..176];
            let mut sumi = 0i32;
            for j in 0..4 {
                let q = &qs[32 * j..32 * j + 32];
                let (u1, u2) = (1u8 << (2 * j), 2u8 << (2 * j));
                let (mut lo, mut hi) = (0i32, 0i32);
                for l in 0..32 {
                    let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                    let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
                    lo += ((q[l] & 0xf) as i32 + h1) * y.qs[64 * j + l] as i32;
                    hi += ((q[l] >> 4) as i32 + h2) * y.qs[64 * j + 32 + l] as i32;
                }
                sumi += sc[2 * j] as i32 * lo + sc[2 * j + 1] as i32 * hi;
            }
            let mut summ = 0i32;
            for j in 0..8 {
                summ += mn[j] as i32 * (y.bsums[2 * j] as i32 + y.bsums[2 * j + 1] as i32);
            }
            sum += y.d * (rd_f16(b, 0) * sumi as f32 - rd_f16(b, 2) * summ as f32);
        }
        sum
    }

    pub fn dot_q6_k(w: &[u8], a: &[BlockQ8K]) -> f32 {
        let mut sum = 0f32;
        for (b, y) in w.chunks_exact(210).zip(a) {
            let mut sumi = 0i32;
            for n in 0..2 {
                let ql = &b[64 * n..64 * n + 64];
                let qh = &b[128 + 32 * n..128 + 32 * n + 32];
                let sc = &b[192 + 8 * n..192 + 8 * n + 8];
                let aq = &y.qs[128 * n..128 * n + 128];
                let mut s = [0i32; 8];
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0xf) | ((qh[l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                    s[is] += q1 * aq[l] as i32;
                    s[is + 2] += q2 * aq[l + 32] as i32;
                    s[is + 4] += q3 * aq[l + 64] as i32;
                    s[is + 6] += q4 * aq[l + 96] as i32;
                }
                for k in 0..8 {
                    sumi += (sc[k] as i8) as i32 * s[k];
                }
            }
            sum += rd_f16(b, 208) * y.d * sumi as f32;
        }
        sum
    }

    pub fn dot_unsupported(_w: &[u8], _a: &[BlockQ8K]) -> f32 {
        // Q2_K / Q3_K matrices are rejected when the model is loaded.
        f32::NAN
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 / FMA / F16C kernels (block layouts as in ggml's x86 code). Every kernel is
    //! generic over the number of activation rows `N` it meets per weight block: the block
    //! is decoded once and used for all of them. The 1-row and 4-row instances perform the
    //! same operations per row, so a token's result does not depend on its batch.
    //! The safe entry points are only handed out by [`super::dot_kernel`] after the CPU
    //! features were detected.
    use super::{BlockQ8, BlockQ8K};
    use std::arch::x86_64::*;

    /// How far ahead of the current weight block the kernels prefetch (the rows of a task
    /// are contiguous, so this runs on into the next rows).
    const PREFETCH_BYTES: usize = 2048;

    /// Prefetches the cache lines of the block [`PREFETCH_BYTES`] ahead of one of `bytes`.
    #[inline(always)]
    unsafe fn prefetch_block(p: *const u8, bytes: usize) {
        let mut o = 0;
        while o < bytes {
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(PREFETCH_BYTES + o) as *const i8);
            o += 64;
        }
    }

    #[inline(always)]
    unsafe fn hsum_ps(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    #[inline(always)]
    unsafe fn f16(p: *const u8) -> f32 {
        let h = std::ptr::read_unaligned(p as *const u16);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
    }

    /// 16 bytes of nibbles → 32 bytes: low nibbles first, then the high nibbles.
    #[inline(always)]
    unsafe fn bytes_from_nibbles_32(p: *const u8) -> __m256i {
        let tmp = _mm_loadu_si128(p as *const __m128i);
        let bytes = _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp);
        _mm256_and_si256(_mm256_set1_epi8(0xf), bytes)
    }

    /// 32 bits → 32 bytes, 0xFF where the bit is set.
    #[inline(always)]
    unsafe fn bytes_from_bits_32(p: *const u8) -> __m256i {
        let x32 = std::ptr::read_unaligned(p as *const u32);
        let shuf = _mm256_set_epi64x(
            0x0303030303030303,
            0x0202020202020202,
            0x0101010101010101,
            0x0000000000000000,
        );
        let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(x32 as i32), shuf);
        let bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
        let bytes = _mm256_or_si256(bytes, bit_mask);
        _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
    }

    /// A kernel for the 32-value formats against [`BlockQ8`] rows. `decode` gives the 32
    /// weights as bytes (unsigned, or signed when `signed`); the result per row is
    /// `Σ dw·dy·Σ(x·y) + off_scale · Σ off`.
    macro_rules! q8_family {
        ($name:ident, $bb:expr, |$p:ident, $y:ident, $dw:ident| decode = $decode:expr, signed = $signed:expr, off = $off:expr, off_scale = $os:expr) => {
            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn $name<const N: usize>(w: &[u8], a: &[&[BlockQ8]; N]) -> [f32; N] {
                let nb = a[0].len();
                assert!(w.len() >= nb * $bb && a.iter().all(|r| r.len() == nb));
                let ones = _mm256_set1_epi16(1);
                let mut acc = [_mm256_setzero_ps(); N];
                let mut off = [0f32; N];
                let mut $p = w.as_ptr();
                for b in 0..nb {
                    // The weights stream from memory once per token; the loop is too long
                    // for the out-of-order window to run far enough ahead on its own.
                    _mm_prefetch::<_MM_HINT_T0>($p.wrapping_add(PREFETCH_BYTES) as *const i8);
                    let $dw = f16($p);
                    let qx: __m256i = $decode;
                    let ax = if $signed {
                        _mm256_sign_epi8(qx, qx)
                    } else {
                        qx
                    };
                    for r in 0..N {
                        let $y = a[r].get_unchecked(b);
                        let mut qy = _mm256_loadu_si256($y.qs.as_ptr() as *const __m256i);
                        if $signed {
                            qy = _mm256_sign_epi8(qy, qx);
                        }
                        let s = _mm256_cvtepi32_ps(_mm256_madd_epi16(
                            _mm256_maddubs_epi16(ax, qy),
                            ones,
                        ));
                        acc[r] = _mm256_fmadd_ps(_mm256_set1_ps($dw * $y.d), s, acc[r]);
                        off[r] += $off;
                    }
                    $p = $p.add($bb);
                }
                let mut out = [0f32; N];
                for r in 0..N {
                    out[r] = hsum_ps(acc[r]) + $os * off[r];
                }
                out
            }
        };
    }

    q8_family!(
        q4_0_n,
        18,
        |p, y, dw| decode = bytes_from_nibbles_32(p.add(2)),
        signed = false,
        off = dw * y.s,
        off_scale = -8.0
    );
    q8_family!(
        q4_1_n,
        20,
        |p, y, dw| decode = bytes_from_nibbles_32(p.add(4)),
        signed = false,
        off = f16(p.add(2)) * y.s,
        off_scale = 1.0
    );
    q8_family!(
        q5_0_n,
        22,
        |p, y, dw| decode = _mm256_or_si256(
            bytes_from_nibbles_32(p.add(6)),
            _mm256_and_si256(bytes_from_bits_32(p.add(2)), _mm256_set1_epi8(0x10))
        ),
        signed = false,
        off = dw * y.s,
        off_scale = -16.0
    );
    q8_family!(
        q5_1_n,
        24,
        |p, y, dw| decode = _mm256_or_si256(
            bytes_from_nibbles_32(p.add(8)),
            _mm256_and_si256(bytes_from_bits_32(p.add(4)), _mm256_set1_epi8(0x10))
        ),
        signed = false,
        off = f16(p.add(2)) * y.s,
        off_scale = 1.0
    );
    q8_family!(
        q8_0_n,
        34,
        |p, y, dw| decode = _mm256_loadu_si256(p.add(2) as *const __m256i),
        signed = true,
        off = 0.0 * dw * y.d,
        off_scale = 0.0
    );

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q4_k_n<const N: usize>(w: &[u8], a: &[&[BlockQ8K]; N]) -> [f32; N] {
        let nb = a[0].len();
        assert!(w.len() >= nb * 144 && a.iter().all(|r| r.len() == nb));
        let m4 = _mm256_set1_epi8(0xf);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut accm = [0f32; N];
        for b in 0..nb {
            let blk = w.as_ptr().add(b * 144);
            prefetch_block(blk, 144);
            let dw = f16(blk);
            let dminw = f16(blk.add(2));
            let (sc, mn) = super::scales_mins_k4(std::slice::from_raw_parts(blk.add(4), 12));
            for r in 0..N {
                let y = a[r].get_unchecked(b);
                let mut summ = 0i32;
                for j in 0..8 {
                    summ += mn[j] as i32 * (y.bsums[2 * j] as i32 + y.bsums[2 * j + 1] as i32);
                }
                accm[r] += dminw * y.d * summ as f32;
            }
            let mut sumi = [_mm256_setzero_si256(); N];
            for j in 0..4 {
                let q4bits = _mm256_loadu_si256(blk.add(16 + 32 * j) as *const __m256i);
                let q4l = _mm256_and_si256(q4bits, m4);
                let q4h = _mm256_and_si256(_mm256_srli_epi16(q4bits, 4), m4);
                let sl = _mm256_set1_epi16(sc[2 * j] as i16);
                let sh = _mm256_set1_epi16(sc[2 * j + 1] as i16);
                for r in 0..N {
                    let q8 = a[r].get_unchecked(b).qs.as_ptr();
                    let q8l = _mm256_loadu_si256(q8.add(64 * j) as *const __m256i);
                    let q8h = _mm256_loadu_si256(q8.add(64 * j + 32) as *const __m256i);
                    let pl = _mm256_madd_epi16(sl, _mm256_maddubs_epi16(q4l, q8l));
                    let ph = _mm256_madd_epi16(sh, _mm256_maddubs_epi16(q4h, q8h));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(pl, ph));
                }
            }
            for r in 0..N {
                let d = _mm256_set1_ps(dw * a[r].get_unchecked(b).d);
                acc[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            }
        }
        let mut out = [0f32; N];
        for r in 0..N {
            out[r] = hsum_ps(acc[r]) - accm[r];
        }
        out
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q6_k_n<const N: usize>(w: &[u8], a: &[&[BlockQ8K]; N]) -> [f32; N] {
        let nb = a[0].len();
        assert!(w.len() >= nb * 210 && a.iter().all(|r| r.len() == nb));
        let m4 = _mm256_set1_epi8(0xf);
        let m2 = _mm256_set1_epi8(3);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut corr = [0f32; N];
        for b in 0..nb {
            let blk = w.as_ptr().add(b * 210);
            prefetch_block(blk, 210);
            let dw = f16(blk.add(208));
            let sc = std::slice::from_raw_parts(blk.add(192), 16);
            // Σ (q - 32)·a = Σ q·a - 32 Σ_k sc_k · bsum_k (the groups of 16 share a scale).
            for r in 0..N {
                let y = a[r].get_unchecked(b);
                let mut o = 0i32;
                for k in 0..16 {
                    o += (sc[k] as i8) as i32 * y.bsums[k] as i32;
                }
                corr[r] += dw * y.d * (32 * o) as f32;
            }
            let mut sumi = [_mm256_setzero_si256(); N];
            for n in 0..2 {
                let qhb = _mm256_loadu_si256(blk.add(128 + 32 * n) as *const __m256i);
                let q4bits1 = _mm256_loadu_si256(blk.add(64 * n) as *const __m256i);
                let q4bits2 = _mm256_loadu_si256(blk.add(64 * n + 32) as *const __m256i);
                let h0 = _mm256_slli_epi16(_mm256_and_si256(qhb, m2), 4);
                let h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qhb, 2), m2), 4);
                let h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qhb, 4), m2), 4);
                let h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qhb, 6), m2), 4);
                let q = [
                    _mm256_or_si256(_mm256_and_si256(q4bits1, m4), h0),
                    _mm256_or_si256(_mm256_and_si256(q4bits2, m4), h1),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4bits1, 4), m4), h2),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4bits2, 4), m4), h3),
                ];
                for (k, qk) in q.iter().enumerate() {
                    let s0 = sc[8 * n + 2 * k] as i8 as i16;
                    let s1 = sc[8 * n + 2 * k + 1] as i8 as i16;
                    let scale = _mm256_set_m128i(_mm_set1_epi16(s1), _mm_set1_epi16(s0));
                    for r in 0..N {
                        let q8 = _mm256_loadu_si256(
                            a[r].get_unchecked(b).qs.as_ptr().add(128 * n + 32 * k)
                                as *const __m256i,
                        );
                        let p = _mm256_madd_epi16(scale, _mm256_maddubs_epi16(*qk, q8));
                        sumi[r] = _mm256_add_epi32(sumi[r], p);
                    }
                }
            }
            for r in 0..N {
                let d = _mm256_set1_ps(dw * a[r].get_unchecked(b).d);
                acc[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            }
        }
        let mut out = [0f32; N];
        for r in 0..N {
            out[r] = hsum_ps(acc[r]) - corr[r];
        }
        out
    }

    macro_rules! entries {
        ($one:ident, $four:ident, $inner:ident, $act:ty) => {
            pub fn $one(w: &[u8], a: &[$act]) -> f32 {
                // SAFETY: handed out only after AVX2/FMA/F16C were detected; the kernel
                // asserts that `w` holds the blocks it reads.
                unsafe { $inner::<1>(w, &[a])[0] }
            }
            pub fn $four(w: &[u8], a: [&[$act]; 4]) -> [f32; 4] {
                // SAFETY: as above.
                unsafe { $inner::<4>(w, &a) }
            }
        };
    }

    entries!(dot_q4_0, dot4_q4_0, q4_0_n, BlockQ8);
    entries!(dot_q4_1, dot4_q4_1, q4_1_n, BlockQ8);
    entries!(dot_q5_0, dot4_q5_0, q5_0_n, BlockQ8);
    entries!(dot_q5_1, dot4_q5_1, q5_1_n, BlockQ8);
    entries!(dot_q8_0, dot4_q8_0, q8_0_n, BlockQ8);
    entries!(dot_q4_k, dot4_q4_k, q4_k_n, BlockQ8K);
    entries!(dot_q6_k, dot4_q6_k, q6_k_n, BlockQ8K);

    pub fn dot_f16w(w: &[u8], a: &[f32]) -> f32 {
        // SAFETY: handed out only after AVX2/FMA/F16C were detected.
        unsafe { dot_f16w_avx2(w, a) }
    }

    pub fn dot_f32w(w: &[u8], a: &[f32]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_f32w_avx2(w, a) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_f16w_avx2(w: &[u8], a: &[f32]) -> f32 {
        assert!(w.len() >= a.len() * 2);
        let n8 = a.len() / 8 * 8;
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i < n8 {
            let wv = _mm256_cvtph_ps(_mm_loadu_si128(w.as_ptr().add(2 * i) as *const __m128i));
            let av = _mm256_loadu_ps(a.as_ptr().add(i));
            acc = _mm256_fmadd_ps(wv, av, acc);
            i += 8;
        }
        let mut s = hsum_ps(acc);
        for j in n8..a.len() {
            s += f16(w.as_ptr().add(2 * j)) * a[j];
        }
        s
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_f32w_avx2(w: &[u8], a: &[f32]) -> f32 {
        assert!(w.len() >= a.len() * 4);
        let n8 = a.len() / 8 * 8;
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i < n8 {
            let wv = _mm256_loadu_ps(w.as_ptr().add(4 * i) as *const f32);
            let av = _mm256_loadu_ps(a.as_ptr().add(i));
            acc = _mm256_fmadd_ps(wv, av, acc);
            i += 8;
        }
        let mut s = hsum_ps(acc);
        for j in n8..a.len() {
            let c = &w[4 * j..4 * j + 4];
            s += f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * a[j];
        }
        s
    }

    /// f32 · f32.
    ///
    /// # Safety
    /// AVX2 and FMA must be available.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_f32_f32(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let n16 = n / 16 * 16;
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i < n16 {
            acc0 = _mm256_fmadd_ps(
                _mm256_loadu_ps(a.as_ptr().add(i)),
                _mm256_loadu_ps(b.as_ptr().add(i)),
                acc0,
            );
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(a.as_ptr().add(i + 8)),
                _mm256_loadu_ps(b.as_ptr().add(i + 8)),
                acc1,
            );
            i += 16;
        }
        let mut s = hsum_ps(_mm256_add_ps(acc0, acc1));
        for j in n16..n {
            s += a[j] * b[j];
        }
        s
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Deterministic test data shared by the kernel tests.
    use super::*;

    /// Deterministic pseudo-random bytes / floats (xorshift).
    pub struct Rng(u64);
    impl Rng {
        pub fn new(seed: u64) -> Rng {
            Rng(seed | 1)
        }
        pub fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub fn f32(&mut self) -> f32 {
            (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        }
    }

    /// Random blocks of `ty` with sane (small, finite) f16 scales.
    pub fn random_blocks(ty: GgmlType, n_blocks: usize, rng: &mut Rng) -> Vec<u8> {
        let bb = ty.block_bytes();
        let mut v: Vec<u8> = (0..n_blocks * bb).map(|_| rng.next_u64() as u8).collect();
        let f16_at = |v: &mut Vec<u8>, at: usize, x: f32| {
            v[at..at + 2].copy_from_slice(&f32_to_f16(x).to_le_bytes());
        };
        for b in 0..n_blocks {
            let o = b * bb;
            match ty {
                GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => {
                    let x = rng.f32() * 0.05;
                    f16_at(&mut v, o, x)
                }
                GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => {
                    let (x, y) = (rng.f32() * 0.05, rng.f32() * 0.05);
                    f16_at(&mut v, o, x);
                    f16_at(&mut v, o + 2, y);
                }
                GgmlType::Q6_K => {
                    let x = rng.f32() * 0.05;
                    f16_at(&mut v, o + 208, x)
                }
                GgmlType::F16 => {
                    let x = rng.f32();
                    f16_at(&mut v, o, x)
                }
                GgmlType::F32 => {
                    let x = rng.f32();
                    v[o..o + 4].copy_from_slice(&x.to_le_bytes())
                }
                _ => {}
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{random_blocks, Rng};
    use super::*;

    const TYPES: [GgmlType; 10] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ];

    fn dot_with(kernel: DotKernel, w: &[u8], x: &[f32]) -> f32 {
        match kernel {
            DotKernel::F32(f) => f(w, x),
            DotKernel::Q8(f, four) => {
                let mut q = vec![BlockQ8::default(); x.len() / 32];
                quantize_row_q8(x, &mut q);
                let one = f(w, &q);
                if let Some(f4) = four {
                    assert_eq!(f4(w, [&q, &q, &q, &q]), [one; 4], "4-row kernel");
                }
                one
            }
            DotKernel::Q8K(f, four) => {
                let mut q = vec![BlockQ8K::default(); x.len() / 256];
                quantize_row_q8k(x, &mut q);
                let one = f(w, &q);
                if let Some(f4) = four {
                    assert_eq!(f4(w, [&q, &q, &q, &q]), [one; 4], "4-row kernel");
                }
                one
            }
        }
    }

    #[test]
    fn f16_conversion_round_trips() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16(f), h, "h={h:#06x} f={f}");
        }
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
    }

    /// The quantized dot (weights × quantized activations) is close to the dot of the
    /// dequantized weights with the float activations, for every type and both kernel sets;
    /// and the SIMD kernels agree with the scalar ones.
    #[test]
    fn dot_kernels_match_dequantized_reference() {
        let mut rng = Rng::new(7);
        let n = 512;
        let x: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
        for ty in TYPES {
            let nb = n / ty.block_len();
            let w = random_blocks(ty, nb, &mut rng);
            let mut deq = vec![0f32; n];
            dequantize_row(ty, &w, &mut deq);
            let exact: f64 = deq.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            let norm: f64 = deq
                .iter()
                .zip(&x)
                .map(|(a, b)| (*a as f64 * *b as f64).abs())
                .sum();
            let scalar = dot_with(dot_kernel(ty, false), &w, &x) as f64;
            assert!(
                (scalar - exact).abs() <= 0.02 * norm + 1e-6,
                "{ty:?}: scalar {scalar} vs exact {exact} (norm {norm})"
            );
            if simd_available() {
                let simd = dot_with(dot_kernel(ty, true), &w, &x) as f64;
                assert!(
                    (simd - scalar).abs() <= 1e-4 * norm + 1e-6,
                    "{ty:?}: simd {simd} vs scalar {scalar}"
                );
            }
        }
    }

    #[test]
    fn q8_quantization_is_accurate() {
        let mut rng = Rng::new(3);
        let x: Vec<f32> = (0..256).map(|_| rng.f32() * 3.0).collect();
        let mut q = vec![BlockQ8::default(); 8];
        quantize_row_q8(&x, &mut q);
        for (b, xs) in q.iter().zip(x.chunks(32)) {
            let sum: i32 = b.qs.iter().map(|&v| v as i32).sum();
            assert!((b.s - b.d * sum as f32).abs() < 1e-5);
            for (qv, xv) in b.qs.iter().zip(xs) {
                assert!((*qv as f32 * b.d - xv).abs() <= b.d * 0.5 + 1e-6);
            }
        }
        let mut k = vec![BlockQ8K::default(); 1];
        quantize_row_q8k(&x, &mut k);
        let s: i32 = k[0].qs[..16].iter().map(|&v| v as i32).sum();
        assert_eq!(k[0].bsums[0] as i32, s);
    }

    #[test]
    fn dequantize_q4_0_known_block() {
        // d = 0.5, nibbles: low = j % 16, high = 15 - j % 16.
        let mut b = vec![0u8; 18];
        b[0..2].copy_from_slice(&f32_to_f16(0.5).to_le_bytes());
        for j in 0..16 {
            b[2 + j] = (j as u8) | ((15 - j as u8) << 4);
        }
        let mut out = [0f32; 32];
        dequantize_row(GgmlType::Q4_0, &b, &mut out);
        assert_eq!(out[0], -4.0);
        assert_eq!(out[15], 3.5);
        assert_eq!(out[16], 3.5);
        assert_eq!(out[31], -4.0);
    }
}

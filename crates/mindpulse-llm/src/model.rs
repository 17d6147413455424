//! The transformer: hyper-parameters and weights from the GGUF, the KV cache, and the
//! forward pass (RMSNorm, RoPE, grouped-query attention with a causal mask over the cache,
//! SwiGLU MLP) for the llama and qwen2 architectures.
//!
//! Conventions follow llama.cpp: llama weights were permuted at conversion, so llama uses
//! the "normal" RoPE (adjacent pairs); qwen2 uses the NeoX RoPE (pairs `i`, `i + d/2`) and
//! has q/k/v biases. The output projection is `output.weight`, or the token embeddings when
//! they are tied.

use crate::attention::{attention, Shape as AttnShape};
use crate::gguf::{Gguf, TensorInfo};
use crate::matmul::{matmul, Acts, QMatrix};
use crate::quant::{dequantize_row, f32_to_f16, ActKind};
use crate::LlmError;
use rayon::prelude::*;
use std::collections::HashMap;

/// The architectures this runtime implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
}

/// Hyper-parameters read from `<arch>.*` metadata.
#[derive(Debug, Clone)]
pub struct Config {
    pub arch_name: String,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub vocab: usize,
    pub context_length: usize,
    pub eps: f32,
    pub rope_dim: usize,
    pub rope_neox: bool,
    /// `base^(-2i/rope_dim)` for `i < rope_dim / 2`.
    pub inv_freq: Vec<f64>,
}

impl Config {
    pub fn from_gguf(g: &Gguf) -> Result<Config, LlmError> {
        let arch_name = g
            .get_str("general.architecture")
            .ok_or_else(|| LlmError::Gguf("metadata general.architecture is missing".into()))?
            .to_string();
        let arch = match arch_name.as_str() {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            other => {
                return Err(LlmError::Unsupported(format!(
                    "architecture {other:?} (supported: llama, qwen2)"
                )))
            }
        };
        let key = |k: &str| format!("{arch_name}.{k}");
        let usize_of = |k: &str| -> Result<usize, LlmError> {
            let v = g.require_u64(&key(k))?;
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0 && v < 1 << 24)
                .ok_or_else(|| LlmError::Gguf(format!("metadata {}: invalid value {v}", key(k))))
        };
        let n_embd = usize_of("embedding_length")?;
        let n_layer = usize_of("block_count")?;
        let n_head = usize_of("attention.head_count")?;
        let n_head_kv = match g.get_u64(&key("attention.head_count_kv")) {
            Some(_) => usize_of("attention.head_count_kv")?,
            None => n_head,
        };
        let n_ff = usize_of("feed_forward_length")?;
        let context_length = usize_of("context_length")?;
        let head_dim = match g.get_u64(&key("attention.key_length")) {
            Some(_) => usize_of("attention.key_length")?,
            None => n_embd / n_head,
        };
        if n_head % n_head_kv != 0 || head_dim % 2 != 0 {
            return Err(LlmError::Gguf(format!(
                "inconsistent attention shape: {n_head} heads, {n_head_kv} kv heads, head dim {head_dim}"
            )));
        }
        let eps = g
            .get_f64(&key("attention.layer_norm_rms_epsilon"))
            .unwrap_or(1e-6) as f32;
        let base = g.get_f64(&key("rope.freq_base")).unwrap_or(10_000.0);
        let rope_dim = match g.get_u64(&key("rope.dimension_count")) {
            Some(_) => usize_of("rope.dimension_count")?,
            None => head_dim,
        };
        if rope_dim > head_dim || rope_dim % 2 != 0 {
            return Err(LlmError::Gguf(format!(
                "rope dimension {rope_dim} does not fit head dimension {head_dim}"
            )));
        }
        if let Some(t) = g.get_str(&key("rope.scaling.type")) {
            if t != "none" {
                tracing::warn!(scaling = t, "RoPE scaling is not implemented; contexts beyond the trained length will degrade");
            }
        }
        let inv_freq = (0..rope_dim / 2)
            .map(|i| base.powf(-2.0 * i as f64 / rope_dim as f64))
            .collect();
        let vocab = g
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.as_array())
            .map(|a| a.len())
            .ok_or_else(|| LlmError::Gguf("metadata tokenizer.ggml.tokens is missing".into()))?;
        Ok(Config {
            arch_name,
            n_embd,
            n_layer,
            n_head,
            n_head_kv,
            head_dim,
            n_ff,
            vocab,
            context_length,
            eps,
            rope_dim,
            rope_neox: arch == Arch::Qwen2,
            inv_freq,
        })
    }

    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }

    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    wq: QMatrix,
    wk: QMatrix,
    wv: QMatrix,
    bq: Option<Vec<f32>>,
    bk: Option<Vec<f32>>,
    bv: Option<Vec<f32>>,
    wo: QMatrix,
    ffn_norm: Vec<f32>,
    w_gate: QMatrix,
    w_up: QMatrix,
    w_down: QMatrix,
}

/// Weights (as views into the file buffer) and hyper-parameters.
pub struct Model {
    pub cfg: Config,
    embed: QMatrix,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
    output: QMatrix,
    simd: bool,
}

/// Keys and values of every position so far as IEEE halves (as llama.cpp keeps them: half
/// the memory traffic of f32, which is what long-context decoding waits on), head-major:
/// one stream per layer and KV head (`len` positions of `head_dim` each), so attention
/// reads each head's keys contiguously.
#[derive(Clone)]
pub struct KvCache {
    /// `[layer * n_head_kv + head]`.
    k: Vec<Vec<u16>>,
    v: Vec<Vec<u16>>,
    n_head_kv: usize,
    head_dim: usize,
    len: usize,
}

impl KvCache {
    pub fn new(n_layer: usize, n_head_kv: usize, head_dim: usize) -> KvCache {
        KvCache {
            k: vec![Vec::new(); n_layer * n_head_kv],
            v: vec![Vec::new(); n_layer * n_head_kv],
            n_head_kv,
            head_dim,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            for (k, v) in self.k.iter_mut().zip(&mut self.v) {
                k.truncate(n * self.head_dim);
                v.truncate(n * self.head_dim);
            }
            self.len = n;
        }
    }

    /// Appends the batch's keys and values (`m` rows of `n_head_kv * head_dim`) to layer `l`.
    fn append(&mut self, l: usize, k: &[f32], v: &[f32]) {
        let hd = self.head_dim;
        for h in 0..self.n_head_kv {
            let (kh, vh) = (
                &mut self.k[l * self.n_head_kv + h],
                &mut self.v[l * self.n_head_kv + h],
            );
            for (kr, vr) in k
                .chunks_exact(self.n_head_kv * hd)
                .zip(v.chunks_exact(self.n_head_kv * hd))
            {
                kh.extend(kr[h * hd..(h + 1) * hd].iter().map(|&x| f32_to_f16(x)));
                vh.extend(vr[h * hd..(h + 1) * hd].iter().map(|&x| f32_to_f16(x)));
            }
        }
    }

    /// Layer `l`'s key and value streams, one per KV head.
    fn layer(&self, l: usize) -> (&[Vec<u16>], &[Vec<u16>]) {
        let r = l * self.n_head_kv..(l + 1) * self.n_head_kv;
        (&self.k[r.clone()], &self.v[r])
    }
}

fn tensor<'g>(g: &'g Gguf, name: &str) -> Result<&'g TensorInfo, LlmError> {
    g.tensor(name)
        .ok_or_else(|| LlmError::MissingTensor(name.to_string()))
}

fn load_vector(g: &Gguf, data: &[u8], name: &str, len: usize) -> Result<Vec<f32>, LlmError> {
    let t = tensor(g, name)?;
    if t.n_elements() != len {
        return Err(LlmError::Gguf(format!(
            "tensor {name:?} has shape {:?}, expected {len} values",
            t.dims
        )));
    }
    if !t.ty.supported() {
        return Err(LlmError::Unsupported(format!(
            "tensor {name:?} of type {:?}",
            t.ty
        )));
    }
    let mut out = vec![0f32; len];
    dequantize_row(t.ty, &data[t.offset..t.offset + t.size], &mut out);
    Ok(out)
}

fn load_matrix(
    g: &Gguf,
    name: &str,
    cols: usize,
    rows: usize,
    simd: bool,
) -> Result<QMatrix, LlmError> {
    let t = tensor(g, name)?;
    if t.dims.len() != 2 || t.dims[0] != cols || t.dims[1] != rows {
        return Err(LlmError::Gguf(format!(
            "tensor {name:?} has shape {:?}, expected [{cols}, {rows}]",
            t.dims
        )));
    }
    if !t.ty.supported() {
        return Err(LlmError::Unsupported(format!(
            "tensor {name:?} is {:?} (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)",
            t.ty
        )));
    }
    Ok(QMatrix::new(name, t.ty, rows, cols, t.offset, simd))
}

fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let n = w.len();
    for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let ss: f32 = xr.iter().map(|v| v * v).sum::<f32>() / n as f32;
        let scale = 1.0 / (ss + eps).sqrt();
        for ((o, v), g) in or.iter_mut().zip(xr).zip(w) {
            *o = v * scale * g;
        }
    }
}

impl Model {
    pub fn load(g: &Gguf, data: &[u8], simd: bool) -> Result<Model, LlmError> {
        let cfg = Config::from_gguf(g)?;
        let (d, qd, kvd, ff) = (cfg.n_embd, cfg.q_dim(), cfg.kv_dim(), cfg.n_ff);
        let embed = load_matrix(g, "token_embd.weight", d, cfg.vocab, simd)?;
        let output = match g.tensor("output.weight") {
            Some(_) => load_matrix(g, "output.weight", d, cfg.vocab, simd)?,
            None => embed.clone(),
        };
        let output_norm = load_vector(g, data, "output_norm.weight", d)?;
        let mut layers = Vec::with_capacity(cfg.n_layer);
        for l in 0..cfg.n_layer {
            let n = |s: &str| format!("blk.{l}.{s}");
            let bias = |s: &str, len: usize| -> Result<Option<Vec<f32>>, LlmError> {
                match g.tensor(&n(s)) {
                    Some(_) => load_vector(g, data, &n(s), len).map(Some),
                    None => Ok(None),
                }
            };
            layers.push(Layer {
                attn_norm: load_vector(g, data, &n("attn_norm.weight"), d)?,
                wq: load_matrix(g, &n("attn_q.weight"), d, qd, simd)?,
                wk: load_matrix(g, &n("attn_k.weight"), d, kvd, simd)?,
                wv: load_matrix(g, &n("attn_v.weight"), d, kvd, simd)?,
                bq: bias("attn_q.bias", qd)?,
                bk: bias("attn_k.bias", kvd)?,
                bv: bias("attn_v.bias", kvd)?,
                wo: load_matrix(g, &n("attn_output.weight"), qd, d, simd)?,
                ffn_norm: load_vector(g, data, &n("ffn_norm.weight"), d)?,
                w_gate: load_matrix(g, &n("ffn_gate.weight"), d, ff, simd)?,
                w_up: load_matrix(g, &n("ffn_up.weight"), d, ff, simd)?,
                w_down: load_matrix(g, &n("ffn_down.weight"), ff, d, simd)?,
            });
        }
        Ok(Model {
            cfg,
            embed,
            layers,
            output_norm,
            output,
            simd,
        })
    }

    /// Human-readable weight types, e.g. `{"Q5_0": 96, "Q8_0": 12, ...}` (for logs).
    pub fn weight_types(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        let mut add = |q: &QMatrix| *m.entry(format!("{:?}", q.ty)).or_insert(0) += 1;
        add(&self.embed);
        add(&self.output);
        for l in &self.layers {
            for q in [&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down] {
                add(q);
            }
        }
        m
    }

    /// Runs `tokens` (positions `cache.len()..`) through the model, appending their keys and
    /// values to `cache`. Returns the logits after the last token when `want_logits`.
    /// Token ids must be `< vocab` (checked by the caller). Must run inside the rayon pool.
    pub fn forward(
        &self,
        data: &[u8],
        cache: &mut KvCache,
        tokens: &[u32],
        want_logits: bool,
    ) -> Option<Vec<f32>> {
        let cfg = &self.cfg;
        let m = tokens.len();
        if m == 0 {
            return None;
        }
        let (d, qd, kvd, ff) = (cfg.n_embd, cfg.q_dim(), cfg.kv_dim(), cfg.n_ff);
        let p0 = cache.len;

        let mut x = vec![0f32; m * d];
        x.par_chunks_mut(d)
            .zip(tokens.par_iter())
            .for_each(|(row, &t)| self.embed.dequantize_row(data, t as usize, row));

        // RoPE angles for this batch's positions.
        let half = cfg.rope_dim / 2;
        let mut cos = vec![0f32; m * half];
        let mut sin = vec![0f32; m * half];
        for i in 0..m {
            let pos = (p0 + i) as f64;
            for (j, f) in cfg.inv_freq.iter().enumerate() {
                let theta = pos * f;
                cos[i * half + j] = theta.cos() as f32;
                sin[i * half + j] = theta.sin() as f32;
            }
        }

        let mut xn = vec![0f32; m * d];
        let mut q = vec![0f32; m * qd];
        let mut k = vec![0f32; m * kvd];
        let mut v = vec![0f32; m * kvd];
        let mut att = vec![0f32; m * qd];
        let mut o = vec![0f32; m * d];
        let mut gate = vec![0f32; m * ff];
        let mut up = vec![0f32; m * ff];

        for (li, layer) in self.layers.iter().enumerate() {
            rms_norm(&x, &layer.attn_norm, cfg.eps, &mut xn);
            let mut acts = ActsCache::new(&xn, d);
            matmul(&layer.wq, data, acts.get(layer.wq.ty.act_kind()), m, &mut q);
            matmul(&layer.wk, data, acts.get(layer.wk.ty.act_kind()), m, &mut k);
            matmul(&layer.wv, data, acts.get(layer.wv.ty.act_kind()), m, &mut v);
            add_bias(&mut q, layer.bq.as_deref());
            add_bias(&mut k, layer.bk.as_deref());
            add_bias(&mut v, layer.bv.as_deref());
            self.rope(&mut q, cfg.n_head, &cos, &sin);
            self.rope(&mut k, cfg.n_head_kv, &cos, &sin);
            cache.append(li, &k, &v);
            let (kc, vc) = cache.layer(li);
            attention(self.attn_shape(), &q, kc, vc, p0, &mut att, self.simd);

            let acts = Acts::quantize(layer.wo.ty.act_kind(), &att, qd);
            matmul(&layer.wo, data, &acts, m, &mut o);
            for (xv, ov) in x.iter_mut().zip(&o) {
                *xv += ov;
            }

            rms_norm(&x, &layer.ffn_norm, cfg.eps, &mut xn);
            let mut acts = ActsCache::new(&xn, d);
            matmul(
                &layer.w_gate,
                data,
                acts.get(layer.w_gate.ty.act_kind()),
                m,
                &mut gate,
            );
            matmul(
                &layer.w_up,
                data,
                acts.get(layer.w_up.ty.act_kind()),
                m,
                &mut up,
            );
            gate.par_chunks_mut(ff)
                .zip(up.par_chunks(ff))
                .for_each(|(g, u)| {
                    for (g, u) in g.iter_mut().zip(u) {
                        *g = *g / (1.0 + (-*g).exp()) * u;
                    }
                });
            let acts = Acts::quantize(layer.w_down.ty.act_kind(), &gate, ff);
            matmul(&layer.w_down, data, &acts, m, &mut o);
            for (xv, ov) in x.iter_mut().zip(&o) {
                *xv += ov;
            }
        }
        cache.len += m;

        if !want_logits {
            return None;
        }
        let last = &x[(m - 1) * d..];
        let mut ln = vec![0f32; d];
        rms_norm(last, &self.output_norm, cfg.eps, &mut ln);
        let acts = Acts::quantize(self.output.ty.act_kind(), &ln, d);
        let mut logits = vec![0f32; cfg.vocab];
        matmul(&self.output, data, &acts, 1, &mut logits);
        Some(logits)
    }

    fn attn_shape(&self) -> AttnShape {
        AttnShape {
            n_head: self.cfg.n_head,
            n_head_kv: self.cfg.n_head_kv,
            head_dim: self.cfg.head_dim,
        }
    }

    fn rope(&self, x: &mut [f32], n_heads: usize, cos: &[f32], sin: &[f32]) {
        let cfg = &self.cfg;
        let hd = cfg.head_dim;
        let half = cfg.rope_dim / 2;
        for (i, row) in x.chunks_exact_mut(n_heads * hd).enumerate() {
            let (c, s) = (
                &cos[i * half..(i + 1) * half],
                &sin[i * half..(i + 1) * half],
            );
            for head in row.chunks_exact_mut(hd) {
                if cfg.rope_neox {
                    for j in 0..half {
                        let (x0, x1) = (head[j], head[j + half]);
                        head[j] = x0 * c[j] - x1 * s[j];
                        head[j + half] = x0 * s[j] + x1 * c[j];
                    }
                } else {
                    for j in 0..half {
                        let (x0, x1) = (head[2 * j], head[2 * j + 1]);
                        head[2 * j] = x0 * c[j] - x1 * s[j];
                        head[2 * j + 1] = x0 * s[j] + x1 * c[j];
                    }
                }
            }
        }
    }
}

fn add_bias(x: &mut [f32], b: Option<&[f32]>) {
    if let Some(b) = b {
        for row in x.chunks_exact_mut(b.len()) {
            for (v, bv) in row.iter_mut().zip(b) {
                *v += bv;
            }
        }
    }
}

/// The normalized activations of a layer input, encoded lazily once per [`ActKind`]
/// (q, k and v — or gate and up — may have different weight types).
struct ActsCache<'x> {
    x: &'x [f32],
    k: usize,
    done: Vec<Acts>,
}

impl<'x> ActsCache<'x> {
    fn new(x: &'x [f32], k: usize) -> Self {
        ActsCache {
            x,
            k,
            done: Vec::new(),
        }
    }

    fn get(&mut self, kind: ActKind) -> &Acts {
        let pos = match self.done.iter().position(|a| a.kind() == kind) {
            Some(p) => p,
            None => {
                self.done.push(Acts::quantize(kind, self.x, self.k));
                self.done.len() - 1
            }
        };
        &self.done[pos]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_scales_by_root_mean_square() {
        let mut out = vec![0f32; 2];
        rms_norm(&[3.0, 4.0], &[1.0, 2.0], 0.0, &mut out);
        let r = (12.5f32).sqrt();
        assert!((out[0] - 3.0 / r).abs() < 1e-6 && (out[1] - 8.0 / r).abs() < 1e-6);
    }
}

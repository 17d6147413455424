//! The model directory's configuration: `config.json` (architecture), `sentence_bert_config.json`
//! (max sequence length), `modules.json` and the pooling module's `config.json`.

use crate::error::{EncoderError, Result};
use crate::kernels::Act;
use serde::Deserialize;
use std::path::Path;

/// Architecture family: where position ids start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// BERT (MiniLM, bge, …): positions from 0, token type embeddings.
    Bert,
    /// XLM-RoBERTa / RoBERTa (e5 multilingual, …): positions from `pad_token_id + 1`.
    Roberta,
}

/// What the forward pass needs from `config.json`.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub family: Family,
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub act: Act,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
    /// First position id (0 for BERT, `pad_token_id + 1` for RoBERTa-style models).
    pub position_offset: usize,
}

#[derive(Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    hidden_act: Option<String>,
    max_position_embeddings: usize,
    type_vocab_size: Option<usize>,
    layer_norm_eps: Option<f64>,
    pad_token_id: Option<usize>,
    position_embedding_type: Option<String>,
}

impl ModelConfig {
    /// Reads `dir/config.json`.
    pub fn load(dir: &Path) -> Result<ModelConfig> {
        let raw: RawConfig = read_json(&dir.join("config.json"))?;
        let model_type = raw.model_type.unwrap_or_else(|| "bert".into());
        let family = match model_type.as_str() {
            "bert" => Family::Bert,
            "xlm-roberta" | "roberta" | "camembert" => Family::Roberta,
            other => {
                return Err(EncoderError::Unsupported(format!(
                    "model_type {other:?} (supported: bert, xlm-roberta, roberta)"
                )))
            }
        };
        if let Some(p) = raw.position_embedding_type.as_deref() {
            if p != "absolute" {
                return Err(EncoderError::Unsupported(format!(
                    "position_embedding_type {p:?}"
                )));
            }
        }
        let act = match raw.hidden_act.as_deref().unwrap_or("gelu") {
            "gelu" => Act::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Act::GeluTanh,
            "relu" => Act::Relu,
            other => return Err(EncoderError::Unsupported(format!("hidden_act {other:?}"))),
        };
        if raw.num_attention_heads == 0 || !raw.hidden_size.is_multiple_of(raw.num_attention_heads)
        {
            return Err(EncoderError::Unsupported(format!(
                "hidden_size {} not divisible by num_attention_heads {}",
                raw.hidden_size, raw.num_attention_heads
            )));
        }
        let position_offset = match family {
            Family::Bert => 0,
            Family::Roberta => raw.pad_token_id.unwrap_or(1) + 1,
        };
        if raw.max_position_embeddings <= position_offset {
            return Err(EncoderError::Unsupported(
                "max_position_embeddings too small".into(),
            ));
        }
        Ok(ModelConfig {
            family,
            model_type,
            vocab_size: raw.vocab_size,
            hidden: raw.hidden_size,
            layers: raw.num_hidden_layers,
            heads: raw.num_attention_heads,
            intermediate: raw.intermediate_size,
            act,
            max_positions: raw.max_position_embeddings,
            type_vocab: raw.type_vocab_size.unwrap_or(2).max(1),
            layer_norm_eps: raw.layer_norm_eps.unwrap_or(1e-12) as f32,
            position_offset,
        })
    }

    /// The longest input (special tokens included) the position table allows.
    pub fn max_sequence(&self) -> usize {
        self.max_positions - self.position_offset
    }
}

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over all tokens (special tokens included, as sentence-transformers does).
    Mean,
    /// The first token (`[CLS]` / `<s>`).
    Cls,
    /// Element-wise maximum over tokens.
    Max,
    /// Sum over tokens divided by √(number of tokens).
    MeanSqrtLen,
}

#[derive(Deserialize)]
struct RawPooling {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Deserialize)]
struct RawModule {
    #[serde(default)]
    path: String,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
struct RawSbert {
    max_seq_length: Option<usize>,
}

/// The sentence-transformers side of the directory.
#[derive(Debug, Clone)]
pub struct SentenceConfig {
    pub pooling: Pooling,
    /// `max_seq_length` of `sentence_bert_config.json`, when present.
    pub max_seq_length: Option<usize>,
    /// `modules.json` lists a Normalize module.
    pub normalize_module: bool,
}

impl SentenceConfig {
    /// Reads the pooling configuration (`modules.json` → Pooling path, default `1_Pooling`),
    /// defaulting to mean pooling when there is none.
    pub fn load(dir: &Path) -> Result<SentenceConfig> {
        let modules: Vec<RawModule> = optional_json(&dir.join("modules.json"))?.unwrap_or_default();
        let pooling_dir = modules
            .iter()
            .find(|m| m.kind.ends_with("Pooling"))
            .map(|m| m.path.clone())
            .unwrap_or_else(|| "1_Pooling".into());
        let normalize_module = modules.iter().any(|m| m.kind.ends_with("Normalize"));
        let pooling =
            match optional_json::<RawPooling>(&dir.join(&pooling_dir).join("config.json"))? {
                None => Pooling::Mean,
                Some(p) => {
                    let modes = [
                        (p.pooling_mode_cls_token, Pooling::Cls),
                        (p.pooling_mode_mean_tokens, Pooling::Mean),
                        (p.pooling_mode_max_tokens, Pooling::Max),
                        (p.pooling_mode_mean_sqrt_len_tokens, Pooling::MeanSqrtLen),
                    ];
                    let on: Vec<Pooling> =
                        modes.iter().filter(|(b, _)| *b).map(|(_, m)| *m).collect();
                    match on.as_slice() {
                        [] => Pooling::Mean,
                        [one] => *one,
                        _ => {
                            return Err(EncoderError::Unsupported(format!(
                                "several pooling modes at once: {on:?}"
                            )))
                        }
                    }
                }
            };
        let sbert: Option<RawSbert> = optional_json(&dir.join("sentence_bert_config.json"))?;
        Ok(SentenceConfig {
            pooling,
            max_seq_length: sbert.and_then(|s| s.max_seq_length),
            normalize_module,
        })
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| EncoderError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| EncoderError::Json {
        path: path.into(),
        source,
    })
}

fn optional_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| EncoderError::Json {
                    path: path.into(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EncoderError::io(path, e)),
    }
}

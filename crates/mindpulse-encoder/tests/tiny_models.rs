//! Tiny random BERT and XLM-RoBERTa models (made by `scripts/bench/embed_peer.py tiny` with
//! HF transformers) against transformers' own outputs: position ids (XLM-R starts at
//! padding_idx + 1), token types, CLS vs mean pooling, truncation, head sizes that are not a
//! multiple of 16, and the tokenizer's padding/truncation settings being overridden.

mod common;

use common::{as_f32, cosine, fixtures};
use mindpulse_encoder::{Encoder, EncoderError, EncoderOptions, Family, Pooling};

fn check(name: &str, family: Family, pooling: Pooling) {
    let dir = fixtures().join(name);
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    for threads in [1, 2] {
        for batch_size in [1, 2, 32] {
            let enc = Encoder::load(
                &dir,
                &EncoderOptions {
                    threads,
                    batch_size,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(enc.config().family, family);
            assert_eq!(enc.pooling(), pooling);
            let e = enc.encode(&texts).unwrap();
            assert_eq!(e.len(), texts.len());
            for (i, c) in cases.iter().enumerate() {
                let ids: Vec<u32> = c["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect();
                let tokens = enc.tokenize(texts[i]).unwrap();
                assert_eq!(tokens.ids, ids, "{name}: token ids of {:?}", texts[i]);
                assert_eq!(e.tokens[i] as usize, ids.len());
                assert_eq!(
                    e.truncated[i] as u64,
                    c["truncated"].as_u64().unwrap(),
                    "{name}: truncation of {:?}",
                    texts[i]
                );
                let want = as_f32(&c["embedding"]);
                let cos = cosine(e.row(i), &want);
                assert!(
                    cos >= 0.99999,
                    "{name} threads={threads} batch={batch_size}: cosine {cos} for {:?}",
                    texts[i]
                );
                let norm: f64 = e
                    .row(i)
                    .iter()
                    .map(|x| (*x as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!((norm - 1.0).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn tiny_bert_matches_transformers() {
    check("tiny-bert", Family::Bert, Pooling::Mean);
}

#[test]
fn tiny_xlm_roberta_matches_transformers() {
    check("tiny-xlmr", Family::Roberta, Pooling::Cls);
}

#[test]
fn empty_input_and_sha256() {
    let dir = fixtures().join("tiny-bert");
    let enc = Encoder::load(&dir, &EncoderOptions::default()).unwrap();
    let e = enc.encode::<&str>(&[]).unwrap();
    assert!(e.is_empty() && e.data.is_empty());
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(std::fs::read(dir.join("model.safetensors")).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(enc.model_sha256(), want);
    assert_eq!(enc.dim(), 16);
    // max_length option caps below the model's own (sentence_bert_config says 12).
    let enc = Encoder::load(
        &dir,
        &EncoderOptions {
            max_length: Some(4),
            ..Default::default()
        },
    )
    .unwrap();
    let e = enc.encode(&["i feel so tired today"]).unwrap();
    assert_eq!((e.tokens[0], e.truncated[0]), (4, 3));
}

#[test]
fn unnormalized_output_keeps_the_pooled_norm() {
    let dir = fixtures().join("tiny-bert");
    let enc = Encoder::load(
        &dir,
        &EncoderOptions {
            normalize: false,
            ..Default::default()
        },
    )
    .unwrap();
    let e = enc.encode(&["i feel so tired today"]).unwrap();
    let norm: f64 = e
        .row(0)
        .iter()
        .map(|x| (*x as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(norm > 0.0 && (norm - 1.0).abs() > 1e-3, "norm {norm}");
}

#[test]
fn load_errors_are_clear() {
    let missing = std::env::temp_dir().join("mindpulse-encoder-no-such-model");
    let err = Encoder::load(&missing, &EncoderOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, EncoderError::Io { .. }), "{err}");
    assert!(err.to_string().contains("config.json"), "{err}");

    let dir = tempdir("bad-type");
    std::fs::write(dir.join("config.json"), r#"{"model_type":"gpt2","vocab_size":1,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":1,"intermediate_size":4,"max_position_embeddings":8}"#).unwrap();
    let err = Encoder::load(&dir, &EncoderOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("gpt2"), "{err}");

    // Right config, weights missing.
    let src = fixtures().join("tiny-bert");
    std::fs::copy(src.join("config.json"), dir.join("config.json")).unwrap();
    let err = Encoder::load(&dir, &EncoderOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    // Truncated weights file.
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    std::fs::write(dir.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(src.join("tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    let err = Encoder::load(&dir, &EncoderOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mindpulse-encoder-test-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

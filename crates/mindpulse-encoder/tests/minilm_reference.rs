//! The real all-MiniLM-L6-v2 (installed under `$MINDPULSE_MODELS/minilm-l6-v2`) against
//! reference embeddings from sentence-transformers on PyTorch
//! (`tests/fixtures/minilm-l6-v2.json`, made by `scripts/bench/embed_peer.py fixture`).
//! Skipped with a note when the model is not installed, except with `CI=true`.

mod common;

use common::{as_f32, cosine, fixtures, installed_model};
use mindpulse_encoder::{Encoder, EncoderOptions, Pooling};

fn fixture() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("minilm-l6-v2.json")).unwrap()).unwrap()
}

#[test]
fn matches_sentence_transformers() {
    let Some(dir) = installed_model("minilm-l6-v2") else {
        return;
    };
    let fx = fixture();
    let texts: Vec<&str> = fx["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let enc = Encoder::load(
        &dir,
        &EncoderOptions {
            threads: 2,
            batch_size: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(enc.dim(), 384);
    assert_eq!(enc.pooling(), Pooling::Mean);
    assert_eq!(
        enc.max_length(),
        256,
        "from sentence_bert_config.json, not tokenizer.json's 128"
    );
    let e = enc.encode(&texts).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let want = as_f32(&fx["embeddings"][i]);
        let cos = cosine(e.row(i), &want);
        assert!(cos >= 0.9999, "cosine {cos} for {t:?}");
        for (j, w) in as_f32(&fx["first8"][i]).iter().enumerate() {
            assert!(
                (e.row(i)[j] - w).abs() < 1e-4,
                "dim {j} of {t:?}: {} vs {w}",
                e.row(i)[j]
            );
        }
        assert_eq!(
            e.tokens[i] as u64,
            fx["tokens"][i].as_u64().unwrap(),
            "token count of {t:?}"
        );
        assert_eq!(e.truncated[i], 0);
    }
    // Raw (unnormalized) norms.
    let raw = Encoder::load(
        &dir,
        &EncoderOptions {
            normalize: false,
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let r = raw.encode(&texts).unwrap();
    for i in 0..texts.len() {
        let norm: f64 = r
            .row(i)
            .iter()
            .map(|x| (*x as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let want = fx["norms"][i].as_f64().unwrap();
        assert!((norm - want).abs() < 1e-3 * want, "norm {norm} vs {want}");
    }
}

#[test]
fn batching_and_threads_do_not_change_results() {
    let Some(dir) = installed_model("minilm-l6-v2") else {
        return;
    };
    let texts = mindpulse_synth::texts(7, 70, 1, 80);
    let a = Encoder::load(
        &dir,
        &EncoderOptions {
            threads: 1,
            batch_size: 1,
            ..Default::default()
        },
    )
    .unwrap()
    .encode(&texts)
    .unwrap();
    let b = Encoder::load(
        &dir,
        &EncoderOptions {
            threads: 2,
            batch_size: 32,
            ..Default::default()
        },
    )
    .unwrap()
    .encode(&texts)
    .unwrap();
    for i in 0..texts.len() {
        let cos = cosine(a.row(i), b.row(i));
        assert!(cos > 0.999_999, "text {i}: cosine {cos}");
    }
    assert_eq!(a.tokens, b.tokens);
}

#[test]
fn long_texts_are_truncated_and_counted() {
    let Some(dir) = installed_model("minilm-l6-v2") else {
        return;
    };
    let long = "I keep thinking about everything that went wrong this year. ".repeat(60);
    let enc = Encoder::load(
        &dir,
        &EncoderOptions {
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let full = enc.encode(&[long.as_str(), "short one"]).unwrap();
    assert_eq!(full.tokens[0], 256);
    assert!(full.truncated[0] > 400, "cut {}", full.truncated[0]);
    assert_eq!(full.truncated[1], 0);
    let short = Encoder::load(
        &dir,
        &EncoderOptions {
            max_length: Some(32),
            ..Default::default()
        },
    )
    .unwrap();
    let e = short.encode(&[long.as_str()]).unwrap();
    assert_eq!(e.tokens[0], 32);
    assert_eq!(
        e.truncated[0] as usize,
        full.truncated[0] as usize + 256 - 32
    );
    // The truncated text equals its own first 30 word pieces with [CLS] and [SEP].
    let ids = short.tokenize(&long).unwrap().ids;
    assert_eq!((ids[0], ids[31]), (101, 102));
}

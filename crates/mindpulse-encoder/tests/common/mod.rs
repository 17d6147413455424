//! Shared helpers: where installed models live, and cosine similarity.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `$MINDPULSE_MODELS`, else `~/.cache/mindpulse/models`.
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MINDPULSE_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache/mindpulse/models")
}

/// The installed model `name`, or None (with a note) when missing; with `CI=true` a missing
/// model fails the test (the test script installs it first).
pub fn installed_model(name: &str) -> Option<PathBuf> {
    let dir = models_dir().join(name);
    if dir.join("model.safetensors").exists() && dir.join("tokenizer.json").exists() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "model {name} is not installed at {} (CI=true: the test script must install it)",
            dir.display()
        );
    }
    eprintln!(
        "note: skipping, model {name} is not installed at {}",
        dir.display()
    );
    None
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

pub fn as_f32(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

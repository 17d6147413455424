//! Embeds the shipped heads (`<workspace>/heads/*.json` + `.safetensors`) into the library so
//! `mindpulse score` works from any directory. A missing folder embeds nothing.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let heads = Path::new(&manifest).join("../../heads");
    println!("cargo:rerun-if-changed={}", heads.display());
    let mut ids: Vec<String> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&heads) {
        for e in rd.flatten() {
            let p = e.path();
            println!("cargo:rerun-if-changed={}", p.display());
            if p.extension().and_then(|x| x.to_str()) == Some("json") {
                if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                    if heads.join(format!("{stem}.safetensors")).is_file() {
                        ids.push(stem.to_string());
                    }
                }
            }
        }
    }
    ids.sort();
    let mut code = String::from("/// Shipped heads: (id, card JSON, weights).\npub static BUILTIN: &[(&str, &[u8], &[u8])] = &[\n");
    for id in &ids {
        let card = heads.join(format!("{id}.json"));
        let w = heads.join(format!("{id}.safetensors"));
        let _ = writeln!(
            code,
            "    ({id:?}, include_bytes!({:?}), include_bytes!({:?})),",
            card.canonicalize().unwrap_or(card.clone()),
            w.canonicalize().unwrap_or(w.clone())
        );
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let _ = std::fs::write(Path::new(&out).join("builtin_heads.rs"), code);
}

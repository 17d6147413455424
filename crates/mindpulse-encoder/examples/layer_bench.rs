//! Per-operation time of one encoder layer on a batch of 32 sequences × 64 tokens (the shape
//! the project's issue compares against PyTorch), two such batches running on two threads:
//! `cargo run --release -p mindpulse-encoder --example layer_bench -- MODEL_DIR [repeat]`.
use mindpulse_encoder::{Encoder, EncoderOptions};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: layer_bench MODEL_DIR [repeat]");
        std::process::exit(2);
    };
    let repeat: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let enc = Encoder::load(
        &dir,
        &EncoderOptions {
            threads: 2,
            batch_size: 32,
            max_length: Some(64),
            ..Default::default()
        },
    )?;
    // 64 texts long enough to be cut to exactly 64 tokens: two batches of 32 × 64.
    let words = [
        "sleep", "work", "tired", "friends", "today", "anxious", "happy", "again",
    ];
    let texts: Vec<String> = (0..64)
        .map(|i| {
            (0..80)
                .map(|j| words[(i + j * 3) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let layers = enc.config().layers as f64;
    for _ in 0..repeat {
        let t = Instant::now();
        let (e, ops) = enc.encode_profiled(&texts)?;
        let wall = t.elapsed().as_secs_f64();
        assert!(e.tokens.iter().all(|&n| n == 64));
        let batches = ops.layers as f64 / layers; // batch-forwards summed over threads
        let per = |x: f64| x / ops.layers as f64 * 1e3;
        println!(
            "one layer, 32×64 batch, one thread: {:.1} ms (qkv {:.2}, attention {:.2}, out-proj {:.2}, layernorm {:.2}, up+gelu {:.2}, down {:.2}); two threads: {:.1} ms per batch-layer",
            per(ops.qkv + ops.attention + ops.out_proj + ops.ln + ops.ffn_up_gelu + ops.ffn_down),
            per(ops.qkv),
            per(ops.attention),
            per(ops.out_proj),
            per(ops.ln),
            per(ops.ffn_up_gelu),
            per(ops.ffn_down),
            wall / batches / layers * 1e3
        );
    }
    Ok(())
}

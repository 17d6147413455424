//! Profiles the encoder on the benchmark corpus (`mindpulse_synth::texts(1, N, 10, 60)`, as
//! `mindpulse bench embed` uses), reporting wall and CPU time — CPU time per text stays
//! meaningful while other processes share the machine — and the per-operation split:
//!
//! `cargo run --release -p mindpulse-encoder --example embed_corpus -- MODEL_DIR [PEER.npy] [threads] [batch] [repeat] [texts]`
use mindpulse_encoder::{Encoder, EncoderOptions};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: embed_corpus MODEL_DIR [PEER.npy] [threads] [batch] [repeat] [texts]");
        std::process::exit(2);
    };
    let arg = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (threads, batch, repeat, n) = (arg(3, 2), arg(4, 32), arg(5, 3), arg(6, 2000));
    let texts = mindpulse_synth::texts(1, n, 10, 60);
    let enc = Encoder::load(
        &dir,
        &EncoderOptions {
            threads,
            batch_size: batch,
            ..Default::default()
        },
    )?;
    let mut rates = Vec::new();
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let (t, c0) = (Instant::now(), cpu_seconds());
        let (e, ops) = enc.encode_profiled(&texts)?;
        let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c0);
        rates.push(n as f64 / wall);
        let per = |x: f64| x / ops.layers.max(1) as f64 * 1e3;
        println!(
            "{:.1} texts/s wall; {:.1} texts per CPU-second (×{threads} = {:.1} on idle cores); per layer and batch (~{} tokens), ms: qkv {:.2} attention {:.2} out {:.2} ln {:.2} up+gelu {:.2} down {:.2}",
            n as f64 / wall,
            n as f64 / cpu,
            n as f64 / cpu * threads as f64,
            ops.tokens * enc.config().layers as u64 / ops.layers.max(1),
            per(ops.qkv),
            per(ops.attention),
            per(ops.out_proj),
            per(ops.ln),
            per(ops.ffn_up_gelu),
            per(ops.ffn_down)
        );
        last = Some(e);
    }
    rates.sort_by(f64::total_cmp);
    println!("median {:.1} texts/s", rates[rates.len() / 2]);
    if let (Some(peer), Some(e)) = (args.get(2).filter(|p| p.ends_with(".npy")), last) {
        let (r, c, d) = mindpulse_encoder::npy::read_f32_matrix(std::fs::File::open(peer)?)?;
        if (r, c) != (e.len(), e.dim) {
            return Err(format!("peer matrix is {r}×{c}, ours {}×{}", e.len(), e.dim).into());
        }
        let mut worst = 0f64;
        for i in 0..r {
            let (a, b) = (e.row(i), &d[i * c..(i + 1) * c]);
            let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            worst = worst.max((1.0 - dot / (na * nb)).abs());
        }
        println!("max |1-cos| vs peer: {worst:.3e}");
    }
    Ok(())
}

/// User + system CPU seconds of this process (all threads), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (field(11) + field(12)) / 100.0
}

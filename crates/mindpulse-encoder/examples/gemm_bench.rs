//! GEMM throughput (wall and per CPU-second) on the encoder's shapes:
//! `cargo run --release -p mindpulse-encoder --example gemm_bench -- [m] [threads]` (`REPS` env: passes).
use mindpulse_encoder::gemm::{gemm, AlignedBuf, Epilogue, PackedB};
use mindpulse_encoder::kernels::Act;
use mindpulse_encoder::simd::Isa;
use std::time::Instant;

fn main() {
    let m: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    let threads: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let isa = Isa::detect();
    for (k, n, act) in [
        (384, 1152, Act::None),
        (384, 384, Act::None),
        (384, 1536, Act::Gelu),
        (1536, 384, Act::None),
    ] {
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5)
            .collect();
        let b = PackedB::from_linear(&w, n, k);
        let bias = vec![0.1f32; n];
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 104729) % 1000) as f32 * 1e-3 - 0.5)
            .collect();
        let reps: usize = std::env::var("REPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(40);
        let t = Instant::now();
        let c0 = cpu();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let mut c = vec![0f32; m * n];
                    let mut ap = AlignedBuf::default();
                    for _ in 0..reps {
                        gemm(
                            isa,
                            m,
                            &a,
                            k,
                            &b,
                            &mut c,
                            n,
                            Epilogue {
                                bias: Some(&bias),
                                accumulate: false,
                                act,
                            },
                            &mut ap,
                        );
                    }
                });
            }
        });
        let secs = t.elapsed().as_secs_f64();
        let cs = cpu() - c0;
        let flops = 2.0 * m as f64 * n as f64 * k as f64 * reps as f64 * threads as f64;
        println!("m={m} k={k} n={n} {act:?}: {:.1} GFLOP/s ({threads} threads), {:.1} GFLOP per CPU-s, {:.2} ms per call", flops / secs / 1e9, flops / cs / 1e9, secs / reps as f64 * 1e3);
    }
}

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    (f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0))
        / 100.0
}

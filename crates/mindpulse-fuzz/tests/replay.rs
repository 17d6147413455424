//! Replays the committed corpora of every fuzz target (`fuzz/corpus/<target>/`), then
//! deterministic mutations of them (bit flips, cuts, splices, repeated and inserted bytes):
//! a panic on any of them fails the test. Seconds on the stable toolchain; the real fuzzing
//! is `scripts/fuzz.sh`.

use mindpulse_fuzz::TARGETS;
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

/// A small deterministic generator (no dependency, same inputs on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Lcg, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.truncate(rng.below(v.len() + 1)),
            2 if !other.is_empty() => {
                let at = rng.below(v.len() + 1);
                let from = rng.below(other.len());
                let len = rng.below(other.len() - from + 1).min(256);
                let piece = other[from..from + len].to_vec();
                v.splice(at..at, piece);
            }
            3 => {
                let at = rng.below(v.len() + 1);
                let special: &[&[u8]] = &[
                    b"\xff\xfe",
                    b"\0",
                    b"\"",
                    b"\n",
                    b"{",
                    b"<div",
                    b"\xe4\xb8",
                    b"99999999999999999999",
                    b"-1",
                ];
                let s = special[rng.below(special.len())];
                v.splice(at..at, s.iter().copied());
            }
            4 if !v.is_empty() => {
                let from = rng.below(v.len());
                let len = rng.below(v.len() - from + 1).min(64);
                let piece = v[from..from + len].to_vec();
                for _ in 0..rng.below(8) {
                    v.extend_from_slice(&piece);
                }
            }
            _ if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            _ => v.push(rng.next() as u8),
        }
    }
    v
}

#[test]
fn every_target_survives_its_corpus_and_mutations_of_it() {
    const MUTATIONS_PER_SEED: usize = 500;
    for (name, target) in TARGETS {
        let seeds = corpus(name);
        assert!(!seeds.is_empty(), "{name}: no corpus");
        let mut rng = Lcg(name.len() as u64 * 7919);
        for (i, (path, data)) in seeds.iter().enumerate() {
            let run = std::panic::catch_unwind(|| target(data));
            assert!(run.is_ok(), "{name} panicked on {path}");
            let other = &seeds[(i + 1) % seeds.len()].1;
            for k in 0..MUTATIONS_PER_SEED {
                let input = mutate(&mut rng, data, other);
                let run = std::panic::catch_unwind(|| target(&input));
                assert!(
                    run.is_ok(),
                    "{name} panicked on mutation {k} of {path}: {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
}

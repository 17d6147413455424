//! How well the prevalence numbers hold up: mixtures of held-out everyday posts and
//! clinical positives at known prevalences, estimated by raw counting and by the corrected
//! estimators, with the interval's coverage.
//!
//! The held-out rows are cross-fitted: their two halves (by a hash of the text) take turns,
//! one giving the rates the correction uses, the other giving the posts of the mixtures, so
//! no mixture is judged with rates measured on its own posts.

use crate::prevalence::{estimate_with, Method, Rates, Tally};
use crate::trends::fnv1a;
use serde::Serialize;

/// One held-out row: its calibrated probability and whether it was flagged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub p: f64,
    pub flagged: bool,
}

/// Rows of one half: positives and everyday negatives.
#[derive(Debug, Clone, Default)]
pub struct Half {
    pub pos: Vec<Scored>,
    pub neg: Vec<Scored>,
}

impl Half {
    /// The rates this half measures.
    pub fn rates(&self, recall_validated: bool) -> Rates {
        let mean = |v: &[Scored]| v.iter().map(|s| s.p).sum::<f64>() / v.len().max(1) as f64;
        let var = |v: &[Scored], m: f64| {
            v.iter().map(|s| (s.p - m) * (s.p - m)).sum::<f64>() / v.len().max(1) as f64
        };
        let (mp, mn) = (mean(&self.pos), mean(&self.neg));
        Rates {
            n_pos: self.pos.len() as u64,
            tp: self.pos.iter().filter(|s| s.flagged).count() as u64,
            n_neg: self.neg.len() as u64,
            fp: self.neg.iter().filter(|s| s.flagged).count() as u64,
            mean_p_pos: mp,
            var_p_pos: var(&self.pos, mp),
            mean_p_neg: mn,
            var_p_neg: var(&self.neg, mn),
            recall_validated,
        }
    }
}

/// What the mixtures at one prevalence showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixtureResult {
    pub prevalence: f64,
    pub mixtures: usize,
    pub posts: usize,
    /// Mean absolute error of the flagged share, and of the corrected estimates.
    pub raw_error: f64,
    pub acc_error: f64,
    pub pacc_error: f64,
    /// Share of mixtures whose 95 % interval held the truth.
    pub acc_coverage: f64,
    pub pacc_coverage: f64,
}

/// Draws per interval in the validation (fewer than in `trends`; the coverage is averaged
/// over many mixtures).
const EVAL_DRAWS: usize = 400;

/// Mixtures of `posts` rows at each prevalence, `per_half` of them with each half's posts
/// judged with the other half's rates.
pub fn mixtures(
    halves: &[Half; 2],
    prevalences: &[f64],
    posts: usize,
    per_half: usize,
    seed: u64,
) -> Vec<MixtureResult> {
    let mut out = Vec::new();
    for (pi, &prev) in prevalences.iter().enumerate() {
        let mut r = MixtureResult {
            prevalence: prev,
            mixtures: 0,
            posts,
            raw_error: 0.0,
            acc_error: 0.0,
            pacc_error: 0.0,
            acc_coverage: 0.0,
            pacc_coverage: 0.0,
        };
        for h in 0..2 {
            let (rates_half, data) = (&halves[1 - h], &halves[h]);
            if data.pos.is_empty() || data.neg.is_empty() {
                continue;
            }
            let rates = rates_half.rates(true);
            let mut rng = Lcg(seed ^ fnv1a(&[pi as u8, h as u8]));
            for m in 0..per_half {
                let n_pos = (prev * posts as f64).round() as usize;
                let mut t = Tally::default();
                for _ in 0..n_pos {
                    let s = data.pos[rng.below(data.pos.len())];
                    t.add(s.flagged, s.p);
                }
                for _ in n_pos..posts {
                    let s = data.neg[rng.below(data.neg.len())];
                    t.add(s.flagged, s.p);
                }
                let truth = n_pos as f64 / posts as f64;
                let cell_seed = seed ^ ((pi as u64) << 40) ^ ((h as u64) << 32) ^ m as u64;
                let acc = estimate_with(&[(t, Some(&rates))], Method::Acc, cell_seed, EVAL_DRAWS);
                let pacc = estimate_with(&[(t, Some(&rates))], Method::Pacc, cell_seed, EVAL_DRAWS);
                r.mixtures += 1;
                r.raw_error += (acc.raw - truth).abs();
                r.acc_error += (acc.value - truth).abs();
                r.pacc_error += (pacc.value - truth).abs();
                r.acc_coverage += f64::from(u8::from(acc.ci_low <= truth && truth <= acc.ci_high));
                r.pacc_coverage +=
                    f64::from(u8::from(pacc.ci_low <= truth && truth <= pacc.ci_high));
            }
        }
        if r.mixtures > 0 {
            let k = r.mixtures as f64;
            r.raw_error /= k;
            r.acc_error /= k;
            r.pacc_error /= k;
            r.acc_coverage /= k;
            r.pacc_coverage /= k;
        }
        out.push(r);
    }
    out
}

/// A small seeded generator for drawing mixtures.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_estimates_beat_raw_counting_on_known_mixtures() {
        // A screen with recall 0.8 and false-flag rate 0.04.
        let half = |offset: usize| {
            let mut h = Half::default();
            for i in 0..500 {
                let flagged = !(i + offset).is_multiple_of(5);
                h.pos.push(Scored {
                    p: if flagged { 0.8 } else { 0.3 },
                    flagged,
                });
            }
            for i in 0..2000 {
                let flagged = (i + offset).is_multiple_of(25);
                h.neg.push(Scored {
                    p: if flagged { 0.6 } else { 0.05 },
                    flagged,
                });
            }
            h
        };
        let res = mixtures(&[half(0), half(1)], &[0.02, 0.1], 2000, 40, 7);
        for r in &res {
            assert!(r.acc_error < r.raw_error / 2.0, "{r:?}");
            assert!(r.acc_coverage >= 0.85, "{r:?}");
        }
        // Raw counting at 2 %: 0.02·0.8 + 0.98·0.04 ≈ 5.5 %, 3.5 points off.
        assert!((res[0].raw_error - 0.035).abs() < 0.01, "{:?}", res[0]);
    }
}

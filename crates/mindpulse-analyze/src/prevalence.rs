//! Prevalence: the share of posts in a group that show signs of X, corrected for the
//! classifier's errors, with a 95 % confidence interval.
//!
//! Counting flags is biased: a screen with a 3 % false-flag rate reports 3 % "prevalence" in
//! a group where nobody shows any sign, and misses the positives its recall misses. With the
//! true- and false-positive rates measured on held-out validation posts (per language), the
//! adjusted count (ACC; Forman 2005, the anchor of QuaPy's family) is
//!
//! ```text
//!     p = (q − fpr) / (tpr − fpr)        q = flagged share of the group
//! ```
//!
//! and its probabilistic form (PACC) uses mean calibrated probabilities instead of flags:
//! `p = (m − m₋) / (m₊ − m₋)`, with `m₊`, `m₋` the mean probability of validation positives
//! and negatives. Both are clipped to [0, 1].
//!
//! The interval covers both the sampling error of the group and the uncertainty of the
//! rates, which were measured on a few hundred posts: a parametric bootstrap draws the
//! group's share and the rates from their posteriors (Beta with Jeffreys' prior for counts;
//! normal for means), recomputes `p` and takes the 2.5 and 97.5 percentiles. Draws are
//! seeded, so the same input gives the same interval on every machine.
//!
//! A group of several languages is estimated per language (each with its own rates) and
//! combined weighted by posts. A language without validated rates is not corrected and the
//! estimate says so; one whose recall was measured on another language (a cross-lingual
//! head) is corrected, and flagged as not validated.

use serde::{Deserialize, Serialize};

pub use mindpulse_eval::screening::Rates;

/// The posts of one language in a group: how many, how many flagged, and the sum (and sum
/// of squares) of their calibrated probabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub n: u64,
    pub flagged: u64,
    pub sum_p: f64,
    pub sum_p2: f64,
}

impl Tally {
    pub fn add(&mut self, flagged: bool, p: f64) {
        self.n += 1;
        self.flagged += u64::from(flagged);
        self.sum_p += p;
        self.sum_p2 += p * p;
    }
    pub fn merge(&mut self, o: &Tally) {
        self.n += o.n;
        self.flagged += o.flagged;
        self.sum_p += o.sum_p;
        self.sum_p2 += o.sum_p2;
    }
}

/// The corrector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Adjusted classify-and-count.
    Acc,
    /// Probabilistic adjusted classify-and-count.
    Pacc,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Acc => "acc",
            Method::Pacc => "pacc",
        }
    }
}

/// A corrected share with its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub n: u64,
    pub flagged: u64,
    /// Flagged share, uncorrected.
    pub raw: f64,
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// False when part of the group's posts could not be corrected with validated rates.
    pub validated: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Bootstrap draws per estimate.
pub const DRAWS: usize = 2000;

/// The smallest gap between tpr and fpr that still identifies a prevalence.
const MIN_SEPARATION: f64 = 0.05;

/// Estimates the prevalence of a group from its per-language tallies and rates.
pub fn estimate(parts: &[(Tally, Option<&Rates>)], method: Method, seed: u64) -> Estimate {
    estimate_with(parts, method, seed, DRAWS)
}

/// [`estimate`] with `draws` bootstrap draws for the interval.
pub fn estimate_with(
    parts: &[(Tally, Option<&Rates>)],
    method: Method,
    seed: u64,
    draws: usize,
) -> Estimate {
    let draws = draws.max(10);
    let n: u64 = parts.iter().map(|(t, _)| t.n).sum();
    let flagged: u64 = parts.iter().map(|(t, _)| t.flagged).sum();
    let raw = if n > 0 {
        flagged as f64 / n as f64
    } else {
        0.0
    };
    let mut notes = Vec::new();
    let mut validated = true;
    for (t, r) in parts {
        if t.n == 0 {
            continue;
        }
        match r {
            None => {
                validated = false;
                notes.push("posts in a language without validation rates are counted uncorrected");
            }
            Some(r) if !r.recall_validated => {
                validated = false;
                notes.push("recall was validated in another language only (cross-lingual)");
            }
            Some(r) if separation(r, method) < MIN_SEPARATION => {
                validated = false;
                notes.push("the screen barely separates positives from negatives here");
            }
            Some(_) => {}
        }
    }
    notes.dedup();
    if n == 0 {
        return Estimate {
            n,
            flagged,
            raw,
            value: 0.0,
            ci_low: 0.0,
            ci_high: 1.0,
            validated,
            note: Some("no posts".into()),
        };
    }
    let value = combine(parts, n, |t, r| point(t, r, method));
    let mut rng = Rng::new(seed);
    let mut sample: Vec<f64> = (0..draws)
        .map(|_| combine(parts, n, |t, r| drawn(t, r, method, &mut rng)))
        .collect();
    sample.sort_by(f64::total_cmp);
    let pct = |q: f64| sample[((q * (draws - 1) as f64).round() as usize).min(draws - 1)];
    Estimate {
        n,
        flagged,
        raw,
        value,
        ci_low: pct(0.025).min(value),
        ci_high: pct(0.975).max(value),
        validated,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

fn separation(r: &Rates, method: Method) -> f64 {
    match method {
        Method::Acc => r.tpr() - r.fpr(),
        Method::Pacc => r.mean_p_pos - r.mean_p_neg,
    }
}

/// Σ n_l p_l / n over the languages.
fn combine(
    parts: &[(Tally, Option<&Rates>)],
    n: u64,
    mut f: impl FnMut(&Tally, Option<&Rates>) -> f64,
) -> f64 {
    let mut total = 0.0;
    for (t, r) in parts {
        if t.n > 0 {
            total += t.n as f64 * f(t, *r);
        }
    }
    (total / n as f64).clamp(0.0, 1.0)
}

fn adjust(q: f64, pos: f64, neg: f64) -> f64 {
    let sep = pos - neg;
    if sep < MIN_SEPARATION {
        return q.clamp(0.0, 1.0);
    }
    ((q - neg) / sep).clamp(0.0, 1.0)
}

fn point(t: &Tally, r: Option<&Rates>, method: Method) -> f64 {
    let n = t.n.max(1) as f64;
    match (r, method) {
        (None, _) => t.flagged as f64 / n,
        (Some(r), Method::Acc) => adjust(t.flagged as f64 / n, r.tpr(), r.fpr()),
        (Some(r), Method::Pacc) => adjust(t.sum_p / n, r.mean_p_pos, r.mean_p_neg),
    }
}

fn drawn(t: &Tally, r: Option<&Rates>, method: Method, rng: &mut Rng) -> f64 {
    let beta =
        |rng: &mut Rng, k: u64, n: u64| rng.beta(k as f64 + 0.5, (n - k.min(n)) as f64 + 0.5);
    match (r, method) {
        (None, _) => beta(rng, t.flagged, t.n),
        (Some(r), Method::Acc) => {
            let q = beta(rng, t.flagged, t.n);
            let tpr = beta(rng, r.tp, r.n_pos);
            let fpr = beta(rng, r.fp, r.n_neg);
            adjust(q, tpr, fpr)
        }
        (Some(r), Method::Pacc) => {
            let n = t.n.max(1) as f64;
            let m = t.sum_p / n;
            let var = (t.sum_p2 / n - m * m).max(0.0);
            // A Beta with the group's mean and variance keeps the draw in [0, 1].
            let q = rng.beta_moments(m, var / n);
            let pos = rng.normal(r.mean_p_pos, (r.var_p_pos / r.n_pos.max(1) as f64).sqrt());
            let neg = rng.normal(r.mean_p_neg, (r.var_p_neg / r.n_neg.max(1) as f64).sqrt());
            adjust(q, pos, neg)
        }
    }
}

/// A small seeded generator (SplitMix64) with the draws the bootstrap needs.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub(crate) fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        mean + sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// Gamma(shape, 1) by Marsaglia and Tsang (with the boost for shape < 1).
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal(0.0, 1.0);
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
    pub(crate) fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        x / (x + y)
    }
    /// A Beta draw with this mean and variance (a point mass when the variance is zero).
    fn beta_moments(&mut self, mean: f64, var: f64) -> f64 {
        let mean = mean.clamp(1e-9, 1.0 - 1e-9);
        let max_var = mean * (1.0 - mean);
        if var <= 1e-15 || var >= max_var {
            return mean;
        }
        let k = max_var / var - 1.0;
        self.beta(mean * k, (1.0 - mean) * k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(tp: u64, n_pos: u64, fp: u64, n_neg: u64) -> Rates {
        Rates {
            n_pos,
            tp,
            n_neg,
            fp,
            mean_p_pos: 0.8,
            var_p_pos: 0.04,
            mean_p_neg: 0.1,
            var_p_neg: 0.01,
            recall_validated: true,
        }
    }

    /// A group of `n` posts at true prevalence `p` screened with recall `tpr` and false-flag
    /// rate `fpr`, in expectation.
    fn tally(n: u64, p: f64, tpr: f64, fpr: f64) -> Tally {
        let flagged = (n as f64 * (p * tpr + (1.0 - p) * fpr)).round() as u64;
        let mean = p * 0.8 + (1.0 - p) * 0.1;
        Tally {
            n,
            flagged,
            sum_p: mean * n as f64,
            sum_p2: (mean * mean + 0.02) * n as f64,
        }
    }

    #[test]
    fn acc_removes_the_false_flags_that_raw_counting_reports() {
        let r = rates(160, 200, 15, 500); // tpr 0.8, fpr 0.03
        let t = tally(10_000, 0.05, 0.8, 0.03);
        let e = estimate(&[(t, Some(&r))], Method::Acc, 1);
        assert!((e.raw - 0.0685).abs() < 1e-3, "{e:?}");
        assert!((e.value - 0.05).abs() < 2e-3, "{e:?}");
        assert!(e.ci_low < 0.05 && e.ci_high > 0.05, "{e:?}");
        assert!(e.validated);
        // Zero prevalence: the flags are all false flags, and the interval reaches 0.
        let none = estimate(&[(tally(10_000, 0.0, 0.8, 0.03), Some(&r))], Method::Acc, 1);
        assert!(none.value < 0.005 && none.ci_low == 0.0, "{none:?}");
    }

    #[test]
    fn pacc_corrects_mean_probabilities() {
        let r = rates(160, 200, 15, 500);
        let e = estimate(
            &[(tally(10_000, 0.2, 0.8, 0.03), Some(&r))],
            Method::Pacc,
            1,
        );
        assert!((e.value - 0.2).abs() < 1e-6, "{e:?}");
        assert!(e.ci_low < 0.2 && e.ci_high > 0.2, "{e:?}");
    }

    #[test]
    fn intervals_widen_with_uncertain_rates_and_small_groups() {
        let precise = rates(1600, 2000, 150, 5000);
        let rough = rates(16, 20, 2, 50);
        let width = |e: Estimate| e.ci_high - e.ci_low;
        let big = tally(100_000, 0.1, 0.8, 0.03);
        let small = tally(100, 0.1, 0.8, 0.03);
        let a = width(estimate(&[(big, Some(&precise))], Method::Acc, 3));
        let b = width(estimate(&[(big, Some(&rough))], Method::Acc, 3));
        let c = width(estimate(&[(small, Some(&precise))], Method::Acc, 3));
        assert!(a < b && a < c, "{a} {b} {c}");
    }

    #[test]
    fn languages_are_corrected_separately_and_flagged_when_not_validated() {
        let en = rates(160, 200, 15, 500);
        let mut zh = rates(90, 100, 50, 500); // tpr 0.9, fpr 0.1
        let e = estimate(
            &[
                (tally(1000, 0.1, 0.8, 0.03), Some(&en)),
                (tally(3000, 0.02, 0.9, 0.1), Some(&zh)),
            ],
            Method::Acc,
            9,
        );
        assert!(
            (e.value - (0.1 * 1000.0 + 0.02 * 3000.0) / 4000.0).abs() < 3e-3,
            "{e:?}"
        );
        assert!(e.validated);
        zh.recall_validated = false;
        let e = estimate(&[(tally(3000, 0.02, 0.9, 0.1), Some(&zh))], Method::Acc, 9);
        assert!(
            !e.validated && e.note.as_deref().unwrap().contains("cross-lingual"),
            "{e:?}"
        );
        let e = estimate(&[(tally(3000, 0.02, 0.9, 0.1), None)], Method::Acc, 9);
        assert!(!e.validated, "{e:?}");
        assert!((e.value - e.raw).abs() < 1e-12, "uncorrected: {e:?}");
    }

    #[test]
    fn the_same_input_gives_the_same_interval() {
        let r = rates(160, 200, 15, 500);
        let t = tally(500, 0.1, 0.8, 0.03);
        assert_eq!(
            estimate(&[(t, Some(&r))], Method::Acc, 42),
            estimate(&[(t, Some(&r))], Method::Acc, 42)
        );
    }

    #[test]
    fn beta_draws_have_the_right_mean() {
        let mut rng = Rng::new(7);
        let m: f64 = (0..20_000).map(|_| rng.beta(2.0, 6.0)).sum::<f64>() / 20_000.0;
        assert!((m - 0.25).abs() < 0.01, "{m}");
        let m: f64 = (0..20_000).map(|_| rng.beta(0.5, 40.5)).sum::<f64>() / 20_000.0;
        assert!((m - 0.5 / 41.0).abs() < 0.002, "{m}");
    }
}

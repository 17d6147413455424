//! The ETS state space models: which components a model has ([`Spec`]), its smoothing
//! parameters ([`Params`]), and the recursion that filters a series through it and forecasts
//! from its last state (Hyndman et al. 2008, ch. 2 and Table 2.1; the same recursions as
//! R forecast's `etscalc`/`forecast` in C, which statsforecast ports to C++).
//!
//! States are kept as `[ℓ, b?, s_0, …, s_{m−1}]`, `s_0` being the most recent seasonal state
//! and `s_{m−1}` the one used for the next observation, as in R and statsforecast. The trend
//! parameter is the "β = αβ*" of R: b_t = φb_{t−1} + (β/α)(ℓ_t − ℓ_{t−1} − φb_{t−1}).

use serde::Serialize;

/// Below this, a denominator counts as zero (R's `TOL`).
const TOL: f64 = 1e-10;
/// What a division by (almost) zero yields (R's `HUGEN`).
const HUGE: f64 = 1e10;

/// One component's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Kind {
    /// Absent.
    None,
    /// Additive.
    Additive,
    /// Multiplicative.
    Multiplicative,
}

impl Kind {
    fn letter(self) -> &'static str {
        match self {
            Kind::None => "N",
            Kind::Additive => "A",
            Kind::Multiplicative => "M",
        }
    }
}

/// Which ETS model: error, trend (damped or not) and season. Multiplicative trends are not
/// offered (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Spec {
    /// Additive or multiplicative errors (never [`Kind::None`]).
    pub error: Kind,
    /// No trend or an additive one.
    pub trend: Kind,
    /// Whether the trend is damped (only with a trend).
    pub damped: bool,
    /// No season, additive or multiplicative.
    pub season: Kind,
}

impl Spec {
    /// A spec from its letters, e.g. `Spec::parse("MAdM")`, `"ANN"`; `None` when malformed
    /// or outside the model space this crate fits.
    pub fn parse(s: &str) -> Option<Spec> {
        let kind = |c: char| match c {
            'N' => Some(Kind::None),
            'A' => Some(Kind::Additive),
            'M' => Some(Kind::Multiplicative),
            _ => None,
        };
        let c: Vec<char> = s.chars().collect();
        let (e, t, d, s) = match c.len() {
            3 => (c[0], c[1], false, c[2]),
            4 if c[2] == 'd' => (c[0], c[1], true, c[3]),
            _ => return None,
        };
        let spec = Spec {
            error: kind(e)?,
            trend: kind(t)?,
            damped: d,
            season: kind(s)?,
        };
        spec.is_valid().then_some(spec)
    }

    /// Whether this crate can fit the spec: errors A or M, trend N or A (damped only with a
    /// trend), any season.
    pub fn is_valid(&self) -> bool {
        self.error != Kind::None
            && self.trend != Kind::Multiplicative
            && !(self.damped && self.trend == Kind::None)
    }

    /// The usual name, e.g. `ETS(M,Ad,M)`.
    pub fn name(&self) -> String {
        format!(
            "ETS({},{}{},{})",
            self.error.letter(),
            self.trend.letter(),
            if self.damped { "d" } else { "" },
            self.season.letter()
        )
    }

    /// Whether the model is one of the "unstable" combinations R forecast and statsforecast
    /// leave out of the automatic search (additive errors with a multiplicative season).
    pub fn is_restricted(&self) -> bool {
        self.error == Kind::Additive && self.season == Kind::Multiplicative
    }

    /// Whether the model uses multiplicative components (needs strictly positive data).
    pub fn is_multiplicative(&self) -> bool {
        self.error == Kind::Multiplicative || self.season == Kind::Multiplicative
    }

    /// Number of states for season length `m`: ℓ, b when trended, m seasonal states.
    pub fn n_states(&self, m: usize) -> usize {
        1 + usize::from(self.trend != Kind::None) + if self.season != Kind::None { m } else { 0 }
    }
}

/// Smoothing parameters; those of absent components are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Level smoothing α.
    pub alpha: f64,
    /// Trend smoothing β (R's parametrisation, 0 < β < α).
    pub beta: Option<f64>,
    /// Seasonal smoothing γ (0 < γ < 1 − α).
    pub gamma: Option<f64>,
    /// Damping φ.
    pub phi: Option<f64>,
}

/// A spec with its parameters as plain numbers (β = 0, γ = 0, φ = 1 when absent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filter {
    pub spec: Spec,
    pub m: usize,
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

impl Filter {
    pub fn new(spec: Spec, m: usize, p: &Params) -> Filter {
        Filter {
            spec,
            m: if spec.season == Kind::None {
                1
            } else {
                m.max(1)
            },
            alpha: p.alpha,
            beta: p.beta.unwrap_or(0.0),
            gamma: p.gamma.unwrap_or(0.0),
            phi: if spec.damped {
                p.phi.unwrap_or(1.0)
            } else {
                1.0
            },
        }
    }

    /// Filters `y` from the initial state `x0` (layout of the module doc). Returns
    /// n·ln(Σe²) + 2Σln|ŷ| (multiplicative errors) or n·ln(Σe²) (additive): −2 log-likelihood
    /// up to a constant that is the same for every model of the same series (R's `lik`).
    /// Writes the errors into `resid` and the final state into `last` when given; `ring`
    /// is scratch space for the seasonal states.
    pub fn run(
        &self,
        x0: &[f64],
        y: &[f64],
        ring: &mut Vec<f64>,
        resid: Option<&mut [f64]>,
        last: Option<&mut Vec<f64>>,
    ) -> f64 {
        // One monomorphised loop per model shape: the per-step branches on the components
        // disappear, which matters as the optimiser runs this thousands of times per fit.
        let mult = self.spec.error == Kind::Multiplicative;
        match (self.spec.trend != Kind::None, self.spec.season, mult) {
            (false, Kind::None, false) => {
                self.run_impl::<false, 0, false>(x0, y, ring, resid, last)
            }
            (false, Kind::None, true) => self.run_impl::<false, 0, true>(x0, y, ring, resid, last),
            (false, Kind::Additive, false) => {
                self.run_impl::<false, 1, false>(x0, y, ring, resid, last)
            }
            (false, Kind::Additive, true) => {
                self.run_impl::<false, 1, true>(x0, y, ring, resid, last)
            }
            (false, Kind::Multiplicative, false) => {
                self.run_impl::<false, 2, false>(x0, y, ring, resid, last)
            }
            (false, Kind::Multiplicative, true) => {
                self.run_impl::<false, 2, true>(x0, y, ring, resid, last)
            }
            (true, Kind::None, false) => self.run_impl::<true, 0, false>(x0, y, ring, resid, last),
            (true, Kind::None, true) => self.run_impl::<true, 0, true>(x0, y, ring, resid, last),
            (true, Kind::Additive, false) => {
                self.run_impl::<true, 1, false>(x0, y, ring, resid, last)
            }
            (true, Kind::Additive, true) => {
                self.run_impl::<true, 1, true>(x0, y, ring, resid, last)
            }
            (true, Kind::Multiplicative, false) => {
                self.run_impl::<true, 2, false>(x0, y, ring, resid, last)
            }
            (true, Kind::Multiplicative, true) => {
                self.run_impl::<true, 2, true>(x0, y, ring, resid, last)
            }
        }
    }

    /// [`Filter::run`] for one shape: `TREND`, `SEASON` (0 none, 1 additive, 2
    /// multiplicative), `MULT` (multiplicative errors).
    fn run_impl<const TREND: bool, const SEASON: u8, const MULT: bool>(
        &self,
        x0: &[f64],
        y: &[f64],
        ring: &mut Vec<f64>,
        mut resid: Option<&mut [f64]>,
        last: Option<&mut Vec<f64>>,
    ) -> f64 {
        let m = self.m;
        let mut l = x0[0];
        let mut b = if TREND { x0[1] } else { 0.0 };
        let s0 = usize::from(TREND) + 1;
        // Chronological ring: ring[pos] is the oldest seasonal state, the one for the next y.
        ring.clear();
        if SEASON > 0 {
            ring.extend((0..m).map(|k| x0[s0 + m - 1 - k]));
        }
        let mut pos = 0usize;
        let mut sse = 0.0;
        // Σ ln|ŷ| as the log of a running product, flushed before it over- or underflows:
        // one logarithm every few dozen steps instead of one per step.
        let (mut logf, mut prod) = (0.0, 1.0_f64);
        let (alpha, gamma, phi) = (self.alpha, self.gamma, self.phi);
        let beta_a = self.beta / self.alpha;
        for (i, &yi) in y.iter().enumerate() {
            let s_old = if SEASON > 0 { ring[pos] } else { 0.0 };
            let phib = if TREND { phi * b } else { 0.0 };
            let q = l + phib;
            let f = match SEASON {
                0 => q,
                1 => q + s_old,
                _ => q * s_old,
            };
            let e = if MULT { (yi - f) / f } else { yi - f };
            if let Some(r) = resid.as_deref_mut() {
                r[i] = e;
            }
            sse += e * e;
            if MULT {
                prod *= f.abs();
                if !(1e-150..=1e150).contains(&prod) {
                    logf += prod.ln();
                    prod = 1.0;
                }
            }
            let p = match SEASON {
                0 => yi,
                1 => yi - s_old,
                _ => {
                    if s_old.abs() < TOL {
                        HUGE
                    } else {
                        yi / s_old
                    }
                }
            };
            let new_l = q + alpha * (p - q);
            if TREND {
                b = phib + beta_a * (new_l - l - phib);
            }
            l = new_l;
            if SEASON > 0 {
                let t = if SEASON == 2 {
                    if q.abs() < TOL {
                        HUGE
                    } else {
                        yi / q
                    }
                } else {
                    yi - q
                };
                ring[pos] = s_old + gamma * (t - s_old);
                pos = if pos + 1 == m { 0 } else { pos + 1 };
            }
        }
        if let Some(out) = last {
            out.clear();
            out.push(l);
            if TREND {
                out.push(b);
            }
            if SEASON > 0 {
                // s_0 is the most recent: ring[pos − 1], then older ones.
                out.extend((0..m).map(|k| ring[(pos + 2 * m - 1 - k) % m]));
            }
        }
        let n = y.len() as f64;
        let mut lik = n * sse.ln();
        if MULT {
            lik += 2.0 * (logf + prod.ln());
        }
        lik
    }

    /// Point forecasts for `h` steps from a state (layout of the module doc).
    pub fn forecast(&self, x: &[f64], h: usize) -> Vec<f64> {
        let trended = self.spec.trend != Kind::None;
        let l = x[0];
        let b = if trended { x[1] } else { 0.0 };
        let s0 = usize::from(trended) + 1;
        let m = self.m;
        let mut phistar = self.phi;
        (0..h)
            .map(|i| {
                let base = if trended { l + phistar * b } else { l };
                phistar += self.phi.powi(i as i32 + 2);
                let s = |i: usize| x[s0 + (m - 1 + m * (i / m + 1) - i) % m];
                match self.spec.season {
                    Kind::None => base,
                    Kind::Additive => base + s(i),
                    Kind::Multiplicative => base * s(i),
                }
            })
            .collect()
    }
}

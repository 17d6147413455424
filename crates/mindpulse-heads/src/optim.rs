//! A small, deterministic L-BFGS minimizer (two-loop recursion, Armijo backtracking), enough
//! for convex losses of a few thousand parameters: the heads and their calibration.

/// A differentiable objective: returns f(x) and writes ∇f(x) into `grad`.
pub trait Objective {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64;
}

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub struct LbfgsOptions {
    pub max_iter: usize,
    pub memory: usize,
    /// Stop when ‖∇f‖∞ falls below this.
    pub grad_tol: f64,
    /// Stop when the relative decrease of f over an iteration falls below this.
    pub f_tol: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            max_iter: 300,
            memory: 10,
            grad_tol: 1e-6,
            f_tol: 1e-10,
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimizes `obj` from `x`; returns (x*, f(x*), iterations).
pub fn minimize(
    obj: &dyn Objective,
    mut x: Vec<f64>,
    opts: LbfgsOptions,
) -> (Vec<f64>, f64, usize) {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut f = obj.eval(&x, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut iters = 0;
    for it in 0..opts.max_iter {
        iters = it + 1;
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) < opts.grad_tol {
            break;
        }
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let m = s_hist.len();
        let mut alpha = vec![0.0; m];
        for i in (0..m).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &q);
            for (qj, yj) in q.iter_mut().zip(&y_hist[i]) {
                *qj -= alpha[i] * yj;
            }
        }
        let gamma = if m > 0 {
            dot(&s_hist[m - 1], &y_hist[m - 1]) / dot(&y_hist[m - 1], &y_hist[m - 1])
        } else {
            1.0 / g.iter().map(|v| v * v).sum::<f64>().sqrt().max(1.0)
        };
        for qj in q.iter_mut() {
            *qj *= gamma;
        }
        for i in 0..m {
            let beta = rho[i] * dot(&y_hist[i], &q);
            for (qj, sj) in q.iter_mut().zip(&s_hist[i]) {
                *qj += sj * (alpha[i] - beta);
            }
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&d, &g);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            d = g.iter().map(|v| -v).collect();
            slope = dot(&d, &g);
        }
        // Armijo backtracking.
        let mut step = 1.0;
        let mut f_new;
        let mut accepted = false;
        for _ in 0..40 {
            for j in 0..n {
                x_new[j] = x[j] + step * d[j];
            }
            f_new = obj.eval(&x_new, &mut g_new);
            if f_new.is_finite() && f_new <= f + 1e-4 * step * slope {
                accepted = true;
                let s: Vec<f64> = (0..n).map(|j| x_new[j] - x[j]).collect();
                let y: Vec<f64> = (0..n).map(|j| g_new[j] - g[j]).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 {
                    if s_hist.len() == opts.memory {
                        s_hist.remove(0);
                        y_hist.remove(0);
                        rho.remove(0);
                    }
                    s_hist.push(s);
                    y_hist.push(y);
                    rho.push(1.0 / sy);
                }
                let rel = (f - f_new).abs() / f.abs().max(1e-12);
                std::mem::swap(&mut x, &mut x_new);
                std::mem::swap(&mut g, &mut g_new);
                f = f_new;
                if rel < opts.f_tol {
                    return (x, f, iters);
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    (x, f, iters)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rosenbrock;
    impl Objective for Rosenbrock {
        fn eval(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        }
    }

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let opts = LbfgsOptions {
            max_iter: 500,
            f_tol: 0.0,
            grad_tol: 1e-9,
            ..Default::default()
        };
        let (x, f, _) = minimize(&Rosenbrock, vec![-1.2, 1.0], opts);
        assert!(
            (x[0] - 1.0).abs() < 1e-5 && (x[1] - 1.0).abs() < 1e-5,
            "{x:?} {f}"
        );
    }
}

//! Bounded Nelder–Mead minimisation, the variant statsforecast's ETS uses: points are
//! clamped into the box after every move, the initial simplex perturbs each coordinate by
//! 5 % (0.0001 when it is zero) unless the caller gives it an absolute step, the adaptive coefficients of Gao & Han (2012, "Implementing
//! the Nelder-Mead simplex algorithm with adaptive parameters", Comput. Optim. Appl. 51) are
//! used, and the search stops when the standard deviation of the simplex values falls below
//! `tol` or after `max_iter` iterations. Deterministic: no randomness.

/// The best point found and its value.
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
}

fn clamp_into(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
        if *v < *lo {
            *v = *lo;
        } else if *v > *hi {
            *v = *hi;
        }
    }
}

/// Minimises `f` from `x0` inside [lower, upper] (infinite bounds allowed). Non-finite
/// values of `f` count as +∞.
pub(crate) fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    steps: &[f64],
    tol: f64,
    max_iter: usize,
) -> Minimum {
    let n = x0.len();
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_nan() {
            f64::INFINITY
        } else {
            v
        }
    };
    let nf = n.max(1) as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
    let mut base = x0.to_vec();
    clamp_into(&mut base, lower, upper);
    let mut simplex = vec![base.clone(); n + 1];
    for j in 0..n {
        let v = &mut simplex[j + 1][j];
        match steps.get(j) {
            // An absolute step, upwards unless that leaves the box.
            Some(&st) if st > 0.0 => {
                *v = if *v + st <= upper[j] {
                    *v + st
                } else {
                    *v - st
                }
            }
            _ => *v = if *v == 0.0 { 1e-4 } else { *v * 1.05 },
        }
    }
    for p in &mut simplex {
        clamp_into(p, lower, upper);
    }
    let mut fs: Vec<f64> = simplex.iter().map(|p| eval(p)).collect();
    let mut order: Vec<usize> = (0..=n).collect();
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut trial2 = vec![0.0; n];
    for _ in 0..max_iter {
        order.sort_by(|&a, &b| fs[a].total_cmp(&fs[b]));
        let (best, worst, second) = (order[0], order[n], order[n.saturating_sub(1)]);
        // Population standard deviation of the values (+∞ while any is infinite).
        let mean = fs.iter().sum::<f64>() / (n + 1) as f64;
        let sd = (fs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n + 1) as f64).sqrt();
        if sd < tol {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for &i in &order[..n] {
            for (c, v) in centroid.iter_mut().zip(&simplex[i]) {
                *c += v;
            }
        }
        centroid.iter_mut().for_each(|c| *c /= nf);
        // Reflection.
        for k in 0..n {
            trial[k] = centroid[k] + alpha * (centroid[k] - simplex[worst][k]);
        }
        clamp_into(&mut trial, lower, upper);
        let fr = eval(&trial);
        if fs[best] <= fr && fr < fs[second] {
            simplex[worst].copy_from_slice(&trial);
            fs[worst] = fr;
            continue;
        }
        if fr < fs[best] {
            // Expansion.
            for k in 0..n {
                trial2[k] = centroid[k] + gamma * (trial[k] - centroid[k]);
            }
            clamp_into(&mut trial2, lower, upper);
            let fe = eval(&trial2);
            if fe < fr {
                simplex[worst].copy_from_slice(&trial2);
                fs[worst] = fe;
            } else {
                simplex[worst].copy_from_slice(&trial);
                fs[worst] = fr;
            }
            continue;
        }
        if fs[second] <= fr && fr < fs[worst] {
            // Outside contraction.
            for k in 0..n {
                trial2[k] = centroid[k] + rho * (trial[k] - centroid[k]);
            }
            clamp_into(&mut trial2, lower, upper);
            let fc = eval(&trial2);
            if fc <= fr {
                simplex[worst].copy_from_slice(&trial2);
                fs[worst] = fc;
                continue;
            }
        } else {
            // Inside contraction.
            for k in 0..n {
                trial2[k] = centroid[k] - rho * (trial[k] - centroid[k]);
            }
            clamp_into(&mut trial2, lower, upper);
            let fc = eval(&trial2);
            if fc < fs[worst] {
                simplex[worst].copy_from_slice(&trial2);
                fs[worst] = fc;
                continue;
            }
        }
        // Shrink towards the best point.
        let bx = simplex[best].clone();
        for &i in &order[1..] {
            for (v, b) in simplex[i].iter_mut().zip(&bx) {
                *v = b + sigma * (*v - b);
            }
            clamp_into(&mut simplex[i], lower, upper);
            fs[i] = eval(&simplex[i]);
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| fs[a].total_cmp(&fs[b]))
        .unwrap_or(0);
    Minimum {
        x: simplex[best].clone(),
        f: fs[best],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_bowl_inside_bounds() {
        let f = |x: &[f64]| (x[0] - 1.0).powi(2) + 10.0 * (x[1] + 2.0).powi(2);
        let r = nelder_mead(f, &[0.0, 0.0], &[-5.0, -5.0], &[5.0, 5.0], &[], 1e-14, 5000);
        assert!((r.x[0] - 1.0).abs() < 1e-4 && (r.x[1] + 2.0).abs() < 1e-4);
        // With the minimum outside the box, the best point is on the bound.
        let r = nelder_mead(f, &[0.0, 0.0], &[-5.0, -1.0], &[5.0, 5.0], &[], 1e-14, 5000);
        assert!((r.x[1] + 1.0).abs() < 1e-6);
    }
}

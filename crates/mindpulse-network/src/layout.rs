//! A force-directed drawing of a small graph (the top authors the web interface draws):
//! Fruchterman–Reingold (T. Fruchterman, E. Reingold, "Graph drawing by force-directed
//! placement", Software: Practice and Experience 21(11), 1991) with a linearly cooling
//! temperature, as NetworkX's `spring_layout` does. Every pair repels (k²/d), every edge
//! attracts (d²/k, times its weight's log-scaled strength, so one heavy tie does not
//! collapse the drawing), and a constant pull towards the centre (as ForceAtlas2's gravity)
//! keeps groups that share no edge near each other instead of drifting to the corners. Quadratic in the nodes per iteration: meant for at most a few hundred.
//!
//! Seeded and sequential, so the same graph gives the same drawing on any machine.
//! Positions come back scaled into the unit square `[0, 1]²`.

use crate::rng::SplitMix64;

/// The pull towards the centre, in units of the natural edge length's force.
const GRAVITY: f64 = 3.0;

/// Positions in `[0, 1]²` for nodes `0..n` linked by `edges` (`(from, to, weight)`;
/// ends out of range, self-loops and non-finite or negative weights are ignored).
pub fn force_layout(
    n: usize,
    edges: &[(usize, usize, f64)],
    iterations: usize,
    seed: u64,
) -> Vec<(f64, f64)> {
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![(0.5, 0.5)];
    }
    let mut rng = SplitMix64::new(seed);
    let mut pos: Vec<(f64, f64)> = (0..n).map(|_| (rng.next_f64(), rng.next_f64())).collect();
    let links: Vec<(usize, usize, f64)> = edges
        .iter()
        .filter(|(a, b, w)| *a < n && *b < n && a != b && w.is_finite() && *w >= 0.0)
        .map(|&(a, b, w)| (a, b, 1.0 + w.ln_1p()))
        .collect();
    let k = (1.0 / n as f64).sqrt();
    let iterations = iterations.max(1);
    let mut t = 0.1;
    let cool = t / (iterations as f64 + 1.0);
    let mut shift = vec![(0.0f64, 0.0f64); n];
    for _ in 0..iterations {
        shift.iter_mut().for_each(|s| *s = (0.0, 0.0));
        for i in 0..n {
            for j in (i + 1)..n {
                let (dx, dy) = (pos[i].0 - pos[j].0, pos[i].1 - pos[j].1);
                let d2 = (dx * dx + dy * dy).max(1e-9);
                // k²/d along the unit vector: k² · (dx, dy) / d².
                let f = k * k / d2;
                shift[i].0 += dx * f;
                shift[i].1 += dy * f;
                shift[j].0 -= dx * f;
                shift[j].1 -= dy * f;
            }
        }
        for &(a, b, strength) in &links {
            let (dx, dy) = (pos[a].0 - pos[b].0, pos[a].1 - pos[b].1);
            let d = (dx * dx + dy * dy).sqrt();
            // d²/k along the unit vector: (dx, dy) · d / k.
            let f = d / k * strength;
            shift[a].0 -= dx * f;
            shift[a].1 -= dy * f;
            shift[b].0 += dx * f;
            shift[b].1 += dy * f;
        }
        for (p, s) in pos.iter_mut().zip(&shift) {
            // Gravity: a force of 3k towards the centre, whatever the distance.
            let (cx, cy) = (p.0 - 0.5, p.1 - 0.5);
            let r = (cx * cx + cy * cy).sqrt().max(1e-9);
            let s = (s.0 - cx / r * GRAVITY * k, s.1 - cy / r * GRAVITY * k);
            let len = (s.0 * s.0 + s.1 * s.1).sqrt();
            if len > 0.0 {
                let step = len.min(t) / len;
                p.0 += s.0 * step;
                p.1 += s.1 * step;
            }
        }
        t = (t - cool).max(1e-4);
    }
    // Scale into the unit square, keeping the aspect ratio.
    let (mut lo_x, mut lo_y, mut hi_x, mut hi_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &pos {
        lo_x = lo_x.min(p.0);
        lo_y = lo_y.min(p.1);
        hi_x = hi_x.max(p.0);
        hi_y = hi_y.max(p.1);
    }
    let span = (hi_x - lo_x).max(hi_y - lo_y).max(1e-12);
    let (pad_x, pad_y) = (
        (1.0 - (hi_x - lo_x) / span) / 2.0,
        (1.0 - (hi_y - lo_y) / span) / 2.0,
    );
    pos.iter()
        .map(|p| ((p.0 - lo_x) / span + pad_x, (p.1 - lo_y) / span + pad_y))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
    }

    #[test]
    fn linked_nodes_end_closer_than_unlinked_ones_and_all_in_the_square() {
        // Two triangles joined by one edge: within a triangle nodes sit closer than across.
        let edges = [
            (0, 1, 1.0),
            (1, 2, 1.0),
            (2, 0, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
            (5, 3, 1.0),
            (2, 3, 1.0),
        ];
        let pos = force_layout(6, &edges, 300, 7);
        assert_eq!(pos.len(), 6);
        assert!(
            pos.iter()
                .all(|p| (0.0..=1.0).contains(&p.0) && (0.0..=1.0).contains(&p.1)),
            "{pos:?}"
        );
        let within = (dist(pos[0], pos[1]) + dist(pos[3], pos[4])) / 2.0;
        let across = (dist(pos[0], pos[4]) + dist(pos[1], pos[5])) / 2.0;
        assert!(within < across, "within {within} across {across}");
        // No two nodes on top of each other.
        for i in 0..6 {
            for j in (i + 1)..6 {
                assert!(dist(pos[i], pos[j]) > 0.05, "{i} {j}: {pos:?}");
            }
        }
    }

    #[test]
    fn two_groups_without_a_link_stay_close_to_each_other() {
        // Two 5-cycles and nothing between them: the gap between the groups is not much
        // larger than a group, so neither shrinks to a dot when the drawing is scaled.
        let mut edges = Vec::new();
        for g in 0..2 {
            for i in 0..5 {
                edges.push((g * 5 + i, g * 5 + (i + 1) % 5, 1.0));
            }
        }
        let pos = force_layout(10, &edges, 300, 3);
        let centre = |g: usize| {
            let (x, y) = (0..5).fold((0.0, 0.0), |a, i| {
                (a.0 + pos[g * 5 + i].0, a.1 + pos[g * 5 + i].1)
            });
            (x / 5.0, y / 5.0)
        };
        let spread: f64 = (0..10).map(|i| dist(pos[i], centre(i / 5))).sum::<f64>() / 10.0;
        let gap = dist(centre(0), centre(1));
        assert!(gap < 6.0 * spread, "gap {gap} spread {spread}: {pos:?}");
        assert!(
            gap > 2.0 * spread,
            "the groups do not overlap: gap {gap} spread {spread}"
        );
    }

    #[test]
    fn same_seed_same_drawing_and_bad_input_is_ignored() {
        let edges = [
            (0, 1, 2.0),
            (1, 2, f64::NAN),
            (2, 9, 1.0),
            (1, 1, 1.0),
            (0, 2, -1.0),
        ];
        let a = force_layout(3, &edges, 50, 1);
        assert_eq!(a, force_layout(3, &edges, 50, 1));
        assert!(a.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
        assert_eq!(force_layout(0, &[], 10, 1), vec![]);
        assert_eq!(force_layout(1, &[], 10, 1), vec![(0.5, 0.5)]);
    }
}

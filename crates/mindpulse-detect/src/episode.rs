//! Episodes: runs of consecutive alerting points (warning or alert) of one series, merged
//! so that a caller stores and notifies one event per outbreak rather than one per day.

use crate::{Level, Point};
use serde::{Deserialize, Serialize};

/// A run of consecutive points at level warning or alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// Index of the first point.
    pub start: usize,
    /// Index of the last point (inclusive).
    pub end: usize,
    /// Index of the most severe point: highest level, then smallest p-value, then highest
    /// score, then earliest.
    pub peak: usize,
    /// The highest level in the run.
    pub level: Level,
}

/// Is `a` more severe than `b`?
fn more_severe(a: &Point, b: &Point) -> bool {
    if a.level != b.level {
        return a.level > b.level;
    }
    match (a.p_value, b.p_value) {
        (Some(x), Some(y)) if x != y => return x < y,
        _ => {}
    }
    match (a.score, b.score) {
        (Some(x), Some(y)) => x > y,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The episodes of `points`, in order. Points at level none separate episodes.
pub fn episodes(points: &[Point]) -> Vec<Episode> {
    let mut out: Vec<Episode> = Vec::new();
    let mut open: Option<Episode> = None;
    for (i, p) in points.iter().enumerate() {
        if p.level == Level::None {
            out.extend(open.take());
            continue;
        }
        match open.as_mut() {
            None => {
                open = Some(Episode {
                    start: i,
                    end: i,
                    peak: i,
                    level: p.level,
                })
            }
            Some(e) => {
                e.end = i;
                e.level = e.level.max(p.level);
                if more_severe(p, &points[e.peak]) {
                    e.peak = i;
                }
            }
        }
    }
    out.extend(open);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(level: Level, p: Option<f64>, score: f64) -> Point {
        Point {
            observed: 0.0,
            expected: Some(0.0),
            score: Some(score),
            p_value: p,
            level,
        }
    }

    #[test]
    fn merges_runs_and_finds_peaks() {
        let n = Level::None;
        let w = Level::Warning;
        let a = Level::Alert;
        let pts = vec![
            pt(n, None, 0.0),
            pt(w, Some(0.03), 2.0),
            pt(a, Some(0.001), 3.0),
            pt(a, Some(0.0001), 2.5),
            pt(w, Some(0.02), 9.0),
            pt(n, None, 0.0),
            pt(w, Some(0.04), 1.0),
            pt(n, None, 0.0),
            pt(a, None, 5.0),
            pt(a, None, 7.0),
        ];
        let e = episodes(&pts);
        assert_eq!(
            e,
            vec![
                Episode {
                    start: 1,
                    end: 4,
                    peak: 3,
                    level: a
                },
                Episode {
                    start: 6,
                    end: 6,
                    peak: 6,
                    level: w
                },
                Episode {
                    start: 8,
                    end: 9,
                    peak: 9,
                    level: a
                },
            ]
        );
        assert!(episodes(&[]).is_empty());
        assert!(episodes(&pts[..1]).is_empty());
    }
}

//! From trend cells to detector input: one contiguous series per group (every day or week
//! from the first bucket to the last, a missing bucket being zero posts), with the number of
//! posts in each bucket; and from detector points to episodes worth an alert.

use chrono::{Datelike, Duration, NaiveDate};
use mindpulse_analyze::TrendRow;
use mindpulse_detect::{episodes, Detector, Input, Level, Point};
use std::collections::BTreeMap;

/// One group's series.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSeries {
    pub group: Option<String>,
    pub buckets: Vec<NaiveDate>,
    /// Posts in each bucket.
    pub n: Vec<u64>,
    /// The metric: the post count (volume) or the corrected prevalence in percent (NaN when
    /// the bucket has no posts).
    pub values: Vec<f64>,
}

/// Bucket length of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Day,
    Week,
}

impl Step {
    pub fn days(self) -> i64 {
        match self {
            Step::Day => 1,
            Step::Week => 7,
        }
    }
}

/// Splits trend cells (from `Series::volume` or `Series::prevalence` with `min_cell` 1)
/// into contiguous series per group. Buckets are ISO dates (days, or the Monday of weeks).
pub fn group_series(rows: &[TrendRow], volume: bool, step: Step) -> Vec<GroupSeries> {
    let mut by_group: BTreeMap<Option<String>, BTreeMap<NaiveDate, (u64, f64)>> = BTreeMap::new();
    for r in rows {
        let Ok(day) = NaiveDate::parse_from_str(&r.bucket, "%Y-%m-%d") else {
            continue;
        };
        let n = r.n.unwrap_or(0);
        let value = if volume {
            n as f64
        } else {
            r.value.map(|v| v * 100.0).unwrap_or(f64::NAN)
        };
        by_group
            .entry(r.group.clone())
            .or_default()
            .insert(day, (n, value));
    }
    by_group
        .into_iter()
        .filter_map(|(group, cells)| {
            let first = *cells.keys().next()?;
            let last = *cells.keys().next_back()?;
            let mut s = GroupSeries {
                group,
                buckets: Vec::new(),
                n: Vec::new(),
                values: Vec::new(),
            };
            let mut day = first;
            while day <= last {
                let (n, v) = cells
                    .get(&day)
                    .copied()
                    .unwrap_or((0, if volume { 0.0 } else { f64::NAN }));
                s.buckets.push(day);
                s.n.push(n);
                s.values.push(v);
                day += Duration::days(step.days());
            }
            Some(s)
        })
        .collect()
}

/// A detected episode of one series, with the points around it.
#[derive(Debug, Clone)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub peak: usize,
    pub level: Level,
}

/// Runs the detector over a series; a bucket with fewer than `min_count` posts never alerts.
/// Returns the points and the episodes.
pub fn detect(
    detector: &dyn Detector,
    s: &GroupSeries,
    step: Step,
    min_count: u64,
) -> (Vec<Point>, Vec<Found>) {
    let weekdays: Vec<u8> = s
        .buckets
        .iter()
        .map(|d| d.weekday().num_days_from_monday() as u8)
        .collect();
    let input = Input {
        values: &s.values,
        weekdays: (step == Step::Day).then_some(&weekdays[..]),
    };
    let mut points = detector.run(&input);
    for (p, n) in points.iter_mut().zip(&s.n) {
        if *n < min_count {
            p.level = Level::None;
        }
    }
    let found = episodes(&points)
        .into_iter()
        .map(|e| Found {
            start: e.start,
            end: e.end,
            peak: e.peak,
            level: e.level,
        })
        .collect();
    (points, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bucket: &str, group: Option<&str>, n: u64, value: Option<f64>) -> TrendRow {
        TrendRow {
            bucket: bucket.into(),
            group: group.map(str::to_string),
            n: Some(n),
            flagged: None,
            raw: None,
            value,
            ci_low: None,
            ci_high: None,
            suppressed: false,
            validated: None,
            note: None,
        }
    }

    #[test]
    fn missing_days_are_zero_posts_and_groups_split() {
        let rows = vec![
            row("2025-11-01", Some("a"), 5, Some(5.0)),
            row("2025-11-04", Some("a"), 7, Some(7.0)),
            row("2025-11-02", Some("b"), 3, Some(3.0)),
        ];
        let s = group_series(&rows, true, Step::Day);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].values, vec![5.0, 0.0, 0.0, 7.0]);
        assert_eq!(s[0].n, vec![5, 0, 0, 7]);
        assert_eq!(s[1].buckets.len(), 1);
        let p = group_series(
            &[
                row("2025-11-03", None, 40, Some(0.1)),
                row("2025-11-17", None, 40, Some(0.2)),
            ],
            false,
            Step::Week,
        );
        assert_eq!(p[0].buckets.len(), 3);
        assert!((p[0].values[0] - 10.0).abs() < 1e-12, "percent");
        assert!(
            p[0].values[1].is_nan(),
            "a week without posts has no prevalence"
        );
    }

    #[test]
    fn a_surge_is_one_episode_and_small_buckets_never_alert() {
        let mut rows = Vec::new();
        let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        for i in 0..60 {
            let day = start + Duration::days(i);
            let base = 100 + (i % 7) as u64 * 3 + (i % 3) as u64;
            let n = if (50..53).contains(&i) {
                base * 3
            } else {
                base
            };
            rows.push(row(&day.to_string(), None, n, Some(n as f64)));
        }
        let s = &group_series(&rows, true, Step::Day)[0];
        let ewma = mindpulse_detect::build("ewma", &serde_json::Value::Null).unwrap();
        let (points, found) = detect(ewma.as_ref(), s, Step::Day, 20);
        assert_eq!(points.len(), 60);
        // The weekly peaks give the EWMA (no weekday terms) a few one-day warnings.
        let alerts: Vec<_> = found.iter().filter(|f| f.level == Level::Alert).collect();
        assert_eq!(alerts.len(), 1, "{found:?}");
        assert!((50..=52).contains(&alerts[0].start), "{found:?}");
        assert!(
            found
                .iter()
                .all(|f| f.level == Level::Alert || f.end == f.start),
            "{found:?}"
        );
        let (_, none) = detect(ewma.as_ref(), s, Step::Day, 10_000);
        assert!(none.is_empty(), "under min_count nothing alerts");
    }
}

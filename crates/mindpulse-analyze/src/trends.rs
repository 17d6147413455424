//! Trend series: posts counted by time bucket (hour, day, or ISO week from Monday) in a
//! time zone and by an optional group (a topic, a region, a platform, a language), each cell
//! with its number of posts and, for a population dimension, the flagged count, the raw
//! share and the corrected prevalence with its 95 % interval. Cells with fewer than
//! `min_cell` posts are suppressed: no number is given for them at all (too noisy, and too
//! close to one person).

use crate::prevalence::{estimate, Method, Rates, Tally};
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;

/// The length of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
    Week,
    /// One bucket for the whole window (`all`).
    All,
}

impl Bucket {
    /// The bucket of `t` in `tz`: an ISO date for days, the Monday's date for weeks, an
    /// ISO date-time with the zone's offset for hours.
    pub fn of(self, t: DateTime<Utc>, tz: Tz) -> String {
        let local = t.with_timezone(&tz);
        match self {
            Bucket::All => "all".to_string(),
            Bucket::Day => local.date_naive().to_string(),
            Bucket::Week => {
                let monday = local.date_naive()
                    - Duration::days(i64::from(local.weekday().num_days_from_monday()));
                monday.to_string()
            }
            Bucket::Hour => {
                let hour = local
                    .date_naive()
                    .and_hms_opt(local.hour(), 0, 0)
                    .and_then(|naive| tz.from_local_datetime(&naive).earliest());
                match hour {
                    Some(h) => h.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                    None => local.format("%Y-%m-%dT%H:00:00%:z").to_string(),
                }
            }
        }
    }
}

/// One post as a series reads it.
#[derive(Debug, Clone, Copy)]
pub struct Obs<'a> {
    pub at: DateTime<Utc>,
    /// The language its rates are keyed by (`en`, `zh`, …).
    pub lang: &'a str,
    /// Flagged at the screen's operating point (for a dimension), and its calibrated
    /// probability.
    pub flagged: bool,
    pub p: f64,
}

/// A cell of the output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendRow {
    pub bucket: String,
    pub group: Option<String>,
    /// Posts in the cell (null when suppressed).
    pub n: Option<u64>,
    pub flagged: Option<u64>,
    /// Flagged share, uncorrected.
    pub raw: Option<f64>,
    /// The post count (`volume`) or the corrected prevalence.
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
    /// False when part of the cell could not be corrected with validated rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TrendRow {
    /// A cell too small to show: no numbers at all.
    pub fn suppressed(bucket: &str, group: &Option<String>) -> TrendRow {
        TrendRow {
            bucket: bucket.to_string(),
            group: group.clone(),
            n: None,
            flagged: None,
            raw: None,
            value: None,
            ci_low: None,
            ci_high: None,
            suppressed: true,
            validated: None,
            note: None,
        }
    }
}

/// Cells being counted: (bucket, group) → language → tally.
#[derive(Debug, Default)]
pub struct Series {
    cells: BTreeMap<(String, Option<String>), BTreeMap<String, Tally>>,
}

impl Series {
    pub fn new() -> Series {
        Series::default()
    }

    /// Counts one post in the cell of `bucket` and `group`.
    pub fn add(&mut self, bucket: &str, group: Option<&str>, obs: &Obs<'_>) {
        self.cells
            .entry((bucket.to_string(), group.map(str::to_string)))
            .or_default()
            .entry(obs.lang.to_string())
            .or_default()
            .add(obs.flagged, obs.p);
    }

    /// Adds counted posts (a rollup cell) to the cell of `bucket` and `group`.
    pub fn add_tally(&mut self, bucket: &str, group: Option<&str>, lang: &str, tally: &Tally) {
        self.cells
            .entry((bucket.to_string(), group.map(str::to_string)))
            .or_default()
            .entry(lang.to_string())
            .or_default()
            .merge(tally);
    }

    /// The cells in bucket and group order: post counts only (`volume`).
    pub fn volume(&self, min_cell: u64) -> Vec<TrendRow> {
        self.cells
            .iter()
            .map(|((bucket, group), langs)| {
                let n: u64 = langs.values().map(|t| t.n).sum();
                let shown = n >= min_cell;
                TrendRow {
                    bucket: bucket.clone(),
                    group: group.clone(),
                    n: shown.then_some(n),
                    flagged: None,
                    raw: None,
                    value: shown.then_some(n as f64),
                    ci_low: None,
                    ci_high: None,
                    suppressed: !shown,
                    validated: None,
                    note: None,
                }
            })
            .collect()
    }

    /// The cells in bucket and group order with corrected prevalence; `rates` gives a
    /// language's validation rates (None: no correction possible). The cells' bootstraps
    /// run on all cores; each is seeded by its bucket and group, so the output does not
    /// depend on how they are spread.
    pub fn prevalence<'r>(
        &self,
        rates: &(dyn Fn(&str) -> Option<&'r Rates> + Sync),
        method: Method,
        min_cell: u64,
    ) -> Vec<TrendRow> {
        let cells: Vec<_> = self.cells.iter().collect();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 16);
        let chunk = cells.len().div_ceil(threads).max(8);
        if cells.len() <= chunk {
            return cells
                .iter()
                .map(|(key, langs)| prevalence_cell(key, langs, rates, method, min_cell))
                .collect();
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = cells
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(key, langs)| {
                                prevalence_cell(key, langs, rates, method, min_cell)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| match h.join() {
                    Ok(rows) => rows,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    }
}

/// One cell of [`Series::prevalence`].
fn prevalence_cell<'r>(
    (bucket, group): &(String, Option<String>),
    langs: &BTreeMap<String, Tally>,
    rates: &(dyn Fn(&str) -> Option<&'r Rates> + Sync),
    method: Method,
    min_cell: u64,
) -> TrendRow {
    let n: u64 = langs.values().map(|t| t.n).sum();
    if n < min_cell {
        return TrendRow::suppressed(bucket, group);
    }
    let parts: Vec<(Tally, Option<&Rates>)> = langs.iter().map(|(l, t)| (*t, rates(l))).collect();
    let seed =
        fnv1a(bucket.as_bytes()) ^ fnv1a(group.as_deref().unwrap_or("").as_bytes()).rotate_left(17);
    let e = estimate(&parts, method, seed);
    TrendRow {
        bucket: bucket.clone(),
        group: group.clone(),
        n: Some(e.n),
        flagged: Some(e.flagged),
        raw: Some(e.raw),
        value: Some(e.value),
        ci_low: Some(e.ci_low),
        ci_high: Some(e.ci_high),
        suppressed: false,
        validated: Some(e.validated),
        note: e.note,
    }
}

/// `rows` (computed with a smaller `min_cell`, e.g. 1 for a forecast) as they would be with
/// `min_cell`: cells under it become suppressed rows without numbers. A cell's estimate
/// depends only on its own posts and its bucket and group (the bootstrap seed), so this
/// gives exactly the rows `volume`/`prevalence` would give with `min_cell`, without
/// computing them twice.
pub fn suppress_small(rows: &[TrendRow], min_cell: u64) -> Vec<TrendRow> {
    rows.iter()
        .map(|r| match r.n {
            Some(n) if n >= min_cell && !r.suppressed => r.clone(),
            _ => TrendRow::suppressed(&r.bucket, &r.group),
        })
        .collect()
}

/// FNV-1a: a hash that is the same on every machine and version (for bootstrap seeds).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn buckets_follow_the_time_zone() {
        let t = at("2025-11-20T16:30:00Z");
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(Bucket::Day.of(t, sh), "2025-11-21");
        assert_eq!(Bucket::Day.of(t, Tz::UTC), "2025-11-20");
        assert_eq!(Bucket::Hour.of(t, sh), "2025-11-21T00:00:00+08:00");
        assert_eq!(Bucket::Hour.of(t, Tz::UTC), "2025-11-20T16:00:00+00:00");
        // Thursday 20 → Monday 17; in Shanghai it is Friday 21, still that week.
        assert_eq!(Bucket::Week.of(t, Tz::UTC), "2025-11-17");
        assert_eq!(
            Bucket::Week.of(at("2025-11-23T16:30:00Z"), sh),
            "2025-11-24"
        );
    }

    #[test]
    fn small_cells_are_suppressed_without_numbers() {
        let mut s = Series::new();
        let obs = |flag| Obs {
            at: at("2025-11-20T10:00:00Z"),
            lang: "en",
            flagged: flag,
            p: if flag { 0.9 } else { 0.1 },
        };
        for i in 0..30 {
            s.add("2025-11-20", Some("a"), &obs(i % 3 == 0));
        }
        for _ in 0..4 {
            s.add("2025-11-20", Some("b"), &obs(true));
        }
        let v = s.volume(10);
        assert_eq!(v[0].value, Some(30.0));
        assert!(v[1].suppressed && v[1].n.is_none() && v[1].value.is_none());
        let rates = Rates {
            n_pos: 100,
            tp: 80,
            n_neg: 1000,
            fp: 30,
            mean_p_pos: 0.8,
            var_p_pos: 0.04,
            mean_p_neg: 0.1,
            var_p_neg: 0.01,
            recall_validated: true,
        };
        let rows = s.prevalence(&|l| (l == "en").then_some(&rates), Method::Acc, 10);
        assert_eq!(rows[0].n, Some(30));
        assert_eq!(rows[0].flagged, Some(10));
        let v = rows[0].value.unwrap();
        assert!((v - (10.0 / 30.0 - 0.03) / 0.77).abs() < 1e-9, "{v}");
        assert!(rows[1].suppressed && rows[1].flagged.is_none());
        // Computed once with every cell, then suppressed: the same rows.
        let all = s.prevalence(&|l| (l == "en").then_some(&rates), Method::Acc, 1);
        assert!(!all[1].suppressed);
        assert_eq!(suppress_small(&all, 10), rows);
        assert_eq!(suppress_small(&s.volume(1), 10), s.volume(10));
    }
}

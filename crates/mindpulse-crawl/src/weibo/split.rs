//! Splitting a search that reaches the 50-page cap, as weibo-search does: the whole
//! range → days → hours → provinces → cities. A slice whose pager lists at least the
//! threshold of pages is replaced by its children; a city slice cannot be split further
//! and is read as far as the platform lets us (the loss is reported, not hidden).
//!
//! The region table (`data/regions.json`, 36 provinces and regions, 457 cities) is
//! weibo-search's, transcribed as facts.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The province/city code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Province {
    pub name: String,
    pub code: u32,
    /// `(name, code)`, by code.
    pub cities: Vec<(String, u32)>,
}

static REGIONS: LazyLock<Vec<Province>> =
    LazyLock::new(|| load_regions(include_str!("../../data/regions.json")));

fn load_regions(text: &str) -> Vec<Province> {
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("the bundled region table is unreadable: {e}");
            return Vec::new();
        }
    };
    let mut out: Vec<Province> = v
        .get("provinces")
        .and_then(|p| p.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(name, p)| {
                    let code = p.get("code")?.as_u64()? as u32;
                    let mut cities: Vec<(String, u32)> = p
                        .get("cities")?
                        .as_object()?
                        .iter()
                        .filter_map(|(c, n)| Some((c.clone(), n.as_u64()? as u32)))
                        .collect();
                    cities.sort_by_key(|c| c.1);
                    Some(Province {
                        name: name.clone(),
                        code,
                        cities,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|p| p.code);
    out
}

/// Every province and region, by code.
pub fn provinces() -> &'static [Province] {
    &REGIONS
}

/// A province by name (`广东`) or code (`44`).
pub fn province(name_or_code: &str) -> Option<&'static Province> {
    let t = name_or_code.trim();
    provinces()
        .iter()
        .find(|p| p.name == t || p.code.to_string() == t)
}

/// How finely a slice is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Range,
    Day,
    Hour,
    Province,
    City,
}

/// One search slice: a time window (hour precision, end exclusive) and maybe a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub province: Option<u32>,
    /// City code; 1000 = the whole province.
    pub city: Option<u32>,
    pub level: Level,
}

fn fmt_hour(t: NaiveDateTime) -> String {
    format!("{}-{}", t.format("%Y-%m-%d"), t.hour())
}

impl Slice {
    /// The whole range of days `since..=until` (with an optional fixed province).
    pub fn range(since: NaiveDate, until: NaiveDate, province: Option<u32>) -> Slice {
        let until = until.max(since);
        Slice {
            start: since.and_time(NaiveTime::MIN),
            end: (until + Duration::days(1)).and_time(NaiveTime::MIN),
            city: province.map(|_| 1000),
            province,
            level: Level::Range,
        }
    }

    /// `custom:2026-11-22-0:2026-11-23-0`.
    pub fn timescope(&self) -> String {
        format!("custom:{}:{}", fmt_hour(self.start), fmt_hour(self.end))
    }

    /// `custom:44:1000`, or None without a region.
    pub fn region(&self) -> Option<String> {
        self.province
            .map(|p| format!("custom:{p}:{}", self.city.unwrap_or(1000)))
    }

    /// Human-readable, for logs.
    pub fn describe(&self) -> String {
        let mut s = format!("{}..{}", fmt_hour(self.start), fmt_hour(self.end));
        if let Some(r) = self.region() {
            s.push_str(" region=");
            s.push_str(&r);
        }
        s
    }

    /// The finer slices that together cover this one, or None when it cannot be split.
    pub fn split(&self) -> Option<Vec<Slice>> {
        let with_time = |start: NaiveDateTime, end: NaiveDateTime, level: Level| Slice {
            start,
            end,
            province: self.province,
            city: self.city,
            level,
        };
        let span = self.end - self.start;
        let by_hours = |level_hint: Level| {
            let mut out = Vec::new();
            let mut t = self.start;
            while t < self.end {
                let next = (t + Duration::hours(1)).min(self.end);
                out.push(with_time(t, next, level_hint));
                t = next;
            }
            out
        };
        match self.level {
            Level::Range if span > Duration::days(1) => {
                let mut out = Vec::new();
                let mut t = self.start;
                while t < self.end {
                    let next = (t + Duration::days(1)).min(self.end);
                    out.push(with_time(t, next, Level::Day));
                    t = next;
                }
                Some(out)
            }
            Level::Range | Level::Day if span > Duration::hours(1) => Some(by_hours(Level::Hour)),
            Level::Range | Level::Day | Level::Hour => match self.province {
                None => Some(
                    provinces()
                        .iter()
                        .map(|p| Slice {
                            province: Some(p.code),
                            city: Some(1000),
                            level: Level::Province,
                            ..self.clone()
                        })
                        .collect(),
                ),
                Some(code) => self.cities_of(code),
            },
            Level::Province => self.province.and_then(|code| self.cities_of(code)),
            Level::City => None,
        }
    }

    fn cities_of(&self, code: u32) -> Option<Vec<Slice>> {
        let p = provinces().iter().find(|p| p.code == code)?;
        let cities: Vec<Slice> = p
            .cities
            .iter()
            .filter(|(_, c)| *c != 1000)
            .map(|(_, c)| Slice {
                city: Some(*c),
                level: Level::City,
                ..self.clone()
            })
            .collect();
        (!cities.is_empty()).then_some(cities)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn region_table() {
        assert_eq!(provinces().len(), 36);
        assert_eq!(
            provinces().iter().map(|p| p.cities.len()).sum::<usize>(),
            457
        );
        let gd = province("广东").unwrap();
        assert_eq!(gd.code, 44);
        assert!(gd.cities.contains(&("深圳".to_string(), 3)));
        assert_eq!(province("400").unwrap().name, "海外");
    }

    #[test]
    fn range_day_hour_province_city() {
        let r = Slice::range(d("2026-11-19"), d("2026-11-22"), None);
        assert_eq!(r.timescope(), "custom:2026-11-19-0:2026-11-23-0");
        let days = r.split().unwrap();
        assert_eq!(days.len(), 4);
        assert_eq!(days[3].timescope(), "custom:2026-11-22-0:2026-11-23-0");
        let hours = days[3].split().unwrap();
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[9].timescope(), "custom:2026-11-22-9:2026-11-22-10");
        assert_eq!(hours[23].timescope(), "custom:2026-11-22-23:2026-11-23-0");
        let provs = hours[9].split().unwrap();
        assert_eq!(provs.len(), 36);
        assert_eq!(provs[0].region().as_deref(), Some("custom:11:1000"));
        let gd = provs.iter().find(|s| s.province == Some(44)).unwrap();
        let cities = gd.split().unwrap();
        assert_eq!(cities.len(), 21);
        assert!(cities
            .iter()
            .any(|c| c.region().as_deref() == Some("custom:44:3")));
        assert!(cities[0].split().is_none(), "a city cannot be split");
        // A one-day range goes straight to hours; a fixed province goes to cities.
        assert_eq!(
            Slice::range(d("2026-11-22"), d("2026-11-22"), None)
                .split()
                .unwrap()
                .len(),
            24
        );
        let fixed = Slice::range(d("2026-11-22"), d("2026-11-22"), Some(44));
        assert_eq!(fixed.region().as_deref(), Some("custom:44:1000"));
        let h = fixed.split().unwrap();
        assert_eq!(h[0].split().unwrap().len(), 21);
    }
}

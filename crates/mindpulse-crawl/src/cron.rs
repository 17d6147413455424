//! Five-field cron expressions (`minute hour day-of-month month day-of-week`), as in
//! crontab(5): `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and
//! day names (`jan`, `mon`); Sunday is 0 or 7; when both day fields are restricted a day
//! matching either one fires.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use std::fmt;

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_any: bool,
    weekdays_any: bool,
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression {expr:?}: {problem} (expected 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 10,22 * * *\")")]
pub struct CronError {
    pub expr: String,
    pub problem: String,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + name_base);
    }
    let n: u32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if n < min || n > max {
        return Err(format!("{n} is outside {min}-{max}"));
    }
    Ok(n)
}

/// One field as a bit set; the bool says it was `*` (unrestricted).
fn field(
    s: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let any = s == "*" || s.starts_with("*/");
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st
                    .parse()
                    .map_err(|_| format!("step {st:?} is not a number"))?;
                if st == 0 {
                    return Err("a step of 0".into());
                }
                (r, st)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (
                value(a, min, max, names, name_base)?,
                value(b, min, max, names, name_base)?,
            );
            if a > b {
                return Err(format!("range {range} runs backwards"));
            }
            (a, b)
        } else {
            let a = value(range, min, max, names, name_base)?;
            (a, if part.contains('/') { max } else { a })
        };
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    if bits == 0 {
        return Err(format!("field {s:?} matches nothing"));
    }
    Ok((bits, any))
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Cron, CronError> {
        let err = |problem: String| CronError {
            expr: expr.to_string(),
            problem,
        };
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(format!("{} fields", fields.len())));
        }
        let (minutes, _) =
            field(fields[0], 0, 59, &[], 0).map_err(|p| err(format!("minute: {p}")))?;
        let (hours, _) = field(fields[1], 0, 23, &[], 0).map_err(|p| err(format!("hour: {p}")))?;
        let (days, days_any) =
            field(fields[2], 1, 31, &[], 0).map_err(|p| err(format!("day of month: {p}")))?;
        let (months, _) =
            field(fields[3], 1, 12, &MONTHS, 1).map_err(|p| err(format!("month: {p}")))?;
        let (mut weekdays, weekdays_any) =
            field(fields[4], 0, 7, &DAYS, 0).map_err(|p| err(format!("day of week: {p}")))?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            source: expr.trim().to_string(),
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_any,
            weekdays_any,
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().num_days_from_sunday()) != 0;
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }

    /// The first matching minute strictly after `t` (within the next 5 years).
    pub fn next_after(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let mut day = start.date();
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                let from = if day == start.date() {
                    start.time()
                } else {
                    NaiveTime::MIN
                };
                for h in from.hour()..24 {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    let m0 = if h == from.hour() { from.minute() } else { 0 };
                    for m in m0..60 {
                        if self.minutes & (1 << m) != 0 {
                            return day.and_hms_opt(h, m, 0);
                        }
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn default_twice_a_day() {
        let c = Cron::parse("0 10,22 * * *").unwrap();
        assert_eq!(
            c.next_after(t("2026-11-22 09:59")),
            Some(t("2026-11-22 10:00"))
        );
        assert_eq!(
            c.next_after(t("2026-11-22 10:00")),
            Some(t("2026-11-22 22:00"))
        );
        assert_eq!(
            c.next_after(t("2026-11-22 23:30")),
            Some(t("2026-11-23 10:00"))
        );
        assert_eq!(c.to_string(), "0 10,22 * * *");
    }

    #[test]
    fn steps_ranges_names_and_day_rules() {
        let c = Cron::parse("*/15 9-17 * * mon-fri").unwrap();
        // 2026-11-21 is a Saturday.
        assert_eq!(
            c.next_after(t("2026-11-21 12:00")),
            Some(t("2026-11-23 09:00"))
        );
        assert_eq!(
            c.next_after(t("2026-11-23 09:00")),
            Some(t("2026-11-23 09:15"))
        );
        assert_eq!(
            c.next_after(t("2026-11-23 17:45")),
            Some(t("2026-11-24 09:00"))
        );
        let sunday = Cron::parse("30 6 * * 7").unwrap();
        assert_eq!(
            sunday.next_after(t("2026-11-22 07:00")),
            Some(t("2026-11-29 06:30"))
        );
        // Both day fields restricted: either matches (the 1st, or any Monday).
        let either = Cron::parse("0 0 1 * 1").unwrap();
        assert_eq!(
            either.next_after(t("2026-11-24 00:00")),
            Some(t("2026-11-30 00:00"))
        );
        assert_eq!(
            either.next_after(t("2026-11-30 00:00")),
            Some(t("2026-12-01 00:00"))
        );
        let feb29 = Cron::parse("0 12 29 feb *").unwrap();
        assert_eq!(
            feb29.next_after(t("2026-03-01 00:00")),
            Some(t("2028-02-29 12:00"))
        );
        assert_eq!(
            Cron::parse("5/20 * * * *")
                .unwrap()
                .next_after(t("2026-01-01 00:06")),
            Some(t("2026-01-01 00:25"))
        );
    }

    #[test]
    fn bad_expressions() {
        for bad in [
            "",
            "0 10 * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "5-1 * * * *",
            "a * * * *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! The one time-zone rule of the command line: times are stored in UTC; a day or a time
//! without an offset given to `--since`/`--until`, and every by-day view, is read in one
//! zone: `--tz`, else `[time] zone`, else UTC. Every command that uses it prints it.

use anyhow::{bail, Context as _};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A `--since`/`--until` pair in UTC (either may be open).
pub type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The zone a command reads dates in, and its name as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    pub tz: Tz,
}

impl Zone {
    /// `--tz` when given, else the configuration's zone.
    pub fn resolve(flag: Option<&str>, config: &crate::config::Config) -> anyhow::Result<Zone> {
        let (name, from) = match flag {
            Some(name) => (name, "--tz"),
            None => (config.time_zone(), "[time] zone"),
        };
        Zone::named(from, name)
    }

    /// The zone `name` (an IANA name) given by `from` (a flag or a setting).
    pub fn named(from: &str, name: &str) -> anyhow::Result<Zone> {
        let tz = name.trim().parse::<Tz>().map_err(|_| {
            anyhow::anyhow!(
                "{from} {name:?}: not an IANA time zone name (e.g. UTC, Asia/Shanghai, Europe/Berlin)"
            )
        })?;
        Ok(Zone { tz })
    }

    #[cfg(test)]
    pub fn utc() -> Zone {
        Zone { tz: chrono_tz::UTC }
    }

    /// The IANA name (`UTC`, `Asia/Shanghai`).
    pub fn name(&self) -> &'static str {
        self.tz.name()
    }

    /// A `--since`/`--until` value: a day (its midnight in this zone), a time without an
    /// offset (in this zone) or an RFC 3339 time (its own offset).
    pub fn parse_bound(&self, flag: &str, s: &str) -> anyhow::Result<DateTime<Utc>> {
        let s_trim = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s_trim) {
            return Ok(t.with_timezone(&Utc));
        }
        let local = if let Ok(day) = NaiveDate::parse_from_str(s_trim, "%Y-%m-%d") {
            day.and_hms_opt(0, 0, 0)
        } else {
            [
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s_trim, f).ok())
        };
        let Some(local) = local else {
            bail!(
                "{flag} {s:?}: expected a day YYYY-MM-DD, a time YYYY-MM-DDTHH:MM[:SS] (both in {}) \
                 or an RFC 3339 time such as 2025-11-22T10:00:00Z",
                self.name()
            );
        };
        self.local_to_utc(local)
            .with_context(|| format!("{flag} {s:?}: that time does not exist in {}", self.name()))
    }

    /// A command's `--since` and `--until`, read with [`Zone::parse_bound`].
    pub fn window(&self, since: Option<&str>, until: Option<&str>) -> anyhow::Result<Window> {
        Ok((
            since.map(|s| self.parse_bound("--since", s)).transpose()?,
            until.map(|s| self.parse_bound("--until", s)).transpose()?,
        ))
    }

    /// The day in this zone that `t` falls on.
    pub fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// A local time as UTC; the earlier reading when clocks go back.
    pub fn local_to_utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The start of a day in this zone, in UTC (the first existing minute of the day).
    pub fn day_start(&self, day: NaiveDate) -> DateTime<Utc> {
        (0..24 * 60)
            .find_map(|m| {
                let local = day.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(m);
                self.local_to_utc(local)
            })
            .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Zone {
        Zone {
            tz: name.parse().unwrap(),
        }
    }

    #[test]
    fn days_and_local_times_are_read_in_the_zone() {
        let sh = zone("Asia/Shanghai");
        assert_eq!(
            sh.parse_bound("--since", "2025-11-20")
                .unwrap()
                .to_rfc3339(),
            "2025-11-19T16:00:00+00:00"
        );
        assert_eq!(
            sh.parse_bound("--since", "2025-11-20 22:15")
                .unwrap()
                .to_rfc3339(),
            "2025-11-20T14:15:00+00:00"
        );
        assert_eq!(
            Zone::utc()
                .parse_bound("--since", "2025-11-20")
                .unwrap()
                .to_rfc3339(),
            "2025-11-20T00:00:00+00:00"
        );
        // An offset wins over the zone.
        assert_eq!(
            sh.parse_bound("--until", "2025-11-22T10:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2025-11-22T09:00:00+00:00"
        );
        let e = sh
            .parse_bound("--since", "yesterday")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--since") && e.contains("Asia/Shanghai"), "{e}");
    }

    #[test]
    fn a_time_that_clocks_skip_is_an_error_and_days_still_start() {
        let berlin = zone("Europe/Berlin");
        let e = berlin
            .parse_bound("--since", "2025-03-30T02:30")
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        // Havana skips midnight itself on its spring-forward day.
        let havana = zone("America/Havana");
        let day = NaiveDate::from_ymd_opt(2025, 3, 9).unwrap();
        assert_eq!(
            havana.day_start(day).to_rfc3339(),
            "2025-03-09T05:00:00+00:00"
        );
    }

    #[test]
    fn the_flag_wins_over_the_config() {
        let cfg = crate::config::Config::parse("[time]\nzone = \"Asia/Shanghai\"\n").unwrap();
        assert_eq!(Zone::resolve(None, &cfg).unwrap().name(), "Asia/Shanghai");
        assert_eq!(Zone::resolve(Some("UTC"), &cfg).unwrap().name(), "UTC");
        let e = Zone::resolve(Some("Mars/Base"), &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--tz") && e.contains("IANA"), "{e}");
        let old = crate::config::Config::parse("[trends]\ntz = \"Europe/Berlin\"\n").unwrap();
        assert_eq!(Zone::resolve(None, &old).unwrap().name(), "Europe/Berlin");
    }
}

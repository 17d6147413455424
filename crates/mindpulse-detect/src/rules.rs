//! Alert rules, the `[[alerts.rules]]` entries of `mindpulse.toml`: which series to watch
//! (a metric, optionally per group, by day or week) with which detector and parameters, and
//! the fewest posts a bucket needs before it may alert. Checked when the file is loaded; with
//! no rules configured, [`default_rules`] watch volume and every population dimension with
//! the ESSENCE EWMA by day.
//!
//! ```toml
//! [[alerts.rules]]
//! name = "suicide-risk-by-region"
//! metric = "suicide_risk"        # or "volume", "depression", "stress", "substance_use"
//! group_by = "region"            # optional: topic | region | platform | lang
//! by = "day"                     # day (default) | week
//! detector = "ewma"              # c1 | c2 | c3 | ewma | regression | cusum
//! params = { alert_p = 0.01 }    # the detector's parameters (defaults otherwise)
//! min_count = 30                 # fewest posts in a bucket for it to alert (default 20)
//! ```

use crate::{build, Detector, DETECTORS};
use serde::Deserialize;

/// The groups a rule may split its metric by.
pub const GROUPS: &[&str] = &["topic", "region", "platform", "lang"];

/// One rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name; alerts carry it.
    pub name: String,
    /// `volume` or a population dimension.
    pub metric: String,
    #[serde(default)]
    pub group_by: Option<String>,
    /// `day` (default) or `week`.
    #[serde(default)]
    pub by: Option<String>,
    pub detector: String,
    /// The detector's parameters (an inline table).
    #[serde(default)]
    pub params: Option<serde_json::Value>,
    /// Only posts of this platform.
    #[serde(default)]
    pub platform: Option<String>,
    /// Fewest posts in a bucket for it to alert (default 20).
    #[serde(default)]
    pub min_count: Option<u64>,
}

impl Rule {
    /// The bucket length: `day` or `week`.
    pub fn by(&self) -> &str {
        self.by.as_deref().unwrap_or("day")
    }

    pub fn min_count(&self) -> u64 {
        self.min_count.unwrap_or(20)
    }

    /// The rule's detector with its parameters.
    pub fn detector(&self) -> Result<Box<dyn Detector>, crate::DetectError> {
        build(
            &self.detector,
            self.params.as_ref().unwrap_or(&serde_json::Value::Null),
        )
    }

    /// What is wrong with the rule, as (setting, reason).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.name.trim().is_empty() {
            return Err(("name", "must not be empty".into()));
        }
        if self.metric.trim().is_empty() {
            return Err(("metric", "must not be empty (volume or a dimension)".into()));
        }
        if let Some(g) = &self.group_by {
            if !GROUPS.contains(&g.as_str()) {
                return Err((
                    "group_by",
                    format!("{g:?}: expected one of {}", GROUPS.join(", ")),
                ));
            }
        }
        if !matches!(self.by(), "day" | "week") {
            return Err((
                "by",
                format!("{:?}: expected \"day\" or \"week\"", self.by()),
            ));
        }
        if !DETECTORS.contains(&self.detector.as_str()) {
            return Err((
                "detector",
                format!(
                    "{:?}: expected one of {}",
                    self.detector,
                    DETECTORS.join(", ")
                ),
            ));
        }
        self.detector().map_err(|e| ("params", e.to_string()))?;
        Ok(())
    }
}

/// Checks a list of rules (each, and that names are unique): the first problem as
/// (`[[alerts.rules]] #N (name) setting`, reason).
pub fn check_rules(rules: &[Rule]) -> Result<(), (String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        let at = |setting: &str| format!("[[alerts.rules]] #{} ({:?}) {setting}", i + 1, r.name);
        r.check().map_err(|(s, why)| (at(s), why))?;
        if !seen.insert(r.name.as_str()) {
            return Err((at("name"), "another rule has this name".into()));
        }
    }
    Ok(())
}

/// The rules used when none are configured: volume and each population dimension, by
/// day, with the ESSENCE EWMA at its defaults.
pub fn default_rules(dimensions: &[&str]) -> Vec<Rule> {
    std::iter::once("volume")
        .chain(dimensions.iter().copied())
        .map(|metric| Rule {
            name: format!("{metric}-ewma"),
            metric: metric.to_string(),
            group_by: None,
            by: None,
            detector: "ewma".into(),
            params: None,
            platform: None,
            min_count: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml_text: &str) -> Rule {
        let v: serde_json::Value = serde_json::from_str(toml_text).unwrap();
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_valid_rule_builds_its_detector() {
        let r = rule(
            r#"{"name":"r","metric":"stress","group_by":"region","detector":"cusum","params":{"k":0.5,"h":5}}"#,
        );
        assert!(r.check().is_ok());
        assert_eq!(r.by(), "day");
        assert_eq!(r.detector().unwrap().params()["h"], 5.0);
    }

    #[test]
    fn bad_rules_say_which_setting_and_why() {
        let bad = [
            (r#"{"name":"r","metric":"v","detector":"c9"}"#, "detector"),
            (
                r#"{"name":"r","metric":"v","detector":"c1","group_by":"city"}"#,
                "group_by",
            ),
            (
                r#"{"name":"r","metric":"v","detector":"c1","by":"hour"}"#,
                "by",
            ),
            (
                r#"{"name":"r","metric":"v","detector":"ewma","params":{"nope":1}}"#,
                "params",
            ),
            (r#"{"name":" ","metric":"v","detector":"c1"}"#, "name"),
        ];
        for (text, setting) in bad {
            assert_eq!(rule(text).check().unwrap_err().0, setting, "{text}");
        }
        let twice = vec![
            rule(r#"{"name":"a","metric":"v","detector":"c1"}"#),
            rule(r#"{"name":"a","metric":"w","detector":"c2"}"#),
        ];
        let (at, why) = check_rules(&twice).unwrap_err();
        assert!(
            at.contains("#2") && why.contains("another rule"),
            "{at}: {why}"
        );
    }

    #[test]
    fn default_rules_watch_volume_and_each_dimension() {
        let rules = default_rules(&["depression", "stress"]);
        assert_eq!(rules.len(), 3);
        assert!(check_rules(&rules).is_ok());
        assert_eq!(rules[0].metric, "volume");
    }
}

//! Turning a field-mapped record (a JSONL object or a CSV row) into a [`RawPost`]: value
//! conversions shared by every importer, with errors that name the field and its path.

use crate::json::Val;
use crate::options::{Field, FieldMap, ImportOptions};
use crate::weibo::{self, from_epoch, from_epoch_f64};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use mindpulse_core::{PostKind, RawAuthor, RawPost};
use std::borrow::Cow;

/// A record whose fields can be taken by [`Field`] (each field is taken at most once).
pub(crate) trait Record<'a> {
    /// The value of `field`; `Ok(None)` when absent. `Err` describes a broken value.
    fn take(&mut self, field: Field) -> Result<Option<Val<'a>>, String>;
}

/// How a [`FieldMap`] path is shown in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind {
    Json,
    Column,
}

/// A post whose text is empty or only white space is rejected: there is nothing to measure,
/// and it would count in every share's denominator.
pub(crate) fn require_text(post: RawPost) -> Result<RawPost, String> {
    if post.text.trim().is_empty() {
        Err("field \"text\" is empty: a post needs text to be measured".to_string())
    } else {
        Ok(post)
    }
}

/// Builds [`RawPost`]s from records with a [`FieldMap`] (the `jsonl` and `csv` formats).
#[derive(Debug, Clone)]
pub(crate) struct Mapper {
    map: FieldMap,
    path_kind: PathKind,
    platform: Option<String>,
    tz: Option<Tz>,
    now: DateTime<Utc>,
}

impl Mapper {
    pub(crate) fn new(opts: &ImportOptions, path_kind: PathKind) -> Self {
        Mapper {
            map: opts.map.clone(),
            path_kind,
            platform: opts.platform.clone(),
            tz: opts.tz,
            now: opts.now,
        }
    }

    /// `field "created_at" (path "meta.ts")`.
    fn describe(&self, field: Field) -> String {
        let word = match self.path_kind {
            PathKind::Json => "path",
            PathKind::Column => "column",
        };
        format!("field \"{field}\" ({word} {:?})", self.map.path(field))
    }

    fn get<'a>(&self, rec: &mut impl Record<'a>, field: Field) -> Result<Option<Val<'a>>, String> {
        match rec.take(field) {
            Ok(Some(Val::Null)) | Ok(None) => Ok(None),
            Ok(Some(v)) => Ok(Some(v)),
            Err(e) => Err(format!("{}: {e}", self.describe(field))),
        }
    }

    /// Takes `field` and converts it; errors name the field and its path.
    fn conv<'a, T>(
        &self,
        rec: &mut impl Record<'a>,
        field: Field,
        f: impl FnOnce(Val<'a>) -> Result<Option<T>, String>,
    ) -> Result<Option<T>, String> {
        match self.get(rec, field)? {
            None => Ok(None),
            Some(v) => f(v).map_err(|e| format!("{}: {e}", self.describe(field))),
        }
    }

    /// The post in `rec`, or why it cannot be accepted.
    pub(crate) fn build<'a>(&self, rec: &mut impl Record<'a>) -> Result<RawPost, String> {
        let text = self
            .conv(rec, Field::Text, |v| as_text(v).map(Some))?
            .ok_or_else(|| format!("missing {}", self.describe(Field::Text)))?;
        let platform = match self.conv(rec, Field::Platform, as_string)? {
            Some(p) => p,
            None => self.platform.clone().ok_or_else(|| {
                format!(
                    "missing {}: name the platform in each record or pass --platform",
                    self.describe(Field::Platform)
                )
            })?,
        };
        let now = self.now;
        let tz = self.tz.unwrap_or(if platform == "weibo" {
            chrono_tz::Asia::Shanghai
        } else {
            chrono_tz::UTC
        });
        let parent_id = self.conv(rec, Field::ParentId, as_id)?;
        let kind = match self.conv(rec, Field::Kind, as_string)? {
            Some(k) => k
                .parse::<PostKind>()
                .map_err(|e| format!("{}: {e}", self.describe(Field::Kind)))?,
            None if parent_id.is_some() => PostKind::Comment,
            None => PostKind::Post,
        };
        Ok(RawPost {
            platform,
            platform_id: self.conv(rec, Field::Id, as_id)?,
            kind,
            parent_id,
            root_id: self.conv(rec, Field::RootId, as_id)?,
            author: self.author(rec)?,
            text,
            lang: self.conv(rec, Field::Lang, as_string)?,
            created_at: self.conv(rec, Field::CreatedAt, |v| as_time(v, now, tz))?,
            topics: self.conv(rec, Field::Topic, as_topics)?.unwrap_or_default(),
            repost_count: self.conv(rec, Field::RepostCount, as_count)?,
            comment_count: self.conv(rec, Field::CommentCount, as_count)?,
            like_count: self.conv(rec, Field::LikeCount, as_count)?,
            region: self.conv(rec, Field::Region, as_string)?,
            raw: None,
            origin: Default::default(),
        })
    }

    /// The author: an id (or, lacking one, the screen name as id) plus facts.
    fn author<'a>(&self, rec: &mut impl Record<'a>) -> Result<Option<RawAuthor>, String> {
        let id = self.conv(rec, Field::Author, as_id)?;
        let screen_name = self.conv(rec, Field::AuthorName, as_string)?;
        let followers = self.conv(rec, Field::Followers, as_count)?;
        let verified_type = self.conv(rec, Field::VerifiedType, as_verified_type)?;
        let Some(id) = id.or_else(|| screen_name.clone()) else {
            return Ok(None);
        };
        Ok(Some(RawAuthor {
            id,
            screen_name,
            verified_type,
            followers,
            region: None,
        }))
    }
}

fn expected(what: &str, v: &Val) -> String {
    format!("expected {what}, found {}", v.kind())
}

fn trimmed(s: Cow<'_, str>) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s.into_owned())
    } else {
        Some(t.to_string())
    }
}

/// The post text: a string, kept as is.
pub(crate) fn as_text(v: Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.into_owned()),
        other => Err(expected("a string", &other)),
    }
}

/// A platform id: a string or an integer; empty means absent.
pub(crate) fn as_id(v: Val) -> Result<Option<String>, String> {
    match v {
        Val::Str(s) => Ok(trimmed(s)),
        Val::Int(n) => Ok(Some(n.to_string())),
        Val::BigUint(n) => Ok(Some(n.to_string())),
        Val::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some((f as i64).to_string())),
        other => Err(expected("a string or an integer id", &other)),
    }
}

/// A short string (language, region, platform, name, kind); numbers are accepted.
pub(crate) fn as_string(v: Val) -> Result<Option<String>, String> {
    match v {
        Val::Str(s) => Ok(trimmed(s)),
        Val::Int(n) => Ok(Some(n.to_string())),
        Val::BigUint(n) => Ok(Some(n.to_string())),
        other => Err(expected("a string", &other)),
    }
}

/// A count: a whole number, or a string [`weibo::parse_count`] understands.
pub(crate) fn as_count(v: Val) -> Result<Option<i64>, String> {
    match v {
        Val::Int(n) => Ok(Some(n)),
        Val::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Some(f as i64)),
        Val::Str(s) if s.trim().is_empty() => Ok(None),
        Val::Str(s) => weibo::parse_count(&s).map(Some).map_err(|e| e.to_string()),
        Val::BigUint(n) => Err(format!("count {n} is out of range")),
        other => Err(expected("a whole number", &other)),
    }
}

/// A time: Unix seconds/milliseconds, or a string [`weibo::parse_time`] understands.
pub(crate) fn as_time(v: Val, now: DateTime<Utc>, tz: Tz) -> Result<Option<DateTime<Utc>>, String> {
    let out_of_range = |x: &dyn std::fmt::Display| format!("timestamp {x} is out of range");
    match v {
        Val::Int(n) => from_epoch(n).map(Some).ok_or_else(|| out_of_range(&n)),
        Val::Float(f) => from_epoch_f64(f).map(Some).ok_or_else(|| out_of_range(&f)),
        Val::Str(s) if s.trim().is_empty() => Ok(None),
        Val::Str(s) => weibo::parse_time(&s, now, tz)
            .map(Some)
            .map_err(|e| e.to_string()),
        other => Err(expected("a time string or a Unix timestamp", &other)),
    }
}

/// Topics: an array of strings, or one string split on `,` or `;`.
pub(crate) fn as_topics(v: Val) -> Result<Option<Vec<String>>, String> {
    let mut topics = Vec::new();
    match v {
        Val::Str(s) => split_topics(&s, &mut topics),
        Val::Int(n) => topics.push(n.to_string()),
        Val::List(items) => {
            for item in items {
                match item {
                    Val::Str(s) => push_topic(&s, &mut topics),
                    Val::Int(n) => push_topic(&n.to_string(), &mut topics),
                    Val::Null => {}
                    other => {
                        return Err(format!(
                            "expected an array of strings, found {} in it",
                            other.kind()
                        ))
                    }
                }
            }
        }
        other => return Err(expected("a string or an array of strings", &other)),
    }
    Ok(Some(topics))
}

/// Splits `a, #b#; c` into topics (also on full-width `，` `；`).
pub(crate) fn split_topics(s: &str, out: &mut Vec<String>) {
    for part in s.split([',', ';', '，', '；']) {
        push_topic(part, out);
    }
}

fn push_topic(raw: &str, out: &mut Vec<String>) {
    let mut t = raw.trim();
    if t.starts_with('#') || t.ends_with('#') {
        t = t.trim_matches('#').trim();
    }
    if !t.is_empty() && !out.iter().any(|x| x == t) {
        out.push(t.to_string());
    }
}

/// Weibo's `verified_type`: a number, a numeric string, or a label such as `蓝V`
/// (see [`weibo::verified_type_from_label`]). Unknown labels are dropped, not rejected.
pub(crate) fn as_verified_type(v: Val) -> Result<Option<i64>, String> {
    match v {
        Val::Int(n) => Ok(Some(n)),
        Val::Str(s) if s.trim().is_empty() => Ok(None),
        Val::Str(s) => {
            let t = weibo::verified_type_from_label(&s);
            if t.is_none() {
                tracing::debug!(label = %s, "unknown verification label; verified_type left empty");
            }
            Ok(t)
        }
        other => Err(expected("a number or a verification label", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A record over a map of field → value.
    struct MapRecord<'a>(HashMap<Field, Val<'a>>);

    impl<'a> Record<'a> for MapRecord<'a> {
        fn take(&mut self, field: Field) -> Result<Option<Val<'a>>, String> {
            Ok(self.0.remove(&field))
        }
    }

    fn rec(pairs: Vec<(Field, Val<'static>)>) -> MapRecord<'static> {
        MapRecord(pairs.into_iter().collect())
    }

    fn mapper() -> Mapper {
        Mapper::new(
            &ImportOptions {
                platform: Some("forum".into()),
                ..Default::default()
            },
            PathKind::Json,
        )
    }

    #[test]
    fn a_record_without_a_platform_needs_one() {
        let m = Mapper::new(&ImportOptions::default(), PathKind::Json);
        let err = m
            .build(&mut rec(vec![(Field::Text, Val::Str("x".into()))]))
            .unwrap_err();
        assert!(
            err.contains("platform") && err.contains("--platform"),
            "{err}"
        );
        let p = m
            .build(&mut rec(vec![
                (Field::Text, Val::Str("x".into())),
                (Field::Platform, Val::Str("mastodon".into())),
            ]))
            .unwrap();
        assert_eq!(p.platform, "mastodon");
    }

    #[test]
    fn times_without_an_offset_follow_the_platform_or_tz() {
        let at = |platform: &str, tz: Option<Tz>| {
            let m = Mapper::new(
                &ImportOptions {
                    tz,
                    ..Default::default()
                },
                PathKind::Column,
            );
            m.build(&mut rec(vec![
                (Field::Text, Val::Str("x".into())),
                (Field::Platform, Val::Str(platform.to_string().into())),
                (Field::CreatedAt, Val::Str("2025-11-20 22:15".into())),
            ]))
            .unwrap()
            .created_at
            .unwrap()
            .to_rfc3339()
        };
        // Weibo shows Beijing time; other platforms are read as UTC unless --tz says.
        assert_eq!(at("weibo", None), "2025-11-20T14:15:00+00:00");
        assert_eq!(at("forum", None), "2025-11-20T22:15:00+00:00");
        assert_eq!(
            at("forum", Some(chrono_tz::Europe::Berlin)),
            "2025-11-20T21:15:00+00:00"
        );
        assert_eq!(
            at("weibo", Some(chrono_tz::UTC)),
            "2025-11-20T22:15:00+00:00"
        );
        // An offset in the value wins.
        let m = Mapper::new(&ImportOptions::default(), PathKind::Column);
        let p = m
            .build(&mut rec(vec![
                (Field::Text, Val::Str("x".into())),
                (Field::Platform, Val::Str("weibo".into())),
                (Field::CreatedAt, Val::Str("2025-11-20T22:15:00Z".into())),
            ]))
            .unwrap();
        assert_eq!(
            p.created_at.unwrap().to_rfc3339(),
            "2025-11-20T22:15:00+00:00"
        );
    }

    #[test]
    fn empty_text_is_rejected() {
        let p = mapper()
            .build(&mut rec(vec![(Field::Text, Val::Str(" \n ".into()))]))
            .unwrap();
        let err = require_text(p).unwrap_err();
        assert!(err.contains("\"text\" is empty"), "{err}");
    }

    #[test]
    fn builds_a_full_post() {
        let mut r = rec(vec![
            (Field::Text, Val::Str("hello".into())),
            (Field::Id, Val::Int(42)),
            (Field::Author, Val::Str("u1".into())),
            (Field::AuthorName, Val::Str("Ann".into())),
            (Field::CreatedAt, Val::Int(1_700_000_000)),
            (
                Field::Topic,
                Val::List(vec![Val::Str("a".into()), Val::Str("#b#".into())]),
            ),
            (Field::LikeCount, Val::Str("1.2万".into())),
            (Field::Followers, Val::Int(10)),
            (Field::VerifiedType, Val::Str("蓝V".into())),
            (Field::Lang, Val::Str(" en ".into())),
        ]);
        let p = mapper().build(&mut r).unwrap();
        assert_eq!(p.text, "hello");
        assert_eq!(p.platform, "forum");
        assert_eq!(p.platform_id.as_deref(), Some("42"));
        assert_eq!(p.kind, PostKind::Post);
        assert_eq!(p.topics, vec!["a", "b"]);
        assert_eq!(p.like_count, Some(12_000));
        assert_eq!(p.lang.as_deref(), Some("en"));
        assert_eq!(p.created_at.unwrap().timestamp(), 1_700_000_000);
        let a = p.author.unwrap();
        assert_eq!(
            (a.id.as_str(), a.screen_name.as_deref()),
            ("u1", Some("Ann"))
        );
        assert_eq!((a.followers, a.verified_type), (Some(10), Some(1)));
    }

    #[test]
    fn kind_defaults_from_parent_and_parses_names() {
        let mut r = rec(vec![
            (Field::Text, Val::Str("x".into())),
            (Field::ParentId, Val::Str("p".into())),
        ]);
        assert_eq!(mapper().build(&mut r).unwrap().kind, PostKind::Comment);
        let mut r = rec(vec![
            (Field::Text, Val::Str("x".into())),
            (Field::Kind, Val::Str("retweet".into())),
        ]);
        assert_eq!(mapper().build(&mut r).unwrap().kind, PostKind::Repost);
        let mut r = rec(vec![
            (Field::Text, Val::Str("x".into())),
            (Field::Kind, Val::Str("video".into())),
        ]);
        let err = mapper().build(&mut r).unwrap_err();
        assert!(err.contains("field \"kind\""), "{err}");
    }

    #[test]
    fn errors_name_field_path_and_value() {
        let m = Mapper::new(
            &ImportOptions {
                map: FieldMap::parse("text=data.0.text,created_at=meta.ts").unwrap(),
                platform: Some("forum".into()),
                ..Default::default()
            },
            PathKind::Json,
        );
        let err = m.build(&mut rec(vec![])).unwrap_err();
        assert_eq!(err, "missing field \"text\" (path \"data.0.text\")");
        let err = m
            .build(&mut rec(vec![
                (Field::Text, Val::Str("x".into())),
                (Field::CreatedAt, Val::Str("someday".into())),
            ]))
            .unwrap_err();
        assert!(
            err.starts_with("field \"created_at\" (path \"meta.ts\"): invalid time (7 characters)"),
            "{err}"
        );
        let err = m
            .build(&mut rec(vec![
                (Field::Text, Val::Str("x".into())),
                (Field::LikeCount, Val::Str("many".into())),
            ]))
            .unwrap_err();
        assert!(
            err.contains(
                "field \"like_count\" (path \"like_count\"): invalid count (4 characters)"
            ),
            "{err}"
        );
        let err = m
            .build(&mut rec(vec![(Field::Text, Val::Int(3))]))
            .unwrap_err();
        assert!(err.contains("expected a string, found a number"), "{err}");
    }

    #[test]
    fn author_falls_back_to_screen_name_and_null_is_absent() {
        let mut r = rec(vec![
            (Field::Text, Val::Str("x".into())),
            (Field::AuthorName, Val::Str("bob".into())),
        ]);
        let a = mapper().build(&mut r).unwrap().author.unwrap();
        assert_eq!(a.id, "bob");
        let mut r = rec(vec![
            (Field::Text, Val::Str("x".into())),
            (Field::Author, Val::Null),
            (Field::Id, Val::Str(" ".into())),
        ]);
        let p = mapper().build(&mut r).unwrap();
        assert!(p.author.is_none());
        assert!(p.platform_id.is_none());
    }

    #[test]
    fn conversions() {
        assert_eq!(as_id(Val::Float(12.0)).unwrap(), Some("12".into()));
        assert!(as_id(Val::Float(1.5)).is_err());
        assert!(as_id(Val::Object).is_err());
        assert_eq!(as_count(Val::Float(3.0)).unwrap(), Some(3));
        assert_eq!(as_count(Val::Str("".into())).unwrap(), None);
        assert!(as_count(Val::Bool(true)).is_err());
        let mut t = Vec::new();
        split_topics("抑郁, #焦虑#;睡眠，抑郁", &mut t);
        assert_eq!(t, vec!["抑郁", "焦虑", "睡眠"]);
        assert_eq!(as_verified_type(Val::Str("紫V".into())).unwrap(), None);
        assert_eq!(
            as_time(Val::Float(1_700_000_000.5), Utc::now(), chrono_tz::UTC)
                .unwrap()
                .unwrap()
                .timestamp_millis(),
            1_700_000_000_500
        );
    }
}

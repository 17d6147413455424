//! Import options and the `--map field=path,…` field map.

use crate::error::CollectError;
use chrono::{DateTime, FixedOffset, Utc};
use std::fmt;
use std::str::FromStr;

/// A `RawPost` field an import can fill from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Id,
    Text,
    Author,
    AuthorName,
    CreatedAt,
    Lang,
    Topic,
    ParentId,
    RootId,
    Kind,
    Platform,
    Region,
    RepostCount,
    CommentCount,
    LikeCount,
    Followers,
    VerifiedType,
}

/// How many [`Field`]s there are.
pub const FIELD_COUNT: usize = 17;

impl Field {
    /// Every field, in declaration order (`Field::ALL[f as usize] == f`).
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::Id,
        Field::Text,
        Field::Author,
        Field::AuthorName,
        Field::CreatedAt,
        Field::Lang,
        Field::Topic,
        Field::ParentId,
        Field::RootId,
        Field::Kind,
        Field::Platform,
        Field::Region,
        Field::RepostCount,
        Field::CommentCount,
        Field::LikeCount,
        Field::Followers,
        Field::VerifiedType,
    ];

    /// The name used in `--map` (and the default path / column).
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Text => "text",
            Field::Author => "author",
            Field::AuthorName => "author_name",
            Field::CreatedAt => "created_at",
            Field::Lang => "lang",
            Field::Topic => "topic",
            Field::ParentId => "parent_id",
            Field::RootId => "root_id",
            Field::Kind => "kind",
            Field::Platform => "platform",
            Field::Region => "region",
            Field::RepostCount => "repost_count",
            Field::CommentCount => "comment_count",
            Field::LikeCount => "like_count",
            Field::Followers => "followers",
            Field::VerifiedType => "verified_type",
        }
    }

    /// The field called `name`, if any.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// `id, text, author, …` for error messages.
    pub fn valid_names() -> String {
        Field::ALL.map(Field::name).join(", ")
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where each field is found in a record: a dot-separated JSON path (`user.id`,
/// `data.0.text`, numeric segments index arrays) for JSONL, a column name for CSV.
/// Unmapped fields are looked up under their own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    paths: [String; FIELD_COUNT],
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            paths: Field::ALL.map(|f| f.name().to_string()),
        }
    }
}

impl FieldMap {
    /// Parses `--map field=path,field=path`. Empty means all defaults.
    pub fn parse(spec: &str) -> Result<FieldMap, CollectError> {
        let mut map = FieldMap::default();
        let mut seen = [false; FIELD_COUNT];
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |reason: String| CollectError::Map {
                entry: entry.to_string(),
                reason,
            };
            let (name, path) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected field=path".into()))?;
            let (name, path) = (name.trim(), path.trim());
            let field = Field::from_name(name).ok_or_else(|| {
                bad(format!(
                    "unknown field {name:?}; valid fields: {}",
                    Field::valid_names()
                ))
            })?;
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return Err(bad("empty path".into()));
            }
            if std::mem::replace(&mut seen[field as usize], true) {
                return Err(bad(format!("field {name:?} is mapped twice")));
            }
            map.paths[field as usize] = path.to_string();
        }
        Ok(map)
    }

    /// The path (JSONL) or column name (CSV) of `field`.
    pub fn path(&self, field: Field) -> &str {
        &self.paths[field as usize]
    }

    /// Maps `field` to `path`.
    pub fn set(&mut self, field: Field, path: impl Into<String>) {
        self.paths[field as usize] = path.into();
    }
}

impl FromStr for FieldMap {
    type Err = CollectError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldMap::parse(s)
    }
}

/// How a file is imported.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Platform for records that do not name one (JSONL/CSV); such a record is rejected
    /// when `None`.
    pub platform: Option<String>,
    /// Where fields are found (JSONL/CSV only; Reddit and weibo-search have fixed layouts).
    pub map: FieldMap,
    /// Keep the parsed source record in `RawPost::raw`.
    pub keep_raw: bool,
    /// Longest record accepted, in bytes; longer ones are skipped as rejects.
    pub max_record_bytes: usize,
    /// Time zone of times written without an offset in JSONL/CSV. `None`: Asia/Shanghai
    /// for records of platform `weibo` (Weibo shows Beijing time), UTC for any other.
    /// weibo-search CSV is always Beijing time; Reddit times are Unix seconds.
    pub tz: Option<chrono_tz::Tz>,
    /// "Now" for relative times (`5分钟前`).
    pub now: DateTime<Utc>,
}

/// Default for [`ImportOptions::max_record_bytes`]: 8 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 8 << 20;

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            platform: None,
            map: FieldMap::default(),
            keep_raw: false,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            tz: None,
            now: Utc::now(),
        }
    }
}

/// UTC+8, the timezone Weibo shows times in.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+8h is a valid offset"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_field_names() {
        let m = FieldMap::default();
        assert_eq!(m.path(Field::Text), "text");
        assert_eq!(m.path(Field::ParentId), "parent_id");
        assert_eq!(m.path(Field::VerifiedType), "verified_type");
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i);
            assert_eq!(Field::from_name(f.name()), Some(*f));
        }
    }

    #[test]
    fn parses_map_entries() {
        let m =
            FieldMap::parse(" text = data.0.text , author=user.id,created_at=meta.ts ").unwrap();
        assert_eq!(m.path(Field::Text), "data.0.text");
        assert_eq!(m.path(Field::Author), "user.id");
        assert_eq!(m.path(Field::CreatedAt), "meta.ts");
        assert_eq!(m.path(Field::Id), "id");
        assert_eq!(FieldMap::parse("").unwrap(), FieldMap::default());
        assert_eq!(
            "text=body".parse::<FieldMap>().unwrap().path(Field::Text),
            "body"
        );
    }

    #[test]
    fn unknown_field_lists_valid_ones() {
        let err = FieldMap::parse("txt=body").unwrap_err().to_string();
        assert!(err.contains("\"txt\""), "{err}");
        assert!(err.contains("id, text, author, author_name"), "{err}");
        assert!(err.contains("verified_type"), "{err}");
    }

    #[test]
    fn malformed_entries_are_errors() {
        assert!(FieldMap::parse("text").is_err());
        assert!(FieldMap::parse("text=").is_err());
        assert!(FieldMap::parse("text=a..b").is_err());
        assert!(FieldMap::parse("text=a,text=b").is_err());
    }

    #[test]
    fn default_options() {
        let o = ImportOptions::default();
        assert_eq!(o.max_record_bytes, 8 * 1024 * 1024);
        assert_eq!(o.tz, None);
        assert!(!o.keep_raw);
    }
}

//! The `jsonl` format: one JSON object per line, fields found through the [`FieldMap`].

use crate::json::{self, child, empty_slots, extract, val_of, RootKey, Slot, Slots, Val};
use crate::line_source::LineParser;
use crate::mapping::{Mapper, PathKind, Record};
use crate::options::{Field, FieldMap, ImportOptions, FIELD_COUNT};
use mindpulse_core::RawPost;

// Every field may need its own top-level key.
const _: () = assert!(FIELD_COUNT <= json::MAX_ROOTS);

/// Where one field lives: a top-level key and the rest of its path.
#[derive(Debug, Clone)]
struct FieldPlan {
    root: usize,
    rest: Vec<String>,
}

/// A [`FieldMap`] compiled for extraction: the distinct top-level keys and, per field,
/// which key and sub-path it reads.
#[derive(Debug, Clone)]
pub(crate) struct JsonPlan {
    roots: Vec<RootKey>,
    fields: Vec<FieldPlan>,
}

impl JsonPlan {
    pub(crate) fn new(map: &FieldMap) -> Self {
        let mut roots: Vec<RootKey> = Vec::new();
        let mut users = Vec::new();
        let fields = Field::ALL
            .iter()
            .map(|&f| {
                let mut segs = map.path(f).split('.');
                let first = segs.next().unwrap_or_default();
                let rest: Vec<String> = segs.map(str::to_string).collect();
                let root = match roots.iter().position(|r| r.name == first) {
                    Some(i) => i,
                    None => {
                        roots.push(RootKey {
                            name: first.to_string(),
                            raw: false,
                        });
                        users.push(0);
                        roots.len() - 1
                    }
                };
                users[root] += 1;
                // A key read by a sub-path, or by two fields, stays raw: slots of
                // parsed values are taken (moved out) by their one reader.
                if !rest.is_empty() || users[root] > 1 {
                    roots[root].raw = true;
                }
                FieldPlan { root, rest }
            })
            .collect();
        JsonPlan { roots, fields }
    }
}

/// One parsed JSON line seen through a plan.
struct JsonRecord<'a, 'p> {
    slots: Slots<'a>,
    plan: &'p JsonPlan,
}

impl<'a> Record<'a> for JsonRecord<'a, '_> {
    fn take(&mut self, field: Field) -> Result<Option<Val<'a>>, String> {
        let fp = &self.plan.fields[field as usize];
        let slot = &mut self.slots[fp.root];
        let raw = match slot {
            None => return Ok(None),
            Some(Slot::Raw(raw)) => *raw,
            Some(Slot::Val(_)) => match slot.take() {
                Some(Slot::Val(v)) if fp.rest.is_empty() => return Ok(Some(v)),
                _ => return Ok(None),
            },
        };
        let mut cur = raw;
        for seg in &fp.rest {
            match child(cur, seg) {
                Ok(Some(next)) => cur = next,
                Ok(None) => return Ok(None),
                Err(e) => return Err(json::describe_error(&e)),
            }
        }
        val_of(cur).map(Some).map_err(|e| json::describe_error(&e))
    }
}

/// Parses `jsonl` lines.
pub(crate) struct JsonlParser {
    plan: JsonPlan,
    mapper: Mapper,
    keep_raw: bool,
}

impl JsonlParser {
    pub(crate) fn new(opts: &ImportOptions) -> Self {
        JsonlParser {
            plan: JsonPlan::new(&opts.map),
            mapper: Mapper::new(opts, PathKind::Json),
            keep_raw: opts.keep_raw,
        }
    }
}

impl LineParser for JsonlParser {
    fn parse(&mut self, line: &str) -> Result<RawPost, String> {
        let mut rec = JsonRecord {
            slots: empty_slots(),
            plan: &self.plan,
        };
        extract(line, &self.plan.roots, &mut rec.slots).map_err(|e| json::describe_error(&e))?;
        let mut post = self.mapper.build(&mut rec)?;
        if self.keep_raw {
            post.raw = serde_json::from_str(line).ok();
        }
        Ok(post)
    }

    fn format_name(&self) -> &'static str {
        "jsonl"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mindpulse_core::PostKind;

    fn parse(opts: &ImportOptions, line: &str) -> Result<RawPost, String> {
        JsonlParser::new(opts).parse(line)
    }

    #[test]
    fn plan_marks_shared_and_nested_roots_raw() {
        let map = FieldMap::parse("author=user.id,author_name=user.name,text=body").unwrap();
        let plan = JsonPlan::new(&map);
        let user = plan.roots.iter().find(|r| r.name == "user").unwrap();
        assert!(user.raw);
        let body = plan.roots.iter().find(|r| r.name == "body").unwrap();
        assert!(!body.raw);
        let plan = JsonPlan::new(&FieldMap::parse("text=x,id=x").unwrap());
        assert!(plan.roots.iter().find(|r| r.name == "x").unwrap().raw);
    }

    #[test]
    fn default_fields() {
        let p = parse(
            &ImportOptions {
                platform: Some("forum".into()),
                ..Default::default()
            },
            r#"{"id":"a1","text":"hi there","author":77,"created_at":"2025-11-22T10:00:00Z","lang":"en","topic":"x;y","parent_id":9,"like_count":"1,234","extra":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(p.platform_id.as_deref(), Some("a1"));
        assert_eq!(p.text, "hi there");
        assert_eq!(p.author.as_ref().unwrap().id, "77");
        assert_eq!(p.kind, PostKind::Comment);
        assert_eq!(p.parent_id.as_deref(), Some("9"));
        assert_eq!(p.topics, vec!["x", "y"]);
        assert_eq!(p.like_count, Some(1234));
        assert_eq!(p.platform, "forum");
        assert!(p.raw.is_none());
    }

    #[test]
    fn nested_map_and_keep_raw() {
        let opts = ImportOptions {
            map: FieldMap::parse("text=data.0.text,author=user.id,author_name=user.name,created_at=meta.ts,topic=tags")
                .unwrap(),
            keep_raw: true,
            platform: Some("forum".into()),
            ..Default::default()
        };
        let line = r#"{"data":[{"text":"nested \"quoted\""}],"user":{"id":5,"name":"N"},"meta":{"ts":1700000000123},"tags":["a","b"]}"#;
        let p = parse(&opts, line).unwrap();
        assert_eq!(p.text, "nested \"quoted\"");
        let a = p.author.unwrap();
        assert_eq!((a.id.as_str(), a.screen_name.as_deref()), ("5", Some("N")));
        assert_eq!(p.created_at.unwrap().timestamp_millis(), 1_700_000_000_123);
        assert_eq!(p.topics, vec!["a", "b"]);
        assert_eq!(p.platform, "forum");
        assert_eq!(p.raw.unwrap()["user"]["name"], "N");
    }

    #[test]
    fn record_platform_wins() {
        let p = parse(
            &ImportOptions::default(),
            r#"{"text":"x","platform":"mastodon"}"#,
        )
        .unwrap();
        assert_eq!(p.platform, "mastodon");
    }

    #[test]
    fn errors() {
        let opts = ImportOptions {
            map: FieldMap::parse("text=data.0.text").unwrap(),
            platform: Some("forum".into()),
            ..Default::default()
        };
        assert_eq!(
            parse(&opts, r#"{"data":[]}"#).unwrap_err(),
            "missing field \"text\" (path \"data.0.text\")"
        );
        let err = parse(&opts, r#"{"data":[{"text":"x"}],"created_at":"nope"}"#).unwrap_err();
        assert!(
            err.contains("field \"created_at\" (path \"created_at\"): invalid time (4 characters)"),
            "{err}"
        );
        let err = parse(&opts, r#"{"data":[{"text":"x"}"#).unwrap_err();
        assert!(err.starts_with("incomplete JSON"), "{err}");
        let err = parse(&opts, r#"[1]"#).unwrap_err();
        assert!(err.contains("expected a JSON object"), "{err}");
    }
}

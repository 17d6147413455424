//! Borrowed, allocation-light JSON field extraction.
//!
//! A record is parsed once: the wanted top-level keys are kept (strings borrowed from the
//! line when they have no escapes), everything else is skipped without building a
//! `serde_json::Value`. Keys that lead into nested paths (`user.id`, `data.0.text`) are
//! kept as `&RawValue` and descended only when a field asks for them.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A JSON value as the importers need it: scalars, lists of values, or "some object".
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX`.
    BigUint(u64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Vec<Val<'a>>),
    Object,
}

impl Val<'_> {
    /// What kind of value this is, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Int(_) | Val::BigUint(_) | Val::Float(_) => "a number",
            Val::Str(_) => "a string",
            Val::List(_) => "an array",
            Val::Object => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_none<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Val<'de>, E> {
        Ok(Val::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Val<'de>, E> {
        Ok(i64::try_from(v).map_or(Val::BigUint(v), Val::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Val<'de>, E> {
        Ok(Val::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Val<'de>>()? {
            items.push(v);
        }
        Ok(Val::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Val::Object)
    }
}

/// A wanted top-level key, and whether it is kept raw (for nested paths or shared use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RootKey {
    pub name: String,
    pub raw: bool,
}

/// The value kept for a wanted top-level key.
#[derive(Debug)]
pub(crate) enum Slot<'a> {
    Val(Val<'a>),
    Raw(&'a RawValue),
}

/// The most top-level keys one extraction can want.
pub(crate) const MAX_ROOTS: usize = 17;

/// Slots for one record, indexed like the keys.
pub(crate) type Slots<'a> = [Option<Slot<'a>>; MAX_ROOTS];

/// Empty slots.
pub(crate) fn empty_slots<'a>() -> Slots<'a> {
    [const { None }; MAX_ROOTS]
}

/// Parses the JSON object in `json`, filling `slots[i]` with the value of `keys[i]`
/// (the last one wins for duplicate keys). Fails on invalid JSON or a non-object.
pub(crate) fn extract<'a>(
    json: &'a str,
    keys: &[RootKey],
    slots: &mut Slots<'a>,
) -> Result<(), serde_json::Error> {
    debug_assert!(keys.len() <= MAX_ROOTS);
    let mut de = serde_json::Deserializer::from_str(json);
    de.deserialize_map(TopVisitor { keys, slots })?;
    de.end()
}

struct TopVisitor<'k, 's, 'a> {
    keys: &'k [RootKey],
    slots: &'s mut Slots<'a>,
}

impl<'de> Visitor<'de> for TopVisitor<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(found) = map.next_key_seed(KeyIndex(self.keys))? {
            match found {
                Some(i) if self.keys[i].raw => {
                    self.slots[i] = Some(Slot::Raw(map.next_value::<&'de RawValue>()?));
                }
                Some(i) => self.slots[i] = Some(Slot::Val(map.next_value::<Val<'de>>()?)),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl AsRef<str> for RootKey {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// Deserializes a map key into its index among the wanted keys, without allocating.
struct KeyIndex<'k, K>(&'k [K]);

impl<'de, K: AsRef<str>> DeserializeSeed<'de> for KeyIndex<'_, K> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<K: AsRef<str>> Visitor<'_> for KeyIndex<'_, K> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        // Length and first byte first: most keys differ there, and it saves a memcmp call.
        let first = v.as_bytes().first();
        Ok(self.0.iter().position(|k| {
            let k = k.as_ref();
            k.len() == v.len() && k.as_bytes().first() == first && k == v
        }))
    }
}

/// The member `seg` of an object, or element `seg` (a number) of an array; `None` when
/// absent or when `raw` is neither.
pub(crate) fn child<'a>(
    raw: &'a RawValue,
    seg: &str,
) -> Result<Option<&'a RawValue>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    de.deserialize_any(ChildVisitor { seg })
}

struct ChildVisitor<'s> {
    seg: &'s str,
}

impl<'de> Visitor<'de> for ChildVisitor<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let want = self.seg.parse::<usize>().ok();
        let mut found = None;
        let mut i = 0;
        loop {
            if Some(i) == want {
                match seq.next_element::<&'de RawValue>()? {
                    Some(v) => found = Some(v),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(hit) = map.next_key_seed(KeyIndex(&[self.seg]))? {
            if hit.is_some() {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The [`Val`] of a raw JSON value.
pub(crate) fn val_of(raw: &RawValue) -> Result<Val<'_>, serde_json::Error> {
    serde_json::from_str(raw.get())
}

/// Describes a JSON syntax error briefly (`expected value at column 12`).
pub(crate) fn describe_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "incomplete JSON",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected JSON",
        Category::Io => "read error",
    };
    format!("{what}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[(&str, bool)]) -> Vec<RootKey> {
        names
            .iter()
            .map(|(n, raw)| RootKey {
                name: n.to_string(),
                raw: *raw,
            })
            .collect()
    }

    #[test]
    fn extracts_wanted_keys_borrowing_strings() {
        let line = r#"{"id": 12, "skip": {"deep": [1, 2, {"x": "y"}]}, "text": "hi", "t2": "a\nb", "user": {"id": "u1"}}"#;
        let k = keys(&[
            ("text", false),
            ("id", false),
            ("user", true),
            ("t2", false),
            ("none", false),
        ]);
        let mut slots = empty_slots();
        extract(line, &k, &mut slots).unwrap();
        match &slots[0] {
            Some(Slot::Val(Val::Str(Cow::Borrowed("hi")))) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(slots[1], Some(Slot::Val(Val::Int(12)))));
        let Some(Slot::Raw(user)) = slots[2] else {
            panic!()
        };
        let id = child(user, "id").unwrap().unwrap();
        assert_eq!(val_of(id).unwrap(), Val::Str("u1".into()));
        assert!(matches!(&slots[3], Some(Slot::Val(Val::Str(Cow::Owned(s)))) if s == "a\nb"));
        assert!(slots[4].is_none());
    }

    #[test]
    fn descends_into_arrays_and_objects() {
        let line = r#"{"data": [{"text": "zero"}, {"text": "one", "n": [1, 2.5, "x"]}]}"#;
        let k = keys(&[("data", true)]);
        let mut slots = empty_slots();
        extract(line, &k, &mut slots).unwrap();
        let Some(Slot::Raw(data)) = slots[0] else {
            panic!()
        };
        let one = child(data, "1").unwrap().unwrap();
        assert_eq!(
            val_of(child(one, "text").unwrap().unwrap()).unwrap(),
            Val::Str("one".into())
        );
        assert_eq!(
            val_of(child(one, "n").unwrap().unwrap()).unwrap(),
            Val::List(vec![Val::Int(1), Val::Float(2.5), Val::Str("x".into())])
        );
        assert!(child(data, "7").unwrap().is_none());
        assert!(child(data, "x").unwrap().is_none());
        assert!(child(child(one, "text").unwrap().unwrap(), "a")
            .unwrap()
            .is_none());
    }

    #[test]
    fn rejects_non_objects_and_bad_json() {
        let k = keys(&[("text", false)]);
        for bad in [
            "[1,2]",
            "{\"text\": \"a\"",
            "{\"text\": \"a\"} x",
            "nope",
            "{\"a\":1,}",
        ] {
            let mut slots = empty_slots();
            assert!(extract(bad, &k, &mut slots).is_err(), "{bad}");
        }
    }

    #[test]
    fn big_numbers_and_objects() {
        let k = keys(&[("a", false), ("b", false), ("c", false)]);
        let mut slots = empty_slots();
        extract(
            r#"{"a": 18446744073709551615, "b": {"x": 1}, "c": null}"#,
            &k,
            &mut slots,
        )
        .unwrap();
        assert!(matches!(slots[0], Some(Slot::Val(Val::BigUint(u64::MAX)))));
        assert!(matches!(slots[1], Some(Slot::Val(Val::Object))));
        assert!(matches!(slots[2], Some(Slot::Val(Val::Null))));
    }
}

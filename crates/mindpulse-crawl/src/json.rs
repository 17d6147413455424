//! Lenient readers for JSON fields that platforms send as numbers or strings.

use serde_json::Value;

/// A string field, or a number written as a string (ids).
pub fn string(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer field given as a number, a numeric string or a Weibo count (`1.2万`).
pub fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => mindpulse_collect::weibo::parse_count(s).ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

pub fn boolean(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
        _ => false,
    }
}

/// The first of several keys that is present as a string.
pub fn first_string(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| string(v, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings() {
        let v =
            serde_json::json!({"a": 5, "b": "1.2万", "c": "4999", "d": true, "e": "", "f": null});
        assert_eq!(int(&v, "a"), Some(5));
        assert_eq!(int(&v, "b"), Some(12000));
        assert_eq!(string(&v, "a").as_deref(), Some("5"));
        assert_eq!(string(&v, "c").as_deref(), Some("4999"));
        assert!(boolean(&v, "d"));
        assert_eq!(string(&v, "e"), None);
        assert_eq!(int(&v, "f"), None);
        assert_eq!(first_string(&v, &["x", "c"]).as_deref(), Some("4999"));
    }
}

//! Turning a model's answer into validated [`Scores`]: a strict parse first; when that
//! fails, a repair of what models commonly emit (code fences, prose around the object,
//! full-width punctuation and curly quotes, single quotes, unquoted or Chinese key names,
//! trailing commas, unescaped quotes and newlines inside strings, an answer cut off at the
//! token limit), then validation of keys, types and the 0–5 range.
//!
//! Nothing here panics on model output: every failure is a [`ParseError`] with a reason
//! short enough to show the model on a retry.

use crate::schema::{Scores, DIMENSIONS, MAX_VALUE, N_DIMENSIONS, RATIONALE};
use serde::Serialize;
use serde_json::{Map, Value};

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("no JSON object in the answer")]
    NoObject,
    #[error("not valid JSON: {0}")]
    Syntax(String),
    #[error("missing keys: {0}")]
    Missing(String),
    #[error("key {key}: {reason}")]
    BadValue { key: String, reason: String },
    #[error("key {0} given twice")]
    Duplicate(String),
}

/// A repair that was needed to read the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repair {
    /// Text (a code fence, prose) around the JSON object.
    Surrounding,
    /// Full-width punctuation, curly or single quotes turned into JSON syntax.
    Punctuation,
    /// A key without quotes.
    UnquotedKey,
    /// A comma before `}` or `]`.
    TrailingComma,
    /// A raw quote or control character inside a string escaped.
    StringEscape,
    /// The answer stopped inside the object; it was closed.
    Truncated,
    /// A key other than the ids (a block title, a Chinese name) mapped to its id.
    KeyAlias,
    /// A number given as a string (`"3"`, `"3分"`) or as `3.0`.
    NumberForm,
    /// The scores were wrapped in another object.
    Wrapped,
}

/// A successfully read answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub scores: Scores,
    /// Empty when the answer was valid as given.
    pub repairs: Vec<Repair>,
    /// Keys that were ignored, and a missing rationale.
    pub notes: Vec<String>,
}

/// Reads an answer: strictly, else repaired; always validated.
pub fn parse_answer(answer: &str) -> Result<Parsed, ParseError> {
    let strict = serde_json::from_str::<Value>(answer.trim());
    let first_error = match strict {
        Ok(v) => match validate(&v) {
            Ok(mut p) => {
                p.repairs.sort_by_key(|r| *r as u8);
                p.repairs.dedup();
                return Ok(p);
            }
            Err(e) => e,
        },
        Err(e) => ParseError::Syntax(e.to_string()),
    };
    let candidates = extract_objects(answer);
    if candidates.is_empty() {
        return Err(match first_error {
            ParseError::Syntax(_) => ParseError::NoObject,
            e => e,
        });
    }
    let mut best: Option<ParseError> = None;
    for (start, end, mut repairs) in candidates {
        if start > 0 || !answer[end..].trim().is_empty() {
            repairs.push(Repair::Surrounding);
        }
        let (fixed, more) = repair_json(&answer[start..end]);
        repairs.extend(more);
        let value = match serde_json::from_str::<Value>(&fixed) {
            Ok(v) => v,
            Err(e) => {
                best.get_or_insert(ParseError::Syntax(e.to_string()));
                continue;
            }
        };
        match validate(&value) {
            Ok(mut p) => {
                p.repairs.extend(repairs);
                p.repairs.sort_by_key(|r| *r as u8);
                p.repairs.dedup();
                return Ok(p);
            }
            Err(e) => {
                // A semantic error beats a syntax error as the reason shown.
                if matches!(best, None | Some(ParseError::Syntax(_))) {
                    best = Some(e);
                }
            }
        }
    }
    Err(best.unwrap_or(first_error))
}

/// Characters that open an object.
fn is_open_brace(c: char) -> bool {
    c == '{' || c == '｛'
}

fn is_close_brace(c: char) -> bool {
    c == '}' || c == '｝'
}

/// Byte ranges of the top-level objects in `text` (string-aware brace matching), plus
/// [`Repair::Truncated`] for one left open at the end.
fn extract_objects(text: &str) -> Vec<(usize, usize, Vec<Repair>)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut in_str: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(close) = in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == close || (close == '”' && c == '"') {
                in_str = None;
            } else if c == '\n' && depth > 0 {
                // Strings don't span lines in model output; resynchronise.
                in_str = None;
            }
            continue;
        }
        if depth > 0 && (c == '"' || c == '“' || c == '＂') {
            in_str = Some(if c == '“' { '”' } else { c });
        } else if is_open_brace(c) {
            if depth == 0 {
                start = i;
            }
            depth += 1;
        } else if is_close_brace(c) && depth > 0 {
            depth -= 1;
            if depth == 0 {
                out.push((start, i + c.len_utf8(), Vec::new()));
            }
        }
    }
    if depth > 0 {
        out.push((start, text.len(), vec![Repair::Truncated]));
    }
    out
}

fn is_structural_next(rest: &str) -> bool {
    match rest.trim_start_matches([' ', '\t', '\r']).chars().next() {
        None => true,
        Some(c) => matches!(c, ',' | '}' | ']' | ':' | '，' | '：' | '｝' | '\n'),
    }
}

/// Rewrites one extracted object into strict JSON as far as it can.
fn repair_json(obj: &str) -> (String, Vec<Repair>) {
    let mut repairs = Vec::new();
    let mut out = String::with_capacity(obj.len() + 16);
    let mut depth: Vec<char> = Vec::new();
    // Where the last string in key position started (to drop a dangling key when cut off).
    let mut key_pos: Option<usize> = None;
    let chars: Vec<(usize, char)> = obj.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            '"' | '“' | '”' | '＂' | '\'' | '‘' | '’' | '「' => {
                if c != '"' {
                    repairs.push(Repair::Punctuation);
                }
                let closers: &[char] = match c {
                    '"' | '＂' => &['"', '＂', '”'],
                    '“' | '”' => &['”', '"', '“'],
                    '\'' | '‘' | '’' => &['\'', '’', '‘'],
                    _ => &['」'],
                };
                let before = out.trim_end();
                if before.ends_with('{') || before.ends_with(',') {
                    key_pos = Some(out.len());
                }
                out.push('"');
                i += 1;
                let mut closed = false;
                // Curly quotes nested inside a curly-quoted string (“他说“累””).
                let mut nest = 0usize;
                while i < chars.len() {
                    let (p, ch) = chars[i];
                    if ch == '\\' && i + 1 < chars.len() {
                        out.push('\\');
                        out.push(chars[i + 1].1);
                        i += 2;
                        continue;
                    }
                    if c == '“' && ch == '“' {
                        nest += 1;
                        out.push(ch);
                        i += 1;
                        continue;
                    }
                    if c == '“' && ch == '”' && nest > 0 {
                        nest -= 1;
                        out.push(ch);
                        i += 1;
                        continue;
                    }
                    if closers.contains(&ch) && is_structural_next(&obj[p + ch.len_utf8()..]) {
                        out.push('"');
                        closed = true;
                        i += 1;
                        break;
                    }
                    match ch {
                        '"' => {
                            repairs.push(Repair::StringEscape);
                            out.push_str("\\\"");
                        }
                        '\n' => {
                            // An unterminated string: close it at the end of the line.
                            repairs.push(Repair::StringEscape);
                            break;
                        }
                        c if (c as u32) < 0x20 => {
                            repairs.push(Repair::StringEscape);
                            out.push(' ');
                        }
                        c => out.push(c),
                    }
                    i += 1;
                }
                if !closed {
                    out.push('"');
                    if i >= chars.len() {
                        repairs.push(Repair::Truncated);
                    }
                }
                continue;
            }
            '{' | '｛' | '[' | '［' => {
                if c != '{' && c != '[' {
                    repairs.push(Repair::Punctuation);
                }
                let ascii = if c == '{' || c == '｛' { '{' } else { '[' };
                depth.push(if ascii == '{' { '}' } else { ']' });
                out.push(ascii);
            }
            '}' | '｝' | ']' | '］' => {
                if c != '}' && c != ']' {
                    repairs.push(Repair::Punctuation);
                }
                let ascii = if c == '}' || c == '｝' { '}' } else { ']' };
                strip_trailing_comma(&mut out, &mut repairs);
                depth.pop();
                out.push(ascii);
            }
            '，' | '、' => {
                repairs.push(Repair::Punctuation);
                out.push(',');
            }
            '：' => {
                repairs.push(Repair::Punctuation);
                out.push(':');
            }
            c if c.is_whitespace() => out.push(' '),
            c if c.is_alphabetic() || c == '_' => {
                // A bare word: a literal, or an unquoted key (read up to the colon).
                let mut j = i;
                while j < chars.len() {
                    let ch = chars[j].1;
                    if ch == ':'
                        || ch == '：'
                        || ch == ','
                        || ch == '，'
                        || ch == '}'
                        || ch == '｝'
                        || ch == '\n'
                    {
                        break;
                    }
                    j += 1;
                }
                let end = if j < chars.len() {
                    chars[j].0
                } else {
                    obj.len()
                };
                let word = obj[pos..end].trim();
                let is_key = j < chars.len() && matches!(chars[j].1, ':' | '：');
                if is_key {
                    repairs.push(Repair::UnquotedKey);
                    out.push_str(&Value::String(word.to_string()).to_string());
                } else if matches!(word, "true" | "false" | "null") {
                    out.push_str(word);
                } else {
                    // Bare text as a value: keep it as a string for validation to judge.
                    repairs.push(Repair::Punctuation);
                    out.push_str(&Value::String(word.to_string()).to_string());
                }
                i = j;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    if !depth.is_empty() {
        repairs.push(Repair::Truncated);
        // Drop a dangling key or comma before closing.
        let mut trimmed = out
            .trim_end()
            .trim_end_matches([',', ':'])
            .trim_end()
            .to_string();
        if let Some(pos) = key_pos.filter(|p| *p < trimmed.len()) {
            if serde_json::from_str::<String>(&trimmed[pos..]).is_ok() {
                trimmed.truncate(pos);
            }
        }
        out = trimmed;
        strip_trailing_comma(&mut out, &mut repairs);
        while let Some(closer) = depth.pop() {
            out.push(closer);
        }
    }
    (out, repairs)
}

fn strip_trailing_comma(out: &mut String, repairs: &mut Vec<Repair>) {
    let trimmed_len = out.trim_end().len();
    if out[..trimmed_len].ends_with(',') {
        out.truncate(trimmed_len - 1);
        repairs.push(Repair::TrailingComma);
    }
}

/// Maps a key as models write it to a dimension id or [`RATIONALE`].
pub fn canonical_key(key: &str) -> Option<&'static str> {
    let k: String = key
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    for d in DIMENSIONS {
        if k == d.id.to_lowercase() {
            return Some(d.id);
        }
    }
    if k == RATIONALE {
        return Some(RATIONALE);
    }
    // A block code: F30-F39, F30~F39, F30–F39, (F30-F39) 心境障碍, f30 …
    if let Some(pos) = k.find('f') {
        let digits: String = k[pos + 1..].chars().take(2).collect();
        if digits.len() == 2 && digits.chars().all(|c| c.is_ascii_digit()) {
            let tens = digits.as_bytes()[0] - b'0';
            return Some(DIMENSIONS[tens as usize].id);
        }
    }
    const RULES: &[(&[&str], &str)] = &[
        (&["器质", "organic"], "F00_F09"),
        (
            &[
                "精神活性",
                "物质",
                "酒精",
                "成瘾",
                "substance",
                "alcohol",
                "drug",
                "psychoactive",
            ],
            "F10_F19",
        ),
        (
            &["精神分裂", "妄想", "schizo", "delusion", "psychotic"],
            "F20_F29",
        ),
        (
            &["发育迟滞", "智力", "retardation", "intellectual"],
            "F70_F79",
        ),
        (
            &["童年", "少年", "儿童", "childhood", "adolescen"],
            "F90_F98",
        ),
        (&["心理发育", "development"], "F80_F89"),
        (
            &[
                "生理紊乱",
                "躯体因素",
                "进食",
                "睡眠",
                "行为综合征",
                "physiological",
                "eating",
                "sleep",
            ],
            "F50_F59",
        ),
        (&["人格", "personality"], "F60_F69"),
        (
            &[
                "神经症",
                "应激",
                "躯体形式",
                "焦虑",
                "neurotic",
                "stress",
                "somatoform",
                "anxiety",
            ],
            "F40_F48",
        ),
        (
            &[
                "心境",
                "情感",
                "抑郁",
                "躁狂",
                "mood",
                "affective",
                "depress",
            ],
            "F30_F39",
        ),
        (&["负面", "消极", "负性", "negativ"], "negativity"),
        (
            &[
                "理由",
                "依据",
                "解释",
                "证据",
                "原因",
                "说明",
                "reason",
                "evidence",
                "explanation",
                "justification",
            ],
            RATIONALE,
        ),
    ];
    for (needles, id) in RULES {
        if needles.iter().any(|n| k.contains(n)) {
            return Some(id);
        }
    }
    None
}

fn read_value(key: &str, v: &Value, repairs: &mut Vec<Repair>) -> Result<u8, ParseError> {
    let bad = |reason: String| ParseError::BadValue {
        key: key.to_string(),
        reason,
    };
    let n: i64 = match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.is_finite() {
                    repairs.push(Repair::NumberForm);
                    f as i64
                } else {
                    return Err(bad(format!("{n} is not an integer")));
                }
            }
        }
        Value::String(s) => {
            let t = s.trim();
            let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
            let rest = t[digits.len()..].trim();
            let rest_ok =
                rest.is_empty() || rest == "分" || rest.starts_with('/') || rest == "points";
            if digits.is_empty() || !rest_ok {
                return Err(bad(format!("{s:?} is not an integer 0-5")));
            }
            repairs.push(Repair::NumberForm);
            digits
                .parse::<i64>()
                .map_err(|_| bad(format!("{s:?} is not an integer 0-5")))?
        }
        other => return Err(bad(format!("{other} is not an integer 0-5"))),
    };
    if !(0..=i64::from(MAX_VALUE)).contains(&n) {
        return Err(bad(format!("{n} is outside 0-5")));
    }
    Ok(n as u8)
}

/// Validates a parsed JSON value against the schema.
pub fn validate(value: &Value) -> Result<Parsed, ParseError> {
    let mut repairs = Vec::new();
    let obj = match value {
        Value::Object(m) => unwrap_nested(m, &mut repairs),
        _ => return Err(ParseError::NoObject),
    };
    let mut values: [Option<u8>; N_DIMENSIONS] = [None; N_DIMENSIONS];
    let mut rationale: Option<String> = None;
    let mut notes = Vec::new();
    for (key, v) in &obj {
        let Some(id) = canonical_key(key) else {
            notes.push(format!("ignored key {key:?}"));
            continue;
        };
        if id != key {
            repairs.push(Repair::KeyAlias);
        }
        if id == RATIONALE {
            if rationale.is_some() {
                return Err(ParseError::Duplicate(RATIONALE.into()));
            }
            rationale = Some(match v {
                Value::String(s) => s.trim().to_string(),
                Value::Null => String::new(),
                other => other.to_string(),
            });
            continue;
        }
        let Some(idx) = crate::schema::index_of(id) else {
            continue;
        };
        if values[idx].is_some() {
            return Err(ParseError::Duplicate(id.into()));
        }
        values[idx] = Some(read_value(id, v, &mut repairs)?);
    }
    let missing: Vec<&str> = DIMENSIONS
        .iter()
        .zip(values.iter())
        .filter(|(_, v)| v.is_none())
        .map(|(d, _)| d.id)
        .collect();
    if !missing.is_empty() {
        return Err(ParseError::Missing(missing.join(", ")));
    }
    let mut out = [0u8; N_DIMENSIONS];
    for (o, v) in out.iter_mut().zip(values) {
        *o = v.unwrap_or(0);
    }
    let rationale = rationale.unwrap_or_else(|| {
        notes.push("rationale missing".into());
        String::new()
    });
    Ok(Parsed {
        scores: Scores {
            values: out,
            rationale,
        },
        repairs,
        notes,
    })
}

/// `{"scores": {...}, "rationale": "..."}` and similar wrappers: merges one nested object
/// holding the dimension keys into the top level.
fn unwrap_nested<'a>(m: &'a Map<String, Value>, repairs: &mut Vec<Repair>) -> Map<String, Value> {
    let known = |m: &Map<String, Value>| {
        m.keys()
            .filter(|k| canonical_key(k).is_some_and(|id| id != RATIONALE))
            .count()
    };
    if known(m) > 0 {
        return m.clone();
    }
    let nested: Vec<&'a Map<String, Value>> = m
        .values()
        .filter_map(|v| v.as_object())
        .filter(|o| known(o) > 0)
        .collect();
    if nested.len() == 1 {
        repairs.push(Repair::Wrapped);
        let mut merged = nested[0].clone();
        for (k, v) in m {
            if !v.is_object() && canonical_key(k) == Some(RATIONALE) {
                merged.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        return merged;
    }
    m.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"F00_F09": 0, "F10_F19": 1, "F20_F29": 0, "F30_F39": 4, "F40_F48": 3, "F50_F59": 2, "F60_F69": 0, "F70_F79": 0, "F80_F89": 0, "F90_F98": 0, "negativity": 5, "rationale": "“不想活了”"}"#;

    fn values(p: &Parsed) -> [u8; 11] {
        p.scores.values
    }

    #[test]
    fn strict_answer_needs_no_repair() {
        let p = parse_answer(GOOD).unwrap();
        assert_eq!(values(&p), [0, 1, 0, 4, 3, 2, 0, 0, 0, 0, 5]);
        assert_eq!(p.scores.rationale, "“不想活了”");
        assert!(p.repairs.is_empty());
        assert!(p.notes.is_empty());
    }

    #[test]
    fn code_fence_and_prose_around() {
        let a = format!("Sure! Here is the rating:\n```json\n{GOOD}\n```\nHope this helps.");
        let p = parse_answer(&a).unwrap();
        assert_eq!(values(&p)[3], 4);
        assert_eq!(p.repairs, vec![Repair::Surrounding]);
    }

    #[test]
    fn full_width_punctuation_curly_quotes_and_trailing_comma() {
        let a = "｛“F00_F09”：0，“F10_F19”：0，“F20_F29”：0，“F30_F39”：3，“F40_F48”：2，“F50_F59”：1，“F60_F69”：0，“F70_F79”：0，“F80_F89”：0，“F90_F98”：0，“negativity”：4，“rationale”：“她说“每天都睡不着”，很累”，｝";
        let p = parse_answer(a).unwrap();
        assert_eq!(values(&p), [0, 0, 0, 3, 2, 1, 0, 0, 0, 0, 4]);
        assert!(p.repairs.contains(&Repair::Punctuation));
        assert!(p.repairs.contains(&Repair::TrailingComma));
        assert!(
            p.scores.rationale.contains("每天都睡不着"),
            "{}",
            p.scores.rationale
        );
    }

    #[test]
    fn chinese_key_names_map_to_ids() {
        let a = r#"{"器质性精神障碍": 0, "精神活性物质所致精神障碍": 2, "精神分裂症": 0, "心境障碍": 3, "神经症性障碍": 1,
            "伴有生理紊乱及躯体因素的行为综合征": 1, "成人人格和行为障碍": 0, "精神发育迟滞": 0, "心理发育障碍": 0,
            "通常起病于童年和少年期的行为和情绪障碍": 0, "负面程度": 4, "理由": "喝酒到天亮"}"#;
        let p = parse_answer(a).unwrap();
        assert_eq!(values(&p), [0, 2, 0, 3, 1, 1, 0, 0, 0, 0, 4]);
        assert_eq!(p.scores.rationale, "喝酒到天亮");
        assert!(p.repairs.contains(&Repair::KeyAlias));
    }

    #[test]
    fn block_codes_and_english_titles_map_to_ids() {
        for (k, id) in [
            ("F30-F39", "F30_F39"),
            ("f40~f48", "F40_F48"),
            ("(F90–F98) 童年", "F90_F98"),
            ("Mood [affective] disorders", "F30_F39"),
            ("Disorders of psychological development", "F80_F89"),
            ("Behavioural and emotional disorders with onset usually occurring in childhood and adolescence", "F90_F98"),
            ("Mental retardation", "F70_F79"),
            ("消极程度", "negativity"),
            ("Reason", "rationale"),
        ] {
            assert_eq!(canonical_key(k), Some(id), "{k}");
        }
        assert_eq!(canonical_key("weather"), None);
        // Every official title maps back to its own id.
        for d in DIMENSIONS {
            assert_eq!(canonical_key(d.title_zh), Some(d.id), "{}", d.title_zh);
            assert_eq!(canonical_key(d.title_en), Some(d.id), "{}", d.title_en);
        }
    }

    #[test]
    fn single_quotes_unquoted_keys_and_string_numbers() {
        let a = "{F00_F09: 0, F10_F19: '0', F20_F29: 0, F30_F39: \"3分\", F40_F48: 2.0, F50_F59: 0, F60_F69: 0, F70_F79: 0, F80_F89: 0, F90_F98: 0, negativity: 3, rationale: 'says \"I quit\" today'}";
        let p = parse_answer(a).unwrap();
        assert_eq!(values(&p), [0, 0, 0, 3, 2, 0, 0, 0, 0, 0, 3]);
        assert_eq!(p.scores.rationale, "says \"I quit\" today");
        assert!(p.repairs.contains(&Repair::UnquotedKey));
        assert!(p.repairs.contains(&Repair::NumberForm));
    }

    #[test]
    fn unescaped_inner_quotes_and_newlines_in_strings() {
        let a = "{\"F00_F09\": 0, \"F10_F19\": 0, \"F20_F29\": 0, \"F30_F39\": 2, \"F40_F48\": 0, \"F50_F59\": 0, \"F60_F69\": 0, \"F70_F79\": 0, \"F80_F89\": 0, \"F90_F98\": 0, \"negativity\": 2, \"rationale\": \"the post says \"so tired\" of it\tall\"}";
        let p = parse_answer(a).unwrap();
        assert_eq!(p.scores.rationale, "the post says \"so tired\" of it all");
        assert!(p.repairs.contains(&Repair::StringEscape));
    }

    #[test]
    fn truncated_answer_is_closed_when_the_values_are_complete() {
        let a = r#"{"F00_F09": 0, "F10_F19": 0, "F20_F29": 0, "F30_F39": 1, "F40_F48": 0, "F50_F59": 0, "F60_F69": 0, "F70_F79": 0, "F80_F89": 0, "F90_F98": 0, "negativity": 1, "rationale": "mentions being a bit"#;
        let p = parse_answer(a).unwrap();
        assert_eq!(values(&p)[10], 1);
        assert!(p.repairs.contains(&Repair::Truncated));
        assert_eq!(p.scores.rationale, "mentions being a bit");
        // Cut before the values are complete: a clear error, not a guess.
        let cut = r#"{"F00_F09": 0, "F10_F19": 0, "F20_F29": 0, "F30_F"#;
        assert!(
            matches!(parse_answer(cut), Err(ParseError::Missing(_))),
            "{:?}",
            parse_answer(cut)
        );
    }

    #[test]
    fn wrapped_scores_are_unwrapped() {
        let a = r#"{"scores": {"F00_F09": 0, "F10_F19": 0, "F20_F29": 0, "F30_F39": 1, "F40_F48": 0, "F50_F59": 0, "F60_F69": 0, "F70_F79": 0, "F80_F89": 0, "F90_F98": 0, "negativity": 1}, "rationale": "x"}"#;
        let p = parse_answer(a).unwrap();
        assert_eq!(p.scores.rationale, "x");
        assert_eq!(p.repairs, vec![Repair::Wrapped]);
    }

    #[test]
    fn validation_errors() {
        let out_of_range = GOOD.replace("\"negativity\": 5", "\"negativity\": 7");
        assert!(
            matches!(parse_answer(&out_of_range), Err(ParseError::BadValue { key, .. }) if key == "negativity")
        );
        let negative = GOOD.replace("\"F30_F39\": 4", "\"F30_F39\": -1");
        assert!(matches!(
            parse_answer(&negative),
            Err(ParseError::BadValue { .. })
        ));
        let fraction = GOOD.replace("\"F30_F39\": 4", "\"F30_F39\": 2.5");
        assert!(matches!(
            parse_answer(&fraction),
            Err(ParseError::BadValue { .. })
        ));
        let word = GOOD.replace("\"F30_F39\": 4", "\"F30_F39\": \"high\"");
        assert!(matches!(
            parse_answer(&word),
            Err(ParseError::BadValue { .. })
        ));
        let boolean = GOOD.replace("\"F30_F39\": 4", "\"F30_F39\": true");
        assert!(matches!(
            parse_answer(&boolean),
            Err(ParseError::BadValue { .. })
        ));
        let missing = GOOD.replace("\"F30_F39\": 4, ", "");
        assert_eq!(
            parse_answer(&missing),
            Err(ParseError::Missing("F30_F39".into()))
        );
        let dup = GOOD.replace("\"F00_F09\": 0", "\"F30-F39\": 0");
        assert!(matches!(parse_answer(&dup), Err(ParseError::Duplicate(_))));
        assert_eq!(
            parse_answer("I cannot rate this post."),
            Err(ParseError::NoObject)
        );
        assert_eq!(parse_answer(""), Err(ParseError::NoObject));
        assert!(parse_answer("[1, 2, 3]").is_err());
        assert!(parse_answer("{{{{").is_err());
        assert!(parse_answer("}}}{").is_err());
    }

    #[test]
    fn extra_keys_are_noted_and_missing_rationale_allowed() {
        let a = GOOD.replace("\"rationale\": \"“不想活了”\"", "\"confidence\": 0.9");
        let p = parse_answer(&a).unwrap();
        assert_eq!(p.scores.rationale, "");
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
    }

    #[test]
    fn first_valid_object_wins_over_an_echoed_example() {
        let a = format!("The format is {{\"F00_F09\": 0, ...}}. My answer: {GOOD}");
        let p = parse_answer(&a).unwrap();
        assert_eq!(values(&p)[3], 4);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let samples = [
            "{\"",
            "{'",
            "{“",
            "{\\",
            "{\"a\":",
            "{,}",
            "{:}",
            "{\"F30_F39\": }",
            "｛",
            "{\u{0}}",
            "{\"rationale\": \"\\",
            "{{}}",
            "{\"a\": [1, {\"b\": }]}",
            "{F",
            "{ 心境：",
        ];
        for s in samples {
            let _ = parse_answer(s);
        }
    }
}

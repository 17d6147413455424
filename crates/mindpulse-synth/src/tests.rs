//! Tests of the generated stream as a whole.

use crate::{pii_samples, texts, Generator, SynthOptions};
use chrono::DateTime;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

fn generate(seed: u64, n: u64) -> (Generator, String) {
    let mut g = Generator::new(SynthOptions {
        seed,
        ..Default::default()
    });
    let mut out = Vec::new();
    let bytes = g.write_jsonl(&mut out, n).unwrap();
    assert_eq!(bytes as usize, out.len());
    (g, String::from_utf8(out).unwrap())
}

fn parse_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A count as mindpulse reads it (the subset of Weibo forms the generator writes).
fn count_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.as_str() {
            "赞" | "转发" | "评论" => Some(0),
            "100万+" => Some(1_000_000),
            s if s.ends_with('万') => {
                let x: f64 = s.trim_end_matches('万').parse().ok()?;
                Some((x * 10_000.0).round() as u64)
            }
            s => s.parse().ok(),
        },
        _ => None,
    }
}

/// Names after an `@` that does not follow an ASCII letter or digit (so not e-mails), as
/// mindpulse's redactor reads them.
fn mentioned_names(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, _) in t.match_indices('@') {
        if t[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &t[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        out.push(&rest[..end]);
    }
    out
}

#[test]
fn same_seed_same_bytes() {
    let (_, a) = generate(11, 5_000);
    let (_, b) = generate(11, 5_000);
    assert_eq!(a, b);
    let (_, c) = generate(12, 5_000);
    assert_ne!(a, c);
    // Chunk boundaries do not matter.
    let mut g = Generator::new(SynthOptions {
        seed: 11,
        ..Default::default()
    });
    let mut out = Vec::new();
    for _ in 0..50 {
        g.write_jsonl(&mut out, 100).unwrap();
    }
    assert_eq!(String::from_utf8(out).unwrap(), a);
}

#[test]
fn next_record_matches_write_jsonl() {
    let (_, text) = generate(5, 300);
    let mut g = Generator::new(SynthOptions {
        seed: 5,
        ..Default::default()
    });
    for (line, want) in text.lines().zip(parse_lines(&text)) {
        assert_eq!(g.next_record(), want, "{line}");
    }
}

#[test]
fn records_have_the_documented_shape() {
    let n = 20_000;
    let (g, text) = generate(1, n);
    let recs = parse_lines(&text);
    assert_eq!(recs.len() as u64, n);
    let opts = SynthOptions::default();
    let (start, end) = (opts.start.timestamp(), opts.start.timestamp() + 30 * 86_400);
    assert_eq!(
        end,
        DateTime::parse_from_rfc3339("2025-11-22T00:00:00Z")
            .unwrap()
            .timestamp()
    );
    let mut seen: HashMap<String, (String, i64)> = HashMap::new();
    let mut days = HashSet::new();
    for r in &recs {
        let o = r.as_object().unwrap();
        assert!(!o.contains_key("lang"));
        let id = o["id"].as_str().unwrap().to_string();
        let platform = o["platform"].as_str().unwrap();
        let kind = o["kind"].as_str().unwrap();
        let created = o["created_at"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.len() == 20, "{created}");
        let ts = DateTime::parse_from_rfc3339(created).unwrap().timestamp();
        assert!((start..end).contains(&ts), "{created}");
        days.insert((ts - start) / 86_400);
        let text = o["text"].as_str().unwrap();
        match platform {
            "weibo" => {
                let chars = text.chars().count();
                assert!((15..=120).contains(&chars), "{chars}: {text}");
                assert!(
                    id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit()),
                    "{id}"
                );
                let author = match &o["author"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => panic!("{other}"),
                };
                assert!(
                    author.len() == 10 && author.bytes().all(|b| b.is_ascii_digit()),
                    "{author}"
                );
            }
            "forum" => {
                let words = text.split_whitespace().count();
                assert!((10..=60).contains(&words), "{words}: {text}");
                assert!(
                    id.starts_with(if kind == "post" { "t3_" } else { "t1_" }),
                    "{id}"
                );
                assert!(o["author"].is_string());
                assert!(!o.contains_key("region"));
            }
            other => panic!("platform {other}"),
        }
        match kind {
            "post" => {
                assert!(!o.contains_key("parent_id"));
                assert!(count_value(&o["repost_count"]).is_some());
            }
            "comment" => {
                let parent = o["parent_id"].as_str().unwrap();
                let (parent_platform, parent_ts) =
                    seen.get(parent).expect("parent is an earlier record");
                assert_eq!(parent_platform, platform);
                assert!(ts >= *parent_ts);
                assert!(!o.contains_key("repost_count"));
            }
            other => panic!("kind {other}"),
        }
        for key in ["like_count", "comment_count"] {
            assert!(count_value(&o[key]).is_some(), "{key}: {}", o[key]);
        }
        match o.get("topic") {
            None => {}
            Some(Value::String(s)) => assert!(!s.is_empty()),
            Some(Value::Array(a)) => assert!(!a.is_empty() && a.iter().all(Value::is_string)),
            Some(other) => panic!("topic {other}"),
        }
        if let Some(region) = o.get("region") {
            assert!(!region.as_str().unwrap().is_empty());
        }
        assert!(
            seen.insert(id, (platform.to_string(), ts)).is_none(),
            "duplicate id"
        );
    }
    assert_eq!(days.len(), 30);
    assert_eq!(g.stats().records, n);
}

#[test]
fn shares_are_as_documented() {
    let n = 40_000u64;
    let (g, text) = generate(2, n);
    let recs = parse_lines(&text);
    let s = g.stats().clone();
    let share = |x: u64| x as f64 / n as f64;
    let check = |name: &str, x: u64, lo: f64, hi: f64| {
        let v = share(x);
        assert!(
            (lo..=hi).contains(&v),
            "{name}: {v:.4} not in {lo}..={hi} ({s:?})"
        );
    };
    check("zh", s.zh, 0.53, 0.57);
    check("comments", s.comments, 0.33, 0.37);
    check("distress", s.distress, 0.07, 0.09);
    check("substance", s.substance, 0.025, 0.035);
    check("mentions", s.with_mentions, 0.13, 0.17);
    check("pii", s.with_pii, 0.025, 0.035);
    check("urls", s.with_urls, 0.04, 0.06);
    check("exact", s.exact_duplicates, 0.017, 0.023);
    check("near", s.near_duplicates, 0.017, 0.023);
    check("weibo-style", s.weibo_style_counts, 0.05, 0.4);

    // The same, seen from the data.
    let texts: Vec<&str> = recs.iter().map(|r| r["text"].as_str().unwrap()).collect();
    let zh = recs.iter().filter(|r| r["platform"] == "weibo").count() as u64;
    assert_eq!(zh, s.zh);
    let comments = recs.iter().filter(|r| r["kind"] == "comment").count() as u64;
    assert_eq!(comments, s.comments);
    let mentions: HashSet<&str> = g.emitted_mentions().into_iter().collect();
    let with_mention = texts
        .iter()
        .filter(|t| mentioned_names(t).iter().any(|m| mentions.contains(m)))
        .count() as u64;
    assert_eq!(with_mention, s.with_mentions);
    let pii = g.emitted_pii();
    let with_pii = texts
        .iter()
        .filter(|t| pii.iter().any(|p| t.contains(p)))
        .count() as u64;
    assert_eq!(with_pii, s.with_pii);
    let with_url = texts.iter().filter(|t| t.contains("http")).count() as u64;
    assert_eq!(with_url, s.with_urls);
    let emoji = texts
        .iter()
        .filter(|t| t.chars().any(|c| c as u32 >= 0x1F300))
        .count();
    assert!(share(emoji as u64) > 0.05, "{emoji}");

    // Variety: apart from the planted copies, texts rarely repeat.
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for t in &texts {
        *counts.entry(t).or_default() += 1;
    }
    let repeats: u64 = counts.values().map(|&c| u64::from(c - 1)).sum();
    assert!(repeats >= s.exact_duplicates, "{repeats}");
    assert!(
        share(repeats - s.exact_duplicates) < 0.01,
        "{repeats} repeats"
    );
    assert!(counts.len() as f64 > 0.95 * n as f64);
}

#[test]
fn emitted_names_and_pii_are_in_the_output() {
    let (g, text) = generate(3, 10_000);
    let recs = parse_lines(&text);
    let authors: HashSet<String> = recs
        .iter()
        .map(|r| match &r["author"] {
            Value::Number(n) => n.to_string(),
            v => v.as_str().unwrap().to_string(),
        })
        .collect();
    let emitted: HashSet<String> = g.emitted_authors().into_iter().map(String::from).collect();
    assert_eq!(authors, emitted);
    assert!(emitted.len() > 2_000, "{}", emitted.len());
    for m in g.emitted_mentions() {
        assert!(text.contains(&format!("@{m}")), "{m}");
    }
    assert!(g
        .emitted_mentions()
        .iter()
        .any(|m| m.chars().any(|c| c > '\u{2e80}')));
    assert!(g
        .emitted_mentions()
        .iter()
        .any(|m| m.contains('_') || m.contains('-')));
    let pii = g.emitted_pii();
    assert!(pii.len() >= 40, "{}", pii.len());
    for p in &pii {
        assert!(text.contains(*p), "{p}");
        assert!(g.pii_pool().iter().any(|q| q == p));
    }
    for s in pii_samples() {
        assert!(g.pii_pool().iter().any(|q| q == s), "{s}");
    }
    // Every kind shows up.
    assert!(pii.iter().any(|p| p.contains('@')));
    assert!(pii
        .iter()
        .any(|p| p.starts_with("+1") || p.starts_with("+44")));
    assert!(pii.iter().any(|p| p.len() == 18 && !p.contains(' ')));
    assert!(pii.iter().any(|p| p.len() == 11 && p.starts_with('1')));
}

#[test]
fn pii_is_delimited_in_text() {
    // A phone or ID number glued to other digits, or an e-mail glued to letters, would
    // not be found by a redactor; the generator never writes that.
    let (g, text) = generate(4, 20_000);
    for line in parse_lines(&text) {
        let t = line["text"].as_str().unwrap();
        for p in g.emitted_pii() {
            let mut from = 0;
            while let Some(i) = t[from..].find(p) {
                let at = from + i;
                let before = t[..at].chars().next_back();
                let after = t[at + p.len()..].chars().next();
                assert!(
                    !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '+'),
                    "{t}"
                );
                assert!(!after.is_some_and(|c| c.is_ascii_alphanumeric()), "{t}");
                from = at + p.len();
            }
        }
    }
}

#[test]
fn near_duplicates_differ_slightly() {
    let (g, text) = generate(6, 20_000);
    let texts: Vec<String> = parse_lines(&text)
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect();
    let all: HashSet<&str> = texts.iter().map(String::as_str).collect();
    // A near duplicate with a suffix: dropping the suffix gives an earlier text.
    let suffixed = texts
        .iter()
        .filter(|t| {
            [
                "转发",
                "+1",
                "顶",
                "同感",
                "转发微博",
                " +1",
                " this.",
                " ^",
                " same",
            ]
            .iter()
            .any(|s| t.strip_suffix(s).is_some_and(|base| all.contains(base)))
        })
        .count() as u64;
    let near = g.stats().near_duplicates;
    assert!(
        suffixed > near / 3 && suffixed <= near + 20,
        "{suffixed} of {near}"
    );
}

#[test]
fn options_are_honoured() {
    let opts = SynthOptions {
        seed: 9,
        zh_share: 0.0,
        comment_share: 0.0,
        weibo_style_counts: false,
        start: DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .to_utc(),
        days: 2,
    };
    let mut g = Generator::new(opts.clone());
    assert_eq!(g.options(), &opts);
    for _ in 0..2_000 {
        let r = g.next_record();
        assert_eq!(r["platform"], "forum");
        assert_eq!(r["kind"], "post");
        let t = r["created_at"].as_str().unwrap();
        assert!(
            t.starts_with("2024-01-01") || t.starts_with("2024-01-02"),
            "{t}"
        );
    }
    let mut g = Generator::new(SynthOptions {
        zh_share: 1.0,
        comment_share: 0.9,
        weibo_style_counts: false,
        ..Default::default()
    });
    let mut comments = 0;
    for _ in 0..2_000 {
        let r = g.next_record();
        assert_eq!(r["platform"], "weibo");
        assert!(r["like_count"].is_u64());
        comments += usize::from(r["kind"] == "comment");
    }
    assert!(comments > 1_700);
}

#[test]
fn embedding_texts() {
    let a = texts(1, 2_000, 10, 60);
    assert_eq!(a, texts(1, 2_000, 10, 60));
    assert_ne!(a, texts(2, 2_000, 10, 60));
    assert_eq!(a.len(), 2_000);
    for t in &a {
        let w = t.split_whitespace().count();
        assert!((10..=60).contains(&w), "{w}: {t}");
        assert!(!t.contains('@') && !t.contains("http"), "{t}");
    }
    let distinct: HashSet<&String> = a.iter().collect();
    assert!(distinct.len() > 1_950, "{}", distinct.len());
    let mean = a
        .iter()
        .map(|t| t.split_whitespace().count())
        .sum::<usize>() as f64
        / 2_000.0;
    assert!((15.0..40.0).contains(&mean), "{mean}");
    for (lo, hi) in [(1, 1), (3, 5), (40, 45), (0, 0)] {
        for t in texts(3, 300, lo, hi) {
            let w = t.split_whitespace().count();
            assert!(
                (lo.max(1)..=hi.max(1)).contains(&w),
                "{lo}..={hi}: {w}: {t}"
            );
        }
    }
}

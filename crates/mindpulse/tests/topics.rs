//! `mindpulse topics` end to end, with the packaged encoders: posts on four themes (three in
//! English, one in Chinese) are imported and scored (the heads run stores each post's
//! embedding), more posts are imported and left unscored (their embeddings are computed by
//! `topics build`); the build finds topics that do not mix themes, with at most 10 %
//! unassigned, a
//! rebuild gives byte-identical topics, `show` has keywords, examples, daily volume and
//! corrected prevalence, and `export` carries each post's topic; `search` finds posts by
//! words and by meaning in both languages, follows new posts and survives a damaged index.

mod common;
use common::{mindpulse, ok};

const EXAMS: [&str; 6] = [
    "my final exam in chemistry is tomorrow and I have not studied",
    "failed the math test again, my grades are falling apart",
    "the professor moved the physics exam, now I have three exams in one week",
    "studying all night for the biology midterm, so many chapters left",
    "my exam results came out and my GPA dropped below what the scholarship needs",
    "group project and two exams this week, the semester is crushing me",
];
const RENT: [&str; 6] = [
    "the landlord raised the rent again and I cannot pay it this month",
    "got an eviction notice, I have thirty days to find a new apartment",
    "my rent is more than half of my paycheck and bills keep piling up",
    "the apartment deposit took all my savings, now I can't afford groceries",
    "looking for a cheaper place to live, every apartment is too expensive",
    "behind on rent and the landlord keeps calling about the late payment",
];
const DOGS: [&str; 6] = [
    "took my puppy to the park and he chased every squirrel",
    "my dog learned to sit and give paw today, such a good boy",
    "the vet said my old dog needs a special diet for his kidneys",
    "adopted a rescue dog from the shelter, she is shy but sweet",
    "walking the dog in the rain, he refuses to go out when it's wet",
    "my puppy chewed my shoes again, training a dog takes patience",
];
const SLEEP: [&str; 6] = [
    "最近每天失眠到凌晨三点，第二天上班完全没精神",
    "又失眠了，躺在床上脑子停不下来，越想越睡不着",
    "医生说我的睡眠质量很差，建议我少喝咖啡早点睡",
    "半夜醒来就再也睡不着，连续一周只睡四个小时",
    "吃了褪黑素还是睡不着，失眠真的太折磨人了",
    "每天晚上刷手机到深夜，早上起不来，作息全乱了",
];

/// `per` posts of each theme (`first` numbers the ids), spread over three days.
fn posts(per: usize, first: usize) -> String {
    let mut out = String::new();
    let mut id = first;
    for (theme, lines) in [EXAMS, RENT, DOGS, SLEEP].iter().enumerate() {
        let lang = if theme == 3 { "zh" } else { "en" };
        for k in 0..per {
            id += 1;
            let base = lines[k % lines.len()];
            let text = if lang == "zh" {
                format!("{base}（第{k}天）")
            } else {
                format!("{base} (day {k})")
            };
            out.push_str(&format!(
                "{{\"id\":\"t{id}\",\"author\":\"a{}\",\"lang\":\"{lang}\",\"text\":\"{text}\",\"created_at\":\"2025-11-0{}T1{}:00:00Z\"}}\n",
                id % 17,
                1 + k % 3,
                k % 10
            ));
        }
    }
    out
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap()
}

#[test]
fn topics_build_list_show_export_and_search() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = format!("sqlite://{}", dir.join("t.db").display());
    std::fs::write(dir.join("a.jsonl"), posts(24, 0)).unwrap();
    std::fs::write(dir.join("b.jsonl"), posts(6, 1000)).unwrap();
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "a.jsonl", "--platform", "reddit"],
    ));

    let o = mindpulse(dir, &["--db", &db, "topics", "list"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("topics build"));

    // Scored posts keep their embeddings; the second file is imported after scoring.
    ok(&mindpulse(dir, &["--db", &db, "score", "--json"]));
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "b.jsonl", "--platform", "reddit"],
    ));

    let built = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "topics", "build", "--json"],
    )));
    assert_eq!(built["posts"], 120, "{built}");
    assert_eq!(built["embedded_now"], 24, "{built}");
    let topics = built["topics"].as_u64().unwrap();
    assert!(topics >= 4, "{built}");
    assert!(built["unassigned"].as_u64().unwrap() <= 12, "{built}");

    let list = ok(&mindpulse(dir, &["--db", &db, "topics", "list", "--json"]));
    let listed = json(&list);
    assert_eq!(listed.as_array().unwrap().len() as u64, topics);
    // Every theme lands mostly in one topic: check through the export.
    let export = ok(&mindpulse(
        dir,
        &["--db", &db, "export", "--format", "jsonl"],
    ));
    let mut by_theme: Vec<std::collections::BTreeMap<i64, usize>> = vec![Default::default(); 4];
    for line in export.lines() {
        let post = json(line);
        let number = post["discovered_topic"]["number"].as_i64().unwrap();
        let id: usize = post["platform_id"].as_str().unwrap()[1..].parse().unwrap();
        let theme = (id - 1) % 1000 / if id > 1000 { 6 } else { 24 };
        *by_theme[theme].entry(number).or_default() += 1;
    }
    // No topic mixes themes (a theme may be split in finer topics), and the unassigned are few.
    let mut owner: std::collections::BTreeMap<i64, usize> = Default::default();
    for (theme, counts) in by_theme.iter().enumerate() {
        let assigned: usize = counts
            .iter()
            .filter(|(&t, _)| t >= 0)
            .map(|(_, &n)| n)
            .sum();
        assert!(assigned >= 27, "theme {theme}: {counts:?}");
        for &t in counts.keys().filter(|&&t| t >= 0) {
            if let Some(other) = owner.insert(t, theme) {
                let stray = by_theme[other][&t].min(counts[&t]);
                assert!(
                    stray <= 2,
                    "topic {t} mixes themes {other} and {theme}: {by_theme:?}"
                );
            }
        }
    }
    // Keywords come from the theme's words.
    let words: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["keywords"].as_array().unwrap().clone())
        .map(|k| k[0].as_str().unwrap().to_string())
        .collect();
    for w in ["exam", "rent", "dog", "失眠"] {
        assert!(
            words.iter().any(|k| k.contains(w)),
            "{w} not among {words:?}"
        );
    }
    let csv = ok(&mindpulse(dir, &["--db", &db, "export", "--format", "csv"]));
    assert!(csv.lines().next().unwrap().contains("discovered_topic"));

    // The same posts and parameters: byte-identical topics.
    ok(&mindpulse(dir, &["--db", &db, "topics", "build", "--json"]));
    let again = ok(&mindpulse(dir, &["--db", &db, "topics", "list", "--json"]));
    assert_eq!(list, again);

    let shown = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "topics", "show", "0", "--json"],
    )));
    assert_eq!(shown["number"], 0, "{shown}");
    assert!(!shown["keywords"].as_array().unwrap().is_empty());
    assert_eq!(shown["examples"].as_array().unwrap().len(), 5, "{shown}");
    // Three days; a day under min_cell (10) posts is suppressed, the others add up.
    let days = shown["volume"].as_array().unwrap();
    assert_eq!(days.len(), 3, "{shown}");
    let counted: f64 = days
        .iter()
        .map(|d| d["value"].as_f64().unwrap_or(0.0))
        .sum();
    let hidden = days.iter().filter(|d| d["suppressed"] == true).count();
    assert!(counted <= shown["size"].as_f64().unwrap(), "{shown}");
    assert!(
        hidden > 0 || counted == shown["size"].as_f64().unwrap(),
        "{shown}"
    );
    assert!(shown["prevalence"]["depression"].is_array(), "{shown}");
    let text = ok(&mindpulse(dir, &["--db", &db, "topics", "show", "0"]));
    assert!(text.contains("keywords:"), "{text}");

    // Bad input: clear errors.
    let o = mindpulse(dir, &["--db", &db, "topics", "show", "99"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("topic 99 is not in build"));
    let o = mindpulse(dir, &["--db", &db, "topics", "build", "--min-size", "1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--min-size 1"));

    // Search, on the same posts.
    let search = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["--db", db.as_str(), "search"];
        all.extend_from_slice(args);
        all.push("--json");
        json(&ok(&mindpulse(dir, &all))).as_array().unwrap().clone()
    };
    let theme_of = |hit: &serde_json::Value| -> usize {
        let id: usize = hit["platform_id"].as_str().unwrap()[1..].parse().unwrap();
        (id - 1) % 1000 / if id > 1000 { 6 } else { 24 }
    };
    let hits = search(&["exam", "--words-only"]);
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| theme_of(h) == 0), "{hits:?}");
    assert!(hits[0]["text"].as_str().unwrap().contains("exam"));
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);
    // By meaning: no word of the query is in the rent posts but "landlord".
    let hits = search(&["my landlord wants more money from me", "--limit", "5"]);
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| theme_of(h) == 1), "{hits:?}");
    let hits = search(&["晚上睡不着觉怎么办", "--limit", "5"]);
    assert!(hits.iter().all(|h| theme_of(h) == 3), "{hits:?}");
    // Filters: language, and a topic of the newest build.
    assert!(search(&["exam", "--lang", "zh", "--words-only"]).is_empty());
    // A query about sleep, restricted to the exams' topic: only exam posts come back.
    let exam_topic = shown_topic_of(&by_theme[0]);
    let hits = search(&[
        "I cannot sleep at night",
        "--topic",
        &exam_topic.to_string(),
    ]);
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| theme_of(h) == 0), "{hits:?}");
    // The index follows new posts.
    std::fs::write(
        dir.join("c.jsonl"),
        "{\"id\":\"h1\",\"author\":\"z\",\"lang\":\"en\",\"text\":\"my hamster escaped from his cage tonight\",\"created_at\":\"2025-11-03T10:00:00Z\"}\n",
    )
    .unwrap();
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "c.jsonl", "--platform", "reddit"],
    ));
    let hits = search(&["hamster", "--words-only"]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["platform_id"], "h1");
    // Unscored, it has no vector; scoring it later gives it one, and the index picks it up.
    let rank_of_h1 = || -> serde_json::Value {
        let hits = search(&["my hamster escaped from the cage", "--limit", "3"]);
        let h1 = hits.iter().find(|h| h["platform_id"] == "h1").cloned();
        h1.map(|h| h["vector_rank"].clone()).unwrap_or_default()
    };
    assert!(rank_of_h1().is_null());
    ok(&mindpulse(dir, &["--db", &db, "score", "--json"]));
    assert_eq!(rank_of_h1(), 1);
    // A damaged index file is rebuilt.
    std::fs::write(dir.join("t.db.search"), b"not an index").unwrap();
    assert_eq!(search(&["hamster", "--words-only"]).len(), 1);
    // A query with nothing to search by words.
    let o = mindpulse(dir, &["--db", &db, "search", "the and of", "--words-only"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no searchable words"));
}

/// The topic most of a theme's posts are in.
fn shown_topic_of(counts: &std::collections::BTreeMap<i64, usize>) -> i64 {
    *counts
        .iter()
        .filter(|(&t, _)| t >= 0)
        .max_by_key(|(_, &n)| n)
        .unwrap()
        .0
}

//! End-to-end tests of the heads: `train` reproduces a shipped head bit for bit, `eval`
//! prints the documented metrics (and names unknown labels), `score` stores long-format
//! scores with provenance, resumes, and handles text it cannot read.

use std::path::{Path, PathBuf};
mod common;
use common::{mindpulse, ok};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The labeled data: $MINDPULSE_DATA or ../shared/data beside the repository. Missing data
/// skips the test, except in CI where it is a failure.
fn data_dir() -> Option<PathBuf> {
    let d = std::env::var_os("MINDPULSE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data"));
    if d.join("sos_hl_1k").is_dir() {
        return Some(d);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI: the labeled data is missing at {}",
        d.display()
    );
    eprintln!("skipping: no labeled data at {}", d.display());
    None
}

#[test]
fn train_reproduces_the_shipped_head_bit_for_bit() {
    let Some(data) = data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("heads");
    let cache = tmp.path().join("cache");
    let o = mindpulse(
        tmp.path(),
        &[
            "train",
            "--task",
            "sos_hl_1k",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ],
    );
    let text = ok(&o);
    assert!(text.contains("sos_hl_1k@e5"), "{text}");
    for ext in ["safetensors", "json"] {
        let fresh = std::fs::read(out.join(format!("sos_hl_1k@e5.{ext}"))).unwrap();
        let shipped = std::fs::read(repo().join(format!("heads/sos_hl_1k@e5.{ext}"))).unwrap();
        assert!(
            fresh == shipped,
            "sos_hl_1k@e5.{ext} differs from the shipped head"
        );
    }
}

#[test]
fn eval_prints_one_json_object_and_names_unknown_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let tsv = tmp.path().join("few.tsv");
    std::fs::write(
        &tsv,
        "text\tlabel\n我真的不想活了，每天都好累，活着没有意义\thigh\n今天和朋友去吃火锅，很开心\tlow\n考试又没过，感觉自己什么都做不好，想结束这一切\thigh\n周末去看了电影，挺好看的\tlow\n",
    )
    .unwrap();
    let o = mindpulse(
        tmp.path(),
        &[
            "eval",
            "--task",
            "sos_hl_1k",
            "--data",
            tsv.to_str().unwrap(),
            "--json",
        ],
    );
    let out = ok(&o);
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    for key in [
        "task",
        "n",
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "balanced_accuracy",
        "per_class",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["n"], 4);
    assert_eq!(v["task"], "sos_hl_1k");
    // The numbers agree with each other: accuracy is the confusion matrix's trace over n.
    let confusion: Vec<Vec<u64>> = serde_json::from_value(v["confusion"].clone()).unwrap();
    let total: u64 = confusion.iter().flatten().sum();
    let trace: u64 = (0..2).map(|i| confusion[i][i]).sum();
    assert_eq!(total, 4, "{v}");
    assert!(
        (v["accuracy"].as_f64().unwrap() - trace as f64 / 4.0).abs() < 1e-12,
        "{v}"
    );
    assert_eq!(v["per_class"][0]["support"], 2, "{v}");

    std::fs::write(&tsv, "text\tlabel\n一\thigh\n二\tmedium\n三\tunknown\n").unwrap();
    let o = mindpulse(
        tmp.path(),
        &[
            "eval",
            "--task",
            "sos_hl_1k",
            "--data",
            tsv.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("medium, unknown") && err.contains("few.tsv"),
        "{err}"
    );
}

const POSTS: &str = r#"{"id":"e1","text":"I can't sleep again, everything feels hopeless and I am so tired of trying","lang":"en"}
{"id":"e2","text":"Had a lovely walk in the park with my dog today, feeling great!"}
{"id":"z1","text":"最近压力好大，每天晚上都失眠，感觉活着好累"}
{"id":"z2","text":"今天和朋友一起去吃火锅，太开心了"}
{"id":"x1","text":"😭😭😭 !!!"}
"#;

#[test]
fn score_stores_long_format_scores_with_provenance_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("t.db").display());
    std::fs::write(tmp.path().join("p.jsonl"), POSTS).unwrap();
    ok(&mindpulse(
        tmp.path(),
        &["--db", &db, "import", "p.jsonl", "--platform", "test"],
    ));
    let first = ok(&mindpulse(
        tmp.path(),
        &["--db", &db, "score", "--limit", "2", "--json"],
    ));
    let first: serde_json::Value = serde_json::from_str(first.trim()).unwrap();
    assert_eq!(first["posts"], 2, "{first}");
    let rest = ok(&mindpulse(tmp.path(), &["--db", &db, "score", "--json"]));
    let rest: serde_json::Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(rest["posts"], 3, "{rest}");
    assert_eq!(rest["counters"]["no_text"], 1, "emoji-only post: {rest}");
    let again = ok(&mindpulse(tmp.path(), &["--db", &db, "score", "--json"]));
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(again["posts"], 0, "nothing left to score: {again}");

    let export = ok(&mindpulse(tmp.path(), &["--db", &db, "export", "--scores"]));
    let posts: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(posts.len(), 5);
    let dims = |p: &serde_json::Value| -> Vec<String> {
        p["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["dimension"].as_str().unwrap().to_string())
            .collect()
    };
    let by_id = |id: &str| {
        posts
            .iter()
            .find(|p| p["platform_id"] == id)
            .unwrap()
            .clone()
    };
    let en = by_id("e1");
    for d in [
        "sentiment",
        "negativity",
        "emotion",
        "stress",
        "depression",
        "suicide_risk",
        "substance_use",
    ] {
        assert!(
            dims(&en).contains(&d.to_string()),
            "e1 lacks {d}: {:?}",
            dims(&en)
        );
    }
    let zh = by_id("z1");
    for d in [
        "sentiment",
        "negativity",
        "emotion",
        "stress",
        "depression",
        "suicide_risk",
        "substance_use",
        "cognitive_distortion",
    ] {
        assert!(
            dims(&zh).contains(&d.to_string()),
            "z1 lacks {d}: {:?}",
            dims(&zh)
        );
    }
    let value = |p: &serde_json::Value, d: &str| {
        p["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["dimension"] == d)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    // Directional sanity on unambiguous posts.
    assert!(value(&en, "negativity") > value(&by_id("e2"), "negativity"));
    assert!(value(&zh, "negativity") > value(&by_id("z2"), "negativity"));
    for p in &posts {
        for s in p["scores"].as_array().unwrap() {
            let v = s["value"].as_f64().unwrap();
            if s["scale"].as_str().unwrap().starts_with("prob") {
                assert!((0.0..=1.0).contains(&v), "{s}");
            }
        }
    }
    // Which encoder read a post is not a score: it is the post's `route`.
    assert!(dims(&by_id("x1")).is_empty(), "{}", by_id("x1"));
    assert_eq!(by_id("x1")["route"], "no_text");
    assert!(en["route"].as_str().unwrap().starts_with("en:"), "{en}");
    assert!(zh["route"].as_str().unwrap().contains(':'), "{zh}");
    // Every score says what its value is the probability of, and which head gave it.
    for p in &posts {
        for s in p["scores"].as_array().unwrap() {
            assert!(
                s["head"].is_string() && s["head_version"].is_string(),
                "{s}"
            );
            assert_eq!(s["scorer"], "heads", "{s}");
            if s["scale"].as_str().unwrap().starts_with("prob") {
                assert!(s["probability_of"].is_string(), "{s}");
            }
            if s["dimension"] == "depression" {
                // A screen says where it flags: at or above its threshold.
                let t = s["threshold"].as_f64().unwrap();
                let v = s["value"].as_f64().unwrap();
                assert_eq!(s["label"] == "yes", v >= t, "{s}");
            }
            if s["scale"] == "prob" {
                // The value is the probability of the predicted class.
                assert_eq!(s["probability_of"], s["label"], "{s}");
            }
        }
    }
    // CSV: per dimension the value, what it is the probability of, the label and the head.
    let csv = ok(&mindpulse(
        tmp.path(),
        &["--db", &db, "export", "--scores", "--format", "csv"],
    ));
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    for col in [
        "route",
        "score_depression",
        "score_depression_probability_of",
        "score_depression_label",
        "score_depression_head",
    ] {
        assert!(header.contains(&col.to_string()), "{col} in {header:?}");
    }
    assert!(!header.iter().any(|h| h == "score_route"), "{header:?}");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let e1 = rows
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[col("platform_id")] == "e1")
        .unwrap();
    assert!(!e1[col("score_depression_probability_of")].is_empty());
    assert!(e1[col("score_depression_head")].contains('@'), "{e1:?}");
    // The finer heads answer questions about posts that already show the signs: they
    // score only posts their screen flagged.
    let label = |p: &serde_json::Value, d: &str| {
        p["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["dimension"] == d)
            .and_then(|s| s["label"].as_str().map(str::to_string))
    };
    for p in &posts {
        for (fine, screen) in [
            ("depression_severity", "depression"),
            ("depression_clinical", "depression"),
            ("suicide_risk_level", "suicide_risk"),
            ("stress_cause", "stress"),
            ("stress_clinical", "stress"),
            ("substance_use_kind", "substance_use"),
        ] {
            if dims(p).contains(&fine.to_string()) {
                assert_eq!(
                    label(p, screen).as_deref(),
                    Some("yes"),
                    "{fine} without {screen}: {p}"
                );
            }
        }
    }
    assert_eq!(
        label(&by_id("e2"), "depression").as_deref(),
        Some("no"),
        "a walk in the park"
    );
    assert!(!dims(&by_id("e2")).contains(&"depression_severity".to_string()));
    assert_eq!(
        label(&en, "depression").as_deref(),
        Some("yes"),
        "hopeless and tired: {en}"
    );
    assert!(
        dims(&en).contains(&"depression_severity".to_string()),
        "{en}"
    );
    // Provenance: the scoring runs record the encoders and every head version.
    let runs = ok(&mindpulse(tmp.path(), &["--db", &db, "runs", "--json"]));
    let score_runs: Vec<serde_json::Value> = runs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == "score")
        .collect();
    assert_eq!(score_runs.len(), 3);
    let params: serde_json::Value =
        serde_json::from_str(score_runs[0]["params"].as_str().unwrap()).unwrap();
    assert!(params["heads"]["dreaddit@minilm"].is_string(), "{params}");
    assert!(params["encoders"]["minilm-l6-v2"].is_string(), "{params}");
}

#[test]
fn quickstart_scores_the_sample_and_summarizes_each_dimension() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(&mindpulse(tmp.path(), &["quickstart", "--dir", "qs"]));
    assert!(out.contains("imported:"), "{out}");
    let scored = out
        .lines()
        .find(|l| l.starts_with("scored "))
        .unwrap_or_else(|| panic!("no scoring summary: {out}"));
    let n: u64 = scored.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n > 300, "{scored}");
    assert!(out.contains("population estimates"), "{out}");
    for d in ["depression", "suicide_risk", "stress", "substance_use"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(d))
            .unwrap_or_else(|| panic!("no population line for {d}: {out}"));
        assert!(line.contains('%') && line.contains("n "), "{line}");
    }
    // A second quickstart finds everything scored already.
    let again = ok(&mindpulse(tmp.path(), &["quickstart", "--dir", "qs"]));
    assert!(again.contains("scored 0 posts"), "{again}");
}

/// A population screen trains end to end on a small slice of every set it names: roles by
/// text hash, everyday negatives, the operating point, held-out rates in the card; and
/// training twice gives the same bytes.
#[test]
fn a_screen_trains_on_its_sets_and_records_its_rates() {
    let Some(data) = data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let slice = tmp.path().join("data");
    let screen = mindpulse_heads::screening::screen("substance_use").unwrap();
    for src in screen.sources {
        let dir = slice.join(src.folder);
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["train.tsv", "all.tsv", "val.tsv"] {
            let Ok(text) = std::fs::read_to_string(data.join(src.folder).join(f)) else {
                continue;
            };
            let keep: String = text.lines().take(121).map(|l| format!("{l}\n")).collect();
            std::fs::write(dir.join(f), keep).unwrap();
        }
    }
    let train = |out: &str| {
        ok(&mindpulse(
            tmp.path(),
            &[
                "train",
                "--task",
                "screen_substance_use",
                "--encoder",
                "minilm-l6-v2",
                "--data",
                slice.to_str().unwrap(),
                "--out",
                out,
                "--no-cache",
            ],
        ))
    };
    let out = train("a");
    assert!(out.contains("held-out en: recall"), "{out}");
    train("b");
    let read = |d: &str, ext: &str| {
        std::fs::read(
            tmp.path()
                .join(d)
                .join(format!("screen_substance_use@minilm.{ext}")),
        )
        .unwrap()
    };
    assert_eq!(
        read("a", "safetensors"),
        read("b", "safetensors"),
        "seeded and deterministic"
    );
    assert_eq!(read("a", "json"), read("b", "json"));
    let card: serde_json::Value = serde_json::from_slice(&read("a", "json")).unwrap();
    assert_eq!(card["dimension"], "substance_use");
    let sc = &card["screen"];
    assert_eq!(sc["lang"], "en");
    let en = &sc["rates"]["en"];
    assert!(
        en["n_neg"].as_u64().unwrap() > 0 && en["n_pos"].as_u64().unwrap() > 0,
        "{sc}"
    );
    assert_eq!(en["recall_validated"], true);
    let t = sc["threshold"].as_f64().unwrap();
    assert!(t > 0.0 && t < 1.0, "{t}");
    let sources = sc["sources"].as_array().unwrap();
    assert_eq!(sources.len(), screen.sources.len());
    assert!(sources
        .iter()
        .any(|s| s["kind"] == "everyday" && s["lang"] == "zh"));
}

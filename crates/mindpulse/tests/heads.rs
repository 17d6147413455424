//! End-to-end tests of the heads: `train` reproduces a shipped head bit for bit, `eval`
//! prints the documented metrics (and names unknown labels), `score` stores long-format
//! scores with provenance, resumes, and handles text it cannot read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn mindpulse(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mindpulse"))
        .current_dir(dir)
        .env("MINDPULSE_KEY_FILE", dir.join("pseudonym.key"))
        .env_remove("MINDPULSE_DB")
        .env_remove("MINDPULSE_CONFIG")
        .env_remove("MINDPULSE_HEADS")
        .arg("--no-progress")
        .args(args)
        .output()
        .expect("run mindpulse")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
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
        "route",
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
        "route",
        "sentiment",
        "negativity",
        "emotion",
        "stress",
        "depression_severity",
        "suicide_risk",
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
    assert_eq!(dims(&by_id("x1")), vec!["route".to_string()]);
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
    for d in [
        "negativity",
        "depression",
        "suicide_risk",
        "emotion",
        "stress",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(d)),
            "no summary line for {d}: {out}"
        );
    }
    // A second quickstart finds everything scored already.
    let again = ok(&mindpulse(tmp.path(), &["quickstart", "--dir", "qs"]));
    assert!(again.contains("scored 0 posts"), "{again}");
}

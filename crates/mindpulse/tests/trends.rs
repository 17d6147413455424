//! `mindpulse trends` end to end with the real heads and screens: volume by day in a time
//! zone, corrected prevalence with its interval per language, suppressed small cells,
//! duplicates left out, the JSON shape, and clear errors.

mod common;
use common::{mindpulse, ok};

const EN_A: [&str; 8] = [
    "Had a lovely walk in the park",
    "The new coffee place downtown is great",
    "Traffic was terrible this morning",
    "Finally finished the book club novel",
    "Our team won the pub quiz last night",
    "Tried a new pasta recipe for dinner",
    "The train was on time for once",
    "Planted tomatoes on the balcony",
];
const EN_B: [&str; 5] = [
    "and the weather was perfect",
    "while my cat slept on the sofa",
    "before the football match started",
    "after a long meeting about budgets",
    "with my sister visiting from Leeds",
];
const EN_C: [&str; 4] = [
    "Saturday plans next.",
    "Time for tea.",
    "Might do it again tomorrow.",
    "Photos coming soon.",
];
const ZH_A: [&str; 5] = [
    "今天和朋友去吃火锅",
    "周末去公园散步",
    "新开的奶茶店很好喝",
    "下班后去健身房",
    "和家人一起看电影",
];
const ZH_B: [&str; 4] = ["天气特别好", "心情很不错", "人有点多", "下次还想再来"];

/// 40 English and 20 Chinese posts on 2025-11-20 (UTC), 12 English ones at 16:30 UTC
/// (the next day in Shanghai), a duplicate, and 5 posts on 2025-11-22.
fn posts() -> String {
    let mut s = String::new();
    let distress = [
        "I feel so hopeless and empty, nothing matters anymore and I can't get out of bed",
        "I don't want to be alive anymore, I keep thinking about ending it all",
        "Another night crying alone, I am worthless and everyone would be better off without me",
        "The depression is back, I haven't showered in a week and I hate myself",
    ];
    let mut first = String::new();
    for i in 0..40 {
        let text = if i % 10 == 0 {
            distress[i / 10].to_string()
        } else {
            format!(
                "{} {} {}",
                EN_A[i % 8],
                EN_B[(i * 3) % 5],
                EN_C[(i / 8) % 4]
            )
        };
        if i == 1 {
            first = text.clone();
        }
        let time = if i < 12 {
            "2025-11-20T16:30:00Z"
        } else {
            "2025-11-20T09:00:00Z"
        };
        s.push_str(&format!(
            "{{\"id\":\"e{i}\",\"lang\":\"en\",\"text\":\"{text}\",\"created_at\":\"{time}\",\"topic\":\"daily\"}}\n"
        ));
    }
    for i in 0..20 {
        s.push_str(&format!(
            "{{\"id\":\"z{i}\",\"lang\":\"zh\",\"text\":\"{}，{}，{}\",\"created_at\":\"2025-11-20T03:00:00Z\"}}\n",
            ZH_A[i % 5],
            ZH_B[i / 5],
            ["第一次来", "老地方", "朋友推荐的", "排了很久"][(i * 3) % 4]
        ));
    }
    s.push_str(&format!(
        "{{\"id\":\"dup\",\"lang\":\"en\",\"text\":\"{first}\",\"created_at\":\"2025-11-20T09:00:00Z\"}}\n"
    ));
    for (i, t) in [
        "Quiet Saturday baking bread",
        "Rain all day so we stayed in",
        "Visited the science museum",
        "Fixed the bike chain myself",
        "Long call with grandma",
    ]
    .iter()
    .enumerate()
    {
        s.push_str(&format!(
            "{{\"id\":\"late{i}\",\"lang\":\"en\",\"text\":\"{t}\",\"created_at\":\"2025-11-22T12:00:00Z\"}}\n"
        ));
    }
    s
}

fn json(out: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn trends_volume_and_corrected_prevalence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = format!("sqlite://{}", dir.join("t.db").display());
    std::fs::write(dir.join("p.jsonl"), posts()).unwrap();
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "p.jsonl", "--platform", "test"],
    ));

    // Volume by day, UTC: 60 on the 20th (the duplicate left out), 5 on the 22nd suppressed.
    let v = json(&ok(&mindpulse(dir, &["--db", &db, "trends", "--json"])));
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(
        (v[0]["bucket"].as_str(), v[0]["n"].as_u64()),
        (Some("2025-11-20"), Some(60))
    );
    assert_eq!(v[0]["group"], serde_json::Value::Null);
    assert_eq!(v[0]["value"], 60.0);
    assert_eq!(
        (v[1]["suppressed"].as_bool(), v[1]["n"].is_null()),
        (Some(true), true)
    );
    let with_dups = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "trends",
            "--json",
            "--include-duplicates",
            "--min-cell",
            "1",
        ],
    )));
    assert_eq!(with_dups[0]["n"], 61);
    assert_eq!(with_dups[1]["n"], 5);
    // In Shanghai the 16:30 UTC posts fall on the 21st.
    let sh = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "trends",
            "--json",
            "--tz",
            "Asia/Shanghai",
            "--min-cell",
            "1",
        ],
    )));
    let day = |v: &[serde_json::Value], d: &str| {
        v.iter().find(|r| r["bucket"] == d).map(|r| r["n"].clone())
    };
    assert_eq!(day(&sh, "2025-11-20"), Some(serde_json::json!(48)));
    assert_eq!(day(&sh, "2025-11-21"), Some(serde_json::json!(12)));
    // Weeks start on Monday.
    let wk = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "trends",
            "--json",
            "--by",
            "week",
            "--min-cell",
            "1",
        ],
    )));
    assert_eq!(wk[0]["bucket"], "2025-11-17");
    assert_eq!(wk[0]["n"], 65);

    // A dimension needs scores first.
    let o = mindpulse(dir, &["--db", &db, "trends", "--metric", "depression"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("mindpulse score"));
    ok(&mindpulse(dir, &["--db", &db, "score", "--json"]));
    let dep = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "trends",
            "--metric",
            "depression",
            "--group",
            "lang",
            "--json",
        ],
    )));
    let en = dep
        .iter()
        .find(|r| r["bucket"] == "2025-11-20" && r["group"] == "en")
        .unwrap();
    assert_eq!(en["n"], 40, "{en}");
    let (raw, value, lo, hi) = (
        en["raw"].as_f64().unwrap(),
        en["value"].as_f64().unwrap(),
        en["ci_low"].as_f64().unwrap(),
        en["ci_high"].as_f64().unwrap(),
    );
    assert!(
        en["flagged"].as_u64().unwrap() >= 3,
        "the distress posts are flagged: {en}"
    );
    assert!(
        (0.0..=1.0).contains(&value) && lo <= value && value <= hi,
        "{en}"
    );
    assert!(
        value <= raw + 1e-9,
        "the correction removes false flags, it does not add flags: {en}"
    );
    assert_eq!(en["validated"], true, "{en}");
    let zh = dep.iter().find(|r| r["group"] == "zh").unwrap();
    assert_eq!(zh["n"], 20, "{zh}");
    // Every row has the documented keys.
    for r in &dep {
        for k in [
            "bucket",
            "group",
            "n",
            "value",
            "ci_low",
            "ci_high",
            "suppressed",
        ] {
            assert!(r.get(k).is_some(), "{k} missing: {r}");
        }
    }
    // The table names the correction and the scores' source.
    let table = ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "trends",
            "--metric",
            "depression",
            "--group",
            "topic",
        ],
    ));
    assert!(table.contains("corrected with ACC"), "{table}");
    assert!(table.contains("daily"), "{table}");

    // Bad input: a clear error.
    let o = mindpulse(dir, &["--db", &db, "trends", "--tz", "Mars/Olympus"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("IANA"), "{o:?}");
    let o = mindpulse(dir, &["--db", &db, "trends", "--since", "20/11/2025"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("YYYY-MM-DD"),
        "{o:?}"
    );
    let o = mindpulse(dir, &["--db", &db, "trends", "--metric", "happiness"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("population dimensions"),
        "{o:?}"
    );
}

/// The Python of `scripts/setup_stats_venv.sh` (it has pyarrow); None outside CI when unset.
fn stats_python() -> Option<String> {
    match std::env::var("MINDPULSE_STATS_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("MINDPULSE_STATS_PYTHON is not set: run scripts/setup_stats_venv.sh and export its last line")
        }
        _ => {
            eprintln!("skipping the pyarrow reading: MINDPULSE_STATS_PYTHON is not set");
            None
        }
    }
}

/// A Parquet file as pyarrow reads it: its column types and its rows (times as ISO text).
fn pyarrow_read(python: &str, file: &std::path::Path) -> serde_json::Value {
    let script = r#"
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
rows = t.to_pylist()
def plain(v):
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v
print(json.dumps({
    "types": {f.name: str(f.type) for f in t.schema},
    "metadata": meta,
    "rows": [{k: plain(v) for k, v in r.items()} for r in rows],
}, ensure_ascii=False))
"#;
    let o = std::process::Command::new(python)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// An exported series row holds the cell `trends --json` printed.
fn assert_same_cell(exported: &serde_json::Value, trend: &serde_json::Value) {
    for k in [
        "bucket",
        "group",
        "n",
        "flagged",
        "raw",
        "value",
        "ci_low",
        "ci_high",
        "suppressed",
    ] {
        assert_eq!(exported[k], trend[k], "{k}: {exported} vs {trend}");
    }
}

fn jsonl(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn exports_posts_scores_and_series_as_parquet_csv_and_jsonl() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = format!("sqlite://{}", dir.join("t.db").display());
    std::fs::write(dir.join("p.jsonl"), posts()).unwrap();
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "p.jsonl", "--platform", "test"],
    ));
    // Before scoring: the scores table is a header only, and says why.
    let o = mindpulse(
        dir,
        &[
            "--db", &db, "export", "--table", "scores", "--format", "csv",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no scores yet: run `mindpulse score`"),
        "{o:?}"
    );
    ok(&mindpulse(dir, &["--db", &db, "score", "--json"]));
    let run = |args: &[&str]| {
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        ok(&mindpulse(dir, &all))
    };

    // The series: the same rows as `trends --json`, for every metric at once.
    let trends = json(&run(&[
        "trends",
        "--metric",
        "depression",
        "--group",
        "lang",
        "--json",
    ]));
    let series = jsonl(&run(&[
        "export", "--table", "series", "--group", "lang", "--format", "jsonl",
    ]));
    let metrics: std::collections::BTreeSet<&str> =
        series.iter().filter_map(|r| r["metric"].as_str()).collect();
    assert!(
        metrics.contains("volume") && metrics.contains("depression"),
        "{metrics:?}"
    );
    let depression: Vec<&serde_json::Value> = series
        .iter()
        .filter(|r| r["metric"] == "depression")
        .collect();
    assert_eq!(depression.len(), trends.len());
    for (s, t) in depression.iter().zip(&trends) {
        assert_same_cell(s, t);
        assert_eq!(
            (s["by"].as_str(), s["zone"].as_str()),
            (Some("day"), Some("UTC"))
        );
    }
    run(&[
        "export",
        "--table",
        "series",
        "--group",
        "lang",
        "--format",
        "parquet",
        "-o",
        "series.parquet",
    ]);
    let csv = run(&[
        "export", "--table", "series", "--format", "csv", "--metric", "volume",
    ]);
    assert!(
        csv.starts_with("metric,by,zone,bucket,group,n,flagged,raw,value,ci_low,ci_high,suppressed,validated,note\nvolume,day,UTC,2025-11-20,,60,"),
        "{csv}"
    );

    // Posts: the Parquet file holds what JSON lines hold, typed.
    let posts_jsonl = jsonl(&run(&["export", "--format", "jsonl", "--scores"]));
    run(&[
        "export",
        "--format",
        "parquet",
        "--scores",
        "-o",
        "posts.parquet",
    ]);
    run(&[
        "export",
        "--table",
        "scores",
        "--format",
        "parquet",
        "-o",
        "scores.parquet",
    ]);
    let scores_csv = run(&["export", "--table", "scores", "--format", "csv"]);
    let score_count: usize = posts_jsonl
        .iter()
        .map(|p| p["scores"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(
        score_count > posts_jsonl.len(),
        "several dimensions per post"
    );
    assert_eq!(
        scores_csv.lines().count(),
        score_count + 1,
        "a row per score"
    );
    assert!(scores_csv.starts_with("post_id,created_at,lang,platform,dimension,value,"));

    // What is already there is not overwritten; a wrong flag is refused before any file.
    let o = mindpulse(
        dir,
        &[
            "--db",
            &db,
            "export",
            "--format",
            "parquet",
            "-o",
            "posts.parquet",
        ],
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--force"),
        "{o:?}"
    );
    for (args, says) in [
        (vec!["export", "--metric", "volume"], "--table series"),
        (
            vec!["export", "--table", "scores", "--scores"],
            "--table scores",
        ),
        (
            vec!["export", "--table", "series", "--metric", "happiness"],
            "population dimensions",
        ),
        (vec!["export", "--format", "feather"], "parquet"),
    ] {
        let mut all = vec!["--db", db.as_str()];
        all.extend(args.iter().copied());
        let o = mindpulse(dir, &all);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(says),
            "{args:?}: {o:?}"
        );
    }

    let Some(python) = stats_python() else { return };
    let p = pyarrow_read(&python, &dir.join("posts.parquet"));
    assert_eq!(p["metadata"]["mindpulse.table"], "posts");
    let types = &p["types"];
    assert_eq!(types["id"], "int64");
    assert_eq!(types["text"], "string");
    assert_eq!(types["created_at"], "timestamp[us, tz=UTC]");
    assert_eq!(types["topics"], "list<element: string not null>");
    assert_eq!(types["score_depression"], "double");
    let rows = p["rows"].as_array().unwrap();
    assert_eq!(rows.len(), posts_jsonl.len());
    for (r, j) in rows.iter().zip(&posts_jsonl) {
        for k in [
            "id",
            "platform",
            "platform_id",
            "author",
            "text",
            "lang",
            "content_hash",
            "topics",
        ] {
            assert_eq!(r[k], j[k], "{k}");
        }
        let at = chrono::DateTime::parse_from_rfc3339(r["created_at"].as_str().unwrap()).unwrap();
        let want = chrono::DateTime::parse_from_rfc3339(j["created_at"].as_str().unwrap()).unwrap();
        assert_eq!(at, want);
        let newest = j["scores"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["dimension"] == "depression")
            .max_by_key(|s| s["run_id"].as_i64())
            .unwrap();
        assert_eq!(r["score_depression"], newest["value"]);
    }
    let s = pyarrow_read(&python, &dir.join("scores.parquet"));
    assert_eq!(s["rows"].as_array().unwrap().len(), score_count);
    assert_eq!(s["types"]["value"], "double");
    assert_eq!(s["types"]["run_id"], "int64");
    let t = pyarrow_read(&python, &dir.join("series.parquet"));
    assert_eq!(t["metadata"]["mindpulse.zone"], "UTC");
    assert_eq!(t["types"]["suppressed"], "bool");
    let from_parquet: Vec<&serde_json::Value> = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["metric"] == "depression")
        .collect();
    assert_eq!(from_parquet.len(), trends.len());
    for (r, t) in from_parquet.iter().zip(&trends) {
        assert_same_cell(r, t);
    }
}

//! `mindpulse ask` end to end with the packaged local LLM (smollm2-135m, the smallest):
//! questions about one person are declined before anything is read; a question about what
//! posts say gets an answer whose every citation is one of the retrieved posts and whose
//! every kept sentence its citations support (by the documented rule), or an explicit "the
//! posts do not answer"; bad flags are clear errors.

mod common;
use common::{mindpulse, ok};

const POSTS: [&str; 6] = [
    "I got an eviction notice and I have thirty days to find a new apartment",
    "The landlord raised the rent again and I cannot pay it this month",
    "Behind on rent, the landlord keeps calling about the late payment",
    "My puppy chewed my shoes again, training a dog takes patience",
    "Final exam tomorrow and I have not studied chemistry at all",
    "最近每天失眠到凌晨三点，第二天上班完全没精神",
];

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap()
}

#[test]
fn ask_declines_cites_and_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = format!("sqlite://{}", dir.join("a.db").display());
    let lines: String = POSTS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "{{\"id\":\"q{i}\",\"author\":\"a{i}\",\"text\":\"{t}\",\"created_at\":\"2025-11-02T10:00:00Z\"}}\n"
            )
        })
        .collect();
    std::fs::write(dir.join("p.jsonl"), lines).unwrap();
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "p.jsonl", "--platform", "reddit"],
    ));

    // About one person: declined, nothing retrieved, no model loaded.
    for q in ["Who wrote the post about the eviction?", "这个用户住在哪？"] {
        let out = json(&ok(&mindpulse(dir, &["--db", &db, "ask", q, "--json"])));
        assert_eq!(out["answered"], false, "{out}");
        assert!(out["declined"].is_string(), "{out}");
        assert!(out["retrieved"].as_array().unwrap().is_empty(), "{out}");
    }

    let out = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "ask",
            "What do the posts say about rent and the landlord?",
            "--llm-model",
            "smollm2-135m",
            "--posts",
            "3",
            "--max-tokens",
            "96",
            "--json",
        ],
    )));
    let retrieved: Vec<String> = out["retrieved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    // Unscored posts have no embeddings: retrieval is by words, and finds the two posts
    // that say "rent" or "landlord" (and no other).
    assert_eq!(retrieved, vec!["q1".to_string(), "q2".to_string()], "{out}");
    assert!(
        out["model"].as_str().unwrap().starts_with("smollm2-135m@"),
        "{out}"
    );
    if out["answered"] == true {
        let citations = out["citations"].as_array().unwrap();
        assert!(!citations.is_empty(), "{out}");
        for c in citations {
            assert!(
                retrieved.contains(&c["platform_id"].as_str().unwrap().to_string()),
                "{out}"
            );
            assert!(!c["text"].as_str().unwrap().is_empty());
        }
        for s in out["sentences"].as_array().unwrap() {
            assert!(!s["cites"].as_array().unwrap().is_empty(), "{out}");
        }
        assert!(
            out["checks"]["citation_recall_as_written"].is_number(),
            "{out}"
        );
    } else {
        assert_eq!(
            out["answer"], "The stored posts do not answer this question.",
            "{out}"
        );
        assert!(out["citations"].as_array().unwrap().is_empty());
    }

    // Bad input.
    let o = mindpulse(dir, &["--db", &db, "ask", "  "]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("the question is empty"));
    let o = mindpulse(dir, &["--db", &db, "ask", "why?", "--backend", "openai"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--base-url"));
}

//! End-to-end tests of `mindpulse score --scorer llm`, `mindpulse eval --scorer llm` and
//! their errors, against a real llama.cpp server (started and stopped here; outside CI a
//! missing venv or model skips with a message, with `CI=true` it fails).

use mindpulse_llm_scorer::llama_server::{find_python, LlamaServer};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

const MODEL: &str = "smollm2-135m";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn requirements() -> Option<(PathBuf, PathBuf)> {
    let why = match (find_python(), mindpulse_models::resolve(MODEL)) {
        (Some(p), Ok(m)) => return Some((p, m.path)),
        (None, _) => "no llama-cpp-python venv: run scripts/setup_llama_server.sh".to_string(),
        (_, Err(e)) => format!("{MODEL} is not installed: {e}"),
    };
    if in_ci() {
        panic!("{why} (required in CI)");
    }
    eprintln!("skipping: {why}");
    None
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn db(&self) -> String {
        format!("sqlite://{}", self.path("t.db").display())
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mindpulse"))
            .current_dir(self.dir.path())
            .env("MINDPULSE_KEY_FILE", self.path("keys/pseudonym.key"))
            .env_remove("MINDPULSE_PSEUDONYM_KEY")
            .env_remove("MINDPULSE_DB")
            .env_remove("MINDPULSE_CONFIG")
            .env_remove("MINDPULSE_LLM_BASE_URL")
            .env_remove("MINDPULSE_LLM_MODEL")
            .arg("--no-progress")
            .arg("--db")
            .arg(self.db())
            .args(args)
            .output()
            .expect("run mindpulse")
    }
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/sample/quickstart.jsonl"
);

#[test]
fn llm_flags_are_checked_before_any_work() {
    let env = Env::new();
    let o = env.run(&[
        "score",
        "--scorer",
        "llm",
        "--backend",
        "openai",
        "--llm-model",
        "m",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("--base-url"),
        "{}",
        text(&o.stderr)
    );
    let o = env.run(&[
        "score",
        "--scorer",
        "llm",
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--llm-model",
        "m",
        "--fast",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("--backend local"),
        "{}",
        text(&o.stderr)
    );
    let o = env.run(&["score", "--scorer", "llm", "--prompt-version", "v9"]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("v9") && err.contains("v1, v2"), "{err}");
    std::fs::write(env.path("x.tsv"), "text\tlabel\nhello\t1\n").unwrap();
    let o = env.run(&[
        "eval", "--scorer", "llm", "--task", "weather", "--data", "x.tsv",
    ]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("weather") && err.contains("imhi_dr"), "{err}");
    // A server that is not there: a clear error after the retries, and the run is recorded as failed.
    ok(&env.run(&["import", SAMPLE]));
    let o = env.run(&[
        "score",
        "--scorer",
        "llm",
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--llm-model",
        "m",
        "--retries",
        "0",
        "--limit",
        "1",
    ]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("cannot connect") && err.contains("run again to continue"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn score_and_eval_through_a_real_llama_cpp_server() {
    let Some((python, model)) = requirements() else {
        return;
    };
    let server = LlamaServer::start(&python, &model, MODEL, 2, 4096, Duration::from_secs(240))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let env = Env::new();
    ok(&env.run(&["import", SAMPLE]));
    let base = server.base_url.clone();
    let common = [
        "--scorer",
        "llm",
        "--backend",
        "openai",
        "--base-url",
        base.as_str(),
        "--llm-model",
        MODEL,
        "--max-tokens",
        "160",
        "--concurrency",
        "2",
    ];
    let score = |limit: &str| {
        let mut args = vec!["score"];
        args.extend(common);
        args.extend(["--limit", limit]);
        ok(&env.run(&args))
    };
    let out = score("2");
    assert!(out.starts_with("scored 2 posts"), "{out}");
    assert!(out.contains(MODEL) && out.contains("prompt-v2"), "{out}");
    // Resumable: the next run takes the next posts, not the same ones.
    let out2 = score("1");
    assert!(out2.contains("/generate/openai"), "{out2}");
    let export = ok(&env.run(&["export", "--format", "jsonl", "--scores"]));
    let mut scored_posts = 0;
    for line in export.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let scores = v["scores"].as_array().cloned().unwrap_or_default();
        if !scores.is_empty() {
            scored_posts += 1;
            let dims: Vec<&str> = scores
                .iter()
                .filter_map(|s| s["dimension"].as_str())
                .collect();
            assert!(
                (dims.len() == 11 && dims.contains(&"F30_F39")) || dims == ["llm_failure"],
                "long format, one row per dimension: {dims:?}"
            );
        }
    }
    assert_eq!(scored_posts, 3, "resumed, nothing scored twice: {export}");
    let runs = ok(&env.run(&["runs", "--json"]));
    assert!(
        runs.contains("prompt_sha256") && runs.contains(MODEL),
        "{runs}"
    );

    // Eval on a tiny labeled set (no val.tsv beside it: thresholds by two-fold cross-fitting).
    let tsv = "text\tlabel\nI feel hopeless and worthless every day, I want to disappear.\tyes\n\
               Great game last night, what a finish!\tno\n\
               Nothing matters anymore, I cry all the time.\tyes\n\
               Trying a new pasta recipe tonight.\tno\n";
    std::fs::write(env.path("dr.tsv"), tsv).unwrap();
    let mut args = vec!["eval"];
    args.extend(common);
    args.extend(["--task", "depression", "--data", "dr.tsv", "--json"]);
    let out = ok(&env.run(&args));
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let r = &v["report"];
    assert_eq!(r["n"], 4);
    assert_eq!(v["task"], "imhi_dr");
    assert_eq!(v["dimension"], "F30_F39");
    for k in [
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "balanced_accuracy",
        "value",
    ] {
        let x = r[k].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&x), "{k}: {x}");
    }
    // The heads' report: the same headline metric as the depression head.
    assert_eq!(v["metric"], "weighted F1");
    assert_eq!(r["per_class"].as_array().unwrap().len(), 2);
    assert_eq!(r["confusion"].as_array().unwrap().len(), 2);
    assert!(v["threshold_source"]
        .as_str()
        .unwrap()
        .contains("cross-fitting"));
    assert_eq!(v["prompt_version"], "v2");
    // --tune-data naming --data itself is not tuned in-sample either.
    let mut args = vec!["eval"];
    args.extend(common);
    args.extend([
        "--task",
        "depression",
        "--data",
        "dr.tsv",
        "--tune-data",
        "./dr.tsv",
        "--json",
    ]);
    let out = ok(&env.run(&args));
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(
        v["threshold_source"]
            .as_str()
            .unwrap()
            .contains("cross-fitting"),
        "{v}"
    );
    drop(server);
}

/// `bench llm` runs every row on the same posts (the real local runtime and a real
/// llama.cpp server) and reports throughput both per post and per token.
#[test]
fn bench_llm_measures_local_and_server_on_the_same_posts() {
    let Some((python, _)) = requirements() else {
        return;
    };
    let env = Env::new();
    let python = python.to_string_lossy().into_owned();
    let o = env.run(&[
        "bench",
        "llm",
        "--posts",
        "2",
        "--llm-model",
        MODEL,
        "--max-tokens",
        "6",
        "--threads",
        "2",
        "--python",
        &python,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(ok(&o).trim()).expect("one JSON object");
    let rows = v["rows"].as_array().expect("rows");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "local generate",
            "llama.cpp server",
            "local constrained",
            "local fast"
        ]
    );
    for r in rows {
        assert_eq!(r["posts"], 2, "{r}");
        assert!(r["wall_s"].as_f64().is_some_and(|s| s > 0.0), "{r}");
        assert!(r["tokens_per_s"].as_f64().is_some_and(|s| s > 0.0), "{r}");
    }
    // Same prompts through the same chat template: the same prompt token counts.
    assert_eq!(rows[0]["prompt_tokens"], rows[1]["prompt_tokens"]);
    // Free generation stops at the 6-token cap (a 135M model does not finish the JSON).
    assert!(rows[0]["completion_tokens"]
        .as_u64()
        .is_some_and(|n| n <= 2 * 6 * 3));
    // Constrained output always parses.
    assert_eq!(rows[2]["parsed"], 2);
    let comparisons = v["comparisons"].as_array().expect("comparisons");
    assert_eq!(comparisons.len(), 3);
    for c in comparisons {
        assert!(c["speedup"].as_f64().is_some_and(|s| s > 0.0), "{c}");
        assert!(c["speedup_tokens"].as_f64().is_some_and(|s| s > 0.0), "{c}");
    }
}

//! `mindpulse generate` end to end with the real `smollm2-135m` GGUF (installed by
//! `scripts/test.sh`; skipped with a note when it is not installed, except with `CI=true`).

use std::process::Command;

const MODEL: &str = "smollm2-135m";

fn installed() -> bool {
    match mindpulse_models::resolve(MODEL) {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{MODEL} is not installed ({e}); run scripts/test.sh");
            }
            eprintln!("skipped: {MODEL} is not installed ({e})");
            false
        }
    }
}

fn mindpulse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mindpulse"))
        .args(args)
        .env_remove("MINDPULSE_LOG_JSON")
        .output()
        .expect("run mindpulse")
}

#[test]
fn generate_answers_and_reports_speed() {
    if !installed() {
        return;
    }
    let o = mindpulse(&[
        "generate",
        "--model",
        MODEL,
        "--prompt",
        "What is the capital of France? Answer in one sentence.",
        "--max-tokens",
        "40",
        "--threads",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "The capital of France is Paris.\n"
    );
    assert!(stderr.contains("prompt tokens at"), "{stderr}");
    assert!(stderr.contains("generated at"), "{stderr}");
}

#[test]
fn generate_json_raw_and_prompt_file() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("prompt.txt");
    std::fs::write(
        &f,
        "<|im_start|>user\nWhat is the capital of France? Answer in one sentence.<|im_end|>\n<|im_start|>assistant\n",
    )
    .expect("write");
    let o = mindpulse(&[
        "generate",
        "--model",
        MODEL,
        "--raw",
        "--prompt-file",
        f.to_str().expect("utf-8 path"),
        "--max-tokens",
        "5",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["text"], "The capital of France is");
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["tokens"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["architecture"], "llama");
    assert!(v["prompt_tokens"].as_u64().is_some_and(|n| n > 10));
}

#[test]
fn generate_errors_are_clear() {
    let o = mindpulse(&["generate", "--model", "no-such-model", "--prompt", "hi"]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("no-such-model"), "{e}");

    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("broken.gguf");
    std::fs::write(&bad, b"GGUF\x03\x00\x00\x00\x01\x00").expect("write");
    let o = mindpulse(&[
        "generate",
        "--model",
        bad.to_str().expect("utf-8"),
        "--prompt",
        "hi",
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("truncated"), "{e}");
}

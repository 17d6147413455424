//! The `openai` backend against a real llama.cpp server (llama-cpp-python's
//! `python -m llama_cpp.server` from the venv of `scripts/setup_llama_server.sh`, serving
//! `smollm2-135m`), started and stopped here; and the local backend on the same GGUF.
//!
//! Outside CI a missing venv or model skips with a message; with `CI=true` it fails.

use mindpulse_llm_scorer::llama_server::{find_python, LlamaServer};
use mindpulse_llm_scorer::{
    Engine, Failure, LocalBackend, LocalConfig, Mode, OpenAiBackend, OpenAiConfig, PostInput,
    ResponseFormat, Scorer,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const MODEL: &str = "smollm2-135m";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn skip(why: &str) -> Option<()> {
    if in_ci() {
        panic!("{why} (required in CI)");
    }
    eprintln!("skipping: {why}");
    None
}

fn model() -> Option<PathBuf> {
    match mindpulse_models::resolve(MODEL) {
        Ok(m) => Some(m.path),
        Err(e) => {
            skip(&format!(
                "{MODEL} is not installed ({e}); run `mindpulse models install {MODEL}`"
            ))?;
            None
        }
    }
}

fn python() -> Option<PathBuf> {
    match find_python() {
        Some(p) => Some(p),
        None => {
            skip("no llama-cpp-python venv: run scripts/setup_llama_server.sh")?;
            None
        }
    }
}

/// The local backend on `model`, 2 threads, a 4,096-token context.
async fn start_local(model: PathBuf, max_tokens: usize, constrained: bool) -> LocalBackend {
    tokio::task::spawn_blocking(move || {
        LocalBackend::start(LocalConfig {
            model_path: model,
            threads: 2,
            max_tokens,
            max_context: 4096,
            constrained,
        })
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e}"))
}

fn posts() -> Vec<PostInput> {
    vec![
        PostInput {
            text: "最近总是失眠，每天都很焦虑，感觉活着没意思。".into(),
            lang: Some("zh".into()),
            topics: vec!["打工人".into()],
        },
        PostInput {
            text: "Had a great walk in the park with my dog today!".into(),
            lang: Some("en".into()),
            topics: vec![],
        },
        PostInput {
            text: "I drank alone again last night, I can't stop and I hate myself.".into(),
            lang: None,
            topics: vec!["recovery".into()],
        },
    ]
}

#[tokio::test]
async fn openai_backend_against_a_real_llama_cpp_server() {
    let (Some(python), Some(model)) = (python(), model()) else {
        return;
    };
    let server = LlamaServer::start(&python, &model, MODEL, 2, 4096, Duration::from_secs(240))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = OpenAiConfig::new(&server.base_url, &server.model);
    cfg.concurrency = 2;
    cfg.timeout = Duration::from_secs(300);
    cfg.max_tokens = 320;
    let backend = OpenAiBackend::new(cfg).unwrap();
    let models = backend.server_models().await.expect("GET /v1/models");
    assert!(models.iter().any(|m| m == MODEL), "{models:?}");
    let scorer = Arc::new(Scorer::new(Engine::OpenAi(backend), Mode::Generate, 2));
    let first = scorer.score_all(posts()[..2].to_vec()).await;
    for (i, o) in first.iter().enumerate() {
        match &o.result {
            Ok(p) => {
                assert!(p.scores.values.iter().all(|v| *v <= 5));
                assert!(o.prompt_tokens > 100, "usage reported: {}", o.prompt_tokens);
            }
            Err(Failure::Parse { .. }) => {}
            Err(e) => panic!("post {i}: {e}\n{}", server.log_tail()),
        }
    }
    // Schema-constrained output: a constrained 135M model still gives valid JSON.
    let Engine::OpenAi(b) = &scorer.engine else {
        unreachable!()
    };
    let format = b.response_format();
    assert_ne!(
        format,
        ResponseFormat::None,
        "the server accepted a schema form"
    );
    let parsed = first.iter().filter(|o| o.scores().is_some()).count();
    assert_eq!(
        parsed,
        first.len(),
        "constrained answers parse: {:?}",
        first.iter().map(|o| &o.result).collect::<Vec<_>>()
    );
    assert_eq!(first[0].lang.as_str(), "zh");
    assert_eq!(first[1].lang.as_str(), "en");
    // (Repeats are not compared here: llama-cpp-python's prompt cache can change a greedy
    // answer between a cold and a warm cache. The local backend's test checks determinism.)
}

#[tokio::test]
async fn local_backend_generate_and_fast_mode_are_deterministic() {
    let Some(model) = model() else {
        return;
    };
    let backend = start_local(model, 96, false).await;
    let scorer = Arc::new(Scorer::new(Engine::Local(backend), Mode::Generate, 1));
    let two = || posts()[..2].to_vec();
    let a = scorer.score_all(two()).await;
    let b = scorer.score_all(two()).await;
    for (x, y) in a.iter().zip(&b) {
        match (&x.result, &y.result) {
            (Ok(p), Ok(q)) => assert_eq!(p, q),
            (
                Err(Failure::Parse {
                    last_answer: l1,
                    attempts: n1,
                    ..
                }),
                Err(Failure::Parse {
                    last_answer: l2,
                    attempts: n2,
                    ..
                }),
            ) => {
                assert_eq!(l1, l2);
                assert_eq!(*n1, 2, "1 + parse_retries attempts");
                assert_eq!(n1, n2);
            }
            (r1, r2) => panic!("not deterministic or failed: {r1:?} vs {r2:?}"),
        }
        assert!(x.prompt_tokens > 100);
    }
    let fast = match Arc::try_unwrap(scorer) {
        Ok(s) => Arc::new(Scorer::new(s.engine, Mode::Fast, 0)),
        Err(_) => panic!("scorer still shared"),
    };
    let f1 = fast.score_all(two()).await;
    let f2 = fast.score_all(two()).await;
    for (x, y) in f1.iter().zip(&f2) {
        let s = x
            .scores()
            .unwrap_or_else(|| panic!("fast mode: {:?}", x.result));
        assert!(s.values.iter().all(|v| *v <= 5));
        assert_eq!(x.scores(), y.scores());
        let f = x.fast.as_ref().expect("distributions");
        assert!(f.confidence.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(f.expected.iter().all(|e| (0.0..=5.0).contains(e)));
    }
}

#[tokio::test]
async fn local_constrained_generation_always_parses_and_matches_fast_mode() {
    let Some(model) = model() else {
        return;
    };
    let backend = start_local(model, 48, true).await;
    assert!(backend.constrained());
    // Even the 135M model, which does not finish a free answer in 96 tokens, gives a
    // complete, strictly valid answer with a rationale on the first attempt.
    let scorer = Arc::new(Scorer::new(Engine::Local(backend), Mode::Generate, 0));
    let generated = scorer.score_all(posts()).await;
    for o in &generated {
        let p = o
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("constrained answer failed: {e}"));
        assert!(
            p.repairs.is_empty(),
            "strict JSON, nothing repaired: {:?}",
            p.repairs
        );
        assert_eq!(o.attempts, 1);
        assert!(o.completion_tokens >= 11, "{}", o.completion_tokens);
    }
    // Its values are fast mode's argmax: the same skeleton, the same distributions.
    let fast = match Arc::try_unwrap(scorer) {
        Ok(s) => Arc::new(Scorer::new(s.engine, Mode::Fast, 0)),
        Err(_) => panic!("scorer still shared"),
    };
    let f = fast.score_all(posts()).await;
    for (g, f) in generated.iter().zip(&f) {
        assert_eq!(
            g.scores().map(|s| s.values),
            f.scores().map(|s| s.values),
            "constrained generate and fast mode read the same distributions"
        );
    }
}

//! The `openai` backend against a small HTTP server of our own that misbehaves on cue:
//! garbage bodies and garbage answers, HTTP 500, 429 with Retry-After, a reply slower than
//! the timeout, a dropped connection, 401, a server that rejects `json_schema`, and a
//! concurrency limit. Also a resumable scoring run into the store (every backend, through
//! the score driver) fed by this server.

use mindpulse_llm_scorer::{run_version, LlmPostScorer};
use mindpulse_llm_scorer::{
    BackendError, Engine, Failure, Mode, OpenAiBackend, OpenAiConfig, PostInput, PromptSet,
    ResponseFormat, Scorer,
};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GOOD: &str = r#"{"F00_F09": 0, "F10_F19": 0, "F20_F29": 0, "F30_F39": 3, "F40_F48": 2, "F50_F59": 1, "F60_F69": 0, "F70_F79": 0, "F80_F89": 0, "F90_F98": 0, "negativity": 4, "rationale": "“睡不着”"}"#;

/// What the server does with one request.
#[derive(Clone, Debug)]
enum Act {
    /// 200 with a chat completion whose content is this text.
    Answer(String),
    /// A raw status, extra headers and body.
    Status(u16, Vec<(String, String)>, String),
    /// Sleep, then answer.
    Slow(Duration, String),
    /// Close the connection without answering.
    Drop,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Act>>,
    /// Used when the script is empty.
    fallback: Mutex<Option<Act>>,
    requests: Mutex<Vec<Value>>,
    times: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct FaultServer {
    base_url: String,
    shared: Arc<Shared>,
}

fn completion(content: &str) -> String {
    json!({
        "id": "x", "object": "chat.completion", "model": "fault-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    })
    .to_string()
}

async fn respond(mut sock: TcpStream, shared: Arc<Shared>) {
    // Read the head, then Content-Length bytes of body.
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
    if head.starts_with("get ") {
        let body = r#"{"object":"list","data":[{"id":"fault-model","object":"model"}]}"#;
        let _ = sock
            .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
            .await;
        return;
    }
    let body: Value = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
    shared.requests.lock().unwrap().push(body);
    shared.times.lock().unwrap().push(Instant::now());
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let act = {
        let next = shared.script.lock().unwrap().pop_front();
        next.or_else(|| shared.fallback.lock().unwrap().clone())
            .unwrap_or(Act::Answer(GOOD.into()))
    };
    let (status, headers, body) = match act {
        Act::Answer(c) => (200, Vec::new(), completion(&c)),
        Act::Status(s, h, b) => (s, h, b),
        Act::Slow(d, c) => {
            tokio::time::sleep(d).await;
            (200, Vec::new(), completion(&c))
        }
        Act::Drop => {
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            drop(sock);
            return;
        }
    };
    let mut resp = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        resp.push_str(&format!("{k}: {v}\r\n"));
    }
    resp.push_str("\r\n");
    resp.push_str(&body);
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
}

impl FaultServer {
    async fn start(script: Vec<Act>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        shared.script.lock().unwrap().extend(script);
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(respond(sock, s.clone()));
            }
        });
        FaultServer {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            shared,
        }
    }

    fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    fn config(&self) -> OpenAiConfig {
        let mut cfg = OpenAiConfig::new(&self.base_url, "fault-model");
        cfg.timeout = Duration::from_millis(1500);
        cfg.retries = 2;
        cfg.backoff = Duration::from_millis(20);
        cfg
    }

    fn scorer(&self, cfg: OpenAiConfig, parse_retries: u32) -> Scorer {
        Scorer::new(
            Engine::OpenAi(OpenAiBackend::new(cfg).unwrap()),
            Mode::Generate,
            parse_retries,
        )
    }
}

fn post(text: &str) -> PostInput {
    PostInput {
        text: text.into(),
        lang: Some("zh".into()),
        topics: vec!["失眠".into()],
    }
}

#[tokio::test]
async fn good_answer_is_scored_and_the_request_is_greedy_readable_and_constrained() {
    let srv = FaultServer::start(vec![]).await;
    let o = srv
        .scorer(srv.config(), 2)
        .score(&post("最近总是睡不着"))
        .await;
    let s = o.scores().expect("scored");
    assert_eq!(s.values[3], 3);
    assert_eq!(o.attempts, 1);
    assert_eq!(o.model.as_deref(), Some("fault-model"));
    let req = &srv.requests()[0];
    assert_eq!(req["temperature"], 0.0);
    assert_eq!(req["seed"], 0);
    assert_eq!(req["response_format"]["type"], "json_schema");
    assert_eq!(
        req["messages"].as_array().unwrap().len(),
        2,
        "no shared history"
    );
    let user = req["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("最近总是睡不着") && user.contains("#失眠#"),
        "{user}"
    );
}

#[tokio::test]
async fn garbage_http_body_is_retried() {
    let srv = FaultServer::start(vec![Act::Status(200, vec![], "<html>garbage".into())]).await;
    let o = srv.scorer(srv.config(), 0).score(&post("x")).await;
    assert!(o.scores().is_some(), "{:?}", o.result);
    assert_eq!(srv.requests().len(), 2);
}

#[tokio::test]
async fn garbage_answers_are_retried_with_the_error_then_recorded_as_a_parse_failure() {
    let srv = FaultServer::start(vec![]).await;
    *srv.shared.fallback.lock().unwrap() =
        Some(Act::Answer("I am sorry, I cannot help with that.".into()));
    let o = srv.scorer(srv.config(), 2).score(&post("x")).await;
    match &o.result {
        Err(Failure::Parse {
            attempts,
            last_answer,
            ..
        }) => {
            assert_eq!(*attempts, 3);
            assert!(last_answer.contains("cannot help"));
        }
        other => panic!("expected a parse failure, got {other:?}"),
    }
    let reqs = srv.requests();
    assert_eq!(
        reqs.len(),
        3,
        "exactly 1 + parse_retries calls, never an endless loop"
    );
    let retry = reqs[1]["messages"].as_array().unwrap();
    assert_eq!(retry.len(), 4);
    assert_eq!(retry[2]["role"], "assistant");
    assert!(retry[3]["content"]
        .as_str()
        .unwrap()
        .contains("no JSON object"));
}

#[tokio::test]
async fn repairable_answer_needs_no_retry() {
    let fenced = format!("```json\n{}\n```", GOOD.replace('}', ",}"));
    let srv = FaultServer::start(vec![Act::Answer(fenced)]).await;
    let o = srv.scorer(srv.config(), 2).score(&post("x")).await;
    let parsed = o.result.as_ref().expect("repaired");
    assert!(!parsed.repairs.is_empty());
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn http_500_is_retried_with_backoff() {
    let srv = FaultServer::start(vec![
        Act::Status(500, vec![], r#"{"error":{"message":"boom"}}"#.into()),
        Act::Status(503, vec![], "busy".into()),
    ])
    .await;
    let o = srv.scorer(srv.config(), 0).score(&post("x")).await;
    assert!(o.scores().is_some(), "{:?}", o.result);
    assert_eq!(srv.requests().len(), 3);
}

#[tokio::test]
async fn persistent_500_gives_a_clear_error_after_the_retries() {
    let srv = FaultServer::start(vec![]).await;
    *srv.shared.fallback.lock().unwrap() = Some(Act::Status(
        500,
        vec![],
        r#"{"error":{"message":"boom"}}"#.into(),
    ));
    let o = srv.scorer(srv.config(), 2).score(&post("x")).await;
    match &o.result {
        Err(Failure::Backend(e @ BackendError::Exhausted { attempts, .. })) => {
            assert_eq!(*attempts, 3);
            assert!(!e.is_per_request());
            assert!(e.to_string().contains("HTTP 500: boom"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(srv.requests().len(), 3);
}

#[tokio::test]
async fn http_429_waits_for_retry_after() {
    let srv = FaultServer::start(vec![Act::Status(
        429,
        vec![("retry-after".into(), "1".into())],
        r#"{"error":{"message":"slow down"}}"#.into(),
    )])
    .await;
    let o = srv.scorer(srv.config(), 0).score(&post("x")).await;
    assert!(o.scores().is_some(), "{:?}", o.result);
    let times = srv.shared.times.lock().unwrap().clone();
    assert_eq!(times.len(), 2);
    let gap = times[1] - times[0];
    // The configured backoff is 20 ms: only Retry-After explains a one-second wait.
    assert!(gap >= Duration::from_millis(950), "waited {gap:?}");
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_retried() {
    let srv = FaultServer::start(vec![Act::Slow(Duration::from_secs(3), GOOD.into())]).await;
    let mut cfg = srv.config();
    cfg.timeout = Duration::from_millis(400);
    let started = Instant::now();
    let o = srv.scorer(cfg, 0).score(&post("x")).await;
    assert!(o.scores().is_some(), "{:?}", o.result);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not wait for the slow reply"
    );
    assert_eq!(srv.requests().len(), 2);

    let srv = FaultServer::start(vec![]).await;
    *srv.shared.fallback.lock().unwrap() = Some(Act::Slow(Duration::from_secs(3), GOOD.into()));
    let mut cfg = srv.config();
    cfg.timeout = Duration::from_millis(300);
    cfg.retries = 1;
    let o = srv.scorer(cfg, 0).score(&post("x")).await;
    let err = o.result.expect_err("timed out").to_string();
    assert!(err.contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let srv = FaultServer::start(vec![Act::Drop, Act::Drop]).await;
    let o = srv.scorer(srv.config(), 0).score(&post("x")).await;
    assert!(o.scores().is_some(), "{:?}", o.result);
    assert_eq!(srv.requests().len(), 3);
}

#[tokio::test]
async fn http_401_fails_at_once_with_a_hint_and_no_key_in_the_message() {
    let srv = FaultServer::start(vec![]).await;
    *srv.shared.fallback.lock().unwrap() = Some(Act::Status(
        401,
        vec![],
        r#"{"error":{"message":"invalid api key"}}"#.into(),
    ));
    let mut cfg = srv.config();
    cfg.api_key = Some("sk-test-secret".into());
    cfg.api_key_env = "MY_KEY".into();
    let o = srv.scorer(cfg, 2).score(&post("x")).await;
    let err = o.result.expect_err("rejected");
    let msg = err.to_string();
    assert!(
        msg.contains("HTTP 401") && msg.contains("invalid api key") && msg.contains("$MY_KEY"),
        "{msg}"
    );
    assert!(!msg.contains("sk-test-secret"));
    assert_eq!(srv.requests().len(), 1, "no retries on 4xx");
}

#[tokio::test]
async fn a_400_on_one_post_is_per_request() {
    let srv = FaultServer::start(vec![Act::Status(
        400,
        vec![],
        r#"{"error":{"message":"content filter: sensitive text"}}"#.into(),
    )])
    .await;
    let o = srv.scorer(srv.config(), 2).score(&post("x")).await;
    match o.result {
        Err(Failure::Backend(e)) => assert!(e.is_per_request(), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rejected_response_formats_step_down() {
    let srv = FaultServer::start(vec![
        Act::Status(
            422,
            vec![],
            r#"{"detail":"response_format.type: json_schema is not supported"}"#.into(),
        ),
        Act::Status(
            400,
            vec![],
            r#"{"error":{"message":"unknown field schema in response_format"}}"#.into(),
        ),
    ])
    .await;
    let backend = OpenAiBackend::new(srv.config()).unwrap();
    assert_eq!(backend.response_format(), ResponseFormat::JsonSchema);
    let scorer = Scorer::new(Engine::OpenAi(backend), Mode::Generate, 0);
    let o = scorer.score(&post("x")).await;
    assert!(o.scores().is_some(), "{:?}", o.result);
    let reqs = srv.requests();
    assert_eq!(reqs[0]["response_format"]["type"], "json_schema");
    assert_eq!(reqs[1]["response_format"]["type"], "json_object");
    assert!(reqs[2].get("response_format").is_none());
    // Remembered for the next post.
    let _ = scorer.score(&post("y")).await;
    assert!(srv.requests()[3].get("response_format").is_none());
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let srv = FaultServer::start(vec![]).await;
    *srv.shared.fallback.lock().unwrap() = Some(Act::Slow(Duration::from_millis(200), GOOD.into()));
    let mut cfg = srv.config();
    cfg.concurrency = 2;
    let scorer = Arc::new(srv.scorer(cfg, 0));
    let posts: Vec<PostInput> = (0..6).map(|i| post(&format!("post {i}"))).collect();
    let outcomes = scorer.score_all(posts).await;
    assert!(outcomes.iter().all(|o| o.scores().is_some()));
    assert_eq!(srv.shared.max_in_flight.load(Ordering::SeqCst), 2);
}

mod store {
    use super::*;
    use chrono::{TimeZone, Utc};
    use mindpulse_core::PostScorer;
    use mindpulse_core::{CleanPost, PostKind};
    use mindpulse_score::{run, DriverOptions};
    use mindpulse_store::testing::TestDb;
    use mindpulse_store::{NewPost, OnConflict, RunKind, Store, TopicCache};

    fn new_post(i: usize, text: &str, lang: &str) -> NewPost {
        NewPost {
            post: CleanPost {
                platform: "weibo".into(),
                platform_id: format!("m{i}"),
                kind: PostKind::Post,
                parent_id: None,
                root_id: None,
                author: None,
                text: text.into(),
                lang: Some(lang.into()),
                created_at: Some(Utc.with_ymd_and_hms(2025, 11, 22, 2, 0, 0).unwrap()),
                collected_at: Utc.with_ymd_and_hms(2025, 11, 22, 3, 0, 0).unwrap(),
                topics: vec!["失眠".into()],
                repost_count: 0,
                comment_count: 0,
                like_count: 0,
                region: None,
                content_hash: format!("{i:032x}"),
                simhash: None,
                raw: None,
                author_info: None,
            },
            dup_group: None,
            dup_kind: None,
        }
    }

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        let posts = vec![
            new_post(1, "最近总是睡不着，好累", "zh"),
            new_post(2, "an answer the model fumbles", "en"),
            new_post(3, "I feel fine today", "en"),
            new_post(4, "又失眠了", "zh"),
        ];
        store
            .insert_posts(
                &posts,
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap();
        let srv = FaultServer::start(vec![]).await;
        let scorer = Arc::new(srv.scorer(srv.config(), 1));
        let llm = Arc::new(LlmPostScorer::new(
            scorer.clone(),
            "openai",
            "fault-model".into(),
            None,
            json!({"base_url": srv.base_url}),
        ));
        let opts = DriverOptions {
            limit: Some(2),
            batch_size: 1,
            ..DriverOptions::default()
        };
        let stop = AtomicBool::new(false);
        *srv.shared.fallback.lock().unwrap() = Some(Act::Answer(GOOD.into()));
        srv.shared.script.lock().unwrap().extend([
            Act::Answer(GOOD.into()),
            Act::Answer("no idea".into()),
            Act::Answer("still no idea".into()),
        ]);
        let first = run(&store, llm.clone(), &opts, &stop, &|_| {})
            .await
            .unwrap();
        assert_eq!(
            (
                first.posts,
                first.counters.get("failed").copied(),
                first.remaining
            ),
            (2, Some(1), 2),
            "{name}"
        );
        let export = store
            .export_page(&Default::default(), 0, 10, true)
            .await
            .unwrap();
        let s1 = export[0].scores.as_ref().unwrap();
        assert_eq!(s1.len(), 11, "{name}: long format, one row per dimension");
        let dep = s1.iter().find(|s| s.dimension == "F30_F39").unwrap();
        assert_eq!(dep.value, 3.0);
        assert_eq!(dep.scale, "0-5");
        assert_eq!(
            dep.rationale.as_deref(),
            Some("“睡不着”"),
            "{name}: rationale kept"
        );
        let s2 = export[1].scores.as_ref().unwrap();
        assert_eq!(s2.len(), 1);
        assert_eq!(s2[0].dimension, "llm_failure");
        assert_eq!(s2[0].label.as_deref(), Some("parse_error"));

        // Provenance on the run.
        let runs = store.runs(Some(RunKind::Score), 10).await.unwrap();
        let run0 = &runs[0];
        assert_eq!(run0.model_id.as_deref(), Some("fault-model"));
        assert_eq!(
            run0.version.as_deref(),
            Some(run_version(PromptSet::latest(), Mode::Generate, "openai").as_str())
        );
        let params: Value = serde_json::from_str(run0.params.as_deref().unwrap()).unwrap();
        assert_eq!(params["prompt_sha256"]["zh"].as_str().unwrap().len(), 64);
        assert_eq!(params["base_url"], srv.base_url.as_str());
        assert_eq!(run0.status, "done");
        assert_eq!(run0.counts.accepted, 1);
        assert_eq!(run0.counts.failed, 1);

        // Resume: the rest, and nothing twice.
        let all = DriverOptions {
            limit: None,
            batch_size: 8,
            ..DriverOptions::default()
        };
        let second = run(&store, llm.clone(), &all, &stop, &|_| {})
            .await
            .unwrap();
        assert_eq!(
            (
                second.posts,
                second.counters.get("failed").copied(),
                second.remaining
            ),
            (2, None, 0),
            "{name}"
        );
        let third = run(&store, llm.clone(), &all, &stop, &|_| {})
            .await
            .unwrap();
        assert_eq!(third.posts, 0, "{name}");

        // A server that is down ends the run as failed, storing nothing for the post.
        let dead = srv.config();
        let mut dead = OpenAiConfig {
            base_url: "http://127.0.0.1:9/v1".into(),
            ..dead.clone()
        };
        dead.retries = 0;
        let dead_scorer = Arc::new(Scorer::new(
            Engine::OpenAi(OpenAiBackend::new(dead).unwrap()),
            Mode::Generate,
            0,
        ));
        let other = Arc::new(LlmPostScorer::new(
            dead_scorer,
            "openai",
            "other-model".into(),
            None,
            json!({}),
        ));
        let err = run(&store, other.clone(), &all, &stop, &|_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains("run again to continue"), "{err}");
        let other_id = store.ensure_scorer(other.info()).await.unwrap();
        assert_eq!(store.unscored_count(other_id, None).await.unwrap(), 4);
        let runs = store.runs(Some(RunKind::Score), 1).await.unwrap();
        assert_eq!(runs[0].status, "failed");
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resumable_run_with_provenance_on_every_backend() {
        for db in TestDb::all().await {
            suite(&db).await;
            db.drop_db().await;
        }
    }
}

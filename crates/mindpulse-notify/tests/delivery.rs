//! Real HTTP against a small local server (tokio `TcpListener` on 127.0.0.1:0) that
//! records each request and answers from a script: formats, signatures, retries,
//! timeouts, platform error codes, redaction, and configuration errors.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use mindpulse_notify::{
    AlertMessage, Format, Level, Notifier, NotifyError, NotifyOptions, WebhookConfig,
};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------- the local server

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    /// Path and query, as sent.
    target: String,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    fn query(&self) -> Vec<(String, String)> {
        let query = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}

#[derive(Clone, Debug)]
enum Reply {
    /// Status, extra headers, body.
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Read the request, then never answer.
    Hang,
}

fn ok(body: &str) -> Reply {
    Reply::Answer(200, vec![], body.to_string())
}

fn status(code: u16, body: &str) -> Reply {
    Reply::Answer(code, vec![], body.to_string())
}

struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// The n-th request gets `replies[n]`, or the last reply once they run out.
    async fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let recorded = Arc::clone(&recorded);
                let replies = replies.clone();
                tokio::spawn(async move {
                    let _ = handle(stream, recorded, replies).await;
                });
            }
        });
        Server { addr, requests }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn handle(
    mut stream: TcpStream,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    replies: Vec<Reply>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let index = {
        let mut all = recorded.lock().expect("lock");
        all.push(Recorded {
            method,
            target,
            headers,
            body,
        });
        all.len() - 1
    };
    let reply = replies
        .get(index)
        .or(replies.last())
        .cloned()
        .unwrap_or_else(|| ok(""));
    match reply {
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Reply::Answer(code, extra, body) => {
            let mut response = format!(
                "HTTP/1.1 {code} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                response.push_str(&format!("{k}: {v}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(&body);
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await
        }
    }
}

// ---------------------------------------------------------------- helpers

const SECRET: &str = "SECtop-secret-value-123";
const SECRET_VAR: &str = "MINDPULSE_TEST_SECRET";

fn hook(name: &str, url: String, format: Format) -> WebhookConfig {
    WebhookConfig {
        name: name.to_string(),
        url,
        format,
        secret_env: None,
        secret_header: None,
        timeout_secs: Some(5),
        max_attempts: None,
        min_level: None,
    }
}

fn signed(mut config: WebhookConfig) -> WebhookConfig {
    config.secret_env = Some(SECRET_VAR.to_string());
    config
}

fn fast() -> NotifyOptions {
    NotifyOptions {
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
    }
}

fn notifier(hooks: Vec<WebhookConfig>) -> Notifier {
    Notifier::with_options(hooks, fast(), |var| {
        (var == SECRET_VAR).then(|| SECRET.to_string())
    })
    .expect("valid configuration")
}

fn message() -> AlertMessage {
    AlertMessage {
        id: 42,
        metric: "suicidality_share".into(),
        group: Some("weibo".into()),
        bucket: "2025-03-14".into(),
        level: "alert".into(),
        observed: 0.1834,
        expected: Some(0.12),
        score: Some(4.25),
        p_value: Some(0.000_031),
        detector: "stl_zscore".into(),
        summary: "Suicidality share on Weibo is 53% above its expected level".into(),
        link: Some("https://dash.example/alerts/42".into()),
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------- formats

#[tokio::test]
async fn json_body_secret_header_and_signature() {
    let server = Server::start(vec![ok("")]).await;
    let n = notifier(vec![signed(hook(
        "internal",
        server.url("/hooks/mindpulse"),
        Format::Json,
    ))]);
    let d = n.deliver("internal", &message()).await.expect("delivered");
    assert_eq!((d.attempts, d.status), (1, 200));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/hooks/mindpulse");
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    let body = r.json();
    assert_eq!(body["kind"], "mindpulse.alert");
    assert_eq!(body["version"], 1);
    assert_eq!(body["id"], 42);
    assert_eq!(body["metric"], "suicidality_share");
    assert_eq!(body["group"], "weibo");
    assert_eq!(body["level"], "alert");
    assert_eq!(body["observed"], 0.1834);
    assert_eq!(body["p_value"], 0.000_031);
    assert_eq!(body["link"], "https://dash.example/alerts/42");
    // The message round-trips from the body.
    let back: AlertMessage = serde_json::from_value(body).expect("message fields");
    assert_eq!(back, message());

    assert_eq!(r.header("x-mindpulse-secret"), Some(SECRET));
    let ts = r.header("x-mindpulse-timestamp").expect("timestamp header");
    let ts_num: i64 = ts.parse().expect("numeric timestamp");
    assert!((chrono::Utc::now().timestamp() - ts_num).abs() < 600);
    let mut signed_msg = format!("{ts}.").into_bytes();
    signed_msg.extend_from_slice(&r.body);
    let expected: String = hmac_sha256(SECRET.as_bytes(), &signed_msg)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        r.header("x-mindpulse-signature"),
        Some(format!("sha256={expected}").as_str())
    );
}

#[tokio::test]
async fn json_without_secret_has_no_auth_headers_and_custom_header_is_used() {
    let server = Server::start(vec![ok("")]).await;
    let plain = hook("plain", server.url("/a"), Format::Json);
    let mut custom = signed(hook("custom", server.url("/b"), Format::Json));
    custom.secret_header = Some("Authorization-Token".into());
    let n = notifier(vec![plain, custom]);
    n.deliver("plain", &message()).await.expect("plain");
    n.deliver("custom", &message()).await.expect("custom");
    let reqs = server.requests();
    let plain = reqs
        .iter()
        .find(|r| r.target == "/a")
        .expect("plain request");
    assert_eq!(plain.header("x-mindpulse-secret"), None);
    assert_eq!(plain.header("x-mindpulse-signature"), None);
    let custom = reqs
        .iter()
        .find(|r| r.target == "/b")
        .expect("custom request");
    assert_eq!(custom.header("authorization-token"), Some(SECRET));
    assert_eq!(custom.header("x-mindpulse-secret"), None);
    assert!(custom.header("x-mindpulse-signature").is_some());
}

#[tokio::test]
async fn feishu_post_body_and_signature() {
    let server = Server::start(vec![ok(r#"{"code":0,"data":{},"msg":"success"}"#)]).await;
    let n = notifier(vec![signed(hook(
        "feishu",
        server.url("/open-apis/bot/v2/hook/0f1e2d3c-aaaa-bbbb"),
        Format::Feishu,
    ))]);
    let d = n.deliver("feishu", &message()).await.expect("delivered");
    assert_eq!(d.attempts, 1);

    let r = &server.requests()[0];
    assert_eq!(r.target, "/open-apis/bot/v2/hook/0f1e2d3c-aaaa-bbbb");
    let body = r.json();
    assert_eq!(body["msg_type"], "post");
    let post = &body["content"]["post"]["zh_cn"];
    assert_eq!(
        post["title"],
        "[ALERT] suicidality_share · weibo · 2025-03-14"
    );
    let lines = post["content"].as_array().expect("content lines");
    assert_eq!(lines[0][0]["tag"], "text");
    assert_eq!(lines[0][0]["text"], message().summary);
    let last = &lines[lines.len() - 1][0];
    assert_eq!(last["tag"], "a");
    assert_eq!(last["href"], "https://dash.example/alerts/42");

    // Feishu: timestamp (seconds, a string) and sign =
    // base64(HMAC-SHA256(key = "{timestamp}\n{secret}", message = "")).
    let ts = body["timestamp"].as_str().expect("timestamp is a string");
    let ts_num: i64 = ts.parse().expect("numeric");
    assert!(
        (chrono::Utc::now().timestamp() - ts_num).abs() < 600,
        "seconds"
    );
    let expected = b64(&hmac_sha256(format!("{ts}\n{SECRET}").as_bytes(), b""));
    assert_eq!(body["sign"], expected);
}

#[tokio::test]
async fn feishu_unsigned_has_no_sign() {
    let server = Server::start(vec![ok(r#"{"StatusCode":0,"StatusMessage":"success"}"#)]).await;
    let n = notifier(vec![hook("feishu", server.url("/h"), Format::Feishu)]);
    n.deliver("feishu", &message()).await.expect("delivered");
    let body = server.requests()[0].json();
    assert!(body.get("sign").is_none() && body.get("timestamp").is_none());
}

#[tokio::test]
async fn dingtalk_markdown_body_and_query_signature() {
    let server = Server::start(vec![ok(r#"{"errcode":0,"errmsg":"ok"}"#)]).await;
    let n = notifier(vec![signed(hook(
        "ding",
        server.url("/robot/send?access_token=tok123456"),
        Format::Dingtalk,
    ))]);
    let d = n.deliver("ding", &message()).await.expect("delivered");
    assert_eq!(d.attempts, 1);

    let r = &server.requests()[0];
    assert!(r
        .target
        .starts_with("/robot/send?access_token=tok123456&timestamp="));
    let query = r.query();
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .expect("query parameter")
    };
    assert_eq!(get("access_token"), "tok123456");
    let ts = get("timestamp");
    assert_eq!(ts.len(), 13, "milliseconds");
    let ts_num: i64 = ts.parse().expect("numeric");
    assert!((chrono::Utc::now().timestamp_millis() - ts_num).abs() < 600_000);
    // DingTalk: sign = urlencode(base64(HMAC-SHA256(key = secret, "{timestamp}\n{secret}"))).
    let expected = b64(&hmac_sha256(
        SECRET.as_bytes(),
        format!("{ts}\n{SECRET}").as_bytes(),
    ));
    assert_eq!(get("sign"), expected);
    // On the wire the base64 is percent-encoded (`+`, `/`, `=`).
    let raw_sign = r.target.split("&sign=").nth(1).expect("sign in the query");
    let encoded = expected
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(raw_sign, encoded);

    let body = r.json();
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(
        body["markdown"]["title"],
        "[ALERT] suicidality_share · weibo · 2025-03-14"
    );
    let text = body["markdown"]["text"].as_str().expect("text");
    assert!(text.starts_with("#### [ALERT] suicidality_share"));
    assert!(text.contains(&message().summary));
    assert!(text.contains("observed 0.1834 · expected 0.12 · score 4.25 · p 3.1e-5"));
    assert!(text.contains("[Open in mindpulse](https://dash.example/alerts/42)"));
}

#[tokio::test]
async fn slack_text_body() {
    let server = Server::start(vec![ok("ok")]).await;
    let n = notifier(vec![hook(
        "slack",
        server.url("/services/T000/B000/XXXXXXXX"),
        Format::Slack,
    )]);
    let mut msg = message();
    msg.summary = "a < b & c > d".into();
    n.deliver("slack", &msg).await.expect("delivered");
    let body = server.requests()[0].json();
    let obj = body.as_object().expect("object");
    assert_eq!(obj.len(), 1, "only `text`: {body}");
    let text = body["text"].as_str().expect("text");
    assert!(text.starts_with("*[ALERT] suicidality_share · weibo · 2025-03-14*\n"));
    assert!(text.contains("a &lt; b &amp; c &gt; d"));
    assert!(text.ends_with("<https://dash.example/alerts/42|Open in mindpulse>"));
}

// ---------------------------------------------------------------- retries and failures

#[tokio::test]
async fn server_error_then_success_takes_two_attempts() {
    let server = Server::start(vec![status(503, "busy"), ok("")]).await;
    let n = notifier(vec![hook("h", server.url("/x"), Format::Json)]);
    let d = n
        .deliver("h", &message())
        .await
        .expect("delivered on retry");
    assert_eq!((d.attempts, d.status), (2, 200));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn client_error_is_not_retried() {
    let server = Server::start(vec![status(400, "invalid_payload")]).await;
    let n = notifier(vec![hook("h", server.url("/x"), Format::Slack)]);
    let err = n.deliver("h", &message()).await.expect_err("400 fails");
    assert_eq!(server.requests().len(), 1);
    match &err {
        NotifyError::Status {
            status,
            attempts,
            detail,
            ..
        } => {
            assert_eq!((*status, *attempts), (400, 1));
            assert_eq!(detail, "invalid_payload");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_transient());
    assert_eq!(err.hook(), Some("h"));
    assert!(err.to_string().contains("`h`"), "{err}");
    assert!(err.to_string().contains("HTTP 400"), "{err}");
}

#[tokio::test]
async fn persistent_server_error_gives_up_after_max_attempts() {
    let server = Server::start(vec![status(500, "boom")]).await;
    let mut config = hook("h", server.url("/x"), Format::Json);
    config.max_attempts = Some(4);
    let n = notifier(vec![config]);
    let err = n.deliver("h", &message()).await.expect_err("always 500");
    assert_eq!(server.requests().len(), 4);
    assert_eq!(err.attempts(), 4);
    assert!(err.is_transient());
    assert!(matches!(err, NotifyError::Status { status: 500, .. }));
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let server = Server::start(vec![
        Reply::Answer(429, vec![("Retry-After", "0".into())], String::new()),
        ok(""),
    ])
    .await;
    let n = notifier(vec![hook("h", server.url("/x"), Format::Json)]);
    let d = n.deliver("h", &message()).await.expect("delivered");
    assert_eq!(d.attempts, 2);

    // A Retry-After beyond the cap ends the delivery at once, for the next scan.
    let server = Server::start(vec![Reply::Answer(
        429,
        vec![("Retry-After", "3600".into())],
        String::new(),
    )])
    .await;
    let n = notifier(vec![hook("h", server.url("/x"), Format::Json)]);
    let err = n.deliver("h", &message()).await.expect_err("rate limited");
    assert_eq!(server.requests().len(), 1);
    match err {
        NotifyError::Status {
            status: 429,
            retry_after,
            ..
        } => assert_eq!(retry_after, Some(Duration::from_secs(3600))),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn hanging_server_times_out() {
    let server = Server::start(vec![Reply::Hang]).await;
    let mut config = hook("slow", server.url("/x"), Format::Json);
    config.timeout_secs = Some(1);
    config.max_attempts = Some(2);
    let n = notifier(vec![config]);
    let err = n.deliver("slow", &message()).await.expect_err("times out");
    match &err {
        NotifyError::Timeout {
            hook,
            attempts,
            timeout,
            ..
        } => {
            assert_eq!(hook, "slow");
            assert_eq!(*attempts, 2);
            assert_eq!(*timeout, Duration::from_secs(1));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    }; // closed again: nothing listens there now
    let mut config = hook("gone", format!("http://{addr}/x"), Format::Json);
    config.max_attempts = Some(2);
    let n = notifier(vec![config]);
    let err = n.deliver("gone", &message()).await.expect_err("refused");
    assert!(
        matches!(err, NotifyError::Transport { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn feishu_error_code_in_200_is_a_failure() {
    let server = Server::start(vec![ok(
        r#"{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
    )])
    .await;
    let n = notifier(vec![signed(hook(
        "feishu",
        server.url("/h"),
        Format::Feishu,
    ))]);
    let err = n.deliver("feishu", &message()).await.expect_err("rejected");
    assert_eq!(server.requests().len(), 1, "not retried");
    match &err {
        NotifyError::Rejected { code, message, .. } => {
            assert_eq!(*code, 19021);
            assert!(message.starts_with("sign match fail"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_transient());
}

#[tokio::test]
async fn dingtalk_error_code_in_200_is_a_failure() {
    let server = Server::start(vec![ok(r#"{"errcode":310000,"errmsg":"sign not match"}"#)]).await;
    let n = notifier(vec![signed(hook(
        "ding",
        server.url("/robot/send?access_token=abcdefgh"),
        Format::Dingtalk,
    ))]);
    let err = n.deliver("ding", &message()).await.expect_err("rejected");
    assert!(
        matches!(
            err,
            NotifyError::Rejected {
                code: 310000,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("310000"));

    // DingTalk's rate limit is a rejection too, but worth retrying on the next scan.
    let server = Server::start(vec![ok(r#"{"errcode":130101,"errmsg":"send too fast"}"#)]).await;
    let n = notifier(vec![hook(
        "ding",
        server.url("/robot/send"),
        Format::Dingtalk,
    )]);
    let err = n.deliver("ding", &message()).await.expect_err("rejected");
    assert!(err.is_transient());
}

// ---------------------------------------------------------------- secrets stay secret

#[tokio::test]
async fn secrets_and_url_tokens_never_show() {
    const TOKEN: &str = "tokABCDEF987654";
    // A hostile or buggy server that echoes everything back, including the secret.
    let echo = format!("bad request {SECRET} for /robot/send?access_token={TOKEN}");
    let server = Server::start(vec![status(500, &echo)]).await;
    let url = server.url(&format!("/robot/send?access_token={TOKEN}"));
    let config = signed(hook("ding", url, Format::Dingtalk));

    let config_debug = format!("{config:?}");
    assert!(!config_debug.contains(TOKEN), "{config_debug}");
    assert!(config_debug.contains("127.0.0.1"), "{config_debug}");

    // Capture every log line of the delivery.
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = Arc::clone(&logs);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || LogSink(Arc::clone(&sink)))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut config = config;
    config.max_attempts = Some(2);
    let n = notifier(vec![config]);
    let notifier_debug = format!("{n:?}");
    let err = n.deliver("ding", &message()).await.expect_err("500");
    let shown = format!("{err}\n{err:?}\n{notifier_debug}");
    for needle in [SECRET, TOKEN] {
        assert!(!shown.contains(needle), "`{needle}` leaked in: {shown}");
    }
    assert!(shown.contains("ding"), "{shown}");

    let logs = String::from_utf8_lossy(&logs.lock().expect("lock")).to_string();
    assert!(
        logs.contains("ding"),
        "the hook is named in the logs: {logs}"
    );
    assert!(
        logs.contains("127.0.0.1"),
        "the host is in the logs: {logs}"
    );
    for needle in [SECRET, TOKEN] {
        assert!(!logs.contains(needle), "`{needle}` leaked in logs: {logs}");
    }
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn missing_secret_names_the_variable_not_a_value() {
    let mut config = hook("f", "https://open.feishu.cn/hook/x".into(), Format::Feishu);
    config.secret_env = Some("MINDPULSE_NOTIFY_TEST_SURELY_UNSET_7F3A".into());
    let err = Notifier::new(vec![config.clone()]).expect_err("unset variable");
    assert!(matches!(err, NotifyError::MissingSecret { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("`f`"), "{text}");
    assert!(
        text.contains("MINDPULSE_NOTIFY_TEST_SURELY_UNSET_7F3A"),
        "{text}"
    );
    // An empty value counts as missing.
    let err = Notifier::with_options(vec![config], fast(), |_| Some(String::new()))
        .expect_err("empty secret");
    assert!(matches!(err, NotifyError::MissingSecret { .. }));
}

// ---------------------------------------------------------------- configuration

#[derive(serde::Deserialize)]
struct File {
    alerts: Alerts,
}

#[derive(serde::Deserialize)]
struct Alerts {
    webhooks: Vec<WebhookConfig>,
}

const EXAMPLE: &str = r#"
[[alerts.webhooks]]
name = "oncall-feishu"
url = "https://open.feishu.cn/open-apis/bot/v2/hook/xxxxxxxx-xxxx"
format = "feishu"
secret_env = "MINDPULSE_FEISHU_SECRET"
min_level = "alert"

[[alerts.webhooks]]
name = "ops-dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=xxxxxxxx"
format = "dingtalk"
secret_env = "MINDPULSE_DINGTALK_SECRET"
timeout_secs = 5
max_attempts = 4

[[alerts.webhooks]]
name = "research-slack"
url = "https://hooks.slack.com/services/T000/B000/xxxxxxxx"
format = "slack"

[[alerts.webhooks]]
name = "internal"
url = "https://alerts.example.org/mindpulse"
format = "json"
secret_env = "MINDPULSE_WEBHOOK_SECRET"
secret_header = "X-Mindpulse-Secret"
"#;

#[test]
fn documented_example_parses_and_validates() {
    let file: File = toml::from_str(EXAMPLE).expect("example parses");
    let hooks = file.alerts.webhooks;
    assert_eq!(hooks.len(), 4);
    assert_eq!(hooks[0].format, Format::Feishu);
    assert_eq!(hooks[0].min_level, Some(Level::Alert));
    assert_eq!(hooks[1].max_attempts, Some(4));
    assert_eq!(hooks[2].secret_env, None);
    for h in &hooks {
        h.validate().expect("valid");
    }
    let n = Notifier::with_options(hooks, fast(), |_| Some("s3cret".into())).expect("builds");
    assert_eq!(
        n.hook_names().collect::<Vec<_>>(),
        [
            "oncall-feishu",
            "ops-dingtalk",
            "research-slack",
            "internal"
        ]
    );
    // min_level: the Feishu hook only wants alerts.
    assert_eq!(
        n.targets("warning"),
        ["ops-dingtalk", "research-slack", "internal"]
    );
    assert_eq!(n.targets("ALERT").len(), 4);
    assert_eq!(
        n.targets("something-new").len(),
        4,
        "unknown levels are not dropped"
    );
}

#[test]
fn unknown_keys_and_formats_are_rejected() {
    let err = toml::from_str::<File>(
        "[[alerts.webhooks]]\nname = \"a\"\nurl = \"https://x.example\"\nformat = \"json\"\nsecret = \"oops\"\n",
    )
    .err()
    .expect("unknown key");
    assert!(err.to_string().contains("secret"), "{err}");
    let err = toml::from_str::<File>(
        "[[alerts.webhooks]]\nname = \"a\"\nurl = \"https://x.example\"\nformat = \"teams\"\n",
    )
    .err()
    .expect("unknown format");
    assert!(err.to_string().contains("teams"), "{err}");
}

fn invalid(config: WebhookConfig) -> String {
    match Notifier::with_options(vec![config], fast(), |_| Some("s".into())) {
        Err(e @ NotifyError::InvalidConfig { .. }) => e.to_string(),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn validation_errors_are_clear() {
    let base = || hook("h", "https://hooks.example/x".into(), Format::Json);

    let mut c = base();
    c.url = "ftp://hooks.example/x".into();
    let e = invalid(c);
    assert!(
        e.contains("`h`") && e.contains("http:// or https://"),
        "{e}"
    );

    let mut c = base();
    c.url = "not a url".into();
    assert!(invalid(c).contains("not a valid URL"));

    let mut c = base();
    c.name = " ".into();
    assert!(invalid(c).contains("`name` is empty"));

    let mut c = hook(
        "s",
        "https://hooks.slack.com/services/T/B/X".into(),
        Format::Slack,
    );
    c.secret_env = Some("SLACK_SECRET".into());
    assert!(invalid(c).contains("not used by format \"slack\""));

    let mut c = signed(hook("f", "https://open.feishu.cn/x".into(), Format::Feishu));
    c.secret_header = Some("X-Secret".into());
    assert!(invalid(c).contains("json"));

    let mut c = base();
    c.secret_header = Some("X-Secret".into());
    assert!(invalid(c).contains("`secret_env` is not"));

    let mut c = signed(base());
    c.secret_header = Some("bad header".into());
    assert!(invalid(c).contains("not a valid HTTP header name"));

    let mut c = base();
    c.secret_env = Some("abc=def".into());
    assert!(invalid(c).contains("NAME of an environment variable"));

    let mut c = base();
    c.timeout_secs = Some(0);
    assert!(invalid(c).contains("`timeout_secs` must be between 1 and 300"));

    let mut c = base();
    c.max_attempts = Some(0);
    assert!(invalid(c).contains("`max_attempts` must be between 1 and 10"));

    let err = Notifier::with_options(vec![base(), base()], fast(), |_| None)
        .expect_err("duplicate names");
    assert!(err.to_string().contains("same name"), "{err}");

    // The URL is a credential: errors describe it without echoing it.
    let mut c = base();
    c.url = "gopher://hooks.example/SECRETPATH".into();
    assert!(!invalid(c).contains("SECRETPATH"));

    assert!(Notifier::with_options(vec![], fast(), |_| None).is_ok());
}

#[tokio::test]
async fn unknown_hook_and_deliver_all() {
    let good = Server::start(vec![ok("ok")]).await;
    let bad = Server::start(vec![status(404, "channel_not_found")]).await;
    let mut warn_only = hook("alerts-only", good.url("/c"), Format::Json);
    warn_only.min_level = Some(Level::Alert);
    let n = notifier(vec![
        hook("good", good.url("/a"), Format::Slack),
        hook("bad", bad.url("/b"), Format::Slack),
        warn_only,
    ]);

    let err = n.deliver("nope", &message()).await.expect_err("unknown");
    assert!(matches!(err, NotifyError::UnknownHook(ref h) if h == "nope"));

    let mut msg = message();
    msg.level = "warning".into();
    let outcomes = n.deliver_all(&msg).await;
    let names: Vec<&str> = outcomes.iter().map(|o| o.hook.as_str()).collect();
    assert_eq!(names, ["good", "bad"], "alerts-only skipped for a warning");
    assert!(outcomes[0].result.is_ok());
    assert!(matches!(
        outcomes[1].result,
        Err(NotifyError::Status { status: 404, .. })
    ));

    let outcomes = n.deliver_all(&message()).await;
    assert_eq!(outcomes.len(), 3);
    assert_eq!(good.requests().len(), 3);
}

#[test]
fn notifier_and_delivery_future_are_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let n = notifier(vec![hook("h", "http://127.0.0.1:9/x".into(), Format::Json)]);
    assert_send_sync(&n);
    let msg = message();
    let future = n.deliver("h", &msg);
    assert_send(&future);
    let all = n.deliver_all(&msg);
    assert_send(&all);
}

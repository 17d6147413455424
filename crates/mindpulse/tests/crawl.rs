//! End-to-end tests of `mindpulse crawl`, `schedule` and `coverage` against the local
//! fixture server of `mindpulse-crawl`: a full Weibo run on every backend, a run killed
//! with SIGKILL and one stopped with SIGTERM that both resume with nothing lost or
//! duplicated, an expired cookie (exit 4, cookie never printed), config-file and env
//! settings, the scheduler, Mastodon, and the coverage report.

use mindpulse_crawl::testing::{Behavior, Matcher, Resp, TestServer};
use mindpulse_store::testing::TestDb;
use mindpulse_store::Store;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-22T04:00:00Z";

fn fixtures(site: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mindpulse-crawl/tests/fixtures")
        .join(site)
}

fn cookie() -> String {
    let exp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures("weibo").join("EXPECTED.json")).unwrap(),
    )
    .unwrap();
    exp["cookie"].as_str().unwrap().to_string()
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(
            env.path("cookie.txt"),
            format!("# Weibo cookie\n{}\n", cookie()),
        )
        .unwrap();
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn sqlite(&self) -> String {
        format!("sqlite://{}", self.path("t.db").display())
    }

    fn cmd(&self, db: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mindpulse"));
        c.current_dir(self.dir.path())
            .env("MINDPULSE_KEY_FILE", self.path("keys/pseudonym.key"))
            .env_remove("MINDPULSE_PSEUDONYM_KEY")
            .env_remove("MINDPULSE_DB")
            .env_remove("MINDPULSE_CONFIG")
            .env_remove("MINDPULSE_WEIBO_COOKIE")
            .env_remove("MINDPULSE_LOG")
            .arg("--no-progress")
            .arg("--db")
            .arg(db)
            .args(args);
        c
    }

    fn run(&self, db: &str, args: &[&str]) -> Output {
        self.cmd(db, args).output().unwrap()
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    let s = out(o);
    let line = s
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {s}\n{}", err(o)));
    serde_json::from_str(line).unwrap()
}

/// `crawl weibo run` flags pointing at the server, with no waiting.
fn run_args(server: &TestServer, delay: &str) -> Vec<String> {
    [
        "crawl",
        "weibo",
        "run",
        "--top",
        "2",
        "--json",
        "--cookie-file",
        "cookie.txt",
        "--search-url",
        &server.base,
        "--api-url",
        &server.base,
        "--passport-url",
        &server.base,
        "--now",
        NOW,
        "--delay",
        delay,
        "--jitter",
        "0",
        "--timeout",
        "1",
        "--retries",
        "1",
        "--backoff",
        "0.01",
        "--rate-limit-backoff",
        "0.01",
        "--keep-raw",
        "--no-score",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

async fn post_ids(db: &str) -> Vec<String> {
    let store = Store::open(db).await.unwrap();
    let posts = store
        .export_page(&Default::default(), 0, 10_000, false)
        .await
        .unwrap();
    store.close().await;
    posts.into_iter().map(|p| p.platform_id).collect()
}

#[test]
fn help_on_the_crawl_commands() {
    for sub in [
        vec!["crawl"],
        vec!["crawl", "weibo"],
        vec!["crawl", "weibo", "hot"],
        vec!["crawl", "weibo", "search"],
        vec!["crawl", "weibo", "run"],
        vec!["crawl", "weibo", "conversations"],
        vec!["crawl", "weibo", "check-cookie"],
        vec!["crawl", "mastodon"],
        vec!["schedule"],
        vec!["coverage"],
    ] {
        let mut args = sub.clone();
        args.push("--help");
        let o = Command::new(env!("CARGO_BIN_EXE_mindpulse"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}");
        assert!(out(&o).contains("Usage"), "{args:?}");
    }
}

#[tokio::test]
async fn weibo_run_coverage_and_scoring_on_every_backend() {
    for db in TestDb::all().await {
        let env = Env::new();
        let server = TestServer::from_index(&fixtures("weibo")).unwrap();
        // The default [score] scorers = ["heads"]: the crawl scores what it collected.
        let mut args = run_args(&server, "0");
        args.retain(|a| a != "--no-score");
        let o = env.run(&db.url, &strs(&args));
        assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
        let r = json(&o);
        assert_eq!(r["ending"], "done", "{r}");
        assert_eq!(r["counts"]["accepted"], 24, "{r}");
        assert_eq!(r["scored"], 24, "{r}");
        let run_id = r["run_id"].as_i64().unwrap();
        assert_eq!(post_ids(&db.url).await.len(), 24);
        let o = env.run(&db.url, &["score", "--status", "--json"]);
        let status: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
        assert_eq!(status[0]["model_id"], "heads", "{status}");
        assert_eq!(status[0]["unscored"], 0, "{status}");
        assert_eq!(status[0]["scored"], 24, "{status}");

        let o = env.run(&db.url, &["coverage", "--run", &run_id.to_string()]);
        let table = out(&o);
        assert!(o.status.success(), "{}", err(&o));
        assert!(
            table.contains("#考研倒计时# 2026-11-22..2026-11-22"),
            "{table}"
        );
        assert!(table.contains("totals"), "{table}");
        let o = env.run(&db.url, &["coverage", "--json"]);
        let rows: Vec<serde_json::Value> = out(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let b = rows
            .iter()
            .find(|r| r["query"].as_str().unwrap().contains("打工人"))
            .unwrap();
        assert_eq!(
            (b["pages_asked"].as_i64(), b["items_new"].as_i64()),
            (Some(83), Some(3))
        );
        let o = env.run(&db.url, &["runs", "--json"]);
        assert!(out(&o).contains("\"kind\":\"crawl\""), "{}", out(&o));
        // The cookie is never stored.
        let dump = String::from_utf8_lossy(&db.dump().unwrap()).into_owned();
        assert!(!dump.contains("_2A25LtestSecretCookieValue"));
        assert!(
            !dump.contains("5712340001"),
            "raw user ids never reach the database"
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn killed_and_terminated_runs_resume_with_nothing_lost_or_duplicated() {
    let env = Env::new();
    let server = TestServer::from_index(&fixtures("weibo")).unwrap();
    let db = env.sqlite();

    // SIGKILL in the middle of the split search.
    let mut child = env
        .cmd(&db, &strs(&run_args(&server, "0.01")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while server.requests().len() < 60 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = post_ids(&db).await.len();
    assert!(partial < 24, "killed too late ({partial} posts)");

    // SIGTERM in the middle of the conversations: finishes the request, saves, exits 130.
    server.clear_log();
    let child = env
        .cmd(&db, &strs(&run_args(&server, "0.02")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !server
        .requests()
        .iter()
        .any(|r| r.path == "/ajax/statuses/buildComments")
        && t0.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: sending SIGTERM to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}\n{}", out(&o), err(&o));
    let r = json(&o);
    assert_eq!(
        (r["ending"].as_str(), r["resumed"].as_bool()),
        (Some("interrupted"), Some(true)),
        "{r}"
    );
    assert!(
        err(&o).contains("run the same command again"),
        "{}",
        err(&o)
    );

    // The next run finishes the job: every post once.
    server.clear_log();
    let o = env.run(&db, &strs(&run_args(&server, "0")));
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
    let r = json(&o);
    assert_eq!(
        (r["ending"].as_str(), r["resumed"].as_bool()),
        (Some("done"), Some(true)),
        "{r}"
    );
    assert!(
        !server
            .requests()
            .iter()
            .any(|q| q.path == "/ajax/side/hotSearch"),
        "the resumed run does not start over"
    );
    let mut ids = post_ids(&db).await;
    assert_eq!(ids.len(), 24);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 24, "no duplicates");
}

#[test]
fn an_expired_cookie_stops_with_a_clear_message_and_the_cookie_is_never_printed() {
    let env = Env::new();
    let server = TestServer::from_index(&fixtures("weibo")).unwrap();
    let location = format!(
        "{}/visitor/visitor?entry=miniblog&a=enter&url=x&domain=.weibo.com",
        server.base
    );
    server.fault(
        Matcher::new("/weibo", &[]),
        Behavior::Respond(Resp::redirect(&location)),
        1000,
    );
    let mut args = run_args(&server, "0");
    args.insert(0, "-vv".into());
    let o = env.run(&env.sqlite(), &strs(&args));
    assert_eq!(o.status.code(), Some(4), "{}\n{}", out(&o), err(&o));
    let e = err(&o);
    assert!(e.contains("cookie is missing or expired"), "{e}");
    assert!(e.contains("progress is saved"), "{e}");
    assert!(
        e.contains("can be read by other users") && e.contains("chmod 600"),
        "a world-readable cookie file is warned about: {e}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            env.path("cookie.txt"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let o = env.run(&env.sqlite(), &strs(&args));
        assert!(
            !err(&o).contains("can be read by other users"),
            "{}",
            err(&o)
        );
    }
    for leak in [
        "_2A25LtestSecretCookieValue",
        "xsrf-test-token",
        "5712340001",
    ] {
        assert!(
            !e.contains(leak) && !out(&o).contains(leak),
            "{leak} was printed"
        );
    }
    // No cookie at all: search refuses to start.
    let o = env.run(
        &env.sqlite(),
        &[
            "crawl",
            "weibo",
            "search",
            "--topic",
            "#考研倒计时#",
            "--search-url",
            &server.base,
            "--api-url",
            &server.base,
        ],
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("MINDPULSE_WEIBO_COOKIE"), "{}", err(&o));
}

#[test]
fn config_file_env_cookie_schedule_and_hot() {
    let env = Env::new();
    let server = TestServer::from_index(&fixtures("weibo")).unwrap();
    let config = format!(
        "[crawl]\ndelay_secs = 0\njitter_secs = 0\ntimeout_secs = 1\nretries = 1\nbackoff_secs = 0.01\nrate_limit_backoff_secs = 0.01\n\
         [weibo]\nsearch_url = \"{b}\"\napi_url = \"{b}\"\npassport_url = \"{b}\"\ntop = 1\nconversations = false\n\
         [score]\nscorers = []\n\
         [[schedule.jobs]]\nname = \"weibo-twice-daily\"\ncron = \"0 10,22 * * *\"\nmax_minutes = 5\n",
        b = server.base
    );
    std::fs::write(env.path("mindpulse.toml"), config).unwrap();
    let db = env.sqlite();

    let o = env.run(&db, &["schedule", "--list"]);
    assert!(
        out(&o).contains("weibo-twice-daily  weibo  0 10,22 * * *  next "),
        "{}\n{}",
        out(&o),
        err(&o)
    );

    let o = env
        .cmd(
            &db,
            &["schedule", "--run-now", "--max-runs", "1", "--now", NOW],
        )
        .env("MINDPULSE_WEIBO_COOKIE", cookie())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
    assert!(out(&o).contains("[weibo-twice-daily] run 1"), "{}", out(&o));
    // What the job stored is scanned by the alert rules right after it.
    assert!(
        out(&o).contains("[weibo-twice-daily] alerts scan:"),
        "{}",
        out(&o)
    );
    let reqs = server.requests();
    assert_eq!(
        reqs.iter()
            .find(|r| r.path == "/weibo")
            .unwrap()
            .header("cookie"),
        Some(cookie().as_str())
    );
    assert!(
        !reqs
            .iter()
            .any(|r| r.path == "/ajax/statuses/buildComments"),
        "conversations = false"
    );
    assert!(
        !reqs.iter().any(|r| r.param("q") == Some("#打工人的周一#")),
        "top = 1"
    );

    let o = env.run(&db, &["crawl", "weibo", "hot", "--top", "3"]);
    assert!(o.status.success(), "{}", err(&o));
    let listing = out(&o);
    assert!(
        listing.contains("  1  考研倒计时  heat 1283345  热"),
        "{listing}"
    );
    assert!(!listing.contains("某品牌"), "{listing}");

    let bad = env.path("bad.toml");
    std::fs::write(&bad, "[weibo]\nsearch_ulr = \"x\"\n").unwrap();
    let o = env.run(&db, &["--config", bad.to_str().unwrap(), "coverage"]);
    assert!(!o.status.success());
}

#[test]
fn mastodon_tag_crawl() {
    let env = Env::new();
    let server = TestServer::from_index(&fixtures("mastodon")).unwrap();
    let db = env.sqlite();
    let args = [
        "crawl",
        "mastodon",
        "--instance",
        &server.base,
        "--tag",
        "insomnia",
        "--delay",
        "0",
        "--jitter",
        "0",
        "--json",
    ];
    let o = env.run(&db, &args);
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
    let r = json(&o);
    assert_eq!(
        (r["ending"].as_str(), r["counts"]["accepted"].as_i64()),
        (Some("done"), Some(5)),
        "{r}"
    );
    assert_eq!(r["scored"], 5, "the crawl scores what it collected: {r}");
    let o = env.run(&db, &args);
    let r = json(&o);
    assert_eq!(
        (
            r["counts"]["accepted"].as_i64(),
            r["counts"]["already_stored"].as_i64()
        ),
        (Some(0), Some(5)),
        "{r}"
    );
    let o = env.run(
        &db,
        &["crawl", "mastodon", "--instance", "not a url", "--tag", "x"],
    );
    assert!(!o.status.success());
}

/// `crawl weibo conversations` collects the comments and reposts of stored posts of a
/// topic; a comment page that fails is listed by `coverage` and taken up by the next crawl
/// from that page; a bad `--post` is refused.
#[test]
fn weibo_conversations_of_stored_posts_and_a_failed_page_retried() {
    let env = Env::new();
    let server = TestServer::from_index(&fixtures("weibo")).unwrap();
    let db = env.sqlite();
    let mut args = run_args(&server, "0");
    args.push("--no-conversations".into());
    let o = env.run(&db, &strs(&args));
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
    let originals = json(&o)["counts"]["accepted"].as_i64().unwrap();
    assert!(originals < 24, "{originals}");

    // The main post's second comment page fails however often it is asked.
    let exp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures("weibo").join("EXPECTED.json")).unwrap(),
    )
    .unwrap();
    let main = exp["main_post"]["mid"].as_str().unwrap().to_string();
    let page2 = exp["main_post"]["comments_max_id"].to_string();
    server.fault(
        Matcher::new(
            "/ajax/statuses/buildComments",
            &[("id", &main), ("fetch_level", "0"), ("max_id", &page2)],
        ),
        Behavior::Respond(Resp::status(500)),
        1000,
    );
    // `conversations` takes the run's flags but `--top`.
    let mut conv: Vec<String> = args
        .iter()
        .filter(|a| *a != "--no-conversations")
        .cloned()
        .collect();
    let top = conv.iter().position(|a| a == "--top").unwrap();
    conv.drain(top..top + 2);
    conv[2] = "conversations".into();
    let mut topic = conv.clone();
    topic.extend(["--topic".to_string(), "考研倒计时".to_string()]);
    let o = env.run(&db, &strs(&topic));
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
    let r = json(&o);
    assert_eq!(r["ending"], "done", "{r}");
    assert_eq!(r["tasks_failed"], 1, "{r}");
    let first = r["counts"]["accepted"].as_i64().unwrap();
    assert!(first > 0, "{r}");

    let o = env.run(&db, &["coverage"]);
    let table = out(&o);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        table.contains("1 failed task(s) to retry on the next crawl")
            && table.contains(&format!("comments of {main}"))
            && table.contains("retry 1 of 3, resumes at the page that failed"),
        "{table}"
    );

    // The next crawl (here: of the one post) takes the page up where it failed.
    server.clear_faults();
    let mut one = conv.clone();
    one.extend(["--post".to_string(), main.clone(), "--only-missing".into()]);
    let o = env.run(&db, &strs(&one));
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
    let r = json(&o);
    assert_eq!(
        (r["ending"].as_str(), r["tasks_failed"].as_i64()),
        (Some("done"), Some(0)),
        "{r}"
    );
    let second = r["counts"]["accepted"].as_i64().unwrap();
    assert!(second > 0, "{r}");
    assert_eq!(originals + first + second, 24, "every fixture post, once");
    let o = env.run(&db, &["coverage"]);
    assert!(!out(&o).contains("to retry"), "{}", out(&o));

    // Refused before anything is fetched.
    let mut bad = conv.clone();
    bad.extend(["--post".to_string(), "Rsx-1".to_string()]);
    let o = env.run(&db, &strs(&bad));
    assert!(!o.status.success());
    assert!(err(&o).contains("all digits"), "{}", err(&o));
    let mut none = conv;
    none.extend(["--topic".to_string(), "没有这个话题".to_string()]);
    let o = env.run(&db, &strs(&none));
    assert!(!o.status.success());
    assert!(
        err(&o).contains("no stored Weibo post matches"),
        "{}",
        err(&o)
    );
}

#[test]
fn check_cookie_tells_logged_in_from_expired_without_crawling() {
    let env = Env::new();
    let server = TestServer::from_index(&fixtures("weibo")).unwrap();
    let check = |cookie: Option<&str>| {
        let mut args = vec![
            "crawl",
            "weibo",
            "check-cookie",
            "--search-url",
            &server.base,
            "--passport-url",
            &server.base,
            "--delay",
            "0",
            "--jitter",
            "0",
            "--timeout",
            "2",
            "--retries",
            "0",
        ];
        if let Some(c) = cookie {
            args.extend(["--cookie-file", c]);
        }
        env.run(&env.sqlite(), &args)
    };
    let o = check(Some("cookie.txt"));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", out(&o), err(&o));
    assert!(out(&o).contains("logged in"), "{}", out(&o));
    assert!(
        !env.path("t.db").exists(),
        "checking a cookie creates no database"
    );
    // Weibo sends the visitor page: the cookie has expired.
    let location = format!(
        "{}/visitor/visitor?entry=miniblog&a=enter&url=x&domain=.weibo.com",
        server.base
    );
    server.fault(
        Matcher::new("/weibo", &[]),
        Behavior::Respond(Resp::redirect(&location)),
        1000,
    );
    let o = check(Some("cookie.txt"));
    assert_eq!(o.status.code(), Some(4), "{}\n{}", out(&o), err(&o));
    assert!(out(&o).contains("NOT logged in"), "{}", out(&o));
    assert!(
        !out(&o).contains("_2A25LtestSecretCookieValue")
            && !err(&o).contains("_2A25LtestSecretCookieValue"),
        "the cookie is never printed"
    );
    // No cookie at all.
    let o = check(None);
    assert_eq!(o.status.code(), Some(4), "{}\n{}", out(&o), err(&o));
    assert!(out(&o).contains("no cookie"), "{}", out(&o));
}

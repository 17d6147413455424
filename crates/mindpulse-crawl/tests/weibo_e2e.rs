//! End-to-end: `run` (hot → search → split → detail/long text/profiles → comments,
//! replies, reposts → store) against the local fixture server, on every database
//! backend; then every injected fault on SQLite: 500s, a timeout, a truncated page, a
//! malformed page, HTTP 418 and a "too frequent" page (stop, then resume), an expired
//! cookie (redirect and `ok:-100`), a killed run (resume, nothing lost or duplicated),
//! and re-collection (counts change, nothing duplicates). Raw ids, names, PII and the
//! cookie never reach the database.

use chrono::{DateTime, NaiveDate, Utc};
use mindpulse_clean::{normalize_text, CleanOptions, Cleaner, PseudonymKey};
use mindpulse_crawl::testing::{Behavior, Matcher, Resp, TestServer, ABSENT};
use mindpulse_crawl::weibo::{self, WeiboJob, WeiboSettings};
use mindpulse_crawl::{Ending, Fetcher, JobReport, Politeness, WeiboConfig};
use mindpulse_store::testing::TestDb;
use mindpulse_store::{Coverage, Store};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/weibo")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("EXPECTED.json")).unwrap()).unwrap()
}

fn cleaner() -> Arc<Cleaner> {
    Arc::new(Cleaner::new(
        PseudonymKey::from_secret("crawl test key"),
        CleanOptions {
            redact_urls: false,
            keep_raw: true,
        },
    ))
}

fn settings(server: &TestServer, exp: &Value) -> WeiboSettings {
    WeiboSettings {
        config: WeiboConfig {
            search_url: server.base.clone(),
            api_url: server.base.clone(),
            passport_url: server.base.clone(),
            top: 2,
            ..WeiboConfig::default()
        },
        cookie: Some(exp["cookie"].as_str().unwrap().to_string()),
        now: Some(exp["_meta"]["now"].as_str().unwrap().parse().unwrap()),
    }
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn run_job() -> WeiboJob {
    WeiboJob::Run {
        top: 2,
        since: day(),
        until: day(),
    }
}

fn polite() -> Politeness {
    Politeness {
        timeout_secs: 0.5,
        ..Politeness::for_tests()
    }
}

async fn crawl(store: &Store, server: &TestServer, exp: &Value) -> JobReport {
    let fetcher = Fetcher::new(polite(), Arc::new(AtomicBool::new(false))).unwrap();
    weibo::run(
        store,
        cleaner(),
        &fetcher,
        &settings(server, exp),
        &run_job(),
        None,
        false,
        None,
    )
    .await
    .unwrap()
}

fn server() -> TestServer {
    TestServer::from_index(&dir()).unwrap()
}

/// The database holds exactly the fixtures' posts, authors and hot topics.
async fn check_db(store: &Store, exp: &Value, name: &str) {
    let c = cleaner();
    let pseudo = c.pseudonymizer();
    let users: HashMap<String, &Value> = exp["users"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v))
        .collect();
    let posts = store
        .export_page(&Default::default(), 0, 10_000, false)
        .await
        .unwrap();
    let want = exp["posts"].as_array().unwrap();
    assert_eq!(posts.len(), want.len(), "{name}: post count");
    let by_id: HashMap<&str, &mindpulse_store::ExportPost> =
        posts.iter().map(|p| (p.platform_id.as_str(), p)).collect();
    let names: Vec<&str> = exp["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for w in want {
        let id = w["id"].as_str().unwrap();
        let p = by_id
            .get(id)
            .unwrap_or_else(|| panic!("{name}: post {id} missing"));
        let ctx = format!("{name}: {} {id}", w["kind"]);
        assert_eq!(p.kind, w["kind"].as_str().unwrap(), "{ctx}");
        assert_eq!(
            p.parent_id.as_deref(),
            w["parent"].as_str(),
            "{ctx}: parent"
        );
        assert_eq!(p.root_id.as_deref(), w["root"].as_str(), "{ctx}: root");
        let mut text = normalize_text(w["text"].as_str().unwrap());
        for n in &names {
            text = text.replace(
                &format!("@{n}"),
                &format!("@{}", pseudo.pseudonym("weibo", n)),
            );
        }
        text = text
            .replace("13812345678", "[PHONE]")
            .replace("shechu.diary@example.com", "[EMAIL]");
        assert_eq!(p.text, text, "{ctx}: text");
        let created: DateTime<Utc> = w["created_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(p.created_at, Some(created), "{ctx}: created_at");
        assert_eq!(
            (p.repost_count, p.comment_count, p.like_count),
            (
                w["reposts"].as_i64().unwrap(),
                w["comments"].as_i64().unwrap(),
                w["likes"].as_i64().unwrap()
            ),
            "{ctx}: counts"
        );
        assert_eq!(p.region.as_deref(), w["region"].as_str(), "{ctx}: region");
        let mut topics = p.topics.clone();
        topics.sort();
        let want_topics: Vec<String> = w["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(topics, want_topics, "{ctx}: topics");
        let user = users[w["author"].as_str().unwrap()];
        assert_eq!(
            p.author.as_deref(),
            Some(
                pseudo
                    .pseudonym("weibo", user["uid"].as_str().unwrap())
                    .as_str()
            ),
            "{ctx}: author"
        );
        assert!(
            p.dup_kind.is_none(),
            "{ctx}: no duplicates among the fixtures"
        );
    }
    // Authors: verification, follower bucket, region, under pseudonyms only.
    let authors = store.authors("weibo").await.unwrap();
    let by_pseudonym: HashMap<&str, &mindpulse_store::AuthorRecord> =
        authors.iter().map(|a| (a.pseudonym.as_str(), a)).collect();
    let mut seen = 0;
    for (key, u) in &users {
        let p = pseudo.pseudonym("weibo", u["uid"].as_str().unwrap());
        let Some(a) = by_pseudonym.get(p.as_str()) else {
            continue;
        };
        seen += 1;
        assert_eq!(
            a.verified_type,
            u["verified_type"].as_i64(),
            "{name}: {key} verified type"
        );
        assert_eq!(
            a.follower_bucket.as_deref(),
            u["follower_bucket"].as_str(),
            "{name}: {key} followers"
        );
        assert_eq!(
            a.region.as_deref(),
            u["region"].as_str(),
            "{name}: {key} region"
        );
    }
    assert_eq!(seen, users.len(), "{name}: every fixture user is an author");
    assert_eq!(authors.len(), users.len(), "{name}: no other authors");
    // Hot topics with rank, heat, label and note.
    let topics = store.topics("weibo", 100).await.unwrap();
    for h in exp["hot"].as_array().unwrap() {
        let t = topics
            .iter()
            .find(|t| t.keyword == h["keyword"].as_str().unwrap())
            .unwrap();
        assert_eq!(t.rank, h["rank"].as_i64(), "{name}: {}", t.keyword);
        assert_eq!(t.heat, h["heat"].as_i64());
        assert_eq!(t.label.as_deref(), h["label"].as_str());
        assert_eq!(t.note.as_deref(), h["note"].as_str());
        assert!(t.sightings >= 1);
    }
    assert!(
        !topics.iter().any(|t| t.keyword.starts_with("某品牌")),
        "{name}: ads dropped"
    );
}

fn cov<'a>(rows: &'a [Coverage], kind: &str, query_part: &str) -> &'a Coverage {
    rows.iter()
        .find(|c| c.kind == kind && c.query.contains(query_part))
        .unwrap_or_else(|| panic!("no coverage row {kind} {query_part}: {rows:#?}"))
}

fn assert_no_secrets(db: &TestDb, exp: &Value) {
    let dump = db.dump().unwrap();
    let dump = String::from_utf8_lossy(&dump);
    let mut secrets: Vec<String> = exp["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    secrets.extend([
        "_2A25LtestSecretCookieValue".to_string(),
        "xsrf-test-token".to_string(),
    ]);
    for s in secrets {
        assert!(
            !dump.contains(&s),
            "{}: {s:?} reached the database",
            db.backend.name()
        );
    }
}

#[tokio::test]
async fn run_fills_the_database_exactly_on_every_backend() {
    let exp = expected();
    for db in TestDb::all().await {
        let name = db.backend.name();
        let server = server();
        let store = Store::open(&db.url).await.unwrap();
        let r = crawl(&store, &server, &exp).await;
        assert_eq!(r.ending, Ending::Done, "{name}: {r:?}");
        assert!(!r.resumed);
        assert_eq!(
            (r.counts.accepted, r.counts.already_stored, r.counts.failed),
            (24, 2, 0),
            "{name}: {r:?}"
        );
        check_db(&store, &exp, name).await;

        // Coverage tells the truth.
        let rows = store.coverage(Some(r.run_id)).await.unwrap();
        let hot = cov(&rows, "hot", "hot");
        assert_eq!(
            (hot.pages_asked, hot.pages_fetched, hot.items_seen),
            (1, 1, 6)
        );
        let a = cov(&rows, "search", "#考研倒计时#");
        assert_eq!(
            (
                a.pages_asked,
                a.pages_fetched,
                a.pages_failed,
                a.items_seen,
                a.items_new,
                a.items_duplicate
            ),
            (3, 3, 0, 8, 8, 0),
            "{name}"
        );
        let b = cov(&rows, "search", "#打工人的周一#");
        // range (cap) → 24 hours → hour 9 (cap) → 36 provinces → 广东 (cap) → 21 cities → 深圳 p1, p2.
        assert_eq!(
            (b.pages_asked, b.pages_fetched, b.items_seen, b.items_new),
            (1 + 24 + 36 + 21 + 1, 83, 3, 3),
            "{name}"
        );
        let main = exp["main_post"]["mid"].as_str().unwrap();
        let c = cov(&rows, "comments", main);
        assert_eq!(
            (c.pages_asked, c.items_seen, c.items_new, c.reported_total),
            (2, 8, 8, Some(6)),
            "{name}"
        );
        let rep = cov(&rows, "replies", main);
        assert_eq!(
            (
                rep.pages_asked,
                rep.items_seen,
                rep.items_new,
                rep.items_duplicate
            ),
            (1, 4, 2, 2),
            "{name}"
        );
        let rp = cov(&rows, "reposts", main);
        assert_eq!(
            (
                rp.pages_asked,
                rp.pages_fetched,
                rp.items_new,
                rp.reported_total
            ),
            (2, 2, 3, Some(3)),
            "{name}"
        );
        assert_eq!(
            rows.iter().filter(|c| c.kind == "comments").count(),
            10,
            "{name}: a comments task per new post"
        );
        let runs = store.runs(None, 5).await.unwrap();
        assert_eq!(
            (runs[0].kind.as_str(), runs[0].status.as_str()),
            ("crawl", "done")
        );
        assert_eq!(runs[0].counts.accepted, 24);

        // The cookie and the configured headers were sent; no user id shows up in a log-able place.
        let reqs = server.requests();
        let search = reqs.iter().find(|r| r.path == "/weibo").unwrap();
        assert_eq!(search.header("cookie"), exp["cookie"].as_str());
        assert!(search.header("user-agent").unwrap().contains("Firefox"));
        assert_eq!(search.param("scope"), Some("ori"));
        let ajax = reqs
            .iter()
            .find(|r| r.path == "/ajax/statuses/buildComments")
            .unwrap();
        assert_eq!(ajax.header("x-xsrf-token"), Some("xsrf-test-token"));
        assert_eq!(
            reqs.iter()
                .filter(|r| r.path == "/ajax/profile/info")
                .count(),
            10,
            "one profile per author"
        );
        store.close().await;
        assert_no_secrets(&db, &exp);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn retries_timeouts_truncation_and_malformed_pages_are_survived() {
    let exp = expected();
    let db = TestDb::sqlite();
    let server = server();
    let main = exp["main_post"].clone();
    server.fault(
        Matcher::new("/weibo", &[("q", "#考研倒计时#"), ("page", "2")]),
        Behavior::Respond(Resp::status(500)),
        2,
    );
    server.fault(
        Matcher::new(
            "/ajax/statuses/show",
            &[("id", main["bid"].as_str().unwrap())],
        ),
        Behavior::Hang(Duration::from_secs(3)),
        1,
    );
    server.fault(
        Matcher::new("/weibo", &[("region", "custom:44:3"), ("page", "1")]),
        Behavior::Truncate(Resp::html(
            &std::fs::read_to_string(dir().join("search_city_p1.html")).unwrap(),
        )),
        1,
    );
    server.fault(
        Matcher::new(
            "/ajax/statuses/repostTimeline",
            &[("id", main["mid"].as_str().unwrap()), ("page", "2")],
        ),
        Behavior::Respond(Resp::json(r#"{"ok":1,"data":[{"id":"#)),
        100,
    );
    // A page with neither cards nor the no-results marker: logged and skipped.
    server.fault(
        Matcher::new(
            "/weibo",
            &[
                ("q", "#打工人的周一#"),
                ("timescope", "custom:2026-11-22-0:2026-11-22-1"),
                ("region", ABSENT),
            ],
        ),
        Behavior::Respond(Resp::html(
            "<html><body><div id=\"pl_feedlist_index\"></div></body></html>",
        )),
        100,
    );
    let store = Store::open(&db.url).await.unwrap();
    let r = crawl(&store, &server, &exp).await;
    assert_eq!(r.ending, Ending::Done, "{r:?}");
    check_db(&store, &exp, "faults").await;
    let rows = store.coverage(Some(r.run_id)).await.unwrap();
    let rp = cov(&rows, "reposts", main["mid"].as_str().unwrap());
    // Page 2 is malformed: counted as failed, and the task fails there with its cursor,
    // to be taken up from page 2 by the next run.
    assert_eq!(
        (rp.pages_asked, rp.pages_fetched, rp.pages_failed),
        (2, 1, 1),
        "a malformed page is counted as failed"
    );
    assert_eq!(r.tasks_failed, 1, "{r:?}");
    let waiting = store.failed_crawl_tasks("weibo").await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].kind, "reposts");
    assert!(
        waiting[0].cursor.as_deref().unwrap_or("").contains('2'),
        "{waiting:?}"
    );
    let b = cov(&rows, "search", "#打工人的周一#");
    assert_eq!((b.pages_asked, b.pages_failed), (83, 1));
    assert_eq!(r.counts.failed, 2);
    let reqs = server.requests();
    assert_eq!(
        reqs.iter()
            .filter(|q| q.path == "/weibo"
                && q.param("q") == Some("#考研倒计时#")
                && q.param("page") == Some("2"))
            .count(),
        3
    );
    store.close().await;
}

#[tokio::test]
async fn rate_limits_and_expired_cookies_stop_then_resume() {
    let exp = expected();
    let db = TestDb::sqlite();
    let server = server();
    let store = Store::open(&db.url).await.unwrap();
    let main = exp["main_post"]["mid"].as_str().unwrap().to_string();

    // 1. HTTP 418 on the comments: back off, try once more, stop.
    server.fault(
        Matcher::new("/ajax/statuses/buildComments", &[("id", &main)]),
        Behavior::Respond(Resp::status(418)),
        2,
    );
    let r1 = crawl(&store, &server, &exp).await;
    assert_eq!(r1.ending, Ending::RateLimited, "{r1:?}");
    assert!(
        r1.message.as_deref().unwrap().contains("HTTP 418"),
        "{r1:?}"
    );
    let job = store.latest_crawl_job("weibo:run").await.unwrap().unwrap();
    assert_eq!(job.status, "interrupted");
    assert_eq!(store.runs(None, 1).await.unwrap()[0].status, "interrupted");
    // The stop halts every step in flight (two run at once), so how far the second
    // topic's search got is a matter of timing; the first topic's posts came first.
    assert!(
        store.count_posts().await.unwrap() >= 8,
        "searches were stored before the stop"
    );

    // 2. Resumed: a "too frequent" page on the reposts stops it again.
    server.fault(
        Matcher::new("/ajax/statuses/repostTimeline", &[("id", &main)]),
        Behavior::Respond(Resp::html(
            &std::fs::read_to_string(dir().join("too_frequent.html")).unwrap(),
        )),
        2,
    );
    let r2 = crawl(&store, &server, &exp).await;
    assert!(r2.resumed);
    assert_eq!(r2.ending, Ending::RateLimited, "{r2:?}");

    // 3. Resumed: the cookie expires (ok:-100 on the JSON API).
    server.fault(
        Matcher::new("/ajax/statuses/repostTimeline", &[]),
        Behavior::Respond(Resp::json(
            &std::fs::read_to_string(dir().join("expired_cookie_ajax.json")).unwrap(),
        )),
        1,
    );
    let r3 = crawl(&store, &server, &exp).await;
    assert_eq!(r3.ending, Ending::LoginRequired, "{r3:?}");
    assert!(r3.message.as_deref().unwrap().contains("cookie"), "{r3:?}");

    // 4. Resumed with a working cookie: finishes; nothing lost, nothing duplicated.
    let r4 = crawl(&store, &server, &exp).await;
    assert_eq!(r4.ending, Ending::Done, "{r4:?}");
    assert!(r4.resumed);
    let reqs = server.requests();
    let count = |path: &str| reqs.iter().filter(|q| q.path == path).count();
    assert_eq!(
        count("/ajax/side/hotSearch"),
        1,
        "the hot list is read once"
    );
    // A clean run reads 86 search pages; each of the three stops may cost the page a
    // halted step was reading, nothing more.
    assert!(
        count("/weibo") <= 86 + 3,
        "finished search pages are not redone: {}",
        count("/weibo")
    );
    check_db(&store, &exp, "resumed").await;
    store.close().await;

    // An expired cookie on the HTML search (302 to the visitor page) stops a fresh run.
    let db2 = TestDb::sqlite();
    let store2 = Store::open(&db2.url).await.unwrap();
    let location = format!(
        "{}/visitor/visitor?entry=miniblog&a=enter&url=https%3A%2F%2Fs.weibo.com%2Fweibo%3Fq%3D%2523x%2523%26display%3D0%26retcode%3D6102&domain=.weibo.com",
        server.base
    );
    server.fault(
        Matcher::new("/weibo", &[("q", "#打工人的周一#")]),
        Behavior::Respond(Resp::redirect(&location)),
        1000,
    );
    let r5 = crawl(&store2, &server, &exp).await;
    assert_eq!(r5.ending, Ending::LoginRequired, "{r5:?}");
    // The first topic's search runs beside the second's and is halted with it.
    assert!(
        store2.count_posts().await.unwrap() <= 8,
        "nothing of the second topic was stored"
    );
    server.clear_faults();
    let r6 = crawl(&store2, &server, &exp).await;
    assert_eq!(r6.ending, Ending::Done);
    check_db(&store2, &exp, "after cookie renewal").await;
    store2.close().await;
    assert_no_secrets(&db2, &exp);
}

#[tokio::test]
async fn a_killed_run_resumes_with_nothing_lost_or_duplicated() {
    let exp = expected();
    for cut in [5usize, 40, 120] {
        let db = TestDb::sqlite();
        let server = server();
        let store = Store::open(&db.url).await.unwrap();
        let fetcher = Fetcher::new(polite(), Arc::new(AtomicBool::new(false))).unwrap();
        let s = settings(&server, &exp);
        let job = run_job();
        let killed = tokio::select! {
            r = weibo::run(&store, cleaner(), &fetcher, &s, &job, None, false, None) => Some(r),
            _ = async {
                while server.requests().len() < cut {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            } => None,
        };
        assert!(killed.is_none(), "cut {cut}: the run ended before the kill");
        let job_row = store.latest_crawl_job("weibo:run").await.unwrap().unwrap();
        assert_eq!(
            job_row.status, "running",
            "a killed run leaves its job running"
        );
        let before = server.requests().len();
        let r = crawl(&store, &server, &exp).await;
        assert!(r.resumed, "cut {cut}");
        assert_eq!(r.ending, Ending::Done, "cut {cut}: {r:?}");
        assert!(
            server.requests().len() - before < 230,
            "cut {cut}: the resumed run did not start over"
        );
        check_db(&store, &exp, &format!("killed after {cut} requests")).await;
        store.close().await;
    }
}

#[tokio::test]
async fn recollecting_refreshes_counts_and_never_duplicates() {
    let exp = expected();
    let db = TestDb::sqlite();
    let server = server();
    let store = Store::open(&db.url).await.unwrap();
    let r1 = crawl(&store, &server, &exp).await;
    assert_eq!(r1.ending, Ending::Done);
    // The main post gained likes since.
    let bid = exp["main_post"]["bid"].as_str().unwrap();
    let mut show: Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join(format!("statuses_show/{bid}.json"))).unwrap(),
    )
    .unwrap();
    show["attitudes_count"] = 99.into();
    server.route(
        Matcher::new("/ajax/statuses/show", &[("id", bid)]),
        Behavior::Respond(Resp::json(&show.to_string())),
    );
    let r2 = crawl(&store, &server, &exp).await;
    assert_eq!(r2.ending, Ending::Done);
    assert!(
        !r2.resumed,
        "a finished job is not resumed: a new one starts"
    );
    assert_eq!(store.count_posts().await.unwrap(), 24);
    assert_eq!(r2.counts.accepted, 0, "{r2:?}");
    let rows = store.coverage(Some(r2.run_id)).await.unwrap();
    let a = cov(&rows, "search", "#考研倒计时#");
    assert_eq!((a.items_seen, a.items_new, a.items_duplicate), (8, 0, 8));
    assert!(
        rows.iter().all(|c| c.kind != "comments"),
        "no conversations for posts already stored"
    );
    let posts = store
        .export_page(&Default::default(), 0, 100, false)
        .await
        .unwrap();
    let main = posts
        .iter()
        .find(|p| p.platform_id == exp["main_post"]["mid"].as_str().unwrap())
        .unwrap();
    assert_eq!(main.like_count, 99);
    let hot = store.topics("weibo", 100).await.unwrap();
    assert_eq!(
        hot.iter()
            .find(|t| t.keyword == "考研倒计时")
            .unwrap()
            .sightings,
        2,
        "rank history grows"
    );
    store.close().await;
}

#[tokio::test]
async fn search_alone_and_hot_alone() {
    let exp = expected();
    let db = TestDb::sqlite();
    let server = server();
    let store = Store::open(&db.url).await.unwrap();
    let fetcher = Fetcher::new(polite(), Arc::new(AtomicBool::new(false))).unwrap();
    let mut s = settings(&server, &exp);
    let hot = weibo::run(
        &store,
        cleaner(),
        &fetcher,
        &s,
        &WeiboJob::Hot { top: 3 },
        None,
        false,
        None,
    )
    .await
    .unwrap();
    assert_eq!(hot.ending, Ending::Done);
    assert_eq!(store.topics("weibo", 100).await.unwrap().len(), 6);
    assert_eq!(store.count_posts().await.unwrap(), 0);
    let job = WeiboJob::Search {
        query: "#考研倒计时#".into(),
        since: day(),
        until: day(),
        province: None,
        conversations: false,
    };
    let r = weibo::run(&store, cleaner(), &fetcher, &s, &job, None, false, None)
        .await
        .unwrap();
    assert_eq!((r.ending, r.counts.accepted), (Ending::Done, 8));
    // No cookie: search refuses to start.
    s.cookie = None;
    let e = weibo::run(&store, cleaner(), &fetcher, &s, &job, None, false, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cookie"), "{e}");
    store.close().await;
}

#[tokio::test]
async fn the_time_budget_ends_the_run_and_reports_what_was_skipped() {
    let exp = expected();
    let db = TestDb::sqlite();
    let server = server();
    let store = Store::open(&db.url).await.unwrap();
    let polite = Politeness {
        delay_secs: 0.01,
        ..polite()
    };
    let fetcher = Fetcher::new(polite, Arc::new(AtomicBool::new(false))).unwrap();
    let s = settings(&server, &exp);
    let r = weibo::run(
        &store,
        cleaner(),
        &fetcher,
        &s,
        &run_job(),
        Some(Duration::from_millis(300)),
        false,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.ending, Ending::BudgetReached, "{r:?}");
    assert!(r.tasks_skipped > 0 && r.tasks_open == 0, "{r:?}");
    assert!(r.message.as_deref().unwrap().contains("skipped"));
    let job = store.latest_crawl_job("weibo:run").await.unwrap().unwrap();
    assert_eq!(job.status, "done");
    // The next run is a new job (fresh hot search), not a resume of the skipped tasks.
    let r2 = crawl(&store, &server, &exp).await;
    assert!(!r2.resumed);
    assert_eq!(r2.ending, Ending::Done);
    store.close().await;
}

async fn crawl_job(store: &Store, s: &WeiboSettings, job: &WeiboJob) -> JobReport {
    let fetcher = Fetcher::new(polite(), Arc::new(AtomicBool::new(false))).unwrap();
    weibo::run(store, cleaner(), &fetcher, s, job, None, false, None)
        .await
        .unwrap()
}

/// A comment page that fails for good fails its task (cursor kept, coverage says
/// failed); the next crawl takes the task up from that page and the database ends
/// exactly complete: nothing lost, nothing duplicated.
#[tokio::test]
async fn a_failed_comment_page_is_taken_up_by_the_next_run_on_every_backend() {
    let exp = expected();
    let main = exp["main_post"]["mid"].as_str().unwrap();
    let page2 = "139265412698342";
    for db in TestDb::all().await {
        let name = db.backend.name();
        let server = server();
        server.fault(
            Matcher::new(
                "/ajax/statuses/buildComments",
                &[("id", main), ("fetch_level", "0"), ("max_id", page2)],
            ),
            Behavior::Respond(Resp::status(500)),
            1000,
        );
        let store = Store::open(&db.url).await.unwrap();
        let r1 = crawl(&store, &server, &exp).await;
        assert_eq!(r1.ending, Ending::Done, "{name}: {r1:?}");
        assert_eq!(r1.tasks_failed, 1, "{name}: {r1:?}");
        let rows = store.coverage(Some(r1.run_id)).await.unwrap();
        let c = cov(&rows, "comments", main);
        assert_eq!(
            (c.pages_asked, c.pages_fetched, c.pages_failed),
            (2, 1, 1),
            "{name}"
        );
        let waiting = store.failed_crawl_tasks("weibo").await.unwrap();
        assert_eq!(waiting.len(), 1, "{name}: {waiting:?}");
        assert_eq!(waiting[0].kind, "comments");
        assert!(
            waiting[0].cursor.as_deref().unwrap().contains(page2),
            "{name}: the task keeps the page it failed on: {waiting:?}"
        );
        let stored_before = store.count_posts().await.unwrap();
        assert!(stored_before < 24, "{name}: page 2 is missing");

        server.clear_faults();
        server.clear_log();
        let r2 = crawl(&store, &server, &exp).await;
        assert_eq!(r2.ending, Ending::Done, "{name}: {r2:?}");
        assert!(!r2.resumed, "{name}: a finished job is not resumed");
        assert_eq!(r2.tasks_failed, 0, "{name}: {r2:?}");
        check_db(&store, &exp, &format!("{name}: after the retry")).await;
        assert_eq!(r2.counts.accepted as i64, 24 - stored_before, "{name}");
        let asked: Vec<Option<String>> = server
            .requests()
            .iter()
            .filter(|q| {
                q.path == "/ajax/statuses/buildComments"
                    && q.param("id") == Some(main)
                    && q.param("fetch_level") == Some("0")
            })
            .map(|q| q.param("max_id").map(str::to_string))
            .collect();
        assert_eq!(
            asked,
            vec![Some(page2.to_string())],
            "{name}: taken up from the failed page, not from the start"
        );
        assert!(store.failed_crawl_tasks("weibo").await.unwrap().is_empty());
        let rows = store.coverage(Some(r2.run_id)).await.unwrap();
        let c = cov(&rows, "comments", main);
        assert_eq!((c.pages_asked, c.pages_failed), (1, 0), "{name}");
        store.close().await;
        db.drop_db().await;
    }
}

/// `conversations` collects comments and reposts of stored posts chosen by topic, skips
/// complete ones with `only_missing`, and refuses a bad selection; a window that ended
/// before today searches the topics stored as seen in it (no hot list).
#[tokio::test]
async fn conversations_of_stored_posts_then_a_past_window_on_every_backend() {
    let exp = expected();
    for db in TestDb::all().await {
        let name = db.backend.name();
        let server = server();
        let store = Store::open(&db.url).await.unwrap();
        // The hot list as an earlier crawl saw it on the 22nd.
        let seen_at: DateTime<Utc> = "2026-11-22T02:00:00Z".parse().unwrap();
        let sightings: Vec<mindpulse_store::TopicSighting> = exp["hot"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| mindpulse_store::TopicSighting {
                keyword: h["keyword"].as_str().unwrap().to_string(),
                rank: h["rank"].as_i64(),
                heat: h["heat"].as_i64(),
                label: h["label"].as_str().map(str::to_string),
                note: h["note"].as_str().map(str::to_string),
            })
            .collect();
        store
            .upsert_topic_sightings("weibo", seen_at, &sightings)
            .await
            .unwrap();
        // The 22nd without conversations.
        let mut s = settings(&server, &exp);
        s.config.conversations = false;
        let r = crawl_job(&store, &s, &run_job()).await;
        assert_eq!(r.ending, Ending::Done, "{name}: {r:?}");
        let rows = store.coverage(Some(r.run_id)).await.unwrap();
        assert!(
            rows.iter().all(|c| c.kind == "search" || c.kind == "hot"),
            "{name}"
        );
        let originals = store.count_posts().await.unwrap();

        // Conversations of one topic's stored posts.
        let topic = weibo::ConversationsJob {
            topic: Some("考研倒计时".into()),
            ..Default::default()
        };
        let r = crawl_job(&store, &s, &WeiboJob::Conversations(topic.clone())).await;
        assert_eq!(r.ending, Ending::Done, "{name}: {r:?}");
        let rows = store.coverage(Some(r.run_id)).await.unwrap();
        // Seven cards carry the topic; the original one of them quotes does not.
        assert_eq!(
            rows.iter().filter(|c| c.kind == "comments").count(),
            7,
            "{name}: one comments task per stored post of the topic"
        );
        let main = exp["main_post"]["mid"].as_str().unwrap();
        assert_eq!(cov(&rows, "comments", main).items_new, 8, "{name}");
        assert_eq!(cov(&rows, "reposts", main).items_new, 3, "{name}");
        check_db(&store, &exp, &format!("{name}: run, then conversations")).await;
        assert!(store.count_posts().await.unwrap() > originals);

        // Again with only_missing: complete conversations are not fetched again.
        server.clear_log();
        let missing = weibo::ConversationsJob {
            only_missing: true,
            ..topic
        };
        let r = crawl_job(&store, &s, &WeiboJob::Conversations(missing)).await;
        assert_eq!(r.ending, Ending::Done, "{name}: {r:?}");
        assert_eq!(r.counts.accepted, 0, "{name}");
        assert!(
            !server
                .requests()
                .iter()
                .any(|q| q.param("id") == Some(main)),
            "{name}: the main post's conversation is complete: {:?}",
            server
                .requests()
                .iter()
                .filter(|q| q.param("id") == Some(main))
                .map(|q| q.path.clone())
                .collect::<Vec<_>>()
        );

        // One post by id; bad selections are refused before anything is fetched.
        let one = weibo::ConversationsJob {
            posts: vec![main.to_string()],
            ..Default::default()
        };
        let r = crawl_job(&store, &s, &WeiboJob::Conversations(one)).await;
        assert_eq!(
            (r.ending, r.counts.accepted, r.counts.already_stored > 0),
            (Ending::Done, 0, true),
            "{name}: {r:?}"
        );
        let fetcher = Fetcher::new(polite(), Arc::new(AtomicBool::new(false))).unwrap();
        for (bad, why) in [
            (
                weibo::ConversationsJob {
                    posts: vec!["Rsx-1".into()],
                    ..Default::default()
                },
                "all digits",
            ),
            (
                weibo::ConversationsJob {
                    topic: Some("没有这个话题".into()),
                    ..Default::default()
                },
                "no stored Weibo post matches",
            ),
        ] {
            let e = weibo::run(
                &store,
                cleaner(),
                &fetcher,
                &s,
                &WeiboJob::Conversations(bad),
                None,
                false,
                None,
            )
            .await
            .unwrap_err();
            assert!(e.to_string().contains(why), "{name}: {e}");
        }

        // Two days later, a run over the 22nd searches the topics stored as seen that day.
        server.clear_log();
        let mut later = settings(&server, &exp);
        later.now = Some("2026-11-24T04:00:00Z".parse().unwrap());
        let r = crawl_job(&store, &later, &run_job()).await;
        assert_eq!(r.ending, Ending::Done, "{name}: {r:?}");
        assert!(
            !server
                .requests()
                .iter()
                .any(|q| q.path == "/ajax/side/hotSearch"),
            "{name}: a past window does not read today's hot list"
        );
        let job = store
            .latest_crawl_job("weibo:run:2026-11-22:2026-11-22")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.status, "done", "{name}");
        let rows = store.coverage(Some(r.run_id)).await.unwrap();
        let a = cov(&rows, "search", "#考研倒计时#");
        assert_eq!((a.items_seen, a.items_new), (8, 0), "{name}");
        assert_eq!(
            cov(&rows, "search", "#打工人的周一#").items_seen,
            3,
            "{name}"
        );
        check_db(&store, &exp, &format!("{name}: after the past window")).await;
        store.close().await;
        db.drop_db().await;
    }
}

/// Two hosts (search pages on one, the JSON API on the other) are worked in parallel,
/// each paced by its own delay.
#[tokio::test]
async fn two_hosts_run_in_parallel_each_paced() {
    let exp = expected();
    let search_host = server();
    let api_host = server();
    let db = TestDb::sqlite();
    let store = Store::open(&db.url).await.unwrap();
    let delay = 0.08;
    let mut s = settings(&search_host, &exp);
    s.config.api_url = api_host.base.clone();
    s.config.passport_url = api_host.base.clone();
    let fetcher = Fetcher::new(
        Politeness {
            delay_secs: delay,
            jitter_secs: 0.0,
            concurrency: 2,
            ..polite()
        },
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let r = weibo::run(
        &store,
        cleaner(),
        &fetcher,
        &s,
        &run_job(),
        None,
        false,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.ending, Ending::Done, "{r:?}");
    check_db(&store, &exp, "two hosts").await;
    let a = search_host.requests();
    let b = api_host.requests();
    assert!(a.len() > 50 && b.len() > 10, "{} {}", a.len(), b.len());
    for log in [&a, &b] {
        for w in log.windows(2) {
            let gap = w[1].at.duration_since(w[0].at).as_secs_f64();
            // Pacing is kept where requests leave; arrival adds a little jitter.
            assert!(gap >= delay * 0.75, "requests to one host {gap:.3}s apart");
        }
    }
    // The API host was asked while the search host was still being read.
    let (a_end, b_start) = (a.last().unwrap().at, b.first().unwrap().at);
    let overlapping = b.iter().filter(|q| q.at < a_end).count();
    assert!(
        b_start < a_end && overlapping > 5,
        "the hosts were worked one after the other ({overlapping} API requests during the search)"
    );
    store.close().await;
}

/// `conversations_of_originals` adds the conversations of the originals that matched
/// reposts quote; without it only the matched posts' are collected.
#[tokio::test]
async fn conversations_of_quoted_originals_only_when_asked() {
    let exp = expected();
    let original = "5144191369741292";
    for with in [false, true] {
        let server = server();
        let db = TestDb::sqlite();
        let store = Store::open(&db.url).await.unwrap();
        let mut s = settings(&server, &exp);
        s.config.conversations_of_originals = with;
        let r = crawl_job(&store, &s, &run_job()).await;
        assert_eq!(r.ending, Ending::Done, "{r:?}");
        check_db(&store, &exp, "originals").await;
        let rows = store.coverage(Some(r.run_id)).await.unwrap();
        for kind in ["comments", "reposts"] {
            assert_eq!(
                rows.iter()
                    .any(|c| c.kind == kind && c.query.contains(original)),
                with,
                "{kind} of the quoted original (conversations_of_originals = {with})"
            );
        }
        let asked = server
            .requests()
            .iter()
            .filter(|q| q.param("id") == Some(original))
            .count();
        assert_eq!(asked > 0, with, "{asked} requests for the original");
        store.close().await;
    }
}

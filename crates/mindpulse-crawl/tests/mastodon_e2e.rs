//! Mastodon hashtag timelines against the local fixture server: `max_id` paging through
//! the `Link` header, replies linked to their parent, content warnings kept, a 429 that
//! stops the run and a resume that finishes it, a killed run, and coverage.

use mindpulse_clean::{CleanOptions, Cleaner, PseudonymKey};
use mindpulse_crawl::mastodon::{self, MastodonJob};
use mindpulse_crawl::testing::{Behavior, Matcher, Resp, TestServer};
use mindpulse_crawl::{Ending, Fetcher, Politeness};
use mindpulse_store::testing::TestDb;
use mindpulse_store::Store;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

fn server() -> TestServer {
    TestServer::from_index(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mastodon"),
    )
    .unwrap()
}

fn cleaner() -> Arc<Cleaner> {
    Arc::new(Cleaner::new(
        PseudonymKey::from_secret("k"),
        CleanOptions::default(),
    ))
}

fn job(server: &TestServer) -> MastodonJob {
    MastodonJob {
        instance: server.base.clone(),
        tag: "#insomnia".into(),
        max_pages: 10,
        since: None,
    }
}

fn fetcher() -> Fetcher {
    Fetcher::new(Politeness::for_tests(), Arc::new(AtomicBool::new(false))).unwrap()
}

#[tokio::test]
async fn tag_timeline_is_paged_stored_and_covered() {
    for db in TestDb::all().await {
        let name = db.backend.name();
        let server = server();
        let store = Store::open(&db.url).await.unwrap();
        let r = mastodon::run(
            &store,
            cleaner(),
            &fetcher(),
            &job(&server),
            None,
            false,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            (r.ending, r.counts.accepted),
            (Ending::Done, 5),
            "{name}: {r:?}"
        );
        let posts = store
            .export_page(&Default::default(), 0, 100, false)
            .await
            .unwrap();
        assert_eq!(posts.len(), 5);
        let host = server
            .base
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap()
            .to_string();
        let reply = posts
            .iter()
            .find(|p| p.platform_id == format!("{host}:113500000000000004"))
            .unwrap();
        assert_eq!(reply.kind, "comment");
        assert_eq!(
            reply.parent_id.as_deref(),
            Some(format!("{host}:113500000000000005").as_str())
        );
        assert!(
            reply.text.contains("[EMAIL]") && !reply.text.contains("night_owl"),
            "{}",
            reply.text
        );
        let cw = posts
            .iter()
            .find(|p| p.platform_id.ends_with(":113500000000000003"))
            .unwrap();
        assert!(cw.text.starts_with("mental health\n"), "{}", cw.text);
        assert_eq!((cw.repost_count, cw.like_count), (5, 20));
        let de = posts
            .iter()
            .find(|p| p.platform_id.ends_with(":113500000000000001"))
            .unwrap();
        assert_eq!(de.lang.as_deref(), Some("de"));
        assert!(posts
            .iter()
            .all(|p| p.topics == vec!["insomnia".to_string()]
                && p.author.as_deref().is_some_and(|a| a.starts_with("u_"))));
        let rows = store.coverage(Some(r.run_id)).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].pages_asked,
                rows[0].pages_fetched,
                rows[0].items_seen,
                rows[0].items_new
            ),
            (3, 3, 5, 5),
            "{name}"
        );
        assert!(rows[0].query.contains("#insomnia"));
        let reqs = server.requests();
        assert_eq!(
            reqs[1].param("max_id"),
            Some("113500000000000003"),
            "paged with the Link header's max_id"
        );
        assert!(
            reqs.iter().all(|q| q.header("cookie").is_none()),
            "no auth, no cookie"
        );
        store.close().await;
        let dump = String::from_utf8_lossy(&db.dump().unwrap()).into_owned();
        for secret in [
            "night_owl",
            "sleepless_sam",
            "dawn_walker",
            "sam.sleepless@example.com",
            "/users/",
        ] {
            assert!(
                !dump.contains(secret),
                "{name}: {secret} reached the database"
            );
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn rate_limit_then_resume_and_kill_then_resume() {
    let db = TestDb::sqlite();
    let server = server();
    let store = Store::open(&db.url).await.unwrap();
    server.fault(
        Matcher::new(
            "/api/v1/timelines/tag/insomnia",
            &[("max_id", "113500000000000003")],
        ),
        Behavior::Respond(Resp::status(429)),
        2,
    );
    let r1 = mastodon::run(
        &store,
        cleaner(),
        &fetcher(),
        &job(&server),
        None,
        false,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (r1.ending, r1.counts.accepted),
        (Ending::RateLimited, 3),
        "{r1:?}"
    );
    let r2 = mastodon::run(
        &store,
        cleaner(),
        &fetcher(),
        &job(&server),
        None,
        false,
        None,
    )
    .await
    .unwrap();
    assert!(r2.resumed);
    assert_eq!((r2.ending, r2.counts.accepted), (Ending::Done, 2));
    assert_eq!(store.count_posts().await.unwrap(), 5);

    // Killed while waiting on page 2: the next run continues from page 2.
    let db = TestDb::sqlite();
    let store = Store::open(&db.url).await.unwrap();
    server.clear_log();
    server.fault(
        Matcher::new(
            "/api/v1/timelines/tag/insomnia",
            &[("max_id", "113500000000000003")],
        ),
        Behavior::Hang(Duration::from_secs(2)),
        1,
    );
    let f = fetcher();
    let j = job(&server);
    let killed = tokio::time::timeout(
        Duration::from_millis(500),
        mastodon::run(&store, cleaner(), &f, &j, None, false, None),
    )
    .await;
    assert!(killed.is_err(), "the run was cut");
    assert_eq!(store.count_posts().await.unwrap(), 3);
    server.clear_log();
    let r3 = mastodon::run(
        &store,
        cleaner(),
        &fetcher(),
        &job(&server),
        None,
        false,
        None,
    )
    .await
    .unwrap();
    assert!(r3.resumed);
    assert_eq!(r3.ending, Ending::Done);
    assert_eq!(
        server.requests()[0].param("max_id"),
        Some("113500000000000003"),
        "resumed at page 2"
    );
    assert_eq!(store.count_posts().await.unwrap(), 5);
    store.close().await;
}

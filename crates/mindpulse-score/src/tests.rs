//! The driver's own logic on every backend: workers that share a database, limits and
//! resuming, a stop request, a scorer that fails, a dead worker's lease taken over, and
//! follow mode. The scorer here is a test double that records what it was given (the
//! real scorers are exercised end to end by the CLI tests); it scores a post's length.

use super::*;
use mindpulse_core::{PostToScore, ScoreFuture};
use mindpulse_store::testing::{sample_posts, TestDb};
use mindpulse_store::{OnConflict, TopicCache};
use std::sync::Mutex;

struct Recorder {
    info: ScorerInfo,
    seen: Mutex<Vec<i64>>,
    /// Fail (fatally) on this page number (1-based).
    fail_on_page: Option<usize>,
    pages: Mutex<usize>,
}

impl Recorder {
    fn new(version: &str) -> Arc<Recorder> {
        Arc::new(Recorder {
            info: ScorerInfo {
                model_id: "recorder".into(),
                model_sha256: None,
                version: version.into(),
                params: serde_json::json!({"kind": "test"}),
            },
            seen: Mutex::new(Vec::new()),
            fail_on_page: None,
            pages: Mutex::new(0),
        })
    }
    fn seen(&self) -> Vec<i64> {
        self.seen.lock().unwrap().clone()
    }
}

impl PostScorer for Recorder {
    fn info(&self) -> &ScorerInfo {
        &self.info
    }
    fn score_page<'a>(&'a self, posts: &'a [PostToScore]) -> ScoreFuture<'a> {
        Box::pin(async move {
            let page_no = {
                let mut p = self.pages.lock().unwrap();
                *p += 1;
                *p
            };
            let mut page = ScoredPage::default();
            if self.fail_on_page == Some(page_no) {
                // Half the page scored, then the backend went away.
                for p in &posts[..posts.len() / 2] {
                    page.scores.push(length_score(p));
                    self.seen.lock().unwrap().push(p.id);
                }
                page.fatal = Some("the server went away".into());
                return page;
            }
            for p in posts {
                self.seen.lock().unwrap().push(p.id);
                page.scores.push(length_score(p));
                page.scores.push(Score {
                    dimension: "route".into(),
                    scale: "tokens".into(),
                    label: Some(p.lang.clone().unwrap_or_default()),
                    ..length_score(p)
                });
            }
            page.count("pages", 1);
            page
        })
    }
}

fn length_score(p: &PostToScore) -> Score {
    Score {
        post_id: p.id,
        dimension: "length".into(),
        value: p.text.chars().count() as f64,
        scale: "chars".into(),
        label: None,
        rationale: None,
        meta: Some(serde_json::json!({"topics": p.topics.len()})),
    }
}

fn opts(batch: usize) -> DriverOptions {
    DriverOptions {
        batch_size: batch,
        poll: Duration::from_millis(100),
        lease: Duration::from_secs(30),
        ..DriverOptions::default()
    }
}

async fn seeded(db: &TestDb, n: usize) -> Store {
    let store = Store::open(&db.url).await.unwrap();
    store
        .insert_posts(
            &sample_posts(n),
            None,
            None,
            OnConflict::Ignore,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    store
}

fn never() -> AtomicBool {
    AtomicBool::new(false)
}

async fn drivers_share_a_database(db: &TestDb) {
    let name = db.backend.name();
    let store = seeded(db, 120).await;
    let a = Recorder::new("v1");
    let b = Recorder::new("v1");
    let (o, stop) = (opts(7), never());
    let (ra, rb) = tokio::join!(
        run(&store, a.clone(), &o, &stop, &|_| {}),
        run(&store, b.clone(), &o, &stop, &|_| {}),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.scorer_id, rb.scorer_id, "{name}");
    assert_eq!(ra.posts + rb.posts, 120, "{name}");
    assert_eq!(ra.rows + rb.rows, 240, "{name}");
    let mut all = a.seen();
    all.extend(b.seen());
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(
        before,
        all.len(),
        "{name}: a post was scored by both workers"
    );
    assert_eq!(all.len(), 120, "{name}");
    assert_eq!(ra.remaining, 0, "{name}");
    // One worker may have found nothing left to claim (on a busy machine the other can take
    // every batch); a worker that scored nothing has no summary for the dimension.
    let length_n = |r: &RunSummary| r.dims.get("length").map_or(0, |d| d.n);
    assert_eq!(length_n(&ra) + length_n(&rb), 120, "{name}");
    // Nothing left: a third run scores nothing.
    let again = run(&store, Recorder::new("v1"), &opts(7), &never(), &|_| {})
        .await
        .unwrap();
    assert_eq!(again.posts, 0, "{name}");
    // Another version scores everything again, independently.
    let v2 = run(&store, Recorder::new("v2"), &opts(50), &never(), &|_| {})
        .await
        .unwrap();
    assert_eq!(v2.posts, 120, "{name}");
    assert_ne!(v2.scorer_id, ra.scorer_id, "{name}");
    let runs = store.runs(Some(RunKind::Score), 10).await.unwrap();
    assert!(runs.iter().all(|r| r.status == "done"), "{name}: {runs:?}");
    store.close().await;
}

async fn limits_stops_and_failures(db: &TestDb) {
    let name = db.backend.name();
    let store = seeded(db, 40).await;
    // --limit, then resume.
    let first = run(
        &store,
        Recorder::new("v1"),
        &DriverOptions {
            limit: Some(10),
            ..opts(4)
        },
        &never(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(first.posts, 10, "{name}");
    assert_eq!(first.remaining, 30, "{name}");
    // A stop request before the first batch: nothing scored, run interrupted.
    let stopped = AtomicBool::new(true);
    let s = run(&store, Recorder::new("v1"), &opts(4), &stopped, &|_| {})
        .await
        .unwrap();
    assert!(s.interrupted, "{name}");
    assert_eq!(s.posts, 0, "{name}");
    assert_eq!(
        store.runs(Some(RunKind::Score), 1).await.unwrap()[0].status,
        "interrupted"
    );
    // A scorer that fails on its second page: what it scored is kept, the run fails, the
    // rest is claimable again.
    let failing = Arc::new(Recorder {
        fail_on_page: Some(2),
        ..Arc::try_unwrap(Recorder::new("v1")).ok().unwrap()
    });
    let err = run(&store, failing.clone(), &opts(4), &never(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, DriverError::Scorer { posts: 6, .. }),
        "{name}: {err}"
    );
    assert_eq!(
        store.runs(Some(RunKind::Score), 1).await.unwrap()[0].status,
        "failed"
    );
    let scorer_id = store
        .ensure_scorer(&Recorder::new("v1").info)
        .await
        .unwrap();
    assert_eq!(
        store.unscored_count(scorer_id, None).await.unwrap(),
        24,
        "{name}"
    );
    let rest = run(&store, Recorder::new("v1"), &opts(8), &never(), &|_| {})
        .await
        .unwrap();
    assert_eq!(rest.posts, 24, "{name}");
    store.close().await;
}

async fn dead_worker_is_taken_over(db: &TestDb) {
    let name = db.backend.name();
    let store = seeded(db, 30).await;
    let rec = Recorder::new("v1");
    let scorer_id = store.ensure_scorer(&rec.info).await.unwrap();
    // A worker that claimed a batch and died: its lease runs out in 300 ms.
    let dead_run = store
        .start_run(&NewRun {
            kind: Some(RunKind::Score),
            scorer_id: Some(scorer_id),
            ..NewRun::default()
        })
        .await
        .unwrap();
    let claim = store
        .claim_batch(&ClaimRequest {
            scorer_id,
            run_id: dead_run,
            owner: "dead-host:1:x",
            max_posts: 10,
            lease_ms: 300,
            after_id: 0,
            source_id: None,
        })
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Lease(_)), "{name}");
    let s = run(&store, rec.clone(), &opts(8), &never(), &|_| {})
        .await
        .unwrap();
    assert_eq!(s.posts, 30, "{name}: the dead worker's 10 posts too");
    assert_eq!(s.takeovers, 1, "{name}");
    assert_eq!(s.remaining, 0, "{name}");
    store.close().await;
}

async fn follow_scores_new_posts(db: &TestDb) {
    let name = db.backend.name();
    let store = seeded(db, 10).await;
    let rec = Recorder::new("v1");
    let stop = Arc::new(AtomicBool::new(false));
    let task = {
        let store = store.clone();
        let rec = rec.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let o = DriverOptions {
                follow: true,
                ..opts(4)
            };
            run(&store, rec, &o, &stop, &|_| {}).await
        })
    };
    let wait_for = |n: usize| {
        let rec = rec.clone();
        async move {
            for _ in 0..200 {
                if rec.seen().len() >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("only {} of {n} posts scored", rec.seen().len());
        }
    };
    wait_for(10).await;
    let more: Vec<_> = sample_posts(25).into_iter().skip(10).collect();
    store
        .insert_posts(
            &more,
            None,
            None,
            OnConflict::Ignore,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    wait_for(25).await;
    stop.store(true, Ordering::SeqCst);
    let s = task.await.unwrap().unwrap();
    assert!(s.interrupted, "{name}");
    assert_eq!(s.posts, 25, "{name}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drivers_share_a_database_on_every_backend() {
    mindpulse_store::on_every_backend!(drivers_share_a_database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_stops_and_failures_on_every_backend() {
    mindpulse_store::on_every_backend!(limits_stops_and_failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_lease_is_taken_over_on_every_backend() {
    mindpulse_store::on_every_backend!(dead_worker_is_taken_over);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_mode_scores_posts_as_they_arrive_on_every_backend() {
    mindpulse_store::on_every_backend!(follow_scores_new_posts);
}

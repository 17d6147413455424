//! Leases on every backend: batches in id order without overlap, scores that hide posts,
//! takeover after the deadline, renewals, independent scorers, the source filter, and
//! many concurrent claimers that never share a post.

use crate::testing::{sample_posts, TestDb};
use crate::{Claim, ClaimRequest, Lease, NewRun, OnConflict, RunKind, Store, TopicCache};
use mindpulse_core::{Score, ScorerInfo};
use std::collections::HashSet;
use std::time::Duration;

fn info(model: &str, version: &str) -> ScorerInfo {
    ScorerInfo {
        model_id: model.into(),
        model_sha256: None,
        version: version.into(),
        params: serde_json::json!({}),
    }
}

async fn run(store: &Store, scorer_id: i64) -> i64 {
    store
        .start_run(&NewRun {
            kind: Some(RunKind::Score),
            model_id: Some("m".into()),
            version: Some("v".into()),
            scorer_id: Some(scorer_id),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn req(
    scorer_id: i64,
    run_id: i64,
    owner: &str,
    max_posts: i64,
    lease_ms: i64,
) -> ClaimRequest<'_> {
    ClaimRequest {
        scorer_id,
        run_id,
        owner,
        max_posts,
        lease_ms,
        after_id: 0,
        source_id: None,
    }
}

fn lease(c: Claim) -> Lease {
    match c {
        Claim::Lease(l) => l,
        other => panic!("expected a lease, got {other:?}"),
    }
}

fn scores_for(posts: &[mindpulse_core::PostToScore]) -> Vec<Score> {
    posts
        .iter()
        .map(|p| Score {
            post_id: p.id,
            dimension: "F30_F39".into(),
            value: 1.0,
            scale: "0-5".into(),
            label: None,
            rationale: None,
            meta: None,
        })
        .collect()
}

async fn suite(db: &TestDb) {
    let name = db.backend.name();
    let store = Store::open(&db.url).await.unwrap();
    let batch = sample_posts(20);
    let source = store
        .ensure_source("crawl-a", "crawl", Some("weibo"))
        .await
        .unwrap();
    store
        .insert_posts(
            &batch[..15],
            None,
            None,
            OnConflict::Ignore,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    store
        .insert_posts(
            &batch[15..],
            Some(source),
            None,
            OnConflict::Ignore,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    let qwen = store.ensure_scorer(&info("qwen", "v1")).await.unwrap();
    let heads = store.ensure_scorer(&info("heads", "abc")).await.unwrap();
    assert_ne!(qwen, heads, "{name}");
    let run_a = run(&store, qwen).await;
    let run_b = run(&store, qwen).await;
    assert_eq!(
        store.unscored_count(qwen, None).await.unwrap(),
        20,
        "{name}"
    );

    // Batches in id order, without overlap; posts come with text, language and topics.
    let a1 = lease(
        store
            .claim_batch(&req(qwen, run_a, "a", 4, 60_000))
            .await
            .unwrap(),
    );
    let b1 = lease(
        store
            .claim_batch(&req(qwen, run_b, "b", 4, 60_000))
            .await
            .unwrap(),
    );
    assert_eq!(a1.n_posts, 4, "{name}");
    assert!(!a1.taken_over, "{name}");
    assert!(a1.last_post_id < b1.first_post_id, "{name}: {a1:?} {b1:?}");
    let a_posts = store.lease_posts(&a1).await.unwrap();
    assert_eq!(a_posts.len(), 4, "{name}");
    assert!(a_posts.windows(2).all(|w| w[0].id < w[1].id), "{name}");
    assert_eq!(
        a_posts[2].topics,
        vec!["失眠".to_string(), "打工人".to_string()],
        "{name}"
    );
    assert!(a_posts[2].text.contains("睡不着"), "{name}");
    assert_eq!(a_posts[1].lang.as_deref(), Some("en"), "{name}");
    assert!(store.finish_lease(b1.id, "b").await.unwrap(), "{name}");

    // Scored posts leave the lease and the pool; finishing a lease frees what is left.
    store
        .insert_scores(qwen, run_a, &scores_for(&a_posts[..3]))
        .await
        .unwrap();
    assert_eq!(store.lease_posts(&a1).await.unwrap().len(), 1, "{name}");
    assert!(store.finish_lease(a1.id, "a").await.unwrap(), "{name}");
    assert_eq!(
        store.unscored_count(qwen, None).await.unwrap(),
        17,
        "{name}"
    );
    // The unscored fourth post is claimable again, and comes first.
    let a2 = lease(
        store
            .claim_batch(&req(qwen, run_a, "a", 2, 60_000))
            .await
            .unwrap(),
    );
    assert_eq!(a2.first_post_id, Some(a_posts[3].id), "{name}");
    assert!(store.finish_lease(a2.id, "a").await.unwrap(), "{name}");

    // Another scorer is not blocked by this one's leases or scores.
    let h = lease(
        store
            .claim_batch(&req(heads, run_a, "h", 100, 60_000))
            .await
            .unwrap(),
    );
    assert_eq!(h.n_posts, 20, "{name}");
    assert!(store.finish_lease(h.id, "h").await.unwrap(), "{name}");

    // A lease whose deadline passes is taken over by the next claim; the old owner's
    // finish is refused, the new owner's accepted.
    let short = lease(
        store
            .claim_batch(&req(qwen, run_a, "dead", 3, 150))
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = lease(
        store
            .claim_batch(&req(qwen, run_b, "c", 10, 60_000))
            .await
            .unwrap(),
    );
    assert!(taken.taken_over, "{name}");
    assert_eq!(taken.id, short.id, "{name}");
    assert_eq!(taken.owner, "c", "{name}");
    assert_eq!(taken.takeovers, 1, "{name}");
    assert_eq!(store.lease_posts(&taken).await.unwrap().len(), 3, "{name}");
    assert!(
        !store.finish_lease(short.id, "dead").await.unwrap(),
        "{name}"
    );
    assert!(store.finish_lease(taken.id, "c").await.unwrap(), "{name}");

    // A renewed lease is not taken over.
    let kept = lease(
        store
            .claim_batch(&req(qwen, run_a, "k", 2, 150))
            .await
            .unwrap(),
    );
    assert_eq!(store.renew_leases("k", 60_000).await.unwrap(), 1, "{name}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let next = lease(
        store
            .claim_batch(&req(qwen, run_b, "c", 2, 60_000))
            .await
            .unwrap(),
    );
    assert!(!next.taken_over, "{name}");
    assert!(next.first_post_id > kept.last_post_id, "{name}");
    store.finish_lease(next.id, "c").await.unwrap();

    // The source filter: only the crawler's posts.
    let mut sreq = req(qwen, run_b, "s", 100, 60_000);
    sreq.source_id = Some(source);
    let s = lease(store.claim_batch(&sreq).await.unwrap());
    assert_eq!(s.n_posts, 5, "{name}");
    let sp = store.lease_posts(&s).await.unwrap();
    store
        .insert_scores(qwen, run_b, &scores_for(&sp))
        .await
        .unwrap();
    store.finish_lease(s.id, "s").await.unwrap();
    assert_eq!(
        store.unscored_count(qwen, Some(source)).await.unwrap(),
        0,
        "{name}"
    );
    // Nothing left for the source; "k" holds no posts of it.
    assert_eq!(
        store.claim_batch(&sreq).await.unwrap(),
        Claim::Nothing { held_by_others: 0 },
        "{name}"
    );

    // All claimed by others: nothing to claim, one lease held by someone else.
    let all = lease(
        store
            .claim_batch(&req(qwen, run_a, "all", 100, 60_000))
            .await
            .unwrap(),
    );
    assert_eq!(
        store
            .claim_batch(&req(qwen, run_b, "late", 5, 60_000))
            .await
            .unwrap(),
        Claim::Nothing { held_by_others: 2 },
        "{name}: leases of k and all"
    );
    store.finish_lease(all.id, "all").await.unwrap();
    store.finish_lease(kept.id, "k").await.unwrap();

    // Status shows the scorers and their progress.
    let status = store.score_status(60_000).await.unwrap();
    let q = status.iter().find(|s| s.model_id == "qwen").unwrap();
    assert_eq!(q.posts, 20, "{name}");
    assert_eq!(q.scored, 8, "{name}");
    assert!(q.leases.is_empty(), "{name}");
    assert_eq!(q.workers.len(), 2, "{name}: two running runs");
    store.close().await;
}

/// Many claimers at once on the same scorer: every post is claimed exactly once.
async fn concurrent(db: &TestDb) {
    let name = db.backend.name();
    let store = Store::open(&db.url).await.unwrap();
    let batch = sample_posts(300);
    store
        .insert_posts(
            &batch,
            None,
            None,
            OnConflict::Ignore,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    let scorer = store.ensure_scorer(&info("race", "v1")).await.unwrap();
    let run_id = run(&store, scorer).await;
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let claim = store
                    .claim_batch(&req(scorer, run_id, &owner, 7, 60_000))
                    .await
                    .unwrap();
                let Claim::Lease(l) = claim else { break };
                let posts = store.lease_posts(&l).await.unwrap();
                mine.extend(posts.iter().map(|p| p.id));
                store
                    .insert_scores(scorer, run_id, &scores_for(&posts))
                    .await
                    .unwrap();
                assert!(store.finish_lease(l.id, &owner).await.unwrap());
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for t in tasks {
        for id in t.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "{name}: post {id} claimed twice");
        }
    }
    assert_eq!(total, 300, "{name}");
    assert_eq!(
        store.unscored_count(scorer, None).await.unwrap(),
        0,
        "{name}"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_on_every_backend() {
    crate::on_every_backend!(suite);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_share_a_post() {
    crate::on_every_backend!(concurrent);
}

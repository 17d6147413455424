//! The rollups answer exactly what a scan of the posts answers, on every backend: after a
//! rebuild, and after runs that add posts and scores refresh them incrementally.

use crate::testing::{sample_posts, TestDb};
use crate::{
    slot_of, Fold, FoldBy, NewPost, NewRun, OnConflict, PostFilter, RollupGroup, RollupQuery,
    RunCounts, RunKind, RunStatus, Store, TopicCache,
};
use chrono::{Duration, TimeZone, Utc};
use mindpulse_core::{Score, ScorerInfo};
use std::collections::BTreeMap;

type Key = (i64, Option<String>, Option<String>, Option<String>);
type Cells = BTreeMap<Key, (i64, i64, f64, f64)>;

/// Posts over two days and several hours, two platforms, three languages (one unknown),
/// regions that differ only in case, topics, duplicates and one post without a time.
fn posts(n: usize, offset: usize) -> Vec<NewPost> {
    let base = Utc.with_ymd_and_hms(2025, 11, 21, 22, 5, 0).single();
    let mut posts = sample_posts(n + offset).split_off(offset);
    for (i, p) in posts.iter_mut().enumerate() {
        let k = i + offset;
        p.post.platform_id = format!("r{k}");
        p.post.content_hash = format!("{k:032x}");
        p.post.created_at = base.map(|b| b + Duration::minutes((k as i64 * 37) % (40 * 60)));
        p.post.platform = if k.is_multiple_of(3) {
            "mastodon"
        } else {
            "weibo"
        }
        .into();
        p.post.lang = match k % 5 {
            0 => None,
            1 | 2 => Some("zh".into()),
            _ => Some("en".into()),
        };
        p.post.region = match k % 4 {
            0 => None,
            1 => Some("Beijing".into()),
            2 => Some("beijing".into()),
            _ => Some("上海".into()),
        };
        p.post.topics = match k % 6 {
            0 => vec!["失眠".into(), "Exam".into()],
            1 => vec!["exam".into()],
            _ => Vec::new(),
        };
        if k % 7 == 3 {
            p.dup_kind = Some("near");
        }
        if k == 11 {
            p.post.created_at = None;
        }
    }
    posts
}

/// What a scan of the posts gives for one query, keyed like the rollup cells.
async fn scanned(store: &Store, q: &RollupQuery<'_>) -> Cells {
    let filter = PostFilter {
        platform: q.platform.map(str::to_string),
        no_duplicates: q.no_duplicates,
        ..PostFilter::default()
    };
    let rows = store
        .series_page(q.score, &filter, 0, 100_000)
        .await
        .unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let topics = store.topics_of_posts(&ids).await.unwrap();
    let mut cells = Cells::new();
    for r in rows {
        let slot = slot_of(r.created_at);
        let groups: Vec<(Option<String>, Option<String>)> = match q.group {
            RollupGroup::None | RollupGroup::Lang => vec![(None, None)],
            RollupGroup::Platform => vec![(None, Some(r.platform.clone()))],
            RollupGroup::Region => vec![(r.region.clone(), None)],
            RollupGroup::Topic => match topics.get(&r.id) {
                Some(ts) => ts.iter().map(|t| (Some(t.clone()), None)).collect(),
                None => vec![(None, None)],
            },
        };
        for (grp, platform) in groups {
            let e = cells
                .entry((slot, grp, platform, r.lang.clone()))
                .or_default();
            let p = r.value.unwrap_or(0.0);
            e.0 += 1;
            e.1 += i64::from(r.label.as_deref() == Some("yes"));
            e.2 += p;
            e.3 += p * p;
        }
    }
    cells
}

async fn from_rollups(store: &Store, q: &RollupQuery<'_>) -> Cells {
    store
        .rollup_cells(q)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                (c.slot, c.grp, c.platform, c.lang),
                (c.n, c.flagged, c.sum_p, c.sum_p2),
            )
        })
        .collect()
}

async fn assert_same(store: &Store, scorer: i64, name: &str, when: &str) {
    let groups = [
        RollupGroup::None,
        RollupGroup::Platform,
        RollupGroup::Lang,
        RollupGroup::Region,
        RollupGroup::Topic,
    ];
    for group in groups {
        for score in [None, Some((scorer, "depression"))] {
            for no_duplicates in [false, true] {
                for platform in [None, Some("weibo")] {
                    let q = RollupQuery {
                        score,
                        group,
                        since_slot: None,
                        until_slot: None,
                        platform,
                        no_duplicates,
                        fold: None,
                    };
                    let want = scanned(store, &q).await;
                    let got = from_rollups(store, &q).await;
                    assert!(!want.is_empty(), "{name} {when}: {q:?} selects posts");
                    assert_eq!(
                        got.keys().collect::<Vec<_>>(),
                        want.keys().collect::<Vec<_>>(),
                        "{name} {when}: cells of {q:?}"
                    );
                    for (k, w) in &want {
                        let g = got[k];
                        assert_eq!((g.0, g.1), (w.0, w.1), "{name} {when}: {q:?} {k:?}");
                        assert!(
                            (g.2 - w.2).abs() < 1e-9 && (g.3 - w.3).abs() < 1e-9,
                            "{name} {when}: {q:?} {k:?}: {g:?} vs {w:?}"
                        );
                    }
                }
            }
        }
    }
    // A slot window keeps exactly the cells inside it.
    let all = RollupQuery {
        score: None,
        group: RollupGroup::None,
        since_slot: None,
        until_slot: None,
        platform: None,
        no_duplicates: false,
        fold: None,
    };
    let cells = from_rollups(store, &all).await;
    let slots: Vec<i64> = cells.keys().map(|k| k.0).collect();
    let (lo, hi) = (slots[1], slots[slots.len() - 2]);
    let window = RollupQuery {
        since_slot: Some(lo),
        until_slot: Some(hi),
        ..all
    };
    let inside = from_rollups(store, &window).await;
    assert!(inside.keys().all(|k| k.0 >= lo && k.0 < hi), "{name}");
    assert_eq!(
        inside.len(),
        cells.keys().filter(|k| k.0 >= lo && k.0 < hi).count(),
        "{name}"
    );
}

/// Hours summed into days, weeks or one bucket in SQL equal the hours summed here.
async fn assert_folds(store: &Store, scorer: i64, name: &str) {
    for per in [FoldBy::Day, FoldBy::Week, FoldBy::All] {
        for offset_hours in [0i64, 8, -5] {
            for group in [RollupGroup::Region, RollupGroup::Platform] {
                let hourly = RollupQuery {
                    score: Some((scorer, "depression")),
                    group,
                    since_slot: None,
                    until_slot: None,
                    platform: None,
                    no_duplicates: true,
                    fold: None,
                };
                let bucket = |slot: i64| {
                    let day = (slot + offset_hours).div_euclid(24);
                    match per {
                        FoldBy::Day => day,
                        FoldBy::Week => (day + 3).div_euclid(7),
                        FoldBy::All => 0,
                    }
                };
                let mut want: Cells = Cells::new();
                for ((slot, g, p, l), v) in from_rollups(store, &hourly).await {
                    let e = want.entry((bucket(slot), g, p, l)).or_default();
                    e.0 += v.0;
                    e.1 += v.1;
                    e.2 += v.2;
                    e.3 += v.3;
                }
                let folded = RollupQuery {
                    fold: Some(Fold { offset_hours, per }),
                    ..hourly
                };
                let got: Cells = from_rollups(store, &folded)
                    .await
                    .into_iter()
                    .map(|((slot, g, p, l), v)| ((bucket(slot), g, p, l), v))
                    .collect();
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    want.keys().collect::<Vec<_>>(),
                    "{name}: {per:?} {offset_hours} {group:?}"
                );
                for (k, w) in &want {
                    let g = got[k];
                    assert_eq!((g.0, g.1), (w.0, w.1), "{name}: {per:?} {k:?}");
                    assert!((g.2 - w.2).abs() < 1e-9, "{name}: {per:?} {k:?}");
                }
            }
        }
    }
}

async fn score_run(store: &Store, scorer: i64, ids: &[i64], salt: usize) {
    let run = store
        .start_run(&NewRun {
            kind: Some(RunKind::Score),
            model_id: Some("heads".into()),
            version: Some("v1".into()),
            scorer_id: Some(scorer),
            ..NewRun::default()
        })
        .await
        .unwrap();
    let scores: Vec<Score> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let v = ((i + salt) % 10) as f64 / 10.0 + 0.05;
            Score {
                post_id: *id,
                dimension: "depression".into(),
                value: v,
                scale: "prob:yes".into(),
                label: Some(if v > 0.5 { "yes" } else { "no" }.into()),
                rationale: None,
                meta: None,
            }
        })
        .collect();
    store.insert_scores(scorer, run, &scores).await.unwrap();
    store
        .finish_run(run, RunStatus::Done, RunCounts::default(), None)
        .await
        .unwrap();
}

async fn import_run(store: &Store, batch: &[NewPost]) -> Vec<i64> {
    let run = store
        .start_run(&NewRun {
            kind: Some(RunKind::Import),
            ..NewRun::default()
        })
        .await
        .unwrap();
    store
        .insert_posts(
            batch,
            None,
            Some(run),
            OnConflict::Ignore,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    store
        .finish_run(run, RunStatus::Done, RunCounts::default(), None)
        .await
        .unwrap();
    let rows = store
        .series_page(None, &PostFilter::default(), 0, 100_000)
        .await
        .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

async fn suite(db: &TestDb) {
    let name = db.backend.name();
    let store = Store::open(&db.url).await.unwrap();
    assert!(
        store.rollups_built().await.unwrap(),
        "{name}: an empty database starts built"
    );
    let scorer = store
        .ensure_scorer(&ScorerInfo {
            model_id: "heads".into(),
            model_sha256: None,
            version: "v1".into(),
            params: serde_json::json!({}),
        })
        .await
        .unwrap();
    // Runs refresh the rollups incrementally …
    let ids = import_run(&store, &posts(60, 0)).await;
    score_run(&store, scorer, &ids[..40], 0).await;
    assert_same(&store, scorer, name, "after runs").await;
    // … including posts added to hours that already had some, and re-scored posts.
    let ids = import_run(&store, &posts(30, 60)).await;
    score_run(&store, scorer, &ids[20..], 3).await;
    assert_same(&store, scorer, name, "after more runs").await;
    // A rebuild gives the same.
    let before = from_rollups(
        &store,
        &RollupQuery {
            score: Some((scorer, "depression")),
            group: RollupGroup::Topic,
            since_slot: None,
            until_slot: None,
            platform: None,
            no_duplicates: true,
            fold: None,
        },
    )
    .await;
    store.invalidate_rollups().await.unwrap();
    assert!(!store.rollups_built().await.unwrap(), "{name}");
    store.rebuild_rollups().await.unwrap();
    assert!(store.rollups_built().await.unwrap(), "{name}");
    assert_same(&store, scorer, name, "after a rebuild").await;
    assert_folds(&store, scorer, name).await;
    let after = from_rollups(
        &store,
        &RollupQuery {
            score: Some((scorer, "depression")),
            group: RollupGroup::Topic,
            since_slot: None,
            until_slot: None,
            platform: None,
            no_duplicates: true,
            fold: None,
        },
    )
    .await;
    assert_eq!(before.len(), after.len(), "{name}");
    store.close().await;
}

/// A run whose process died (no `finish_run`) is rolled up when it is found stale.
async fn killed_run(db: &TestDb) {
    let name = db.backend.name();
    let store = Store::open(&db.url).await.unwrap();
    let run = store
        .start_run(&NewRun {
            kind: Some(RunKind::Import),
            ..NewRun::default()
        })
        .await
        .unwrap();
    store.heartbeat_run(run).await.unwrap();
    store
        .insert_posts(
            &posts(12, 0),
            None,
            Some(run),
            OnConflict::Ignore,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    let q = RollupQuery {
        score: None,
        group: RollupGroup::None,
        since_slot: None,
        until_slot: None,
        platform: None,
        no_duplicates: false,
        fold: None,
    };
    assert!(
        from_rollups(&store, &q).await.is_empty(),
        "{name}: not finished yet"
    );
    // Stale by any heartbeat age: the run is interrupted and what it stored is counted.
    assert_eq!(
        store
            .interrupt_stale_runs(RunKind::Import, -60_000)
            .await
            .unwrap(),
        1,
        "{name}"
    );
    assert_eq!(
        from_rollups(&store, &q).await,
        scanned(&store, &q).await,
        "{name}"
    );
    assert_eq!(
        store
            .interrupt_stale_runs(RunKind::Import, -60_000)
            .await
            .unwrap(),
        0,
        "{name}: once"
    );
    store.close().await;
}

#[tokio::test]
async fn a_killed_run_is_rolled_up_when_found_stale_on_every_backend() {
    crate::on_every_backend!(killed_run);
}

#[tokio::test]
async fn rollups_equal_the_scan_on_every_backend() {
    crate::on_every_backend!(suite);
}

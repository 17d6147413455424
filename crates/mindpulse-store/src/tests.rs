//! The store's test suite, run on every available backend.

use crate::testing::TestDb;
use crate::*;
use chrono::{TimeZone, Utc};
use mindpulse_core::{CleanAuthor, CleanPost, PostKind};

fn post(id: &str, text: &str, topics: &[&str]) -> NewPost {
    NewPost {
        post: CleanPost {
            platform: "weibo".into(),
            platform_id: id.into(),
            kind: PostKind::Post,
            parent_id: None,
            root_id: None,
            author: Some("u_0123456789abcdef0123".into()),
            text: text.into(),
            lang: Some("zh".into()),
            created_at: Some(Utc.with_ymd_and_hms(2025, 11, 22, 2, 12, 33).unwrap()),
            collected_at: Utc.with_ymd_and_hms(2025, 11, 22, 3, 0, 0).unwrap(),
            topics: topics.iter().map(|s| s.to_string()).collect(),
            repost_count: 1,
            comment_count: 2,
            like_count: 12000,
            region: Some("北京".into()),
            content_hash: format!("{:032x}", text.len()),
            simhash: Some(-5),
            raw: None,
            author_info: Some(CleanAuthor {
                pseudonym: "u_0123456789abcdef0123".into(),
                verified_type: Some(0),
                follower_bucket: Some("1k-10k".into()),
                region: None,
            }),
        },
        dup_group: None,
        dup_kind: None,
    }
}

async fn suite(db: &TestDb) {
    let name = db.backend.name();
    let store = Store::open(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{name}: open: {e}"));
    // Re-running migrations is a no-op.
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "{name}: second migrate applied something"
    );
    assert_eq!(
        store.applied_versions().await.unwrap().last().copied(),
        Some(Store::schema_version())
    );

    let source = store
        .ensure_source("test-file.jsonl", "import", Some("weibo"))
        .await
        .unwrap();
    assert_eq!(
        store
            .ensure_source("test-file.jsonl", "import", Some("weibo"))
            .await
            .unwrap(),
        source
    );
    let run = store
        .start_run(&NewRun {
            kind: Some(RunKind::Import),
            source_id: Some(source),
            params: serde_json::json!({"format": "jsonl"}),
            ..Default::default()
        })
        .await
        .unwrap();

    let mut cache = TopicCache::new();
    let batch = vec![
        post("m1", "今天好累，不想上班", &["打工人", "周一"]),
        post("m2", "Feeling hopeless tonight", &["周一"]),
        post("m1", "same id again within the batch", &[]),
    ];
    let r = store
        .insert_posts(
            &batch,
            Some(source),
            Some(run),
            OnConflict::Ignore,
            &mut cache,
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        InsertReport {
            inserted: 2,
            existing: 1
        },
        "{name}"
    );
    // Importing the same batch again adds nothing.
    let r = store
        .insert_posts(
            &batch,
            Some(source),
            Some(run),
            OnConflict::Ignore,
            &mut cache,
        )
        .await
        .unwrap();
    assert_eq!(r.inserted, 0, "{name}");
    assert_eq!(store.count_posts().await.unwrap(), 2);

    // Crawl-style refresh changes counts, never duplicates.
    let mut refreshed = post("m2", "Feeling hopeless tonight", &["周一", "new topic"]);
    refreshed.post.like_count = 99;
    let r = store
        .insert_posts(
            &[refreshed],
            Some(source),
            Some(run),
            OnConflict::UpdateCounts,
            &mut TopicCache::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        InsertReport {
            inserted: 0,
            existing: 1
        },
        "{name}"
    );

    let page = store
        .export_page(&PostFilter::default(), 0, 10, true)
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].platform_id, "m1");
    assert_eq!(page[0].text, "今天好累，不想上班");
    assert_eq!(
        page[0].topics,
        vec!["周一".to_string(), "打工人".to_string()]
    );
    assert_eq!(
        page[0].created_at,
        Some(Utc.with_ymd_and_hms(2025, 11, 22, 2, 12, 33).unwrap())
    );
    assert_eq!(page[0].like_count, 12000);
    assert_eq!(page[1].like_count, 99, "{name}: counts refreshed");
    assert_eq!(
        page[1].topics.len(),
        2,
        "{name}: new topic linked on refresh"
    );
    assert_eq!(page[0].scores.as_deref(), Some(&[][..]));

    // Filters.
    let f = PostFilter {
        topic: Some("打工人".into()),
        ..Default::default()
    };
    assert_eq!(store.export_page(&f, 0, 10, false).await.unwrap().len(), 1);
    let f = PostFilter {
        since: Some(Utc.with_ymd_and_hms(2025, 11, 23, 0, 0, 0).unwrap()),
        ..Default::default()
    };
    assert!(store
        .export_page(&f, 0, 10, false)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .export_page(&PostFilter::default(), page[0].id, 10, false)
            .await
            .unwrap()
            .len(),
        1
    );

    // Scores: unique per post + scorer + dimension, whichever run wrote them.
    let info = mindpulse_core::ScorerInfo {
        model_id: "minilm-l6-v2".into(),
        model_sha256: Some("53aa5117".into()),
        version: "depression@1".into(),
        params: serde_json::json!({}),
    };
    let scorer = store.ensure_scorer(&info).await.unwrap();
    assert_eq!(store.ensure_scorer(&info).await.unwrap(), scorer, "{name}");
    let score_run = |scorer_id| {
        let store = store.clone();
        async move {
            store
                .start_run(&NewRun {
                    kind: Some(RunKind::Score),
                    model_id: Some("minilm-l6-v2".into()),
                    model_sha256: Some("53aa5117".into()),
                    version: Some("depression@1".into()),
                    scorer_id: Some(scorer_id),
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    let first_run = score_run(scorer).await;
    let s = mindpulse_core::Score {
        post_id: page[0].id,
        dimension: "depression".into(),
        value: 0.75,
        scale: "prob".into(),
        label: Some("yes".into()),
        rationale: None,
        meta: Some(serde_json::json!({"route": "zh"})),
    };
    assert_eq!(
        store
            .insert_scores(scorer, first_run, &[s.clone(), s.clone()])
            .await
            .unwrap(),
        1,
        "{name}"
    );
    assert_eq!(
        store
            .insert_scores(scorer, first_run, std::slice::from_ref(&s))
            .await
            .unwrap(),
        0
    );
    // A second run of the same scorer (a batch finished twice) adds nothing either.
    let second_run = score_run(scorer).await;
    let mut again = s.clone();
    again.value = 0.5;
    assert_eq!(
        store
            .insert_scores(scorer, second_run, &[again])
            .await
            .unwrap(),
        0,
        "{name}"
    );
    let page = store
        .export_page(&PostFilter::default(), 0, 10, true)
        .await
        .unwrap();
    assert_eq!(page[0].scores.as_ref().unwrap()[0].value, 0.75);

    store
        .finish_run(
            run,
            RunStatus::Done,
            RunCounts {
                input: 6,
                accepted: 2,
                already_stored: 4,
                rejected: 3,
                failed: 0,
            },
            None,
        )
        .await
        .unwrap();
    let runs = store.runs(Some(RunKind::Import), 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "done");
    assert_eq!(runs[0].source.as_deref(), Some("test-file.jsonl"));
    assert!(runs[0].finished_at.is_some());

    let stats = store
        .stats(&PostFilter::default(), chrono_tz::UTC, 30)
        .await
        .unwrap_or_else(|e| panic!("{name}: stats: {e}"));
    assert_eq!(stats.posts, 2);
    assert_eq!(stats.authors, 1);
    assert_eq!(stats.rejected, 3);
    assert_eq!(
        stats.by_day,
        vec![Count {
            key: "2025-11-22".into(),
            n: 2
        }],
        "{name}"
    );
    assert_eq!(
        stats.top_topics[0],
        Count {
            key: "周一".into(),
            n: 2
        }
    );
    assert_eq!(stats.scores_by_dimension[0].n, 1);

    let seeds = store.dup_seed_page(0, 10).await.unwrap();
    assert_eq!(seeds.len(), 2);
    assert_eq!(seeds[0].simhash, Some(-5));
    store.close().await;
}

#[tokio::test]
async fn store_suite_on_every_backend() {
    crate::on_every_backend!(suite);
}

#[test]
fn url_password_is_redacted() {
    assert_eq!(
        redact_url("mysql://root:secret@h:3306/db"),
        "mysql://root:***@h:3306/db"
    );
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(
        testing::with_database("postgres://u@h:5432/test?sslmode=disable", "x"),
        "postgres://u@h:5432/x?sslmode=disable"
    );
}

/// A database scored before scale-out (schema v2: scores unique per run) migrates to v3:
/// one scorer per (model, version), rows two runs wrote twice kept once, runs linked to
/// their scorer, and posts scored then stay scored.
async fn migrates_v2_scores(db: &TestDb) {
    let name = db.backend.name();
    let store = Store::connect(&db.url).await.unwrap();
    let full = match db.backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::MySql => sqlx::migrate!("./migrations/mysql"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    let v2 = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            full.iter().filter(|m| m.version <= 2).cloned().collect(),
        ),
        ..full
    };
    on_pool!(&store.pool, p => v2.run(p).await).unwrap();
    let at = match db.backend {
        Backend::Sqlite => "'2025-11-22T02:12:33+00:00'",
        Backend::MySql => "'2025-11-22 02:12:33'",
        Backend::Postgres => "'2025-11-22 02:12:33+00'",
    };
    for sql in [
        format!("INSERT INTO posts (platform, platform_id, kind, text, collected_at, content_hash) VALUES ('weibo', 'm1', 'post', 'a', {at}, 'h1')"),
        format!("INSERT INTO posts (platform, platform_id, kind, text, collected_at, content_hash) VALUES ('weibo', 'm2', 'post', 'b', {at}, 'h2')"),
        format!("INSERT INTO runs (kind, model_id, model_sha256, version, started_at, status) VALUES ('score', 'heads', 'e1', 'a', {at}, 'done')"),
        format!("INSERT INTO runs (kind, model_id, model_sha256, version, started_at, status) VALUES ('score', 'heads', 'e1', 'a', {at}, 'done')"),
        format!("INSERT INTO runs (kind, model_id, version, started_at, status) VALUES ('score', 'qwen', 'p', {at}, 'done')"),
        format!("INSERT INTO runs (kind, started_at, status) VALUES ('import', {at}, 'done')"),
        "INSERT INTO scores (post_id, dimension, value, scale, run_id) VALUES (1, 'depression', 0.5, 'prob', 1)".into(),
        "INSERT INTO scores (post_id, dimension, value, scale, run_id) VALUES (1, 'route', 12, 'tokens', 1)".into(),
        "INSERT INTO scores (post_id, dimension, value, scale, run_id) VALUES (1, 'depression', 0.7, 'prob', 2)".into(),
        "INSERT INTO scores (post_id, dimension, value, scale, run_id) VALUES (2, 'depression', 0.1, 'prob', 2)".into(),
        "INSERT INTO scores (post_id, dimension, value, scale, run_id) VALUES (1, 'F30_F39', 3, '0-5', 3)".into(),
    ] {
        store.execute_raw(&sql).await.unwrap_or_else(|e| panic!("{name}: {sql}: {e}"));
    }
    assert_eq!(
        store.migrate().await.unwrap(),
        vec![3, 4, 5, 6, 7, 8, 9, 10, 11],
        "{name}"
    );
    // Posts stored before the rollups existed: readers scan until a rebuild.
    assert!(!store.rollups_built().await.unwrap(), "{name}");
    store.rebuild_rollups().await.unwrap();
    assert!(store.rollups_built().await.unwrap(), "{name}");
    let heads = store
        .ensure_scorer(&mindpulse_core::ScorerInfo {
            model_id: "heads".into(),
            model_sha256: None,
            version: "a".into(),
            params: serde_json::json!({}),
        })
        .await
        .unwrap();
    assert_eq!(
        store.unscored_count(heads, None).await.unwrap(),
        0,
        "{name}"
    );
    let rows: Vec<(i64, String, f64, i64, i64)> = on_pool!(&store.pool, p => sqlx::query_as(
        "SELECT post_id, dimension, value, scorer_id, run_id FROM scores ORDER BY id"
    ).fetch_all(p).await)
    .unwrap();
    assert_eq!(rows.len(), 4, "{name}: {rows:?}");
    assert_eq!(
        rows[0],
        (1, "depression".into(), 0.5, heads, 1),
        "{name}: the first copy is kept"
    );
    let linked: Vec<Option<i64>> = on_pool!(&store.pool, p => sqlx::query_scalar(
        "SELECT scorer_id FROM runs ORDER BY id"
    ).fetch_all(p).await)
    .unwrap();
    assert_eq!(linked[0], Some(heads), "{name}");
    assert_eq!(linked[1], Some(heads), "{name}");
    assert!(linked[2].is_some() && linked[2] != Some(heads), "{name}");
    assert_eq!(linked[3], None, "{name}: imports have no scorer");
    store.close().await;
}

#[tokio::test]
async fn v2_databases_migrate_to_scale_out() {
    crate::on_every_backend!(migrates_v2_scores);
}

/// Platform ids and topic keywords that differ only in case, accents or width are different
/// values on every backend (MySQL's folding collation merged them before schema v7).
#[tokio::test]
async fn ids_and_keywords_compare_exactly_on_every_backend() {
    for db in TestDb::all().await {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        let mut batch = crate::testing::sample_posts(4);
        let keywords = ["cafe", "Café", "abc", "ＡＢＣ"];
        for (i, (p, id)) in batch
            .iter_mut()
            .zip(["AbC1", "abc1", "ÄbC1", "ＡbC1"])
            .enumerate()
        {
            p.post.platform_id = id.to_string();
            p.post.topics = vec![keywords[i].to_string()];
        }
        for conflict in [OnConflict::Ignore, OnConflict::UpdateCounts] {
            let mut cache = TopicCache::new();
            store
                .insert_posts(&batch, None, None, conflict, &mut cache)
                .await
                .unwrap();
        }
        assert_eq!(store.count_posts().await.unwrap(), 4, "{name}");
        let posts = store
            .export_page(&Default::default(), 0, 100, false)
            .await
            .unwrap();
        for (p, want) in posts.iter().zip(keywords) {
            assert_eq!(
                p.topics,
                vec![want.to_string()],
                "{name}: {}",
                p.platform_id
            );
        }
        let stats = store
            .stats(&PostFilter::default(), chrono_tz::UTC, 30)
            .await
            .unwrap();
        assert_eq!(stats.topics, 4, "{name}");
        // The export filter and the stats' topic counts keep them apart too.
        for want in keywords {
            let filter = crate::PostFilter {
                topic: Some(want.to_string()),
                ..Default::default()
            };
            let posts = store.export_page(&filter, 0, 100, false).await.unwrap();
            assert_eq!(posts.len(), 1, "{name}: --topic {want}");
            assert_eq!(posts[0].topics, vec![want.to_string()], "{name}");
        }
        let mut listed: Vec<&str> = stats.top_topics.iter().map(|c| c.key.as_str()).collect();
        listed.sort();
        let mut all = keywords.to_vec();
        all.sort();
        assert_eq!(listed, all, "{name}");
        store.close().await;
        db.drop_db().await;
    }
}

/// The filters `export` and `stats` share select the same posts on every backend, days
/// follow the time zone asked for (whole and half-hour offsets), posts without a time are
/// counted apart, and routing rows are not scores.
#[tokio::test]
async fn filters_zones_and_routing_rows_on_every_backend() {
    for db in TestDb::all().await {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        let at = |d, h, m| Some(Utc.with_ymd_and_hms(2025, 11, d, h, m, 0).unwrap());
        let mut batch = Vec::new();
        for (id, lang, kind, created, topic, dup) in [
            ("a", "zh", PostKind::Post, at(20, 23, 50), "失眠", None),
            ("b", "zh", PostKind::Comment, at(21, 0, 10), "失眠", None),
            ("c", "en", PostKind::Post, at(21, 15, 50), "sleep", None),
            (
                "d",
                "zh",
                PostKind::Post,
                at(21, 16, 10),
                "失眠",
                Some("exact"),
            ),
            ("e", "en", PostKind::Post, None, "sleep", None),
        ] {
            let mut p = post(id, &format!("text {id}"), &[topic]);
            p.post.lang = Some(lang.into());
            p.post.kind = kind;
            p.post.created_at = created;
            p.post.content_hash = format!("{:032x}", id.as_bytes()[0]);
            p.dup_kind = dup;
            batch.push(p);
        }
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
        let days = |stats: &Stats| {
            stats
                .by_day
                .iter()
                .map(|c| (c.key.clone(), c.n))
                .collect::<Vec<_>>()
        };
        let all = PostFilter::default();
        let utc = store.stats(&all, chrono_tz::UTC, 30).await.unwrap();
        assert_eq!(utc.posts, 5, "{name}");
        assert_eq!(utc.without_time, 1, "{name}");
        assert_eq!(
            days(&utc),
            vec![("2025-11-21".into(), 3), ("2025-11-20".into(), 1)],
            "{name}: UTC days"
        );
        let shanghai = store
            .stats(&all, chrono_tz::Asia::Shanghai, 30)
            .await
            .unwrap();
        assert_eq!(shanghai.zone, "Asia/Shanghai");
        assert_eq!(
            days(&shanghai),
            vec![("2025-11-22".into(), 1), ("2025-11-21".into(), 3)],
            "{name}: Beijing days"
        );
        // +05:30: 23:50Z → 05:20 on the 21st; 15:50Z → 21:20; 16:10Z → 21:40.
        let kolkata = store
            .stats(&all, chrono_tz::Asia::Kolkata, 1)
            .await
            .unwrap();
        assert_eq!(
            days(&kolkata),
            vec![("2025-11-21".into(), 4)],
            "{name}: India days"
        );

        // The same filter selects the same posts in stats and export.
        let filters = [
            (
                PostFilter {
                    lang: Some("zh".into()),
                    ..Default::default()
                },
                3,
            ),
            (
                PostFilter {
                    kind: Some("comment".into()),
                    ..Default::default()
                },
                1,
            ),
            (
                PostFilter {
                    topic: Some("失眠".into()),
                    no_duplicates: true,
                    ..Default::default()
                },
                2,
            ),
            (
                PostFilter {
                    since: at(21, 0, 0),
                    until: at(21, 16, 0),
                    ..Default::default()
                },
                2,
            ),
            (
                PostFilter {
                    platform: Some("reddit".into()),
                    ..Default::default()
                },
                0,
            ),
        ];
        for (f, want) in filters {
            let stats = store.stats(&f, chrono_tz::UTC, 30).await.unwrap();
            let exported = store.export_page(&f, 0, 100, false).await.unwrap();
            assert_eq!(
                (stats.posts, exported.len() as i64),
                (want, want),
                "{name}: {f:?}"
            );
        }

        // Routing rows are counted apart from scores, and export carries each score's
        // scorer and meta.
        let scorer = store
            .ensure_scorer(&mindpulse_core::ScorerInfo {
                model_id: "heads".into(),
                model_sha256: None,
                version: "heads@1".into(),
                params: serde_json::json!({}),
            })
            .await
            .unwrap();
        let run = store
            .start_run(&NewRun {
                kind: Some(RunKind::Score),
                scorer_id: Some(scorer),
                ..Default::default()
            })
            .await
            .unwrap();
        let ids: Vec<i64> = store
            .export_page(&all, 0, 100, false)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        let score = |post_id, dimension: &str, scale: &str, label: &str| mindpulse_core::Score {
            post_id,
            dimension: dimension.into(),
            value: 0.25,
            scale: scale.into(),
            label: Some(label.into()),
            rationale: None,
            meta: Some(serde_json::json!({"head": "depression-zh", "v": "3"})),
        };
        store
            .insert_scores(
                scorer,
                run,
                &[
                    score(ids[0], "route", "tokens", "zh:bge-small-zh"),
                    score(ids[0], "depression", "prob:depression", "none"),
                ],
            )
            .await
            .unwrap();
        let stats = store.stats(&all, chrono_tz::UTC, 30).await.unwrap();
        assert_eq!(stats.scores, 1, "{name}");
        assert_eq!(stats.scores_by_dimension.len(), 1, "{name}");
        assert_eq!(stats.routing[0].key, "zh:bge-small-zh", "{name}");
        assert_eq!(store.score_dimensions().await.unwrap(), vec!["depression"]);
        let page = store.export_page(&all, 0, 1, true).await.unwrap();
        let scores = page[0].scores.as_ref().unwrap();
        let dep = scores.iter().find(|s| s.dimension == "depression").unwrap();
        assert_eq!(
            (dep.model_id.as_str(), dep.version.as_str()),
            ("heads", "heads@1")
        );
        assert!(
            dep.meta.as_deref().unwrap().contains("depression-zh"),
            "{name}"
        );
        store.close().await;
    }
}

/// A role that may only read and write rows (no CREATE, no DDL) opens a current schema and
/// works: the schema owner migrates, workers never need more.
#[tokio::test]
async fn a_least_privilege_role_works_on_a_current_schema() {
    for db in TestDb::all().await {
        let Some(name) = db.name().map(str::to_string) else {
            continue;
        };
        let backend = db.backend;
        let owner = Store::open(&db.url).await.unwrap();
        let role = format!("{name}_worker");
        let grants: Vec<String> = match backend {
            Backend::Postgres => vec![
                format!("CREATE ROLE {role} LOGIN"),
                format!("GRANT CONNECT ON DATABASE {name} TO {role}"),
                format!("GRANT USAGE ON SCHEMA public TO {role}"),
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
                format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
                ),
                format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            ],
            Backend::MySql => vec![
                format!("CREATE USER '{role}'@'%'"),
                format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {name}.* TO '{role}'@'%'"),
            ],
            Backend::Sqlite => continue,
        };
        for g in &grants {
            crate::on_pool!(&owner.pool, p => sqlx::query(g).execute(p).await.map(|_| ()))
                .unwrap_or_else(|e| panic!("{g}: {e}"));
        }
        let worker_url = match backend {
            Backend::Postgres => db.url.replacen("postgres@", &format!("{role}@"), 1),
            _ => db.url.replacen("root@", &format!("{role}@"), 1),
        };
        assert_ne!(worker_url, db.url, "the test URLs name a user");
        let worker = Store::open(&worker_url)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: a worker role cannot open the schema: {e}"));
        let r = worker
            .insert_posts(
                &crate::testing::sample_posts(3),
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: the worker cannot write rows: {e}"));
        assert_eq!(r.inserted, 3);
        worker.close().await;
        if backend == Backend::MySql {
            let sql = format!("DROP USER '{role}'@'%'");
            crate::on_pool!(&owner.pool, p => sqlx::query(&sql).execute(p).await.map(|_| ()))
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        owner.close().await;
        if backend == Backend::Postgres {
            // The role is cluster-wide and owns nothing: its grants go with the database, then
            // the role itself (cleanup only; other tests drop databases at the same time, so
            // catalog scans such as REASSIGN OWNED can race with them).
            let admin_url = db.admin_url().unwrap().to_string();
            db.drop_db().await;
            let admin = Store::connect(&admin_url).await.unwrap();
            let sql = format!("DROP ROLE IF EXISTS {role}");
            if let Err(e) =
                crate::on_pool!(&admin.pool, p => sqlx::query(&sql).execute(p).await.map(|_| ()))
            {
                eprintln!("cleanup: {sql}: {e}");
            }
            admin.close().await;
        }
    }
}

/// Connections to PostgreSQL are encrypted when the URL asks (`sslmode=require`), and a
/// certificate that cannot be verified is refused with `verify-full`.
#[tokio::test]
async fn postgres_connections_use_tls_when_asked() {
    let Some(db) = TestDb::server(crate::testing::POSTGRES_ENV).await else {
        return;
    };
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let store = Store::connect(&format!("{}{sep}sslmode=require", db.url))
        .await
        .unwrap_or_else(|e| panic!("sslmode=require: {e}"));
    let encrypted: bool = crate::on_pool!(&store.pool, p => sqlx::query_scalar(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert!(encrypted, "sslmode=require gave an unencrypted connection");
    store.close().await;
    // The test server's certificate is self-signed: full verification must refuse it.
    let e = Store::connect(&format!("{}{sep}sslmode=verify-full", db.url))
        .await
        .expect_err("verify-full accepted an unverifiable certificate")
        .to_string();
    assert!(!e.contains("built without TLS"), "{e}");
    db.drop_db().await;
}

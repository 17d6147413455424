//! Pipeline tests on every available backend: PII never reaches the database,
//! re-imports add nothing, concurrent imports neither fail nor duplicate, bad records
//! are rejected with their line and the import goes on, duplicates are flagged.

use super::*;
use mindpulse_clean::{CleanOptions, Cleaner, PseudonymKey};
use mindpulse_collect::{open, Format, ImportOptions};
use mindpulse_store::testing::TestDb;
use mindpulse_store::Store;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Raw values that must never appear in the database.
const SECRETS: &[&str] = &[
    "5123456789",
    "night_owl_92",
    "小鹿乱撞",
    "zhang.wei88@example.com",
    "13812345678",
    "139-1234-5678",
    "415 555 0134",
    "11010519491231002X",
    "secret_user_777",
];

fn sample_jsonl(dir: &Path) -> std::path::PathBuf {
    let lines = [
        r##"{"id":"1","platform":"weibo","text":"今天又失眠了，@小鹿乱撞 你睡了吗？我的手机 13812345678","author":"5123456789","created_at":"2025-11-20T23:10:00Z","topic":"#失眠#"}"##,
        r##"{"id":"2","platform":"weibo","text":"身份证 11010519491231002X 丢了，谁捡到请联系 zhang.wei88@example.com","author":"5123456789","created_at":"2025-11-21T08:00:00Z","topic":["#失物招领#"]}"##,
        r##"{"id":"3","platform":"forum","text":"Call me at +86 139-1234-5678 or +1 415 555 0134, u/night_owl_92 knows","author":"night_owl_92","created_at":"2025-11-21T09:00:00Z","topic":"anxiety"}"##,
        r##"{"id":"4","platform":"forum","text":"I feel hopeless and tired of everything lately, nothing seems to help at all anymore","author":"secret_user_777","created_at":"2025-11-21T10:00:00Z","topic":"depression","parent_id":"3"}"##,
        r##"{"id":"5","platform":"forum","text":"I feel hopeless and tired of everything lately, nothing seems to help at all anymore!!","author":"secret_user_777","created_at":"2025-11-21T10:05:00Z","topic":"depression"}"##,
        r##"{"id":"6","platform":"forum","text":"I feel hopeless and tired of everything lately, nothing seems to help at all anymore today","author":"someone_else","created_at":"2025-11-21T10:06:00Z"}"##,
        r##"{"id":"7","platform":"forum","text": broken json"##,
        r##"{"id":"8","platform":"forum","author":"x"}"##,
    ];
    let path = dir.join("sample.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    path
}

fn cleaner(keep_raw: bool) -> Arc<Cleaner> {
    Arc::new(Cleaner::new(
        PseudonymKey::from_secret("test key"),
        CleanOptions {
            redact_urls: false,
            keep_raw,
        },
    ))
}

async fn import(store: &Store, path: &Path, keep_raw: bool) -> IngestReport {
    let source = open(
        path,
        Format::Jsonl,
        &ImportOptions {
            keep_raw,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    let opts = IngestOptions {
        source_name: "sample".into(),
        rejects_path: Some(RejectsWriter::path_for(path)),
        batch_size: 3,
        ..IngestOptions::default()
    };
    ingest(
        Some(store),
        source,
        cleaner(keep_raw),
        opts,
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn pipeline_on_every_backend() {
    for db in TestDb::all().await {
        let name = db.backend.name();
        let dir = tempfile::tempdir().unwrap();
        let path = sample_jsonl(dir.path());
        let store = Store::open(&db.url).await.unwrap();

        let r = import(&store, &path, true).await;
        assert_eq!(
            (r.input, r.accepted, r.already_stored, r.rejected),
            (8, 6, 0, 2),
            "{name}: {r:?}"
        );
        assert_eq!(r.exact_duplicates + r.near_duplicates, 2, "{name}: {r:?}");
        assert!(r.pii_redacted >= 5, "{name}: {r:?}");
        // Rejects file: one JSON object per bad line with its line number.
        let rejects = std::fs::read_to_string(RejectsWriter::path_for(&path)).unwrap();
        let lines: Vec<serde_json::Value> = rejects
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["line"], 7);
        assert_eq!(lines[1]["line"], 8);
        assert!(
            lines[1]["reason"].as_str().unwrap().contains("text"),
            "{rejects}"
        );

        // Idempotent: the same file again adds nothing.
        let r2 = import(&store, &path, true).await;
        assert_eq!(
            (r2.accepted, r2.already_stored, r2.rejected),
            (0, 6, 2),
            "{name}"
        );
        assert_eq!(store.count_posts().await.unwrap(), 6);

        let runs = store.runs(None, 10).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].counts.accepted, 6);
        assert_eq!(runs[1].counts.rejected, 2);

        // Pseudonyms are stable: the same raw author gives the same pseudonym, and the
        // mention of `night_owl_92` in text is that author's pseudonym.
        let posts = store
            .export_page(&Default::default(), 0, 100, false)
            .await
            .unwrap();
        assert_eq!(posts[0].author, posts[1].author);
        let owl = posts.iter().find(|p| p.platform_id == "3").unwrap();
        let owl_pseudonym = owl.author.clone().unwrap();
        assert!(owl.text.contains(&owl_pseudonym), "{name}: {}", owl.text);
        assert_eq!(
            posts
                .iter()
                .find(|p| p.platform_id == "4")
                .unwrap()
                .parent_id
                .as_deref(),
            Some("3")
        );
        assert_eq!(posts[0].lang.as_deref(), Some("zh"));
        assert_eq!(owl.lang.as_deref(), Some("en"));
        store.close().await;

        // Nothing raw anywhere in the database file or server dump.
        let dump = db
            .dump()
            .unwrap_or_else(|e| panic!("{name}: dump failed: {e}"));
        assert!(dump.len() > 1000, "{name}: dump too small");
        let dump = String::from_utf8_lossy(&dump);
        assert!(
            dump.contains("[EMAIL]") || dump.contains("EMAIL"),
            "{name}: dump does not show the redacted text"
        );
        for secret in SECRETS {
            assert!(
                !dump.contains(secret),
                "{name}: {secret:?} leaked into the database"
            );
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn concurrent_imports_neither_fail_nor_duplicate() {
    for db in TestDb::all().await {
        let name = db.backend.name();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..3000 {
            writeln!(
                f,
                r#"{{"id":"p{i}","platform":"forum","text":"post number {i} about the weather and work and sleep, variant {}","author":"user{}","created_at":"2025-11-{:02}T10:00:00Z","topic":"t{}"}}"#,
                i * 7919 % 1000,
                i % 50,
                1 + i % 28,
                i % 5
            )
            .unwrap();
        }
        drop(f);
        Store::open(&db.url).await.unwrap().close().await;
        let a = Store::open(&db.url).await.unwrap();
        let b = Store::open(&db.url).await.unwrap();
        let (ra, rb) = tokio::join!(import(&a, &path, false), import(&b, &path, false));
        assert_eq!(ra.accepted + rb.accepted, 3000, "{name}: {ra:?} {rb:?}");
        assert_eq!(ra.accepted + ra.already_stored, 3000, "{name}");
        assert_eq!(a.count_posts().await.unwrap(), 3000);
        let stats = a
            .stats(&mindpulse_store::PostFilter::default(), chrono_tz::UTC, 30)
            .await
            .unwrap();
        assert_eq!(stats.topics, 5, "{name}");
        assert_eq!(
            stats.top_topics.iter().map(|c| c.n).sum::<i64>(),
            3000,
            "{name}: every post linked once"
        );
        a.close().await;
        b.close().await;
        db.drop_db().await;
    }
}

#[tokio::test]
async fn dry_run_writes_nothing_and_strict_stops_at_first_reject() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let path = sample_jsonl(dir.path());
    let store = Store::open(&db.url).await.unwrap();
    let source = open(&path, Format::Jsonl, &ImportOptions::default()).unwrap();
    let opts = IngestOptions {
        dry_run: true,
        ..IngestOptions::default()
    };
    let r = ingest(
        Some(&store),
        source,
        cleaner(false),
        opts,
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((r.input, r.accepted, r.rejected), (8, 6, 2));
    assert_eq!(store.count_posts().await.unwrap(), 0);
    assert!(store.runs(None, 10).await.unwrap().is_empty());

    let source = open(&path, Format::Jsonl, &ImportOptions::default()).unwrap();
    let opts = IngestOptions {
        strict: true,
        batch_size: 2,
        ..IngestOptions::default()
    };
    let r = ingest(
        Some(&store),
        source,
        cleaner(false),
        opts,
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )
    .await
    .unwrap();
    assert!(
        r.stopped_at.as_deref().unwrap_or("").contains(":7:"),
        "{r:?}"
    );
    // What was accepted before the bad line stays.
    assert_eq!(store.count_posts().await.unwrap(), 6);
    assert_eq!(store.runs(None, 1).await.unwrap()[0].status, "failed");
}

/// `--strict` stops at the first reject, but every reject already read (the rest of its
/// chunk) is in the rejects file and counted; rejects beyond the chunk were never read.
#[tokio::test]
async fn strict_writes_every_reject_it_read() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strict.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    let good = |i: usize| {
        format!(
            r#"{{"id":"s{i}","platform":"forum","text":"strict import line {i}, nothing wrong with it","author":"a{i}","created_at":"2025-11-21T10:00:00Z"}}"#
        )
    };
    for i in 1..=1500 {
        let line = match i {
            4 => "not json".to_string(),
            6 => r#"{"id":"s6","author":"no text"}"#.to_string(),
            9 => "{broken".to_string(),
            1400 => "far away and never read".to_string(),
            _ => good(i),
        };
        writeln!(f, "{line}").unwrap();
    }
    drop(f);
    let store = Store::open(&db.url).await.unwrap();
    let source = open(&path, Format::Jsonl, &ImportOptions::default()).unwrap();
    let opts = IngestOptions {
        strict: true,
        batch_size: 2,
        rejects_path: Some(RejectsWriter::path_for(&path)),
        ..IngestOptions::default()
    };
    let r = ingest(
        Some(&store),
        source,
        cleaner(false),
        opts,
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )
    .await
    .unwrap();
    assert!(
        r.stopped_at.as_deref().unwrap_or("").contains(":4:"),
        "{r:?}"
    );
    let rejects = std::fs::read_to_string(RejectsWriter::path_for(&path)).unwrap();
    let lines: Vec<u64> = rejects
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(lines, vec![4, 6, 9], "{rejects}");
    assert_eq!(r.rejected, 3, "{r:?}");
    assert_eq!(r.rejects_file, Some(RejectsWriter::path_for(&path)));
    // What came before the stop is stored, nothing after it.
    assert_eq!((r.accepted, r.input), (3, 6), "{r:?}");
    assert_eq!(store.count_posts().await.unwrap(), 3);
    let run = &store.runs(None, 1).await.unwrap()[0];
    assert_eq!((run.status.as_str(), run.counts.rejected), ("failed", 3));
    store.close().await;
}

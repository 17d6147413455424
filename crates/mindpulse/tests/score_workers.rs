//! Scaling out, end to end with the real heads: several `mindpulse score` processes on one
//! database (SQLite, MySQL/MariaDB, PostgreSQL), one of them killed with SIGKILL in the
//! middle of a batch. At the end every post has exactly one score per dimension from the
//! heads and none is missing; the dead worker's batch was taken over once its lease ran
//! out. Workers of two different head versions run side by side without blocking each
//! other.

use mindpulse_store::testing::TestDb;
use mindpulse_store::Store;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;
use common::{command, ok};
use std::time::{Duration, Instant};

fn cmd(dir: &Path, db: &str, args: &[&str]) -> Command {
    let mut all = vec!["--db", db];
    all.extend_from_slice(args);
    command(dir, &all)
}

/// `n` English posts (one encoder, so workers start fast) and two with nothing to read.
fn write_posts(path: &Path, n: usize) {
    let moods = [
        "tired", "hopeful", "anxious", "calm", "lonely", "proud", "stressed",
    ];
    let mut s = String::new();
    for i in 0..n {
        let mood = moods[i % moods.len()];
        s.push_str(&format!(
            "{{\"id\":\"p{i}\",\"lang\":\"en\",\"text\":\"Day {i}: I feel {mood} after work, the commute took {} minutes and I could not stop thinking about exams number {i}\"}}\n",
            10 + i % 50
        ));
    }
    s.push_str("{\"id\":\"x1\",\"text\":\"😭😭😭 !!!\"}\n{\"id\":\"x2\",\"text\":\"…… ??\"}\n");
    std::fs::write(path, s).unwrap();
}

fn status(dir: &Path, db: &str) -> serde_json::Value {
    let out = ok(&cmd(dir, db, &["score", "--status", "--json"])
        .output()
        .unwrap());
    serde_json::from_str(out.trim()).unwrap()
}

/// The status entry of the built-in heads (or of the scorer with this version).
fn scorer<'a>(
    status: &'a serde_json::Value,
    version: Option<&str>,
) -> Option<&'a serde_json::Value> {
    status
        .as_array()?
        .iter()
        .find(|s| s["model_id"] == "heads" && version.is_none_or(|v| s["version"] == v))
}

fn worker(dir: &Path, db: &str, extra: &[&str]) -> Child {
    let mut args = vec![
        "score",
        "--threads",
        "1",
        "--batch-size",
        "6",
        "--lease-secs",
        "2",
        "--poll-secs",
        "0.2",
        "--json",
    ];
    args.extend_from_slice(extra);
    cmd(dir, db, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn summary(child: Child) -> serde_json::Value {
    let o = child.wait_with_output().unwrap();
    let out = ok(&o);
    serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Every post's dimensions from the export: exactly one `route` row each, no dimension twice.
async fn check_one_score_per_dimension(db: &str, posts: usize) {
    let store = Store::open(db).await.unwrap();
    let page = store
        .export_page(&Default::default(), 0, 100_000, true)
        .await
        .unwrap();
    store.close().await;
    assert_eq!(page.len(), posts);
    for p in &page {
        let dims: Vec<&str> = p
            .scores
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|s| s.dimension.as_str())
            .collect();
        let distinct: BTreeSet<&str> = dims.iter().copied().collect();
        assert_eq!(
            dims.len(),
            distinct.len(),
            "{}: a dimension twice: {dims:?}",
            p.platform_id
        );
        assert!(distinct.contains("route"), "{}: unscored", p.platform_id);
        if p.platform_id.starts_with('p') {
            assert!(
                distinct.contains("depression"),
                "{}: {dims:?}",
                p.platform_id
            );
        } else {
            assert_eq!(dims, vec!["route"], "{}", p.platform_id);
        }
    }
}

/// Writes `n` posts (and the two unreadable ones) and imports them.
fn import_posts(dir: &Path, db: &str, n: usize) {
    write_posts(&dir.join("posts.jsonl"), n);
    ok(
        &cmd(dir, db, &["import", "posts.jsonl", "--platform", "test"])
            .output()
            .unwrap(),
    );
}

/// Every post scored by the built-in heads, none leased any more, each dimension once.
async fn all_scored_once(dir: &Path, db: &str, posts: usize) {
    let after = status(dir, db);
    let heads = scorer(&after, None).unwrap();
    assert_eq!(heads["unscored"], 0, "{db}: posts left unscored: {after}");
    assert_eq!(heads["scored"], posts as i64 + 2, "{db}: {after}");
    assert!(
        heads["leases"].as_array().unwrap().is_empty(),
        "{db}: {after}"
    );
    check_one_score_per_dimension(db, posts + 2).await;
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_a_database_and_survive_a_kill_on_every_backend() {
    const POSTS: usize = 300;
    for db in TestDb::all().await {
        let name = db.backend.name();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        import_posts(dir, &db.url, POSTS);
        // The victim starts alone; once it has scored a few batches, the others join and
        // the victim is killed with SIGKILL while it works.
        let mut victim = worker(dir, &db.url, &[]);
        wait_until(
            "the first worker's progress",
            Duration::from_secs(120),
            || {
                scorer(&status(dir, &db.url), None)
                    .is_some_and(|s| s["scored"].as_i64().unwrap_or(0) >= 12)
            },
        );
        let others: Vec<Child> = (0..if db.backend == mindpulse_store::Backend::Sqlite {
            1
        } else {
            2
        })
            .map(|_| worker(dir, &db.url, &[]))
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let tag = format!(":{}:", victim.id());
        victim.kill().unwrap();
        let killed = victim.wait().unwrap();
        assert!(
            !killed.success(),
            "{name}: the victim finished before it was killed"
        );
        // What the dead worker still holds (looked at once it is dead, so it cannot end the
        // batch itself any more): the others must take it over when its lease runs out.
        let after_kill = status(dir, &db.url);
        let held = scorer(&after_kill, None).unwrap()["leases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["owner"].as_str().unwrap_or("").contains(&tag));
        let summaries: Vec<serde_json::Value> = others.into_iter().map(summary).collect();
        let takeovers: i64 = summaries
            .iter()
            .map(|s| s["takeovers"].as_i64().unwrap())
            .sum();
        eprintln!(
            "{name}: victim held a lease when killed: {held}; batches taken over: {takeovers}"
        );
        if held {
            assert!(
                takeovers >= 1,
                "{name}: the killed worker's batch was not taken over: {summaries:?}"
            );
        }
        all_scored_once(dir, &db.url, POSTS).await;
        db.drop_db().await;
    }
}

fn repo_heads() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../heads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_of_two_head_versions_do_not_block_each_other_on_every_backend() {
    const POSTS: usize = 60;
    for db in TestDb::all().await {
        let name = db.backend.name();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        import_posts(dir, &db.url, POSTS);
        // A smaller head set is another version of the heads scorer.
        let subset = dir.join("heads-subset");
        std::fs::create_dir_all(&subset).unwrap();
        for head in ["imhi_dr@minilm", "dreaddit@minilm"] {
            for ext in ["json", "safetensors"] {
                let file = format!("{head}.{ext}");
                std::fs::copy(repo_heads().join(&file), subset.join(&file)).unwrap();
            }
        }
        let subset_arg = subset.to_str().unwrap().to_string();
        let full = worker(dir, &db.url, &[]);
        let small = worker(dir, &db.url, &["--heads", &subset_arg]);
        let (full, small) = (summary(full), summary(small));
        assert_ne!(full["version"], small["version"], "{name}");
        assert_eq!(full["posts"], POSTS as i64 + 2, "{name}: {full}");
        assert_eq!(small["posts"], POSTS as i64 + 2, "{name}: {small}");
        let status = status(dir, &db.url);
        for version in [&full["version"], &small["version"]] {
            let s = scorer(&status, version.as_str()).unwrap();
            assert_eq!(s["unscored"], 0, "{name}: {status}");
        }
        db.drop_db().await;
    }
}

/// A worker whose server connections are ended midway (`pg_terminate_backend`,
/// `KILL CONNECTION`, as a failover would) retries or stops with a clear error; a re-run
/// finishes the job, every post has exactly one score per dimension, no lease is left and
/// no score run is left `running`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_server_connections_are_killed_loses_and_duplicates_nothing() {
    const POSTS: usize = 240;
    for env in ["MINDPULSE_TEST_MYSQL", "MINDPULSE_TEST_POSTGRES"] {
        let Some(db) = TestDb::server(env).await else {
            continue;
        };
        let name = db.backend.name();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        import_posts(dir, &db.url, POSTS);
        let victim = worker(dir, &db.url, &[]);
        wait_until("the worker's progress", Duration::from_secs(120), || {
            scorer(&status(dir, &db.url), None)
                .is_some_and(|s| s["scored"].as_i64().unwrap_or(0) >= 12)
        });
        let killed = db.kill_connections().await;
        assert!(killed > 0, "{name}: no connection to kill");
        let first = victim.wait_with_output().unwrap();
        let first_err = String::from_utf8_lossy(&first.stderr).to_string();
        eprintln!(
            "{name}: killed {killed} connections; the worker exited with {:?}",
            first.status.code()
        );
        if !first.status.success() {
            assert!(
                !first_err.contains("panicked"),
                "{name}: the worker panicked: {first_err}"
            );
        }
        // The re-run (it waits out a lease the first one may have left) scores the rest.
        let again = summary(worker(dir, &db.url, &[]));
        eprintln!("{name}: the re-run: {again}");
        all_scored_once(dir, &db.url, POSTS).await;
        let store = Store::open(&db.url).await.unwrap();
        let runs = store.runs(None, 20).await.unwrap();
        store.close().await;
        assert!(
            runs.iter().all(|r| r.status != "running"),
            "{name}: {:?}; the first worker said: {first_err}",
            runs.iter()
                .map(|r| (&r.kind, &r.status, &r.note))
                .collect::<Vec<_>>()
        );
        db.drop_db().await;
    }
}

//! Regression tests for the data-loss and robustness reproductions of the hardening issue:
//! an export never lands on the database or over a file, a closed pipe ends an export
//! quietly, CSV cells cannot run as formulas, rejects files are private and never written
//! through a link (and can go elsewhere, and a failure to write them stops no other
//! file), runs whose process died are marked interrupted, and impolite crawl timings are
//! refused.

mod common;

use common::{command, mindpulse, ok};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `mindpulse --db sqlite://t.db ARGS` in `dir`.
fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--db", "sqlite://t.db"];
    all.extend_from_slice(args);
    mindpulse(dir, &all)
}

fn posts(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"platform\":\"forum\",\"id\":\"p{i}\",\"text\":\"post number {i}, a line long enough to fill a pipe quickly\",\"created_at\":\"2025-11-20T10:00:00Z\"}}\n"
            )
        })
        .collect()
}

#[test]
fn an_export_never_overwrites_the_database_or_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("in.jsonl"),
        posts(3)
            + "{\"platform\":\"forum\",\"id\":\"f1\",\"text\":\"=HYPERLINK(\\\"http://x.invalid\\\",\\\"click\\\")\",\"created_at\":\"2025-11-20T10:00:00Z\"}\n",
    )
    .unwrap();
    ok(&run(d, &["import", "in.jsonl"]));
    let db_before = std::fs::read(d.join("t.db")).unwrap();
    assert!(!db_before.is_empty());
    for target in ["t.db", "./t.db", "t.db-wal", "t.db-shm"] {
        let o = run(d, &["export", "-o", target, "--force"]);
        assert!(!o.status.success(), "export -o {target} succeeded");
        assert!(err(&o).contains("is the database"), "{}", err(&o));
    }
    let o = run(d, &["stats", "--json"]);
    assert!(ok(&o).contains("\"posts\":4"), "the database is intact");

    ok(&run(d, &["export", "-o", "out.jsonl"]));
    assert_eq!(
        std::fs::read_to_string(d.join("out.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
    std::fs::write(d.join("keep.csv"), "mine").unwrap();
    let o = run(d, &["export", "--format", "csv", "-o", "keep.csv"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("--force"), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(d.join("keep.csv")).unwrap(), "mine");
    ok(&run(
        d,
        &["export", "--format", "csv", "-o", "keep.csv", "--force"],
    ));
    let csv = std::fs::read_to_string(d.join("keep.csv")).unwrap();
    assert!(
        csv.contains("'=HYPERLINK(")
            && !csv.contains(",=HYPERLINK(")
            && !csv.contains("\"=HYPERLINK("),
        "a formula is written as text: {csv}"
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");
}

#[test]
fn an_export_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.jsonl"), posts(4000)).unwrap();
    ok(&run(d, &["import", "in.jsonl"]));
    let mut child = command(d, &["--db", "sqlite://t.db", "export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    lines.read_line(&mut first).unwrap();
    assert!(first.starts_with('{'), "{first}");
    drop(lines); // `| head -1`
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?}: {}", o.status, err(&o));
    assert!(err(&o).trim().is_empty(), "{}", err(&o));
}

#[cfg(unix)]
#[test]
fn rejects_are_private_never_through_a_link_and_can_go_elsewhere() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = "{\"platform\":\"forum\",\"id\":\"b1\",\"text\":\"fine\",\"created_at\":\"2025-11-20T10:00:00Z\"}\nnot json, with alice@example.org\n";
    std::fs::write(d.join("bad.jsonl"), bad).unwrap();
    std::fs::write(d.join("ok.jsonl"), posts(2)).unwrap();
    std::fs::write(d.join("victim.txt"), "precious").unwrap();
    std::os::unix::fs::symlink(d.join("victim.txt"), d.join("bad.jsonl.rejects.jsonl")).unwrap();

    // The link is refused; the good record of bad.jsonl and all of ok.jsonl are stored.
    let o = run(d, &["import", "bad.jsonl", "ok.jsonl"]);
    assert!(
        !o.status.success(),
        "a rejects file that cannot be written fails the command"
    );
    assert!(
        err(&o).contains("symbolic link") && err(&o).contains("--rejects"),
        "{}",
        err(&o)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("victim.txt")).unwrap(),
        "precious"
    );
    let stats = ok(&run(d, &["stats", "--json"]));
    assert!(stats.contains("\"posts\":3"), "{stats}");
    let runs = ok(&run(d, &["runs", "--json"]));
    assert!(runs.contains("cannot write rejects"), "{runs}");

    // --rejects DIR: private files in that folder.
    std::fs::create_dir(d.join("rejects")).unwrap();
    let o = run(d, &["import", "--rejects", "rejects", "bad.jsonl"]);
    assert!(o.status.success(), "{}", err(&o));
    let file = d.join("rejects/bad.jsonl.rejects.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"line\":2"), "{text}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // --rejects none: counted, nowhere written.
    std::fs::remove_file(&file).unwrap();
    let o = run(d, &["import", "--json", "--rejects", "none", "bad.jsonl"]);
    assert!(ok(&o).contains("\"rejected\":1"));
    assert!(!file.exists());
    // One rejects file for two inputs is refused before anything is read.
    let o = run(
        d,
        &["import", "--rejects", "r.jsonl", "bad.jsonl", "ok.jsonl"],
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("give a folder"), "{}", err(&o));
}

#[tokio::test]
async fn a_run_whose_process_died_is_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.jsonl"), posts(2)).unwrap();
    ok(&run(d, &["import", "in.jsonl"]));
    // What a SIGKILLed import and crawl leave: runs `running`, their heartbeats long gone.
    let url = format!("sqlite://{}", d.join("t.db").display());
    let store = mindpulse_store::Store::open(&url).await.unwrap();
    for kind in ["import", "crawl", "import"] {
        store
            .execute_raw(&format!(
                "INSERT INTO runs (kind, started_at, status, heartbeat_ms) VALUES ('{kind}', '2025-11-20T10:00:00+00:00', 'running', 1000)"
            ))
            .await
            .unwrap();
    }
    // A live one (beating now) stays running.
    store
        .execute_raw(
            "INSERT INTO runs (kind, started_at, status, heartbeat_ms) VALUES ('import', '2025-11-20T10:00:00+00:00', 'running', CAST(strftime('%s','now') AS INTEGER) * 1000)",
        )
        .await
        .unwrap();
    store.close().await;
    let o = run(d, &["runs", "--json"]);
    let statuses: Vec<String> = ok(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "interrupted").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "running").count(),
        1,
        "{statuses:?}"
    );
}

#[test]
fn impolite_or_useless_crawl_timings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (flag, value, why) in [
        ("--delay", "-5", "delay_secs (--delay) is -5"),
        ("--timeout", "-1", "timeout_secs (--timeout) is -1"),
        ("--jitter", "NaN", "jitter_secs (--jitter) is NaN"),
    ] {
        let o = run(
            d,
            &[
                "crawl",
                "mastodon",
                "--instance",
                "http://127.0.0.1:9",
                "--tag",
                "x",
                flag,
                value,
            ],
        );
        assert!(!o.status.success(), "{flag} {value} accepted");
        assert!(err(&o).contains(why), "{flag}: {}", err(&o));
    }
    std::fs::write(d.join("mindpulse.toml"), "[crawl]\ndelay_secs = -5.0\n").unwrap();
    let o = mindpulse(
        d,
        &[
            "--config",
            "mindpulse.toml",
            "--db",
            "sqlite://t.db",
            "crawl",
            "mastodon",
            "--instance",
            "http://127.0.0.1:9",
            "--tag",
            "x",
        ],
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("delay_secs"), "{}", err(&o));
}

#[test]
fn one_database_one_pseudonym_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.jsonl"), posts(2)).unwrap();
    let with = |key_file: Option<&str>, env_key: Option<&str>, args: &[&str]| {
        let mut all = vec!["--db", "sqlite://t.db"];
        if let Some(k) = key_file {
            all.extend(["--key-file", k]);
        }
        all.extend_from_slice(args);
        let mut c = command(d, &all);
        if key_file.is_some() {
            c.env_remove("MINDPULSE_KEY_FILE");
        }
        match env_key {
            Some(k) => c.env("MINDPULSE_PSEUDONYM_KEY", k),
            None => c.env_remove("MINDPULSE_PSEUDONYM_KEY"),
        };
        c.output().unwrap()
    };
    // A --key-file that does not exist is an error, not a new key (init creates one).
    let o = with(Some("k1.key"), None, &["import", "in.jsonl"]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("no such file") && err(&o).contains("mindpulse init"),
        "{}",
        err(&o)
    );
    assert!(!d.join("k1.key").exists());
    let o = with(Some("k1.key"), None, &["init"]);
    let out = ok(&o);
    assert!(out.contains("pseudonym key fingerprint:"), "{out}");
    ok(&with(Some("k1.key"), None, &["import", "in.jsonl"]));

    // The flag wins over the environment.
    let strong = "the staff room kettle whistles at 7:15 each morning";
    ok(&with(Some("k1.key"), Some(strong), &["import", "in.jsonl"]));
    // Another key is refused before anything is written.
    let o = with(None, Some(strong), &["import", "in.jsonl"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("another pseudonym key"), "{}", err(&o));
    let o = with(None, None, &["import", "in.jsonl"]);
    assert!(
        !o.status.success(),
        "the default key file is another key too"
    );
    // A weak passphrase is refused outright.
    let o = with(None, Some("secret"), &["import", "in.jsonl"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("too weak"), "{}", err(&o));
    let runs = ok(&run(d, &["runs", "--json"]));
    assert_eq!(
        runs.lines().count(),
        2,
        "only the two imports with the database's key ran: {runs}"
    );
}

#[test]
fn purge_enforces_retention() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lines = "{\"platform\":\"forum\",\"id\":\"o1\",\"text\":\"old one\",\"author\":\"ann\",\"created_at\":\"2024-05-01T10:00:00Z\"}\n\
                 {\"platform\":\"forum\",\"id\":\"o2\",\"text\":\"old two\",\"author\":\"ben\",\"created_at\":\"2024-06-01T10:00:00Z\"}\n\
                 {\"platform\":\"forum\",\"id\":\"n1\",\"text\":\"new one\",\"author\":\"ben\",\"created_at\":\"2025-06-01T10:00:00Z\"}\n";
    std::fs::write(d.join("in.jsonl"), lines).unwrap();
    ok(&run(d, &["import", "--keep-raw", "in.jsonl"]));
    let json = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_str(ok(o).trim()).unwrap()
    };
    let dry = json(&run(
        d,
        &["purge", "--before", "2025-01-01", "--dry-run", "--json"],
    ));
    assert_eq!(
        (dry["posts"].as_u64(), dry["authors"].as_u64()),
        (Some(2), Some(1)),
        "{dry}"
    );
    assert_eq!(dry["raw_payloads"], 2, "{dry}");
    let raw = json(&run(
        d,
        &["purge", "--before", "2025-01-01", "--raw-only", "--json"],
    ));
    assert_eq!(
        (raw["raw_payloads"].as_u64(), raw["posts"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(ok(&run(d, &["stats", "--json"])).contains("\"posts\":3"));
    let out = ok(&run(d, &["purge", "--before", "2025-01-01"]));
    assert!(
        out.contains("removed 2 posts") && out.contains("1 authors left"),
        "{out}"
    );
    assert!(ok(&run(d, &["stats", "--json"])).contains("\"posts\":1"));
    let exported = ok(&run(d, &["export"]));
    assert!(
        exported.contains("new one") && !exported.contains("old"),
        "{exported}"
    );
    let o = run(d, &["purge", "--before", "last year"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("--before"), "{}", err(&o));
}

#[test]
fn reading_commands_never_create_a_database_and_a_refused_connection_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        vec!["stats"],
        vec!["export"],
        vec!["runs"],
        vec!["trends"],
        vec!["coverage"],
        vec!["purge", "--before", "2025-01-01"],
    ] {
        let mut all = vec!["--db", "sqlite://typo.db"];
        all.extend(args.iter().copied());
        let o = mindpulse(d, &all);
        assert!(!o.status.success(), "{args:?}");
        assert!(err(&o).contains("no database at"), "{args:?}: {}", err(&o));
        assert!(!d.join("typo.db").exists(), "{args:?} created the file");
    }
    // A server that refuses: its reason, at once and once (not a pool timeout).
    let o = mindpulse(d, &["--db", "mysql://root@127.0.0.1:1/test", "stats"]);
    assert!(!o.status.success());
    let e = err(&o).to_lowercase();
    assert_eq!(e.matches("refused").count(), 1, "{e}");
    assert!(!e.contains("timed out"), "{e}");
}

#[test]
fn boolean_environment_variables_take_the_usual_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.jsonl"), posts(1)).unwrap();
    ok(&run(d, &["import", "in.jsonl"]));
    for (value, json) in [
        ("1", true),
        ("yes", true),
        ("true", true),
        ("on", true),
        ("0", false),
        ("no", false),
        ("false", false),
        ("off", false),
    ] {
        let o = command(d, &["--db", "sqlite://t.db", "-v", "export"])
            .env("MINDPULSE_LOG_JSON", value)
            .env("MINDPULSE_NO_PROGRESS", value)
            .output()
            .unwrap();
        ok(&o);
        let logs = err(&o);
        assert_eq!(
            logs.lines().any(|l| l.starts_with('{')),
            json,
            "MINDPULSE_LOG_JSON={value}: {logs}"
        );
    }
    let o = command(d, &["--db", "sqlite://t.db", "runs"])
        .env("MINDPULSE_LOG_JSON", "maybe")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(err(&o).contains("maybe"), "{}", err(&o));
}

/// An import whose server connections are killed midway (`pg_terminate_backend`,
/// `KILL CONNECTION`) stops cleanly or carries on; after a re-run nothing is lost or
/// duplicated, and no run is left `running`.
#[tokio::test]
async fn killed_server_connections_lose_and_duplicate_nothing() {
    use mindpulse_store::testing::TestDb;
    const N: usize = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.jsonl"), posts(N)).unwrap();
    for env in ["MINDPULSE_TEST_MYSQL", "MINDPULSE_TEST_POSTGRES"] {
        let Some(db) = TestDb::server(env).await else {
            continue;
        };
        let name = db.backend.name();
        let import = || {
            command(
                d,
                &["--db", &db.url, "import", "--batch-size", "100", "in.jsonl"],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        };
        let mut child = import();
        // Once the first batches are in, end every connection the import holds.
        let mut killed = 0;
        for _ in 0..2000 {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let stored = match mindpulse_store::Store::connect(&db.url).await {
                Ok(s) => {
                    let n = s.count_posts().await.unwrap_or(0);
                    s.close().await;
                    n
                }
                Err(_) => 0,
            };
            if stored > 0 {
                killed = db.kill_connections().await;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let first = child.wait_with_output().unwrap();
        assert!(
            killed > 0,
            "{name}: the import finished before its connections could be killed"
        );
        if !first.status.success() {
            let e = err(&first);
            assert!(e.contains("importing in.jsonl failed"), "{name}: {e}");
        }
        // The re-run stores the rest.
        let again = import().wait_with_output().unwrap();
        assert!(again.status.success(), "{name}: {}", err(&again));
        let store = mindpulse_store::Store::open(&db.url).await.unwrap();
        assert_eq!(store.count_posts().await.unwrap(), N as i64, "{name}");
        let runs = store.runs(None, 10).await.unwrap();
        assert!(
            runs.iter().all(|r| r.status != "running"),
            "{name}: {:?}; the killed import said: {}",
            runs.iter()
                .map(|r| (&r.status, &r.note))
                .collect::<Vec<_>>(),
            err(&first)
        );
        store.close().await;
        db.drop_db().await;
    }
}

#[test]
fn reading_commands_work_on_a_read_only_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.jsonl"), posts(3)).unwrap();
    ok(&run(d, &["import", "in.jsonl"]));
    let before = std::fs::read(d.join("t.db")).unwrap();
    for args in [vec!["stats"], vec!["runs"], vec!["export"], vec!["trends"]] {
        let mut all = vec!["--db", "sqlite://t.db?mode=ro"];
        all.extend(args.iter().copied());
        let o = mindpulse(d, &all);
        assert!(o.status.success(), "{args:?}: {}", err(&o));
    }
    // Nothing was written (the store opened the file read-only).
    assert_eq!(std::fs::read(d.join("t.db")).unwrap(), before);
    let o = mindpulse(d, &["--db", "sqlite://t.db?mode=ro", "import", "in.jsonl"]);
    assert!(
        !o.status.success(),
        "an import into a read-only database fails"
    );
}

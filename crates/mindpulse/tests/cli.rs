//! End-to-end tests of the `mindpulse` binary: init, import (every format guess, rejects,
//! strict, dry run, concurrency), export, stats, runs, quickstart, config and errors,
//! on SQLite and on the MySQL/PostgreSQL servers when configured.

use mindpulse_store::testing::TestDb;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.path("t.db").display())
    }

    /// `mindpulse ARGS` in the temp dir with a private key file and no progress bars.
    fn cmd(&self, db: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mindpulse"));
        c.current_dir(self.dir.path())
            .env("MINDPULSE_KEY_FILE", self.path("keys/pseudonym.key"))
            .env_remove("MINDPULSE_PSEUDONYM_KEY")
            .env_remove("MINDPULSE_DB")
            .env_remove("MINDPULSE_CONFIG")
            .arg("--no-progress")
            .arg("--db")
            .arg(db)
            .args(args);
        c
    }

    fn run(&self, db: &str, args: &[&str]) -> Output {
        self.cmd(db, args).output().expect("run mindpulse")
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write");
        p
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}\n{}", stdout(o), stderr(o));
    stdout(o)
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

const JSONL: &str = r##"{"platform":"forum","id":"a1","text":"Work again &amp; no sleep\u200b, I feel so tired","author":"alice_raw","created_at":"2025-11-20T10:00:00Z","topic":"work"}
{"platform":"forum","id":"a2","text":"今天天气很好，心情也不错，和朋友一起去公园散步了","author":"1234567890","created_at":"2025-11-21T10:00:00+08:00","topic":["#周末#"]}
{"platform":"forum","id":"a3","text":"reply to @alice_raw: hang in there, mail me at help.me@example.org","author":"bob_raw","created_at":"2025-11-21T12:00:00Z","parent_id":"a1"}
not json at all
{"platform":"forum","id":"a5","author":"carol_raw"}
"##;

#[test]
fn help_on_every_subcommand() {
    for sub in [
        vec![],
        vec!["init"],
        vec!["import"],
        vec!["export"],
        vec!["stats"],
        vec!["runs"],
        vec!["quickstart"],
        vec!["bench"],
        vec!["bench", "ingest"],
    ] {
        let mut args = sub.clone();
        args.push("--help");
        let o = Command::new(env!("CARGO_BIN_EXE_mindpulse"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Usage"), "{args:?}");
    }
}

fn import_export_roundtrip(env: &Env, db: &str) {
    let o = env.run(db, &["init"]);
    assert!(ok(&o).contains("applied migrations"), "{}", stdout(&o));
    let o = env.run(db, &["init"]);
    assert!(ok(&o).contains("schema is current"));
    let key = env.path("keys/pseudonym.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let file = env.write("in.jsonl", JSONL);
    let o = env.run(db, &["import", "--json", file.to_str().unwrap()]);
    let out = ok(&o);
    let r = &json_lines(&out)[0];
    assert_eq!(
        (
            r["input"].as_u64(),
            r["accepted"].as_u64(),
            r["rejected"].as_u64()
        ),
        (Some(5), Some(3), Some(2)),
        "{out}"
    );
    let err = stderr(&o);
    assert!(
        err.contains("in.jsonl:4:"),
        "reject with file:line in the log: {err}"
    );
    assert!(err.contains("in.jsonl:5:"), "{err}");
    let rejects = std::fs::read_to_string(env.path("in.jsonl.rejects.jsonl")).unwrap();
    assert_eq!(rejects.lines().count(), 2);

    // The same file again adds nothing, and is not an error.
    let o = env.run(db, &["import", "--json", file.to_str().unwrap()]);
    let r = &json_lines(&ok(&o))[0];
    assert_eq!(
        (r["accepted"].as_u64(), r["already_stored"].as_u64()),
        (Some(0), Some(3))
    );

    let o = env.run(db, &["export", "--format", "jsonl"]);
    let posts = json_lines(&ok(&o));
    assert_eq!(posts.len(), 3);
    assert_eq!(posts[0]["text"], "Work again & no sleep, I feel so tired");
    assert_eq!(posts[0]["topics"], serde_json::json!(["work"]));
    assert_eq!(posts[1]["lang"], "zh");
    assert_eq!(posts[1]["created_at"], "2025-11-21T02:00:00Z");
    let alice = posts[0]["author"].as_str().unwrap().to_string();
    assert!(alice.starts_with("u_"));
    let reply = posts[2]["text"].as_str().unwrap();
    assert!(
        reply.contains(&format!("@{alice}")) && reply.contains("[EMAIL]"),
        "{reply}"
    );
    assert_eq!(posts[2]["parent_id"], "a1");
    assert_eq!(posts[2]["kind"], "comment");
    let all = stdout(&o);
    for raw in ["alice_raw", "bob_raw", "1234567890", "help.me@example.org"] {
        assert!(!all.contains(raw), "{raw} in export");
    }

    let o = env.run(db, &["export", "--format", "csv", "--topic", "work"]);
    let csv = ok(&o);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,platform,platform_id,kind"));
    assert_eq!(lines.count(), 1, "{csv}");
    let o = env.run(
        db,
        &[
            "export",
            "--since",
            "2025-11-21",
            "--until",
            "2025-11-21T11:00:00Z",
        ],
    );
    assert_eq!(json_lines(&ok(&o)).len(), 1);
    let o = env.run(db, &["export", "--since", "last week"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--since"), "{}", stderr(&o));

    let o = env.run(db, &["stats", "--json"]);
    let s = &json_lines(&ok(&o))[0];
    assert_eq!(s["posts"], 3);
    assert_eq!(s["rejected"], 4, "two imports with two rejects each");
    let o = env.run(db, &["stats"]);
    assert!(ok(&o).contains("by language"));
    let o = env.run(db, &["runs", "--json"]);
    let runs = json_lines(&ok(&o));
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["kind"], "import");
    assert_eq!(runs[0]["status"], "done");
}

#[test]
fn import_export_stats_on_sqlite() {
    let env = Env::new();
    let db = env.sqlite_url();
    import_export_roundtrip(&env, &db);
    // Nothing raw in the database file.
    let mut bytes = std::fs::read(env.path("t.db")).unwrap();
    if let Ok(w) = std::fs::read(env.path("t.db-wal")) {
        bytes.extend(w);
    }
    let text = String::from_utf8_lossy(&bytes);
    for raw in [
        "alice_raw",
        "bob_raw",
        "carol_raw",
        "1234567890",
        "help.me@example.org",
    ] {
        assert!(!text.contains(raw), "{raw} leaked into the SQLite file");
    }
}

#[test]
fn import_export_stats_on_servers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for env_var in [
        mindpulse_store::testing::MYSQL_ENV,
        mindpulse_store::testing::POSTGRES_ENV,
    ] {
        let Some(db) = rt.block_on(TestDb::server(env_var)) else {
            continue;
        };
        let env = Env::new();
        import_export_roundtrip(&env, &db.url);
        let dump = String::from_utf8_lossy(&db.dump().unwrap()).into_owned();
        for raw in [
            "alice_raw",
            "bob_raw",
            "carol_raw",
            "1234567890",
            "help.me@example.org",
        ] {
            assert!(!dump.contains(raw), "{raw} leaked into {env_var}");
        }
        rt.block_on(db.drop_db());
    }
}

#[test]
fn exit_status_strict_dry_run_and_all_rejected() {
    let env = Env::new();
    let db = env.sqlite_url();
    let file = env.write("in.jsonl", JSONL);
    let o = env.run(&db, &["import", "--dry-run", file.to_str().unwrap()]);
    assert!(ok(&o).contains("dry run"));
    assert!(
        !env.path("t.db").exists() || {
            let o = env.run(&db, &["stats", "--json"]);
            json_lines(&ok(&o))[0]["posts"] == 0
        }
    );
    let o = env.run(&db, &["import", "--strict", file.to_str().unwrap()]);
    assert!(!o.status.success(), "--strict with a bad line must fail");
    assert!(stdout(&o).contains("in.jsonl:4:"), "{}", stdout(&o));
    let o = env.run(&db, &["stats", "--json"]);
    assert_eq!(
        json_lines(&ok(&o))[0]["posts"],
        3,
        "what came before the bad line stays"
    );

    let bad = env.write("bad.jsonl", "{oops\n[1,2]\n");
    let o = env.run(&db, &["import", bad.to_str().unwrap()]);
    assert!(!o.status.success(), "nothing accepted must fail");

    let o = env.run(
        &db,
        &["import", "--map", "txt=body", file.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("txt") && stderr(&o).contains("text"),
        "{}",
        stderr(&o)
    );

    let o = env.run(
        &db,
        &["import", env.path("missing.jsonl").to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("missing.jsonl"), "{}", stderr(&o));

    let o = env.run("oracle://x", &["stats"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unsupported database URL"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn formats_are_guessed_and_mapped() {
    let env = Env::new();
    let db = env.sqlite_url();
    let csv = env.write(
        "posts.csv",
        "id,text,author,created_at,topic\nc1,\"A csv post, with a comma\",u1,2025-11-01 08:00:00,csv\nc2,second row,u2,1762000000,csv\n",
    );
    let nested = env.write(
        "nested.jsonl",
        r#"{"data":{"uid":"n1","body":"nested text about exams and stress"},"user":{"id":"raw_nested_user"},"ts":"2025-11-02T00:00:00Z"}
"#,
    );
    let reddit = env.write(
        "rs.jsonl",
        r#"{"id":"t1","subreddit":"depression","title":"Title here","selftext":"body of the post","author":"redditor_raw","created_utc":1730000000}
{"id":"k1","subreddit":"depression","body":"a comment","author":"other_raw","created_utc":"1730000100","parent_id":"t3_t1","link_id":"t3_t1"}
"#,
    );
    let weibo = env.write(
        "weibo.csv",
        "\u{feff}id,bid,user_id,用户昵称,微博正文,头条文章url,发布位置,艾特用户,话题,转发数,评论数,点赞数,发布时间,发布工具,微博图片url,微博视频url,retweet_id,ip,user_authentication\n\
         4900000000000001,Nabc,1669879400,某用户,好累啊 #打工人#,,,,打工人,1.2万,评论,100万+,2025-11-22 10:12,iPhone,,,,发布于 北京,蓝V\n",
    );
    let o = env.run(
        &db,
        &[
            "import",
            "--json",
            "--platform",
            "forum",
            csv.to_str().unwrap(),
            reddit.to_str().unwrap(),
            weibo.to_str().unwrap(),
        ],
    );
    let reports = json_lines(&ok(&o));
    assert_eq!(
        reports
            .iter()
            .map(|r| r["accepted"].as_u64().unwrap())
            .sum::<u64>(),
        5,
        "{reports:?}"
    );
    let o = env.run(
        &db,
        &[
            "import",
            "--json",
            "--platform",
            "forum",
            "--map",
            "id=data.uid,text=data.body,author=user.id,created_at=ts",
            nested.to_str().unwrap(),
        ],
    );
    assert_eq!(json_lines(&ok(&o))[0]["accepted"], 1);

    let o = env.run(&db, &["export"]);
    let posts = json_lines(&ok(&o));
    let by_id = |id: &str| {
        posts
            .iter()
            .find(|p| p["platform_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert_eq!(by_id("c1")["text"], "A csv post, with a comma");
    assert_eq!(by_id("t1")["platform"], "reddit");
    assert_eq!(by_id("t1")["topics"], serde_json::json!(["depression"]));
    assert_eq!(by_id("k1")["parent_id"], "t1");
    assert_eq!(by_id("k1")["root_id"], "t1");
    let w = by_id("4900000000000001");
    assert_eq!(w["platform"], "weibo");
    assert_eq!(w["repost_count"], 12000);
    assert_eq!(w["comment_count"], 0);
    assert_eq!(w["like_count"], 1000000);
    assert_eq!(w["created_at"], "2025-11-22T02:12:00Z");
    assert_eq!(w["region"], "北京");
    assert_eq!(by_id("n1")["text"], "nested text about exams and stress");
    let all = stdout(&o);
    for raw in [
        "redditor_raw",
        "other_raw",
        "1669879400",
        "某用户",
        "raw_nested_user",
    ] {
        assert!(!all.contains(raw), "{raw} exported");
    }
}

#[test]
fn concurrent_import_processes_do_not_duplicate() {
    let env = Env::new();
    let db = env.sqlite_url();
    let path = env.path("many.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..5000 {
        writeln!(f, r#"{{"platform":"forum","id":"p{i}","text":"post {i}: the commute was long and I could not sleep again, day {}","author":"u{}"}}"#, i % 31, i % 97).unwrap();
    }
    drop(f);
    ok(&env.run(&db, &["init"]));
    let spawn = || {
        env.cmd(
            &db,
            &[
                "import",
                "--json",
                "--batch-size",
                "500",
                path.to_str().unwrap(),
            ],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ra = &json_lines(&ok(&a))[0];
    let rb = &json_lines(&ok(&b))[0];
    assert_eq!(
        ra["accepted"].as_u64().unwrap() + rb["accepted"].as_u64().unwrap(),
        5000
    );
    let o = env.run(&db, &["stats", "--json"]);
    assert_eq!(json_lines(&ok(&o))[0]["posts"], 5000);

    // The same 2,000 texts under other ids, imported by two processes at once: each keeps
    // its own duplicate index, yet every copy after the first of its text is flagged.
    // Texts far apart from one another (no near duplicates among them).
    let text = |i: u64| {
        let mut x = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let words: Vec<String> = (0..14)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("w{}", (x >> 33) % 5000)
            })
            .collect();
        format!("repeated {}", words.join(" "))
    };
    let write = |name: &str, tag: &str| {
        let path = env.path(name);
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..2000 {
            writeln!(
                f,
                r#"{{"platform":"forum","id":"{tag}{i}","text":"{}","author":"a{}"}}"#,
                text(i),
                i % 13
            )
            .unwrap();
        }
        path
    };
    let (fa, fb) = (write("a.jsonl", "a"), write("b.jsonl", "b"));
    let spawn = |p: &std::path::Path| {
        env.cmd(
            &db,
            &[
                "import",
                "--json",
                "--batch-size",
                "200",
                p.to_str().unwrap(),
            ],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (spawn(&fa), spawn(&fb));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    ok(&a);
    ok(&b);
    let o = env.run(&db, &["export"]);
    let exact = json_lines(&ok(&o))
        .iter()
        .filter(|p| {
            p["text"].as_str().unwrap().starts_with("repeated ") && p["dup_kind"] == "exact"
        })
        .count();
    assert_eq!(exact, 2000, "one copy of each text flagged");
}

#[test]
fn config_file_and_env_choose_the_database() {
    let env = Env::new();
    let cfg_db = env.path("from-config.db");
    env.write(
        "mindpulse.toml",
        &format!("[db]\nurl = \"sqlite://{}\"\n", cfg_db.display()),
    );
    let file = env.write("in.jsonl", JSONL);
    let mut c = Command::new(env!("CARGO_BIN_EXE_mindpulse"));
    c.current_dir(env.dir.path())
        .env("MINDPULSE_KEY_FILE", env.path("k"))
        .env_remove("MINDPULSE_DB")
        .args(["--no-progress", "import"])
        .arg(&file);
    ok(&c.output().unwrap());
    assert!(cfg_db.exists(), "config file's db used");
    let env_db = env.path("from-env.db");
    let mut c = Command::new(env!("CARGO_BIN_EXE_mindpulse"));
    c.current_dir(env.dir.path())
        .env("MINDPULSE_KEY_FILE", env.path("k"))
        .env("MINDPULSE_DB", format!("sqlite://{}", env_db.display()))
        .args(["--no-progress", "import"])
        .arg(&file);
    ok(&c.output().unwrap());
    assert!(env_db.exists(), "env beats config");
    env.write("bad.toml", "[db]\nurl = 3\n");
    let o = env.run(&env.sqlite_url(), &["--config", "bad.toml", "stats"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.toml"), "{}", stderr(&o));
}

#[test]
fn quickstart_builds_a_demo_database() {
    let env = Env::new();
    let o = env.run(&env.sqlite_url(), &["quickstart", "--dir", "qs"]);
    let out = ok(&o);
    assert!(out.contains("imported:"), "{out}");
    assert!(out.contains("by language"), "{out}");
    let db = env.path("qs/mindpulse.db");
    assert!(db.exists());
    let o = env.run(&format!("sqlite://{}", db.display()), &["stats", "--json"]);
    let s = &json_lines(&ok(&o))[0];
    assert!(s["posts"].as_i64().unwrap() > 300, "{s}");
    assert!(s["rejected"].as_i64().unwrap() >= 3, "{s}");
    let langs: Vec<&str> = s["by_lang"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(langs.contains(&"zh") && langs.contains(&"en"), "{langs:?}");
    assert!(
        !s["duplicates"].as_array().unwrap().is_empty(),
        "sample has duplicates: {s}"
    );
    // Re-running the quickstart is harmless.
    ok(&env.run(&env.sqlite_url(), &["quickstart", "--dir", "qs"]));
}

#[test]
fn invalid_utf8_and_huge_lines_are_rejected_and_the_import_goes_on() {
    let env = Env::new();
    let db = env.sqlite_url();
    let path = env.path("mixed.jsonl");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(
        b"{\"platform\":\"forum\",\"id\":\"g1\",\"text\":\"first good line\"}\n",
    );
    bytes.extend_from_slice(
        b"{\"platform\":\"forum\",\"id\":\"b1\",\"text\":\"bad \xff\xfe bytes\"}\n",
    );
    bytes.extend_from_slice(b"{\"platform\":\"forum\",\"id\":\"b2\",\"text\":\"");
    bytes.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    bytes.extend_from_slice(b"\"}\n");
    bytes
        .extend_from_slice(b"{\"platform\":\"forum\",\"id\":\"g2\",\"text\":\"last good line\"}\n");
    std::fs::write(&path, &bytes).unwrap();
    let o = env.run(&db, &["import", "--json", path.to_str().unwrap()]);
    let r = &json_lines(&ok(&o))[0];
    assert_eq!(
        (r["accepted"].as_u64(), r["rejected"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    let rejects: Vec<serde_json::Value> =
        json_lines(&std::fs::read_to_string(env.path("mixed.jsonl.rejects.jsonl")).unwrap());
    assert_eq!(rejects[0]["line"], 2);
    assert!(
        rejects[0]["reason"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("utf-8"),
        "{}",
        rejects[0]
    );
    assert_eq!(rejects[1]["line"], 3);
    let raw_len = rejects[1]["raw"].as_str().map(str::len).unwrap_or(0);
    assert!(
        raw_len < 10_000,
        "a huge line is not copied whole into the rejects file"
    );
}

#[test]
fn bad_csv_rows_are_rejected_with_their_line() {
    let env = Env::new();
    let db = env.sqlite_url();
    let csv = env.write(
        "rows.csv",
        "id,text,author\nr1,fine,a\nr2,\"unterminated, oops\nr3,also fine,b\n",
    );
    let o = env.run(
        &db,
        &[
            "import",
            "--json",
            "--format",
            "CSV",
            "--platform",
            "forum",
            csv.to_str().unwrap(),
        ],
    );
    let out = stdout(&o);
    let r = &json_lines(&out)[0];
    assert!(r["rejected"].as_u64().unwrap() >= 1, "{out}");
    assert!(r["accepted"].as_u64().unwrap() >= 1, "{out}");
    assert!(stderr(&o).contains("rows.csv:3:"), "{}", stderr(&o));
}

/// A file that cannot be opened (or whose format cannot be told) is reported as
/// `file: reason` and the other files are still imported; the exit status is non-zero at
/// the end (nothing of that file was usable). With --strict the import stops there.
#[test]
fn unreadable_files_are_reported_and_the_others_imported() {
    let env = Env::new();
    let db = env.sqlite_url();
    let missing = env.path("missing.jsonl");
    let first = env.write("first.jsonl", JSONL);
    let empty = env.write("empty.txt", "");
    let second = env.write(
        "second.jsonl",
        "{\"platform\":\"forum\",\"id\":\"b1\",\"text\":\"the second file is imported too\"}\n",
    );
    let o = env.run(
        &db,
        &[
            "import",
            missing.to_str().unwrap(),
            first.to_str().unwrap(),
            empty.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
    );
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(
        err.contains(&format!("{}: cannot read: ", missing.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}: cannot tell the format: it is empty",
            empty.display()
        )),
        "{err}"
    );
    assert!(out.contains("first.jsonl"), "{out}");
    assert!(out.contains("second.jsonl"), "{out}");
    assert!(out.contains("total: 2 files"), "{out}");
    assert!(out.contains("2 not readable"), "{out}");
    let o = env.run(&db, &["stats", "--json"]);
    assert_eq!(json_lines(&ok(&o))[0]["posts"], 4, "3 + 1 posts stored");

    // All files readable: success (the unreadable ones were the only failure above).
    let o = env.run(
        &db,
        &["import", first.to_str().unwrap(), second.to_str().unwrap()],
    );
    ok(&o);

    // --strict stops at the unreadable file: the file after it is not imported.
    let third = env.write(
        "third.jsonl",
        "{\"platform\":\"forum\",\"id\":\"c1\",\"text\":\"after the missing file\"}\n",
    );
    let o = env.run(
        &db,
        &[
            "import",
            "--strict",
            missing.to_str().unwrap(),
            third.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--strict: stopped at"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&db, &["stats", "--json"]);
    assert_eq!(
        json_lines(&ok(&o))[0]["posts"],
        4,
        "third.jsonl not imported"
    );
}

/// `embed --model` resolves like every other model command: a registry name that is not
/// installed says how to install it; a directory without config.json says so.
#[test]
fn embed_models_resolve_through_the_registry() {
    let env = Env::new();
    let db = env.sqlite_url();
    let input = env.write("texts.txt", "hello\n");
    let out = env.path("out.npy");
    std::fs::create_dir_all(env.path("models")).unwrap();
    std::fs::create_dir_all(env.path("plain")).unwrap();
    let embed = |model: &str| {
        env.cmd(
            &db,
            &[
                "embed",
                "--model",
                model,
                "--input",
                input.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
            ],
        )
        .env("MINDPULSE_MODELS", env.path("models"))
        .output()
        .unwrap()
    };
    let o = embed("multilingual-e5-small");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not installed")
            && stderr(&o).contains("run `mindpulse models install multilingual-e5-small`"),
        "{}",
        stderr(&o)
    );
    let o = embed(env.path("plain").to_str().unwrap());
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no config.json"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// One time-zone rule: times without an offset are read in Beijing time for Weibo records
/// and in UTC (or `--tz`) for others; `--since`/`--until` and days follow `[time] zone` or
/// `--tz`, which the output names.
#[test]
fn times_are_read_and_shown_in_one_declared_zone() {
    let env = Env::new();
    // A bare path is a SQLite file.
    let db = "t.db";
    let csv = env.write(
        "posts.csv",
        "id,platform,text,created_at\n\
         w1,weibo,深夜还在加班,2025-11-20 22:15\n\
         f1,forum,late night again,2025-11-20 22:15\n\
         f2,forum,an offset wins,2025-11-20T22:15:00+01:00\n",
    );
    ok(&env.run(db, &["import", csv.to_str().unwrap()]));
    assert!(env.path("t.db").exists());
    let times = |out: &str| -> Vec<(String, String)> {
        json_lines(out)
            .iter()
            .map(|p| {
                (
                    p["platform_id"].as_str().unwrap().to_string(),
                    p["created_at"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let all = times(&ok(&env.run(db, &["export"])));
    assert_eq!(
        all,
        vec![
            ("w1".into(), "2025-11-20T14:15:00Z".into()),
            ("f1".into(), "2025-11-20T22:15:00Z".into()),
            ("f2".into(), "2025-11-20T21:15:00Z".into()),
        ]
    );
    // --tz on import reads offset-less times in that zone (a second file, other ids).
    let berlin = env.write(
        "berlin.csv",
        "id,platform,text,created_at\nb1,forum,from Berlin,2025-11-20 22:15\n",
    );
    ok(&env.run(
        db,
        &["import", "--tz", "Europe/Berlin", berlin.to_str().unwrap()],
    ));
    // A day in --tz: 2025-11-21 in Shanghai starts at 16:00Z on the 20th.
    let since = ok(&env.run(
        db,
        &["export", "--since", "2025-11-21", "--tz", "Asia/Shanghai"],
    ));
    let ids: Vec<String> = times(&since).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, vec!["f1", "f2", "b1"], "{since}");
    // The configured zone is the default, and stats counts its days and names it.
    env.write("mindpulse.toml", "[time]\nzone = \"Asia/Shanghai\"\n");
    let config = env.path("mindpulse.toml");
    let stats = ok(&env.run(
        db,
        &[
            "--config",
            config.to_str().unwrap(),
            "stats",
            "--platform",
            "forum",
        ],
    ));
    assert!(stats.contains("days in Asia/Shanghai"), "{stats}");
    assert!(stats.contains("--platform forum"), "{stats}");
    assert!(stats.contains("2025-11-21"), "{stats}");
    let json: serde_json::Value = serde_json::from_str(
        ok(&env.run(
            db,
            &["--config", config.to_str().unwrap(), "stats", "--json"],
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(json["zone"], "Asia/Shanghai");
    let days: Vec<(String, i64)> = json["by_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap().into(), c["n"].as_i64().unwrap()))
        .collect();
    // Beijing: w1 14:15Z → 22:15 on the 20th; the forum posts fall on the 21st.
    assert_eq!(
        days,
        vec![("2025-11-21".to_string(), 3), ("2025-11-20".to_string(), 1)]
    );
    let o = env.run(db, &["stats", "--tz", "Mars/Olympus"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("IANA"), "{}", stderr(&o));
}

/// Export and stats take the same filters; a topic matches with or without `#…#`; a
/// filter that matches nothing says so; input rules hold (empty text, no time, no
/// platform, gzip, archives).
#[test]
fn filters_and_input_rules_say_what_they_did() {
    let env = Env::new();
    let db = env.sqlite_url();
    let jsonl = env.write(
        "in.jsonl",
        concat!(
            r##"{"id":"1","platform":"weibo","kind":"post","lang":"zh","text":"又失眠了","topic":"#失眠#","created_at":"2025-11-20T10:00:00Z"}"##, "\n",
            r##"{"id":"2","platform":"weibo","kind":"comment","lang":"zh","text":"我也失眠","topic":"失眠","parent_id":"1","created_at":"2025-11-20T11:00:00Z"}"##, "\n",
            r##"{"id":"3","platform":"weibo","kind":"post","lang":"zh","text":"又失眠了","created_at":"2025-11-20T12:00:00Z"}"##, "\n",
            r##"{"id":"4","platform":"forum","kind":"post","lang":"en","text":"no time on this one"}"##, "\n",
            r##"{"id":"5","platform":"forum","text":"   "}"##, "\n",
            r##"{"id":"6","text":"no platform here"}"##, "\n",
        ),
    );
    let o = env.run(&db, &["import", jsonl.to_str().unwrap()]);
    let out = stdout(&o);
    assert!(out.contains("4 accepted"), "{out}\n{}", stderr(&o));
    assert!(out.contains("2 rejected"), "{out}");
    assert!(
        out.contains("1 posts have no time and are left out of time-based views"),
        "{out}"
    );
    let e = stderr(&o);
    assert!(
        e.contains("in.jsonl:5:") && e.contains("\"text\" is empty"),
        "{e}"
    );
    assert!(e.contains("in.jsonl:6:") && e.contains("--platform"), "{e}");

    let count = |args: &[&str]| {
        let mut a = vec!["export"];
        a.extend_from_slice(args);
        json_lines(&ok(&env.run(&db, &a))).len()
    };
    assert_eq!(count(&["--topic", "#失眠#"]), 2);
    assert_eq!(count(&["--topic", "失眠"]), 2);
    assert_eq!(count(&["--kind", "comment"]), 1);
    assert_eq!(count(&["--lang", "en"]), 1);
    assert_eq!(count(&["--no-duplicates", "--platform", "weibo"]), 2);
    let o = env.run(&db, &["export", "--topic", "#没有这个#"]);
    assert!(o.status.success());
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("no posts match --topic #没有这个#"),
        "{}",
        stderr(&o)
    );
    let stats: serde_json::Value =
        serde_json::from_str(ok(&env.run(&db, &["stats", "--json", "--topic", "#失眠#"])).trim())
            .unwrap();
    assert_eq!(stats["posts"], 2, "{stats}");
    let stats: serde_json::Value =
        serde_json::from_str(ok(&env.run(&db, &["stats", "--json"])).trim()).unwrap();
    assert_eq!(stats["without_time"], 1, "{stats}");
    assert_eq!(stats["duplicates"][0]["key"], "exact", "{stats}");
    let runs = ok(&env.run(&db, &["runs"]));
    assert!(runs.contains("already_stored=0"), "{runs}");

    // gzip is read; an xz file is refused with what to do.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(br#"{"id":"g1","platform":"forum","text":"from a gzip file","created_at":"2025-11-21T00:00:00Z"}"#)
        .unwrap();
    std::fs::write(env.path("more.jsonl.gz"), gz.finish().unwrap()).unwrap();
    let o = env.run(&db, &["import", "more.jsonl.gz"]);
    assert!(
        stdout(&o).contains("1 accepted"),
        "{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    std::fs::write(env.path("more.jsonl.xz"), b"\xFD7zXZ\x00\x00junk").unwrap();
    let o = env.run(&db, &["import", "more.jsonl.xz"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("xz-compressed") && stderr(&o).contains("unpack"),
        "{}",
        stderr(&o)
    );
}

//! Watching the numbers end to end: 70 days of posts in two regions with a three-day surge
//! in one of them, imported; `alerts scan` finds the surge with its evidence (the topic that
//! grew, pseudonymous example posts), a rescan adds nothing, the review queue keeps every
//! action, a dead webhook fails nothing and its notification is delivered on the next scan
//! to a live one; the rollups give trends the same answer as a scan of the posts; and
//! `forecast` gives ordered intervals and a backtest.

mod common;
use common::{command, mindpulse, ok};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const SECRET: &str = "s3cret-hook-token-0451";

/// 70 days from 2025-09-01 to 11-09 (UTC): about 30 posts a day in 北京 and 30 in 上海 with a
/// weekly rhythm; on days 60–62 (2025-10-31 … 11-02) 北京 has three times as many, the extra
/// ones about #失眠#.
fn posts() -> String {
    common::surge_posts(70, 26, 60..63)
}

/// An HTTP server that answers 200 to every request and keeps the requests.
fn hook_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            keep.lock()
                .unwrap()
                .push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, seen)
}

fn config(port: u16) -> String {
    format!(
        r#"
[alerts]
examples = 3

[[alerts.rules]]
name = "volume-by-region"
metric = "volume"
group_by = "region"
detector = "ewma"
min_count = 20

[[alerts.webhooks]]
name = "team"
url = "http://127.0.0.1:{port}/hook"
format = "json"
secret_env = "MP_TEST_HOOK_SECRET"
max_attempts = 1
timeout_secs = 5
"#
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap()
}

fn run_with_secret(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    command(dir, args)
        .env("MP_TEST_HOOK_SECRET", SECRET)
        .output()
        .unwrap()
}

#[test]
fn alerts_scan_review_webhooks_rollups_and_forecast() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = format!("sqlite://{}", dir.join("a.db").display());
    std::fs::write(dir.join("p.jsonl"), posts()).unwrap();
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "p.jsonl", "--platform", "weibo"],
    ));
    ok(&mindpulse(dir, &["--db", &db, "rollups", "status"]));

    // Trends read the rollups and answer what a scan of the posts answers.
    for args in [
        &["trends", "--json", "--group", "region"][..],
        &["trends", "--json", "--by", "week", "--tz", "Asia/Shanghai"][..],
        &[
            "trends",
            "--json",
            "--group",
            "topic",
            "--since",
            "2025-10-20",
        ][..],
    ] {
        let mut a = vec!["--db", db.as_str()];
        a.extend_from_slice(args);
        let from_rollups = ok(&mindpulse(dir, &a));
        a.push("--scan");
        assert_eq!(from_rollups, ok(&mindpulse(dir, &a)), "{args:?}");
    }

    // A dead webhook: the scan stores its alerts all the same.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    std::fs::write(dir.join("mindpulse.toml"), config(dead_port)).unwrap();
    let first = json(&ok(&run_with_secret(
        dir,
        &["--db", &db, "alerts", "scan", "--json"],
    )));
    let alerts = first.as_array().unwrap();
    // (The weekly peaks give the EWMA, which has no day-of-week terms, a few warnings.)
    let beijing: Vec<_> = alerts
        .iter()
        .filter(|a| a["group"] == "北京" && a["level"] == "alert")
        .collect();
    assert_eq!(
        beijing.len(),
        1,
        "one alert episode for the surge: {alerts:#?}"
    );
    let surge = beijing[0];
    for key in [
        "id", "metric", "group", "bucket", "level", "observed", "expected", "score", "detector",
    ] {
        assert!(surge.get(key).is_some(), "{key} in {surge}");
    }
    assert_eq!(surge["level"], "alert");
    assert_eq!(surge["detector"], "ewma");
    assert_eq!(surge["change"], "new");
    let bucket = surge["bucket"].as_str().unwrap();
    assert!(
        ("2025-10-31"..="2025-11-02").contains(&bucket),
        "peak {bucket}"
    );
    assert!(
        surge["observed"].as_f64().unwrap() > 2.0 * surge["expected"].as_f64().unwrap(),
        "{surge}"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["group"] != "上海" || a["level"] != "alert"),
        "no alert where nothing happened: {alerts:#?}"
    );
    let id = surge["id"].as_i64().unwrap();

    // A rescan of the same data adds nothing.
    let again = json(&ok(&run_with_secret(
        dir,
        &["--db", &db, "alerts", "scan", "--json", "--no-notify"],
    )));
    assert_eq!(again.as_array().unwrap().len(), alerts.len());
    assert!(again
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["change"] == "unchanged"));
    let listed = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "alerts", "list", "--json"],
    )));
    assert_eq!(listed.as_array().unwrap().len(), alerts.len());

    // The evidence: the series, the topic that grew, pseudonymous examples.
    let shown = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "alerts", "show", &id.to_string(), "--json"],
    )));
    let ev = &shown["evidence"];
    assert!(ev["window"].as_array().unwrap().len() >= 29, "{ev}");
    assert_eq!(
        ev["detector"]["params"]["baseline"],
        shown["params"]["baseline"]
    );
    assert_eq!(ev["topics"][0]["topic"], "失眠", "{}", ev["topics"]);
    let examples = ev["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3);
    for e in examples {
        let author = e["author"].as_str().unwrap();
        assert!(!author.starts_with("user_"), "pseudonymous: {author}");
    }
    let human = ok(&mindpulse(
        dir,
        &["--db", &db, "alerts", "show", &id.to_string()],
    ));
    assert!(
        human.contains("topics that grew most") && human.contains("失眠"),
        "{human}"
    );

    // The review queue keeps every action.
    ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "alerts",
            "review",
            &id.to_string(),
            "--status",
            "ack",
            "--note",
            "checking the hot search",
            "--reviewer",
            "lin",
        ],
    ));
    ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "alerts",
            "review",
            &id.to_string(),
            "--status",
            "escalated",
            "--reviewer",
            "chen",
        ],
    ));
    let escalated = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "alerts",
            "list",
            "--status",
            "escalated",
            "--json",
        ],
    )));
    assert_eq!(escalated.as_array().unwrap().len(), 1);
    assert_eq!(escalated[0]["id"], id);
    let history = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "alerts", "show", &id.to_string(), "--json"],
    )));
    let reviews = history["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 2);
    assert_eq!(reviews[0]["note"], "checking the hot search");
    assert_eq!(reviews[1]["reviewer"], "chen");
    let o = mindpulse(
        dir,
        &[
            "--db",
            &db,
            "alerts",
            "review",
            "99999",
            "--status",
            "ack",
            "--reviewer",
            "lin",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no alert 99999"));

    // The notification that could not be sent goes out on the next scan, to a live hook.
    let (port, seen) = hook_server();
    std::fs::write(dir.join("mindpulse.toml"), config(port)).unwrap();
    let out = ok(&run_with_secret(dir, &["--db", &db, "alerts", "scan"]));
    assert!(
        out.contains("notifications:") && out.contains("0 pending"),
        "{out}"
    );
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests.iter().any(|r| r.contains("mindpulse.alert")
            && r.contains(&format!("\"id\":{id}"))
            && r.contains(SECRET)),
        "{requests:#?}"
    );
    // The secret is in the request header only: never in the database.
    let stored = std::fs::read(dir.join("a.db")).unwrap();
    let wal = std::fs::read(dir.join("a.db-wal")).unwrap_or_default();
    for bytes in [&stored, &wal] {
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the webhook secret reached the database"
        );
    }

    // A rule that cannot work is refused when the file is read, naming the setting.
    std::fs::write(
        dir.join("mindpulse.toml"),
        "[[alerts.rules]]\nname = \"x\"\nmetric = \"volume\"\ndetector = \"c9\"\n",
    )
    .unwrap();
    let o = mindpulse(dir, &["--db", &db, "alerts", "list"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("[[alerts.rules]] #1 (\"x\") detector"),
        "{err}"
    );
    std::fs::remove_file(dir.join("mindpulse.toml")).unwrap();

    // Forecasts: intervals in order, a backtest against seasonal naive.
    let f = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "forecast",
            "--metric",
            "volume",
            "--group-by",
            "region",
            "--group",
            "上海",
            "--horizon",
            "7",
            "--json",
        ],
    )));
    let steps = f["forecast"].as_array().unwrap();
    assert_eq!(steps.len(), 7);
    assert_eq!(steps[0]["bucket"], "2025-11-10", "{f}");
    for s in steps {
        let v = |k: &str| s[k].as_f64().unwrap();
        assert!(
            v("lo95") <= v("lo80")
                && v("lo80") <= v("mean")
                && v("mean") <= v("hi80")
                && v("hi80") <= v("hi95"),
            "{s}"
        );
        assert!(v("mean") > 20.0 && v("mean") < 50.0, "{s}");
    }
    assert!(f["backtest"]["mase"].as_f64().unwrap() > 0.0, "{f}");
    assert!(f["model"].as_str().unwrap().starts_with("ETS("), "{f}");
}

//! What the CLI tests share: running the binary in a directory of its own (its own key
//! file, none of the caller's mindpulse environment), insisting that a run succeeded, and
//! the generated posts with a surge that the alert and report tests import.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `mindpulse --no-progress ARGS…` in `dir`, ready to run.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mindpulse"));
    c.current_dir(dir)
        .env("MINDPULSE_KEY_FILE", dir.join("pseudonym.key"))
        .env_remove("MINDPULSE_DB")
        .env_remove("MINDPULSE_CONFIG")
        .env_remove("MINDPULSE_HEADS")
        .arg("--no-progress")
        .args(args);
    c
}

/// Runs `mindpulse ARGS…` in `dir` to completion.
pub fn mindpulse(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run mindpulse")
}

/// The standard output of a run that must have succeeded (else both outputs, in the panic).
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A deterministic pseudo-random sequence.
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// A sentence of made-up words, different enough from any other not to be a near duplicate.
pub fn sentence(rng: &mut Lcg) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ren", "tu", "sha", "po", "vel", "dor", "quin", "bra", "zet", "fum",
        "gil", "nox", "pra",
    ];
    (0..12)
        .map(|_| {
            let n = 2 + rng.next() % 2;
            (0..n)
                .map(|_| SYL[(rng.next() % 16) as usize])
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `days` days from 2025-09-01 (UTC): about `base` + 4 posts a day in 北京 and as many in 上海,
/// with a weekly rhythm; on the days of `surge` 北京 has three times as many, the extra ones
/// about #失眠#. JSON lines for `import --platform …`.
pub fn surge_posts(days: i64, base: i64, surge: std::ops::Range<i64>) -> String {
    let mut rng = Lcg(7);
    let mut out = String::new();
    let start = chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    let mut id = 0;
    for d in 0..days {
        let day = start + chrono::Duration::days(d);
        for region in ["北京", "上海"] {
            let weekly = [0, 2, 3, 1, 4, 8, 6][(d % 7) as usize];
            let mut n = base + weekly + (rng.next() % 5) as i64;
            let surge = region == "北京" && surge.contains(&d);
            if surge {
                n *= 3;
            }
            for k in 0..n {
                id += 1;
                let topic = if surge && k % 3 != 0 {
                    "失眠"
                } else {
                    "日常"
                };
                out.push_str(&format!(
                    "{{\"id\":\"p{id}\",\"author\":\"user_{}\",\"lang\":\"en\",\"region\":\"{region}\",\"topic\":\"{topic}\",\"text\":\"{}\",\"created_at\":\"{day}T{:02}:{:02}:00Z\"}}\n",
                    id % 97,
                    sentence(&mut rng),
                    rng.next() % 24,
                    rng.next() % 60
                ));
            }
        }
    }
    out
}

/// Posts whose text is markup, in 北京 on ordinary days (2025-09-10 … 12) of
/// [`surge_posts`]: what the browser tests check is shown as text and runs nothing.
pub const MARKUP_POSTS: [&str; 3] = [
    "<script>window.__xss = 1</script> cannot sleep before the exams",
    "<img src=x onerror=\"window.__xss = 2\"> worried about the exams",
    "<svg onload=\"window.__xss = 3\"></svg> exams again",
];

/// The alert rule of the seeded database: volume by region, EWMA.
pub const SEEDED_CONFIG: &str = r#"
[alerts]
examples = 3

[[alerts.rules]]
name = "volume-by-region"
metric = "volume"
group_by = "region"
detector = "ewma"
min_count = 10
"#;

/// A database in `dir` for the report and web tests: six weeks of [`surge_posts`] (a surge
/// in 北京 on days 33–35, 2025-10-04 … 06), the [`MARKUP_POSTS`] and 24 replies between six
/// authors (a small reply network), imported as weibo and
/// scored by the packaged heads, with `mindpulse.toml` holding [`SEEDED_CONFIG`]. Returns the
/// database URL.
pub fn seeded_db(dir: &Path) -> String {
    let db = format!("sqlite://{}", dir.join("seeded.db").display());
    let mut posts = surge_posts(42, 12, 33..36);
    for (i, text) in MARKUP_POSTS.iter().enumerate() {
        posts.push_str(&format!(
            "{}\n",
            serde_json::json!({"id": format!("x{i}"), "author": format!("x_{i}"), "lang": "en",
                   "region": "北京", "text": format!("{text} {i}"),
                   "created_at": format!("2025-09-{}T12:00:00Z", 10 + i)})
        ));
    }
    // Replies between a few authors in 上海 (a small network for `network build`).
    for k in 0..24 {
        posts.push_str(&format!(
            "{}\n",
            serde_json::json!({"id": format!("r{k}"), "author": format!("replier_{}", k % 6),
                   "parent_id": format!("p{}", 1 + k % 4), "lang": "en", "region": "上海",
                   "text": format!("replying to the thread, round {k}"),
                   "created_at": format!("2025-09-{:02}T08:00:00Z", 15 + k % 10)})
        ));
    }
    std::fs::write(dir.join("p.jsonl"), posts).expect("write the posts");
    std::fs::write(dir.join("mindpulse.toml"), SEEDED_CONFIG).expect("write the config");
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "p.jsonl", "--platform", "weibo"],
    ));
    ok(&mindpulse(dir, &["--db", &db, "score"]));
    db
}

/// Runs `alerts scan` on a [`seeded_db`] and returns the alert of the surge in 北京 (as
/// `alerts scan --json` prints it).
pub fn surge_alert(dir: &Path, db: &str) -> serde_json::Value {
    let out = ok(&mindpulse(
        dir,
        &["--db", db, "alerts", "scan", "--json", "--no-notify"],
    ));
    let alerts: serde_json::Value = serde_json::from_str(out.trim()).expect("alerts as JSON");
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["group"] == "北京" && a["level"] == "alert")
        .cloned()
        .unwrap_or_else(|| panic!("no alert for the surge in {alerts}"))
}

//! `mindpulse report` end to end, checked in a real browser: six weeks of posts with a surge
//! in one region and three posts whose text is markup (`<script>`, `<img onerror>`), scored
//! by the packaged heads, scanned for alerts (one reviewed with a note that is markup too),
//! topics built; the report of the period is opened in headless Chromium, which must show
//! every section with charts drawn from the data (one dot per unsuppressed cell, hover
//! values), the markup as text with no script run and no image made, and print to PDF. The
//! Chinese report and bad input are checked too. Screenshots go to target/tmp/screenshots.

mod browser;
mod common;
use browser::Browser;
use common::{mindpulse, ok};
use serde_json::{json, Value};

const NOTE: &str = "<img src=x onerror=\"window.__xss = 3\"> checked with the team";
const SCRIPT_NOTE: &str = "<script>window.__xss = 4</script> looked at the posts";

#[test]
fn report_of_a_period_renders_in_the_browser_and_runs_no_stored_markup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = common::seeded_db(dir);
    let surge = common::surge_alert(dir, &db);
    let id = surge["id"].as_i64().unwrap().to_string();
    for (status, note) in [("escalated", SCRIPT_NOTE), ("ack", NOTE)] {
        ok(&mindpulse(
            dir,
            &[
                "--db",
                &db,
                "alerts",
                "review",
                &id,
                "--status",
                status,
                "--reviewer",
                "lin",
                "--note",
                note,
            ],
        ));
    }
    ok(&mindpulse(
        dir,
        &["--db", &db, "topics", "build", "--min-size", "5"],
    ));

    // Bad input: nothing written.
    let bad = |args: &[&str], wanted: &str| {
        let mut a = vec!["--db", db.as_str(), "report"];
        a.extend_from_slice(args);
        let o = mindpulse(dir, &a);
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(wanted), "{args:?}: {err}");
    };
    bad(
        &[
            "--since",
            "2025-10-10",
            "--until",
            "2025-10-01",
            "--out",
            "x.html",
        ],
        "not before --until",
    );
    bad(
        &[
            "--since",
            "2025-09-01",
            "--until",
            "2025-10-13",
            "--locale",
            "fr",
            "--out",
            "x.html",
        ],
        "expected en or zh",
    );
    bad(
        &[
            "--since",
            "2025-09-01",
            "--until",
            "2025-10-13",
            "--out",
            "seeded.db",
        ],
        "is the database",
    );
    assert!(!dir.join("x.html").exists());

    let out = dir.join("report.html");
    let period = ["--since", "2025-09-01", "--until", "2025-10-13"];
    let mut args = vec!["--db", db.as_str(), "report"];
    args.extend_from_slice(&period);
    args.extend_from_slice(&["--out", "report.html"]);
    ok(&mindpulse(dir, &args));
    // An existing file is kept without --force.
    let again = mindpulse(dir, &args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let mut zh = vec!["--db", db.as_str(), "report"];
    zh.extend_from_slice(&period);
    zh.extend_from_slice(&["--locale", "zh", "--out", "report-zh.html"]);
    ok(&mindpulse(dir, &zh));

    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script"), "the report carries no script");
    assert!(html.contains("&lt;script&gt;window.__xss = 4&lt;/script&gt;"));

    let Some(b) = Browser::start() else { return };
    b.goto(&Browser::file_url(&out));
    let shots = browser::screenshot_dir();
    b.screenshot(&shots.join("report-en.png"));

    // Every section, with charts drawn from the data.
    for id in [
        "volume", "indices", "alerts", "topics", "network", "methods",
    ] {
        assert_eq!(
            b.eval(
                "return document.querySelectorAll(arguments[0]).length",
                json!([format!("section#{id}")])
            ),
            json!(1),
            "section {id}"
        );
    }
    let charts = b.eval(
        "return [...document.querySelectorAll('svg.chart')].map(s => [s.closest('[data-dimension]')?.dataset.dimension ?? s.closest('section').id, Number(s.dataset.points), s.querySelectorAll('circle.pt').length, s.getBoundingClientRect().width])",
        json!([]),
    );
    let charts = charts.as_array().unwrap();
    assert_eq!(charts.len(), 5, "volume and four dimensions: {charts:?}");
    for c in charts {
        let (points, dots, width) = (
            c[1].as_i64().unwrap(),
            c[2].as_i64().unwrap(),
            c[3].as_f64().unwrap(),
        );
        assert!(points >= 40, "{c}: a dot per day of six weeks");
        assert_eq!(points, dots, "{c}");
        assert!(width > 300.0, "{c}: drawn");
    }
    // The volume chart's dots are the days' counts, as `trends` gives them.
    let trends: Value = serde_json::from_str(
        ok(&mindpulse(
            dir,
            &[
                "--db",
                &db,
                "trends",
                "--json",
                "--since",
                "2025-09-01",
                "--until",
                "2025-10-13",
            ],
        ))
        .trim(),
    )
    .unwrap();
    let dots = b.eval(
        "return [...document.querySelectorAll('#volume circle.pt')].map(c => [c.dataset.bucket, Number(c.dataset.value)])",
        json!([]),
    );
    let expected: Vec<(String, f64)> = trends
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressed"] == false)
        .map(|r| {
            (
                r["bucket"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let drawn: Vec<(String, f64)> = dots
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d[0].as_str().unwrap().to_string(), d[1].as_f64().unwrap()))
        .collect();
    assert_eq!(drawn.len(), 42);
    assert_eq!(drawn, expected);
    // Hover values: each dot's title names its bucket, value and CI.
    let hover = b.eval(
        "return document.querySelector('[data-dimension=depression] circle.pt title').textContent",
        json!([]),
    );
    assert!(hover.as_str().unwrap().contains("95 % CI"), "{hover}");

    // Stored markup is shown as text and runs nothing.
    let text = b.page_text();
    assert!(text.contains(NOTE), "the review note, as text");
    assert!(
        text.contains(SCRIPT_NOTE),
        "the first review's note, as text"
    );
    assert_eq!(
        b.eval("return typeof window.__xss", json!([])),
        json!("undefined")
    );
    assert_eq!(
        b.eval(
            "return document.images.length + document.scripts.length",
            json!([])
        ),
        json!(0)
    );
    assert!(text.contains("escalated: <script>"), "the review history");
    assert!(text.contains("not a diagnosis"));

    // It prints: a PDF of a few pages.
    let pdf = b.print_pdf();
    assert!(pdf.starts_with(b"%PDF"));
    assert!(
        pdf.len() > 10_000,
        "a PDF with content ({} bytes)",
        pdf.len()
    );
    std::fs::write(shots.join("report-en.pdf"), &pdf).unwrap();

    // The Chinese report.
    b.goto(&Browser::file_url(&dir.join("report-zh.html")));
    b.screenshot(&shots.join("report-zh.png"));
    assert_eq!(
        b.eval("return document.documentElement.lang", json!([])),
        json!("zh")
    );
    let zh_text = b.page_text();
    assert!(
        zh_text.contains("不是对任何人的诊断"),
        "{}",
        &zh_text[..zh_text.len().min(300)]
    );
    assert_eq!(
        b.eval(
            "return document.querySelectorAll('svg.chart circle.pt').length > 100",
            json!([])
        ),
        json!(true)
    );
    assert_eq!(
        b.eval("return typeof window.__xss", json!([])),
        json!("undefined")
    );
}

//! `mindpulse serve` end to end in a real browser (headless Chromium over WebDriver): a
//! seeded database (six weeks of posts with a surge, posts whose text is markup, scored by
//! the packaged heads, an alert found by `alerts scan`), a viewer and a reviewer added with
//! `mindpulse users add`, the server started on a free port. The browser signs in, every
//! page renders its charts from the data, a chart point leads to its posts, markup in posts
//! and notes shows as text and runs nothing, a viewer cannot review while a reviewer can, a
//! POST without the CSRF token is refused, the API answers with the CLI's shapes, the
//! interface switches to Chinese, and repeated failed sign-ins are refused. Screenshots go to
//! target/tmp/screenshots.

mod browser;
mod common;
use browser::Browser;
use common::{command, mindpulse, ok};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

const VIEWER_PW: &str = "viewer-password-1";
const REVIEWER_PW: &str = "reviewer-password-2";
const NOTE: &str = "<img src=x onerror=\"window.__xss = 9\"> seen, a surge of #失眠#";

/// The server, killed on drop.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &std::path::Path, db: &str) -> Server {
    let mut child = command(
        dir,
        &[
            "--db",
            db,
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--llm-model",
            "smollm2-135m",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("serving on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Server(child, base)
}

fn sign_in(b: &Browser, base: &str, name: &str, password: &str) {
    b.goto(&format!("{base}/login"));
    b.type_text(&b.find("input[name=name]"), name);
    b.type_text(&b.find("input[name=password]"), password);
    b.click_and_wait(&b.find("form.login button"));
}

fn path(b: &Browser) -> String {
    b.eval("return location.pathname + location.search", json!([]))
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `fetch` from the page (with its cookies): [status, body text].
fn fetch(b: &Browser, url: &str, init: Value) -> (u16, String) {
    let v = b.eval(
        "return fetch(arguments[0], arguments[1]).then(async r => [r.status, await r.text()])",
        json!([url, init]),
    );
    (
        v[0].as_u64().unwrap_or(0) as u16,
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

fn no_markup_ran(b: &Browser) {
    assert_eq!(
        b.eval("return typeof window.__xss", json!([])),
        json!("undefined")
    );
    assert_eq!(
        b.eval(
            "return document.querySelectorAll('main img, main script, main iframe').length",
            json!([])
        ),
        json!(0)
    );
}

#[test]
fn the_web_interface_in_a_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = common::seeded_db(dir);
    let alert_id = common::surge_alert(dir, &db)["id"].as_i64().unwrap();
    for (name, role, pw) in [
        ("vic", "viewer", VIEWER_PW),
        ("rev", "reviewer", REVIEWER_PW),
    ] {
        let o = command(
            dir,
            &[
                "--db",
                &db,
                "users",
                "add",
                name,
                "--role",
                role,
                "--password-env",
                "MP_PW",
            ],
        )
        .env("MP_PW", pw)
        .output()
        .unwrap();
        ok(&o);
    }
    // Bad input to `users`: a short password, a taken name, a name with markup.
    let o = command(
        dir,
        &[
            "--db",
            &db,
            "users",
            "add",
            "x",
            "--role",
            "viewer",
            "--password-env",
            "MP_PW",
        ],
    )
    .env("MP_PW", "short")
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("too short"));
    let o = command(
        dir,
        &[
            "--db",
            &db,
            "users",
            "add",
            "vic",
            "--role",
            "admin",
            "--password-env",
            "MP_PW",
        ],
    )
    .env("MP_PW", VIEWER_PW)
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists"));
    let o = mindpulse(
        dir,
        &["--db", &db, "users", "add", "<b>", "--role", "viewer"],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("account name"));
    let listed = ok(&mindpulse(dir, &["--db", &db, "users", "list", "--json"]));
    assert!(
        !listed.contains("argon2") && !listed.contains(VIEWER_PW),
        "{listed}"
    );

    ok(&mindpulse(
        dir,
        &["--db", &db, "topics", "build", "--min-size", "5"],
    ));
    ok(&mindpulse(dir, &["--db", &db, "network", "build"]));
    let server = start_server(dir, &db);
    let base = server.1.clone();
    let Some(b) = Browser::start() else { return };
    let shots = browser::screenshot_dir();

    // Not signed in: every page leads to the sign-in form; the API says 401.
    b.goto(&format!("{base}/alerts"));
    assert_eq!(path(&b), "/login");
    b.screenshot(&shots.join("serve-login.png"));
    let (status, _) = fetch(&b, "/api/trends", json!({}));
    assert_eq!(status, 401);

    // A viewer signs in and sees the overview: volume and the four dimensions, drawn.
    sign_in(&b, &base, "vic", VIEWER_PW);
    assert_eq!(path(&b), "/");
    b.screenshot(&shots.join("serve-overview.png"));
    let charts = b.eval(
        "return [...document.querySelectorAll('section.metric')].map(s => [s.dataset.metric, Number(s.querySelector('svg.chart').dataset.points), s.querySelectorAll('circle.pt').length])",
        json!([]),
    );
    let charts = charts.as_array().unwrap();
    assert_eq!(charts.len(), 5, "{charts:?}");
    for c in charts {
        assert!(c[1].as_i64().unwrap() >= 40 && c[1] == c[2], "{c}");
    }
    assert!(
        b.page_text().contains(&format!("#{alert_id}")),
        "the newest alerts"
    );
    // Each series carries its 14-day forecast (dashed, not linked to posts).
    let forecasts = b.eval(
        "return [...document.querySelectorAll('section.metric')].map(s => s.querySelectorAll('circle.fc').length)",
        json!([]),
    );
    assert!(
        forecasts.as_array().unwrap().iter().all(|n| n == 14),
        "{forecasts}"
    );
    assert!(b.page_text().contains("AutoETS"));

    // The API answers with the CLI's shapes and numbers.
    let (status, body) = fetch(&b, "/api/trends?metric=depression", json!({}));
    assert_eq!(status, 200);
    let cli: Value = serde_json::from_str(
        ok(&mindpulse(
            dir,
            &["--db", &db, "trends", "--metric", "depression", "--json"],
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), cli);
    let (status, body) = fetch(&b, "/api/trends?by=fortnight", json!({}));
    assert_eq!(status, 400);
    assert!(body.contains("expected hour, day or week"), "{body}");

    // A point leads to its posts: the day of the markup posts; their markup is text.
    b.click_and_wait(&b.find("section[data-metric=volume] circle.pt[data-bucket='2025-09-10']"));
    assert!(
        path(&b).starts_with("/posts?metric=volume&by=day&bucket=2025-09-10"),
        "{}",
        path(&b)
    );
    b.screenshot(&shots.join("serve-posts.png"));
    let text = b.page_text();
    assert!(
        text.contains(common::MARKUP_POSTS[0]),
        "the post's markup shown as text"
    );
    assert!(text.contains("u_"), "pseudonymous authors");
    assert!(text.contains("depression"), "scores with provenance");
    no_markup_ran(&b);
    let day_posts = b.eval(
        "return document.querySelectorAll('table.posts tbody tr').length",
        json!([]),
    );
    let trends: Value =
        serde_json::from_str(&fetch(&b, "/api/trends?metric=volume", json!({})).1).unwrap();
    let n = trends
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["bucket"] == "2025-09-10")
        .unwrap()["n"]
        .clone();
    assert_eq!(
        day_posts, n,
        "the posts behind the point are the point's posts"
    );

    // The explorer, grouped by region: a point of 北京 lists only 北京's posts.
    b.goto(&format!(
        "{base}/trends?metric=volume&by=day&group=region&since=2025-09-01&until=2025-10-13"
    ));
    b.screenshot(&shots.join("serve-trends.png"));
    assert_eq!(
        b.eval(
            "return document.querySelectorAll('svg.chart path.line').length >= 2",
            json!([])
        ),
        json!(true)
    );
    b.click_and_wait(&b.find("circle.pt[data-group='北京'][data-bucket='2025-10-04']"));
    assert!(
        path(&b).contains("value=%E5%8C%97%E4%BA%AC"),
        "{}",
        path(&b)
    );
    let (_, body) = fetch(
        &b,
        "/api/posts?by=day&group=region&value=北京&bucket=2025-10-04&limit=200",
        json!({}),
    );
    let posts: Value = serde_json::from_str(&body).unwrap();
    let posts = posts.as_array().unwrap();
    assert!(posts.len() > 40, "the surge day");
    assert!(posts.iter().all(|p| p["region"] == "北京"));

    // A viewer sees the alert but no review form, and cannot review by posting anyway.
    b.goto(&format!("{base}/alerts/{alert_id}"));
    assert_eq!(b.find_all("form.review").len(), 0);
    let me: Value = serde_json::from_str(&fetch(&b, "/api/me", json!({})).1).unwrap();
    assert_eq!(me["role"], "viewer");
    let form = format!("csrf={}&status=ack&note=x", me["csrf"].as_str().unwrap());
    let (status, _) = fetch(
        &b,
        &format!("/alerts/{alert_id}/review"),
        json!({"method": "POST", "headers": {"Content-Type": "application/x-www-form-urlencoded"}, "body": form}),
    );
    assert_eq!(status, 403, "a viewer may not review");
    let (status, _) = fetch(
        &b,
        &format!("/api/alerts/{alert_id}/review"),
        json!({"method": "POST", "headers": {"Content-Type": "application/json", "X-CSRF-Token": me["csrf"]}, "body": "{\"status\":\"ack\"}"}),
    );
    assert_eq!(status, 403, "a viewer may not review through the API");
    b.click_and_wait(&b.find("nav form button"));
    assert_eq!(path(&b), "/login");

    // A reviewer: a POST without the CSRF token is refused; the form records the review.
    sign_in(&b, &base, "rev", REVIEWER_PW);
    assert_eq!(
        path(&b),
        "/",
        "signed in as the reviewer: {}",
        b.page_text()
    );
    let (status, body) = fetch(
        &b,
        &format!("/api/alerts/{alert_id}/review"),
        json!({"method": "POST", "headers": {"Content-Type": "application/json"}, "body": "{\"status\":\"ack\"}"}),
    );
    assert_eq!(status, 403, "no CSRF token: {body}");
    let (status, _) = fetch(
        &b,
        &format!("/alerts/{alert_id}/review"),
        json!({"method": "POST", "headers": {"Content-Type": "application/x-www-form-urlencoded"}, "body": "csrf=0000&status=ack&note=x"}),
    );
    assert_eq!(status, 403, "a wrong CSRF token");
    b.goto(&format!("{base}/alerts/{alert_id}"));
    b.type_text(&b.find("form.review input[name=note]"), NOTE);
    b.click_and_wait(&b.find("form.review button"));
    assert_eq!(path(&b), format!("/alerts/{alert_id}"));
    b.screenshot(&shots.join("serve-alert.png"));
    let text = b.page_text();
    assert!(
        text.contains(NOTE),
        "the note as text: {}",
        &text[..text.len().min(600)]
    );
    assert!(text.contains("rev"), "the reviewer in the history");
    no_markup_ran(&b);
    let shown = ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "alerts",
            "show",
            &alert_id.to_string(),
            "--json",
        ],
    ));
    let shown: Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(shown["status"], "ack");
    assert_eq!(shown["reviews"][0]["note"], NOTE);

    // Topics: the table, and the API with the CLI's shape.
    b.goto(&format!("{base}/topics"));
    b.screenshot(&shots.join("serve-topics.png"));
    let rows = b.eval(
        "return document.querySelectorAll('table.topics tbody tr').length",
        json!([]),
    );
    assert!(rows.as_u64().unwrap() >= 1, "{rows}");
    let (status, body) = fetch(&b, "/api/topics", json!({}));
    assert_eq!(status, 200);
    let cli: Value = serde_json::from_str(
        ok(&mindpulse(
            dir,
            &["--db", &db, "topics", "list", "--json", "--limit", "1000"],
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), cli);
    assert_eq!(
        rows.as_u64().unwrap() as usize,
        cli.as_array().unwrap().len()
    );

    // One topic: reached from the list; its days charted, its examples as text; the API
    // gives what `topics show --json` prints.
    let first = b.find("table.topics tbody tr td:first-child a");
    let number = b.text(&first);
    b.click_and_wait(&first);
    assert_eq!(path(&b), format!("/topics/{number}"));
    b.screenshot(&shots.join("serve-topic.png"));
    let charts = b.eval(
        "return document.querySelectorAll('section.metric svg circle').length",
        json!([]),
    );
    assert!(
        charts.as_u64().unwrap() >= 1,
        "the topic's days are charted: {charts}"
    );
    let examples = b.find_all("#examples blockquote.post-text");
    assert!(!examples.is_empty());
    let (status, body) = fetch(&b, &format!("/api/topics/{number}"), json!({}));
    assert_eq!(status, 200);
    let cli: Value = serde_json::from_str(
        ok(&mindpulse(
            dir,
            &["--db", &db, "topics", "show", &number, "--json"],
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), cli);
    assert_eq!(
        b.text(&examples[0]),
        cli["examples"][0]["text"].as_str().unwrap()
    );
    assert_eq!(fetch(&b, "/api/topics/9999", json!({})).0, 404);
    assert_eq!(fetch(&b, "/api/topics/x", json!({})).0, 400);

    // The network: a drawing of the top authors and the links among them, then the top
    // authors (pseudonyms) as `network top --json` gives them.
    b.goto(&format!("{base}/network"));
    b.screenshot(&shots.join("serve-network.png"));
    let (status, body) = fetch(&b, "/api/network/graph?limit=80", json!({}));
    assert_eq!(status, 200);
    let graph: Value = serde_json::from_str(&body).unwrap();
    let nodes = graph["nodes"].as_array().unwrap();
    let top80: Value = serde_json::from_str(
        ok(&mindpulse(
            dir,
            &["--db", &db, "network", "top", "--json", "--limit", "80"],
        ))
        .trim(),
    )
    .unwrap();
    let top80: Vec<&Value> = top80
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["author"])
        .collect();
    let drawn: Vec<&Value> = nodes.iter().map(|n| &n["author"]).collect();
    assert_eq!(drawn, top80, "the authors of highest PageRank, in order");
    let edges = graph["edges"].as_array().unwrap();
    assert!(!edges.is_empty(), "replies among the top authors are drawn");
    for e in edges {
        assert!(e["source"].as_u64().unwrap() < nodes.len() as u64);
        assert!(e["target"].as_u64().unwrap() < nodes.len() as u64);
    }
    let circles = b.eval(
        "return [...document.querySelectorAll('#graph svg circle.node title')].map(t => t.textContent)",
        json!([]),
    );
    let circles = circles.as_array().unwrap();
    assert_eq!(circles.len(), nodes.len());
    assert!(
        circles
            .iter()
            .all(|t| t.as_str().unwrap().starts_with("u_")
                && t.as_str().unwrap().contains("PageRank"))
    );
    let lines = b.eval(
        "return document.querySelectorAll('#graph svg line').length",
        json!([]),
    );
    assert_eq!(lines.as_u64().unwrap() as usize, edges.len());
    let (status, body) = fetch(&b, "/api/network/top?limit=20", json!({}));
    assert_eq!(status, 200);
    let cli: Value = serde_json::from_str(
        ok(&mindpulse(
            dir,
            &["--db", &db, "network", "top", "--json", "--limit", "20"],
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), cli);
    let authors = b.eval(
        "return [...document.querySelectorAll('table.top-authors tbody tr td:first-child')].map(td => td.textContent)",
        json!([]),
    );
    let authors = authors.as_array().unwrap();
    assert!(!authors.is_empty());
    assert_eq!(authors.len(), cli.as_array().unwrap().len());
    for a in authors {
        let a = a.as_str().unwrap();
        assert!(
            a.starts_with("u_") && !a.contains("replier"),
            "a pseudonym: {a}"
        );
    }

    // Search: the form's hits are the API's, which are the CLI's; markup in hits is text.
    b.goto(&format!("{base}/search"));
    b.type_text(
        &b.find("form.query input[name=q]"),
        "worried about the exams",
    );
    b.click_and_wait(&b.find("form.query button"));
    b.screenshot(&shots.join("serve-search.png"));
    assert!(path(&b).starts_with("/search?q="), "{}", path(&b));
    let shown = b.eval(
        "return document.querySelectorAll('table.hits tbody tr').length",
        json!([]),
    );
    assert_eq!(shown, json!(10));
    assert!(
        b.page_text().contains(common::MARKUP_POSTS[1]),
        "the markup post found, as text"
    );
    no_markup_ran(&b);
    let (status, body) = fetch(&b, "/api/search?q=worried%20about%20the%20exams", json!({}));
    assert_eq!(status, 200);
    let cli: Value = serde_json::from_str(
        ok(&mindpulse(
            dir,
            &["--db", &db, "search", "worried about the exams", "--json"],
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), cli);
    let (status, body) = fetch(&b, "/api/search?q=x&limit=0", json!({}));
    assert_eq!(status, 400);
    assert!(body.contains("limit: expected 1 to 50"), "{body}");

    // Ask: a question about one person is declined before anything is read; a question
    // about what posts say gets an answer whose citations are retrieved posts, as text.
    b.goto(&format!("{base}/ask"));
    b.type_text(
        &b.find("form.query input[name=q]"),
        "What is the real name of the user who wrote about exams?",
    );
    b.click_and_wait(&b.find("form.query button"));
    assert_eq!(
        b.find_all("div.answer.declined").len(),
        1,
        "{}",
        b.page_text()
    );
    let (status, body) = fetch(
        &b,
        "/api/ask?q=What%20do%20people%20say%20about%20the%20exams%3F",
        json!({}),
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let retrieved = answer["retrieved"].as_array().unwrap();
    assert_eq!(retrieved.len(), 6);
    for c in answer["citations"].as_array().unwrap() {
        assert!(
            retrieved.contains(&c["platform_id"]),
            "a citation of a retrieved post: {c}"
        );
    }
    assert!(answer["model"]
        .as_str()
        .unwrap()
        .starts_with("smollm2-135m@"));
    b.goto(&format!(
        "{base}/ask?q=What%20do%20people%20say%20about%20the%20exams%3F"
    ));
    b.screenshot(&shots.join("serve-ask.png"));
    assert_eq!(b.find_all("div.answer").len(), 1);
    assert_eq!(
        b.find_all("div.citation").len(),
        answer["citations"].as_array().unwrap().len()
    );
    no_markup_ran(&b);
    let (status, _) = fetch(&b, "/api/ask?q=", json!({}));
    assert_eq!(status, 400);

    // Provenance, and the interface in Chinese.
    b.goto(&format!("{base}/provenance"));
    assert!(b.page_text().contains("heads"), "the scoring run's model");
    b.screenshot(&shots.join("serve-provenance.png"));
    b.click_and_wait(&b.find("nav a[href='/lang/zh']"));
    assert_eq!(
        b.eval("return document.documentElement.lang", json!([])),
        json!("zh")
    );
    assert!(b.page_text().contains("概览"));
    b.screenshot(&shots.join("serve-overview-zh.png"));
    b.click_and_wait(&b.find("nav a[href='/lang/en']"));

    // Failed sign-ins are limited: the sixth wrong password in a row is refused.
    b.click_and_wait(&b.find("nav form button"));
    for _ in 0..5 {
        sign_in(&b, &base, "rev", "wrong-password-x");
        assert!(b.page_text().contains("Wrong name or password"));
    }
    sign_in(&b, &base, "rev", REVIEWER_PW);
    assert!(
        b.page_text().contains("Too many failed sign-ins"),
        "{}",
        b.page_text()
    );
    assert_eq!(path(&b), "/login");
    drop(server);
}

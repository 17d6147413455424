//! The pages of `mindpulse serve`, rendered on the server from the JSON the [`Source`]
//! hands over (the CLI's `--json` shapes): login, overview, trends explorer, alerts (queue,
//! one alert with evidence, history and the review form), the posts behind a chart point,
//! and provenance. Every stored text goes through [`escape`]; the only script is
//! `/static/app.js` (click-through on chart points), allowed by the CSP as 'self'.
//!
//! [`Source`]: crate::source::Source

use crate::auth::Session;
use crate::chart::{Chart, Line, Point};
use crate::html::{escape, table};
use crate::i18n::{Locale, Text};
use crate::source::TrendQuery;
use serde_json::Value;
use std::fmt::Write as _;

/// The page around `body`: head, navigation (with the language switch and the sign-out
/// form when signed in).
pub fn layout(locale: Locale, title: &str, session: Option<&Session>, body: &str) -> String {
    let t = |k| locale.text(k);
    let other = match locale {
        Locale::En => "zh",
        Locale::Zh => "en",
    };
    let nav = match session {
        Some(s) => format!(
            "<nav><a href=\"/\">{}</a><a href=\"/trends\">{}</a><a href=\"/alerts\">{}</a><a href=\"/topics\">{}</a><a href=\"/network\">{}</a><a href=\"/search\">{}</a><a href=\"/ask\">{}</a><a href=\"/provenance\">{}</a><span class=\"who\">{} ({})</span><a href=\"/lang/{other}\">{}</a><form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">{}</button></form></nav>",
            escape(t(Text::Overview)),
            escape(t(Text::Trends)),
            escape(t(Text::Alerts)),
            escape(t(Text::Topics)),
            escape(t(Text::Network)),
            escape(t(Text::Search)),
            escape(t(Text::Ask)),
            escape(t(Text::Provenance)),
            escape(&s.user),
            s.role.name(),
            escape(t(Text::Language)),
            escape(&s.csrf),
            escape(t(Text::SignOut)),
        ),
        None => format!(
            "<nav><a href=\"/lang/{other}\">{}</a></nav>",
            escape(t(Text::Language))
        ),
    };
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · mindpulse</title><link rel=\"stylesheet\" href=\"/static/style.css\"><script src=\"/static/app.js\" defer></script></head><body>{nav}<main><h1>{}</h1>{body}</main></body></html>",
        locale.code(),
        escape(title),
        escape(title)
    )
}

/// The sign-in form (with its double-submit token) and an error line.
pub fn login(locale: Locale, login_token: &str, error: Option<Text>) -> String {
    let t = |k| locale.text(k);
    let body = format!(
        "{}<form method=\"post\" action=\"/login\" class=\"login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{} <input name=\"name\" autocomplete=\"username\" required></label><label>{} <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label><button type=\"submit\">{}</button></form><p class=\"notice\">{}</p>",
        error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(t(e))))
            .unwrap_or_default(),
        escape(login_token),
        escape(t(Text::Name)),
        escape(t(Text::Password)),
        escape(t(Text::SignIn)),
        escape(t(Text::NotDiagnosis)),
    );
    layout(locale, t(Text::SignIn), None, &body)
}

/// A trend row's number field.
fn num(row: &Value, key: &str) -> Option<f64> {
    row.get(key).and_then(Value::as_f64)
}

/// Chart lines from `trends --json` rows: one per group (the largest eight), or one line.
pub fn lines(rows: &Value, name: &str) -> Vec<Line> {
    let mut by_group: Vec<(Option<String>, Vec<Point>, u64)> = Vec::new();
    for r in rows.as_array().map(Vec::as_slice).unwrap_or_default() {
        let group = r.get("group").and_then(Value::as_str).map(str::to_string);
        let suppressed = r
            .get("suppressed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let point = Point {
            bucket: r
                .get("bucket")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            value: if suppressed { None } else { num(r, "value") },
            low: num(r, "ci_low"),
            high: num(r, "ci_high"),
            n: r.get("n").and_then(Value::as_u64),
        };
        let n = point.n.unwrap_or(0);
        match by_group.iter_mut().find(|(g, _, _)| *g == group) {
            Some((_, points, total)) => {
                points.push(point);
                *total += n;
            }
            None => by_group.push((group, vec![point], n)),
        }
    }
    by_group.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    by_group
        .into_iter()
        .take(8)
        .map(|(g, points, _)| Line {
            name: g.unwrap_or_else(|| name.to_string()),
            points,
            projected: false,
        })
        .collect()
}

/// The link a chart's points lead to (the script appends bucket and group).
fn posts_link(metric: &str, by: &str, group: Option<&str>) -> String {
    let mut l = format!("/posts?metric={}&by={}", url_encode(metric), url_encode(by));
    if let Some(g) = group {
        let _ = write!(l, "&group={}", url_encode(g));
    }
    l
}

/// Percent-encoding of a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One chart of `trends --json` rows, clickable to the posts behind each point.
pub fn trend_chart(metric: &str, by: &str, group: Option<&str>, rows: &Value) -> String {
    Chart {
        title: metric.to_string(),
        percent: metric != "volume",
        lines: lines(rows, metric),
        width: 900,
        height: 240,
        link: Some(posts_link(metric, by, group)),
    }
    .svg()
}

/// The overview: each metric's daily chart, the newest alerts, the latest runs.
pub fn overview(
    locale: Locale,
    session: &Session,
    zone: &str,
    charts: &[(String, Value, Option<Value>)],
    alerts: &Value,
    provenance: &Value,
) -> String {
    let t = |k| locale.text(k);
    let mut body = format!(
        "<p class=\"notice\">{}</p><p class=\"meta\">{} · {}</p>",
        escape(t(Text::NotDiagnosis)),
        escape(t(Text::ClickPoint)),
        escape(zone)
    );
    for (metric, rows, forecast) in charts {
        let mut lines = lines(rows, metric);
        let model = forecast.as_ref().map(|f| field(f, "model"));
        if let Some(steps) = forecast.as_ref().and_then(|f| f["forecast"].as_array()) {
            lines.push(Line {
                name: t(Text::Forecast).to_string(),
                points: steps
                    .iter()
                    .map(|st| Point {
                        bucket: st["bucket"].as_str().unwrap_or_default().to_string(),
                        value: num(st, "mean"),
                        low: num(st, "lo95"),
                        high: num(st, "hi95"),
                        n: None,
                    })
                    .collect(),
                projected: true,
            });
        }
        let chart = Chart {
            title: metric.to_string(),
            percent: metric != "volume",
            lines,
            width: 900,
            height: 240,
            link: Some(posts_link(metric, "day", None)),
        }
        .svg();
        let _ = write!(
            body,
            "<section class=\"metric\" data-metric=\"{m}\"><h2>{m}</h2>{chart}{}</section>",
            model
                .map(|m| format!("<p class=\"meta\">{}: {m}</p>", escape(t(Text::Forecast))))
                .unwrap_or_default(),
            m = escape(metric)
        );
    }
    let _ = write!(
        body,
        "<section id=\"newest-alerts\"><h2>{}</h2>{}</section>",
        escape(t(Text::NewestAlerts)),
        alert_table(locale, alerts, 5)
    );
    let _ = write!(
        body,
        "<section id=\"runs\"><h2>{}</h2>{}</section>",
        escape(t(Text::Runs)),
        runs_table(provenance, 5)
    );
    layout(locale, t(Text::Overview), Some(session), &body)
}

fn field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => escape(s),
        Some(Value::Null) | None => "—".into(),
        Some(other) => escape(&other.to_string()),
    }
}

fn alert_table(locale: Locale, alerts: &Value, limit: usize) -> String {
    let t = |k| locale.text(k);
    let list = alerts.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return format!("<p class=\"empty\">{}</p>", escape(t(Text::NoAlerts)));
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .take(limit)
        .map(|a| {
            let id = a.get("id").and_then(Value::as_i64).unwrap_or(0);
            vec![
                format!("<a href=\"/alerts/{id}\">#{id}</a>"),
                field(a, "metric"),
                field(a, "group"),
                field(a, "rule"),
                format!("{} – {}", field(a, "first_bucket"), field(a, "last_bucket")),
                field(a, "level"),
                format!("<span class=\"status\">{}</span>", field(a, "status")),
            ]
        })
        .collect();
    table(
        "alerts",
        &[
            "#",
            t(Text::Metric),
            t(Text::Group),
            t(Text::Rule),
            t(Text::Buckets),
            t(Text::Level),
            t(Text::Status),
        ],
        &rows,
    )
}

fn runs_table(provenance: &Value, limit: usize) -> String {
    let runs = provenance
        .get("runs")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = runs
        .iter()
        .take(limit)
        .map(|r| {
            vec![
                field(r, "id"),
                field(r, "kind"),
                field(r, "status"),
                field(r, "started_at"),
                format!(
                    "<code>{} {} {}</code>",
                    field(r, "model_id"),
                    field(r, "version"),
                    field(r, "model_sha256")
                ),
            ]
        })
        .collect();
    table(
        "runs",
        &["#", "kind", "status", "started", "model / version / sha256"],
        &rows,
    )
}

/// The trends explorer: the query form, the chart (a line per group) and the rows.
pub fn trends(locale: Locale, session: &Session, q: &TrendQuery, rows: &Value) -> String {
    let t = |k| locale.text(k);
    let metric = q.metric.as_deref().unwrap_or("volume");
    let by = q.by.as_deref().unwrap_or("day");
    let select = |name: &str, options: &[&str], current: Option<&str>| {
        let mut s = format!("<select name=\"{name}\">");
        for o in options {
            let _ = write!(
                s,
                "<option value=\"{o}\"{}>{}</option>",
                if current == Some(*o) || (current.is_none() && o.is_empty()) {
                    " selected"
                } else {
                    ""
                },
                if o.is_empty() { "—" } else { o }
            );
        }
        s.push_str("</select>");
        s
    };
    let mut body = format!(
        "<form method=\"get\" action=\"/trends\" class=\"query\"><label>{} {}</label><label>{} {}</label><label>{} {}</label><label>{} <input name=\"since\" value=\"{}\" placeholder=\"YYYY-MM-DD\"></label><label>{} <input name=\"until\" value=\"{}\" placeholder=\"YYYY-MM-DD\"></label><button type=\"submit\">{}</button></form>",
        escape(t(Text::Metric)),
        select("metric", &["volume", "depression", "suicide_risk", "stress", "substance_use"], Some(metric)),
        escape(t(Text::By)),
        select("by", &["hour", "day", "week"], Some(by)),
        escape(t(Text::Group)),
        select("group", &["", "topic", "region", "platform", "lang"], q.group.as_deref()),
        escape(t(Text::Since)),
        escape(q.since.as_deref().unwrap_or_default()),
        escape(t(Text::Until)),
        escape(q.until.as_deref().unwrap_or_default()),
        escape(t(Text::Show)),
    );
    let _ = write!(
        body,
        "<p class=\"meta\">{}</p>{}",
        escape(t(Text::ClickPoint)),
        trend_chart(metric, by, q.group.as_deref(), rows)
    );
    let pct = |v: Option<f64>| v.map(|v| format!("{:.1} %", v * 100.0)).unwrap_or_default();
    let list = rows.as_array().map(Vec::as_slice).unwrap_or_default();
    let table_rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let suppressed = r
                .get("suppressed")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            vec![
                field(r, "bucket"),
                field(r, "group"),
                if suppressed {
                    escape(t(Text::Suppressed))
                } else {
                    field(r, "n")
                },
                if metric == "volume" || suppressed {
                    String::new()
                } else {
                    format!(
                        "{} ({}–{})",
                        pct(num(r, "value")),
                        pct(num(r, "ci_low")),
                        pct(num(r, "ci_high"))
                    )
                },
            ]
        })
        .collect();
    body.push_str(&table(
        "trend-rows",
        &[
            "bucket",
            t(Text::Group),
            t(Text::Posts),
            "prevalence (95 % CI)",
        ],
        &table_rows,
    ));
    layout(locale, t(Text::Trends), Some(session), &body)
}

/// The review queue.
pub fn alerts(locale: Locale, session: &Session, alerts: &Value) -> String {
    let t = |k| locale.text(k);
    layout(
        locale,
        t(Text::Alerts),
        Some(session),
        &alert_table(locale, alerts, usize::MAX),
    )
}

/// One alert: its figures, evidence (the example posts as text), history, and the review
/// form for reviewers.
pub fn alert(locale: Locale, session: &Session, alert: &Value) -> String {
    let t = |k| locale.text(k);
    let id = alert.get("id").and_then(Value::as_i64).unwrap_or(0);
    let mut body = alert_table(locale, &Value::Array(vec![alert.clone()]), 1);
    let _ = write!(
        body,
        "<p>observed {} · expected {} · p {}</p>",
        field(alert, "observed"),
        field(alert, "expected"),
        field(alert, "p_value")
    );
    let _ = write!(body, "<h2>{}</h2>", escape(t(Text::Evidence)));
    let examples = alert
        .pointer("/evidence/examples")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for e in examples {
        let text = e
            .get("text")
            .and_then(Value::as_str)
            .or_else(|| e.as_str())
            .unwrap_or_default();
        let _ = write!(
            body,
            "<blockquote class=\"post\">{}</blockquote>",
            escape(text)
        );
    }
    if let Some(topics) = alert.pointer("/evidence/topics") {
        let _ = write!(
            body,
            "<p class=\"meta\">{}</p>",
            escape(&topics.to_string())
        );
    }
    let _ = write!(body, "<h2>{}</h2>", escape(t(Text::History)));
    let reviews = alert
        .get("reviews")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = reviews
        .iter()
        .map(|r| {
            vec![
                field(r, "at"),
                field(r, "reviewer"),
                field(r, "status"),
                format!("<span class=\"note\">{}</span>", field(r, "note")),
            ]
        })
        .collect();
    body.push_str(&table(
        "reviews",
        &["at", "reviewer", t(Text::Status), t(Text::Note)],
        &rows,
    ));
    if session.role.can_review() {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/alerts/{id}/review\" class=\"review\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{} <select name=\"status\"><option value=\"ack\">ack</option><option value=\"dismissed\">dismissed</option><option value=\"escalated\">escalated</option></select></label><label>{} <input name=\"note\" maxlength=\"2000\"></label><button type=\"submit\">{}</button></form>",
            escape(&session.csrf),
            escape(t(Text::Review)),
            escape(t(Text::Note)),
            escape(t(Text::Save))
        );
    }
    layout(
        locale,
        &format!("{} #{id}", t(Text::Alerts)),
        Some(session),
        &body,
    )
}

/// The posts behind a chart point.
pub fn posts(locale: Locale, session: &Session, heading: &str, posts: &Value) -> String {
    let t = |k| locale.text(k);
    let list = posts.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut body = format!("<p class=\"meta\">{}</p>", escape(heading));
    if list.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", escape(t(Text::NoPosts)));
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            let scores = p
                .get("scores")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|s| {
                    matches!(
                        s.get("dimension").and_then(Value::as_str),
                        Some("depression" | "suicide_risk" | "stress" | "substance_use")
                    )
                })
                .map(|s| {
                    format!(
                        "<div class=\"score\">{} {} <code>{} {} · {} {}</code></div>",
                        field(s, "dimension"),
                        field(s, "label"),
                        field(s, "scorer"),
                        field(s, "scorer_version"),
                        field(s, "head"),
                        field(s, "head_version"),
                    )
                })
                .collect::<String>();
            vec![
                format!("{} {}", field(p, "platform"), field(p, "platform_id")),
                field(p, "created_at"),
                format!("<code>{}</code>", field(p, "author")),
                format!(
                    "<blockquote class=\"post\">{}</blockquote>",
                    field(p, "text")
                ),
                scores,
            ]
        })
        .collect();
    if !rows.is_empty() {
        body.push_str(&table(
            "posts",
            &[
                "post",
                "created",
                t(Text::Author),
                t(Text::PostText),
                t(Text::Scores),
            ],
            &rows,
        ));
    }
    layout(locale, t(Text::PostsBehind), Some(session), &body)
}

/// The newest topic build: each topic's size, share and keywords.
pub fn topics(locale: Locale, session: &Session, topics: Option<&Value>) -> String {
    let t = |k| locale.text(k);
    let Some(v) = topics else {
        return layout(
            locale,
            t(Text::Topics),
            Some(session),
            &format!("<p class=\"empty\">{}</p>", escape(t(Text::NoTopics))),
        );
    };
    let build = &v["build"];
    let mut body = format!(
        "<p>{}</p>",
        escape(
            &t(Text::TopicsHelp)
                .replace("{build}", &build["id"].to_string())
                .replace("{posts}", &build["posts"].to_string())
                .replace("{unassigned}", &build["unassigned"].to_string())
        )
    );
    let list = v["topics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|x| {
            let words: Vec<&str> = x["keywords"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .take(10)
                .filter_map(|k| k.get(0).and_then(Value::as_str))
                .collect();
            let number = x.get("number").and_then(Value::as_i64).unwrap_or(0);
            vec![
                format!("<a href=\"/topics/{number}\">{number}</a>"),
                field(x, "size"),
                x["share"]
                    .as_f64()
                    .map(|s| format!("{:.1} %", s * 100.0))
                    .unwrap_or_default(),
                format!(
                    "<span class=\"keywords\">{}</span>",
                    escape(&words.join(", "))
                ),
                field(x, "encoder"),
            ]
        })
        .collect();
    body.push_str(&table(
        "topics",
        &["#", t(Text::Posts), "share", t(Text::Keywords), "encoder"],
        &rows,
    ));
    layout(locale, t(Text::Topics), Some(session), &body)
}

/// One topic over time (`topics show --json`): its keywords, a chart per day of its posts
/// and of each scored dimension's corrected prevalence with 95 % bands, and its example
/// posts as text.
pub fn topic(locale: Locale, session: &Session, detail: &Value) -> String {
    let t = |k| locale.text(k);
    let number = detail["number"].as_i64().unwrap_or(0);
    let mut body = format!(
        "<p><a href=\"/topics\">← {}</a></p><p>{}</p>",
        escape(t(Text::Topics)),
        escape(
            &t(Text::TopicHelp)
                .replace("{number}", &number.to_string())
                .replace("{build}", &detail["build"].to_string())
                .replace("{size}", &detail["size"].to_string())
                .replace(
                    "{share}",
                    &detail["share"]
                        .as_f64()
                        .map(|s| format!("{:.1} %", s * 100.0))
                        .unwrap_or_default()
                )
                .replace("{encoder}", detail["encoder"].as_str().unwrap_or_default())
                .replace("{zone}", detail["zone"].as_str().unwrap_or_default())
                .replace("{min_cell}", &detail["min_cell"].to_string())
        )
    );
    let words: Vec<String> = detail["keywords"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|k| {
            let w = k.get(0).and_then(Value::as_str)?;
            let weight = k.get(1).and_then(Value::as_f64).unwrap_or(0.0);
            Some(format!("{w} ({weight:.3})"))
        })
        .collect();
    let _ = write!(
        body,
        "<p class=\"keywords\"><strong>{}</strong>: {}</p><h2>{}</h2>",
        escape(t(Text::Keywords)),
        escape(&words.join(", ")),
        escape(t(Text::OverTime))
    );
    let mut series: Vec<(String, &Value)> = vec![("volume".to_string(), &detail["volume"])];
    if let Some(map) = detail["prevalence"].as_object() {
        series.extend(map.iter().map(|(k, v)| (k.clone(), v)));
    }
    for (metric, rows) in series {
        let chart = Chart {
            title: format!("{metric} · {number}"),
            percent: metric != "volume",
            lines: lines(rows, &metric),
            width: 900,
            height: 200,
            link: None,
        }
        .svg();
        let _ = write!(
            body,
            "<section class=\"metric\" data-metric=\"{m}\"><h3>{m}</h3>{chart}</section>",
            m = escape(&metric)
        );
    }
    let _ = write!(
        body,
        "<section id=\"examples\"><h2>{}</h2>",
        escape(t(Text::TopicExamples))
    );
    let examples = detail["examples"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if examples.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", escape(t(Text::NoPosts)));
    }
    for e in examples {
        let _ = write!(
            body,
            "<blockquote class=\"post-text\" data-post=\"{}\">{}</blockquote>",
            field(e, "id"),
            escape(e["text"].as_str().unwrap_or_default())
        );
    }
    body.push_str("</section>");
    layout(
        locale,
        &format!("{} {number}", t(Text::Topic)),
        Some(session),
        &body,
    )
}

/// The newest network: its size, the top authors by PageRank (pseudonyms) and the largest
/// communities.
pub fn network(
    locale: Locale,
    session: &Session,
    network: Option<&Value>,
    graph: Option<&Value>,
) -> String {
    let t = |k| locale.text(k);
    let Some(v) = network else {
        return layout(
            locale,
            t(Text::Network),
            Some(session),
            &format!("<p class=\"empty\">{}</p>", escape(t(Text::NoNetwork))),
        );
    };
    let build = &v["build"];
    let mut body = format!(
        "<p>{}</p>",
        escape(
            &t(Text::NetworkPageHelp)
                .replace("{build}", &build["id"].to_string())
                .replace("{nodes}", &build["nodes"].to_string())
                .replace("{edges}", &build["edges"].to_string())
                .replace(
                    "{modularity}",
                    &build["modularity"]
                        .as_f64()
                        .map(|m| format!("{m:.3}"))
                        .unwrap_or_else(|| "—".into())
                )
        )
    );
    if let Some(g) = graph {
        let shown = g["nodes"].as_array().map_or(0, Vec::len);
        let _ = write!(
            body,
            "<section id=\"graph\"><h2>{}</h2><p class=\"meta\">{}</p>{}</section>",
            escape(t(Text::Graph)),
            escape(&t(Text::GraphHelp).replace("{shown}", &shown.to_string())),
            crate::graph::network_svg(g, 640)
        );
    }
    let top = v["top"].as_array().map(Vec::as_slice).unwrap_or_default();
    let rows: Vec<Vec<String>> = top
        .iter()
        .map(|n| {
            vec![
                format!("<code>{}</code>", field(n, "author")),
                n["pagerank"]
                    .as_f64()
                    .map(|p| format!("{p:.5}"))
                    .unwrap_or_default(),
                field(n, "in_count"),
                field(n, "out_count"),
                field(n, "community"),
            ]
        })
        .collect();
    body.push_str(&table(
        "top-authors",
        &[t(Text::Author), "PageRank", "in", "out", t(Text::Community)],
        &rows,
    ));
    let communities = v["communities"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = communities
        .iter()
        .map(|c| vec![c[0].to_string(), c[1].to_string()])
        .collect();
    body.push_str(&table(
        "communities",
        &[t(Text::Community), t(Text::Authors)],
        &rows,
    ));
    layout(locale, t(Text::Network), Some(session), &body)
}

/// The search form and, after a search, its hits (text as text).
pub fn search(locale: Locale, session: &Session, text: &str, hits: Option<&Value>) -> String {
    let t = |k| locale.text(k);
    let mut body = format!(
        "<form method=\"get\" action=\"/search\" class=\"query\"><input name=\"q\" value=\"{}\" size=\"50\" maxlength=\"500\" required><button type=\"submit\">{}</button></form>",
        escape(text),
        escape(t(Text::Search))
    );
    if let Some(hits) = hits {
        let list = hits.as_array().map(Vec::as_slice).unwrap_or_default();
        if list.is_empty() {
            let _ = write!(body, "<p class=\"empty\">{}</p>", escape(t(Text::NoPosts)));
        } else {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|h| {
                    vec![
                        format!("{} {}", field(h, "platform"), field(h, "platform_id")),
                        field(h, "created_at"),
                        format!(
                            "<blockquote class=\"post\">{}</blockquote>",
                            field(h, "text")
                        ),
                        h["score"]
                            .as_f64()
                            .map(|s| format!("{s:.4}"))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            body.push_str(&table(
                "hits",
                &["post", "created", t(Text::PostText), "score"],
                &rows,
            ));
        }
    }
    layout(locale, t(Text::Search), Some(session), &body)
}

/// The question form and, after a question, the answer with its cited posts (all as text).
pub fn ask(locale: Locale, session: &Session, question: &str, out: Option<&Value>) -> String {
    let t = |k| locale.text(k);
    let mut body = format!(
        "<form method=\"get\" action=\"/ask\" class=\"query\"><input name=\"q\" value=\"{}\" size=\"60\" maxlength=\"500\" required><button type=\"submit\">{}</button></form><p class=\"meta\">{}</p>",
        escape(question),
        escape(t(Text::Ask)),
        escape(t(Text::AskHelp))
    );
    if let Some(out) = out {
        let declined = out.get("declined").and_then(Value::as_str).is_some();
        let _ = write!(
            body,
            "<div class=\"answer{}\"><p>{}</p></div>",
            if declined { " declined" } else { "" },
            field(out, "answer")
        );
        let citations = out["citations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for c in citations {
            let _ = write!(
                body,
                "<div class=\"citation\"><b>[{}]</b> {} {}<blockquote class=\"post\">{}</blockquote></div>",
                field(c, "n"),
                field(c, "platform"),
                field(c, "platform_id"),
                field(c, "text")
            );
        }
        if let Some(model) = out.get("model").and_then(Value::as_str) {
            let _ = write!(body, "<p class=\"meta\"><code>{}</code></p>", escape(model));
        }
    }
    layout(locale, t(Text::Ask), Some(session), &body)
}

/// Runs with their models, and crawl coverage.
pub fn provenance(locale: Locale, session: &Session, prov: &Value) -> String {
    let t = |k| locale.text(k);
    let mut body = format!("<h2>{}</h2>{}", escape(t(Text::Runs)), runs_table(prov, 50));
    let coverage = prov
        .get("coverage")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let _ = write!(body, "<h2>{}</h2>", escape(t(Text::Coverage)));
    if coverage.is_empty() {
        let _ = write!(
            body,
            "<p class=\"empty\">{}</p>",
            escape(t(Text::NoCoverage))
        );
    } else {
        let rows: Vec<Vec<String>> = coverage
            .iter()
            .map(|c| {
                vec![
                    field(c, "query"),
                    field(c, "pages_asked"),
                    field(c, "pages_fetched"),
                    field(c, "pages_failed"),
                ]
            })
            .collect();
        body.push_str(&table(
            "coverage",
            &[
                t(Text::Query),
                t(Text::Asked),
                t(Text::Got),
                t(Text::Missed),
            ],
            &rows,
        ));
    }
    layout(locale, t(Text::Provenance), Some(session), &body)
}

/// A page with one message (errors, forbidden, not found).
pub fn message(locale: Locale, session: Option<&Session>, title: &str, text: &str) -> String {
    layout(
        locale,
        title,
        session,
        &format!("<p class=\"error\">{}</p>", escape(text)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, Sessions};
    use serde_json::json;

    fn session() -> Session {
        let s = Sessions::default();
        let t = s.start("<b>lin</b>", Role::Viewer);
        s.get(&t).unwrap()
    }

    #[test]
    fn grouped_rows_become_lines_largest_first() {
        let rows = json!([
            {"bucket": "2024-01-01", "group": "a", "n": 5, "value": 5.0, "suppressed": false},
            {"bucket": "2024-01-01", "group": "b", "n": 50, "value": 50.0, "suppressed": false},
            {"bucket": "2024-01-02", "group": "b", "n": null, "value": null, "suppressed": true},
        ]);
        let l = lines(&rows, "volume");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].name, "b");
        assert_eq!(l[0].points[1].value, None);
        assert_eq!(
            lines(&json!([{"bucket": "x", "n": 3, "value": 3.0}]), "volume")[0].name,
            "volume"
        );
    }

    #[test]
    fn a_topic_shows_its_days_and_examples_as_text() {
        let day = |b: &str, v: Option<f64>| {
            json!({"bucket": b, "n": v.map(|_| 12), "value": v, "ci_low": v, "ci_high": v,
                   "suppressed": v.is_none()})
        };
        let detail = json!({
            "build": 3, "number": 7, "size": 40, "share": 0.25, "encoder": "<i>e</i>",
            "keywords": [["<b>sleep</b>", 0.5]], "zone": "UTC", "min_cell": 10,
            "examples": [{"id": 1, "text": "<script>alert(1)</script>"}],
            "volume": [day("2025-01-01", Some(12.0)), day("2025-01-02", None)],
            "prevalence": {"depression": [day("2025-01-01", Some(0.2)), day("2025-01-02", None)]},
        });
        let html = topic(Locale::En, &session(), &detail);
        assert_eq!(html.matches("<section class=\"metric\"").count(), 2);
        // One dot per shown day in each chart; the suppressed day has none.
        assert_eq!(html.matches("<circle class=\"pt\"").count(), 2);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;</blockquote>"));
        assert!(html.contains("&lt;b&gt;sleep&lt;/b&gt; (0.500)"));
        assert!(html.contains("encoder &lt;i&gt;e&lt;/i&gt;"));
        assert!(!html.contains("<script>") && !html.contains("<b>sleep"));
    }

    #[test]
    fn stored_text_is_escaped_and_viewers_get_no_review_form() {
        let s = session();
        let stored = json!({"id": 3, "metric": "volume", "group": "<i>g</i>", "status": "new",
            "evidence": {"examples": [{"text": "<script>alert(1)</script>"}]},
            "reviews": [{"status": "ack", "note": "<img src=x onerror=alert(2)>", "reviewer": "ann"}]});
        let html = alert_page_for(&s, &stored);
        assert!(!html.contains("<script>alert") && !html.contains("<img src"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;i&gt;g&lt;/i&gt;"));
        assert!(html.contains("&lt;b&gt;lin&lt;/b&gt;"));
        assert!(!html.contains("action=\"/alerts/3/review\""));
        let mut reviewer = s.clone();
        reviewer.role = Role::Reviewer;
        let html = alert(Locale::En, &reviewer, &stored);
        assert!(html.contains("action=\"/alerts/3/review\""));
        assert!(html.contains(&format!("name=\"csrf\" value=\"{}\"", reviewer.csrf)));
    }

    fn alert_page_for(s: &Session, a: &Value) -> String {
        alert(Locale::En, s, a)
    }

    #[test]
    fn answers_show_their_cited_posts_as_text() {
        let s = session();
        let out = json!({
            "answer": "Some cannot sleep before exams [1].", "answered": true,
            "citations": [{"n": 1, "platform": "weibo", "platform_id": "x0",
                           "text": "<script>window.__xss = 1</script> cannot sleep"}],
            "model": "qwen@abc"
        });
        let html = ask(Locale::En, &s, "<b>exams</b>?", Some(&out));
        assert!(
            html.contains("<div class=\"answer\"><p>Some cannot sleep before exams [1].</p></div>")
        );
        assert_eq!(html.matches("<div class=\"citation\">").count(), 1);
        assert!(html.contains("&lt;script&gt;window.__xss = 1&lt;/script&gt; cannot sleep"));
        assert!(html.contains("value=\"&lt;b&gt;exams&lt;/b&gt;?\""));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the page's own script"
        );
        let declined = ask(
            Locale::En,
            &s,
            "who wrote it?",
            Some(
                &json!({"answer": "This question is declined", "declined": "names a person", "citations": []}),
            ),
        );
        assert!(declined.contains("<div class=\"answer declined\">"));
    }

    #[test]
    fn pages_link_only_their_own_script_and_style() {
        let html = login(Locale::Zh, "tok", Some(Text::LoginFailed));
        assert!(html.contains("<script src=\"/static/app.js\" defer></script>"));
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("用户名或密码错误"));
        assert!(html.contains("lang=\"zh\""));
        assert_eq!(url_encode("a b/&é"), "a%20b%2F%26%C3%A9");
    }
}

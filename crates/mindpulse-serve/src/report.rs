//! The self-contained HTML report (`mindpulse report`): one file with its styles and charts
//! inline, no script and nothing fetched, that prints cleanly to PDF. It holds the
//! period's volume and each population dimension's corrected prevalence with 95 % CIs, the
//! alerts and their review status, the topics, the network summary, and a methods section
//! (data coverage, models with their validated figures, what the numbers do not mean).
//!
//! The caller reads the database and fills a [`Report`]; this module only renders it, in
//! English or Chinese ([`Locale`]). Every stored text goes through [`escape`].

use crate::chart::{Chart, Line, Point};
use crate::html::{escape, percent, table};
use crate::i18n::{Locale, Text};
use std::fmt::Write as _;

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub locale: Locale,
    /// The period as shown, e.g. `2024-03-01 – 2024-03-31 (Asia/Shanghai)`.
    pub period: String,
    /// When the report was made (already formatted in the configured zone).
    pub generated: String,
    /// Filters beyond the period (e.g. `lang = zh`), shown under the title.
    pub filters: Vec<String>,
    /// Posts in the period (duplicates left out) and how many of them are scored.
    pub posts: u64,
    pub scored: u64,
    /// The smallest cell shown; smaller cells are suppressed.
    pub min_cell: u64,
    /// Posts per bucket.
    pub volume: Vec<Point>,
    /// The bucket's name (`day` or `week`).
    pub bucket: String,
    pub dimensions: Vec<Dimension>,
    pub alerts: Vec<AlertLine>,
    pub topics: Option<Topics>,
    pub network: Option<Network>,
    pub coverage: Vec<CoverageLine>,
    pub models: Vec<ModelLine>,
}

/// One population dimension's index.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    pub name: String,
    /// Corrected prevalence per bucket.
    pub points: Vec<Point>,
    /// The whole period's corrected prevalence (None when suppressed).
    pub overall: Option<Point>,
    /// Where the scores come from (model, version, correction).
    pub source: String,
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLine {
    pub id: i64,
    pub rule: String,
    pub metric: String,
    pub group: Option<String>,
    pub first_bucket: String,
    pub last_bucket: String,
    pub level: String,
    pub status: String,
    /// Review notes in order: (status set, note).
    pub notes: Vec<(String, String)>,
}

/// The newest topic build.
#[derive(Debug, Clone, PartialEq)]
pub struct Topics {
    pub build: i64,
    pub posts: u64,
    pub unassigned: u64,
    pub topics: Vec<TopicLine>,
}

/// One topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicLine {
    pub number: i64,
    pub size: u64,
    pub keywords: Vec<String>,
    /// Example posts (pseudonymous, redacted at ingest).
    pub examples: Vec<String>,
}

/// The newest network build, summarized (no author is named).
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub build: i64,
    pub nodes: u64,
    pub edges: u64,
    pub modularity: Option<f64>,
    /// Largest communities: (community, authors).
    pub communities: Vec<(i64, u64)>,
}

/// One crawl query's coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageLine {
    pub query: String,
    pub asked: u64,
    pub got: u64,
    pub missed: u64,
}

/// One scoring model and its validated figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLine {
    pub dimension: String,
    pub model: String,
    /// Validated sensitivity and specificity by language: (lang, sensitivity, specificity).
    pub rates: Vec<(String, f64, f64)>,
}

/// The whole HTML document.
pub fn render(r: &Report) -> String {
    let t = |k: Text| r.locale.text(k);
    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>{}</h1><p class=\"period\">{}</p><p class=\"meta\">{} {}{}</p></header>",
        escape(t(Text::ReportTitle)),
        escape(&r.period),
        escape(t(Text::Generated)),
        escape(&r.generated),
        if r.filters.is_empty() {
            String::new()
        } else {
            format!(" · {}", escape(&r.filters.join(", ")))
        }
    );
    let _ = write!(
        body,
        "<p class=\"notice\">{}</p>",
        escape(t(Text::NotDiagnosis))
    );

    // Summary and volume.
    let _ = write!(
        body,
        "<section id=\"volume\"><h2>{}</h2><p>{}</p>{}</section>",
        escape(t(Text::Volume)),
        escape(
            &t(Text::PostsScored)
                .replace("{posts}", &r.posts.to_string())
                .replace("{scored}", &r.scored.to_string())
                .replace("{bucket}", &r.bucket)
                .replace("{min}", &r.min_cell.to_string())
        ),
        Chart {
            title: t(Text::Volume).to_string(),
            percent: false,
            lines: vec![Line {
                name: t(Text::Posts).to_string(),
                points: r.volume.clone(),
                projected: false,
            }],
            width: 760,
            height: 220,
            link: None,
        }
        .svg()
    );

    // Indices.
    let _ = write!(
        body,
        "<section id=\"indices\"><h2>{}</h2><p>{}</p>",
        escape(t(Text::Indices)),
        escape(t(Text::IndicesHelp))
    );
    if r.dimensions.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", escape(t(Text::NoScores)));
    }
    for d in &r.dimensions {
        let overall = match &d.overall {
            Some(Point {
                value: Some(v),
                low,
                high,
                n,
                ..
            }) => format!(
                "{} {}{}{}",
                escape(t(Text::Period)),
                percent(*v),
                match (low, high) {
                    (Some(l), Some(h)) => format!(" (95 % CI {}–{})", percent(*l), percent(*h)),
                    _ => String::new(),
                },
                n.map(|n| format!(", {n} {}", escape(t(Text::Posts))))
                    .unwrap_or_default()
            ),
            _ => escape(t(Text::Suppressed)),
        };
        let _ = write!(
            body,
            "<div class=\"dimension\" data-dimension=\"{name}\"><h3>{name}</h3><p class=\"overall\">{overall}</p>{chart}<p class=\"source\">{source}</p></div>",
            name = escape(&d.name),
            chart = Chart {
                title: d.name.clone(),
                percent: true,
                lines: vec![Line {
                    name: d.name.clone(),
                    points: d.points.clone(),
                    projected: false,
                }],
                width: 760,
                height: 220,
                link: None,
            }
            .svg(),
            source = escape(&d.source)
        );
    }
    body.push_str("</section>");

    // Alerts.
    let _ = write!(
        body,
        "<section id=\"alerts\"><h2>{}</h2>",
        escape(t(Text::Alerts))
    );
    if r.alerts.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", escape(t(Text::NoAlerts)));
    } else {
        let rows: Vec<Vec<String>> = r
            .alerts
            .iter()
            .map(|a| {
                vec![
                    a.id.to_string(),
                    escape(&a.metric),
                    escape(a.group.as_deref().unwrap_or("—")),
                    escape(&a.rule),
                    escape(&format!("{} – {}", a.first_bucket, a.last_bucket)),
                    escape(&a.level),
                    format!("<span class=\"status\">{}</span>", escape(&a.status)),
                    a.notes
                        .iter()
                        .map(|(s, n)| {
                            format!("<div class=\"note\">{}: {}</div>", escape(s), escape(n))
                        })
                        .collect::<String>(),
                ]
            })
            .collect();
        body.push_str(&table(
            "alerts",
            &[
                "#",
                t(Text::Metric),
                t(Text::Group),
                t(Text::Rule),
                t(Text::Buckets),
                t(Text::Level),
                t(Text::Status),
                t(Text::Notes),
            ],
            &rows,
        ));
    }
    body.push_str("</section>");

    // Topics.
    let _ = write!(
        body,
        "<section id=\"topics\"><h2>{}</h2>",
        escape(t(Text::Topics))
    );
    match &r.topics {
        None => {
            let _ = write!(body, "<p class=\"empty\">{}</p>", escape(t(Text::NoTopics)));
        }
        Some(tp) => {
            let _ = write!(
                body,
                "<p>{}</p>",
                escape(
                    &t(Text::TopicsHelp)
                        .replace("{build}", &tp.build.to_string())
                        .replace("{posts}", &tp.posts.to_string())
                        .replace("{unassigned}", &tp.unassigned.to_string())
                )
            );
            let rows: Vec<Vec<String>> = tp
                .topics
                .iter()
                .map(|x| {
                    vec![
                        x.number.to_string(),
                        x.size.to_string(),
                        format!(
                            "<span class=\"keywords\">{}</span>",
                            escape(&x.keywords.join(", "))
                        ),
                        x.examples
                            .iter()
                            .map(|e| {
                                format!("<blockquote class=\"post\">{}</blockquote>", escape(e))
                            })
                            .collect::<String>(),
                    ]
                })
                .collect();
            body.push_str(&table(
                "topics",
                &["#", t(Text::Posts), t(Text::Keywords), t(Text::Examples)],
                &rows,
            ));
        }
    }
    body.push_str("</section>");

    // Network.
    let _ = write!(
        body,
        "<section id=\"network\"><h2>{}</h2>",
        escape(t(Text::Network))
    );
    match &r.network {
        None => {
            let _ = write!(
                body,
                "<p class=\"empty\">{}</p>",
                escape(t(Text::NoNetwork))
            );
        }
        Some(n) => {
            let _ = write!(
                body,
                "<p>{}</p>",
                escape(
                    &t(Text::NetworkHelp)
                        .replace("{build}", &n.build.to_string())
                        .replace("{nodes}", &n.nodes.to_string())
                        .replace("{edges}", &n.edges.to_string())
                        .replace(
                            "{modularity}",
                            &n.modularity
                                .map(|m| format!("{m:.3}"))
                                .unwrap_or_else(|| "—".into())
                        )
                )
            );
            let rows: Vec<Vec<String>> = n
                .communities
                .iter()
                .map(|(c, size)| vec![c.to_string(), size.to_string()])
                .collect();
            body.push_str(&table(
                "communities",
                &[t(Text::Community), t(Text::Authors)],
                &rows,
            ));
        }
    }
    body.push_str("</section>");

    // Methods.
    let _ = write!(
        body,
        "<section id=\"methods\"><h2>{}</h2><h3>{}</h3>",
        escape(t(Text::Methods)),
        escape(t(Text::Coverage))
    );
    if r.coverage.is_empty() {
        let _ = write!(
            body,
            "<p class=\"empty\">{}</p>",
            escape(t(Text::NoCoverage))
        );
    } else {
        let rows: Vec<Vec<String>> = r
            .coverage
            .iter()
            .map(|c| {
                vec![
                    escape(&c.query),
                    c.asked.to_string(),
                    c.got.to_string(),
                    c.missed.to_string(),
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
    let _ = write!(body, "<h3>{}</h3>", escape(t(Text::Models)));
    if r.models.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", escape(t(Text::NoScores)));
    } else {
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                vec![
                    escape(&m.dimension),
                    format!("<code>{}</code>", escape(&m.model)),
                    escape(
                        &m.rates
                            .iter()
                            .map(|(l, se, sp)| format!("{l}: {} / {}", percent(*se), percent(*sp)))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                ]
            })
            .collect();
        body.push_str(&table(
            "models",
            &[t(Text::Dimension), t(Text::Model), t(Text::Validated)],
            &rows,
        ));
    }
    let _ = write!(
        body,
        "<h3>{}</h3><ul class=\"limits\">{}</ul></section>",
        escape(t(Text::Limits)),
        [Text::Limit1, Text::Limit2, Text::Limit3, Text::Limit4]
            .iter()
            .map(|k| format!("<li>{}</li>", escape(t(*k))))
            .collect::<String>()
    );

    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"><title>{title}</title><style>{css}</style></head><body>{body}</body></html>\n",
        lang = r.locale.code(),
        title = escape(&format!("{} · {}", t(Text::ReportTitle), r.period)),
        css = crate::style::CSS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(b: &str, v: f64) -> Point {
        Point {
            bucket: b.into(),
            value: Some(v),
            low: Some(v / 2.0),
            high: Some(v * 2.0),
            n: Some(50),
        }
    }

    fn sample(locale: Locale) -> Report {
        Report {
            locale,
            period: "2024-03-01 – 2024-03-03 (UTC)".into(),
            generated: "2024-04-01 09:00".into(),
            filters: vec!["lang = zh".into()],
            posts: 150,
            scored: 140,
            min_cell: 10,
            volume: vec![
                Point {
                    bucket: "2024-03-01".into(),
                    value: Some(50.0),
                    low: None,
                    high: None,
                    n: Some(50),
                },
                Point {
                    bucket: "2024-03-02".into(),
                    value: None,
                    low: None,
                    high: None,
                    n: None,
                },
            ],
            bucket: "day".into(),
            dimensions: vec![Dimension {
                name: "depression".into(),
                points: vec![point("2024-03-01", 0.1), point("2024-03-02", 0.12)],
                overall: Some(point("all", 0.11)),
                source: "scores of heads v3".into(),
            }],
            alerts: vec![AlertLine {
                id: 7,
                rule: "ewma".into(),
                metric: "depression".into(),
                group: None,
                first_bucket: "2024-03-02".into(),
                last_bucket: "2024-03-03".into(),
                level: "alarm".into(),
                status: "acknowledged".into(),
                notes: vec![("acknowledged".into(), "<img src=x onerror=alert(1)>".into())],
            }],
            topics: Some(Topics {
                build: 2,
                posts: 140,
                unassigned: 3,
                topics: vec![TopicLine {
                    number: 0,
                    size: 70,
                    keywords: vec!["exam".into(), "<b>".into()],
                    examples: vec!["<script>alert(1)</script> exams again".into()],
                }],
            }),
            network: Some(Network {
                build: 1,
                nodes: 40,
                edges: 90,
                modularity: Some(0.41),
                communities: vec![(0, 25), (1, 15)],
            }),
            coverage: vec![CoverageLine {
                query: "#考试#".into(),
                asked: 10,
                got: 9,
                missed: 1,
            }],
            models: vec![ModelLine {
                dimension: "depression".into(),
                model: "minilm@abc".into(),
                rates: vec![("en".into(), 0.8, 0.9)],
            }],
        }
    }

    #[test]
    fn stored_text_is_shown_as_text_and_nothing_runs() {
        let html = render(&sample(Locale::En));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; exams again"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("default-src 'none'"));
        // Nothing is loaded from anywhere.
        assert!(!html.contains("src=\"") && !html.contains("href=\""));
    }

    #[test]
    fn every_section_is_there_in_both_languages() {
        for locale in [Locale::En, Locale::Zh] {
            let html = render(&sample(locale));
            for id in [
                "volume", "indices", "alerts", "topics", "network", "methods",
            ] {
                assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
            }
            assert!(html.contains("data-dimension=\"depression\""));
            assert!(html.contains("11.0 % (95 % CI 5.5 %–22.0 %)"));
            assert!(html.contains(&format!("lang=\"{}\"", locale.code())));
            assert!(html.contains(locale.text(Text::NotDiagnosis)));
        }
        assert!(render(&sample(Locale::Zh)).contains("人群"));
    }

    #[test]
    fn empty_sections_say_so() {
        let mut r = sample(Locale::En);
        r.dimensions.clear();
        r.alerts.clear();
        r.topics = None;
        r.network = None;
        r.coverage.clear();
        r.models.clear();
        let html = render(&r);
        assert!(html.contains(Locale::En.text(Text::NoAlerts)));
        assert!(html.contains(Locale::En.text(Text::NoTopics)));
        assert!(html.contains(Locale::En.text(Text::NoNetwork)));
    }
}

//! Server-rendered SVG line charts: one line per series over shared buckets, a shaded 95 %
//! confidence band where the points carry one, a dot per point whose `<title>` is the
//! hover text (bucket, value, CI, posts) — shown by every browser without any script — and
//! `data-` attributes (bucket, group, value) that a page may use to open the posts behind a
//! point. Suppressed cells break the line and leave a gap; they are listed in the hover
//! text of nothing and never plotted. Deterministic: the same input gives the same bytes.

use crate::html::escape;
use std::fmt::Write as _;

/// One bucket's value of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The bucket's key, as the trend rows name it (e.g. `2024-03-05`).
    pub bucket: String,
    /// The value (a share in 0–1 when the chart is in percent); None when suppressed.
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Posts in the cell (None when suppressed).
    pub n: Option<u64>,
}

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its name in the legend and the hover text (a group, or the metric).
    pub name: String,
    pub points: Vec<Point>,
    /// A forecast: drawn dashed, its points not linked to posts.
    pub projected: bool,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Short accessible title (the `<title>` of the whole SVG).
    pub title: String,
    /// Values are shares shown as percentages (else counts).
    pub percent: bool,
    pub lines: Vec<Line>,
    pub width: u32,
    pub height: u32,
    /// Where a click on a point leads (a page's script appends the point's bucket and
    /// group); None for charts that are only looked at (the report).
    pub link: Option<String>,
}

/// Colours of the lines, in order (colour-blind-safe Okabe–Ito).
const PALETTE: &[&str] = &[
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

impl Chart {
    /// The SVG element (no XML declaration: it is meant to be inlined in HTML).
    pub fn svg(&self) -> String {
        let buckets = self.buckets();
        let (w, h) = (
            f64::from(self.width.max(200)),
            f64::from(self.height.max(120)),
        );
        let plot_w = w - LEFT - RIGHT;
        let plot_h = h - TOP - BOTTOM;
        let top = self.top_value();
        let x = |i: usize| {
            if buckets.len() <= 1 {
                LEFT + plot_w / 2.0
            } else {
                LEFT + plot_w * i as f64 / (buckets.len() - 1) as f64
            }
        };
        let y = |v: f64| TOP + plot_h * (1.0 - (v / top).clamp(0.0, 1.0));
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\"{} data-points=\"{}\"><title>{}</title>",
            self.link
                .as_deref()
                .map(|l| format!(" data-href=\"{}\"", escape(l)))
                .unwrap_or_default(),
            self.lines
                .iter()
                .filter(|l| !l.projected)
                .map(|l| l.points.iter().filter(|p| p.value.is_some()).count())
                .sum::<usize>(),
            escape(&self.title)
        );
        // Grid and y ticks.
        for k in 0..=4 {
            let v = top * f64::from(k) / 4.0;
            let yy = y(v);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#444\">{}</text>",
                w - RIGHT,
                LEFT - 6.0,
                yy + 4.0,
                escape(&self.format(v))
            );
        }
        // X labels: every step-th bucket (at most ~8) and the last; a label that would
        // overlap the last one (anchored at its end) is left out.
        if !buckets.is_empty() {
            let step = buckets.len().div_ceil(8).max(1);
            let last = buckets.len() - 1;
            let mut shown: Vec<usize> = (0..buckets.len()).filter(|i| i % step == 0).collect();
            if shown.last() != Some(&last) {
                shown.push(last);
            }
            let width = |i: usize| 6.5 * short_bucket(&buckets[i]).chars().count() as f64;
            if shown.len() >= 3 {
                let before = shown[shown.len() - 2];
                if x(last) - x(before) < width(last) + width(before) / 2.0 + 6.0 {
                    shown.remove(shown.len() - 2);
                }
            }
            for i in shown {
                // The ends are anchored inwards so that their labels stay inside.
                let anchor = match i {
                    0 if buckets.len() > 1 => "start",
                    _ if i == last && buckets.len() > 1 => "end",
                    _ => "middle",
                };
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" font-size=\"11\" fill=\"#444\">{}</text>",
                    x(i),
                    h - BOTTOM + 16.0,
                    escape(short_bucket(&buckets[i]))
                );
            }
        }
        for (li, line) in self.lines.iter().enumerate() {
            let colour = PALETTE[li % PALETTE.len()];
            let index: Vec<Option<usize>> = line
                .points
                .iter()
                .map(|p| buckets.iter().position(|b| *b == p.bucket))
                .collect();
            // Runs of consecutive plotted points (a suppressed cell or a missing bucket
            // breaks the line and the band).
            let mut runs: Vec<Vec<(usize, &Point)>> = Vec::new();
            let mut last: Option<usize> = None;
            for (p, i) in line.points.iter().zip(&index) {
                let (Some(i), Some(_)) = (i, p.value) else {
                    last = None;
                    continue;
                };
                match (last, runs.last_mut()) {
                    (Some(l), Some(run)) if l + 1 == *i => run.push((*i, p)),
                    _ => runs.push(vec![(*i, p)]),
                }
                last = Some(*i);
            }
            for run in &runs {
                let banded: Vec<&(usize, &Point)> = run
                    .iter()
                    .filter(|(_, p)| p.low.is_some() && p.high.is_some())
                    .collect();
                if banded.len() == run.len() && run.len() >= 2 {
                    let mut d = String::new();
                    for (k, (i, p)) in run.iter().enumerate() {
                        let _ = write!(
                            d,
                            "{}{:.1},{:.1}",
                            if k == 0 { "M" } else { "L" },
                            x(*i),
                            y(p.high.unwrap_or(0.0))
                        );
                    }
                    for (i, p) in run.iter().rev() {
                        let _ = write!(d, "L{:.1},{:.1}", x(*i), y(p.low.unwrap_or(0.0)));
                    }
                    let _ = write!(
                        out,
                        "<path class=\"band\" d=\"{d}Z\" fill=\"{colour}\" fill-opacity=\"0.18\" stroke=\"none\"/>"
                    );
                }
                if run.len() >= 2 {
                    let mut d = String::new();
                    for (k, (i, p)) in run.iter().enumerate() {
                        let _ = write!(
                            d,
                            "{}{:.1},{:.1}",
                            if k == 0 { "M" } else { "L" },
                            x(*i),
                            y(p.value.unwrap_or(0.0))
                        );
                    }
                    let _ = write!(
                        out,
                        "<path class=\"line\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{}/>",
                        if line.projected { " stroke-dasharray=\"5 3\"" } else { "" }
                    );
                }
            }
            let radius = if buckets.len() > 200 { 1.6 } else { 3.0 };
            for run in &runs {
                for (i, p) in run {
                    let v = p.value.unwrap_or(0.0);
                    let _ = write!(
                        out,
                        "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius}\" fill=\"{colour}\" data-bucket=\"{}\" data-group=\"{}\" data-value=\"{v}\"><title>{}</title></circle>",
                        if line.projected { "fc" } else { "pt" },
                        x(*i),
                        y(v),
                        escape(&p.bucket),
                        escape(&line.name),
                        escape(&self.hover(&line.name, p))
                    );
                }
            }
        }
        if self.lines.len() > 1 {
            let mut lx = LEFT;
            for (li, line) in self.lines.iter().enumerate() {
                let colour = PALETTE[li % PALETTE.len()];
                let _ = write!(
                    out,
                    "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#222\">{}</text>",
                    h - 14.0,
                    lx + 14.0,
                    h - 5.0,
                    escape(&line.name)
                );
                lx += 24.0 + 7.0 * line.name.chars().count() as f64;
            }
        }
        out.push_str("</svg>");
        out
    }

    /// Every bucket of every line, sorted (bucket keys sort in time order).
    fn buckets(&self) -> Vec<String> {
        let mut b: Vec<String> = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.bucket.clone()))
            .collect();
        b.sort();
        b.dedup();
        b
    }

    /// The top of the y axis: the largest value or CI bound, with headroom, never 0.
    fn top_value(&self) -> f64 {
        let max = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter())
            .flat_map(|p| [p.value, p.high])
            .flatten()
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        if max <= 0.0 {
            return if self.percent { 0.01 } else { 1.0 };
        }
        let top = nice_ceiling(max * 1.05);
        // A share never exceeds 100 %: headroom stops there.
        if self.percent && max <= 1.0 {
            top.min(1.0)
        } else {
            top
        }
    }

    fn format(&self, v: f64) -> String {
        if self.percent {
            let pct = v * 100.0;
            if pct < 10.0 && pct != pct.round() {
                format!("{pct:.1} %")
            } else {
                format!("{pct:.0} %")
            }
        } else if v >= 1000.0 || v == v.round() {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    }

    fn hover(&self, name: &str, p: &Point) -> String {
        let value = p.value.map(|v| self.format_exact(v)).unwrap_or_default();
        let ci = match (p.low, p.high) {
            (Some(l), Some(h)) => format!(
                " (95 % CI {}–{})",
                self.format_exact(l),
                self.format_exact(h)
            ),
            _ => String::new(),
        };
        let n = p.n.map(|n| format!(", {n} posts")).unwrap_or_default();
        format!("{name} · {}: {value}{ci}{n}", p.bucket)
    }

    fn format_exact(&self, v: f64) -> String {
        if self.percent {
            format!("{:.1} %", v * 100.0)
        } else {
            format!("{v:.0}")
        }
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ v.
fn nice_ceiling(v: f64) -> f64 {
    let exp = v.log10().floor();
    let base = 10f64.powf(exp);
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * base >= v * (1.0 - 1e-12) {
            return m * base;
        }
    }
    10.0 * base
}

/// A bucket key shortened for an axis label (a week's or an hour's key keeps its start).
fn short_bucket(b: &str) -> &str {
    b.split(['/', ' ']).next().unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(b: &str, v: Option<f64>) -> Point {
        Point {
            bucket: b.into(),
            value: v,
            low: v.map(|v| v * 0.5),
            high: v.map(|v| v * 1.5),
            n: v.map(|_| 100),
        }
    }

    fn chart(lines: Vec<Line>) -> Chart {
        Chart {
            title: "t".into(),
            percent: true,
            lines,
            width: 600,
            height: 240,
            link: Some("/posts?metric=a&b=\"c\"".into()),
        }
    }

    #[test]
    fn suppressed_cells_break_the_line_and_are_not_plotted() {
        let c = chart(vec![Line {
            name: "depression".into(),
            points: vec![
                pt("2024-01-01", Some(0.1)),
                pt("2024-01-02", Some(0.2)),
                pt("2024-01-03", None),
                pt("2024-01-04", Some(0.1)),
                pt("2024-01-05", Some(0.15)),
            ],
            projected: false,
        }]);
        let svg = c.svg();
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(svg.matches("class=\"line\"").count(), 2);
        assert_eq!(svg.matches("class=\"band\"").count(), 2);
        assert!(svg.contains("data-points=\"4\""));
        assert!(svg.contains("data-href=\"/posts?metric=a&amp;b=&quot;c&quot;\""));
        assert!(!svg.contains("data-bucket=\"2024-01-03\""));
        assert!(svg.contains(
            "<title>depression · 2024-01-02: 20.0 % (95 % CI 10.0 %–30.0 %), 100 posts</title>"
        ));
        // 0.3 × 1.05 → 0.5: the axis runs to 50 %.
        assert!(svg.contains(">50 %</text>"));
        assert_eq!(svg, c.svg(), "deterministic");
    }

    #[test]
    fn forecasts_are_dashed_and_not_linked() {
        let c = chart(vec![
            Line {
                name: "volume".into(),
                points: vec![pt("2024-01-01", Some(0.1)), pt("2024-01-02", Some(0.2))],
                projected: false,
            },
            Line {
                name: "forecast".into(),
                points: vec![pt("2024-01-03", Some(0.2)), pt("2024-01-04", Some(0.2))],
                projected: true,
            },
        ]);
        let svg = c.svg();
        assert_eq!(svg.matches("class=\"pt\"").count(), 2);
        assert_eq!(svg.matches("class=\"fc\"").count(), 2);
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(
            svg.contains("data-points=\"2\""),
            "forecasts are not data points"
        );
    }

    #[test]
    fn names_and_buckets_are_escaped() {
        let c = chart(vec![
            Line {
                name: "<script>alert(1)</script>".into(),
                points: vec![pt("a\"b", Some(0.1)), pt("c", Some(0.1))],
                projected: false,
            },
            Line {
                name: "two".into(),
                points: vec![pt("c", Some(0.2))],
                projected: false,
            },
        ]);
        let svg = c.svg();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("data-bucket=\"a&quot;b\""));
        // A legend with both names.
        assert!(svg.contains(">two</text>"));
    }

    #[test]
    fn empty_and_flat_charts_render() {
        let svg = chart(Vec::new()).svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        let zero = chart(vec![Line {
            name: "x".into(),
            points: vec![pt("a", Some(0.0))],
            projected: false,
        }])
        .svg();
        assert!(zero.contains("data-points=\"1\""));
        assert!(!zero.contains("NaN"));
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.031), 0.05);
        assert_eq!(nice_ceiling(0.2), 0.2);
        assert_eq!(nice_ceiling(0.21), 0.25);
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(1.5), 2.0);
    }
}

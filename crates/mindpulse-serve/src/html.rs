//! HTML built as strings, safely: [`escape`] for every piece of stored or user text (post
//! text, topic keywords, review notes, group names), in element content and in quoted
//! attribute values alike. Nothing from the database is ever written unescaped, so a post
//! holding `<script>` shows those characters and runs nothing.

use std::fmt::Write as _;

/// `text` with `& < > " '` replaced by character references (safe in element content and in
/// single- or double-quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls other than tab and line breaks are not allowed in HTML text.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A table: header cells and rows of already-escaped cell HTML.
pub fn table(class: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table class=\"{}\"><thead><tr>", escape(class));
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for cell in r {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A share as a percentage with one decimal ("12.3 %").
pub fn percent(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_text() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & <img src=x onerror='y'>"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=&#39;y&#39;&gt;"
        );
        assert_eq!(escape("抑郁\n\tok"), "抑郁\n\tok");
        assert_eq!(escape("a\u{0}b\u{7f}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn tables_escape_their_heads_not_their_cells() {
        let t = table("t", &["<a>"], &[vec!["<b>x</b>".into()]]);
        assert_eq!(
            t,
            "<table class=\"t\"><thead><tr><th>&lt;a&gt;</th></tr></thead><tbody><tr><td><b>x</b></td></tr></tbody></table>"
        );
        assert_eq!(percent(0.1234), "12.3 %");
    }
}

//! HTML fragments to plain text, the way a reader sees them: emoji images become their
//! `alt` (`[哭]`), `<br>` and paragraphs become line breaks, unfold/fold links and icon
//! glyphs go away, source indentation collapses. Topics (`#…#`), @mentions and a Weibo
//! location anchor are collected on the way.

use scraper::{ElementRef, Html, Node};

/// What [`flatten`] found in a fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flat {
    pub text: String,
    /// Topics without the surrounding `#`.
    pub topics: Vec<String>,
    /// Mentioned names without the `@`.
    pub mentions: Vec<String>,
    /// A Weibo location anchor's text (`北京·国家图书馆`), removed from `text`.
    pub location: Option<String>,
    /// The fragment ends with an "unfold" link: the text is truncated.
    pub unfold: bool,
}

/// Line-break marker while whitespace is being collapsed.
const BR: char = '\u{1}';

/// Flattens an element's content.
pub fn flatten(el: ElementRef<'_>) -> Flat {
    let mut flat = Flat::default();
    let mut raw = String::new();
    walk(el, &mut raw, &mut flat);
    flat.text = collapse(&raw);
    flat
}

/// Flattens an HTML fragment given as a string (JSON `text` fields, Mastodon `content`).
pub fn flatten_fragment(html: &str) -> Flat {
    let doc = Html::parse_fragment(html);
    flatten(doc.root_element())
}

fn walk(el: ElementRef<'_>, out: &mut String, flat: &mut Flat) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(_) => {
                let Some(e) = ElementRef::wrap(child) else {
                    continue;
                };
                element(e, out, flat);
            }
            _ => {}
        }
    }
}

fn element(e: ElementRef<'_>, out: &mut String, flat: &mut Flat) {
    let v = e.value();
    match v.name() {
        "br" => out.push(BR),
        "p" | "div" | "li" => {
            if !out.is_empty() {
                out.push(BR);
            }
            walk(e, out, flat);
            out.push(BR);
        }
        "img" => {
            if let Some(alt) = v.attr("alt").or_else(|| v.attr("title")) {
                out.push_str(alt);
            }
        }
        "script" | "style" | "i" | "svg" | "button" => {}
        "a" => anchor(e, out, flat),
        _ => walk(e, out, flat),
    }
}

fn anchor(e: ElementRef<'_>, out: &mut String, flat: &mut Flat) {
    let v = e.value();
    match v.attr("action-type") {
        Some("fl_unfold") => {
            flat.unfold = true;
            return;
        }
        Some("fl_fold") => return,
        _ => {}
    }
    let icon = e
        .child_elements()
        .find(|c| c.value().name() == "i" && c.value().classes().any(|k| k == "wbicon"))
        .map(|i| i.text().collect::<String>());
    let mut inner = String::new();
    walk(e, &mut inner, flat);
    let label = collapse(&inner);
    if icon.as_deref().map(str::trim) == Some("2") {
        // A location: kept apart, not part of the body text.
        if !label.is_empty() {
            flat.location = Some(label);
        }
        return;
    }
    if label.len() > 2 && label.starts_with('#') && label.ends_with('#') {
        let topic = label.trim_matches('#').trim();
        if !topic.is_empty() && !flat.topics.iter().any(|t| t == topic) {
            flat.topics.push(topic.to_string());
        }
    } else if let Some(name) = label.strip_prefix('@') {
        let name = name.trim();
        if !name.is_empty() && !flat.mentions.iter().any(|m| m == name) {
            flat.mentions.push(name.to_string());
        }
    }
    out.push_str(&inner);
}

/// Collapses whitespace runs to one space, turns markers into line breaks (at most one
/// blank line in a row), drops zero-width and private-use (icon font) characters.
pub fn collapse(raw: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut blank_run = 0;
    let mut push_line = |cur: &mut String, lines: &mut Vec<String>| {
        let line = cur.trim().to_string();
        cur.clear();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || lines.is_empty() {
                return;
            }
        } else {
            blank_run = 0;
        }
        lines.push(line);
    };
    for c in raw.chars() {
        match c {
            BR => push_line(&mut cur, &mut lines),
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{e000}'..='\u{f8ff}' => {}
            c if c.is_whitespace() => {
                if !cur.ends_with(' ') && !cur.is_empty() {
                    cur.push(' ');
                }
            }
            c => cur.push(c),
        }
    }
    push_line(&mut cur, &mut lines);
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_topics_mentions_location_and_breaks() {
        let f = flatten_fragment(
            r#"
            今天又没睡好<img src="https://face.t.sinajs.cn/t4/x/2018new_ku_org.png" title="[哭]" alt="[哭]" class="face" />
            <a href="//s.weibo.com/weibo?q=%23考研%23" target="_blank">#<em class="s-color-red">考研</em>#</a>
            <a href="//weibo.com/n/%E5%B0%8F%E9%B9%BF" target="_blank">@小鹿</a> 加油<br/><br/><br/>第二段&#8203;
            <a href="//weibo.com/p/1001018008611000000000000" target="_blank"><i class="wbicon">2</i>北京·国家图书馆</a>
            <a href="https://huati.weibo.com/k/x"><i class="wbicon">&#xe627;</i>考研超话</a>
            <a href="http://t.cn/A6x" target="_blank"><i class="wbicon">O</i>网页链接</a>
            <a href="//weibo.com/1/AbC?refer_flag=1001030103_" action-type="fl_unfold" target="_blank">展开<i class="wbicon">c</i></a>
            "#,
        );
        assert_eq!(
            f.text,
            "今天又没睡好[哭] #考研# @小鹿 加油\n\n第二段 考研超话 网页链接"
        );
        assert_eq!(f.topics, vec!["考研"]);
        assert_eq!(f.mentions, vec!["小鹿"]);
        assert_eq!(f.location.as_deref(), Some("北京·国家图书馆"));
        assert!(f.unfold);
    }

    #[test]
    fn paragraphs_and_mastodon_mentions() {
        let f = flatten_fragment(
            r#"<p>Hello <span class="h-card"><a href="https://x.social/@bob" class="u-url mention">@<span>bob</span></a></span></p><p>second &amp; last <a href="https://x.social/tags/sleep" class="mention hashtag" rel="tag">#<span>sleep</span></a></p>"#,
        );
        assert_eq!(f.text, "Hello @bob\n\nsecond & last #sleep");
        assert_eq!(f.mentions, vec!["bob"]);
        assert!(f.topics.is_empty(), "a one-sided #tag is not a Weibo topic");
    }
}

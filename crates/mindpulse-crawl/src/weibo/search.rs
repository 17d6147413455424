//! The HTML search results page (`s.weibo.com/weibo?q=…`): result cards, the pager, the
//! no-results marker, and the pages that only look like results (the visitor/login page,
//! "too frequent", a truncated page).

use crate::html_text::{collapse, flatten, Flat};
use chrono::{DateTime, FixedOffset, Utc};
use mindpulse_collect::weibo::{parse_count, parse_time, verified_type_from_label};
use scraper::{ElementRef, Html, Selector};
use std::sync::LazyLock;

/// Beijing time, in which Weibo shows times.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}

macro_rules! selector {
    ($name:ident, $css:expr) => {
        static $name: LazyLock<Selector> =
            LazyLock::new(|| Selector::parse($css).expect("constant selector"));
    };
}

selector!(CARDS, r#"div.card-wrap[mid]"#);
selector!(NO_RESULT, "div.card-no-result");
selector!(CONTENT, "div.card > div.card-feed > div.content");
selector!(NAME, "a.name");
selector!(VERIFIED_SVG, "div.avator svg[id]");
selector!(VIP_IMG, "div.user_vip_icon_container img");
selector!(
    FORWARD,
    r#"div.card-act a[action-type="feed_list_forward"]"#
);
selector!(
    COMMENT,
    r#"div.card-act a[action-type="feed_list_comment"]"#
);
selector!(
    LIKE,
    r#"div.card-act a[action-type="feed_list_like"] span.woo-like-count"#
);
selector!(PAGER_ITEMS, r#"div.m-page ul.s-scroll li"#);
selector!(NEXT, "div.m-page a.next");
selector!(PICLIST, "div.media-piclist");
selector!(IMG, "img");
selector!(FWD_CONTENT, r#"div[node-type="feed_list_forwardContent"]"#);
selector!(FULL_TXT, r#"p.txt[node-type="feed_list_content_full"]"#);
selector!(SHORT_TXT, r#"p.txt[node-type="feed_list_content"]"#);
selector!(ORIG_LIKE, r#"a[action-type="feed_list_like"]"#);
selector!(LIKE_COUNT, "span.woo-like-count");
selector!(P_FROM, "p.from");
selector!(ACT_LINKS, "ul.act > li");
selector!(ANCHOR, "a");
selector!(MEDIA_PREV, r#"div[node-type="feed_list_media_prev"]"#);

/// One result card (or the original embedded in a repost card).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Card {
    pub mid: String,
    pub bid: Option<String>,
    /// Raw user id (never stored: the cleaner turns it into a pseudonym).
    pub uid: Option<String>,
    pub screen_name: Option<String>,
    /// `普通用户`, `蓝V`, `黄V`, `红V`, `金V`.
    pub verified_label: String,
    /// `超级会员6`, `会员3` or None.
    pub vip: Option<String>,
    pub text: String,
    /// Only the truncated text is on the page: fetch the long text.
    pub needs_long_text: bool,
    pub topics: Vec<String>,
    pub mentions: Vec<String>,
    pub location: Option<String>,
    /// Client name; None when the card shows none.
    pub source: Option<String>,
    pub pic_ids: Vec<String>,
    pub has_video: bool,
    /// The time as shown (`5分钟前`, `今天 09:12`, `11月20日 08:00`).
    pub time_shown: String,
    pub created_at: Option<DateTime<Utc>>,
    pub reposts: Option<i64>,
    pub comments: Option<i64>,
    pub likes: Option<i64>,
    /// The reposted original, for repost cards.
    pub original: Option<Box<Card>>,
}

impl Card {
    pub fn verified_type(&self) -> Option<i64> {
        verified_type_from_label(&self.verified_label)
    }
}

/// A results page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultsPage {
    pub cards: Vec<Card>,
    /// Cards that could not be read, with why (logged by the caller).
    pub skipped: Vec<String>,
    /// Pages the pager lists (0 when there is no pager).
    pub page_count: usize,
    /// The next page link (absolute path + query, as on the page).
    pub next: Option<String>,
}

/// What a search response turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchPage {
    Results(ResultsPage),
    NoResults,
}

/// A search response that is not a results page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageProblem {
    /// The visitor / login page: the cookie is missing or expired.
    Login,
    /// "访问过于频繁" and friends.
    TooFrequent,
    /// The page ends early.
    Truncated,
    Malformed(String),
}

impl std::fmt::Display for PageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageProblem::Login => f.write_str("the visitor/login page instead of results"),
            PageProblem::TooFrequent => f.write_str("a 'too frequent' page"),
            PageProblem::Truncated => f.write_str("the page is truncated (no closing </html>)"),
            PageProblem::Malformed(why) => f.write_str(why),
        }
    }
}

/// Bodies that mean throttling.
pub fn is_too_frequent(body: &str) -> bool {
    body.contains("访问过于频繁") || body.contains("操作过于频繁")
}

/// Bodies of the visitor system / login pages.
pub fn is_login_page(body: &str) -> bool {
    body.contains("Sina Visitor System")
        || body.contains("/js/visitor/mini")
        || body.contains("passport.weibo.com/visitor")
}

/// Parses a search response; `now` anchors relative times (`5分钟前`).
pub fn parse_search(html: &str, now: DateTime<Utc>) -> Result<SearchPage, PageProblem> {
    if is_login_page(html) {
        return Err(PageProblem::Login);
    }
    if is_too_frequent(html) {
        return Err(PageProblem::TooFrequent);
    }
    let tail = html.trim_end().as_bytes();
    if tail.len() < 7 || !tail[tail.len() - 7..].eq_ignore_ascii_case(b"</html>") {
        return Err(PageProblem::Truncated);
    }
    let doc = Html::parse_document(html);
    let mut page = ResultsPage::default();
    for card in doc.select(&CARDS) {
        if card
            .value()
            .attr("action-type")
            .is_some_and(|a| a != "feed_list_item")
        {
            continue;
        }
        match parse_card(card, now) {
            Ok(c) => page.cards.push(c),
            Err(why) => page.skipped.push(format!(
                "card mid={}: {why}",
                card.value().attr("mid").unwrap_or("?")
            )),
        }
    }
    if page.cards.is_empty() && page.skipped.is_empty() {
        if doc.select(&NO_RESULT).next().is_some() {
            return Ok(SearchPage::NoResults);
        }
        return Err(PageProblem::Malformed(
            "no result cards and no 'no results' marker".into(),
        ));
    }
    page.page_count = doc.select(&PAGER_ITEMS).count();
    page.next = doc
        .select(&NEXT)
        .next()
        .and_then(|a| a.value().attr("href"))
        .map(|h| html_escape::decode_html_entities(h).into_owned());
    Ok(SearchPage::Results(page))
}

/// The user id in `//weibo.com/<UID>?refer_flag=…` or `//weibo.com/<UID>`.
pub fn uid_from_href(href: &str) -> Option<String> {
    let path = href.split(['?', '#']).next()?;
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())).then(|| last.to_string())
}

/// The bid in `//weibo.com/<UID>/<BID>?refer_flag=…`.
pub fn bid_from_href(href: &str) -> Option<String> {
    let path = href.split(['?', '#']).next()?;
    let mut parts = path.trim_end_matches('/').rsplit('/');
    let bid = parts.next()?;
    let uid = parts.next()?;
    (uid.bytes().all(|b| b.is_ascii_digit())
        && !uid.is_empty()
        && !bid.is_empty()
        && bid.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then(|| bid.to_string())
}

fn text_of(e: ElementRef<'_>) -> String {
    collapse(&e.text().collect::<String>())
}

fn count_of(s: &str) -> Option<i64> {
    parse_count(s.trim()).ok()
}

fn parse_card(card: ElementRef<'_>, now: DateTime<Utc>) -> Result<Card, String> {
    let mid = card.value().attr("mid").unwrap_or("").trim().to_string();
    if mid.is_empty() || !mid.bytes().all(|b| b.is_ascii_digit()) {
        return Err("no numeric mid".into());
    }
    let content = card
        .select(&CONTENT)
        .next()
        .ok_or("no div.card-feed > div.content")?;
    let mut c = Card {
        mid,
        verified_label: "普通用户".into(),
        ..Card::default()
    };
    if let Some(info) = content
        .child_elements()
        .find(|e| e.value().classes().any(|k| k == "info"))
    {
        if let Some(name) = info.select(&NAME).next() {
            c.uid = name.value().attr("href").and_then(uid_from_href);
            c.screen_name = name
                .value()
                .attr("nick-name")
                .map(str::to_string)
                .or_else(|| Some(text_of(name)).filter(|s| !s.is_empty()));
        }
        c.vip = info
            .select(&VIP_IMG)
            .next()
            .and_then(|img| vip_label(img.value().attr("src").unwrap_or("")));
    }
    if c.uid.is_none() {
        return Err("no author link".into());
    }
    if let Some(svg) = card.select(&VERIFIED_SVG).next() {
        c.verified_label = match svg.value().attr("id").unwrap_or("") {
            "woo_svg_vblue" => "蓝V",
            "woo_svg_vyellow" => "黄V",
            "woo_svg_vorange" => "红V",
            "woo_svg_vgold" => "金V",
            _ => "普通用户",
        }
        .into();
    }
    if let Some(from) = content
        .child_elements()
        .find(|e| e.value().name() == "div" && e.value().classes().any(|k| k == "from"))
    {
        read_from(from, &mut c, now);
    }
    let text_node = |kind: &str| {
        content
            .child_elements()
            .find(|e| e.value().name() == "p" && e.value().attr("node-type") == Some(kind))
    };
    let flat = match (
        text_node("feed_list_content_full"),
        text_node("feed_list_content"),
    ) {
        (Some(full), _) => flatten(full),
        (None, Some(short)) => {
            let f = flatten(short);
            c.needs_long_text = f.unfold;
            f
        }
        (None, None) => return Err("no text node".into()),
    };
    apply_flat(&mut c, flat);
    if let Some(media) = content
        .child_elements()
        .find(|e| e.value().attr("node-type") == Some("feed_list_media_prev"))
    {
        read_media(media, &mut c);
    }
    if let Some(cc) = content
        .child_elements()
        .find(|e| e.value().classes().any(|k| k == "card-comment"))
    {
        match parse_original(cc, now) {
            Ok(o) => c.original = Some(Box::new(o)),
            Err(why) => tracing::warn!(mid = %c.mid, "reposted original unreadable: {why}"),
        }
    }
    c.reposts = card
        .select(&FORWARD)
        .next()
        .and_then(|a| count_of(&text_of(a)));
    c.comments = card.select(&COMMENT).next().and_then(|a| {
        a.text()
            .map(str::trim)
            .find(|t| !t.is_empty())
            .and_then(count_of)
    });
    c.likes = card
        .select(&LIKE)
        .next()
        .and_then(|s| count_of(&text_of(s)));
    Ok(c)
}

fn apply_flat(c: &mut Card, flat: Flat) {
    c.text = flat.text;
    c.topics = flat.topics;
    c.mentions = flat.mentions;
    c.location = flat.location;
}

fn read_from(from: ElementRef<'_>, c: &mut Card, now: DateTime<Utc>) {
    let anchors: Vec<ElementRef<'_>> = from
        .child_elements()
        .filter(|e| e.value().name() == "a")
        .collect();
    if let Some(a) = anchors.first() {
        c.bid = a.value().attr("href").and_then(bid_from_href);
        c.time_shown = text_of(*a);
        c.created_at = parse_time(&c.time_shown, now, china()).ok();
    }
    c.source = anchors
        .iter()
        .skip(1)
        .find(|a| a.value().attr("rel") == Some("nofollow"))
        .map(|a| text_of(*a))
        .filter(|s| !s.is_empty());
}

fn read_media(media: ElementRef<'_>, c: &mut Card) {
    if let Some(list) = media.select(&PICLIST).next() {
        let from_data = list
            .value()
            .attr("action-data")
            .and_then(|d| d.split('&').find_map(|kv| kv.strip_prefix("pic_ids=")))
            .map(|ids| {
                ids.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        c.pic_ids = if from_data.is_empty() {
            list.select(&IMG)
                .filter_map(|i| i.value().attr("src"))
                .filter_map(|src| src.rsplit('/').next())
                .map(|f| f.split('.').next().unwrap_or(f).to_string())
                .collect()
        } else {
            from_data
        };
    }
    let html = media.html();
    c.has_video = html.contains("video-player") || html.contains("f.video.weibocdn.com");
}

fn vip_label(src: &str) -> Option<String> {
    let file = src.rsplit('/').next()?;
    let level = |prefix: &str| {
        file.strip_prefix(prefix)
            .and_then(|r| r.split('.').next())
            .map(str::to_string)
    };
    if let Some(l) = level("svvip_") {
        Some(format!("超级会员{l}"))
    } else {
        level("vip_").map(|l| format!("会员{l}"))
    }
}

fn parse_original(cc: ElementRef<'_>, now: DateTime<Utc>) -> Result<Card, String> {
    let fwd = cc.select(&FWD_CONTENT).next().ok_or("no forwardContent")?;
    let mut o = Card {
        verified_label: "普通用户".into(),
        ..Card::default()
    };
    if let Some(a) = fwd.child_elements().find(|e| e.value().name() == "a") {
        o.uid = a.value().attr("href").and_then(uid_from_href);
        o.screen_name = a
            .value()
            .attr("nick-name")
            .map(str::to_string)
            .or_else(|| text_of(a).strip_prefix('@').map(str::to_string));
    }
    let flat = match (fwd.select(&FULL_TXT).next(), fwd.select(&SHORT_TXT).next()) {
        (Some(full), _) => flatten(full),
        (None, Some(short)) => {
            let f = flatten(short);
            o.needs_long_text = f.unfold;
            f
        }
        (None, None) => return Err("no text".into()),
    };
    apply_flat(&mut o, flat);
    o.mid = cc
        .select(&ORIG_LIKE)
        .next()
        .and_then(|a| a.value().attr("action-data"))
        .and_then(|d| d.split('&').find_map(|kv| kv.strip_prefix("mid=")))
        .unwrap_or("")
        .to_string();
    if let Some(from) = cc.select(&P_FROM).next() {
        read_from(from, &mut o, now);
    }
    if o.mid.is_empty() {
        if let Some(mid) = o.bid.as_deref().and_then(super::ids::bid_to_mid) {
            o.mid = mid;
        }
    }
    if o.mid.is_empty() || o.uid.is_none() {
        return Err("no mid or author".into());
    }
    let items: Vec<ElementRef<'_>> = cc.select(&ACT_LINKS).collect();
    let link_count = |i: usize| {
        items
            .get(i)
            .and_then(|li| li.select(&ANCHOR).next())
            .and_then(|a| count_of(&text_of(a)))
    };
    o.reposts = link_count(0);
    o.comments = link_count(1);
    o.likes = cc
        .select(&LIKE_COUNT)
        .next()
        .and_then(|s| count_of(&text_of(s)));
    if let Some(media) = cc.select(&MEDIA_PREV).next() {
        read_media(media, &mut o);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs() {
        assert_eq!(
            uid_from_href("//weibo.com/1234567890?refer_flag=1001030103_").as_deref(),
            Some("1234567890")
        );
        assert_eq!(
            uid_from_href("//weibo.com/1234567890").as_deref(),
            Some("1234567890")
        );
        assert_eq!(uid_from_href("//weibo.com/n/abc"), None);
        assert_eq!(
            bid_from_href("//weibo.com/1234567890/Pz1kA2bCd?refer_flag=1001030103_").as_deref(),
            Some("Pz1kA2bCd")
        );
        assert_eq!(bid_from_href("//weibo.com/1234567890"), None);
        assert_eq!(
            vip_label("https://h5.sinaimg.cn/upload/svvip_6.png").as_deref(),
            Some("超级会员6")
        );
        assert_eq!(
            vip_label("https://h5.sinaimg.cn/upload/vip_3.png").as_deref(),
            Some("会员3")
        );
    }

    #[test]
    fn pages_that_are_not_results() {
        let now = Utc::now();
        assert_eq!(
            parse_search("<html><title>Sina Visitor System</title></html>", now),
            Err(PageProblem::Login)
        );
        assert_eq!(
            parse_search("<html><p>访问过于频繁</p></html>", now),
            Err(PageProblem::TooFrequent)
        );
        assert_eq!(
            parse_search("<html><body><div class=\"card-wrap\"", now),
            Err(PageProblem::Truncated)
        );
        assert!(matches!(
            parse_search("<html><body></body></html>", now),
            Err(PageProblem::Malformed(_))
        ));
        assert_eq!(
            parse_search(
                r#"<html><div class="card card-no-result s-pt20b40"><p>抱歉，未找到相关结果。</p></div></html>"#,
                now
            ),
            Ok(SearchPage::NoResults)
        );
    }
}

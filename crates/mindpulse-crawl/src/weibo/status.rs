//! JSON statuses (`/ajax/statuses/show`, items of `repostTimeline`), the long text
//! (`/ajax/statuses/longtext`), comments (`/ajax/statuses/buildComments`) and profiles
//! (`/ajax/profile/info`).

use super::search::china;
use crate::html_text::flatten_fragment;
use crate::json::{boolean, first_string, int, string};
use chrono::{DateTime, Utc};
use mindpulse_collect::weibo::parse_time;
use serde_json::Value;

/// Why a JSON response was unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiProblem {
    /// `{"ok":-100}`: not logged in.
    Login,
    Malformed(String),
}

impl std::fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiProblem::Login => f.write_str("ok:-100 (not logged in)"),
            ApiProblem::Malformed(why) => f.write_str(why),
        }
    }
}

/// Parses a JSON envelope, turning `ok:-100` into [`ApiProblem::Login`].
pub fn envelope(body: &str) -> Result<Value, ApiProblem> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| ApiProblem::Malformed(format!("not JSON: {e}")))?;
    if int(&v, "ok") == Some(-100) {
        return Err(ApiProblem::Login);
    }
    if !v.is_object() {
        return Err(ApiProblem::Malformed("not a JSON object".into()));
    }
    Ok(v)
}

/// A user as statuses, comments and profiles carry it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    /// Raw id: only ever handed to the cleaner.
    pub id: String,
    pub screen_name: Option<String>,
    pub verified_type: Option<i64>,
    pub followers: Option<i64>,
    /// Province (first word of `location` or of `ip_location`).
    pub region: Option<String>,
}

/// Reads a `user` object.
pub fn user(v: &Value) -> Option<User> {
    let id = first_string(v, &["idstr", "id"])?;
    let verified_type =
        int(v, "verified_type").or_else(|| boolean(v, "verified").then_some(0).or(Some(-1)));
    Some(User {
        id,
        screen_name: string(v, "screen_name"),
        verified_type,
        followers: int(v, "followers_count").or_else(|| int(v, "followers_count_str")),
        region: string(v, "location").and_then(|l| province(&l)),
    })
}

/// `江苏 南京` → `江苏`; `其他` and `未知` → None.
pub fn province(location: &str) -> Option<String> {
    let first = location.split_whitespace().next()?.trim();
    (!first.is_empty() && first != "其他" && first != "未知").then(|| first.to_string())
}

/// `发布于 江苏` → `江苏`; `来自北京` / `来自 陕西` → the place; `IP属地：江苏` → `江苏`.
pub fn region_of(s: &str) -> Option<String> {
    let t = s.trim();
    let t = t
        .strip_prefix("发布于")
        .or_else(|| t.strip_prefix("来自"))
        .or_else(|| t.strip_prefix("IP属地："))
        .or_else(|| t.strip_prefix("IP属地:"))
        .unwrap_or(t)
        .trim();
    let last = t.split_whitespace().last()?;
    (!last.is_empty()).then(|| last.to_string())
}

/// A status (post or repost).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    pub mid: String,
    pub bid: Option<String>,
    pub user: Option<User>,
    pub text: String,
    pub topics: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub source: Option<String>,
    /// IP region (`region_name`).
    pub region: Option<String>,
    pub reposts: Option<i64>,
    pub comments: Option<i64>,
    pub likes: Option<i64>,
    pub is_long_text: bool,
    pub pic_num: i64,
    pub has_video: bool,
    pub retweeted: Option<Box<Status>>,
}

/// Text of a status or comment: `text_raw` when present, else the flattened `text`;
/// topics from `topic_struct` and from the HTML anchors.
fn text_and_topics(v: &Value) -> (String, Vec<String>) {
    let html = string(v, "text")
        .map(|t| flatten_fragment(&t))
        .unwrap_or_default();
    let text = string(v, "text_raw").unwrap_or_else(|| html.text.clone());
    let mut topics = html.topics;
    if let Some(list) = v.get("topic_struct").and_then(Value::as_array) {
        for t in list {
            if let Some(title) = string(t, "topic_title") {
                if !topics.contains(&title) {
                    topics.push(title);
                }
            }
        }
    }
    (text, topics)
}

/// Reads a status object; `now` anchors relative times.
pub fn status(v: &Value, now: DateTime<Utc>) -> Option<Status> {
    let mid = first_string(v, &["mid", "idstr", "id"])?;
    let (text, topics) = text_and_topics(v);
    let has_video = v
        .get("page_info")
        .and_then(|p| p.get("object_type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "video");
    Some(Status {
        bid: string(v, "mblogid"),
        user: v.get("user").and_then(user),
        created_at: string(v, "created_at").and_then(|t| parse_time(&t, now, china()).ok()),
        source: string(v, "source")
            .map(|s| flatten_fragment(&s).text)
            .filter(|s| !s.is_empty()),
        region: string(v, "region_name").and_then(|r| region_of(&r)),
        reposts: int(v, "reposts_count"),
        comments: int(v, "comments_count"),
        likes: int(v, "attitudes_count"),
        is_long_text: boolean(v, "isLongText"),
        pic_num: int(v, "pic_num").unwrap_or(0),
        has_video,
        retweeted: v
            .get("retweeted_status")
            .filter(|r| r.is_object())
            .and_then(|r| status(r, now))
            .map(Box::new),
        text,
        topics,
        mid,
    })
}

/// `statuses/show`: the status at the top level.
pub fn parse_show(body: &str, now: DateTime<Utc>) -> Result<Status, ApiProblem> {
    let v = envelope(body)?;
    status(&v, now).ok_or_else(|| ApiProblem::Malformed("no status id".into()))
}

/// `statuses/longtext`: the full text (None when the post is not long).
pub fn parse_longtext(body: &str) -> Result<Option<String>, ApiProblem> {
    let v = envelope(body)?;
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    let text = first_string(&data, &["longTextContent", "longTextContent_raw"]);
    Ok(text.map(|t| {
        if t.contains('<') {
            flatten_fragment(&t).text
        } else {
            t
        }
    }))
}

/// A page of `repostTimeline`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepostPage {
    pub reposts: Vec<Status>,
    pub total: Option<i64>,
    pub max_page: Option<i64>,
    pub skipped: usize,
}

pub fn parse_reposts(body: &str, now: DateTime<Utc>) -> Result<RepostPage, ApiProblem> {
    let v = envelope(body)?;
    let list = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiProblem::Malformed("no data list".into()))?;
    let mut page = RepostPage {
        total: int(&v, "total_number"),
        max_page: int(&v, "max_page"),
        ..RepostPage::default()
    };
    for item in list {
        match status(item, now) {
            Some(s) => page.reposts.push(s),
            None => page.skipped += 1,
        }
    }
    Ok(page)
}

/// A comment or reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comment {
    pub id: String,
    /// The level-1 comment this belongs to (itself for level 1).
    pub root_id: Option<String>,
    /// The reply this one answers (`reply_comment.id`).
    pub reply_to: Option<String>,
    pub user: Option<User>,
    pub text: String,
    pub created_at: Option<DateTime<Utc>>,
    pub likes: Option<i64>,
    /// IP region (`来自北京`).
    pub region: Option<String>,
    /// Previewed replies (level 1 only).
    pub previews: Vec<Comment>,
    /// Replies the platform counts (level 1).
    pub reply_total: Option<i64>,
    /// There are more replies than the preview shows.
    pub more_replies: bool,
}

fn comment(v: &Value, now: DateTime<Utc>) -> Option<Comment> {
    let id = first_string(v, &["idstr", "id"])?;
    let (text, _) = text_and_topics(v);
    let previews = v
        .get("comments")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|c| comment(c, now)).collect())
        .unwrap_or_default();
    Some(Comment {
        root_id: first_string(v, &["rootidstr", "rootid"]),
        reply_to: v
            .get("reply_comment")
            .filter(|r| r.is_object())
            .and_then(|r| first_string(r, &["idstr", "id"])),
        user: v.get("user").and_then(user),
        created_at: string(v, "created_at").and_then(|t| parse_time(&t, now, china()).ok()),
        likes: int(v, "like_counts").or_else(|| int(v, "like_count")),
        region: string(v, "source").and_then(|s| region_of(&s)),
        reply_total: int(v, "total_number"),
        more_replies: v.get("more_info").is_some_and(|m| !m.is_null()),
        previews,
        text,
        id,
    })
}

/// A page of `buildComments` (level 1 or replies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    pub total: Option<i64>,
    /// Cursor of the next page; 0 or None at the end.
    pub max_id: Option<i64>,
    pub skipped: usize,
}

pub fn parse_comments(body: &str, now: DateTime<Utc>) -> Result<CommentPage, ApiProblem> {
    let v = envelope(body)?;
    let list = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiProblem::Malformed("no data list".into()))?;
    let mut page = CommentPage {
        total: int(&v, "total_number"),
        max_id: int(&v, "max_id"),
        ..CommentPage::default()
    };
    for item in list {
        match comment(item, now) {
            Some(c) => page.comments.push(c),
            None => page.skipped += 1,
        }
    }
    Ok(page)
}

/// `profile/info`: the user.
pub fn parse_profile(body: &str) -> Result<User, ApiProblem> {
    let v = envelope(body)?;
    v.get("data")
        .and_then(|d| d.get("user"))
        .and_then(user)
        .ok_or_else(|| ApiProblem::Malformed("no data.user".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap()
    }

    #[test]
    fn regions() {
        assert_eq!(region_of("发布于 江苏").as_deref(), Some("江苏"));
        assert_eq!(region_of("来自北京").as_deref(), Some("北京"));
        assert_eq!(region_of("来自 陕西").as_deref(), Some("陕西"));
        assert_eq!(region_of("IP属地：江苏").as_deref(), Some("江苏"));
        assert_eq!(region_of(""), None);
        assert_eq!(province("江苏 南京").as_deref(), Some("江苏"));
        assert_eq!(province("其他"), None);
    }

    #[test]
    fn show_with_repost_and_login() {
        let body = r##"{"ok":1,"id":5238011107311234,"idstr":"5238011107311234","mid":"5238011107311234","mblogid":"Pz1kA2bCd",
            "created_at":"Sun Nov 22 07:12:26 +0800 2026","text":"转发理由 <a href=/n/小鹿 usercard=\"name=@小鹿\">@小鹿</a>",
            "text_raw":"转发理由 @小鹿","source":"iPhone 15 Pro","region_name":"发布于 江苏","reposts_count":3,"comments_count":"1.2万",
            "attitudes_count":100,"isLongText":false,"pic_num":0,
            "user":{"id":1234567890,"idstr":"1234567890","screen_name":"某人","verified":true,"verified_type":0,"followers_count":12345},
            "retweeted_status":{"mid":"5237000000000001","text_raw":"原文 #话题#","topic_struct":[{"topic_title":"话题"}],"user":{"idstr":"42"}}}"##;
        let s = parse_show(body, now()).unwrap();
        assert_eq!(s.mid, "5238011107311234");
        assert_eq!(s.bid.as_deref(), Some("Pz1kA2bCd"));
        assert_eq!(s.text, "转发理由 @小鹿");
        assert_eq!(s.region.as_deref(), Some("江苏"));
        assert_eq!(s.comments, Some(12000));
        assert_eq!(
            s.created_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 21, 23, 12, 26).unwrap())
        );
        let u = s.user.unwrap();
        assert_eq!(
            (u.id.as_str(), u.verified_type, u.followers),
            ("1234567890", Some(0), Some(12345))
        );
        let r = s.retweeted.unwrap();
        assert_eq!(
            (r.mid.as_str(), r.topics.clone()),
            ("5237000000000001", vec!["话题".to_string()])
        );
        assert_eq!(
            parse_show(r#"{"ok":-100,"url":"https://weibo.com/login.php"}"#, now()),
            Err(ApiProblem::Login)
        );
        assert!(matches!(
            parse_show(r#"{"ok":1,"data":"#, now()),
            Err(ApiProblem::Malformed(_))
        ));
    }

    #[test]
    fn longtext_is_plain_text() {
        assert_eq!(
            parse_longtext(
                r#"{"ok":1,"http_code":200,"data":{"longTextContent":"第一行\n第二行 #话题#"}}"#
            )
            .unwrap()
            .as_deref(),
            Some("第一行\n第二行 #话题#")
        );
        assert_eq!(parse_longtext(r#"{"ok":1,"data":{}}"#).unwrap(), None);
    }
}

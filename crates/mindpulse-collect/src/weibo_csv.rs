//! The `weibo-csv` format: the CSV written by dataabc/weibo-search's `CsvPipeline`
//! (`utf-8-sig`, so it may start with a BOM). Its header is
//!
//! `id,bid,user_id,用户昵称,微博正文,头条文章url,发布位置,艾特用户,话题,转发数,评论数,点赞数,发布时间,发布工具,微博图片url,微博视频url,retweet_id,ip,user_authentication,会员类型,会员等级`
//!
//! Older versions lack `头条文章url` and the columns from `ip` on, so columns are looked
//! up by name (Chinese, or the item's English keys such as `screen_name`, `text`,
//! `reposts_count`) and only `微博正文` is required. Times are UTC+8.
//!
//! `user_authentication` → `verified_type`: `普通用户` -1, `黄V` 0, `红V` 0, `金V` 0,
//! `蓝V` 1 (see [`crate::weibo::verified_type_from_label`]).

use crate::csv_import::{column, read_header, CsvSource, RowMapper};
use crate::csv_records::{CsvReader, StrRecord};
use crate::error::CollectError;
use crate::input::Input;
use crate::mapping::split_topics;
use crate::options::{china_offset, ImportOptions};
use crate::weibo::{parse_count, parse_time, verified_type_from_label};
use chrono::{DateTime, Utc};
use mindpulse_core::{PostKind, RawAuthor, RawPost};
use std::path::Path;

/// Column names (Chinese header first, then the weibo-search item key).
const ID: &[&str] = &["id"];
const USER_ID: &[&str] = &["user_id"];
const SCREEN_NAME: &[&str] = &["用户昵称", "screen_name"];
const TEXT: &[&str] = &["微博正文", "text"];
const TOPICS: &[&str] = &["话题", "topics"];
const REPOSTS: &[&str] = &["转发数", "reposts_count"];
const COMMENTS: &[&str] = &["评论数", "comments_count"];
const LIKES: &[&str] = &["点赞数", "attitudes_count"];
const CREATED: &[&str] = &["发布时间", "created_at"];
const RETWEET: &[&str] = &["retweet_id"];
const IP: &[&str] = &["ip", "IP属地"];
const AUTH: &[&str] = &["user_authentication", "认证类型"];

/// Whether a header row is weibo-search's (Chinese or English keys).
pub(crate) fn is_weibo_header(header: &[String]) -> bool {
    let has = |name: &str| header.iter().any(|h| h == name);
    has("微博正文")
        || (has("bid")
            && has("user_id")
            && has("text")
            && (has("attitudes_count") || has("reposts_count")))
}

/// A column's index and the name it has in this file.
#[derive(Debug, Clone)]
struct Col {
    index: usize,
    name: String,
}

fn find(header: &[String], names: &[&str]) -> Option<Col> {
    names.iter().find_map(|n| {
        column(header, n).map(|index| Col {
            index,
            name: n.to_string(),
        })
    })
}

/// Maps weibo-search rows.
pub(crate) struct WeiboCsv {
    id: Option<Col>,
    user_id: Option<Col>,
    screen_name: Option<Col>,
    text: Col,
    topics: Option<Col>,
    reposts: Option<Col>,
    comments: Option<Col>,
    likes: Option<Col>,
    created: Option<Col>,
    retweet: Option<Col>,
    ip: Option<Col>,
    auth: Option<Col>,
    now: DateTime<Utc>,
}

impl WeiboCsv {
    pub(crate) fn new(
        header: &[String],
        opts: &ImportOptions,
        path: &Path,
    ) -> Result<Self, CollectError> {
        let text = find(header, TEXT).ok_or_else(|| CollectError::MissingColumn {
            path: path.to_path_buf(),
            field: "text".into(),
            column: TEXT[0].into(),
            columns: header.join(", "),
        })?;
        Ok(WeiboCsv {
            id: find(header, ID),
            user_id: find(header, USER_ID),
            screen_name: find(header, SCREEN_NAME),
            text,
            topics: find(header, TOPICS),
            reposts: find(header, REPOSTS),
            comments: find(header, COMMENTS),
            likes: find(header, LIKES),
            created: find(header, CREATED),
            retweet: find(header, RETWEET),
            ip: find(header, IP),
            auth: find(header, AUTH),
            now: opts.now,
        })
    }
}

/// The trimmed, non-empty value of an optional column.
fn cell<'a>(row: &StrRecord<'a>, col: &Option<Col>) -> Option<&'a str> {
    let v = row.get(col.as_ref()?.index).trim();
    (!v.is_empty()).then_some(v)
}

fn count(row: &StrRecord<'_>, col: &Option<Col>) -> Result<Option<i64>, String> {
    let Some(c) = col else { return Ok(None) };
    parse_count(row.get(c.index))
        .map(Some)
        .map_err(|e| format!("column \"{}\": {e}", c.name))
}

/// `发布于 北京` / `IP属地：北京` → `北京`.
fn region(ip: &str) -> Option<String> {
    let t = ip
        .trim()
        .trim_start_matches("发布于")
        .trim_start_matches("IP属地")
        .trim_start_matches([':', '：'])
        .trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl RowMapper for WeiboCsv {
    fn build(&self, row: &StrRecord<'_>) -> Result<RawPost, String> {
        let created_at = match cell(row, &self.created) {
            Some(v) => Some(parse_time(v, self.now, china_offset()).map_err(|e| {
                format!(
                    "column \"{}\": {e}",
                    self.created.as_ref().map_or("", |c| &c.name)
                )
            })?),
            None => None,
        };
        let screen_name = cell(row, &self.screen_name).map(str::to_string);
        let author = cell(row, &self.user_id)
            .map(str::to_string)
            .or_else(|| screen_name.clone())
            .map(|id| RawAuthor {
                id,
                screen_name,
                verified_type: cell(row, &self.auth).and_then(verified_type_from_label),
                ..Default::default()
            });
        let retweet = cell(row, &self.retweet).map(str::to_string);
        let mut topics = Vec::new();
        if let Some(t) = cell(row, &self.topics) {
            split_topics(t, &mut topics);
        }
        Ok(RawPost {
            platform: "weibo".to_string(),
            platform_id: cell(row, &self.id).map(str::to_string),
            kind: if retweet.is_some() {
                PostKind::Repost
            } else {
                PostKind::Post
            },
            parent_id: retweet.clone(),
            root_id: retweet,
            author,
            text: row.get(self.text.index).to_string(),
            lang: None,
            created_at,
            topics,
            repost_count: count(row, &self.reposts)?,
            comment_count: count(row, &self.comments)?,
            like_count: count(row, &self.likes)?,
            region: cell(row, &self.ip).and_then(region),
            raw: None,
            origin: Default::default(),
        })
    }

    fn format_name(&self) -> &'static str {
        "weibo-csv"
    }
}

/// Opens a weibo-search CSV source.
pub(crate) fn open_weibo_csv(
    path: &Path,
    input: Input,
    opts: &ImportOptions,
) -> Result<CsvSource<WeiboCsv>, CollectError> {
    let mut reader = CsvReader::new(input.reader, opts.max_record_bytes);
    let header = read_header(&mut reader, path)?;
    let mapper = WeiboCsv::new(&header, opts, path)?;
    Ok(CsvSource::new(
        path.display().to_string(),
        reader,
        header,
        input.progress,
        opts.keep_raw,
        mapper,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_headers() {
        let h = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        assert!(is_weibo_header(&h(
            "id,bid,user_id,用户昵称,微博正文,发布时间"
        )));
        assert!(is_weibo_header(&h(
            "id,bid,user_id,screen_name,text,reposts_count,attitudes_count"
        )));
        assert!(!is_weibo_header(&h("id,text,author")));
    }

    #[test]
    fn region_prefixes() {
        assert_eq!(region("发布于 北京").as_deref(), Some("北京"));
        assert_eq!(region("IP属地：广东").as_deref(), Some("广东"));
        assert_eq!(region("上海").as_deref(), Some("上海"));
        assert_eq!(region("发布于 "), None);
    }
}

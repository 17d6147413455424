//! Mastodon hashtag timelines (`GET /api/v1/timelines/tag/:hashtag`, public, no auth),
//! paged with `max_id`, through the same politeness, resume and coverage machinery as
//! Weibo.
//!
//! Status ids are local to the instance that serves them, so posts are stored as
//! `<host>:<id>` (and replies point at `<host>:<in_reply_to_id>`). The status `uri` and
//! `url` name the account, so they are never stored.

use crate::error::CrawlError;
use crate::html_text::flatten_fragment;
use crate::http::{headers, log_url, Fetcher, Response, Verdict};
use crate::job::{run_job, JobReport, JobSpec, ScoreHook, StepCtx, StepResult, Stepper};
use crate::json::{int, string};
use chrono::{DateTime, Utc};
use mindpulse_clean::Cleaner;
use mindpulse_core::{Origin, PostKind, RawAuthor, RawPost};
use mindpulse_store::{CrawlTask, NewCrawlTask, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub const PLATFORM: &str = "mastodon";
/// Statuses per page (Mastodon's maximum for this endpoint).
pub const PAGE_SIZE: u32 = 40;

/// What to crawl.
#[derive(Debug, Clone, PartialEq)]
pub struct MastodonJob {
    /// `https://mastodon.social`.
    pub instance: String,
    /// Without `#`.
    pub tag: String,
    pub max_pages: u32,
    /// Stop at statuses older than this.
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TagQuery {
    instance: String,
    tag: String,
    max_pages: u32,
    since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TagCursor {
    max_id: Option<String>,
    pages: u32,
}

/// Runs (or resumes) a hashtag crawl.
pub async fn run(
    store: &Store,
    cleaner: Arc<Cleaner>,
    fetcher: &Fetcher,
    job: &MastodonJob,
    budget: Option<Duration>,
    force: bool,
    scorer: Option<&dyn ScoreHook>,
) -> Result<JobReport, CrawlError> {
    let instance = job.instance.trim_end_matches('/').to_string();
    let parsed = url::Url::parse(&instance)
        .map_err(|e| CrawlError::Config(format!("--instance {instance:?} is not a URL: {e}")))?;
    if parsed.host_str().is_none() {
        return Err(CrawlError::Config(format!(
            "--instance {instance:?} has no host"
        )));
    }
    let tag = job.tag.trim().trim_start_matches('#').to_string();
    if tag.is_empty() || !tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(CrawlError::Config(format!(
            "--tag {:?} is not a hashtag (letters, digits, _)",
            job.tag
        )));
    }
    let q = TagQuery {
        instance: instance.clone(),
        tag: tag.clone(),
        max_pages: job.max_pages.max(1),
        since: job.since,
    };
    let spec = JobSpec {
        name: format!("mastodon:{instance}:{}", tag.to_lowercase()),
        platform: PLATFORM.into(),
        params: serde_json::json!({"command": "mastodon", "instance": instance, "tag": tag, "max_pages": q.max_pages, "since": job.since}),
        seed: vec![NewCrawlTask {
            key: blake3::hash(format!("tag\0{instance}\0{}", tag.to_lowercase()).as_bytes())
                .to_hex()[..32]
                .to_string(),
            kind: "tag".into(),
            priority: 0,
            query: serde_json::to_string(&q).unwrap_or_default(),
        }],
        budget,
        force,
        source_name: "mastodon-crawler".into(),
        retry_kinds: Vec::new(),
    };
    let crawler = MastodonCrawler { fetcher };
    run_job(store, cleaner, &spec, &crawler, fetcher, scorer).await
}

struct MastodonCrawler<'f> {
    fetcher: &'f Fetcher,
}

/// Mastodon needs no judging beyond the HTTP status (429 and 5xx are handled by the fetcher).
fn accept_json(_: &Response) -> Verdict {
    Verdict::Accept
}

/// `max_id` of the `rel="next"` link, if any.
fn next_max_id(link: &str) -> Option<String> {
    link.split(',')
        .find(|p| p.contains("rel=\"next\""))
        .and_then(|p| {
            let url = p
                .split(';')
                .next()?
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>');
            let query = url.split_once('?')?.1;
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix("max_id="))
                .map(str::to_string)
        })
}

/// A status as a raw post; None for reblogs and non-public statuses.
fn status_post(v: &Value, host: &str, url: &str) -> Option<RawPost> {
    if v.get("reblog").is_some_and(|r| !r.is_null()) {
        return None;
    }
    let visibility = string(v, "visibility").unwrap_or_else(|| "public".into());
    if visibility != "public" && visibility != "unlisted" {
        return None;
    }
    let id = string(v, "id")?;
    let flat = flatten_fragment(&string(v, "content").unwrap_or_default());
    let mut text = flat.text;
    if let Some(cw) = string(v, "spoiler_text") {
        text = format!("{cw}\n\n{text}");
    }
    let account = v.get("account");
    let author = account.and_then(|a| {
        let acct = string(a, "acct")?;
        let full = if acct.contains('@') {
            acct
        } else {
            format!("{acct}@{host}")
        };
        Some(RawAuthor {
            id: full,
            screen_name: string(a, "username"),
            verified_type: None,
            followers: int(a, "followers_count"),
            region: None,
        })
    });
    let topics = v
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(|x| string(x, "name")).collect())
        .unwrap_or_default();
    let parent = string(v, "in_reply_to_id").map(|p| format!("{host}:{p}"));
    Some(RawPost {
        platform: PLATFORM.into(),
        platform_id: Some(format!("{host}:{id}")),
        kind: if parent.is_some() {
            PostKind::Comment
        } else {
            PostKind::Post
        },
        parent_id: parent,
        root_id: None,
        author,
        text,
        lang: string(v, "language"),
        created_at: string(v, "created_at")
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)),
        topics,
        repost_count: int(v, "reblogs_count"),
        comment_count: int(v, "replies_count"),
        like_count: int(v, "favourites_count"),
        region: None,
        raw: Some(serde_json::json!({
            "sensitive": v.get("sensitive"),
            "media": v.get("media_attachments").and_then(Value::as_array).map(|m| m.len()),
            "visibility": visibility,
        })),
        origin: Origin {
            file: log_url(url),
            line: 0,
        },
    })
}

impl Stepper for MastodonCrawler<'_> {
    async fn step(
        &self,
        ctx: &mut StepCtx<'_>,
        task: &CrawlTask,
    ) -> Result<StepResult, CrawlError> {
        let bad = |e: String| CrawlError::Malformed {
            url: format!("task {}", task.id),
            reason: e,
        };
        let q: TagQuery = serde_json::from_str(&task.query).map_err(|e| bad(e.to_string()))?;
        let cur: TagCursor = match &task.cursor {
            Some(c) => serde_json::from_str(c).map_err(|e| bad(e.to_string()))?,
            None => TagCursor::default(),
        };
        if cur.pages >= q.max_pages {
            return Ok(StepResult {
                cursor: None,
                reported_total: None,
            });
        }
        let host = url::Url::parse(&q.instance)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| q.instance.clone());
        let tag_enc: String = url::form_urlencoded::byte_serialize(q.tag.as_bytes()).collect();
        let mut url = format!(
            "{}/api/v1/timelines/tag/{tag_enc}?limit={PAGE_SIZE}",
            q.instance
        );
        if let Some(m) = &cur.max_id {
            url.push_str(&format!("&max_id={m}"));
        }
        ctx.cov(task).pages_asked += 1;
        let h = headers(None, &[("accept", "application/json")]);
        let resp = match self.fetcher.get(&url, &h, &accept_json).await {
            Ok(r) => r,
            Err(e) if e.stops_run() => return Err(e),
            Err(e) => {
                ctx.cov(task).pages_failed += 1;
                tracing::warn!(
                    "tag page skipped (the rest of the timeline is not reachable from it): {e}"
                );
                return Ok(StepResult {
                    cursor: None,
                    reported_total: None,
                });
            }
        };
        let list: Option<Vec<Value>> = (resp.status == 200)
            .then(|| serde_json::from_str::<Value>(&resp.body).ok())
            .flatten()
            .and_then(|v| v.as_array().cloned());
        let Some(list) = list else {
            ctx.cov(task).pages_failed += 1;
            tracing::warn!(url = %log_url(&url), "malformed timeline page (HTTP {}) skipped", resp.status);
            return Ok(StepResult {
                cursor: None,
                reported_total: None,
            });
        };
        ctx.cov(task).pages_fetched += 1;
        let mut posts = Vec::new();
        let mut older = false;
        for s in &list {
            let Some(p) = status_post(s, &host, &url) else {
                continue;
            };
            if let (Some(since), Some(t)) = (q.since, p.created_at) {
                if t < since {
                    older = true;
                    continue;
                }
            }
            posts.push(p);
        }
        ctx.write(task, posts).await?;
        let next = resp
            .link
            .as_deref()
            .and_then(next_max_id)
            .or_else(|| list.last().and_then(|s| string(s, "id")));
        let done = list.is_empty() || older || next.is_none() || next == cur.max_id;
        let cursor = (!done).then(|| {
            serde_json::to_string(&TagCursor {
                max_id: next,
                pages: cur.pages + 1,
            })
            .unwrap_or_default()
        });
        Ok(StepResult {
            cursor,
            reported_total: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_and_status() {
        let link = r#"<https://m.example/api/v1/timelines/tag/sleep?max_id=109>; rel="next", <https://m.example/api/v1/timelines/tag/sleep?min_id=120>; rel="prev""#;
        assert_eq!(next_max_id(link).as_deref(), Some("109"));
        let v: Value = serde_json::from_str(
            r#"{"id":"120","created_at":"2026-11-22T03:00:00.000Z","in_reply_to_id":"99","visibility":"public","language":"en",
                "content":"<p>Can't sleep again <a href=\"https://m.example/tags/sleep\" class=\"mention hashtag\" rel=\"tag\">#<span>sleep</span></a></p>",
                "spoiler_text":"","replies_count":2,"reblogs_count":1,"favourites_count":5,"reblog":null,
                "account":{"id":"7","username":"owl","acct":"owl","followers_count":12},
                "tags":[{"name":"sleep","url":"https://m.example/tags/sleep"}],"media_attachments":[]}"#,
        )
        .unwrap();
        let p = status_post(&v, "m.example", "u").unwrap();
        assert_eq!(p.platform_id.as_deref(), Some("m.example:120"));
        assert_eq!(p.parent_id.as_deref(), Some("m.example:99"));
        assert_eq!(p.kind, PostKind::Comment);
        assert_eq!(p.text, "Can't sleep again #sleep");
        assert_eq!(p.author.as_ref().unwrap().id, "owl@m.example");
        assert_eq!(
            (p.like_count, p.repost_count, p.comment_count),
            (Some(5), Some(1), Some(2))
        );
        assert_eq!(p.topics, vec!["sleep"]);
        let mut private = v.clone();
        private["visibility"] = "direct".into();
        assert!(status_post(&private, "m.example", "u").is_none());
    }
}
